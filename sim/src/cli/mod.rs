//! The `cronfence` command line: `report` (the main job), `run` (one scenario, one seed: the
//! replay command), `regress` (outcomes against committed baselines) and `explore` (worlds drawn
//! from seeds, shrunk when they fail). The real build runs `regress --backend etcd` and
//! `explore --backend etcd` against a given etcd cluster in real time.
//!
//! This module holds the argument definitions and the dispatch; each command lives in its own
//! file. Exit codes: 0 when everything is as expected, 1 when a scenario missed its expectation or
//! a regression was found, 2 for errors (bad arguments, files that cannot be read or written,
//! scenario files that fail to load — `report` still writes its report, listing them).

mod baseline;
#[cfg(madsim)]
mod explore;
mod progress;
#[cfg(not(madsim))]
mod real;
#[cfg(not(madsim))]
mod real_explore;
#[cfg(madsim)]
mod regress;
#[cfg(madsim)]
mod report;
#[cfg(madsim)]
mod run;
#[cfg(madsim)]
mod scale;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use progress::Progress;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "cronfence",
    version,
    about = "Deterministic failover simulation, reports and regression checks for cronfence"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the scenario suite in the simulator and write a failover report (HTML, Markdown, JSON).
    Report {
        /// Scenario files or folders (default: every file in `scenarios/`).
        scenarios: Vec<PathBuf>,
        /// The folder the report's run folder is created in.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// The run folder's name (default: the UTC time, e.g. `run-20261125-093000`).
        #[arg(long)]
        name: Option<String>,
        /// Backends to run on (default: every backend each scenario lists).
        #[arg(long, value_delimiter = ',')]
        backend: Vec<String>,
        /// Run seeds 1..=N of every scenario instead of its own seeds (N at most 10,000).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::scenario::budget::MAX_SEEDS))]
        seeds: Option<u64>,
        /// Worker threads (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also run the scale scenarios (`scenarios/scale/`: 10,000 jobs for a simulated hour),
        /// their histories spooled to disk, after the suite (tens of minutes; `scale.md`).
        #[arg(long)]
        scale: bool,
    },
    /// Run one scenario with one seed and print what the checkers found.
    Run {
        /// The scenario file (any path).
        scenario: PathBuf,
        /// The backend to run against (default: the first the scenario lists).
        #[arg(long)]
        backend: Option<String>,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the history (JSON lines) to this file.
        #[arg(long)]
        history: Option<PathBuf>,
    },
    /// Compare every scenario's outcome with the committed baselines; `--bless` rewrites them.
    Regress {
        /// Scenario files or folders (default: every file in `scenarios/`).
        scenarios: Vec<PathBuf>,
        /// Backends to check (default: memory and etcd-sim). `etcd` (real build only) runs the
        /// real-time suite against `--endpoints`.
        #[arg(long, value_delimiter = ',')]
        backend: Vec<String>,
        /// With `--backend etcd`: the cluster's client URLs.
        #[arg(long, value_delimiter = ',')]
        endpoints: Vec<String>,
        /// With `--backend etcd`: the key prefix runs write under.
        #[arg(long, default_value = "/cronfence-regress")]
        prefix: String,
        /// With `--backend etcd`: the longest scenario to play in real time.
        #[arg(long, default_value = "5m")]
        max_duration: jiff::SignedDuration,
        /// The folder holding `<backend>.toml` baselines.
        #[arg(long, default_value = "reports/baselines")]
        baseline: PathBuf,
        /// Write the current outcomes as the new baselines instead of comparing.
        #[arg(long)]
        bless: bool,
        /// Worker threads (default: the number of cores); with `--backend etcd`, how many
        /// files play at once (default 16).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Swarm exploration: draw a world per seed (nodes, settings, jobs, fault kinds and rates),
    /// run it, shrink each failure to a scenario file that replays it, and write a report.
    /// `--backend etcd` (real build only) plays the etcd-sim worlds in real time against
    /// `--endpoints` instead (no shrinking).
    Explore {
        /// Backends to explore (default: memory,etcd-sim). `etcd` (real build only) plays the
        /// etcd-sim worlds in real time against `--endpoints`.
        #[arg(long, value_delimiter = ',')]
        backend: Vec<String>,
        /// Seeds to run per backend (default 100): the first N of this shard from --first-seed.
        /// With `--backend etcd`: worlds to play (skipped seeds do not count).
        #[arg(long, conflicts_with = "minutes")]
        seeds: Option<u64>,
        /// Keep drawing seeds until this many minutes have passed.
        #[arg(long)]
        minutes: Option<f64>,
        /// With `--backend etcd`: the cluster's client URLs.
        #[arg(long, value_delimiter = ',')]
        endpoints: Vec<String>,
        /// With `--backend etcd`: the key prefix worlds write under (each its own below it).
        #[arg(long, default_value = "/cronfence-explore")]
        prefix: String,
        /// With `--backend etcd`: the longest world to play in real time; longer ones are
        /// skipped.
        #[arg(long, default_value = "5m")]
        max_duration: jiff::SignedDuration,
        /// The first seed of the sequence.
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Run shard K of N: the seeds s with (s - 1) mod N = K - 1.
        #[arg(long, default_value = "1/1")]
        shard: String,
        /// The folder the run folder is created in.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// The run folder's name (default: the UTC time, e.g. `explore-20261125-093000`;
        /// `explore-etcd-...` with `--backend etcd`).
        #[arg(long)]
        name: Option<String>,
        /// Worker threads (default: the number of cores); with `--backend etcd`, worlds played
        /// at once (default 4).
        #[arg(long)]
        jobs: Option<usize>,
        /// A known-failure list (e.g. scenarios/explore/known.toml): failures it lists are
        /// reported as known; entries that no longer fail are reported and exit 1.
        #[arg(long)]
        known: Option<PathBuf>,
        /// Write the failures of this sweep as a known list to this file (keeps the issues of
        /// --known entries that still fail); exits 0.
        #[arg(long)]
        write_known: Option<PathBuf>,
        /// World size: `full` (default) or `small` (the size `cargo test` and the known list use);
        /// with `--backend etcd` the default is `small`.
        #[arg(long)]
        size: Option<String>,
        /// Most worlds run to shrink one failure kind (the simulator only).
        #[arg(long, default_value_t = 150)]
        shrink_runs: usize,
        /// Merge these shards' report folders (or summary.json files) instead of exploring.
        #[arg(long, num_args = 1..)]
        merge: Vec<PathBuf>,
    },
}

/// Runs the command; `Err` is an error to print (exit code 2).
pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    #[cfg(madsim)]
    {
        simulator(cli.command)
    }
    #[cfg(not(madsim))]
    {
        real_build(cli.command)
    }
}

/// The simulator build: every command but those against a real cluster.
#[cfg(madsim)]
fn simulator(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Report {
            scenarios,
            out,
            name,
            backend,
            seeds,
            jobs,
            scale,
        } => report::main(report::Args {
            scenarios,
            out,
            name,
            backends: backends(&backend, "regress")?,
            seeds,
            threads: threads(jobs),
            scale,
        }),
        Command::Run {
            scenario,
            backend,
            seed,
            history,
        } => run::main(&scenario, backend.as_deref(), seed, history.as_deref()),
        Command::Regress {
            scenarios,
            backend,
            baseline,
            bless,
            jobs,
            ..
        } => regress::main(regress::Args {
            scenarios,
            backends: backends(&backend, "regress")?,
            baseline,
            bless,
            threads: threads(jobs),
        }),
        Command::Explore {
            backend,
            seeds,
            minutes,
            first_seed,
            shard,
            out,
            name,
            jobs,
            known,
            write_known,
            size,
            shrink_runs,
            merge,
            endpoints,
            ..
        } => {
            let backends = backends(&backend, "explore")?;
            if !endpoints.is_empty() {
                anyhow::bail!(
                    "--endpoints is for `explore --backend etcd`, which runs in the real build"
                );
            }
            explore::main(explore::Args {
                backends,
                seeds,
                minutes,
                first_seed,
                shard,
                out,
                name,
                threads: threads(jobs),
                known,
                write_known,
                size,
                shrink_runs,
                merge,
            })
        }
    }
}

/// The real build: `regress` and `explore` against a real etcd cluster.
#[cfg(not(madsim))]
fn real_build(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Regress {
            scenarios,
            backend,
            endpoints,
            prefix,
            max_duration,
            baseline,
            bless,
            jobs,
        } if backend == ["etcd"] => real::main(real::Args {
            scenarios,
            endpoints,
            prefix,
            max_duration: max_duration.unsigned_abs(),
            baseline,
            bless,
            at_once: jobs.unwrap_or(crate::real::suite::AT_ONCE),
        }),
        Command::Explore {
            backend,
            seeds,
            minutes,
            first_seed,
            shard,
            out,
            name,
            jobs,
            known,
            write_known,
            size,
            merge,
            endpoints,
            prefix,
            max_duration,
            ..
        } if backend == ["etcd"] => {
            let simulator_only = [
                ("--shard", shard != "1/1"),
                ("--known", known.is_some()),
                ("--write-known", write_known.is_some()),
                ("--merge", !merge.is_empty()),
            ];
            real_explore::main(real_explore::Args {
                endpoints,
                prefix,
                max_duration: max_duration.unsigned_abs(),
                size,
                seeds,
                minutes,
                first_seed,
                jobs,
                out,
                name,
                simulator_only: simulator_only
                    .into_iter()
                    .filter_map(|(option, given)| given.then_some(option))
                    .collect(),
            })
        }
        _ => anyhow::bail!(
            "this is the real build, which runs only `regress --backend etcd --endpoints ...` \
             and `explore --backend etcd --endpoints ...`; the simulator needs the default \
             (madsim) build: run `cargo run -p cronfence-sim -- ...` without a real-build alias"
        ),
    }
}

/// The `--backend` values, parsed; `None` when none were given. `etcd` is refused with the
/// real build's `real_command` (`regress` or `explore`) that runs against a real cluster.
#[cfg(madsim)]
fn backends(
    names: &[String],
    real_command: &str,
) -> anyhow::Result<Option<Vec<crate::scenario::BackendKind>>> {
    if names.is_empty() {
        return Ok(None);
    }
    names
        .iter()
        .map(|n| {
            crate::scenario::BackendKind::parse(n).ok_or_else(|| match n.as_str() {
                "etcd" => anyhow::anyhow!(
                    "real etcd runs in the real build: `cargo real-run -p cronfence-sim --bin \
                     cronfence -- {real_command} --backend etcd --endpoints http://127.0.0.1:2379`"
                ),
                _ => anyhow::anyhow!(
                    "unknown backend `{n}`; the simulator knows `memory` and `etcd-sim`, \
                     the real build `etcd`"
                ),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
}

#[cfg(madsim)]
fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

#[cfg(all(test, madsim))]
mod tests {
    use super::*;

    #[test]
    fn explore_on_real_etcd_in_the_simulator_build_points_to_the_real_build() {
        // The simulator cannot reach a real cluster: the refusal names the real build's command,
        // and comes before any world is drawn.
        let cli = Cli::parse_from([
            "cronfence",
            "explore",
            "--backend",
            "etcd",
            "--endpoints",
            "http://127.0.0.1:2379",
        ]);
        let error = main(cli).expect_err("refused").to_string();
        assert!(
            error.contains("cargo real-run") && error.contains("-- explore --backend etcd"),
            "{error}"
        );
    }
}

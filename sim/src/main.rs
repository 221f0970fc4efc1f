//! The `cronfence` command line: run a scenario in the simulator and show what the checkers found.
//!
//! `cronfence run SCENARIO [--backend memory] [--seed S] [--history FILE]` runs one scenario file
//! (given by any path) with one seed, prints the verdict and the timeliness figures, optionally
//! writes the history as JSON lines, and exits 1 when the scenario's expectation is not met. It is
//! the command failing scenario tests print for replaying a seed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cronfence",
    version,
    about = "Deterministic failover simulation for cronfence"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed and print what the checkers found.
    Run {
        /// The scenario file (any path).
        scenario: PathBuf,
        /// The backend to run against.
        #[arg(long, default_value = "memory")]
        backend: String,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the history (JSON lines) to this file.
        #[arg(long)]
        history: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(madsim)]
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    use cronfence_sim::{expect, scenario, world};
    let Command::Run {
        scenario: path,
        backend,
        seed,
        history,
    } = cli.command;
    let loaded = scenario::load(&path)?;
    let Some(backend) = scenario::BackendKind::parse(&backend) else {
        anyhow::bail!("unknown backend `{backend}`; this build knows: memory, etcd-sim");
    };
    let run = world::run(&loaded.scenario, backend, seed);
    if let Some(file) = history {
        std::fs::write(&file, run.history.to_jsonl())
            .with_context(|| format!("writing {}", file.display()))?;
        println!(
            "history: {} ({} records)",
            file.display(),
            run.history.records.len()
        );
    }
    println!(
        "{} on {backend}, seed {seed}: {} records, {} faults",
        loaded.name,
        run.history.records.len(),
        run.plan.len()
    );
    println!("violations:\n{}", expect::list(&run.verdict.violations));
    println!(
        "excused: {}, at-least-once reruns: {}",
        run.verdict.excused.len(),
        run.verdict.reruns.len()
    );
    println!(
        "timeliness: {}",
        serde_json::to_string(&run.verdict.timeliness)?
    );
    match expect::judge(&loaded.scenario, &run.verdict, &run.history) {
        Ok(()) => {
            println!("as expected ({})", loaded.scenario.expect.outcome.get_ref());
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("NOT as expected: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(not(madsim))]
fn run(_cli: Cli) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the simulator needs the default (madsim) build: run `cargo run -p cronfence-sim -- ...` without a real-build alias")
}

//! `cronfence run SCENARIO [--backend B] [--seed S] [--history FILE]`: one scenario file (any
//! path), one seed; prints the verdict and the timeliness figures, optionally writes the history
//! as JSON lines, and exits 1 when the scenario's expectation is not met. Failing tests and
//! reports print this command to replay a seed. A file that does not load, or a backend the
//! scenario does not list (its faults may not exist there), is an error (exit 2), and so is a
//! file that plays in real time only (`not_simulated`); without `--backend` the scenario's first
//! listed backend runs.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::{expect, scenario, world};

/// Runs the command.
pub fn main(
    path: &Path,
    backend: Option<&str>,
    seed: u64,
    history: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let loaded = scenario::load(path)?;
    let listed = &loaded.scenario.backends;
    if listed.is_empty() {
        anyhow::bail!(
            "{} plays in real time only ({}): `cargo real-test -p cronfence-it --test \
             scenarios_etcd -- scenarios/{}/etcd` plays it against an etcd cluster the test starts",
            path.display(),
            loaded
                .scenario
                .not_simulated
                .as_deref()
                .unwrap_or("not simulated"),
            loaded.name
        );
    }
    let backend = match backend {
        None => listed[0],
        Some(name) => scenario::BackendKind::parse(name).ok_or_else(|| {
            anyhow::anyhow!("unknown backend `{name}`; the simulator knows `memory` and `etcd-sim`")
        })?,
    };
    if !listed.contains(&backend) {
        let why = loaded.scenario.not_on_etcd_sim.as_deref().unwrap_or("");
        anyhow::bail!(
            "{} does not run on {backend} (it lists {}){}; pick one of those with --backend",
            path.display(),
            listed
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        );
    }
    if loaded.scenario.spooled {
        return spooled(&loaded, backend, seed, history);
    }
    let run = world::run(&loaded.scenario, backend, seed);
    if let Some(file) = history {
        std::fs::write(file, run.history.to_jsonl())
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
    judged(&loaded, &run.verdict, &run.history)
}

/// Prints the verdict and whether it is as the file expects (`history`: what was held of it).
fn judged(
    loaded: &scenario::Loaded,
    verdict: &crate::check::Verdict,
    history: &crate::history::History,
) -> anyhow::Result<ExitCode> {
    println!("violations:\n{}", expect::list(&verdict.violations));
    println!(
        "excused: {}, at-least-once reruns: {}",
        verdict.excused.len(),
        verdict.reruns.len()
    );
    println!(
        "timeliness: {}",
        serde_json::to_string(&verdict.timeliness)?
    );
    match expect::judge(&loaded.scenario, verdict, history) {
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

/// A scale scenario (`spooled = true`): its history spooled to a folder under the system's
/// temporary one and checked one shard at a time, as `report --scale` runs it.
fn spooled(
    loaded: &scenario::Loaded,
    backend: scenario::BackendKind,
    seed: u64,
    history: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if history.is_some() {
        anyhow::bail!(
            "{} is a scale scenario (`spooled = true`): its history is spooled to disk by shard \
             and removed once checked, so --history cannot write it",
            loaded.path.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("cronfence-spool-{}", std::process::id()));
    let run = world::run_spooled(
        &loaded.scenario,
        backend,
        seed,
        &dir,
        super::scale::SHARD_JOBS,
        |stage| eprintln!("{stage:?}"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let run = run.map_err(anyhow::Error::msg)?;
    println!(
        "{} on {backend}, seed {seed}: {} records (spooled), {} faults",
        loaded.name,
        run.records,
        run.plan.len()
    );
    judged(loaded, &run.verdict, &run.kept)
}

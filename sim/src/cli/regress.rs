//! `cronfence regress`: runs the suite on each backend and compares every scenario's outcome with
//! `<baseline>/<backend>.toml`; prints the differences and exits 1 on a regression. `--bless`
//! writes the current outcomes instead (keeping the tolerances, and, when only some scenarios
//! were named, the other scenarios' entries).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Progress;
use crate::regress::{self, Severity};
use crate::report::Report;
use crate::scenario::BackendKind;
use crate::suite;

/// The command's arguments.
pub struct Args {
    /// Scenario files or folders; empty: the whole `scenarios/` folder.
    pub scenarios: Vec<PathBuf>,
    /// Backends; `None`: memory and etcd-sim.
    pub backends: Option<Vec<BackendKind>>,
    /// The baselines' folder.
    pub baseline: PathBuf,
    /// Rewrite the baselines.
    pub bless: bool,
    /// Worker threads.
    pub threads: usize,
}

/// Runs the command.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let complete = args.scenarios.is_empty();
    let found = suite::discover(&args.scenarios)?;
    if !found.failures.is_empty() {
        for failure in &found.failures {
            eprintln!("{}", failure.error);
        }
        anyhow::bail!(
            "{} scenario file(s) failed to load; fix them before comparing",
            found.failures.len()
        );
    }
    let backends = args
        .backends
        .unwrap_or_else(|| vec![BackendKind::Memory, BackendKind::EtcdSim]);
    let cases = suite::cases(&found.scenarios, Some(&backends), None);
    let progress = Progress::new(cases.len(), "regress");
    let runs = suite::run(cases, args.threads, &|case, done| {
        progress.step(done, format!("{} on {}", case.loaded.name, case.backend));
    });
    progress.finish();
    let rows = Report::new(&runs, Vec::new()).summary.rows;
    let mut regressions = 0;
    for backend in backends {
        let name = backend.to_string();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.backend == backend)
            .cloned()
            .collect();
        let file = regress::path(&args.baseline, &name);
        let previous = regress::read(&file)?;
        if args.bless {
            let blessed = regress::bless(&name, &mine, previous, complete);
            regress::write(&file, &blessed)?;
            println!(
                "{name}: blessed {} scenarios into {}",
                mine.len(),
                file.display()
            );
            continue;
        }
        let Some(baseline) = previous else {
            anyhow::bail!(
                "no baseline for {name} at {}; create it with `cronfence regress --bless`",
                file.display()
            );
        };
        let changes = regress::compare(&baseline, &mine, complete);
        let failed = changes
            .iter()
            .filter(|c| c.severity == Severity::Regression)
            .count();
        regressions += failed;
        println!(
            "{name}: {} scenarios compared with {}: {}",
            mine.len(),
            file.display(),
            if failed == 0 {
                "no regression".to_string()
            } else {
                format!("{failed} regression(s)")
            }
        );
        for change in &changes {
            println!("  {change}");
        }
    }
    if regressions == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "\n{regressions} regression(s). If the change is intended, run \
             `cargo run --release -p cronfence-sim -- regress --bless` and commit the baselines."
        );
        Ok(ExitCode::FAILURE)
    }
}

//! `cronfence regress`: runs the suite on each backend and compares every scenario's outcome with
//! `<baseline>/<backend>.toml`; prints the differences and exits 1 on a regression. `--bless`
//! writes the current outcomes instead (keeping the tolerances, and, when only some scenarios
//! were named, the other scenarios' entries).

use std::path::PathBuf;
use std::process::ExitCode;

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
    let runs = super::progress::run_cases(cases, args.threads, "regress");
    let rows = Report::new(&runs, Vec::new()).summary.rows;
    let mut regressions = 0;
    for backend in backends {
        let name = backend.to_string();
        let mine: Vec<_> = rows.iter().filter(|r| r.backend == name).cloned().collect();
        regressions += super::baseline::check(&name, &mine, &args.baseline, args.bless, complete)?;
    }
    Ok(super::baseline::exit(regressions))
}

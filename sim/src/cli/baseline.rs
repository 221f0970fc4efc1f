//! Comparing one backend's rows with its baseline file, or blessing them into it, and printing
//! the outcome: shared by the simulator's `regress` and the real build's `regress --backend etcd`.

use std::path::Path;
use std::process::ExitCode;

use crate::regress::{self, Severity};
use crate::report::summary::Row;

/// Compares `rows` of `backend` with `<dir>/<backend>.toml` (or, with `bless`, writes them there)
/// and prints what changed; returns how many regressions were found.
pub fn check(
    backend: &str,
    rows: &[Row],
    dir: &Path,
    bless: bool,
    complete: bool,
) -> anyhow::Result<usize> {
    let file = regress::path(dir, backend);
    let previous = regress::read(&file)?;
    if bless {
        let blessed = regress::bless(backend, rows, previous, complete);
        regress::write(&file, &blessed)?;
        println!(
            "{backend}: blessed {} scenarios into {}",
            rows.len(),
            file.display()
        );
        return Ok(0);
    }
    let Some(baseline) = previous else {
        anyhow::bail!(
            "no baseline for {backend} at {}; create it with `cronfence regress --bless`",
            file.display()
        );
    };
    let changes = regress::compare(&baseline, rows, complete);
    let failed = changes
        .iter()
        .filter(|c| c.severity == Severity::Regression)
        .count();
    println!(
        "{backend}: {} scenarios compared with {}: {}",
        rows.len(),
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
    Ok(failed)
}

/// The exit code after `regressions`, with the hint to bless when there are some.
pub fn exit(regressions: usize) -> ExitCode {
    if regressions == 0 {
        return ExitCode::SUCCESS;
    }
    println!(
        "\n{regressions} regression(s). If the change is intended, run \
         `cargo run --release -p cronfence-sim -- regress --bless` and commit the baselines."
    );
    ExitCode::FAILURE
}

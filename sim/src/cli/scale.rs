//! `cronfence report --scale`: the scale scenarios (`scenarios/scale/*.toml`, `spooled = true`)
//! after the suite. Each runs on each backend it lists, over its seeds, one at a time, its history
//! spooled to disk and checked one shard of jobs at a time ([`crate::spool`]); the run's
//! figures (records, wall time, simulated seconds per wall second, the process's peak memory
//! during that run) go to `scale.md` beside the report and to stdout. Progress is shown as the
//! suite's is: about every tenth of the simulated time, then every tenth of the shards checked.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use crate::scenario::{BackendKind, Loaded};
use crate::world::{self, Stage};
use crate::{expect, suite};

/// Jobs per shard of a spooled history: an hour of 1-second jobs is about 115,000 ticks a
/// shard, some 200 MB while its checkers run.
pub const SHARD_JOBS: usize = 32;

/// One scale run's figures.
struct Figures {
    file: String,
    backend: BackendKind,
    seed: u64,
    records: u64,
    faults: usize,
    starts: u64,
    violations: usize,
    wall_s: f64,
    speed: f64,
    peak_mb: Option<u64>,
    expected: Result<(), String>,
}

/// The scale scenarios in `dir` (default `scenarios/scale`), on `backends` (default: each file's
/// own), written into `out`: whether every run was as its file expects.
pub fn main(
    dir: Option<&Path>,
    backends: Option<&[BackendKind]>,
    out: &Path,
) -> anyhow::Result<bool> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => suite::default_dir()
            .map(|d| d.join("scale"))
            .ok_or_else(|| {
                anyhow::anyhow!("no `scenarios/scale/` folder here; run from the repository root")
            })?,
    };
    let found = suite::discover_spooled(std::slice::from_ref(&dir))?;
    for failure in &found.failures {
        eprintln!("error: {}", failure.error);
    }
    if !found.failures.is_empty() {
        anyhow::bail!(
            "{} scale scenario file(s) failed to load",
            found.failures.len()
        );
    }
    let mut figures = Vec::new();
    for loaded in &found.scenarios {
        for &backend in &loaded.scenario.backends {
            if backends.is_some_and(|wanted| !wanted.contains(&backend)) {
                continue;
            }
            for seed in loaded.scenario.seeds.list() {
                figures.push(one(loaded, backend, seed, &out.join("spool"))?);
            }
        }
    }
    let table = markdown(&figures);
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("scale.md"), &table)?;
    print!("{table}");
    eprintln!("scale: {}", out.join("scale.md").display());
    Ok(figures.iter().all(|f| f.expected.is_ok()))
}

fn one(loaded: &Loaded, backend: BackendKind, seed: u64, spool: &Path) -> anyhow::Result<Figures> {
    let scenario = &loaded.scenario;
    let total = scenario.duration.as_secs_f64();
    let what = format!("{} on {backend}, seed {seed}", loaded.name);
    eprintln!(
        "scale: {what}: {} jobs, {:.0} s simulated",
        scenario.job_specs().len(),
        total
    );
    reset_peak();
    let started = Instant::now();
    let (mut simulated_tenth, mut checked_tenth) = (0, 0);
    let run = world::run_spooled(scenario, backend, seed, spool, SHARD_JOBS, |stage| {
        let secs = started.elapsed().as_secs();
        match stage {
            Stage::Simulating(records, at) => {
                let tenth = ((at.as_secs_f64() / total) * 10.0) as usize;
                if tenth > simulated_tenth {
                    simulated_tenth = tenth;
                    eprintln!(
                        "scale: {what}: simulated {}% after {secs} s, {records} records",
                        tenth * 10
                    );
                }
            }
            Stage::Checking(done, of) => {
                let tenth = done * 10 / of.max(1);
                if tenth > checked_tenth {
                    checked_tenth = tenth;
                    eprintln!("scale: {what}: checked {done} of {of} shards after {secs} s");
                }
            }
        }
    })
    .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    let expected = expect::judge(scenario, &run.verdict, &run.kept);
    for finding in run.verdict.violations.iter().take(5) {
        eprintln!(
            "scale: {what}: {}/{}: {}",
            finding.checker.name(),
            finding.kind,
            finding.detail
        );
    }
    Ok(Figures {
        file: loaded.name.clone(),
        backend,
        seed,
        records: run.records,
        faults: run.plan.len(),
        starts: run.verdict.timeliness.starts,
        violations: run.verdict.violations.len(),
        wall_s,
        speed: total / wall_s,
        peak_mb: peak_mb(),
        expected,
    })
}

fn markdown(figures: &[Figures]) -> String {
    let mut out = String::from(
        "| scale scenario | backend | seed | records | faults | first starts | violations | wall | simulated s per wall s | peak memory | as expected |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} s | {:.1}× | {} | {} |",
            f.file,
            f.backend,
            f.seed,
            f.records,
            f.faults,
            f.starts,
            f.violations,
            f.wall_s,
            f.speed,
            f.peak_mb.map_or("?".into(), |mb| format!("{mb} MB")),
            match &f.expected {
                Ok(()) => "yes".to_string(),
                Err(why) => format!("**no**: {why}"),
            }
        );
    }
    out
}

/// Resets the process's peak resident memory (Linux: `/proc/self/clear_refs`), so each run's
/// peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last reset, in MB (Linux).
fn peak_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

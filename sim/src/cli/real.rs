//! `cronfence regress --backend etcd --endpoints ...` in the real build: the real-time suite
//! against a given etcd cluster, compared with `<baseline>/etcd.toml` (or blessed into it).
//! Scenarios a real world cannot play are listed with the reason and left out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::real::suite;

/// The command's arguments.
pub struct Args {
    /// Scenario files or folders; empty: the whole `scenarios/` folder.
    pub scenarios: Vec<PathBuf>,
    /// The cluster's client URLs.
    pub endpoints: Vec<String>,
    /// The key prefix the runs write under (each run and scenario gets its own below it).
    pub prefix: String,
    /// Longest scenario to play.
    pub max_duration: Duration,
    /// The baselines' folder.
    pub baseline: PathBuf,
    /// Rewrite the baseline.
    pub bless: bool,
    /// How many files play at once.
    pub at_once: usize,
}

/// Runs the command.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    if args.endpoints.is_empty() {
        anyhow::bail!(
            "--backend etcd needs --endpoints http://host:2379[,...] of a running cluster"
        );
    }
    let found = crate::suite::discover(&args.scenarios)?;
    for failure in &found.failures {
        eprintln!("{}", failure.error);
    }
    if !found.failures.is_empty() {
        anyhow::bail!("{} scenario file(s) failed to load", found.failures.len());
    }
    let mut playable = Vec::new();
    for loaded in found.scenarios {
        match suite::unplayable(&loaded.scenario, args.max_duration, false) {
            None => playable.push(loaded),
            Some(why) => eprintln!("skipped {}: {why}", loaded.name),
        }
    }
    if playable.is_empty() {
        anyhow::bail!(
            "no scenario can run in real time (see the reasons above; --max-duration bounds how long one may last)"
        );
    }
    // The longest first, so the last to start are short.
    playable.sort_by_key(|l| std::cmp::Reverse(l.scenario.duration));
    let total: Duration = playable
        .iter()
        .map(|l| l.scenario.duration.unsigned_abs())
        .sum();
    let at_once = args.at_once.max(1);
    eprintln!(
        "running {} scenarios in real time, {at_once} at once, against {}; {:.0} s of scenarios \
         in all",
        playable.len(),
        args.endpoints.join(","),
        total.as_secs_f64()
    );
    let run_id = jiff::Timestamp::now().as_millisecond();
    let prefix = format!("{}/{run_id}", args.prefix.trim_end_matches('/'));
    let (count, started) = (playable.len(), std::time::Instant::now());
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let done = |run: &suite::RealRun| {
        let n = finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let outcome = if run.judged.is_ok() {
            "as expected"
        } else {
            "NOT as expected"
        };
        eprintln!(
            "regress: {n}/{count} after {:.0} s; {} {outcome}",
            started.elapsed().as_secs_f64(),
            run.loaded.name
        );
    };
    let runs = suite::run(&playable, &args.endpoints, &prefix, at_once, &done);
    let rows: Vec<_> = runs.iter().map(suite::RealRun::row).collect();
    for (run, row) in runs.iter().zip(&rows) {
        if let Err(why) = &run.judged {
            let file = std::env::temp_dir()
                .join(format!("cronfence-etcd-{}-{run_id}.jsonl", row.scenario));
            std::fs::write(&file, run.history.to_jsonl())
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", file.display()))?;
            println!(
                "{}: NOT as expected (real time cannot be replayed; history: {}): {why}",
                row.scenario,
                file.display()
            );
        }
    }
    let complete = false; // scenarios that cannot play in real time are always left out
    let regressions = super::baseline::check("etcd", &rows, &args.baseline, args.bless, complete)?;
    Ok(super::baseline::exit(regressions))
}

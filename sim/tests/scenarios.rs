//! `cargo test scenarios`: every file in `scenarios/*.toml` is its own test, once per backend it
//! lists, over its seeds (`CRONFENCE_SEEDS=N` runs seeds 1..=N instead).
//!
//! A scenario passes when the checkers' verdict matches its `[expect]` section: no violation for
//! `outcome = "pass"`, every listed violation kind for `outcome = "violations"`. A failure prints
//! the findings and the command that replays that seed.
//!
//! On its own seeds each file is also held to `reports/baselines/<backend>.toml`, as `cronfence
//! regress` holds the whole suite (the same comparison, so the suite runs once, not twice):
//! a verdict, count or time that moved beyond the baseline's tolerance fails the file's test, and
//! `scenarios/baselines/<backend>` fails when a baseline names a file that no longer runs on
//! that backend. And the first seed's history is checked again one job per shard
//! (`cronfence_sim::world::judge`), and the first seed is run again with its history spooled to
//! disk one job per shard (`cronfence_sim::world::run_spooled`): each verdict must be the same
//! (a spooled run's stale batch is one fencing finding listing one shard's ticks, and its
//! lateness percentiles are counted by the microsecond).

#[cfg(not(madsim))]
fn main() {
    eprintln!("the scenarios run in the simulator build: `cargo test scenarios`");
}

#[cfg(madsim)]
fn main() {
    sim::main();
}

#[cfg(madsim)]
mod sim {
    use std::path::{Path, PathBuf};

    use cronfence_sim::regress::{self, Baseline, Severity};
    use cronfence_sim::report::summary::{Row, SeedOutcome};
    use cronfence_sim::scenario::{self, BackendKind, Loaded};
    use cronfence_sim::world;
    use libtest_mimic::{Arguments, Failed, Trial};

    fn scenario_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    pub fn main() {
        let args = Arguments::from_args();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
            .expect("scenarios/ exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut trials = Vec::new();
        // Per backend, the files that run on it (a file that does not load counts everywhere:
        // its own test fails).
        let mut runs_on: Vec<(BackendKind, Vec<String>)> =
            [BackendKind::Memory, BackendKind::EtcdSim]
                .into_iter()
                .map(|b| (b, Vec::new()))
                .collect();
        for path in paths {
            let loaded = scenario::load(&path);
            let backends = match &loaded {
                Ok(loaded) => loaded.scenario.backends.clone(),
                Err(_) => vec![BackendKind::Memory, BackendKind::EtcdSim],
            };
            for (backend, names) in &mut runs_on {
                if backends.contains(backend) {
                    names.push(stem(&path));
                }
            }
            match loaded {
                // A scale scenario is not held in memory: `report --scale` plays it.
                Ok(loaded) if loaded.scenario.spooled => {}
                Ok(loaded) => {
                    for backend in loaded.scenario.backends.clone() {
                        let name = format!("scenarios/{}/{backend}", loaded.name);
                        let loaded = loaded.clone();
                        trials.push(Trial::test(name, move || run(&loaded, backend)));
                    }
                }
                Err(error) => {
                    let name = format!("scenarios/{}", stem(&path));
                    trials.push(Trial::test(name, move || {
                        Err(Failed::from(error.to_string()))
                    }));
                }
            }
        }
        for (backend, names) in runs_on {
            trials.push(Trial::test(
                format!("scenarios/baselines/{backend}"),
                move || complete(backend, &names),
            ));
        }
        libtest_mimic::run(&args, trials).exit();
    }

    fn stem(path: &Path) -> String {
        path.file_stem().unwrap().to_string_lossy().into_owned()
    }

    /// The seeds asked for with `CRONFENCE_SEEDS`, if any (then no baseline is compared: it holds
    /// the files' own seeds).
    fn seeds_asked() -> Option<u64> {
        std::env::var("CRONFENCE_SEEDS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
    }

    fn seeds(loaded: &Loaded) -> Vec<u64> {
        match seeds_asked() {
            Some(n) => (1..=n).collect(),
            None => loaded.scenario.seeds.list(),
        }
    }

    fn baseline(backend: BackendKind) -> Result<Baseline, Failed> {
        let dir = scenario_dir().join("../reports/baselines");
        let file = regress::path(&dir, &backend.to_string());
        match regress::read(&file) {
            Ok(Some(baseline)) => Ok(baseline),
            Ok(None) => Err(format!("{} is missing", file.display()).into()),
            Err(e) => Err(format!("{e:#}").into()),
        }
    }

    /// Every file the baseline of `backend` names still runs on it (`names`).
    fn complete(backend: BackendKind, names: &[String]) -> Result<(), Failed> {
        let baseline = baseline(backend)?;
        let gone: Vec<&String> = baseline
            .scenarios
            .keys()
            .filter(|name| !names.contains(name))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        Err(format!(
            "reports/baselines/{backend}.toml names scenarios that no longer run on {backend} \
             (removed, renamed, or {backend} dropped from their backends): {gone:?}; `cargo run \
             --release -p cronfence-sim -- regress --bless` rewrites it"
        )
        .into())
    }

    /// The regressions of this file's outcome against the committed baseline.
    fn regressions(
        loaded: &Loaded,
        backend: BackendKind,
        outcomes: &[SeedOutcome],
    ) -> Result<Vec<String>, Failed> {
        let row = Row::new(loaded, &backend.to_string(), outcomes);
        let changes = regress::compare(&baseline(backend)?, &[row], false);
        Ok(changes
            .iter()
            .filter(|c| c.severity == Severity::Regression)
            .map(|c| {
                format!(
                    "{c} (against reports/baselines/{backend}.toml; if intended: \
                     `cargo run --release -p cronfence-sim -- regress --bless`)"
                )
            })
            .collect())
    }

    /// Whether `scenario` on `backend` with `seed`, its history spooled one job per shard, gets
    /// the very verdict `run` got holding its history.
    fn spooled_alike(
        loaded: &Loaded,
        backend: BackendKind,
        seed: u64,
        run: &world::Run,
    ) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!(
            "cronfence-spool-{}-{}-{backend}",
            std::process::id(),
            loaded.name
        ));
        let spooled = world::run_spooled(&loaded.scenario, backend, seed, &dir, 1, |_| {});
        let _ = std::fs::remove_dir_all(&dir);
        let spooled = spooled?;
        if spooled.records != run.history.records.len() as u64 {
            return Err(format!(
                "{} records, not {}",
                spooled.records,
                run.history.records.len()
            ));
        }
        let (a, b) = (&run.verdict, &spooled.verdict);
        // A stale batch: one finding, the first shard's listing of it.
        let key = |f: &cronfence_sim::check::Finding| match f.checker {
            cronfence_sim::check::Checker::Fencing => {
                format!("{:?} {} {:?}", f.checker, f.kind, f.records)
            }
            _ => format!("{f:?}"),
        };
        // In any order: a stale batch's finding names a job once spooled (its shard's one), and
        // findings are sorted by job.
        let keys = |v: &[cronfence_sim::check::Finding]| {
            let mut keys: Vec<_> = v.iter().map(key).collect();
            keys.sort();
            keys
        };
        for (what, x, y) in [
            ("violations", &a.violations, &b.violations),
            ("excused", &a.excused, &b.excused),
            ("reruns", &a.reruns, &b.reruns),
        ] {
            let (x, y) = (keys(x), keys(y));
            if x != y {
                return Err(format!(
                    "the {what} differ:\n  held:    {x:?}\n  spooled: {y:?}"
                ));
            }
        }
        let (t, u) = (&a.timeliness, &b.timeliness);
        let near = |x: f64, y: f64| (x - y).abs() <= 0.000_5 + 1e-9;
        let alike = t.starts == u.starts
            && near(t.lateness_p50_ms, u.lateness_p50_ms)
            && near(t.lateness_p99_ms, u.lateness_p99_ms)
            && t.lateness_max_ms == u.lateness_max_ms
            && t.failovers == u.failovers;
        if !alike {
            return Err(format!(
                "the timeliness differs:\n  held:    {t:?}\n  spooled: {u:?}"
            ));
        }
        Ok(())
    }

    fn run(loaded: &Loaded, backend: scenario::BackendKind) -> Result<(), Failed> {
        let mut failures = Vec::new();
        let mut runs = Vec::new();
        for (n, seed) in seeds(loaded).into_iter().enumerate() {
            let run = world::run(&loaded.scenario, backend, seed);
            // The checkers judge each job on its own: checked one job per shard, the first
            // seed's history must get the very same verdict.
            if n == 0 && world::judge(&loaded.scenario, backend, &run.history, 1) != run.verdict {
                failures.push(format!(
                    "seed {seed}: checked in shards of one job, the verdict differs\n  replay: {}",
                    cronfence_sim::suite::replay(&loaded.path, backend, seed)
                ));
            }
            if n == 0 {
                if let Err(why) = spooled_alike(loaded, backend, seed, &run) {
                    failures.push(format!(
                        "seed {seed}: spooled one job per shard, {why}\n  replay: {}",
                        cronfence_sim::suite::replay(&loaded.path, backend, seed)
                    ));
                }
            }
            let judged = cronfence_sim::expect::judge(&loaded.scenario, &run.verdict, &run.history);
            if let Err(why) = &judged {
                failures.push(format!(
                    "seed {seed}: {why}\n  replay: {}",
                    cronfence_sim::suite::replay(&loaded.path, backend, seed)
                ));
            }
            runs.push((seed, run.verdict, judged));
        }
        let verdicts = runs.iter().map(|(_, verdict, _)| verdict);
        if let Err(why) = cronfence_sim::expect::known_bug_shown(&loaded.scenario, verdicts) {
            failures.push(why);
        }
        if seeds_asked().is_none() {
            let outcomes: Vec<SeedOutcome> = runs
                .iter()
                .map(|(seed, verdict, judged)| SeedOutcome {
                    seed: *seed,
                    verdict,
                    judged,
                })
                .collect();
            failures.extend(regressions(loaded, backend, &outcomes)?);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n").into())
        }
    }
}

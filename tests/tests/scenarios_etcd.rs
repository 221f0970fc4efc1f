//! `cargo real-test -p cronfence-it --test scenarios_etcd`: every scenario file the real-time
//! world can play is its own test, `scenarios/<file>/etcd`, played in real time against an etcd
//! server this test starts and judged by the same checkers and `[expect]` section as in the
//! simulator. The files it cannot play (test-only variants, files that say why not, longer than
//! five minutes once scaled by their `real_time_scale`) are listed as ignored, with the reason in
//! the name.
//!
//! Real time is mostly waiting, so 16 files play at once, the longest first (`--test-threads`
//! sets another number). Real time does not
//! reproduce a history byte for byte; a failure prints the command that plays the file again.
//! Each file's keys go under a prefix of their own. A file that restarts its backend
//! (`backend_restart`) plays against an etcd of its own, which the fault kills (SIGKILL) and
//! starts again on the same data; a file with member faults, against a cluster of three of its
//! own, with proxies on the peer URLs to cut a member off. `CRONFENCE_ETCD_HISTORIES=<dir>` keeps
//! every played file's history there (`<file>.jsonl`), passed or not.

#[cfg(madsim)]
fn main() {
    eprintln!("the real-etcd scenarios run in the real build: `cargo real-test -p cronfence-it --test scenarios_etcd`");
}

#[cfg(not(madsim))]
fn main() {
    real::main();
}

#[cfg(not(madsim))]
mod real {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::Duration;

    use cronfence_it::etcd::{Cluster, OwnEtcd};
    use cronfence_sim::real::suite::{self, Target};
    use cronfence_sim::scenario::{scale, Loaded};
    use cronfence_sim::suite::discover;
    use libtest_mimic::{Arguments, Failed, Trial};

    /// The longest file played (the real-time suite's default limit).
    const MAX_DURATION: Duration = Duration::from_secs(300);

    fn scenario_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    pub fn main() {
        let mut args = Arguments::from_args();
        let cluster = match args.list {
            true => None,
            false => Some(Arc::new(Cluster::start(1).unwrap_or_else(|e| {
                eprintln!("cannot start etcd for the real-etcd scenarios: {e:#}");
                std::process::exit(1);
            }))),
        };
        let prefix = format!("/cronfence-scenarios-{}", std::process::id());
        // The simulator's `cargo test scenarios` reports files that do not load. The longest
        // play first, so the last to start are short.
        let found = discover(&[scenario_dir()]).unwrap_or_else(|e| {
            eprintln!("cannot read the scenario files: {e:#}");
            std::process::exit(1);
        });
        let mut files: Vec<Loaded> = found.scenarios.iter().map(|f| (**f).clone()).collect();
        let played_for = |f: &Loaded| scale::for_real_time(&f.scenario).duration;
        files.sort_by_key(|f| std::cmp::Reverse(played_for(f)));
        let mut trials = Vec::new();
        for loaded in files {
            let name = format!("scenarios/{}/etcd", loaded.name);
            if let Some(why) = suite::unplayable(&loaded.scenario, MAX_DURATION, true) {
                let name = format!("{name} (not played: {why})");
                trials.push(Trial::test(name, || Ok(())).with_ignored_flag(true));
                continue;
            }
            let endpoints = cluster.as_ref().map(|c| c.endpoints()).unwrap_or_default();
            let prefix = prefix.clone();
            trials.push(Trial::test(name, move || play(loaded, &endpoints, &prefix)));
        }
        if args.test_threads.is_none() {
            args.test_threads = Some(suite::AT_ONCE);
        }
        let conclusion = libtest_mimic::run(&args, trials);
        drop(cluster);
        conclusion.exit();
    }

    /// Plays `loaded` in real time and judges it: against the shared etcd at `endpoints`, or
    /// against one of its own when it restarts its backend.
    fn play(loaded: Loaded, endpoints: &[String], prefix: &str) -> Result<(), Failed> {
        let name = loaded.name.clone();
        let prefix = format!("{prefix}/{name}");
        let target = if suite::restarts_backend(&loaded.scenario) {
            let own = match suite::members_needed(&loaded.scenario) {
                1 => Cluster::start(1),
                n => Cluster::with_peer_proxies(n),
            };
            let own = own.map_err(|e| format!("cannot start etcd: {e:#}"))?;
            Target::etcd(own.endpoints()).restartable(Box::new(OwnEtcd(own)))
        } else {
            Target::etcd(endpoints.to_vec())
        };
        let run = suite::play(Arc::new(loaded), target, &prefix);
        if let Some(dir) = std::env::var_os("CRONFENCE_ETCD_HISTORIES") {
            let file = Path::new(&dir).join(format!("{name}.jsonl"));
            if let Err(e) = std::fs::write(&file, run.history.to_jsonl()) {
                eprintln!("cannot keep the history in {}: {e}", file.display());
            }
        }
        run.judged.map_err(|why| {
            let file = std::env::temp_dir().join(format!(
                "cronfence-etcd-{name}-{}.jsonl",
                std::process::id()
            ));
            let kept = match std::fs::write(&file, run.history.to_jsonl()) {
                Ok(()) => format!("history: {}", file.display()),
                Err(e) => format!(
                    "the history could not be written to {}: {e}",
                    file.display()
                ),
            };
            Failed::from(format!(
                "{why}\n{kept}\nplay it again (real time: the same file, not the same history): \
                 cargo real-test -p cronfence-it --test scenarios_etcd -- scenarios/{name}/etcd"
            ))
        })
    }
}

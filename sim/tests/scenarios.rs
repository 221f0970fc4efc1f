//! `cargo test scenarios`: every file in `scenarios/*.toml` is its own test, once per backend it
//! lists, over its seeds (`CRONFENCE_SEEDS=N` runs seeds 1..=N instead).
//!
//! A scenario passes when the checkers' verdict matches its `[expect]` section: no violation for
//! `outcome = "pass"`, every listed violation kind for `outcome = "violations"`. A failure prints
//! the findings and the command that replays that seed.

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

    use cronfence_sim::scenario::{self, Loaded};
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
        for path in paths {
            match scenario::load(&path) {
                Ok(loaded) => {
                    for backend in loaded.scenario.backends.clone() {
                        let name = format!("scenarios/{}/{backend}", loaded.name);
                        let loaded = loaded.clone();
                        trials.push(Trial::test(name, move || run(&loaded, backend)));
                    }
                }
                Err(error) => {
                    let name = format!("scenarios/{}", path.file_stem().unwrap().to_string_lossy());
                    trials.push(Trial::test(name, move || {
                        Err(Failed::from(error.to_string()))
                    }));
                }
            }
        }
        libtest_mimic::run(&args, trials).exit();
    }

    fn seeds(loaded: &Loaded) -> Vec<u64> {
        match std::env::var("CRONFENCE_SEEDS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(n) => (1..=n).collect(),
            None => loaded.scenario.seeds.list(),
        }
    }

    fn run(loaded: &Loaded, backend: scenario::BackendKind) -> Result<(), Failed> {
        let mut failures = Vec::new();
        let mut verdicts = Vec::new();
        for seed in seeds(loaded) {
            let run = world::run(&loaded.scenario, backend, seed);
            if let Err(why) =
                cronfence_sim::expect::judge(&loaded.scenario, &run.verdict, &run.history)
            {
                failures.push(format!(
                    "seed {seed}: {why}\n  replay: {}",
                    cronfence_sim::suite::replay(&loaded.path, backend, seed)
                ));
            }
            verdicts.push(run.verdict);
        }
        if let Err(why) = cronfence_sim::expect::known_bug_shown(&loaded.scenario, &verdicts) {
            failures.push(why);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n").into())
        }
    }
}

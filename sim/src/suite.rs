//! The scenario suite: which scenario files run, on which backends, with which seeds, and running
//! every case of it on all cores.
//!
//! [`discover`] turns the command line's paths (files or folders, from anywhere; none means the
//! `scenarios/` folder) into loaded scenarios, keeping every file that fails to load as a
//! [`LoadFailure`] instead of stopping. [`cases`] expands them into one [`Case`] per scenario,
//! backend and seed; [`run`] runs the cases on worker threads (each case is its own deterministic
//! madsim runtime, so threads do not change any history) and returns the results in case order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::scenario::{self, BackendKind, Loaded};

/// A scenario file that could not be loaded, with its located error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadFailure {
    /// The file.
    pub path: String,
    /// The error, `file:line:column: message` and a hint.
    pub error: String,
}

/// The scenarios found, and the files that failed to load.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// Loaded scenarios, sorted by path.
    pub scenarios: Vec<Arc<Loaded>>,
    /// Files that failed to load.
    pub failures: Vec<LoadFailure>,
}

/// The folder searched when no path is given: `scenarios/` under the current directory, else the
/// repository's own (next to this crate), if either exists.
pub fn default_dir() -> Option<PathBuf> {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        return Some(here);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    repo.is_dir().then_some(repo)
}

/// The scale scenarios (`spooled = true`) among the files [`discover`] finds in `paths`.
pub fn discover_spooled(paths: &[PathBuf]) -> anyhow::Result<Found> {
    let mut found = discover(paths)?;
    found.scenarios.retain(|loaded| loaded.scenario.spooled);
    Ok(found)
}

/// Loads the scenario files named by `paths` (a folder stands for its `*.toml` files); with no
/// path, those of [`default_dir`]. Fails only when there is nothing to look at.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Found> {
    let roots = if paths.is_empty() {
        vec![default_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "no `scenarios/` folder here; run from the repository root or name scenario files"
            )
        })?]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            let entries = std::fs::read_dir(&root)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", root.display()))?;
            let mut tomls: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            if tomls.is_empty() {
                anyhow::bail!("{} holds no scenario (`*.toml`) files", root.display());
            }
            files.append(&mut tomls);
        } else {
            files.push(root);
        }
    }
    files.sort();
    files.dedup();
    let mut found = Found::default();
    for file in files {
        match scenario::load(&file) {
            Ok(loaded) => found.scenarios.push(Arc::new(loaded)),
            Err(error) => found.failures.push(LoadFailure {
                path: file.display().to_string(),
                error: error.to_string(),
            }),
        }
    }
    Ok(found)
}

/// One scenario on one backend with one seed.
#[derive(Clone, Debug)]
pub struct Case {
    /// The scenario.
    pub loaded: Arc<Loaded>,
    /// The backend.
    pub backend: BackendKind,
    /// The seed.
    pub seed: u64,
}

impl Case {
    /// The command that replays this case.
    pub fn replay(&self) -> String {
        replay(&self.loaded.path, self.backend, self.seed)
    }
}

/// The command that replays `path` on `backend` with `seed`.
pub fn replay(path: &Path, backend: BackendKind, seed: u64) -> String {
    format!(
        "cargo run -p cronfence-sim -- run {} --backend {backend} --seed {seed}",
        path.display()
    )
}

/// Every case of `scenarios`: each on the backends it lists that are in `backends` (all it lists
/// when `None`), with seeds 1..=`seeds` or, when `None`, the scenario's own seeds.
pub fn cases(
    scenarios: &[Arc<Loaded>],
    backends: Option<&[BackendKind]>,
    seeds: Option<u64>,
) -> Vec<Case> {
    let mut out = Vec::new();
    for loaded in scenarios {
        let seed_list = match seeds {
            Some(n) => (1..=n).collect(),
            None => loaded.scenario.seeds.list(),
        };
        // A scale scenario is not held in memory: `report --scale` and `run` play it spooled.
        if loaded.scenario.spooled {
            continue;
        }
        for &backend in &loaded.scenario.backends {
            if backends.is_some_and(|wanted| !wanted.contains(&backend)) {
                continue;
            }
            for &seed in &seed_list {
                out.push(Case {
                    loaded: loaded.clone(),
                    backend,
                    seed,
                });
            }
        }
    }
    out
}

/// A case and how it went.
#[cfg(madsim)]
#[derive(Clone, Debug)]
pub struct CaseRun {
    /// The case.
    pub case: Case,
    /// The run: history, verdict, fault plan.
    pub run: crate::world::Run,
    /// Whether the verdict is what the scenario expects, and if not, why not.
    pub judged: Result<(), String>,
}

/// Runs every case on `threads` worker threads; `progress` is called as each case finishes, with
/// the case and how many have finished. Results come back in case order.
#[cfg(madsim)]
pub fn run(
    cases: Vec<Case>,
    threads: usize,
    progress: &(dyn Fn(&Case, usize) + Sync),
) -> Vec<CaseRun> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseRun>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, cases.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(index) else { break };
                let run = crate::world::run(&case.loaded.scenario, case.backend, case.seed);
                let judged =
                    crate::expect::judge(&case.loaded.scenario, &run.verdict, &run.history);
                results.lock().expect("results lock")[index] = Some(CaseRun {
                    case: case.clone(),
                    run,
                    judged,
                });
                progress(case, done.fetch_add(1, Ordering::Relaxed) + 1);
            });
        }
    });
    results
        .into_inner()
        .expect("results lock")
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}

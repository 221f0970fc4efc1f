//! Many worlds on all cores: which seeds a machine runs (a count, or until a deadline; its shard
//! of the seed sequence), running each world on a worker thread (each world is its own madsim
//! runtime on its own thread, so threads change no history), shrinking every failing world that
//! the known list does not cover, and checking that each shrunk scenario replays from its text.
//!
//! Shard `K/N` owns the seeds `s` with `(s − 1) mod N = K − 1`, so N machines that never talk run
//! disjoint seeds; `--seeds C` runs the first C seeds of the shard from `--first-seed` on. This
//! module writes no files: the command line ([`crate::cli`]) and the summary do.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::known::KnownList;
use super::shrink::{self, Target};
use super::{draw, outcome, toml, Outcome, Size};
use crate::scenario::{self, BackendKind, Scenario};

/// One machine's part of the seed sequence: shard `index` of `count` (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 1, count: 1 }
    }
}

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Option<Shard> {
        let (k, n) = text.split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (1..=count)
            .contains(&index)
            .then_some(Shard { index, count })
    }

    /// True when `seed` belongs to this shard.
    pub fn owns(&self, seed: u64) -> bool {
        seed.wrapping_sub(1) % self.count == self.index - 1
    }

    /// The `n`-th seed (from 0) of this shard at or after `first`.
    pub fn nth(&self, first: u64, n: u64) -> u64 {
        let offset =
            (self.index - 1 + self.count - first.wrapping_sub(1) % self.count) % self.count;
        first + offset + n * self.count
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// When a sweep stops drawing seeds.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many seeds (each on every backend).
    Seeds(u64),
    /// When this instant has passed (worlds under way finish).
    At(Instant),
}

/// What to sweep.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Backends; each seed runs on each.
    pub backends: Vec<BackendKind>,
    /// The first seed of the sequence.
    pub first_seed: u64,
    /// When to stop.
    pub stop: Stop,
    /// This machine's shard.
    pub shard: Shard,
    /// World size.
    pub size: Size,
    /// Worker threads.
    pub threads: usize,
    /// Most worlds run to shrink one failure kind (0: do not shrink).
    pub shrink_runs: usize,
    /// Failures this list covers entirely are not shrunk.
    pub known: Option<KnownList>,
}

/// One world of a sweep.
#[derive(Clone, Debug)]
pub struct World {
    /// Its seed.
    pub seed: u64,
    /// Its backend.
    pub backend: BackendKind,
    /// What it showed.
    pub outcome: Outcome,
    /// The drawn world, kept when it failed.
    pub scenario: Option<Scenario>,
    /// One shrunk world per kind it showed (none when known or not shrunk).
    pub shrunk: Vec<ShrunkKind>,
}

/// A failing world shrunk for one of its kinds.
#[derive(Clone, Debug)]
pub struct ShrunkKind {
    /// The kind kept.
    pub kind: String,
    /// The shrinking.
    pub shrunk: shrink::Shrunk,
    /// True when the shrunk world, parsed back from its scenario text, showed the kind again.
    pub replays: bool,
}

/// A finished sweep: every world, sorted by seed then backend.
#[derive(Clone, Debug)]
pub struct Swept {
    /// The worlds.
    pub worlds: Vec<World>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `plan`; `progress` is told of each finished world and how many have finished.
pub fn sweep(plan: &Plan, progress: &(dyn Fn(&World, usize) + Sync)) -> Swept {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let worlds = Mutex::new(Vec::new());
    let per_seed = plan.backends.len() as u64;
    std::thread::scope(|scope| {
        for i in 0..plan.threads.max(1) {
            std::thread::Builder::new()
                .name(format!("explore-{i}"))
                .spawn_scoped(scope, || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let stop = match plan.stop {
                        Stop::Seeds(n) => index >= n * per_seed,
                        Stop::At(deadline) => Instant::now() >= deadline,
                    };
                    if stop || per_seed == 0 {
                        break;
                    }
                    let seed = plan.shard.nth(plan.first_seed, index / per_seed);
                    let backend = plan.backends[(index % per_seed) as usize];
                    let world = explore(plan, seed, backend);
                    let finished = done.fetch_add(1, Ordering::Relaxed) as usize + 1;
                    progress(&world, finished);
                    worlds.lock().expect("worlds lock").push(world);
                })
                .expect("a worker thread starts");
        }
    });
    let mut worlds = worlds.into_inner().expect("worlds lock");
    worlds.sort_by_key(|w| (w.seed, w.backend));
    Swept {
        worlds,
        elapsed: started.elapsed(),
    }
}

/// Draws, runs and (when it fails and is not known) shrinks one world.
pub fn explore(plan: &Plan, seed: u64, backend: BackendKind) -> World {
    let scenario = draw(seed, backend, plan.size);
    let outcome = outcome::run(&scenario, backend, seed);
    if outcome.passed() {
        return World {
            seed,
            backend,
            outcome,
            scenario: None,
            shrunk: Vec::new(),
        };
    }
    let known = plan
        .known
        .as_ref()
        .and_then(|k| k.find(backend, seed))
        .is_some_and(|entry| outcome.kinds.iter().all(|k| entry.kinds.contains(k)));
    let shrunk = if known || plan.shrink_runs == 0 {
        Vec::new()
    } else {
        shrink_each(&scenario, backend, seed, plan, &outcome)
    };
    World {
        seed,
        backend,
        outcome,
        scenario: Some(scenario),
        shrunk,
    }
}

fn shrink_each(
    scenario: &Scenario,
    backend: BackendKind,
    seed: u64,
    plan: &Plan,
    outcome: &Outcome,
) -> Vec<ShrunkKind> {
    outcome
        .kinds
        .iter()
        .map(|kind| {
            let target = Target {
                kind,
                panic: outcome.panic.as_deref(),
            };
            let shrunk = shrink::shrink(
                scenario,
                backend,
                seed,
                plan.size,
                &target,
                plan.shrink_runs,
            );
            let replays = replays(&shrunk.scenario, backend, seed, &target);
            ShrunkKind {
                kind: kind.clone(),
                shrunk,
                replays,
            }
        })
        .collect()
}

/// Prints `scenario`, parses the text back as a scenario file would be, runs it, and says
/// whether it shows `target` again.
fn replays(scenario: &Scenario, backend: BackendKind, seed: u64, target: &Target<'_>) -> bool {
    let text = toml::to_toml(scenario, "");
    match scenario::parse(Path::new("shrunk.toml"), &text) {
        Ok(parsed) => shrink::shows(&outcome::run(&parsed, backend, seed), target),
        Err(_) => false,
    }
}

/// The seeds run per backend, as sorted inclusive ranges.
pub fn seed_ranges(worlds: &[World], backend: BackendKind) -> Vec<[u64; 2]> {
    let seeds: BTreeSet<u64> = worlds
        .iter()
        .filter(|w| w.backend == backend)
        .map(|w| w.seed)
        .collect();
    ranges(seeds)
}

/// Sorted seeds as inclusive ranges of consecutive seeds.
pub fn ranges(seeds: impl IntoIterator<Item = u64>) -> Vec<[u64; 2]> {
    let mut out: Vec<[u64; 2]> = Vec::new();
    for seed in seeds {
        match out.last_mut() {
            Some(last) if last[1] + 1 == seed => last[1] = seed,
            _ => out.push([seed, seed]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_seed_sequence_without_overlap() {
        // Every seed from 1 to 100 belongs to exactly one of four shards, and each shard's
        // `nth` walks exactly its own seeds in order from any first seed.
        for first in [1, 2, 7] {
            let mut all = BTreeSet::new();
            for index in 1..=4 {
                let shard = Shard { index, count: 4 };
                for n in 0..25 {
                    let seed = shard.nth(first, n);
                    assert!(shard.owns(seed), "{seed} in {shard}");
                    assert!(seed >= first);
                    assert!(all.insert(seed), "seed {seed} twice");
                }
            }
            assert_eq!(all, (first..first + 100).collect());
        }
        assert_eq!(Shard::parse("2/4"), Some(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse("5/4"), None);
        assert_eq!(Shard::parse("0/4"), None);
    }

    #[test]
    fn seeds_compress_into_ranges() {
        // Consecutive seeds merge; a hole starts a new range.
        assert_eq!(ranges([1, 2, 3, 5, 9, 10]), vec![[1, 3], [5, 5], [9, 10]]);
    }
}

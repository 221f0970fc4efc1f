//! The real-time explorer: the worlds the simulator's explorer draws for etcd-sim, played in real
//! time against a given etcd cluster, several at once, and judged by the same checkers.
//!
//! [`world`] draws the world of a seed exactly as `cronfence explore --backend etcd-sim` does
//! ([`crate::explore::draw`] on [`BackendKind::EtcdSim`]), so a real-etcd world can be set
//! beside its simulated twin. It leaves out the faults real time cannot play against a given
//! cluster ([`suite::plays_on_a_given_cluster`]), saying so in the world's description, and skips a world the real-time
//! suite refuses ([`suite::unplayable`]: longer than the limit). [`explore`] keeps drawing seeds
//! from the first until the time is out or enough worlds ran, plays each with the real-time
//! suite's machinery ([`suite::play`], keys under `<prefix>/explore-<seed>`) on a few worker
//! threads (real time is mostly waiting), and reports each world as it finishes. Real time does
//! not reproduce a history: a seed gives the same world, not the same timing. This module writes
//! no files; the command line does.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::suite::{self, RealRun, Target};
use crate::explore::{draw, Size};
use crate::scenario::{BackendKind, Loaded, Scenario};

/// Seeds skipped one after another before the explorer stops drawing: no world of the size
/// fits the real-time limit (a draw takes well under a millisecond, so this is seconds).
pub const MOST_SKIPS_IN_A_ROW: u64 = 10_000;

/// A drawn world as real time plays it.
#[derive(Clone, Debug)]
pub struct Drawn {
    /// The world, less the faults real time cannot play.
    pub scenario: Scenario,
    /// How many faults were left out.
    pub left_out: usize,
}

/// The world of `seed` as real time plays it: the etcd-sim world of that seed and `size`, less
/// the faults real time cannot play; `Err` says why real time cannot play it at all.
pub fn world(seed: u64, size: Size, max_duration: Duration) -> Result<Drawn, String> {
    let mut scenario = draw(seed, BackendKind::EtcdSim, size);
    let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
    scenario.faults.retain(|f| {
        let kind = f.fault.get_ref();
        let plays = suite::plays_on_a_given_cluster(kind);
        if !plays {
            *left_out.entry(kind.clone()).or_default() += 1;
        }
        plays
    });
    if !left_out.is_empty() {
        let kinds: Vec<String> = left_out.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        scenario.description.push_str(&format!(
            " In real time its {} fault(s) real time cannot play are left out ({}); the rest of \
             the world, its duration included, is as drawn.",
            left_out.values().sum::<usize>(),
            kinds.join(", ")
        ));
    }
    match suite::unplayable(&scenario, max_duration, false) {
        None => Ok(Drawn {
            scenario,
            left_out: left_out.values().sum(),
        }),
        Some(why) => Err(why),
    }
}

/// When the explorer stops starting worlds.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Once this many worlds have started.
    Worlds(u64),
    /// Once this instant has passed (worlds under way finish).
    At(Instant),
}

/// What to explore.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The cluster's client URLs.
    pub endpoints: Vec<String>,
    /// The key prefix of this run; each world writes under `<prefix>/explore-<seed>`.
    pub prefix: String,
    /// The size worlds are drawn at.
    pub size: Size,
    /// The longest world to play.
    pub max_duration: Duration,
    /// The first seed drawn.
    pub first_seed: u64,
    /// When to stop starting worlds.
    pub stop: Stop,
    /// Worlds played at once.
    pub jobs: usize,
}

/// A world that was played.
pub struct Played {
    /// Its seed.
    pub seed: u64,
    /// The world (named `explore-<seed>`).
    pub world: Arc<Loaded>,
    /// How many of its drawn faults real time could not play (left out).
    pub left_out: usize,
    /// How long it took in real time.
    pub took: Duration,
    /// Its run, or the message of the panic that ended it.
    pub run: Result<RealRun, String>,
}

impl Played {
    /// True when the world met its expectation (every guarantee held).
    pub fn passed(&self) -> bool {
        matches!(&self.run, Ok(run) if run.judged.is_ok())
    }

    /// The violation kinds, `checker/kind` (`panic` for a panic), sorted.
    pub fn kinds(&self) -> BTreeSet<String> {
        match &self.run {
            Err(_) => BTreeSet::from(["panic".to_string()]),
            Ok(run) => run
                .verdict
                .violations
                .iter()
                .map(crate::check::Checker::kind_of)
                .collect(),
        }
    }
}

/// A seed whose world real time cannot play.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The seed.
    pub seed: u64,
    /// Why (e.g. it lasts longer than the limit).
    pub why: String,
}

/// What one explorer run did.
pub struct Explored {
    /// The worlds played, by seed.
    pub played: Vec<Played>,
    /// The seeds skipped, in order.
    pub skipped: Vec<Skipped>,
    /// True when drawing stopped after [`MOST_SKIPS_IN_A_ROW`] skips in a row.
    pub gave_up: bool,
}

/// Something the explorer reports as it happens.
pub enum Event<'a> {
    /// A world starts.
    Started(u64, &'a Drawn),
    /// A seed was skipped.
    Skipped(&'a Skipped),
    /// A world finished.
    Played(&'a Played),
}

/// Draws and plays worlds per `plan`, `plan.jobs` at once, calling `report` as things happen.
pub fn explore(plan: &Plan, report: &(dyn Fn(Event<'_>) + Sync)) -> Explored {
    let seeds = Mutex::new(Seeds {
        next: plan.first_seed,
        started: 0,
        skips_in_a_row: 0,
        skipped: Vec::new(),
    });
    let played = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for i in 0..plan.jobs.max(1) {
            let (seeds, played) = (&seeds, &played);
            std::thread::Builder::new()
                .name(format!("explore-{i}"))
                .spawn_scoped(scope, move || {
                    while let Some((seed, drawn)) = next_world(seeds, plan, report) {
                        let world = play(seed, drawn, plan);
                        report(Event::Played(&world));
                        played.lock().expect("no worker panics").push(world);
                    }
                })
                .expect("a worker thread");
        }
    });
    let mut played = played.into_inner().expect("no worker panics");
    played.sort_by_key(|p| p.seed);
    let seeds = seeds.into_inner().expect("no worker panics");
    Explored {
        played,
        gave_up: seeds.skips_in_a_row >= MOST_SKIPS_IN_A_ROW,
        skipped: seeds.skipped,
    }
}

/// The seed sequence the workers share.
struct Seeds {
    next: u64,
    started: u64,
    skips_in_a_row: u64,
    skipped: Vec<Skipped>,
}

/// The next seed's world to play, skipping those real time cannot play; `None` once the plan
/// says stop.
fn next_world(
    seeds: &Mutex<Seeds>,
    plan: &Plan,
    report: &(dyn Fn(Event<'_>) + Sync),
) -> Option<(u64, Drawn)> {
    let mut seeds = seeds.lock().expect("no worker panics");
    loop {
        let over = match plan.stop {
            Stop::Worlds(n) => seeds.started >= n,
            Stop::At(at) => Instant::now() >= at,
        };
        if over || seeds.skips_in_a_row >= MOST_SKIPS_IN_A_ROW {
            return None;
        }
        let seed = seeds.next;
        seeds.next += 1;
        match world(seed, plan.size, plan.max_duration) {
            Ok(drawn) => {
                seeds.started += 1;
                seeds.skips_in_a_row = 0;
                report(Event::Started(seed, &drawn));
                return Some((seed, drawn));
            }
            Err(why) => {
                let skipped = Skipped { seed, why };
                report(Event::Skipped(&skipped));
                seeds.skipped.push(skipped);
                seeds.skips_in_a_row += 1;
            }
        }
    }
}

/// Plays the world of `seed` under `<prefix>/explore-<seed>`; a panic is caught and reported as
/// the world's outcome, never ending the run.
fn play(seed: u64, drawn: Drawn, plan: &Plan) -> Played {
    let name = format!("explore-{seed}");
    let world = Arc::new(Loaded {
        path: PathBuf::from(format!("{name}.toml")),
        name: name.clone(),
        scenario: drawn.scenario,
    });
    let prefix = format!("{}/{name}", plan.prefix.trim_end_matches('/'));
    let started = Instant::now();
    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
        suite::play(world.clone(), Target::etcd(plan.endpoints.clone()), &prefix)
    }))
    .map_err(|payload| crate::explore::panic_message(payload.as_ref()));
    Played {
        seed,
        world,
        left_out: drawn.left_out,
        took: started.elapsed(),
        run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_world_is_the_etcd_sim_world_of_its_seed_less_what_real_time_cannot_play() {
        // Same seed, same world: every field but the left-out faults and the description's
        // note is the simulator's draw, so the world can be set beside its etcd-sim twin.
        let long = Duration::from_secs(3_600);
        let mut left_out = 0;
        for seed in 1..=300 {
            let drawn = draw(seed, BackendKind::EtcdSim, Size::Small);
            let real = world(seed, Size::Small, long).expect("an hour fits every small world");
            let (real, left) = (real.scenario, real.left_out);
            let mut expected = drawn.clone();
            expected
                .faults
                .retain(|f| suite::plays_on_a_given_cluster(f.fault.get_ref()));
            assert_eq!(
                left,
                drawn.faults.len() - expected.faults.len(),
                "seed {seed}"
            );
            left_out += left;
            assert!(
                real.description.starts_with(&drawn.description),
                "seed {seed}"
            );
            let noted = real.description.contains("left out");
            assert_eq!(
                noted,
                drawn.faults.len() != expected.faults.len(),
                "seed {seed}"
            );
            expected.description = real.description.clone();
            assert!(crate::explore::toml::same(&real, &expected), "seed {seed}");
        }
        assert!(left_out > 0, "some world in 300 drew a backend restart");
    }

    #[test]
    fn a_world_longer_than_the_limit_is_skipped_with_its_length() {
        // The limit is the real-time suite's: a world that lasts longer is refused, saying so.
        let why = world(1, Size::Small, Duration::from_secs(1)).expect_err("longer than 1 s");
        assert!(why.contains("lasts"), "{why}");
    }
}

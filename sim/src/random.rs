//! Random fault plans drawn from a seed.
//!
//! The same scenario and seed always draw the same plan: the splitmix64 generator
//! ([`SplitMix`], which lives in [`crate::splitmix`] so the real build has it too) seeded with
//! the seed, faults spaced by `every` on average (uniformly between half and one and a half times
//! it), kinds chosen from the scenario's list, targets split between the leader and a random
//! node, durations up to `max_duration`. The plan is data ([`Planned`]); the injector plays it.

use std::time::Duration;

use jiff::SignedDuration;

use crate::fault::{Direction, FaultKind, Planned};
use crate::scenario::{fault_kind, RandomPlan, Scenario};

pub use crate::splitmix::SplitMix;

/// The scenario's explicit faults plus those its random plan draws for `seed`, in start order.
pub fn fault_plan(scenario: &Scenario, seed: u64) -> Vec<Planned> {
    let mut plan: Vec<Planned> = scenario
        .faults
        .iter()
        .map(|f| Planned {
            kind: fault_kind(f).expect("validated on load"),
            target: f
                .node
                .as_ref()
                .map_or("leader".to_string(), |n| n.get_ref().clone()),
            at: f.at.unsigned_abs(),
            duration: f.duration.map(|d| d.unsigned_abs()),
        })
        .collect();
    if let Some(random) = &scenario.random {
        plan.extend(draw(
            random,
            scenario.nodes,
            scenario.duration.unsigned_abs(),
            seed,
        ));
    }
    plan.sort_by_key(|p| p.at);
    plan
}

/// Draws the random faults of a run of `duration` with `nodes` nodes.
pub fn draw(plan: &RandomPlan, nodes: usize, duration: Duration, seed: u64) -> Vec<Planned> {
    let mut rng = SplitMix::new(seed);
    let every = plan.every.unsigned_abs().as_millis() as u64;
    let max = plan.max_duration.unsigned_abs().as_millis().max(1_000) as u64;
    let mut at = 0u64;
    let mut out = Vec::new();
    loop {
        at += rng.range(every / 2, every * 3 / 2 + 1);
        if Duration::from_millis(at) >= duration {
            return out;
        }
        let kind_name = &plan.kinds[rng.range(0, plan.kinds.len() as u64) as usize];
        let kind = kind(kind_name, &mut rng);
        let target = if rng.range(0, 2) == 0 {
            "leader".to_string()
        } else {
            format!("node-{}", rng.range(0, nodes as u64))
        };
        let lasting = Duration::from_millis(rng.range(1_000, max + 1));
        let duration = match kind {
            FaultKind::AmbiguousCommit { .. } => None,
            _ => Some(lasting),
        };
        out.push(Planned {
            kind,
            target,
            at: Duration::from_millis(at),
            duration,
        });
    }
}

fn kind(name: &str, rng: &mut SplitMix) -> FaultKind {
    match name {
        "crash" => FaultKind::Crash,
        "stop" => FaultKind::Stop { upgrade_to: None },
        "pause" => FaultKind::Pause,
        "partition" => FaultKind::Partition {
            direction: [
                Direction::Both,
                Direction::ToBackend,
                Direction::FromBackend,
            ][rng.range(0, 3) as usize],
        },
        "clock_offset" => {
            let secs = rng.range(1, 61) as i64;
            let sign = if rng.range(0, 2) == 0 { 1 } else { -1 };
            FaultKind::ClockOffset {
                offset: SignedDuration::from_secs(sign * secs),
            }
        }
        "backend_latency" => FaultKind::BackendLatency {
            latency: SignedDuration::from_millis(rng.range(50, 1_500) as i64),
        },
        "ambiguous_commit" => FaultKind::AmbiguousCommit {
            count: rng.range(1, 4) as u32,
        },
        "backend_restart" => FaultKind::BackendRestart,
        other => unreachable!("validated on load: {other}"),
    }
}

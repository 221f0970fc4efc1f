//! Greedy shrinking of a failing world to a small one that still shows the same violation kind.
//!
//! From the current world, [`candidates`] proposes smaller worlds in a fixed order: half the
//! faults gone, one fault gone, one job entry gone, a job's replicas halved, one node fewer, the
//! faults moved earlier, one fault's duration halved, one job policy back to its default, the
//! election scope back to `group`. Every candidate gets the timing a drawn world gets (its tail
//! and checked window recomputed: [`super::timing::fit`]), so shortening the run keeps the
//! fault-free tail. The first candidate that runs (same seed, same backend) and shows the same
//! kind — for a panic, the same message — becomes the current world, and the search starts over;
//! it stops when no candidate does (a fixpoint) or after `budget` runs. The proptest shrinker for
//! fault plans (`crate::shrink`) is separate and unchanged.

use cronfence::{Delivery, ElectionScope, OverlapPolicy};
use jiff::SignedDuration;
use toml::Spanned;

use super::outcome::{self, PANIC};
use super::toml::{round_trips, same, to_toml};
use super::{timing, Size};
use crate::scenario::{BackendKind, Scenario};

/// A shrunk world and how it was reached.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest world found that still shows the kind.
    pub scenario: Scenario,
    /// Worlds run while shrinking.
    pub runs: usize,
    /// The steps taken, in order (`drop fault 3`, `nodes 5 → 4`, ...).
    pub steps: Vec<String>,
}

/// What a shrunk world must keep showing.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    /// The violation kind, `checker/kind` or `panic`.
    pub kind: &'a str,
    /// For a panic: its message.
    pub panic: Option<&'a str>,
}

/// Shrinks `world` (drawn at `size`) while it keeps showing `target` on `backend` with `seed`,
/// running at most `budget` worlds.
pub fn shrink(
    world: &Scenario,
    backend: BackendKind,
    seed: u64,
    size: Size,
    target: &Target<'_>,
    budget: usize,
) -> Shrunk {
    let mut current = world.clone();
    let (mut runs, mut steps) = (0, Vec::new());
    'search: loop {
        for (step, candidate) in candidates(&current, size) {
            if runs >= budget {
                break 'search;
            }
            if !round_trips(&candidate, &to_toml(&candidate, "")) {
                continue;
            }
            runs += 1;
            if shows(&outcome::run(&candidate, backend, seed), target) {
                current = candidate;
                steps.push(step);
                continue 'search;
            }
        }
        break;
    }
    Shrunk {
        scenario: current,
        runs,
        steps,
    }
}

/// True when `outcome` shows `target`'s kind (and, for a panic, its message).
pub fn shows(outcome: &outcome::Outcome, target: &Target<'_>) -> bool {
    outcome.kinds.contains(target.kind)
        && (target.kind != PANIC || outcome.panic.as_deref() == target.panic)
}

/// Smaller worlds than `s`, most promising first, each with its timing refitted.
pub fn candidates(s: &Scenario, size: Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    let mut propose = |step: String, change: &dyn Fn(&mut Scenario)| {
        let mut c = s.clone();
        change(&mut c);
        timing::fit(&mut c, size);
        if !same(&c, s) {
            out.push((step, c));
        }
    };
    let n = s.faults.len();
    if n >= 4 {
        propose(format!("drop faults 1-{}", n / 2), &|c| {
            drop(c.faults.drain(..n / 2))
        });
        propose(format!("drop faults {}-{n}", n / 2 + 1), &|c| {
            c.faults.truncate(n / 2)
        });
    }
    for i in (0..n).rev() {
        propose(format!("drop fault {}", i + 1), &|c| {
            drop(c.faults.remove(i))
        });
    }
    for i in (0..s.jobs.len()).rev().filter(|_| s.jobs.len() > 1) {
        propose(format!("drop job {}", s.jobs[i].id), &|c| {
            drop(c.jobs.remove(i))
        });
    }
    for (i, job) in s.jobs.iter().enumerate() {
        if let Some(count) = job.count {
            propose(
                format!("job {} count {count} → {}", job.id, count / 2),
                &|c| c.jobs[i].count = (count / 2 > 1).then_some(count / 2),
            );
        }
    }
    if s.nodes > 1 {
        propose(format!("nodes {} → {}", s.nodes, s.nodes - 1), &fewer_nodes);
    }
    if let Some(first) = s
        .faults
        .iter()
        .map(|f| f.at)
        .min()
        .filter(|a| a.is_positive())
    {
        propose(format!("faults {first:#} earlier"), &|c| {
            c.faults.iter_mut().for_each(|f| f.at -= first)
        });
    }
    for i in 0..n {
        if let Some(d) = s.faults[i]
            .duration
            .filter(|d| *d >= SignedDuration::from_millis(200))
        {
            let half = SignedDuration::from_millis((d.as_millis() / 2) as i64);
            propose(format!("fault {} lasts {half:#}", i + 1), &|c| {
                c.faults[i].duration = Some(half)
            });
        }
    }
    for i in 0..s.jobs.len() {
        for (what, simplify) in SIMPLER {
            propose(format!("job {}: {what}", s.jobs[i].id), &|c| {
                simplify(&mut c.jobs[i])
            });
        }
    }
    propose("scope group".into(), &|c| {
        c.node.scope = ElectionScope::Group
    });
    out
}

type Simplify = fn(&mut crate::scenario::JobEntry);

/// One job policy back to its default at a time.
const SIMPLER: &[(&str, Simplify)] = &[
    ("catch_up all", |j| {
        j.catch_up = Spanned::new(0..0, "all".into());
        j.max_catch_up = 100;
    }),
    ("no starting_deadline", |j| j.starting_deadline = None),
    ("overlap forbid", |j| j.overlap = OverlapPolicy::Forbid),
    ("at_most_once", |j| j.delivery = Delivery::AtMostOnce),
    ("run_time 10ms", |j| {
        j.run_time = SignedDuration::from_millis(10)
    }),
    ("no anchor", |j| j.anchor = None),
    ("default DST policy", |j| {
        j.dst_fold = None;
        j.dst_gap = None;
    }),
];

/// One node fewer: faults aimed at the last node move to the one before it.
fn fewer_nodes(c: &mut Scenario) {
    c.nodes -= 1;
    let gone = format!("node-{}", c.nodes);
    let kept = format!("node-{}", c.nodes.saturating_sub(1));
    for f in &mut c.faults {
        if f.node.as_ref().is_some_and(|n| *n.get_ref() == gone) {
            f.node = Some(Spanned::new(0..0, kept.clone()));
        }
    }
}

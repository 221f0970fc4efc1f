//! The real-time suite: the scenario files a [`RealWorld`] can play, run at once against a given
//! etcd cluster, turned into summary rows (backend `etcd`) for the regression check.
//!
//! A scenario can run in real time when its faults are crashes and pauses of nodes (a real world
//! cannot partition, skew clocks or slow the backend), it has no random plan, no go-micro model
//! and no test-only variant, and it lasts at most `max_duration`. Its start is moved to now (so
//! interval jobs tick from now) and its keys go under a prefix of their own, so runs never meet
//! earlier ones' registrations. There is one run per scenario ("seed" 1): real time is not
//! reproducible, which is why the regression check has tolerances.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::RealWorld;
use crate::check::Verdict;
use crate::history::History;
use crate::report::summary::{Row, SeedOutcome};
use crate::scenario::{fault_kind, Loaded, Scenario};

/// Why `scenario` cannot run in real time, if it cannot.
pub fn unplayable(scenario: &Scenario, max_duration: Duration) -> Option<String> {
    if scenario.duration.unsigned_abs() > max_duration {
        return Some(format!(
            "lasts {:#} (the real-time limit is {:?})",
            scenario.duration, max_duration
        ));
    }
    if scenario.go_micro.is_some() {
        return Some("runs the go-micro model, which is simulator-only".into());
    }
    if scenario.random.is_some() {
        return Some("draws random faults the real world cannot all play".into());
    }
    let v = &scenario.variant;
    if !(v.fencing && v.catch_up && v.claim_before_run) {
        return Some("breaks cronfence on purpose with a test-only variant".into());
    }
    for fault in &scenario.faults {
        let name = fault.fault.get_ref();
        if name != "crash" && name != "pause" {
            return Some(format!(
                "has the fault `{name}`; real time plays crash and pause only"
            ));
        }
    }
    None
}

/// One scenario's real-time run.
pub struct RealRun {
    /// The scenario.
    pub loaded: Arc<Loaded>,
    /// Everything that happened.
    pub history: History,
    /// What the checkers found.
    pub verdict: Verdict,
    /// Whether that is what the scenario expects.
    pub judged: Result<(), String>,
}

impl RealRun {
    /// The summary row (backend `etcd`, one seed).
    pub fn row(&self) -> Row {
        Row::new(
            &self.loaded,
            "etcd",
            &[SeedOutcome {
                seed: 1,
                verdict: &self.verdict,
                judged: &self.judged,
            }],
        )
    }
}

/// Runs every scenario at once against `endpoints`, keys under `prefix/<scenario>`.
pub fn run(scenarios: &[Arc<Loaded>], endpoints: &[String], prefix: &str) -> Vec<RealRun> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|loaded| {
                let prefix = format!("{prefix}/{}", loaded.name);
                scope.spawn(move || play(loaded.clone(), endpoints.to_vec(), &prefix))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// A fault of the plan, due `at` after the start.
struct Step {
    at: Duration,
    crash: bool,
    target: Option<String>,
    duration: Option<Duration>,
}

/// Plays one scenario in real time.
fn play(loaded: Arc<Loaded>, endpoints: Vec<String>, prefix: &str) -> RealRun {
    let mut scenario = loaded.scenario.clone();
    scenario.start = Timestamp::now();
    let jobs = scenario.job_specs();
    let mut world = RealWorld::new(
        scenario.node_config("node"),
        prefix,
        jobs.iter()
            .map(|(id, (spec, _))| (id.clone(), spec.clone()))
            .collect(),
    );
    world.run_times(
        jobs.iter()
            .map(|(id, (_, t))| (id.clone(), t.unsigned_abs()))
            .collect(),
    );
    let started = std::time::Instant::now();
    for i in 0..scenario.nodes {
        world.start(&format!("node-{i}"), endpoints.clone());
    }
    let mut steps: Vec<Step> = scenario
        .faults
        .iter()
        .map(|f| Step {
            at: f.at.unsigned_abs(),
            crash: matches!(fault_kind(f), Ok(crate::fault::FaultKind::Crash)),
            target: f.node.as_ref().map(|n| n.get_ref().clone()),
            duration: f.duration.map(|d| d.unsigned_abs()),
        })
        .collect();
    steps.sort_by_key(|s| s.at);
    let mut restarts: BTreeMap<Duration, Vec<String>> = BTreeMap::new();
    let end = scenario.duration.unsigned_abs();
    loop {
        let next_fault = steps.first().map(|s| s.at);
        let next_restart = restarts.keys().next().copied();
        let Some(due) = [next_fault, next_restart].into_iter().flatten().min() else {
            break;
        };
        if due > end {
            break;
        }
        std::thread::sleep(due.saturating_sub(started.elapsed()));
        if next_restart == Some(due) {
            for name in restarts.remove(&due).unwrap_or_default() {
                world.restart(&name);
            }
            continue;
        }
        let step = steps.remove(0);
        let name = resolve(&world, step.target.as_deref(), scenario.nodes);
        if step.crash {
            world.crash(&name);
            if let Some(d) = step.duration {
                restarts.entry(due + d).or_default().push(name);
            }
        } else {
            world.pause(&name, step.duration.unwrap_or(end));
        }
    }
    std::thread::sleep(end.saturating_sub(started.elapsed()));
    let (history, verdict) = world.finish(
        scenario.check.warmup.unsigned_abs(),
        scenario.check.cooldown.unsigned_abs(),
    );
    let judged = crate::expect::judge(&scenario, &verdict, &history);
    RealRun {
        loaded,
        history,
        verdict,
        judged,
    }
}

/// A fault's target: a node by name, the current leader (`leader`, or none), or a node that is
/// not the leader (`follower`).
fn resolve(world: &RealWorld, target: Option<&str>, nodes: usize) -> String {
    let leader = world.leader().unwrap_or_else(|| "node-0".into());
    match target {
        None | Some("leader") => leader,
        Some("follower") => (0..nodes)
            .map(|i| format!("node-{i}"))
            .find(|n| *n != leader)
            .unwrap_or(leader),
        Some(name) => name.to_string(),
    }
}

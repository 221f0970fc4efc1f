//! Playing a scenario's faults into a [`RealWorld`] in real time: each fault at its instant, on
//! the nodes its target names then (as the simulator's injector resolves them: `leader`,
//! `follower`, `first`, `majority`, `all` or a node; a member fault on the etcd member it names,
//! `etcd-<index>`), and undone after its duration. Faults that
//! overlap on one node count: a node crashed twice restarts when the last crash ends, and each
//! way a partition cuts is held until the last partition cutting it ends, as in the simulator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::RealWorld;
use crate::fault::{Direction, FaultKind};
use crate::scenario::Scenario;

/// A fault starting (or, `end`, ending) `at` after the start.
struct Step {
    at: Duration,
    kind: FaultKind,
    end: bool,
    /// The target as written (a start), or the node it hit (an end).
    target: Option<String>,
    duration: Option<Duration>,
}

/// A scenario's faults, to play.
pub(super) struct Playback {
    steps: Vec<Step>,
    nodes: usize,
    /// How many faults of a kind that must not be applied twice (crash, stop, partition, a
    /// backend switch) are in force per (kind, node).
    in_force: BTreeMap<(&'static str, String), u32>,
}

impl Playback {
    /// The faults of `scenario` as written: its explicit ones and those its random plan draws
    /// for seed 1 (a real-time run is "seed 1"), scaled by its `real_time_scale`
    /// ([`crate::scenario::scale::plan`]).
    pub(super) fn new(scenario: &Scenario) -> Self {
        let end = crate::scenario::scale::for_real_time(scenario)
            .duration
            .unsigned_abs();
        let steps = crate::scenario::scale::plan(scenario, 1)
            .into_iter()
            .map(|planned| {
                // A pause with no end lasts the rest of the run.
                let duration = match (&planned.kind, planned.duration) {
                    (FaultKind::Pause, None) => Some(end.saturating_sub(planned.at)),
                    (_, d) => d,
                };
                Step {
                    at: planned.at,
                    kind: planned.kind,
                    end: false,
                    target: Some(planned.target),
                    duration,
                }
            })
            .collect();
        Playback {
            steps,
            nodes: scenario.nodes,
            in_force: BTreeMap::new(),
        }
    }

    /// Plays every fault due before `end` (after `started`), in order, sleeping between them.
    pub(super) fn play(mut self, world: &mut RealWorld, started: Instant, end: Duration) {
        loop {
            self.steps.sort_by_key(|s| (s.at, !s.end));
            if self.steps.first().is_none_or(|s| s.at > end) {
                return;
            }
            let step = self.steps.remove(0);
            std::thread::sleep(step.at.saturating_sub(started.elapsed()));
            let names = match step.end {
                true => step.target.clone().into_iter().collect(),
                false => self.resolve(world, &step),
            };
            for name in names {
                if let Some(undo) = self.play_step(world, &step, &name) {
                    self.steps.push(undo);
                }
            }
        }
    }

    /// The nodes `step`'s target names now (`etcd-<index>` for the member a member fault
    /// names).
    fn resolve(&self, world: &RealWorld, step: &Step) -> Vec<String> {
        if let Some(declared) = step.kind.member() {
            let faulted = self
                .in_force
                .iter()
                .filter(|((kind, _), count)| kind.starts_with("member_") && **count > 0)
                .filter_map(|((_, name), _)| name.strip_prefix("etcd-")?.parse().ok())
                .collect();
            return vec![format!("etcd-{}", world.member_index(declared, &faulted))];
        }
        if step.kind.hits_backend() {
            return vec!["backend".into()];
        }
        let names: Vec<String> = (0..self.nodes).map(|i| format!("node-{i}")).collect();
        let leader = world.leader_up().unwrap_or_else(|| "node-0".into());
        match step.target.as_deref() {
            None | Some("leader") => vec![leader],
            Some("follower") => {
                let up = names.iter().find(|n| **n != leader && !world.is_down(n));
                vec![up.cloned().unwrap_or(leader)]
            }
            Some("first") => vec![world.first_to_campaign().unwrap_or_else(|| "node-0".into())],
            Some("majority") => {
                let mut out = vec![leader.clone()];
                out.extend(names.iter().filter(|n| **n != leader).cloned());
                out.truncate(self.nodes / 2 + 1);
                out
            }
            Some("all") => names,
            Some(name) => vec![name.to_string()],
        }
    }

    /// Plays `step` on node `name`; returns the step that ends it, if it lasts.
    fn play_step(&mut self, world: &mut RealWorld, step: &Step, name: &str) -> Option<Step> {
        let (kind, duration) = (step.kind.clone(), step.duration);
        let on = !step.end;
        if let FaultKind::Partition { direction } = kind {
            self.partition(world, name, direction, on, duration);
            return undo(step, kind, name, on, duration);
        }
        // Switches count: only the first start and the last end act.
        let switch = match &kind {
            FaultKind::Crash => Some("crash"),
            FaultKind::Stop { .. } => Some("stop"),
            FaultKind::BackendTimeout => Some("backend_timeout"),
            FaultKind::BackendRestart => Some("backend_restart"),
            k if k.is_member() => Some(k.name()),
            _ => None,
        };
        let acts = match switch {
            None => true,
            Some(switch) => {
                let count = self.in_force.entry((switch, name.to_string())).or_default();
                let before = *count;
                *count = if on {
                    before + 1
                } else {
                    before.saturating_sub(1)
                };
                (on && before == 0) || (!on && before == 1)
            }
        };
        if acts {
            match &kind {
                FaultKind::Crash if on => world.crash(name),
                FaultKind::Crash => world.restart(name),
                // A pause undoes itself: the node's thread sleeps through it.
                FaultKind::Pause => {
                    world.pause(name, duration.unwrap_or_default());
                    return None;
                }
                FaultKind::Stop { upgrade_to } if on => world.stop(name, *upgrade_to, duration),
                FaultKind::Stop { upgrade_to } => world.start_again(name, *upgrade_to),
                FaultKind::BackendRestart => world.backend_restart(on, duration),
                k if k.is_member() => {
                    let member = name.strip_prefix("etcd-").and_then(|m| m.parse().ok());
                    let member = member.expect("member faults resolve to etcd-<index>");
                    world.member_fault(k, member, on, duration)
                }
                k if k.is_clock() => world.clock_fault(name, kind.clone(), on, duration),
                FaultKind::DelayedWrite { .. } => {
                    world.delayed_write(name, kind.clone(), on, duration)
                }
                k if k.hits_backend() => world.backend_fault(kind.clone(), on, duration),
                other => unreachable!("unplayable faults are refused first: {}", other.name()),
            }
        }
        undo(step, kind, name, on, duration)
    }

    /// A partition of `name` starting (`on`) or ending, as the simulator's injector plays one:
    /// recorded as declared, each way it cuts counted on its own, so a way is held from the
    /// first partition that cuts it until the last one ends (a `from_backend` partition ending
    /// inside a `both` one releases nothing the `both` still holds, and lets the other way go
    /// only with the `both`).
    fn partition(
        &mut self,
        world: &RealWorld,
        name: &str,
        direction: Direction,
        on: bool,
        duration: Option<Duration>,
    ) {
        world.record_partition(name, direction, on, duration);
        let ways = match direction {
            Direction::Both => &[
                ("to_backend", Direction::ToBackend),
                ("from_backend", Direction::FromBackend),
            ][..],
            Direction::ToBackend => &[("to_backend", Direction::ToBackend)][..],
            Direction::FromBackend => &[("from_backend", Direction::FromBackend)][..],
        };
        for &(way, held) in ways {
            let count = self.in_force.entry((way, name.to_string())).or_default();
            let before = *count;
            *count = if on {
                before + 1
            } else {
                before.saturating_sub(1)
            };
            if (on && before == 0) || (!on && before == 1) {
                world.hold(name, held, on);
            }
        }
    }
}

/// The step that ends `step` on `name`, if it started now and lasts.
fn undo(
    step: &Step,
    kind: FaultKind,
    name: &str,
    on: bool,
    duration: Option<Duration>,
) -> Option<Step> {
    let undo = on.then_some(duration).flatten()?;
    Some(Step {
        at: step.at + undo,
        kind,
        end: true,
        target: Some(name.to_string()),
        duration: None,
    })
}

//! Timeliness: how late ticks started and how long failovers took — a measurement, never a
//! verdict.
//!
//! Lateness is measured on the *first* start of each tick of a defined job scheduled inside the
//! checked window: the start's true time minus the tick's scheduled instant (negative when a
//! node's clock runs ahead). Percentiles use the nearest-rank method. Which wins are failovers,
//! and when the old leadership ended, is [`failover`]'s to decide; each failover is measured
//! twice: the takeover (old leadership lost → new leader won) and the first run (old leadership
//! lost → the new leader's first start, which for a daily job may be a day later). All times are
//! milliseconds of true time since the world started. This module measures only; whether a late
//! or missing tick breaks a guarantee is for the checkers.

mod failover;

use std::collections::BTreeSet;

use cronfence::{ElectionName, JobId, NodeEvent};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::CheckInput;

/// A first start later than this (in ms) counts as delayed in [`Failover::ticks_delayed`].
pub const DELAYED_AFTER_MS: f64 = 1_000.0;

/// Lateness and failover measurements of one history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeliness {
    /// How many ticks were measured: first starts of defined jobs' ticks inside the window
    /// (re-runs and duplicates are not counted again).
    pub starts: u64,
    /// Median lateness of those first starts, in ms (0 when `starts` is 0).
    pub lateness_p50_ms: f64,
    /// 99th-percentile lateness, in ms, nearest rank (0 when `starts` is 0).
    pub lateness_p99_ms: f64,
    /// The largest lateness, in ms (0 when `starts` is 0).
    pub lateness_max_ms: f64,
    /// Every failover, in the order the new leaders won.
    pub failovers: Vec<Failover>,
}

/// One failover: a new leadership in an election whose previous leadership ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failover {
    /// The election.
    pub election: ElectionName,
    /// The previous winner of the election (it may be the new leader itself, re-elected).
    pub old_leader: Option<String>,
    /// What ended the old leadership: `crash`, `pause`, `partition`, `revoked`, `resigned`,
    /// `clock_behind`, or `unknown` when nothing recorded before the new win shows it (then
    /// `lost_at_ms` is the new win's time).
    pub lost_by: String,
    /// When the old leadership was lost, ms since the world started.
    pub lost_at_ms: f64,
    /// The new leader.
    pub new_leader: String,
    /// The new leadership's token.
    pub token: u64,
    /// When the new leader won, ms since the world started.
    pub won_at_ms: f64,
    /// `won_at_ms - lost_at_ms`: how long the election had no leader. The headline figure.
    pub takeover_ms: f64,
    /// The new leader's first start under this leadership (any tick, any job), if it started one.
    pub first_start_ms: Option<f64>,
    /// `first_start_ms - lost_at_ms`: how long no leader started anything; as long as the
    /// schedule's next tick when nothing was due, so it is not the takeover.
    pub first_run_ms: Option<f64>,
    /// Measured ticks first started under this leadership more than [`DELAYED_AFTER_MS`] late.
    pub ticks_delayed: u64,
}

/// The first start of one measured tick.
struct FirstStart<'h> {
    node: &'h str,
    token: u64,
    lateness_ms: f64,
}

/// Measures the history.
pub(super) fn measure(input: CheckInput<'_>) -> Timeliness {
    let firsts = first_starts(input);
    let mut lateness: Vec<f64> = firsts.iter().map(|f| f.lateness_ms).collect();
    lateness.sort_by(f64::total_cmp);
    Timeliness {
        starts: lateness.len() as u64,
        lateness_p50_ms: nearest_rank(&lateness, 50),
        lateness_p99_ms: nearest_rank(&lateness, 99),
        lateness_max_ms: lateness.last().copied().unwrap_or(0.0),
        failovers: failover::failovers(&input.history.records, &firsts),
    }
}

/// The measurements of a spooled history ([`crate::spool`]), taken in one shard at a time:
/// each first start's lateness, counted by the microsecond; per failover of each shard, its first
/// start and delayed ticks; and where each leadership showed life (a claim or a start of any
/// job), as the places between the records that name no job, which decide whether a leadership
/// outlived an outage (`failover::failovers`).
#[derive(Default)]
pub(super) struct SpooledMeasure {
    lateness_us: std::collections::BTreeMap<i64, u64>,
    max_ms: Option<f64>,
    firsts: std::collections::BTreeMap<(ElectionName, String, u64), (Option<f64>, u64)>,
    /// (place, node, token): in place order, as the marks are laid.
    alive: std::collections::BTreeSet<(usize, String, u64)>,
}

impl SpooledMeasure {
    /// Takes in one shard's history; `kept` is the spooled history's records that name no job.
    pub(super) fn add(&mut self, input: CheckInput<'_>, kept: &[crate::history::Record]) {
        let firsts = first_starts(input);
        for f in &firsts {
            *self
                .lateness_us
                .entry((f.lateness_ms * 1e3).round() as i64)
                .or_insert(0) += 1;
            self.max_ms = Some(self.max_ms.map_or(f.lateness_ms, |m| m.max(f.lateness_ms)));
        }
        for f in failover::failovers(&input.history.records, &firsts) {
            let key = (f.election, f.new_leader, f.token);
            let entry = self.firsts.entry(key).or_insert((None, 0));
            if f.first_start_ms
                .is_some_and(|t| entry.0.is_none_or(|e| t < e))
            {
                entry.0 = f.first_start_ms;
            }
            entry.1 += f.ticks_delayed;
        }
        for (record, event) in input.history.node_events() {
            let token = match event {
                NodeEvent::TickClaimed { token, .. } | NodeEvent::TickStarted { token, .. } => {
                    token
                }
                _ => continue,
            };
            let place = kept.partition_point(|k| k.seq < record.seq);
            self.alive.insert((place, record.node.clone(), token.0));
        }
    }

    /// The measurements of the whole history: its failovers judged on the records that name no
    /// job with a mark of life at each place a leadership showed one, each with the earliest
    /// first start and the sum of the delayed ticks of the shards.
    pub(super) fn finish(self, kept: &[crate::history::Record]) -> Timeliness {
        let mut marked = Vec::with_capacity(kept.len() + self.alive.len());
        let mut alive = self.alive.iter().peekable();
        let life = |(_, node, token): &(usize, String, u64), at: &crate::history::Record| {
            crate::history::Record {
                node: node.clone(),
                what: crate::history::What::Node(NodeEvent::TickClaimed {
                    job: JobId::new("alive").expect("a valid id"),
                    tick: at.true_time,
                    token: cronfence::FencingToken(*token),
                    attempt: 1,
                }),
                ..at.clone()
            }
        };
        for (place, record) in kept.iter().enumerate() {
            while let Some(mark) = alive.next_if(|(p, _, _)| *p == place) {
                marked.push(life(mark, record));
            }
            marked.push(record.clone());
        }
        if let Some(last) = kept.last() {
            for mark in alive {
                marked.push(life(mark, last));
            }
        }
        let mut failovers = failover::failovers(&marked, &[]);
        for f in &mut failovers {
            let key = (f.election.clone(), f.new_leader.clone(), f.token);
            let (first, delayed) = self.firsts.get(&key).copied().unwrap_or((None, 0));
            // As `failover` computes it: from the instants in ns (a ms figure is ns / 1e6).
            let ns = |ms: f64| (ms * 1e6).round() as u64;
            f.first_start_ms = first;
            f.first_run_ms = first.map(|t| ns(t).saturating_sub(ns(f.lost_at_ms)) as f64 / 1e6);
            f.ticks_delayed = delayed;
        }
        let starts: u64 = self.lateness_us.values().sum();
        let at_rank = |p: u64| {
            let rank = (p * starts).div_ceil(100).max(1);
            let mut seen = 0;
            self.lateness_us
                .iter()
                .find(|(_, n)| {
                    seen += **n;
                    seen >= rank
                })
                .map_or(0.0, |(us, _)| *us as f64 / 1e3)
        };
        Timeliness {
            starts,
            lateness_p50_ms: at_rank(50),
            lateness_p99_ms: at_rank(99),
            lateness_max_ms: self.max_ms.unwrap_or(0.0),
            failovers,
        }
    }
}

/// The value at percentile `p` of `sorted` by nearest rank; 0 for no values.
pub(crate) fn nearest_rank(sorted: &[f64], p: usize) -> f64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// The first start of every tick of a defined job inside the window, in history order.
fn first_starts(input: CheckInput<'_>) -> Vec<FirstStart<'_>> {
    let (from, to) = input.window;
    let mut seen: BTreeSet<(&JobId, Timestamp)> = BTreeSet::new();
    let mut firsts = Vec::new();
    for (record, event) in input.history.node_events() {
        let NodeEvent::TickStarted {
            job, tick, token, ..
        } = event
        else {
            continue;
        };
        if !input.jobs.contains_key(job) || *tick < from || *tick > to {
            continue;
        }
        if seen.insert((job, *tick)) {
            let late_ns = record.true_time.as_nanosecond() - tick.as_nanosecond();
            firsts.push(FirstStart {
                node: &record.node,
                token: token.0,
                lateness_ms: late_ns as f64 / 1e6,
            });
        }
    }
    firsts
}

#[cfg(test)]
mod tests {
    use cronfence::Delivery;

    use super::*;
    use crate::check::testkit::*;
    use crate::history::History;

    fn measured(history: &History, from: i64, to: i64) -> Timeliness {
        let jobs = jobs("j", every_10s(Delivery::AtMostOnce));
        measure(input(history, &jobs, from, to))
    }

    #[test]
    fn lateness_counts_each_ticks_first_start_by_nearest_rank() {
        // Five first starts, -500 (a node whose clock runs ahead), 0, 100, 300 and 2000 ms late;
        // the re-run of tick 20 and tick 50 (outside the window) are not measured.
        let history = Builder::new()
            .node(0, "a", started("j", 0, 1, 1))
            .node(10_100, "a", started("j", 10, 1, 1))
            .node(20_300, "a", started("j", 20, 1, 1))
            .node(25_000, "b", started("j", 20, 2, 2))
            .node(29_500, "a", started("j", 30, 1, 1))
            .node(42_000, "a", started("j", 40, 1, 1))
            .node(50_000, "a", started("j", 50, 1, 1))
            .build();
        let t = measured(&history, 0, 40);
        assert_eq!(t.starts, 5);
        assert_eq!(t.lateness_p50_ms, 100.0);
        assert_eq!(t.lateness_p99_ms, 2_000.0);
        assert_eq!(t.lateness_max_ms, 2_000.0);
        assert!(t.failovers.is_empty());
    }

    #[test]
    fn no_starts_measure_as_zero() {
        // An empty history has nothing to measure; zeros, not NaN, keep reports comparable.
        let t = measured(&Builder::new().build(), 0, 60);
        assert_eq!(t, Timeliness::default());
    }
}

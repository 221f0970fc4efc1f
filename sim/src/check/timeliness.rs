//! Timeliness: how late ticks started and how long failovers took — a measurement, never a
//! verdict.
//!
//! Lateness is measured on the *first* start of each tick of a defined job scheduled inside the
//! checked window: the start's true time minus the tick's scheduled instant (negative when a
//! node's clock runs ahead). Percentiles use the nearest-rank method. A failover is every win in
//! an election after its first; it is measured from the moment the previous leader was lost
//! (crash, pause, partition, revocation or resignation, whichever was recorded first) to the new
//! leader's first start. All times are milliseconds of true time since the world started. This
//! module measures only; whether a late or missing tick breaks a guarantee is for the checkers.

use std::collections::{BTreeMap, BTreeSet};

use cronfence::{ElectionName, JobId, NodeEvent};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::CheckInput;
use crate::fault::FaultKind;
use crate::history::{FaultRecord, Record, What};

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
    /// Every leadership change, in the order the new leaders won.
    pub failovers: Vec<Failover>,
}

/// One leadership change in one election.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failover {
    /// The election.
    pub election: ElectionName,
    /// The previous winner of the election (it may be the new leader itself, re-elected).
    pub old_leader: Option<String>,
    /// What ended the old leadership: `crash`, `pause`, `partition`, `revoked`, `resigned`, or
    /// `unknown` when nothing was recorded (then `lost_at_ms` is the new win's time).
    pub lost_by: String,
    /// When the old leadership was lost, ms since the world started.
    pub lost_at_ms: f64,
    /// The new leader.
    pub new_leader: String,
    /// The new leadership's token.
    pub token: u64,
    /// When the new leader won, ms since the world started.
    pub won_at_ms: f64,
    /// The new leader's first start under this leadership (any tick, any job), if it started one.
    pub first_start_ms: Option<f64>,
    /// `first_start_ms - lost_at_ms`: how long no leader started anything.
    pub gap_ms: Option<f64>,
    /// Measured ticks first started under this leadership more than [`DELAYED_AFTER_MS`] late.
    pub ticks_delayed: u64,
}

/// The first start of one measured tick.
struct FirstStart<'h> {
    node: &'h str,
    token: u64,
    lateness_ms: f64,
}

/// One win in an election.
struct Win<'h> {
    index: usize,
    node: &'h str,
    token: u64,
    t_ns: u64,
}

/// A record after which a node no longer led (one election, or all of them for faults).
struct Loss<'h> {
    index: usize,
    t_ns: u64,
    election: Option<&'h ElectionName>,
    by: &'static str,
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
        failovers: failovers(input, &firsts),
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

/// Wins, losses of leadership and starts, gathered in one pass over the history.
#[derive(Default)]
struct Leaderships<'h> {
    wins: BTreeMap<&'h ElectionName, Vec<Win<'h>>>,
    /// Per node, in history order.
    losses: BTreeMap<&'h str, Vec<Loss<'h>>>,
    /// Per (node, token), every start in history order: (position in history, record).
    starts: BTreeMap<(&'h str, u64), Vec<(usize, &'h Record)>>,
}

impl<'h> Leaderships<'h> {
    fn collect(records: &'h [Record]) -> Self {
        let mut out = Leaderships::default();
        for (index, record) in records.iter().enumerate() {
            let node = record.node.as_str();
            let loss = |election, by| Loss {
                index,
                t_ns: record.t_ns,
                election,
                by,
            };
            let (loser, lost) = match &record.what {
                What::Node(NodeEvent::CampaignWon { election, token }) => {
                    let win = Win {
                        index,
                        node,
                        token: token.0,
                        t_ns: record.t_ns,
                    };
                    out.wins.entry(election).or_default().push(win);
                    continue;
                }
                What::Node(NodeEvent::TickStarted { token, .. }) => {
                    out.starts
                        .entry((node, token.0))
                        .or_default()
                        .push((index, record));
                    continue;
                }
                What::Node(NodeEvent::LeadershipRevoked { election, .. }) => {
                    (node, loss(Some(election), "revoked"))
                }
                What::Node(NodeEvent::Resigned { election, .. }) => {
                    (node, loss(Some(election), "resigned"))
                }
                What::Fault(FaultRecord::FaultStarted { fault }) => match fault.kind {
                    FaultKind::Crash => (fault.node.as_str(), loss(None, "crash")),
                    FaultKind::Pause => (fault.node.as_str(), loss(None, "pause")),
                    FaultKind::Partition { .. } => (fault.node.as_str(), loss(None, "partition")),
                    _ => continue,
                },
                _ => continue,
            };
            out.losses.entry(loser).or_default().push(lost);
        }
        out
    }
}

/// Every win after the first in each election, measured, in the order the new leaders won.
fn failovers(input: CheckInput<'_>, firsts: &[FirstStart<'_>]) -> Vec<Failover> {
    let leaderships = Leaderships::collect(&input.history.records);
    let mut out: Vec<(usize, Failover)> = Vec::new();
    for (election, list) in &leaderships.wins {
        for pair in list.windows(2) {
            let (old, new) = (&pair[0], &pair[1]);
            let losses = leaderships.losses.get(old.node);
            let lost = losses.and_then(|l| first_loss(l, election, old, new));
            let starts = leaderships.starts.get(&(new.node, new.token));
            let first = starts
                .and_then(|s| s.iter().find(|(index, _)| *index > new.index))
                .map(|(_, record)| *record);
            out.push((
                new.index,
                measure_one(election, old, new, lost, first, firsts),
            ));
        }
    }
    out.sort_by_key(|(index, _)| *index);
    out.into_iter().map(|(_, f)| f).collect()
}

/// The first loss of `old`'s leadership in `election` between its win and `new`'s.
fn first_loss<'a, 'h>(
    losses: &'a [Loss<'h>],
    election: &ElectionName,
    old: &Win<'_>,
    new: &Win<'_>,
) -> Option<&'a Loss<'h>> {
    losses.iter().find(|l| {
        l.index > old.index && l.index < new.index && l.election.is_none_or(|e| e == election)
    })
}

/// One failover's numbers.
fn measure_one(
    election: &ElectionName,
    old: &Win<'_>,
    new: &Win<'_>,
    lost: Option<&Loss<'_>>,
    first: Option<&Record>,
    firsts: &[FirstStart<'_>],
) -> Failover {
    let ms = |t_ns: u64| t_ns as f64 / 1e6;
    let lost_at_ms = ms(lost.map_or(new.t_ns, |l| l.t_ns));
    let first_start_ms = first.map(|r| ms(r.t_ns));
    let ticks_delayed = firsts
        .iter()
        .filter(|f| f.node == new.node && f.token == new.token)
        .filter(|f| f.lateness_ms > DELAYED_AFTER_MS)
        .count() as u64;
    Failover {
        election: election.clone(),
        old_leader: Some(old.node.to_string()),
        lost_by: lost.map_or("unknown", |l| l.by).to_string(),
        lost_at_ms,
        new_leader: new.node.to_string(),
        token: new.token,
        won_at_ms: ms(new.t_ns),
        first_start_ms,
        gap_ms: first_start_ms.map(|start| start - lost_at_ms),
        ticks_delayed,
    }
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

    #[test]
    fn failover_runs_from_the_old_leaders_crash_to_the_new_leaders_first_start() {
        // a crashes at 15 s, b wins at 18 s and starts the 10 s tick 8.5 s late at 18.5 s:
        // a 3.5 s gap that delayed one tick (the 20 s one started on time).
        let history = Builder::new()
            .node(0, "a", won(1))
            .node(0, "a", started("j", 0, 1, 1))
            .node(10_000, "a", claimed("j", 10, 1))
            .fault(15_000, "a", FaultKind::Crash)
            .node(18_000, "b", won(2))
            .node(18_500, "b", started("j", 10, 2, 1))
            .node(20_000, "b", started("j", 20, 2, 1))
            .build();
        let t = measured(&history, 0, 20);
        let expected = Failover {
            election: election(),
            old_leader: Some("a".into()),
            lost_by: "crash".into(),
            lost_at_ms: 15_000.0,
            new_leader: "b".into(),
            token: 2,
            won_at_ms: 18_000.0,
            first_start_ms: Some(18_500.0),
            gap_ms: Some(3_500.0),
            ticks_delayed: 1,
        };
        assert_eq!(t.failovers, [expected]);
    }

    #[test]
    fn failover_with_no_recorded_loss_is_measured_from_the_new_win() {
        // Nothing says when a lost leadership: the new win is the only honest lower bound.
        let history = Builder::new()
            .node(0, "a", won(1))
            .fault(1_000, "b", FaultKind::Crash)
            .node(5_000, "b", won(2))
            .build();
        let t = measured(&history, 0, 20);
        assert_eq!(t.failovers.len(), 1);
        let f = &t.failovers[0];
        assert_eq!((f.lost_by.as_str(), f.lost_at_ms), ("unknown", 5_000.0));
        assert_eq!((f.first_start_ms, f.gap_ms), (None, None));
    }
}

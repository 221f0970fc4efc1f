//! Failovers: which wins in an election replaced a leadership that really ended, when that
//! leadership ended, and the takeover and first-run times that follow.
//!
//! Consecutive wins of an election are a failover unless they are the same leadership recorded
//! twice (same node, same token): a node re-elected after resigning is a failover, since its new
//! token is a new leadership. The old leadership's end is looked for in this order:
//!
//! 1. a pause or partition of the old leader's node that began after its win and before both
//!    the new win and the leadership's recorded end, and that it did not survive. Overlapping
//!    pauses and partitions form one outage, and only the last outage counts: a leadership that
//!    ended in an earlier one records its end before the next fault. An outage is survived when
//!    the old leadership claimed or started a tick with its token after the outage was over and
//!    before anyone else won: then it is not where the leadership was lost (and with no later
//!    win there is no failover at all).
//! 2. the leadership's recorded end, when it came before the new win: `LeadershipRevoked` or
//!    `Resigned` of its token, a `ClockBehind` step-down in its election, or a crash of its node.
//! 3. otherwise `unknown`, at the new win (nothing recorded earlier shows when it ended).
//!
//! This module owns only that attribution and the per-failover numbers; lateness and the
//! aggregate over seeds live elsewhere.

use std::collections::BTreeMap;

use cronfence::{ElectionName, NodeEvent};

use super::{Failover, FirstStart, DELAYED_AFTER_MS};
use crate::fault::{Fault, FaultKind};
use crate::history::{FaultRecord, Record, What};

/// One win in an election.
struct Win<'h> {
    index: usize,
    node: &'h str,
    token: u64,
    t_ns: u64,
}

/// Which of a node's leaderships a recorded end applies to.
enum Scope<'h> {
    /// One leadership: its election and token (revoked, resigned).
    Token(&'h ElectionName, u64),
    /// Whichever leadership the node holds in the election (a clock-behind step-down).
    Election(&'h ElectionName),
    /// Every leadership of the node (it crashed).
    Node,
}

/// A record at which some leadership of a node certainly ended.
struct End<'h> {
    index: usize,
    t_ns: u64,
    scope: Scope<'h>,
    by: &'static str,
}

/// A pause or partition of one node; its leaderships may or may not survive it.
struct Outage<'h> {
    fault: &'h Fault,
    index: usize,
    t_ns: u64,
    /// Where the fault was undone, if it was.
    over: Option<usize>,
    by: &'static str,
}

/// When and by what an old leadership was lost.
#[derive(Clone, Copy)]
struct Loss {
    t_ns: u64,
    by: &'static str,
}

/// What a fault does to the leaderships of the node it hits.
enum Effect {
    /// They end (the node is gone).
    Ends(&'static str),
    /// They end unless they outlive it.
    MayEnd(&'static str),
    /// Not a loss by itself (clock faults, backend faults: a lost lease shows as a revocation).
    Nothing,
}

/// The one place that says which faults end leaderships. A graceful stop is not one of them: the
/// stopping leader keeps leading while its runs drain, and its `resigned` record is the loss.
fn effect(kind: &FaultKind) -> Effect {
    match kind {
        FaultKind::Crash => Effect::Ends("crash"),
        FaultKind::Pause => Effect::MayEnd("pause"),
        FaultKind::Partition { .. } => Effect::MayEnd("partition"),
        _ => Effect::Nothing,
    }
}

/// Wins, ends, outages, signs of life and starts, gathered in one pass over the history.
#[derive(Default)]
struct Leaderships<'h> {
    wins: BTreeMap<&'h ElectionName, Vec<Win<'h>>>,
    /// Per node, in history order.
    ends: BTreeMap<&'h str, Vec<End<'h>>>,
    /// Per node, in history order.
    outages: BTreeMap<&'h str, Vec<Outage<'h>>>,
    /// Per (node, token), where that leadership claimed or started a tick.
    alive: BTreeMap<(&'h str, u64), Vec<usize>>,
    /// Per (node, token), every start in history order: (position in history, record).
    starts: BTreeMap<(&'h str, u64), Vec<(usize, &'h Record)>>,
}

impl<'h> Leaderships<'h> {
    fn collect(records: &'h [Record]) -> Self {
        let mut out = Leaderships::default();
        for (index, record) in records.iter().enumerate() {
            match &record.what {
                What::Node(event) => out.node_event(index, record, event),
                What::Fault(fault) => out.fault_record(index, record.t_ns, fault),
                What::Backend(_) | What::Command(_) => {}
            }
        }
        out
    }

    fn fault_record(&mut self, index: usize, t_ns: u64, record: &'h FaultRecord) {
        match record {
            FaultRecord::FaultStarted { fault } => match effect(&fault.kind) {
                Effect::Ends(by) => self.ends_of(&fault.node).push(End {
                    index,
                    t_ns,
                    scope: Scope::Node,
                    by,
                }),
                Effect::MayEnd(by) => self.outages_of(&fault.node).push(Outage {
                    fault,
                    index,
                    t_ns,
                    over: None,
                    by,
                }),
                Effect::Nothing => {}
            },
            FaultRecord::FaultEnded { fault } => {
                let outages = self.outages_of(&fault.node).iter_mut().rev();
                let mut open = outages.filter(|o| o.over.is_none());
                if let Some(outage) = open.find(|o| o.fault == fault) {
                    outage.over = Some(index);
                }
            }
            // The stop's start is the loss; where it reached the node changes nothing here.
            FaultRecord::StopReached => {}
        }
    }

    fn node_event(&mut self, index: usize, record: &'h Record, event: &'h NodeEvent) {
        let node = record.node.as_str();
        let end = |scope, by| End {
            index,
            t_ns: record.t_ns,
            scope,
            by,
        };
        match event {
            NodeEvent::CampaignWon { election, token } => {
                let win = Win {
                    index,
                    node,
                    token: token.0,
                    t_ns: record.t_ns,
                };
                self.wins.entry(election).or_default().push(win);
            }
            NodeEvent::TickClaimed { token, .. } => {
                self.alive.entry((node, token.0)).or_default().push(index);
            }
            NodeEvent::TickStarted { token, .. } => {
                self.alive.entry((node, token.0)).or_default().push(index);
                let starts = self.starts.entry((node, token.0)).or_default();
                starts.push((index, record));
            }
            NodeEvent::LeadershipRevoked {
                election, token, ..
            } => self
                .ends_of(node)
                .push(end(Scope::Token(election, token.0), "revoked")),
            NodeEvent::Resigned { election, token } => self
                .ends_of(node)
                .push(end(Scope::Token(election, token.0), "resigned")),
            NodeEvent::ClockBehind { election, .. } => self
                .ends_of(node)
                .push(end(Scope::Election(election), "clock_behind")),
            _ => {}
        }
    }

    fn ends_of(&mut self, node: &'h str) -> &mut Vec<End<'h>> {
        self.ends.entry(node).or_default()
    }

    fn outages_of(&mut self, node: &'h str) -> &mut Vec<Outage<'h>> {
        self.outages.entry(node).or_default()
    }

    /// The first recorded end of `old`'s leadership in `election`; `next_own_win` is where its
    /// node won this election again, after which an untokened end is that later leadership's.
    fn end_of(
        &self,
        election: &ElectionName,
        old: &Win<'_>,
        next_own_win: usize,
    ) -> Option<&End<'h>> {
        let ends = self.ends.get(old.node)?;
        ends.iter()
            .filter(|e| e.index > old.index)
            .find(|e| match e.scope {
                Scope::Token(el, token) => el == election && token == old.token,
                Scope::Election(el) => el == election && e.index < next_own_win,
                Scope::Node => e.index < next_own_win,
            })
    }

    /// The start of the last outage of `old`'s node in `(old win, bound)`, unless `old`'s
    /// leadership showed life after it was over and before `bound`.
    fn outage_loss(&self, old: &Win<'_>, bound: usize) -> Option<Loss> {
        let outages = self.outages.get(old.node)?;
        let mut last: Option<(Loss, Option<usize>)> = None;
        for o in outages
            .iter()
            .filter(|o| o.index > old.index && o.index < bound)
        {
            last = match last {
                // Still inside the current outage: it lasts until both are over.
                Some((loss, Some(over))) if over > o.index => {
                    Some((loss, o.over.map(|end| end.max(over))))
                }
                Some((loss, None)) => Some((loss, None)),
                _ => Some((
                    Loss {
                        t_ns: o.t_ns,
                        by: o.by,
                    },
                    o.over,
                )),
            };
        }
        let (loss, over) = last?;
        let alive = self.alive.get(&(old.node, old.token));
        let survived = over
            .is_some_and(|over| alive.is_some_and(|a| a.iter().any(|&i| i > over && i < bound)));
        (!survived).then_some(loss)
    }
}

/// Every failover, measured, in the order the new leaders won.
pub(super) fn failovers(records: &[Record], firsts: &[FirstStart<'_>]) -> Vec<Failover> {
    let leaderships = Leaderships::collect(records);
    let mut out: Vec<(usize, Failover)> = Vec::new();
    for (election, list) in &leaderships.wins {
        for (i, pair) in list.windows(2).enumerate() {
            let (old, new) = (&pair[0], &pair[1]);
            if old.node == new.node && old.token == new.token {
                continue; // the same leadership, recorded twice: nothing ended
            }
            let next_own_win = list[i + 1..]
                .iter()
                .find(|w| w.node == old.node)
                .map_or(usize::MAX, |w| w.index);
            let end = leaderships.end_of(election, old, next_own_win);
            let bound = end.map_or(new.index, |e| e.index.min(new.index));
            let lost = leaderships.outage_loss(old, bound).or_else(|| {
                end.filter(|e| e.index < new.index).map(|e| Loss {
                    t_ns: e.t_ns,
                    by: e.by,
                })
            });
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

/// One failover's numbers.
fn measure_one(
    election: &ElectionName,
    old: &Win<'_>,
    new: &Win<'_>,
    lost: Option<Loss>,
    first: Option<&Record>,
    firsts: &[FirstStart<'_>],
) -> Failover {
    let ms = |t_ns: u64| t_ns as f64 / 1e6;
    let lost = lost.unwrap_or(Loss {
        t_ns: new.t_ns,
        by: "unknown",
    });
    let since_lost = |t_ns: u64| ms(t_ns.saturating_sub(lost.t_ns));
    let ticks_delayed = firsts
        .iter()
        .filter(|f| f.node == new.node && f.token == new.token)
        .filter(|f| f.lateness_ms > DELAYED_AFTER_MS)
        .count() as u64;
    Failover {
        election: election.clone(),
        old_leader: Some(old.node.to_string()),
        lost_by: lost.by.to_string(),
        lost_at_ms: ms(lost.t_ns),
        new_leader: new.node.to_string(),
        token: new.token,
        won_at_ms: ms(new.t_ns),
        takeover_ms: since_lost(new.t_ns),
        first_start_ms: first.map(|r| ms(r.t_ns)),
        first_run_ms: first.map(|r| since_lost(r.t_ns)),
        ticks_delayed,
    }
}

#[cfg(test)]
mod tests;

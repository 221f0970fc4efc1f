//! Ticks a drop gave up below the range the checker otherwise grants it, where the backend
//! cannot be observed. The range of a drop starts where its leadership may have moved the
//! checkpoint, counting the claims it only sent; when those claims never landed, the drop moved
//! the checkpoint from further back and gave up the ticks they named too (etcd-sim 31446: run
//! claims sent through a backend timeout, all unanswered, then a drop planned from the last
//! answered claim). The same holds for a drop of a tick only those claims named (an unknowing
//! drop, etcd-sim 192577: its range is that tick alone if they landed). Only a later checkpoint
//! read can prove that they never landed: an applied at-least-once run claim leaves its tick in
//! flight until a commit, or a drop or run of that very tick, takes it out — sent before or after
//! the claim, since a write whose answer was lost may land after a later one. This file owns
//! that proof; [`super::outcomes`] gathers what it reads.

use cronfence::{Claim, ClaimKind, NodeEvent};
use jiff::Timestamp;

use super::outcomes::{CheckpointRead, DropRange};
use super::{Finding, Judge};
use crate::history::What;

impl Judge<'_, '_> {
    /// A tick below the range of a drop the backend may have applied, above what the dropping
    /// leadership was shown claimed (its checkpoint read, the answers to claims), whose every
    /// claim is an unanswered at-least-once run claim of that leadership, that the job's policy
    /// gives up where the drop was sent, and that the next checkpoint read by another leadership
    /// shows passed and out of flight, with every other batch that could have moved the
    /// checkpoint past it proven never applied: the drop gave it up, and its leadership was lost
    /// before its node could record why.
    pub(super) fn dropped_unproven(&self, tick: Timestamp) -> Option<Finding> {
        let drops = self.outcomes.drops.get(self.job)?;
        // Each proof: the drops that may have given the tick up (the drop, and the landed
        // drops of its leadership that give it up too).
        let proven: Vec<Vec<&DropRange<'_>>> = drops
            .iter()
            .filter_map(|d| self.gave_up_unproven(tick, d))
            .collect();
        // Given up where every such drop was sent in true time, or only where the verified clock
        // evidence their batches were decided on put it: then no later quiet owes it a run.
        let at = |p: &Vec<&DropRange<'_>>| {
            p.iter()
                .all(|d| self.may_retire(tick, self.index.time(d.claim.at)))
        };
        // The leadership must be lost after the newest of them.
        let (in_time, on_clock): (Vec<_>, Vec<_>) = proven.into_iter().partition(at);
        let in_time: Vec<_> = in_time.iter().filter_map(|p| newest(p)).collect();
        if let Some(found) = self.lost_with_leader(tick, &in_time, "dropped_with_leader") {
            return Some(found);
        }
        let on_clock: Vec<_> = on_clock.iter().filter_map(|p| newest(p)).collect();
        let found = self.lost_with_leader(tick, &on_clock, "dropped_with_leader")?;
        self.on_clock.borrow_mut().insert(tick);
        Some(found)
    }

    /// Whether a checkpoint read by a newer leadership than drop `d`'s holds the checkpoint
    /// below the dropped tick: the drop never landed. That leadership read after its win, when
    /// `d`'s could no longer write (the fence), and the checkpoint never moves back.
    pub(super) fn never_landed(&self, d: &DropRange<'_>) -> bool {
        let reads = self.outcomes.reads.get(self.job).into_iter().flatten();
        reads
            .filter(|r| r.token > d.claim.token)
            .any(|r| r.checkpoint.last_claimed.is_none_or(|last| last < d.upto))
    }

    /// Whether drop `d` gave up `tick`, below its range, by the proof above: the drops that may
    /// have (`d` first, then the landed drops of its leadership that give it up as well).
    fn gave_up_unproven<'d>(
        &'d self,
        tick: Timestamp,
        d: &'d DropRange<'d>,
    ) -> Option<Vec<&'d DropRange<'d>>> {
        let unproven = d.unproven?;
        let below = unproven.from.is_none_or(|from| from < tick)
            && d.after.is_some_and(|after| tick <= after)
            && tick <= d.upto;
        if !below || !self.retire_allowed(tick, d) || !self.only_unanswered_runs(tick, d) {
            return None;
        }
        // The first read by another leadership after the dropping one read: no other leadership
        // won in between (its win would have fenced the drop out), and it came after the drop.
        let read = self
            .outcomes
            .reads
            .get(self.job)
            .into_iter()
            .flatten()
            .find(|r| r.at > unproven.read && (r.node, r.token) != (d.claim.node, d.claim.token))
            .filter(|r| r.at > d.claim.at)?;
        let cp = read.checkpoint;
        let passed = cp.last_claimed.is_some_and(|last| last >= tick)
            && cp.in_flight.iter().all(|&(t, _)| t != tick);
        if !passed
            || self.answered_from(tick, unproven.read, read.at)
            || self.never_applied(d.claim.at, unproven.read, read)
        {
            return None;
        }
        self.only_drops_moved_past(tick, unproven.read, d, read)
    }

    /// Whether drop `o`, of the same leadership as `d` and planned from the same read, gives up
    /// `tick` too: in its range, or below it by the same unproven claims (its range starting
    /// at a tick only they reached, or naming a tick only they named), where the policy
    /// allowed it when it was sent. A batch carrying such a drop moved the checkpoint past
    /// `tick` by a drop, not silently (etcd-sim 82005: two such batches both landed).
    fn gives_up_too(&self, tick: Timestamp, d: &DropRange<'_>, o: &DropRange<'_>) -> bool {
        let same = (o.claim.node, o.claim.token) == (d.claim.node, d.claim.token);
        let read = d.unproven.map(|u| u.read);
        let covers = o.after.is_none_or(|after| after < tick)
            || o.unproven
                .is_some_and(|u| Some(u.read) == read && u.from.is_none_or(|from| from < tick));
        same && o.claim.at != d.claim.at && tick <= o.upto && covers && self.retire_allowed(tick, o)
    }

    /// Whether every claim of `tick` is an at-least-once run claim that drop `d`'s leadership
    /// sent and was never answered for.
    fn only_unanswered_runs(&self, tick: Timestamp, d: &DropRange<'_>) -> bool {
        let claims = self.outcomes.claims.get(&(self.job.clone(), tick));
        claims.into_iter().flatten().all(|c| {
            c.node == d.claim.node && c.token == d.claim.token && self.runs_then_commits(c.at, tick)
        })
    }

    /// Whether the claim batch sent at position `at` holds an at-least-once run claim of `tick`
    /// of the job.
    fn runs_then_commits(&self, at: usize, tick: Timestamp) -> bool {
        let What::Node(NodeEvent::ClaimsSent { claims, .. }) = &self.index.records[at].what else {
            return false;
        };
        claims.iter().any(|c| {
            &c.job == self.job
                && c.tick == tick
                && matches!(c.kind, ClaimKind::RunThenCommit { .. })
        })
    }

    /// Whether some node was answered for a claim of the job's `tick` or a newer one between
    /// positions `from` and `to`: that claim landed.
    fn answered_from(&self, tick: Timestamp, from: usize, to: usize) -> bool {
        let (job, last) = (self.job.clone(), (self.job.clone(), Timestamp::MAX));
        let claims = self.outcomes.claims.range((job, tick)..=last);
        claims.flat_map(|(_, list)| list).any(|c| {
            c.at > from
                && c.at < to
                && matches!(&c.record.what, What::Node(NodeEvent::TickClaimed { .. }))
        })
    }

    /// Whether every batch sent from position `from` until `read` holding a claim of the job's
    /// `tick` or a newer one, but drop `d`'s own, never landed or carries a drop that gives
    /// `tick` up too ([`Judge::gives_up_too`]): then only drops can have moved the checkpoint
    /// past `tick`. Those drops, `d` first.
    fn only_drops_moved_past<'d>(
        &'d self,
        tick: Timestamp,
        from: usize,
        d: &'d DropRange<'d>,
        read: &CheckpointRead<'_>,
    ) -> Option<Vec<&'d DropRange<'d>>> {
        let drops = self
            .outcomes
            .drops
            .get(self.job)
            .map_or(&[][..], Vec::as_slice);
        let batches: std::collections::BTreeSet<usize> = self
            .sent_between(from, read.at)
            .iter()
            .filter(|&&(at, c)| at != d.claim.at && c.tick >= tick)
            .map(|&(at, _)| at)
            .collect();
        let mut relied = vec![d];
        for at in batches {
            if self.never_applied(at, from, read) {
                continue;
            }
            let peer = drops
                .iter()
                .find(|o| o.claim.at == at && self.gives_up_too(tick, d, o))?;
            relied.push(peer);
        }
        Some(relied)
    }

    /// Whether the batch sent at position `at` never landed: it holds an at-least-once run claim
    /// of a tick of the job that `read` shows out of flight, and nobody sent anything from
    /// position `from` (the dropping leadership's own read) until that read that takes the tick
    /// out of flight (a commit of it, a drop or an at-most-once run claim of it). A removal sent
    /// before the batch counts too: it may land after it (a write whose answer was lost is no
    /// proof of when it landed).
    fn never_applied(&self, at: usize, from: usize, read: &CheckpointRead<'_>) -> bool {
        let What::Node(NodeEvent::ClaimsSent { claims, .. }) = &self.index.records[at].what else {
            return false;
        };
        let outcomes = self.outcomes;
        let sent = self.sent_between(from, read.at);
        let between = |i: usize| i > from && i < read.at;
        claims
            .iter()
            .filter(|c| &c.job == self.job && matches!(c.kind, ClaimKind::RunThenCommit { .. }))
            .any(|c| {
                let out = read.checkpoint.in_flight.iter().all(|&(t, _)| t != c.tick);
                let removed = sent.iter().any(|&(_, other)| {
                    other.tick == c.tick && !matches!(other.kind, ClaimKind::RunThenCommit { .. })
                });
                let commits = outcomes.commits_sent.get(&(self.job.clone(), c.tick));
                let committed = commits.into_iter().flatten().any(|&i| between(i));
                out && !removed && !committed
            })
    }

    /// The claims of the job sent strictly between positions `from` and `to`, in history order.
    fn sent_between(&self, from: usize, to: usize) -> &[(usize, &Claim)] {
        let sent = self
            .outcomes
            .sent
            .get(self.job)
            .map_or(&[][..], Vec::as_slice);
        let first = sent.partition_point(|&(i, _)| i <= from);
        let end = sent.partition_point(|&(i, _)| i < to).max(first);
        &sent[first..end]
    }
}

/// The newest claim of drops `p`.
fn newest<'h>(p: &[&DropRange<'h>]) -> Option<super::outcomes::ClaimEntry<'h>> {
    p.iter().map(|d| d.claim).max_by_key(|c| c.at)
}

//! Delivered at-least-once ticks: the last run must end completed (or failed), or the history
//! must prove what ended the tick instead — a verified retirement (an abandon, or a retiring drop
//! that took effect), or a replacement under overlap `Replace` whose cancellation was committed.

use cronfence::plan::AbandonReason;
use cronfence::{Delivery, NodeEvent, OverlapPolicy};

use super::outcomes::{Abandon, ClaimEntry};
use super::{finding, reason_allowed, Bucket, Judge};
use crate::check::index::{Began, TickKey};
use crate::check::Finding;
use crate::history::{BackendRecord, What};

impl Judge<'_, '_> {
    /// A delivered at-least-once tick whose last run was cut short and never ran again, unless an
    /// abandon of it made after that run began (a retired in-flight tick past its deadline) is
    /// proven: the delivery contract says it must end completed. The retirement may come before
    /// the cut: a run frozen by a pause is cut only when its node resumes, which the retiring
    /// leader cannot see (nor wait for: the node may never resume), and past its starting
    /// deadline the tick may not start again whichever came first.
    pub(super) fn finished(
        &self,
        key: &TickKey,
        covering: &[&Abandon<'_>],
    ) -> Option<(Bucket, Finding)> {
        if self.spec.delivery != Delivery::AtLeastOnce {
            return None;
        }
        let index = self.index;
        let last = index.runs(key).last().expect("a delivered tick has a run");
        if index.finished(last, key).is_some() {
            return None;
        }
        let cut = index.run_cut(last, key)?;
        let retired = covering
            .iter()
            .filter(|a| a.index > last.index && reason_allowed(a.reason, self.spec, key.1))
            // Before the cut only a deadline retirement or a replacement (overlap `Replace`: the
            // retry gives way to a newer tick) ends the tick; a leadership's end or a misfire
            // does not (the next leader retries an at-least-once tick in flight).
            .filter(|a| {
                a.index > cut
                    || matches!(
                        a.reason,
                        AbandonReason::DeadlineExceeded | AbandonReason::Replaced
                    )
            })
            .find_map(|a| self.verify(key.1, a).ok().map(|proof| (a, proof)));
        if let Some((a, proof)) = retired {
            return Some(self.abandoned(key.1, a, Ok(proof)));
        }
        if let Some(found) = self.replaced_run(key, last) {
            return Some((Bucket::Excused, found));
        }
        if let Some(found) = self.retired_by_drop(key, last, cut) {
            return Some((Bucket::Excused, found));
        }
        // Claimed again after the cut, in one batch with an older tick that the same leadership
        // was still running when the world ended (a sequential batch, overlap `Forbid` or
        // `Replace`): the rerun is queued behind that run, not lost.
        let again = self.claimed_again_in_batch(key, cut);
        if let Some(found) = self.queued_at_end(key.1, &again, "claimed again") {
            return Some((Bucket::Excused, found));
        }
        let detail = format!(
            "at-least-once tick's last run by {} (token #{}, record {}) was cut short (record {}) \
         and never ran again",
            last.node,
            last.token,
            index.seq(last.index),
            index.seq(cut)
        );
        let mut finding = finding(self.job, key.1, "unfinished_at_least_once", &detail);
        finding.nodes.push(last.node.to_string());
        finding.tokens.push(last.token);
        finding
            .records
            .extend([index.seq(last.index), index.seq(cut)]);
        Some((Bucket::Violation, finding))
    }

    /// The run of a newer tick of the same batch that replaced `last`: that tick was not yet due
    /// on the node's clock when `last` began, it was by the time the cancel was committed (at
    /// `commit`; by the clock model, not the node's word), and its run began right after, on the
    /// same leadership. A batch's ticks run one after another only while each next one is due
    /// already; once the clock that decided the batch reads earlier, a tick comes due during the
    /// run before it and replaces that run, as a tick of its own would.
    fn replaced_in_batch(&self, key: &TickKey, last: &Began<'_>, commit: usize) -> Option<usize> {
        let index = self.index;
        let after = index.time(commit);
        let came_due = |next| {
            let not_due_at_start = index.node_clock(last.node, last.index) < next;
            not_due_at_start && index.node_clock(last.node, commit) >= next
        };
        let ran = index
            .ran_newer(last.node, last.token, self.job, key.1, after)
            .filter(|&newer| index.run_tick(newer).is_some_and(came_due));
        ran.or_else(|| self.replaced_in_turn(key, last, commit, came_due))
    }

    /// The give-up, as replaced, of the batch's tick that came due during `last` and replaced
    /// it, when that tick was replaced in turn before it began (a clock that jumped ahead right
    /// after the cancel made a newer tick of the batch due, which runs instead): the give-up must
    /// be by the same leadership, after the cancel was committed (at `commit`), and proven.
    fn replaced_in_turn(
        &self,
        key: &TickKey,
        last: &Began<'_>,
        commit: usize,
        came_due: impl Fn(jiff::Timestamp) -> bool,
    ) -> Option<usize> {
        let abandons = self.outcomes.abandons.get(self.job)?;
        abandons
            .iter()
            .filter(|a| a.record.node == last.node && a.token == last.token)
            .filter(|a| a.reason == AbandonReason::Replaced && a.index > commit)
            .filter(|a| a.first > key.1 && came_due(a.first))
            .find(|a| self.verify(a.first, a).is_ok())
            .map(|a| a.index)
    }

    /// An at-least-once run cancelled under overlap `Replace` because its leadership claimed a
    /// newer tick of the job while it ran: the policy's own outcome for it, proven by that claim
    /// and by its commit as `cancelled` having taken effect ([`Index::cancel_committed`]).
    fn replaced_run(&self, key: &TickKey, last: &Began<'_>) -> Option<Finding> {
        let index = self.index;
        if self.spec.overlap != OverlapPolicy::Replace {
            return None;
        }
        let committed = index.cancel_committed(last, key)?;
        let (end, commit) = (committed.end, committed.commit);
        // A newer tick claimed with it in one batch runs after it and replaces nothing, unless it
        // came due while this one ran: only a claim made while it ran counts, or that.
        let while_running = last.index + 1..end;
        let newer = index
            .claimed_newer_within(last.node, last.token, self.job, key.1, while_running)
            .or_else(|| self.replaced_in_batch(key, last, commit))?;
        let detail = format!(
            "its run by {} (token #{}, record {}) was committed cancelled (record {}, sent at \
             record {}) because a newer tick (its claim, its run once due, or its give-up when \
             replaced in turn, at record {}) replaced it, as overlap replace says",
            last.node,
            last.token,
            index.seq(last.index),
            index.seq(end),
            index.seq(commit),
            index.seq(newer)
        );
        let mut detail = detail;
        if let Some(read) = committed.read {
            let seen = format!(
                "; its answer was lost, but the checkpoint read at record {} no longer holds the tick \
                 in flight and nobody else wrote it",
                index.seq(read)
            );
            detail.push_str(&seen);
        }
        let mut finding = finding(self.job, key.1, "replaced", &detail);
        finding.nodes.push(last.node.to_string());
        finding.tokens.push(last.token);
        finding.records.extend([
            index.seq(last.index),
            index.seq(end),
            index.seq(commit),
            index.seq(newer),
        ]);
        finding
            .records
            .extend(committed.read.map(|read| index.seq(read)));
        Some(finding)
    }

    /// A retirement whose node never recorded it (a crash right after): a drop of the tick in
    /// flight sent after its last run began, that the job's policy allows where it took effect
    /// (before the run was cut, only past the tick's starting deadline),
    /// and that took effect — applied by the backend where it is observed, or else shown by a
    /// later leadership's checkpoint read holding the tick claimed and no longer in flight,
    /// nobody but the dropping leadership having written the tick since that run began
    /// ([`crate::check::index::Index::settled_by`]).
    fn retired_by_drop(&self, key: &TickKey, last: &Began<'_>, cut: usize) -> Option<Finding> {
        let index = self.index;
        let drops = self.outcomes.drops.get(self.job)?;
        drops
            .iter()
            .filter(|d| d.retires && d.upto == key.1 && d.claim.at > last.index)
            // Before the cut only a deadline ends the tick (as for a recorded retirement): a
            // newer tick due does not, while the run may yet finish.
            .filter(|d| match d.claim.at > cut {
                true => self.retire_allowed(key.1, d),
                false => self.retired_past_deadline(key.1, d),
            })
            .find_map(|d| {
                let (node, token, at) = (d.claim.node, d.claim.token, d.claim.at);
                let read = match self.outcomes.backend_observed {
                    true => None,
                    false => Some(index.settled_by(key, (node, token), last.index, at)?),
                };
                let mut detail = format!(
                    "its run by {} (token #{}, record {}) was cut short; {node} (token #{token}) \
                     retired the tick in flight by a drop (record {}) its policy allows there",
                    last.node,
                    last.token,
                    index.seq(last.index),
                    d.claim.record.seq
                );
                if let Some(read) = read {
                    let seen = format!(
                        "; no answer was recorded, but the checkpoint read at record {} holds the \
                         tick claimed and no longer in flight, and nobody else wrote it",
                        index.seq(read)
                    );
                    detail.push_str(&seen);
                }
                let mut finding = finding(self.job, key.1, "retired_by_drop", &detail);
                finding
                    .nodes
                    .extend([last.node.to_string(), node.to_string()]);
                finding.tokens.extend([last.token, token]);
                finding
                    .records
                    .extend([index.seq(last.index), d.claim.record.seq]);
                finding.records.extend(read.map(|r| index.seq(r)));
                Some(finding)
            })
    }

    /// The claims of `key` made after the run's cut (at `cut`) in one batch with an older tick
    /// of the job whose run, by the same leadership, began after that batch was sent: ticks a
    /// sequential batch runs in order. Under overlap `Allow` every tick runs on its own.
    fn claimed_again_in_batch(&self, key: &TickKey, cut: usize) -> Vec<ClaimEntry<'_>> {
        if self.spec.overlap == OverlapPolicy::Allow {
            return Vec::new();
        }
        let index = self.index;
        let end = index.records.len();
        let claims = self.outcomes.claims.get(key).map_or(&[][..], Vec::as_slice);
        claims
            .iter()
            .filter(|c| c.at > cut)
            .filter(|c| {
                let batch: &[cronfence::Claim] = match &c.record.what {
                    What::Node(NodeEvent::ClaimsSent { claims, .. }) => claims,
                    What::Backend(BackendRecord::ClaimApplied { claims, .. }) => claims,
                    _ => return false,
                };
                let Some(run) = index.running_at(c.node, c.token, self.job, end) else {
                    return false;
                };
                let older = index.run_tick(run).filter(|&t| t < key.1);
                run > c.at
                    && older
                        .is_some_and(|t| batch.iter().any(|b| &b.job == self.job && b.tick == t))
            })
            .copied()
            .collect()
    }
}

//! How runs and leaderships ended, as the history shows: a leadership's end (its own, its
//! election's clock step-down, or its node's crash, pause or stop, and where a stop reached a
//! paused node), when a pause was over (at its end, or cut short by its node's crash), a run's
//! finish or cut, a replaced run's committed cancellation, and the claims a lost leadership took
//! with it.

use jiff::Timestamp;

use cronfence::{ElectionName, JobId, NodeEvent};

use super::{is_run, Began, CancelCommitted, EndKind, Ending, Index, TickKey};
use crate::fault::FaultKind;
use crate::history::{FaultRecord, Record, What};

impl<'h> Index<'h> {
    /// The first record after position `after` that ended `node`'s leadership `token` of
    /// `job`'s election and that `keep` accepts: its revocation or resignation, its step down for
    /// the clock, or a crash, pause or stop of the node.
    pub(crate) fn ending(
        &self,
        node: &'h str,
        job: &JobId,
        token: u64,
        after: usize,
        keep: impl Fn(&Ending) -> bool,
    ) -> Option<&Ending> {
        let election = self.election_of(job)?;
        self.ending_in(node, election, token, after, keep)
    }

    /// [`Self::ending`] by election.
    pub(crate) fn ending_in(
        &self,
        node: &'h str,
        election: &'h ElectionName,
        token: u64,
        after: usize,
        keep: impl Fn(&Ending) -> bool,
    ) -> Option<&Ending> {
        let own = self.ended.get(&(node, election, token));
        let clock = self.clock_behind.get(&(node, election));
        let all = self.node_ends.get(node);
        own.into_iter()
            .chain(clock)
            .chain(all)
            .flatten()
            .filter(|e| e.index > after && keep(e))
            .min_by_key(|e| e.index)
    }

    /// A claim to run `key` made before true time `before` (applied, where the backend is
    /// observed; else sent) by a leadership that ended, after sending it, before `before` too (a
    /// pause it survives aside; the end may come before the backend applied the claim), with the
    /// tick never run: at most once, the tick was that leadership's and went with it, before
    /// `before` — however early the claim came (a clock ahead).
    pub(crate) fn lost_before(&self, key: &TickKey, before: Timestamp) -> Option<usize> {
        let election = self.election_of(&key.0)?;
        let claims: Vec<(usize, &'h str, u64)> = if self.backend_observed {
            self.applied
                .iter()
                .filter(|((_, e, _), _)| *e == election)
                .flat_map(|(&(node, _, token), batches)| {
                    batches
                        .iter()
                        .filter(|(_, claims)| claims.iter().any(|c| is_run(c, key)))
                        .map(move |&(i, _)| (i, node, token))
                })
                .collect()
        } else {
            self.sent
                .keys()
                .flat_map(|&(node, token)| {
                    let sent = self.sent_runs(node, token, key, usize::MAX);
                    sent.map(move |i| (i, node, token))
                })
                .collect()
        };
        if !self.runs(key).is_empty() {
            return None;
        }
        claims.into_iter().find_map(|(i, node, token)| {
            if self.time(i) >= before {
                return None;
            }
            // The leadership's end after it sent the claim: a claim the backend applied once its
            // node had crashed was still that leadership's, sent before the crash.
            let sent = self.sent_runs(node, token, key, i).last().unwrap_or(i);
            let end = self.ending(node, &key.0, token, sent, |e| e.how != EndKind::Paused)?;
            (self.time(end.index) < before).then_some(i)
        })
    }

    /// The first record after `run` began that shows it counted: a completion or failure of it on
    /// its node, or a commit of it applied (or, unobserved, sent) for that node — where commands
    /// are observed, only after its command returned.
    pub(crate) fn finished(&self, run: &Began<'h>, key: &TickKey) -> Option<usize> {
        let list = self.finishes.get(&(run.node, key.clone()))?;
        let returned = if self.commands_observed {
            let ends = self.command_ends.get(&(run.node, key.clone()))?;
            *ends.iter().find(|&&e| e > run.index)?
        } else {
            run.index
        };
        list.iter().copied().find(|&i| i > returned)
    }

    /// The first record after `run` began that ended it without it counting: its cancellation or
    /// fence-out, or the end of the leadership it ran under (a pause it survived aside).
    pub(crate) fn run_cut(&self, run: &Began<'h>, key: &TickKey) -> Option<usize> {
        let own = self
            .run_ends
            .get(&(run.node, key.clone()))
            .and_then(|list| list.iter().copied().find(|&i| i > run.index));
        let leadership = self
            .ending(run.node, &key.0, run.token, run.index, |e| {
                e.how != EndKind::Paused
            })
            .map(|e| e.index);
        own.into_iter().chain(leadership).min()
    }

    /// Where a run ended committed as `cancelled` (only overlap `Replace` commits a run so, and
    /// only once its command was dropped): (where that took effect, the commit sent). It took
    /// effect where the backend applied the commit for the run's leadership (where the backend is
    /// observed) or where the run's node recorded the cancellation, which the runner does only
    /// once the backend accepted that commit; whatever ended the leadership afterwards (a crash
    /// before the node heard back, a graceful stop that lets runs go on) changes nothing. Where
    /// the backend cannot be observed and the node never heard back, it took effect (by the
    /// commit's position) when a later leadership read the job's checkpoint with the tick no
    /// longer in flight and nobody else sent a write of the tick meanwhile ([`Reads`]).
    pub(crate) fn cancel_committed(
        &self,
        run: &Began<'h>,
        key: &TickKey,
    ) -> Option<CancelCommitted> {
        let leader = (run.node, run.token, key.clone());
        let commit = *self
            .cancel_commits
            .get(&leader)?
            .iter()
            .find(|&&i| i > run.index)?;
        let applied = self
            .cancels_applied
            .get(&leader)
            .and_then(|list| list.iter().copied().find(|&i| i > commit));
        let recorded = self
            .run_ends
            .get(&(run.node, key.clone()))
            .and_then(|list| list.iter().copied().find(|&i| i > commit))
            .filter(|&end| {
                matches!(
                    &self.records[end].what,
                    What::Node(NodeEvent::TickCancelled { token, .. }) if token.0 == run.token
                )
            });
        if let Some(end) = applied.into_iter().chain(recorded).min() {
            let read = None;
            return Some(CancelCommitted { end, commit, read });
        }
        if self.backend_observed || self.commit_refused(run, key, commit) {
            return None;
        }
        let election = self.election_of(&key.0)?;
        let leader = (run.node, run.token);
        let read = self
            .reads
            .settled_by(election, leader, key, run.index, commit)?;
        let (end, read) = (commit, Some(read));
        Some(CancelCommitted { end, commit, read })
    }

    /// The first checkpoint read, by another leadership than `node`'s `token`, after the write
    /// of `key` it sent at position `sent`, that shows the tick claimed and out of flight with
    /// nobody else having written it from position `since` on: that leadership's writes took
    /// it out of flight ([`Reads::settled_by`]).
    pub(crate) fn settled_by(
        &self,
        key: &TickKey,
        leader: (&str, u64),
        since: usize,
        sent: usize,
    ) -> Option<usize> {
        let election = self.election_of(&key.0)?;
        self.reads.settled_by(election, leader, key, since, sent)
    }

    /// True when the run's node recorded, after `commit`, that the backend refused a commit of
    /// the run's leadership (fenced out): that commit was not applied.
    fn commit_refused(&self, run: &Began<'h>, key: &TickKey, commit: usize) -> bool {
        let ends = self.run_ends.get(&(run.node, key.clone()));
        ends.into_iter().flatten().any(|&end| {
            end > commit
                && matches!(
                    &self.records[end].what,
                    What::Node(NodeEvent::TickFencedOut { token, .. }) if token.0 == run.token
                )
        })
    }

    /// True when the pause begun at record `start` was over before the whole history's last
    /// record ([`Self::pause_over`]).
    pub(crate) fn resumed_by_end(&self, start: usize) -> bool {
        let (Some(over), Some(last)) = (self.pause_over(start), self.history_end) else {
            return false;
        };
        over < last
    }

    /// When the pause begun at record `start` was over: at its end (its start plus its
    /// duration) or at the first crash of its node, or end of one, after it, whichever comes
    /// first. A crash kills the paused process and the pause with it, and a crash's end starts
    /// a new process, which is not paused (madsim's restart and the real-time world's new
    /// runtime alike), so a pause begun while its node was down is over by its restart. `None`
    /// when the record is no pause, or the pause never ended.
    pub(crate) fn pause_over(&self, start: usize) -> Option<Timestamp> {
        let What::Fault(FaultRecord::FaultStarted { fault }) = &self.records[start].what else {
            return None;
        };
        if fault.kind != FaultKind::Pause {
            return None;
        }
        let node = fault.node.as_str();
        let crashes = self.node_ends.get(node).into_iter().flatten();
        let crashes = crashes
            .filter(|e| e.how == EndKind::Crashed)
            .map(|e| e.index);
        let restarts = self.restarts.get(node).into_iter().flatten().copied();
        let cut = crashes.chain(restarts).filter(|&i| i > start).min();
        let own = fault.duration.map(|d| self.time(start) + d);
        own.into_iter().chain(cut.map(|i| self.time(i))).min()
    }

    /// Where `node`'s graceful stops reached it: (the stop's start, where it reached the node).
    /// The harness records where: `stop_reached`, under the node, the first after the stop (a
    /// stop reaches the node's process a moment after it begins, once that process runs; a
    /// paused one, after it resumes; stops that overlap, together; and a node claims nothing
    /// once it has it); never, where none follows. A history in which the node has no such
    /// record (a world that does not record it) is read from the faults: a stop reaches a running node at once. A node paused when it began (a
    /// pause not yet over by [`Self::pause_over`]: a crash since ended it) sees it only after it
    /// resumes, and its tasks may first carry out work that piled up during the pause: it
    /// reached the node at its first act of shutting down after the resume (a resignation, a
    /// failed one, or ticks given up for shutdown), and no later than its first claim of a tick
    /// that came due after the resume (fresh work: it had the stop by then); never, if it shows
    /// neither.
    pub(crate) fn stops_reaching(&self, node: &str) -> Vec<(usize, usize)> {
        let ends = self.node_ends.get(node).map_or(&[][..], Vec::as_slice);
        // Where the harness handed `node` a stop. One hand-over serves every stop since the one
        // before (stops that overlap, or all begun in one pause, reach the process together).
        let handed = self.stops_handed.get(node).map_or(&[][..], Vec::as_slice);
        let handed_after = |stop: usize| {
            let first = handed.partition_point(|&i| i < stop);
            handed.get(first).copied().unwrap_or(usize::MAX)
        };
        let pause_over = |stop: usize| {
            let t = self.time(stop);
            ends.iter()
                .filter(|e| e.how == EndKind::Paused && e.index < stop)
                .filter_map(|e| self.pause_over(e.index))
                .filter(|&over| over > t)
                .max()
        };
        let reached = |record: &Record, resumed: Timestamp| match &record.what {
            What::Node(NodeEvent::Resigned { .. } | NodeEvent::ResignFailed { .. }) => true,
            What::Node(NodeEvent::TicksAbandoned { reason, .. }) => {
                *reason == cronfence::plan::AbandonReason::Shutdown
            }
            What::Node(NodeEvent::ClaimsSent { claims, .. }) => {
                claims.iter().any(|c| c.tick > resumed)
            }
            _ => false,
        };
        ends.iter()
            .filter(|e| e.how == EndKind::Stopped)
            .map(|e| {
                if !handed.is_empty() {
                    // A stop no hand-over follows never reached the node (it was down).
                    return (e.index, handed_after(e.index));
                }
                let Some(over) = pause_over(e.index) else {
                    return (e.index, e.index);
                };
                let from = self.records.partition_point(|r| r.true_time < over);
                let acted = self.records[from..]
                    .iter()
                    .position(|r| r.node == node && reached(r, over));
                (e.index, acted.map_or(usize::MAX, |i| from + i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;

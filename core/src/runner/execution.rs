//! Executions: running a job's command for claimed ticks, and recording how each run ended.
//!
//! One execution runs one or more claimed ticks of one job in order (several when a catch-up
//! batch runs under overlap `Forbid`/`Replace`; [`super::batch`] says when each starts). What a leadership's end does to it is the
//! [`crate::lifecycle`]'s rule, carried out through the cancel signal: an at-least-once execution
//! stops when its leadership ends (a lost session, or the leader's cancel), its command dropped and
//! nothing committed, so the tick runs again; an at-most-once execution carries on to its end
//! even after its leader is gone (its cancel signal closed). An at-least-once run is committed
//! (fenced) through its leadership's [`Committer`], with whatever other runs of that leadership
//! wait to be committed meanwhile; the execution keeps its own retry rules, and a commit that
//! cannot land is recorded `TickFencedOut` or `TickUncommitted`, never silently.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::signal;

use super::batch::{self, Decided};
use super::committer::Committer;
use super::NodeCtx;
use crate::clock::sleep_for;
use crate::elector::{Fence, Revocation};
use crate::event::{FencedOperation, NodeEvent};
use crate::job::{Job, TickContext, TickId};
use crate::plan::{AbandonReason, TickRun};
use crate::policy::{Delivery, OverlapPolicy};
use crate::store::{Commit, RunOutcome};
use crate::Error;

/// Sent to the leader loop when an execution has ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) job: usize,
    pub(crate) id: u64,
}

/// One execution, ready to be spawned.
pub(crate) struct Execution {
    pub(crate) ctx: Arc<NodeCtx>,
    pub(crate) job: Job,
    pub(crate) job_idx: usize,
    pub(crate) id: u64,
    pub(crate) fence: Fence,
    pub(crate) ticks: Vec<TickRun>,
    /// When its ticks were decided ([`batch`]'s rules for when each starts).
    pub(crate) decided: Decided,
    /// Set to the reason when the execution must stop (`Replaced`, `LeadershipLost`, `Shutdown`);
    /// closed without a reason when its leader is gone and lets it carry on.
    pub(crate) cancel: signal::Receiver<Option<AbandonReason>>,
    /// True while its leader's claim of a tick that replaces it is unanswered: the execution
    /// begins no tick meanwhile, so none begins only to be cancelled by that claim's answer.
    pub(crate) held: signal::Receiver<bool>,
    pub(crate) revoked: signal::Receiver<Option<Revocation>>,
    /// Until when the leadership's lease is proven (monotonic), where its keeper says.
    pub(crate) proof: Option<signal::Receiver<tokio::time::Instant>>,
    /// Its leadership's committer, for an at-least-once execution (none commits otherwise).
    pub(crate) committer: Option<Committer>,
    /// Told this execution's job (its index) and id just before its first command begins
    /// (overlap decisions).
    pub(crate) began: mpsc::UnboundedSender<(usize, u64)>,
    pub(crate) ended: mpsc::UnboundedSender<Ended>,
    /// Set once the execution has ended, for whoever outlives its leader (shutdown's drain).
    pub(crate) done: signal::Sender<bool>,
}

impl Execution {
    pub(crate) async fn run(mut self) {
        let ticks = std::mem::take(&mut self.ticks);
        let replace = self.job.spec.overlap == OverlapPolicy::Replace;
        let mut announced = false;
        let mut i = 0;
        while i < ticks.len() {
            self.unheld().await;
            if i > 0 && replace {
                self.until_due(ticks[i].at).await;
            }
            self.await_proof().await;
            let stop = self.cancel.borrow().or_else(|| self.leadership_lost());
            if let Some(reason) = stop {
                self.give_up(&ticks[i..], reason);
                break;
            }
            // One reading, and no await between it and the run: a tick that a newer tick of the
            // batch, claimed ahead and due by now, replaces is given up — the first tick too —
            // never recorded started with a command that would not be run.
            let now = self.ctx.clock.now();
            let cutoff = self.decided.cutoff(now);
            let first = batch::first_to_start(&ticks, i, now, cutoff, replace);
            self.give_up(&ticks[i..first], AbandonReason::Replaced);
            i = first;
            if !announced {
                announced = true;
                let _ = self.began.send((self.job_idx, self.id));
            }
            let following = ticks.get(i + 1).map(|t| t.at);
            let replaced_at = batch::replaced_at(following, cutoff, replace);
            self.run_tick(ticks[i], replaced_at).await;
            i += 1;
        }
        let _ = self.ended.send(Ended {
            job: self.job_idx,
            id: self.id,
        });
        self.done.send_replace(true);
    }

    /// Waits while the leader holds the execution (a replacing claim is on its way), or until
    /// it is cancelled; a leader gone releases it.
    async fn unheld(&mut self) {
        let mut cancel = self.cancel.clone();
        tokio::select! {
            biased;
            _ = Self::cancelled(&mut cancel) => {}
            _ = self.held.wait_for(|held| !*held) => {}
        }
    }

    /// Waits until `at` is due on the node's clock, or until the execution is cancelled or (at
    /// least once) its leadership lost: under `Replace` a tick of a batch starts no earlier than
    /// it would on its own. The batch was decided on a clock that may have read ahead and come
    /// back since; ticks really missed are due already and run one after another. (Under `Forbid`
    /// the batch runs on: an execution waiting between ticks would count as a run going, and a
    /// tick that came due meanwhile would be skipped for a run that is not there.) Nor does it
    /// wait on a clock that reads more than the clock lag limit before the tick.
    async fn until_due(&mut self, at: jiff::Timestamp) {
        // A clock that reads more than the lag limit before the tick is not believed (the leader
        // steps down for it): the tick, claimed by then, is run as caught up, not held for it.
        let limit = jiff::SignedDuration::try_from(self.ctx.config.clock_lag_limit)
            .unwrap_or(jiff::SignedDuration::MAX);
        if at.duration_since(self.ctx.clock.now()) > limit {
            return;
        }
        let at_least_once = self.job.spec.delivery == Delivery::AtLeastOnce;
        let mut cancel = self.cancel.clone();
        let mut revoked = self.revoked.clone();
        tokio::select! {
            biased;
            _ = Self::cancelled(&mut cancel) => {}
            _ = revoked.wait_for(|r| r.is_some()), if at_least_once => {}
            _ = Self::due(&self.ctx, Some(at)) => {}
        }
    }

    /// Resolves once `at` is due on the node's clock; never when there is no `at`.
    async fn due(ctx: &NodeCtx, at: Option<jiff::Timestamp>) {
        let Some(at) = at else {
            return std::future::pending().await;
        };
        loop {
            let wait = sleep_for(&*ctx.clock, Some(at), ctx.config.clock_recheck);
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// At least once, a lost session ends the run's right to go on; at most once it does not.
    fn leadership_lost(&self) -> Option<AbandonReason> {
        let at_least_once = self.job.spec.delivery == Delivery::AtLeastOnce;
        let lost = self.revoked.borrow().is_some();
        (at_least_once && lost).then_some(AbandonReason::LeadershipLost)
    }

    /// At least once, waits until the lease behind the leadership is proven again or the
    /// leadership is revoked: a node resuming from a pause must not start a tick the next leader
    /// may already have run before its keeper has either renewed the lease or given it up.
    async fn await_proof(&mut self) {
        if self.job.spec.delivery != Delivery::AtLeastOnce {
            return;
        }
        let Some(mut proof) = self.proof.clone() else {
            return;
        };
        let mut revoked = self.revoked.clone();
        while revoked.borrow().is_none() && tokio::time::Instant::now() >= proof.borrow() {
            tokio::select! {
                biased;
                changed = proof.changed() => if changed.is_err() { return },
                changed = revoked.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Resolves with the reason once the execution is cancelled; never, once its leader is gone
    /// without cancelling it (an at-most-once run carrying on past its leadership).
    async fn cancelled(cancel: &mut signal::Receiver<Option<AbandonReason>>) -> AbandonReason {
        match cancel.wait_for(|c| c.is_some()).await {
            Ok(Some(reason)) => reason,
            Ok(None) | Err(_) => std::future::pending().await,
        }
    }

    /// Runs one tick's command to its end, its cancellation, or (`replaced_at`) the moment the
    /// batch's next tick comes due and replaces it.
    async fn run_tick(&mut self, tick: TickRun, replaced_at: Option<jiff::Timestamp>) {
        let job = &self.job.id;
        let token = self.fence.token;
        let attempt = tick.attempt;
        self.ctx.emit(NodeEvent::TickStarted {
            job: job.clone(),
            tick: tick.at,
            token,
            attempt,
        });
        let context = TickContext {
            job: job.clone(),
            tick: TickId {
                job: job.clone(),
                at: tick.at,
            },
            scheduled_at: tick.at,
            fencing_token: token,
            attempt,
        };
        let command = (self.job.command)(context);
        let at_least_once = self.job.spec.delivery == Delivery::AtLeastOnce;
        let mut revoked = self.revoked.clone();
        let result = tokio::select! {
            biased;
            reason = Self::cancelled(&mut self.cancel) => Err(reason),
            _ = revoked.wait_for(|r| r.is_some()), if at_least_once => Err(AbandonReason::LeadershipLost),
            _ = Self::due(&self.ctx, replaced_at) => Err(AbandonReason::Replaced),
            result = command => Ok(result),
        };
        let (outcome, event) = match result {
            Ok(Ok(())) => (
                RunOutcome::Completed,
                NodeEvent::TickCompleted {
                    job: job.clone(),
                    tick: tick.at,
                    token,
                    attempt,
                },
            ),
            Ok(Err(error)) => (
                RunOutcome::Failed,
                NodeEvent::TickFailed {
                    job: job.clone(),
                    tick: tick.at,
                    token,
                    attempt,
                    error: error.to_string(),
                },
            ),
            Err(reason) => {
                let event = NodeEvent::TickCancelled {
                    job: job.clone(),
                    tick: tick.at,
                    token,
                    attempt,
                };
                if reason != AbandonReason::Replaced {
                    // Not committed: an at-least-once tick cut short by its leadership's end or
                    // by shutdown stays in flight and runs again.
                    self.ctx.emit(event);
                    return;
                }
                (RunOutcome::Cancelled, event)
            }
        };
        if self.job.spec.delivery == Delivery::AtLeastOnce && !self.commit(tick, outcome).await {
            return;
        }
        self.ctx.emit(event);
    }

    /// Commits an at-least-once run with its leadership's next commit batch; false if the
    /// commit was refused or never got through.
    async fn commit(&self, tick: TickRun, outcome: RunOutcome) -> bool {
        let commit = Commit {
            job: self.job.id.clone(),
            tick: tick.at,
            outcome,
        };
        let committer = self
            .committer
            .as_ref()
            .expect("an at-least-once execution is given its leadership's committer");
        let mut backoff = self.ctx.backoff();
        loop {
            let mut revoked = self.revoked.clone();
            let result = tokio::select! {
                biased;
                _ = revoked.wait_for(|r| r.is_some()) => {
                    self.uncommitted(tick, "the leadership was lost before the commit got through".into());
                    return false;
                }
                result = committer.commit(commit.clone()) => result,
            };
            match result {
                Ok(()) => return true,
                Err(Error::Fenced { .. }) => {
                    self.ctx.emit(NodeEvent::TickFencedOut {
                        job: self.job.id.clone(),
                        tick: tick.at,
                        token: self.fence.token,
                        operation: FencedOperation::Commit,
                    });
                    return false;
                }
                Err(error) if error.is_transient() && self.may_retry_commit() => {
                    tracing::warn!(node = %self.ctx.config.name, job = %self.job.id, tick = %tick.at, %error, "commit failed; retrying");
                    // Retried until the run is cancelled: a shutdown's grace lets it land.
                    let mut cancel = self.cancel.clone();
                    let cancelled = tokio::select! {
                        biased;
                        _ = tokio::time::sleep(backoff.next_delay()) => false,
                        _ = Self::cancelled(&mut cancel) => true,
                    };
                    if cancelled {
                        self.uncommitted(tick, format!("{error}; the run was cancelled"));
                        return false;
                    }
                }
                Err(error) => {
                    self.uncommitted(tick, error.to_string());
                    return false;
                }
            }
        }
    }

    /// A commit is retried while the leadership stands and its end has not cancelled this run.
    fn may_retry_commit(&self) -> bool {
        self.revoked.borrow().is_none() && self.cancel.borrow().is_none()
    }

    fn uncommitted(&self, tick: TickRun, reason: String) {
        tracing::warn!(node = %self.ctx.config.name, job = %self.job.id, tick = %tick.at, %reason, "run not committed; the tick will run again under the next leadership");
        self.ctx.emit(NodeEvent::TickUncommitted {
            job: self.job.id.clone(),
            tick: tick.at,
            token: self.fence.token,
            attempt: tick.attempt,
            reason,
        });
    }

    /// Gives up `ticks`, none of them begun, for `reason`. At least once, a tick replaced before
    /// it began is settled as a replaced run is, committed `Cancelled` (in the background, so the
    /// replacing run starts on time): left in flight, no later tick of this leadership would
    /// ever run it, and the next leadership would run it whenever it came, long after newer
    /// ticks replaced it. A tick given up with its leadership or for shutdown stays in flight
    /// and runs again.
    fn give_up(&self, ticks: &[TickRun], reason: AbandonReason) {
        self.abandon_rest(ticks, reason);
        let at_least_once = self.job.spec.delivery == Delivery::AtLeastOnce;
        if reason != AbandonReason::Replaced || !at_least_once || ticks.is_empty() {
            return;
        }
        let committer = self
            .committer
            .clone()
            .expect("an at-least-once execution is given its leadership's committer");
        // One task a tick, all queued at once: the committer sends them as one batch.
        for tick in ticks {
            let commit = Commit {
                job: self.job.id.clone(),
                tick: tick.at,
                outcome: RunOutcome::Cancelled,
            };
            let (ctx, revoked) = (self.ctx.clone(), self.revoked.clone());
            tokio::spawn(settle_replaced(ctx, committer.clone(), revoked, commit));
        }
    }

    fn abandon_rest(&self, ticks: &[TickRun], reason: AbandonReason) {
        for tick in ticks {
            self.ctx.emit(NodeEvent::TicksAbandoned {
                job: self.job.id.clone(),
                first: tick.at,
                last: tick.at,
                count: 1,
                reason,
                token: self.fence.token,
            });
        }
    }
}

/// Commits a tick replaced before it began as `Cancelled`, retrying a transient failure while
/// the leadership stands. A commit that cannot land leaves its tick in flight for the next
/// leadership, which is where a lost or fenced leadership leaves it anyway.
async fn settle_replaced(
    ctx: Arc<NodeCtx>,
    committer: Committer,
    mut revoked: signal::Receiver<Option<Revocation>>,
    commit: Commit,
) {
    let mut backoff = ctx.backoff();
    loop {
        let result = tokio::select! {
            biased;
            _ = revoked.wait_for(|r| r.is_some()) => return,
            result = committer.commit(commit.clone()) => result,
        };
        match result {
            Ok(()) => return,
            Err(error) if error.is_transient() => {
                tracing::warn!(node = %ctx.config.name, job = %commit.job, tick = %commit.tick, %error, "settling a replaced tick failed; retrying");
                tokio::select! {
                    biased;
                    _ = revoked.wait_for(|r| r.is_some()) => return,
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                }
            }
            Err(error) => {
                tracing::warn!(node = %ctx.config.name, job = %commit.job, tick = %commit.tick, %error, "a replaced tick stays in flight for the next leadership");
                return;
            }
        }
    }
}

#[cfg(test)]
#[path = "execution_tests.rs"]
mod tests;

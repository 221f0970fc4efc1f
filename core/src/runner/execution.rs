//! Executions: running a job's command for claimed ticks, and recording how each run ended.
//!
//! One execution runs one or more claimed ticks of one job in order (several when a catch-up
//! batch runs under overlap `Forbid`/`Replace`). Before each tick it checks that the leadership
//! still stands and that it was not cancelled; ticks it does not start are reported abandoned.
//! An at-least-once run is committed (fenced) by the execution itself, so a run that outlives its
//! leadership still records honestly that its commit was refused.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::signal;

use super::NodeCtx;
use crate::elector::{Fence, Revocation};
use crate::event::{FencedOperation, NodeEvent};
use crate::job::{Job, TickContext, TickId};
use crate::plan::{AbandonReason, TickRun};
use crate::policy::Delivery;
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
    /// Set to the reason when the execution must stop (`Replaced` or `Shutdown`).
    pub(crate) cancel: signal::Receiver<Option<AbandonReason>>,
    pub(crate) revoked: signal::Receiver<Option<Revocation>>,
    /// Told this execution's id just before its first command begins (overlap decisions).
    pub(crate) began: mpsc::UnboundedSender<u64>,
    pub(crate) ended: mpsc::UnboundedSender<Ended>,
}

impl Execution {
    pub(crate) async fn run(mut self) {
        let ticks = std::mem::take(&mut self.ticks);
        for (i, tick) in ticks.iter().enumerate() {
            let stop = self.cancel.borrow().or_else(|| {
                self.revoked
                    .borrow()
                    .as_ref()
                    .map(|_| AbandonReason::LeadershipLost)
            });
            if let Some(reason) = stop {
                self.abandon_rest(&ticks[i..], reason);
                break;
            }
            if i == 0 {
                let _ = self.began.send(self.id);
            }
            self.run_tick(*tick).await;
        }
        let _ = self.ended.send(Ended {
            job: self.job_idx,
            id: self.id,
        });
    }

    async fn run_tick(&mut self, tick: TickRun) {
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
        let result = tokio::select! {
            biased;
            reason = self.cancel.wait_for(|c| c.is_some()) => Err(reason.ok().flatten()),
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
                if reason == Some(AbandonReason::Shutdown) {
                    // Not committed: an at-least-once tick cut short by shutdown runs again.
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

    /// Commits an at-least-once run; false if the commit was refused or never got through.
    async fn commit(&self, tick: TickRun, outcome: RunOutcome) -> bool {
        let commit = [Commit {
            job: self.job.id.clone(),
            tick: tick.at,
            outcome,
        }];
        let mut backoff = self.ctx.backoff();
        loop {
            self.ctx.emit(NodeEvent::CommitsSent {
                token: self.fence.token,
                commits: commit.to_vec(),
            });
            let call = self
                .ctx
                .call("commit runs", self.ctx.backend.commit(&self.fence, &commit));
            let mut revoked = self.revoked.clone();
            let result = tokio::select! {
                biased;
                _ = revoked.wait_for(|r| r.is_some()) => {
                    tracing::warn!(node = %self.ctx.config.name, job = %self.job.id, tick = %tick.at, "leadership lost before the commit got through; the tick will run again under the next leadership");
                    return false;
                }
                result = call => result,
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
                Err(error) if error.is_transient() && self.revoked.borrow().is_none() => {
                    if self.ctx.sleep_unless_stopping(backoff.next_delay()).await {
                        return false;
                    }
                }
                Err(error) => {
                    tracing::warn!(node = %self.ctx.config.name, job = %self.job.id, tick = %tick.at, %error, "commit failed; the tick will run again under the next leadership");
                    return false;
                }
            }
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

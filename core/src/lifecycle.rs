//! The leadership lifecycle: one leadership of one election on one node, from its win to its end,
//! as a sans-IO state machine.
//!
//! [`crate::plan`] decides what to do with ticks; this module decides what to do with a
//! leadership. The runner feeds it what happened ([`Input`]) and carries out what it returns
//! ([`Action`]); it never decides an end on its own. A leadership is `Won`, then `Renewing` while
//! it leads. Every end goes through [`Lifecycle::on`] with an [`EndCause`], which says what
//! happens to the leadership's running and claimed ticks ([`RunsAtEnd`]), whether it resigns, what
//! a failed resign does, and where the election loop goes next ([`After`]). The end states are
//! `Revoked`, `Resigned`, `SteppedDown`, `Superseded` and `ShutDown`.
//!
//! The rules for runs, whatever ends the leadership:
//! - a run's tick stays in flight until its outcome is committed, and a commit needs the
//!   leadership; so every **at-least-once** run is cancelled when its leadership ends, *before* the
//!   leadership is let go, and nothing is committed for it: the next leadership runs it again;
//! - an **at-most-once** tick was claimed before it started, so nobody else will run it: its run,
//!   and the rest of its catch-up batch, carry on to their end;
//! - only shutdown differs: every run first gets the grace period to finish (at least once, it
//!   can still commit), then whatever is left is cancelled, uncommitted.
//!
//! A resign that fails is retried until it is answered or the session is lost, because a node
//! that still renews its session keeps its election: nobody else could lead. Only shutdown does
//! not retry: closing (or dropping) the session follows at once. A step-down for the clock sits
//! out at most one lease TTL (or until the clock catches up), and happens once per checkpoint;
//! its repeats, while the clock stays behind, wait until no at-least-once run would be cut
//! ([`steps_down_for_clock`]).

use std::time::Duration;

use jiff::Timestamp;

use crate::plan::AbandonReason;
use crate::policy::Delivery;

/// Why a leadership ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndCause {
    /// The node is shutting down.
    Shutdown,
    /// The session behind the leadership was lost (the reason, as reported).
    SessionLost(String),
    /// A fenced operation was refused: a newer leadership exists.
    Fenced,
    /// The node's clock reads more than the lag limit before the newest claimed tick.
    ClockBehind {
        /// The newest claimed tick.
        checkpoint: Timestamp,
    },
    /// The backend holds a newer definition of one of the election's jobs.
    Superseded,
}

/// Where a leadership is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The campaign was won; checkpoints are not read yet.
    Won,
    /// Leading: claiming and running ticks while the session is renewed.
    Renewing,
    /// Ended; its runs are being settled before the leadership is let go.
    Settling(EndCause),
    /// Runs settled; a resign is out (`attempt` counts from 1).
    Resigning {
        /// Why the leadership ended.
        cause: EndCause,
        /// Which resign this is.
        attempt: u32,
    },
    /// Over: the session was lost, so there is nothing to resign.
    Revoked,
    /// Over: fenced out by a newer leadership, and resigned (or its session lost meanwhile).
    Resigned,
    /// Over: stepped down because the clock reads too far before `checkpoint`.
    SteppedDown {
        /// The newest claimed tick.
        checkpoint: Timestamp,
    },
    /// Over: a newer definition of a job exists; the node leaves the election for good.
    Superseded,
    /// Over: the node shut down.
    ShutDown,
}

/// What happens to a leadership's runs when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunsAtEnd {
    /// Every run may finish for this long before the cancellation (shutdown only).
    pub drain: Option<Duration>,
    /// Which runs are then cancelled.
    pub cancel: Cancel,
    /// The reason cancelled runs, and the unstarted ticks of their batches, record.
    pub reason: AbandonReason,
}

/// Which runs a leadership's end cancels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// Every run still going.
    All,
    /// At-least-once runs only; at-most-once runs carry on.
    AtLeastOnce,
}

impl RunsAtEnd {
    /// Whether a run of a job with `delivery` is cancelled.
    pub fn cancels(&self, delivery: Delivery) -> bool {
        match self.cancel {
            Cancel::All => true,
            Cancel::AtLeastOnce => delivery == Delivery::AtLeastOnce,
        }
    }
}

/// Where the election loop goes once a leadership is over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    /// Campaign again on the same session.
    CampaignAgain,
    /// Wait until the clock is within the lag limit of `checkpoint`, then campaign again.
    WaitForClock {
        /// The newest claimed tick.
        checkpoint: Timestamp,
    },
    /// Leave this election: the session is lost (the caller opens a new one), or the node shuts
    /// down, or a job was superseded (for good).
    Leave,
}

/// What happened, as the runner reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The checkpoints were read; the node leads.
    Leading,
    /// The leadership ended.
    Ended(EndCause),
    /// The runs were settled as [`Action::SettleRuns`] asked.
    RunsSettled,
    /// The backend confirmed the resign.
    ResignDone,
    /// The resign failed or went unanswered.
    ResignFailed,
    /// The session was lost (while resigning, say).
    SessionLost,
}

/// What the runner must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read the checkpoints and lead.
    Lead,
    /// Settle the runs as told, then report [`Input::RunsSettled`].
    SettleRuns(RunsAtEnd),
    /// Resign, then report [`Input::ResignDone`] or [`Input::ResignFailed`]; on a retry, after a
    /// backoff delay.
    Resign {
        /// Which attempt this is (from 1).
        attempt: u32,
    },
    /// The leadership is over; go on as told.
    Over(After),
    /// Nothing to do for this input.
    Nothing,
}

/// One leadership's lifecycle.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    phase: Phase,
    shutdown_grace: Duration,
    resign_on_step_down: bool,
}

impl Lifecycle {
    /// A leadership just won; `shutdown_grace` is what runs get on shutdown.
    pub fn won(shutdown_grace: Duration) -> Self {
        Lifecycle {
            phase: Phase::Won,
            shutdown_grace,
            resign_on_step_down: true,
        }
    }

    /// **Known-bad variant:** a step-down for the clock keeps the leadership (no resign).
    #[doc(hidden)]
    pub fn without_resign_on_step_down(mut self) -> Self {
        self.resign_on_step_down = false;
        self
    }

    /// Where the leadership is.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// True once the leadership is over.
    pub fn is_over(&self) -> bool {
        !matches!(
            self.phase,
            Phase::Won | Phase::Renewing | Phase::Settling(_) | Phase::Resigning { .. }
        )
    }

    /// Takes one input and returns what to do. Inputs that do not apply in the current phase
    /// (a second end, a late resign answer) change nothing.
    pub fn on(&mut self, input: Input) -> Action {
        match (&self.phase, input) {
            (Phase::Won, Input::Leading) => {
                self.phase = Phase::Renewing;
                Action::Lead
            }
            (Phase::Won | Phase::Renewing, Input::Ended(cause)) => {
                let runs = self.runs_at_end(&cause);
                self.phase = Phase::Settling(cause);
                Action::SettleRuns(runs)
            }
            (Phase::Settling(cause), Input::RunsSettled) => {
                let cause = cause.clone();
                if self.resigns(&cause) {
                    self.phase = Phase::Resigning { cause, attempt: 1 };
                    Action::Resign { attempt: 1 }
                } else {
                    self.over(cause)
                }
            }
            (Phase::Resigning { cause, .. }, Input::ResignDone | Input::SessionLost) => {
                let cause = cause.clone();
                self.over(cause)
            }
            (Phase::Resigning { cause, attempt }, Input::ResignFailed) => {
                let (cause, attempt) = (cause.clone(), attempt + 1);
                if cause == EndCause::Shutdown {
                    // Closing the session follows; if that fails too, the process is going and
                    // its lease expires.
                    return self.over(cause);
                }
                self.phase = Phase::Resigning { cause, attempt };
                Action::Resign { attempt }
            }
            _ => Action::Nothing,
        }
    }

    fn runs_at_end(&self, cause: &EndCause) -> RunsAtEnd {
        match cause {
            EndCause::Shutdown => RunsAtEnd {
                drain: Some(self.shutdown_grace),
                cancel: Cancel::All,
                reason: AbandonReason::Shutdown,
            },
            _ => RunsAtEnd {
                drain: None,
                cancel: Cancel::AtLeastOnce,
                reason: AbandonReason::LeadershipLost,
            },
        }
    }

    fn resigns(&self, cause: &EndCause) -> bool {
        match cause {
            EndCause::SessionLost(_) => false,
            EndCause::ClockBehind { .. } => self.resign_on_step_down,
            EndCause::Shutdown | EndCause::Fenced | EndCause::Superseded => true,
        }
    }

    fn over(&mut self, cause: EndCause) -> Action {
        let (phase, after) = match cause {
            EndCause::Shutdown => (Phase::ShutDown, After::Leave),
            EndCause::SessionLost(_) => (Phase::Revoked, After::Leave),
            EndCause::Fenced => (Phase::Resigned, After::CampaignAgain),
            EndCause::ClockBehind { checkpoint } => (
                Phase::SteppedDown { checkpoint },
                After::WaitForClock { checkpoint },
            ),
            EndCause::Superseded => (Phase::Superseded, After::Leave),
        };
        self.phase = phase;
        Action::Over(after)
    }
}

/// Whether a leader steps down for its clock: its clock reads more than `lag_limit` before
/// `newest`, the newest tick its election claimed, and it has not already stepped down for that
/// very checkpoint (`stepped_down_for`).
///
/// From inside, "my clock went back" and "that checkpoint was claimed by a clock that ran ahead"
/// look the same. A step-down hands the election to a node whose clock may be right, and that
/// node, leading, moves the checkpoint on. If this node wins again and the checkpoint has not
/// moved, nobody did better: stepping down again would leave the election leaderless until true
/// time reaches the checkpoint, so it leads on, and the ticks after the checkpoint run when its
/// clock reaches them (those up to the checkpoint were claimed already).
///
/// Leading on is not for good: while its clock is still behind, the leader steps down again once
/// it has led for `lease_ttl` (`led_for`), without sitting out, so a node with a better clock that
/// campaigns meanwhile wins the election. That repeat is a guess, not news, so it waits for a
/// moment when it cuts no run: while an at-least-once run is going (`runs_at_stake`) it is put
/// off, since ending the leadership would cancel the run, and a run longer than the lease TTL
/// would be cut at every repeat and never complete. The first step-down for a checkpoint does not
/// wait: a clock that went back is news.
pub fn steps_down_for_clock(
    now: Timestamp,
    newest: Timestamp,
    lag_limit: Duration,
    stepped_down_for: Option<Timestamp>,
    led_for: Duration,
    lease_ttl: Duration,
    runs_at_stake: bool,
) -> bool {
    let Ok(limit) = jiff::SignedDuration::try_from(lag_limit) else {
        return false;
    };
    let behind = newest.duration_since(now) > limit;
    let repeat_due = led_for >= lease_ttl && !runs_at_stake;
    behind && (stepped_down_for != Some(newest) || repeat_due)
}

#[cfg(test)]
mod tests;

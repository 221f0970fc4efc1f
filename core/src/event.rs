//! Node events: one record for every decision the runner takes, for histories and observers.
//!
//! Every event is also emitted as a `tracing` event. An [`EventSink`] receives them synchronously,
//! in the order they happen on the node, which is what the simulator's history recorder needs.
//! This module defines the vocabulary only; the runner decides when each event happens.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::elector::{ElectionName, FencingToken};
use crate::job::JobId;
use crate::plan::AbandonReason;
use crate::store::Checkpoint;

/// The clock evidence a leader decided a claim batch on: the instant its give-ups were judged at
/// and the age of the reading that vouches for it ([`crate::clock::Reading`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockEvidence {
    /// The evidence: ticks are given up as missed or late only if they are by this instant.
    pub at: Timestamp,
    /// How long before the decision the reading the evidence vouches from was taken.
    pub witness_age: Duration,
    /// What the clock said at that reading: the evidence is never later than this moved on by
    /// `witness_age`, and a witness younger than the evidence window is the node's start
    /// reading (`node_started`'s `since`), known by this value. Histories recorded before it
    /// was named read as the earliest instant, which vouches for nothing.
    #[serde(default = "no_witness")]
    pub witness: Timestamp,
}

/// The witness of evidence recorded without one: no evidence rests on it.
fn no_witness() -> Timestamp {
    Timestamp::MIN
}

/// Which fenced operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FencedOperation {
    /// Claiming a tick.
    Claim,
    /// Committing a finished run.
    Commit,
}

/// Why a tick was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// An earlier run of the job was still going (overlap `Forbid`).
    Overlap,
}

/// Something a node did or saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum NodeEvent {
    /// The node began campaigning.
    CampaignStarted {
        /// The election.
        election: ElectionName,
    },
    /// The node won.
    CampaignWon {
        /// The election.
        election: ElectionName,
        /// The leadership's token.
        token: FencingToken,
    },
    /// The campaign ended without winning (backend error, session lost).
    CampaignLost {
        /// The election.
        election: ElectionName,
        /// Why.
        reason: String,
    },
    /// Leadership ended without resigning.
    LeadershipRevoked {
        /// The election.
        election: ElectionName,
        /// The token that ended.
        token: FencingToken,
        /// Why.
        reason: String,
    },
    /// This node's clock reads far before the newest claimed tick (it went backwards): it steps
    /// down and sits out until its clock catches up.
    ClockBehind {
        /// The election stepped down from.
        election: ElectionName,
        /// The newest claimed tick.
        checkpoint: Timestamp,
        /// This node's clock when it noticed.
        clock: Timestamp,
    },
    /// Leadership was given up on purpose.
    Resigned {
        /// The election.
        election: ElectionName,
        /// The token given up.
        token: FencingToken,
    },
    /// A resign failed or went unanswered; the leadership's lifecycle says whether it is tried
    /// again (it is, until answered, unless the node is shutting down or its session is lost).
    ResignFailed {
        /// The election.
        election: ElectionName,
        /// The token being given up.
        token: FencingToken,
        /// Why it failed.
        error: String,
    },
    /// A claim batch is about to be sent: the backend may apply it even if this node never
    /// hears back (it crashes, or loses its leadership while waiting).
    ClaimsSent {
        /// The claiming token.
        token: FencingToken,
        /// The claims, as sent.
        claims: Vec<crate::store::Claim>,
        /// The clock evidence the batch was decided on (absent in histories that predate it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<ClockEvidence>,
    },
    /// A commit batch is about to be sent (at-least-once runs).
    CommitsSent {
        /// The committing token.
        token: FencingToken,
        /// The commits, as sent.
        commits: Vec<crate::store::Commit>,
    },
    /// A tick was claimed for running.
    TickClaimed {
        /// The job.
        job: JobId,
        /// The tick's scheduled instant.
        tick: Timestamp,
        /// The claiming token.
        token: FencingToken,
        /// The attempt claimed.
        attempt: u32,
    },
    /// A fenced operation on a tick was refused: this node is no longer the leader.
    TickFencedOut {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The stale token.
        token: FencingToken,
        /// Claim or commit.
        operation: FencedOperation,
    },
    /// The command for a tick started.
    TickStarted {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The token.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
    /// The command returned `Ok` (and, for at-least-once, the commit succeeded).
    TickCompleted {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The token.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
    /// The command returned an error.
    TickFailed {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The token.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
        /// The command's error.
        error: String,
    },
    /// The run was cancelled: by overlap `Replace` (at least once, committed `cancelled`), or
    /// uncommitted because its leadership ended or the node shut down (it runs again at least
    /// once).
    TickCancelled {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The token.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
    /// An at-least-once run ended but its outcome was not committed (the leadership ended, or the
    /// commit failed for good): the tick stays in flight and the next leadership runs it again.
    TickUncommitted {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The token.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
        /// Why the outcome was not committed.
        reason: String,
    },
    /// Consecutive ticks were given up without running.
    TicksAbandoned {
        /// The job.
        job: JobId,
        /// The oldest tick given up.
        first: Timestamp,
        /// The newest tick given up.
        last: Timestamp,
        /// How many.
        count: u64,
        /// Why.
        reason: AbandonReason,
        /// The leadership that gave them up.
        token: FencingToken,
    },
    /// A tick was skipped.
    TickSkipped {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// Why.
        reason: SkipReason,
        /// The leadership that skipped it.
        token: FencingToken,
    },
    /// The backend refused a job's definition; the node will not run it.
    JobRejected {
        /// The job.
        job: JobId,
        /// The refusal.
        error: String,
    },
    /// Every backend call has failed for longer than the configured bound.
    BackendUnreachable {
        /// The last operation that failed.
        operation: String,
        /// The last error.
        error: String,
        /// How long calls have been failing.
        down_for: Duration,
    },
    /// The backend answers again after being reported unreachable.
    BackendRecovered {
        /// How long it was unreachable.
        down_for: Duration,
    },
    /// A new leadership read its jobs' checkpoints, before claiming anything: what the backend
    /// held then (a commit whose answer was lost shows here as applied or not).
    CheckpointsRead {
        /// The election.
        election: ElectionName,
        /// The leadership's token.
        token: FencingToken,
        /// The checkpoints, one per job it leads.
        checkpoints: Vec<Checkpoint>,
    },
    /// The node started: it defines its jobs as of `since`, its clock reading at start (no tick
    /// before the first start of any node is any node's to run).
    NodeStarted {
        /// The start reading.
        since: Timestamp,
    },
    /// The registry answered the node's registration of its jobs (as of its start reading
    /// `since`); the outcome of each job is in the log and in `job_rejected` events.
    JobsRegistered {
        /// The start reading the jobs were registered as of.
        since: Timestamp,
    },
}

/// Receives every event of one node, synchronously and in order.
pub trait EventSink: Send + Sync {
    /// Records one event.
    fn record(&self, event: &NodeEvent);
}

/// A sink that keeps nothing (events still go to `tracing`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn record(&self, _event: &NodeEvent) {}
}

impl<F: Fn(&NodeEvent) + Send + Sync> EventSink for F {
    fn record(&self, event: &NodeEvent) {
        self(event)
    }
}

//! The in-memory backend's wire protocol: one request enum, one response enum.
//!
//! Both are plain serde types so the same backend can be reached in-process (a function call) or
//! over a simulated network (the simulator puts the backend on its own node). Domain refusals are
//! data ([`Refusal`]), not transport failures; the client turns them into [`crate::Error`]s.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::elector::{ElectionName, Fence, FencingToken, LeaderInfo};
use crate::job::{JobId, JobSpec};
use crate::store::{Checkpoint, Claim, Commit, Registration};

/// A call to the in-memory backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Grant a lease of `ttl`.
    Grant {
        /// The lease's time-to-live.
        ttl: Duration,
    },
    /// Renew a lease for another TTL.
    KeepAlive {
        /// The lease.
        lease: u64,
    },
    /// Revoke a lease and every leadership that hangs on it.
    Revoke {
        /// The lease.
        lease: u64,
    },
    /// Take `election` if nobody holds it.
    Campaign {
        /// The election.
        election: ElectionName,
        /// The candidate's lease.
        lease: u64,
        /// The candidate's value.
        value: String,
        /// The client's number for this request, increasing in the order it sends them: a
        /// campaign numbered before the lease's last resign of `election` was given up by its
        /// sender, and is refused ([`Refusal::Withdrawn`]).
        seq: u64,
    },
    /// Give up `election` if `lease` holds it, and refuse every campaign of `lease` for it sent
    /// before this request.
    Resign {
        /// The election.
        election: ElectionName,
        /// The holder's lease.
        lease: u64,
        /// The client's number for this request (see [`Request::Campaign`]).
        seq: u64,
    },
    /// Revoke the lease holding `election` if it holds it under `value` but is not `lease`: a
    /// session the node named `value` left behind ([`crate::Elector::withdraw_predecessors`]).
    WithdrawPredecessors {
        /// The election.
        election: ElectionName,
        /// The caller's own lease, never revoked.
        lease: u64,
        /// The caller's value, its node name.
        value: String,
    },
    /// Who holds `election`.
    Leader {
        /// The election.
        election: ElectionName,
    },
    /// Answer when the holder of `election` differs from `seen`, or after `max_wait`.
    Observe {
        /// The election.
        election: ElectionName,
        /// The holder the caller already knows of.
        seen: Option<LeaderInfo>,
        /// The longest the backend holds the call open.
        max_wait: Duration,
    },
    /// Register job definitions; `now` is the caller's clock reading.
    Register {
        /// The definitions, each with the election the caller runs it in.
        jobs: Vec<(JobId, JobSpec, ElectionName)>,
        /// The caller's clock.
        now: Timestamp,
    },
    /// Read checkpoints.
    Checkpoints {
        /// The jobs, answered in this order.
        jobs: Vec<JobId>,
    },
    /// Read the registered definition version of each job.
    SpecVersions {
        /// The jobs, answered in this order.
        jobs: Vec<JobId>,
    },
    /// Fenced batch claim.
    Claim {
        /// The caller's leadership.
        fence: Fence,
        /// The ticks.
        claims: Vec<Claim>,
        /// The client's increasing request number: a claim older than one its leadership had
        /// applied since is a copy its sender gave up on ([`Refusal::Stale`]).
        seq: u64,
    },
    /// Fenced batch commit.
    Commit {
        /// The caller's leadership.
        fence: Fence,
        /// The finished runs.
        commits: Vec<Commit>,
    },
}

impl Request {
    /// A short name for error messages.
    pub fn operation(&self) -> &'static str {
        match self {
            Request::Grant { .. } => "grant lease",
            Request::KeepAlive { .. } => "keep lease alive",
            Request::Revoke { .. } => "revoke lease",
            Request::Campaign { .. } => "campaign",
            Request::Resign { .. } => "resign",
            Request::WithdrawPredecessors { .. } => "withdraw predecessors",
            Request::Leader { .. } => "read leader",
            Request::Observe { .. } => "observe leader",
            Request::Register { .. } => "register jobs",
            Request::Checkpoints { .. } => "read checkpoints",
            Request::SpecVersions { .. } => "read spec versions",
            Request::Claim { .. } => "claim ticks",
            Request::Commit { .. } => "commit runs",
        }
    }
}

/// The backend's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// A lease was granted.
    Granted {
        /// Its id.
        lease: u64,
    },
    /// The request was carried out.
    Done,
    /// The campaign won.
    Won {
        /// The new leadership's token.
        token: FencingToken,
    },
    /// Someone else holds the election.
    Held {
        /// The holder.
        leader: LeaderInfo,
    },
    /// The holder of an election.
    Leader(Option<LeaderInfo>),
    /// One result per registered job.
    Registered(Vec<Result<Registration, RegisterRefusal>>),
    /// Checkpoints, in request order.
    Checkpoints(Vec<Checkpoint>),
    /// Registered definition versions, in request order.
    SpecVersions(Vec<u64>),
    /// The request was refused.
    Refused(Refusal),
}

/// Why the backend refused a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Refusal {
    /// The fence is not the election's current leadership.
    Fenced {
        /// The token currently holding the election.
        current: Option<FencingToken>,
    },
    /// The lease does not exist (expired or revoked).
    LeaseLost {
        /// The lease.
        lease: u64,
    },
    /// A campaign sent before its lease's last resign of the election: its sender gave up on it
    /// (it timed out) and may have left the election since, so winning would hold the election
    /// for a node that no longer leads it.
    Withdrawn {
        /// The election.
        election: ElectionName,
    },
    /// A claim sent before another of the same leadership that was applied: its sender gave up
    /// on it (it timed out and claimed afresh), so applying it would undo the newer claim.
    Stale,
    /// A TTL below the backend's minimum.
    TtlTooShort {
        /// The minimum.
        min: Duration,
    },
    /// A job that was never registered.
    UnknownJob {
        /// The job.
        job: JobId,
    },
    /// A tick at or before the checkpoint that is not in flight.
    AlreadyClaimed {
        /// The job.
        job: JobId,
        /// The tick.
        tick: Timestamp,
        /// The job's last claimed tick.
        checkpoint: Timestamp,
    },
    /// The claim's fence is of another election than the one the job is registered in.
    ElectionMismatch {
        /// The job.
        job: JobId,
        /// The job's registered election.
        registered: ElectionName,
    },
    /// The claim's spec version is older than the registered one.
    SpecSuperseded {
        /// The job.
        job: JobId,
        /// The registered version.
        registered: u64,
        /// The claim's version.
        local: u64,
    },
}

/// Why one job's registration was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RegisterRefusal {
    /// A different definition is registered at the same version.
    Mismatch {
        /// The registered definition.
        registered: JobSpec,
    },
    /// A newer version is registered.
    Superseded {
        /// The registered version.
        registered: u64,
    },
    /// The job is registered in another election.
    ElectionMismatch {
        /// The registered election.
        registered: ElectionName,
    },
}

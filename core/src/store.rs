//! Checkpoints and the job-spec registry: the [`TickStore`] and [`JobRegistry`] traits.
//!
//! A job's [`Checkpoint`] records its last claimed tick and the at-least-once ticks that were
//! claimed but not yet committed. It changes only through *fenced* batch operations, which the
//! backend refuses with [`crate::Error::Fenced`] when the caller's token is no longer current.
//! The registry holds the one agreed [`JobSpec`] per job. Backends implement both traits; the
//! [`Backend`] trait bundles them with [`Elector`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::elector::{ElectionName, Elector, Fence};
use crate::error::Result;
use crate::job::{JobId, JobSpec};

/// A job's progress as the backend records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The job.
    pub job: JobId,
    /// When the job was first registered: the start of the first node to register it (its
    /// clock, [`crate::Node::jobs_since`]), not when the backend answered. Ticks before it are
    /// never caught up on.
    pub registered_at: Timestamp,
    /// The newest tick claimed (run or dropped), if any.
    pub last_claimed: Option<Timestamp>,
    /// At-least-once ticks claimed but not committed, with the attempt that claimed them.
    pub in_flight: Vec<(Timestamp, u32)>,
}

/// What a claim does with a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// The leader will run it (at-most-once: this claim is the checkpoint).
    Run {
        /// The attempt number being started.
        attempt: u32,
    },
    /// The leader will run it and commit afterwards (at-least-once: tracked as in flight).
    RunThenCommit {
        /// The attempt number being started.
        attempt: u32,
    },
    /// The leader will not run it (abandoned or skipped): only the checkpoint moves.
    Drop,
}

/// One tick claimed by a leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The job.
    pub job: JobId,
    /// The tick's scheduled instant.
    pub tick: Timestamp,
    /// The spec version the leader runs; a claim from an outdated version is refused.
    pub spec_version: u64,
    /// Run or drop.
    pub kind: ClaimKind,
}

/// How a run ended, as committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The command returned `Ok`.
    Completed,
    /// The command returned an error (recorded; not retried by cronfence).
    Failed,
    /// The run was cancelled (overlap `Replace`, or shutdown).
    Cancelled,
}

/// One finished run committed by a leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The job.
    pub job: JobId,
    /// The tick's scheduled instant.
    pub tick: Timestamp,
    /// How the run ended.
    pub outcome: RunOutcome,
}

/// Fenced, batched checkpoint storage.
#[async_trait::async_trait]
pub trait TickStore: Send + Sync {
    /// Reads the checkpoints of `jobs`, in the same order; unregistered jobs are an error.
    async fn checkpoints(&self, jobs: &[JobId]) -> Result<Vec<Checkpoint>>;

    /// Claims every tick in `claims` in one backend operation, all or nothing. Fails with
    /// `Fenced` if `fence` is no longer the current leadership of its election.
    async fn claim(&self, fence: &Fence, claims: &[Claim]) -> Result<()>;

    /// Commits finished runs in one backend operation, fenced like [`TickStore::claim`].
    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()>;

    /// Whether a leadership's claims and commits must go one at a time: true where fenced
    /// writes sent side by side compare the values each other change and only refuse each other
    /// (etcd's transactions). The runner then sends them in turns, at the cost of a claim
    /// waiting for a commit's round trip.
    fn writes_take_turns(&self) -> bool {
        false
    }
}

/// The outcome of registering one job definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// This node was first: its definition is now the registered one.
    Created,
    /// The backend already held the same definition.
    Matched,
    /// This node's definition has a higher version and replaced the registered one.
    Upgraded {
        /// The version it replaced.
        from: u64,
    },
}

/// The registry of agreed job definitions.
#[async_trait::async_trait]
pub trait JobRegistry: Send + Sync {
    /// Registers every `(id, spec, election)` in one backend operation; `now` is the caller's
    /// clock reading, kept as the job's registration time, and `election` the election the
    /// caller runs the job in, kept by the first registration. Each job gets its own result:
    /// `JobSpecMismatch` for a different definition at the same version, `SpecSuperseded` when
    /// the backend holds a newer version, `ElectionMismatch` when the job belongs to another
    /// election. Claims are then refused from any other election, so tokens of two elections
    /// never meet on one job.
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec, ElectionName)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>>;

    /// Reads the version of each job's registered definition, in the same order; unregistered
    /// jobs are an error. A read only: a leader asks it between ticks to learn that a newer
    /// definition was registered, and hands its election over before the next tick is due
    /// rather than when its claim of that tick is refused.
    async fn spec_versions(&self, jobs: &[JobId]) -> Result<Vec<u64>>;
}

/// Everything a node needs from one backend: elections, checkpoints and the registry.
pub trait Backend: Elector + TickStore + JobRegistry {}

impl<T: Elector + TickStore + JobRegistry + ?Sized> Backend for T {}

//! Elections: the [`Elector`] trait every backend implements, and what winning hands back.
//!
//! A node opens a [`Session`] (a lease the backend expires unless kept alive), campaigns in named
//! elections with it, and on winning receives a [`Leadership`]: a [`FencingToken`] strictly
//! increasing per election and a revocation signal that fires when the session is lost. This
//! module defines the contract only; the in-memory backend lives in [`crate::memory`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::signal;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::job::JobId;

/// A strictly increasing number per election: every win gets a larger one than all before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The name of an election in a backend.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ElectionName(pub Arc<str>);

impl ElectionName {
    /// Wraps a name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ElectionName(name.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ElectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How jobs map to elections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElectionScope {
    /// One election per group: its leader runs every job of the group.
    #[default]
    Group,
    /// One election per job (go-micro's choice): spreads jobs over nodes.
    PerJob,
}

impl ElectionScope {
    /// The election that decides who runs `job` in `group`.
    pub fn election_for(self, group: &str, job: &JobId) -> ElectionName {
        match self {
            ElectionScope::Group => ElectionName::new(group),
            ElectionScope::PerJob => ElectionName::new(format!("{group}.job.{job}")),
        }
    }
}

/// Who holds an election, as the backend reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The value the leader campaigned with (cronfence uses the node name).
    pub value: String,
    /// The leader's fencing token.
    pub token: FencingToken,
}

/// Why a session or leadership ended without the holder resigning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Revocation {
    /// The backend said the lease is gone (it expired, or was revoked).
    LeaseExpired,
    /// No keepalive succeeded for a whole TTL: the lease may have expired, so leadership can no
    /// longer be proven.
    Unprovable {
        /// How long since the last keepalive that the backend answered was sent.
        silent_for: Duration,
    },
    /// The session was closed by its owner.
    Closed,
}

/// A lease held with a backend and kept alive in the background until closed or lost.
#[derive(Debug)]
pub struct Session {
    /// The backend's lease id.
    pub lease: u64,
    /// The lease's time-to-live.
    pub ttl: Duration,
    lost: signal::Receiver<Option<Revocation>>,
    keepalive: Option<tokio::task::JoinHandle<()>>,
    proof: Option<signal::Receiver<tokio::time::Instant>>,
}

impl Session {
    /// A session over `lease`, lost when `lost` carries a revocation; `keepalive` is aborted when
    /// the session is dropped.
    pub fn new(
        lease: u64,
        ttl: Duration,
        lost: signal::Receiver<Option<Revocation>>,
        keepalive: Option<tokio::task::JoinHandle<()>>,
    ) -> Self {
        Session {
            lease,
            ttl,
            lost,
            keepalive,
            proof: None,
        }
    }

    /// The session with `proof`: the instant (monotonic) until which the lease is proven, moved
    /// on by each answered renewal.
    pub(crate) fn with_proof(mut self, proof: signal::Receiver<tokio::time::Instant>) -> Self {
        self.proof = Some(proof);
        self
    }

    /// The revocation, if the session is already lost.
    pub fn lost(&self) -> Option<Revocation> {
        self.lost.borrow().clone()
    }

    /// A receiver that changes when the session is lost.
    pub fn lost_signal(&self) -> signal::Receiver<Option<Revocation>> {
        self.lost.clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(task) = self.keepalive.take() {
            task.abort();
        }
    }
}

/// What winning an election returns.
#[derive(Clone, Debug)]
pub struct Leadership {
    /// The election won.
    pub election: ElectionName,
    /// The token every fenced operation must carry.
    pub token: FencingToken,
    /// The value campaigned with.
    pub value: String,
    /// The session lease the leadership hangs on.
    pub lease: u64,
    revoked: signal::Receiver<Option<Revocation>>,
    proof: Option<signal::Receiver<tokio::time::Instant>>,
}

impl Leadership {
    /// A leadership revoked whenever the session behind it is lost.
    pub fn new(
        election: ElectionName,
        token: FencingToken,
        value: String,
        session: &Session,
    ) -> Self {
        Leadership {
            election,
            token,
            value,
            lease: session.lease,
            revoked: session.lost_signal(),
            proof: session.proof.clone(),
        }
    }

    /// Until when (monotonic) the session's lease is proven, where its keeper says so: past it,
    /// the leadership may already be gone though its revocation has not been signalled yet (a
    /// node resuming from a pause runs on before its keeper notices).
    pub(crate) fn proof_signal(&self) -> Option<signal::Receiver<tokio::time::Instant>> {
        self.proof.clone()
    }

    /// The fence to hand to [`crate::TickStore`] operations.
    pub fn fence(&self) -> Fence {
        Fence {
            election: self.election.clone(),
            token: self.token,
            lease: self.lease,
            value: self.value.clone(),
        }
    }

    /// The revocation, if the leadership is already revoked.
    pub fn revocation(&self) -> Option<Revocation> {
        self.revoked.borrow().clone()
    }

    /// A receiver that carries the revocation once it happens.
    pub fn revocation_signal(&self) -> signal::Receiver<Option<Revocation>> {
        self.revoked.clone()
    }

    /// Waits until the leadership is revoked and says why.
    pub async fn revoked(&mut self) -> Revocation {
        loop {
            if let Some(reason) = self.revoked.borrow_and_update().clone() {
                return reason;
            }
            if self.revoked.changed().await.is_err() {
                return Revocation::Closed;
            }
        }
    }
}

/// What a fenced operation carries to prove it comes from the current leadership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    /// The election.
    pub election: ElectionName,
    /// The caller's token.
    pub token: FencingToken,
    /// The caller's lease.
    pub lease: u64,
    /// The caller's campaign value.
    pub value: String,
}

/// A leader-election backend (the seed's `Leader`).
#[async_trait::async_trait]
pub trait Elector: Send + Sync {
    /// A short name for messages and metrics (e.g. `memory`, an endpoint).
    fn name(&self) -> String;

    /// Grants a lease of `ttl` and keeps it alive in the background.
    async fn open_session(&self, ttl: Duration) -> Result<Session>;

    /// Revokes the session's lease, resigning every election it holds.
    async fn close_session(&self, session: &Session) -> Result<()>;

    /// Waits until `session` leads `election`, then returns the leadership. Returns an error if
    /// the session is lost or the backend fails; it never waits past the session's life.
    async fn campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<Leadership>;

    /// Gives up `leadership` so another candidate wins at once.
    async fn resign(&self, leadership: &Leadership) -> Result<()>;

    /// Withdraws `session`'s candidacy in `election`, for a campaign abandoned before it handed
    /// out a [`Leadership`] (the node stops): whatever the campaign left in the election — a
    /// waiting candidate's place in the queue, or a win whose answer never arrived — goes, so it
    /// cannot hold up the other candidates until the session ends. Withdrawing a candidacy that
    /// is not there is no error.
    async fn withdraw(&self, session: &Session, election: &ElectionName) -> Result<()>;

    /// Withdraws from `election` what other sessions left there under the same `value`, the
    /// node's name: an earlier process of this node that crashed (it never closed its session),
    /// or a session of this node given up as lost whose revoke did not get through. Each such
    /// session's lease is revoked, so its leader key or waiting place stops holding up the
    /// election, instead of holding it until the lease expires (a whole TTL after a crash, however
    /// soon the node came back). A node calls it only when opted in
    /// ([`crate::NodeConfig::withdraw_predecessors`], which says when that is safe), once per
    /// session and election, before its first campaign; the default does nothing (such sessions
    /// then end when their leases expire).
    async fn withdraw_predecessors(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<()> {
        let _ = (session, election, value);
        Ok(())
    }

    /// The current leader of `election`, if any.
    async fn leader(&self, election: &ElectionName) -> Result<Option<LeaderInfo>>;

    /// Waits (boundedly) until the leader of `election` differs from `seen`, and returns it.
    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<&LeaderInfo>,
    ) -> Result<Option<LeaderInfo>>;
}

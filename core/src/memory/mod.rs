//! The in-memory backend: the embedded default, needing no external service.
//!
//! [`MemoryBackend`] is the client half and implements [`Elector`], [`TickStore`] and
//! [`JobRegistry`]; it reaches a [`MemoryHost`] through a [`Transport`]. `MemoryBackend::new()`
//! starts a host in-process, and clones of it share that host, so several `Node`s in one process
//! elect through it. The simulator reaches the same host over a simulated network instead. Every
//! call is bounded by the request timeout; leases are kept alive by a background task
//! ([`session`]).

mod host;
mod protocol;
mod registry;
mod session;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

pub use host::{MemoryHost, Transport, TransportError};
pub use protocol::{Refusal, RegisterRefusal, Request, Response};
pub use state::{MemoryState, MIN_TTL};

use crate::elector::{ElectionName, Elector, Fence, LeaderInfo, Leadership, Session};
use crate::error::{Error, Result};
use crate::job::{JobId, JobSpec};
use crate::store::{Checkpoint, Claim, Commit, JobRegistry, Registration, TickStore};

/// Client settings for the in-memory backend.
#[derive(Clone, Debug)]
pub struct MemoryConfig {
    /// A name for messages (default `memory`).
    pub name: String,
    /// The longest one request may take before it fails with `BackendTimeout` (default 2 s).
    pub request_timeout: Duration,
    /// The longest the backend holds an `observe` call open (default 5 s).
    pub observe_wait: Duration,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            name: "memory".into(),
            request_timeout: Duration::from_secs(2),
            observe_wait: Duration::from_secs(5),
        }
    }
}

/// The in-memory backend's client. Cheap to clone; clones share the host.
#[derive(Clone)]
pub struct MemoryBackend {
    transport: Arc<dyn Transport>,
    config: MemoryConfig,
    /// The last number given to a campaign or resign, shared by clones: the host refuses a
    /// campaign numbered before its lease's last resign of that election.
    sequence: Arc<AtomicU64>,
}

impl MemoryBackend {
    /// A backend with its own in-process host.
    pub fn new() -> Self {
        Self::with_host(MemoryHost::new())
    }

    /// A client of `host`, in-process.
    pub fn with_host(host: Arc<MemoryHost>) -> Self {
        Self::over(Arc::new(host), MemoryConfig::default())
    }

    /// A client reaching its host through `transport`.
    pub fn over(transport: Arc<dyn Transport>, config: MemoryConfig) -> Self {
        MemoryBackend {
            transport,
            config,
            sequence: Arc::default(),
        }
    }

    /// The next number for a campaign or resign, in the order they are sent.
    fn next_seq(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    async fn call(&self, request: Request) -> Result<Response> {
        let operation = request.operation();
        let mut limit = self.config.request_timeout;
        if let Request::Observe { max_wait, .. } = &request {
            limit += *max_wait;
        }
        call_with(&*self.transport, &self.config.name, limit, request)
            .await
            .map_err(|e| e.with_operation(operation))
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A failed call before an operation name is attached.
struct CallError(Error);

impl CallError {
    fn with_operation(self, operation: &'static str) -> Error {
        match self.0 {
            Error::BackendTimeout { backend, after, .. } => Error::BackendTimeout {
                backend,
                operation,
                after,
            },
            Error::BackendUnavailable {
                backend, reason, ..
            } => Error::BackendUnavailable {
                backend,
                operation,
                reason,
            },
            other => other,
        }
    }
}

async fn call_with(
    transport: &dyn Transport,
    backend: &str,
    limit: Duration,
    request: Request,
) -> Result<Response, CallError> {
    match tokio::time::timeout(limit, transport.call(request)).await {
        Err(_) => Err(CallError(Error::BackendTimeout {
            backend: backend.to_string(),
            operation: "",
            after: limit,
        })),
        Ok(Err(e)) => Err(CallError(Error::BackendUnavailable {
            backend: backend.to_string(),
            operation: "",
            reason: e.0,
        })),
        Ok(Ok(response)) => Ok(response),
    }
}

/// Turns a refusal into the caller-facing error, with the fence for context.
fn refused(refusal: Refusal, fence: Option<&Fence>) -> Error {
    match refusal {
        Refusal::Fenced { current } => {
            let fence = fence.expect("only fenced operations are refused as fenced");
            Error::Fenced {
                election: fence.election.clone(),
                token: fence.token,
                current,
            }
        }
        Refusal::LeaseLost { lease } => Error::LeaseLost { lease },
        // Only a campaign its sender gave up on is refused so: nobody waits for this answer.
        Refusal::Withdrawn { election } => Error::BackendUnavailable {
            backend: "memory".into(),
            operation: "campaign",
            reason: format!("a campaign for {election} sent before this session resigned it"),
        },
        // Only a claim its sender gave up on is refused so: nobody waits for this answer.
        Refusal::Stale => Error::BackendUnavailable {
            backend: "memory".into(),
            operation: "claim ticks",
            reason: "a claim sent before a newer one of its leadership was applied".into(),
        },
        Refusal::TtlTooShort { min } => Error::LeaseTtlTooShort {
            ttl: Duration::ZERO,
            min,
        },
        Refusal::UnknownJob { job } => Error::UnknownJob { job },
        Refusal::AlreadyClaimed {
            job,
            tick,
            checkpoint,
        } => Error::AlreadyClaimed {
            job,
            tick,
            checkpoint,
        },
        Refusal::SpecSuperseded {
            job,
            registered,
            local,
        } => Error::SpecSuperseded {
            job,
            registered,
            local,
        },
        Refusal::ElectionMismatch { job, registered } => Error::ElectionMismatch {
            job,
            registered,
            local: fence
                .expect("only fenced operations are refused for their election")
                .election
                .clone(),
        },
    }
}

fn unexpected(response: Response, operation: &str) -> Error {
    Error::BackendUnavailable {
        backend: "memory".into(),
        operation: "protocol",
        reason: format!("unexpected answer to {operation}: {response:?}"),
    }
}

#[async_trait::async_trait]
impl Elector for MemoryBackend {
    fn name(&self) -> String {
        self.config.name.clone()
    }

    async fn open_session(&self, ttl: Duration) -> Result<Session> {
        let sent = tokio::time::Instant::now();
        match self.call(Request::Grant { ttl }).await? {
            Response::Granted { lease } => Ok(session::start(
                self.transport.clone(),
                self.config.clone(),
                lease,
                ttl,
                sent,
            )),
            Response::Refused(Refusal::TtlTooShort { min }) => {
                Err(Error::LeaseTtlTooShort { ttl, min })
            }
            Response::Refused(r) => Err(refused(r, None)),
            other => Err(unexpected(other, "grant")),
        }
    }

    async fn close_session(&self, session: &Session) -> Result<()> {
        let lease = session.lease;
        match self.call(Request::Revoke { lease }).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other, "revoke")),
        }
    }

    async fn campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<Leadership> {
        let mut lost = session.lost_signal();
        loop {
            if session.lost().is_some() {
                return Err(Error::LeaseLost {
                    lease: session.lease,
                });
            }
            let request = Request::Campaign {
                election: election.clone(),
                lease: session.lease,
                value: value.to_string(),
                seq: self.next_seq(),
            };
            let leader = match self.call(request).await? {
                Response::Won { token } => {
                    return Ok(Leadership::new(
                        election.clone(),
                        token,
                        value.to_string(),
                        session,
                    ))
                }
                Response::Held { leader } => leader,
                Response::Refused(r) => return Err(refused(r, None)),
                other => return Err(unexpected(other, "campaign")),
            };
            tokio::select! {
                biased;
                observed = self.observe(election, Some(&leader)) => { observed?; }
                _ = lost.changed() => {}
            }
        }
    }

    async fn resign(&self, leadership: &Leadership) -> Result<()> {
        let request = Request::Resign {
            election: leadership.election.clone(),
            lease: leadership.lease,
            seq: self.next_seq(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other, "resign")),
        }
    }

    /// The host keeps no queue of waiting candidates: all a campaign can have left is a win
    /// whose answer was lost, which a resign by the session's lease gives up; numbered like any
    /// resign, it also refuses a campaign of this session still on its way.
    async fn withdraw(&self, session: &Session, election: &ElectionName) -> Result<()> {
        let request = Request::Resign {
            election: election.clone(),
            lease: session.lease,
            seq: self.next_seq(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other, "withdraw")),
        }
    }

    async fn withdraw_predecessors(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<()> {
        let request = Request::WithdrawPredecessors {
            election: election.clone(),
            lease: session.lease,
            value: value.to_string(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other, "withdraw predecessors")),
        }
    }

    async fn leader(&self, election: &ElectionName) -> Result<Option<LeaderInfo>> {
        let request = Request::Leader {
            election: election.clone(),
        };
        match self.call(request).await? {
            Response::Leader(leader) => Ok(leader),
            other => Err(unexpected(other, "leader")),
        }
    }

    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<&LeaderInfo>,
    ) -> Result<Option<LeaderInfo>> {
        let request = Request::Observe {
            election: election.clone(),
            seen: seen.cloned(),
            max_wait: self.config.observe_wait,
        };
        match self.call(request).await? {
            Response::Leader(leader) => Ok(leader),
            other => Err(unexpected(other, "observe")),
        }
    }
}

#[async_trait::async_trait]
impl TickStore for MemoryBackend {
    async fn checkpoints(&self, jobs: &[JobId]) -> Result<Vec<Checkpoint>> {
        let request = Request::Checkpoints {
            jobs: jobs.to_vec(),
        };
        match self.call(request).await? {
            Response::Checkpoints(c) => Ok(c),
            Response::Refused(r) => Err(refused(r, None)),
            other => Err(unexpected(other, "checkpoints")),
        }
    }

    async fn claim(&self, fence: &Fence, claims: &[Claim]) -> Result<()> {
        let request = Request::Claim {
            fence: fence.clone(),
            claims: claims.to_vec(),
            seq: self.next_seq(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            Response::Refused(r) => Err(refused(r, Some(fence))),
            other => Err(unexpected(other, "claim")),
        }
    }

    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()> {
        let request = Request::Commit {
            fence: fence.clone(),
            commits: commits.to_vec(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            Response::Refused(r) => Err(refused(r, Some(fence))),
            other => Err(unexpected(other, "commit")),
        }
    }
}

#[async_trait::async_trait]
impl JobRegistry for MemoryBackend {
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec, ElectionName)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>> {
        let request = Request::Register {
            jobs: jobs.to_vec(),
            now,
        };
        let results = match self.call(request).await? {
            Response::Registered(results) => results,
            other => return Err(unexpected(other, "register")),
        };
        Ok(jobs
            .iter()
            .zip(results)
            .map(|((job, local, election), result)| {
                result.map_err(|refusal| match refusal {
                    RegisterRefusal::Mismatch { registered } => Error::JobSpecMismatch {
                        job: job.clone(),
                        registered: Box::new(registered),
                        local: Box::new(local.clone()),
                    },
                    RegisterRefusal::Superseded { registered } => Error::SpecSuperseded {
                        job: job.clone(),
                        registered,
                        local: local.version,
                    },
                    RegisterRefusal::ElectionMismatch { registered } => Error::ElectionMismatch {
                        job: job.clone(),
                        registered,
                        local: election.clone(),
                    },
                })
            })
            .collect())
    }

    async fn spec_versions(&self, jobs: &[JobId]) -> Result<Vec<u64>> {
        let request = Request::SpecVersions {
            jobs: jobs.to_vec(),
        };
        match self.call(request).await? {
            Response::SpecVersions(versions) => Ok(versions),
            Response::Refused(r) => Err(refused(r, None)),
            other => Err(unexpected(other, "spec versions")),
        }
    }
}

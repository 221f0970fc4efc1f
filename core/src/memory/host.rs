//! The in-memory backend's host: the state machine behind a lock, timed by the host's clock.
//!
//! [`MemoryHost`] owns a [`MemoryState`], measures lease time with the runtime's monotonic clock
//! (the backend's own clock, as with etcd), and turns `Observe` into a long poll that answers as
//! soon as the election changes hands or its holder's lease runs out. It is the only place in the
//! memory backend that waits. Reaching it from a client goes through a [`Transport`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::signal;
use tokio::time::Instant;

use super::protocol::{Request, Response};
use super::state::MemoryState;
use crate::elector::ElectionName;
use crate::elector::LeaderInfo;

/// A failure to deliver a request or its answer (not a refusal by the backend).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// How a client reaches a [`MemoryHost`]: a function call in-process, an RPC in the simulator.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Sends `request` and waits for the answer.
    async fn call(&self, request: Request) -> Result<Response, TransportError>;
}

/// The in-memory backend's server side.
#[derive(Debug)]
pub struct MemoryHost {
    state: Mutex<MemoryState>,
    epoch: Instant,
    changes: signal::Sender<u64>,
}

impl MemoryHost {
    /// An empty backend whose lease clock starts now.
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryHost {
            state: Mutex::new(MemoryState::new()),
            epoch: Instant::now(),
            changes: signal::Sender::new(0),
        })
    }

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    /// Answers one request; `Observe` may wait up to its `max_wait`.
    pub async fn serve(&self, request: Request) -> Response {
        match request {
            Request::Observe {
                election,
                seen,
                max_wait,
            } => Response::Leader(self.observe(&election, seen, max_wait).await),
            other => self.apply(other),
        }
    }

    /// Keeps every lease but restarts its TTL, as a restarted etcd does.
    pub fn renew_all_leases(&self) {
        let now = self.now();
        self.state.lock().expect("memory state lock").renew_all(now);
    }

    /// **Test-only:** see [`MemoryState::disable_fencing_for_checker_validation`].
    #[doc(hidden)]
    pub fn disable_fencing_for_checker_validation(&self) {
        self.state
            .lock()
            .expect("memory state lock")
            .disable_fencing_for_checker_validation();
    }

    fn apply(&self, request: Request) -> Response {
        let now = self.now();
        let applied = self
            .state
            .lock()
            .expect("memory state lock")
            .apply(now, request);
        if applied.leadership_changed {
            self.changes.send_modify(|r| *r += 1);
        }
        applied.response
    }

    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<LeaderInfo>,
        max_wait: Duration,
    ) -> Option<LeaderInfo> {
        let deadline = Instant::now() + max_wait;
        let mut changes = self.changes.subscribe();
        loop {
            changes.borrow_and_update();
            let (current, expires_at) = {
                let now = self.now();
                let mut state = self.state.lock().expect("memory state lock");
                if state.expire(now) {
                    self.changes.send_modify(|r| *r += 1);
                }
                (state.leader(election), state.leader_expires_at(election))
            };
            if current != seen || Instant::now() >= deadline {
                return current;
            }
            let wake = expires_at
                .map(|at| (self.epoch + at).min(deadline))
                .unwrap_or(deadline);
            tokio::select! {
                biased;
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

#[async_trait::async_trait]
impl Transport for Arc<MemoryHost> {
    async fn call(&self, request: Request) -> Result<Response, TransportError> {
        Ok(self.serve(request).await)
    }
}

//! Lease keepalive for in-memory backend sessions.
//!
//! A session's lease is renewed every third of its TTL. The lease is *proven* only until one TTL
//! after the last renewal the backend answered was **sent** (the backend renewed it no earlier
//! than that). When the backend says the lease is gone, or the proof runs out because renewals
//! keep failing, the session is marked lost and every leadership on it is revoked. Nothing here
//! blocks past the proof: each renewal is bounded by both the request timeout and the proof.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::protocol::{Refusal, Request, Response};
use super::{MemoryConfig, Transport};
use crate::elector::{Revocation, Session};

/// The pause between renewals after a failed one.
const RETRY_GAP: Duration = Duration::from_millis(250);

/// Starts keeping `lease` alive; `granted_sent` is when the grant request was sent.
pub(super) fn start(
    transport: Arc<dyn Transport>,
    config: MemoryConfig,
    lease: u64,
    ttl: Duration,
    granted_sent: Instant,
) -> Session {
    let (lost_tx, lost_rx) = watch::channel(None);
    let keeper = Keeper {
        transport,
        config,
        lease,
        ttl,
        lost: lost_tx,
    };
    let task = tokio::spawn(keeper.run(granted_sent));
    Session::new(lease, ttl, lost_rx, Some(task))
}

struct Keeper {
    transport: Arc<dyn Transport>,
    config: MemoryConfig,
    lease: u64,
    ttl: Duration,
    lost: watch::Sender<Option<Revocation>>,
}

impl Keeper {
    async fn run(self, granted_sent: Instant) {
        let period = self.ttl / 3;
        let mut proven_until = granted_sent + self.ttl;
        let mut next = granted_sent + period;
        loop {
            tokio::time::sleep_until(next.min(proven_until)).await;
            let sent = Instant::now();
            if sent >= proven_until {
                let silent_for = sent - (proven_until - self.ttl);
                return self.lose(Revocation::Unprovable { silent_for });
            }
            let limit = (sent + self.config.request_timeout).min(proven_until);
            let request = Request::KeepAlive { lease: self.lease };
            match tokio::time::timeout(
                limit.saturating_duration_since(sent),
                self.transport.call(request),
            )
            .await
            {
                Ok(Ok(Response::Done)) => {
                    proven_until = sent + self.ttl;
                    next = sent + period;
                }
                Ok(Ok(Response::Refused(Refusal::LeaseLost { .. }))) => {
                    return self.lose(Revocation::LeaseExpired);
                }
                outcome => {
                    tracing::warn!(
                        lease = self.lease,
                        backend = %self.config.name,
                        ?outcome,
                        proven_for = ?proven_until.saturating_duration_since(Instant::now()),
                        "lease renewal failed"
                    );
                    next = Instant::now() + RETRY_GAP.min(period);
                }
            }
        }
    }

    fn lose(self, reason: Revocation) {
        tracing::warn!(lease = self.lease, backend = %self.config.name, ?reason, "session lost");
        self.lost.send_replace(Some(reason));
    }
}

//! Lease renewal for in-memory backend sessions: one `KeepAlive` request per renewal. The proof
//! window and the loop around it are [`crate::lease`]'s; the in-memory backend expires leases
//! exactly one TTL after a renewal arrives, so it needs no margin.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::protocol::{Refusal, Request, Response};
use super::{MemoryConfig, Transport};
use crate::elector::Session;
use crate::lease::{self, LeaseTerms, Renew, Renewal};

struct KeepAlive {
    transport: Arc<dyn Transport>,
    lease: u64,
}

impl Renew for KeepAlive {
    async fn renew(&mut self) -> Renewal {
        let request = Request::KeepAlive { lease: self.lease };
        match self.transport.call(request).await {
            Ok(Response::Done) => Renewal::Renewed,
            Ok(Response::Refused(Refusal::LeaseLost { .. })) => Renewal::Gone,
            Ok(other) => Renewal::Failed(format!("unexpected answer {other:?}")),
            Err(e) => Renewal::Failed(e.0),
        }
    }
}

/// Starts keeping `lease` alive; `granted_sent` is when the grant request was sent.
pub(super) fn start(
    transport: Arc<dyn Transport>,
    config: MemoryConfig,
    lease: u64,
    ttl: Duration,
    granted_sent: Instant,
) -> Session {
    let terms = LeaseTerms {
        backend: config.name,
        lease,
        ttl,
        margin: Duration::ZERO,
        request_timeout: config.request_timeout,
        granted_sent,
    };
    lease::keep(KeepAlive { transport, lease }, terms)
}

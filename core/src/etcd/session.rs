//! etcd sessions: a lease granted with the session's TTL, renewed through the keepalive stream.
//!
//! The proof window and the loop around it are [`crate::lease`]'s. etcd servers expire leases on a
//! periodic check (the simulated server counts TTLs down in whole seconds, so it may expire a
//! lease up to a second early), so the proof ends [`MARGIN`] (at most a quarter of the TTL) before
//! the TTL. A broken keepalive stream is reopened on the next renewal. etcd counts TTLs in whole
//! seconds, so a TTL is rounded up; a server that raises it to its minimum is reported as
//! `LeaseTtlTooShort`.

use std::time::Duration;

use etcd_client::{Client, LeaseKeepAliveStream, LeaseKeeper};
use tokio::time::Instant;

use super::EtcdBackend;
use crate::elector::Session;
use crate::error::{Error, Result};
use crate::lease::{self, LeaseTerms, Renew, Renewal};

/// How much earlier than its TTL a lease stops counting as proven (at most a quarter of the TTL).
pub const MARGIN: Duration = Duration::from_secs(1);

impl EtcdBackend {
    pub(super) async fn grant_session(&self, ttl: Duration) -> Result<Session> {
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX);
        let sent = Instant::now();
        let mut leases = self.client().lease_client();
        let granted = self
            .bounded("grant lease", leases.grant(secs, None))
            .await?;
        if granted.ttl() > secs {
            let _ = self
                .bounded("revoke lease", leases.revoke(granted.id()))
                .await;
            return Err(Error::LeaseTtlTooShort {
                ttl,
                min: Duration::from_secs(granted.ttl() as u64),
            });
        }
        let ttl = Duration::from_secs(secs as u64);
        let renew = KeepAlive {
            client: self.client(),
            lease: granted.id(),
            stream: None,
        };
        let terms = LeaseTerms {
            backend: self.inner.config.name(),
            lease: granted.id() as u64,
            ttl,
            margin: MARGIN.min(ttl / 4),
            request_timeout: self.inner.config.request_timeout,
            granted_sent: sent,
        };
        Ok(lease::keep(renew, terms))
    }
}

struct KeepAlive {
    client: Client,
    lease: i64,
    stream: Option<(LeaseKeeper, LeaseKeepAliveStream)>,
}

impl Renew for KeepAlive {
    /// The stream is taken out for the renewal and put back only when it answered, so a renewal
    /// cut short by its timeout never leaves a stale answer to be read as the next one.
    async fn renew(&mut self) -> Renewal {
        let (mut keeper, mut stream) = match self.stream.take() {
            Some(open) => open,
            None => match self.client.lease_client().keep_alive(self.lease).await {
                Ok(open) => open,
                Err(e) => return Renewal::Failed(e.to_string()),
            },
        };
        if let Err(e) = keeper.keep_alive().await {
            return Renewal::Failed(e.to_string());
        }
        let renewal = match stream.message().await {
            Ok(Some(response)) if response.ttl() > 0 => Renewal::Renewed,
            Ok(Some(_)) => Renewal::Gone,
            Ok(None) => Renewal::Failed("keepalive stream closed".into()),
            Err(e) if e.to_string().contains("lease not found") => Renewal::Gone,
            Err(e) => Renewal::Failed(e.to_string()),
        };
        if let Renewal::Renewed = renewal {
            self.stream = Some((keeper, stream));
        }
        renewal
    }
}

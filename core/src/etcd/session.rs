//! etcd sessions: a lease granted with the session's TTL and renewed every third of it.
//!
//! As with the in-memory backend, the lease is *proven* until one TTL after the last renewal the
//! server answered was sent; when renewals keep failing past that, or the server reports the lease
//! gone (TTL 0), the session is lost and every leadership on it is revoked — a [`MARGIN`] early,
//! because etcd servers expire leases on a periodic check (the simulated server counts TTLs down
//! in whole seconds, so it may expire a lease up to a second before its TTL has passed). A broken
//! keepalive stream is reopened on the next renewal. etcd counts TTLs in whole seconds, so a TTL is rounded
//! up; a server that raises it to its minimum is reported as `LeaseTtlTooShort`.

use std::time::Duration;

use etcd_client::{Client, LeaseKeepAliveStream, LeaseKeeper};
use tokio::sync::watch;
use tokio::time::Instant;

use super::EtcdBackend;
use crate::elector::{Revocation, Session};
use crate::error::{Error, Result};

/// The pause between renewals after a failed one.
const RETRY_GAP: Duration = Duration::from_millis(250);

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
        let (lost_tx, lost_rx) = watch::channel(None);
        let keeper = Keeper {
            client: self.client(),
            name: self.inner.config.name(),
            request_timeout: self.inner.config.request_timeout,
            lease: granted.id(),
            ttl,
            lost: lost_tx,
            stream: None,
        };
        let task = tokio::spawn(keeper.run(sent));
        Ok(Session::new(granted.id() as u64, ttl, lost_rx, Some(task)))
    }
}

struct Keeper {
    client: Client,
    name: String,
    request_timeout: Duration,
    lease: i64,
    ttl: Duration,
    lost: watch::Sender<Option<Revocation>>,
    stream: Option<(LeaseKeeper, LeaseKeepAliveStream)>,
}

/// What one renewal found.
enum Renewal {
    Renewed,
    Gone,
    Failed(String),
}

impl Keeper {
    async fn run(mut self, granted_sent: Instant) {
        let period = self.ttl / 3;
        let proof = self.ttl - MARGIN.min(self.ttl / 4);
        let mut proven_until = granted_sent + proof;
        let mut next = granted_sent + period;
        loop {
            tokio::time::sleep_until(next.min(proven_until)).await;
            let sent = Instant::now();
            if sent >= proven_until {
                let silent_for = sent - (proven_until - proof);
                return self.lose(Revocation::Unprovable { silent_for });
            }
            let limit = (sent + self.request_timeout).min(proven_until);
            let renewal = match tokio::time::timeout(limit - sent, self.renew()).await {
                Ok(renewal) => renewal,
                Err(_) => Renewal::Failed("no answer in time".into()),
            };
            match renewal {
                Renewal::Renewed => {
                    proven_until = sent + proof;
                    next = sent + period;
                }
                Renewal::Gone => return self.lose(Revocation::LeaseExpired),
                Renewal::Failed(why) => {
                    tracing::warn!(lease = self.lease, backend = %self.name, %why, "lease renewal failed");
                    self.stream = None;
                    next = Instant::now() + RETRY_GAP.min(period);
                }
            }
        }
    }

    async fn renew(&mut self) -> Renewal {
        if self.stream.is_none() {
            match self.client.lease_client().keep_alive(self.lease).await {
                Ok(stream) => self.stream = Some(stream),
                Err(e) => return Renewal::Failed(e.to_string()),
            }
        }
        let (keeper, stream) = self.stream.as_mut().expect("just opened");
        if let Err(e) = keeper.keep_alive().await {
            return Renewal::Failed(e.to_string());
        }
        match stream.message().await {
            Ok(Some(response)) if response.ttl() > 0 => Renewal::Renewed,
            Ok(Some(_)) => Renewal::Gone,
            Ok(None) => Renewal::Failed("keepalive stream closed".into()),
            Err(e) if e.to_string().contains("lease not found") => Renewal::Gone,
            Err(e) => Renewal::Failed(e.to_string()),
        }
    }

    fn lose(self, reason: Revocation) {
        tracing::warn!(lease = self.lease, backend = %self.name, ?reason, "session lost");
        self.lost.send_replace(Some(reason));
    }
}

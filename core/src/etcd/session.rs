//! etcd sessions: a lease granted with the session's TTL, renewed through the keepalive stream.
//!
//! The proof window and the loop around it are [`crate::lease`]'s. etcd servers expire leases on a
//! periodic check: the simulated server counts TTLs down once a second, so a lease renewed just
//! before a countdown expires `TTL − 1 s` (and a little) after the renewal. The proof therefore
//! ends [`MARGIN`], a whole second, before the TTL, whatever the TTL: a shorter margin would let
//! two nodes both believe they lead for a moment. etcd counts TTLs in whole seconds, so a TTL is
//! rounded up; one under [`MIN_TTL`] leaves no time proven and is refused, like a TTL the server
//! raises to its own minimum, as `LeaseTtlTooShort`. A broken keepalive stream is reopened on the
//! next renewal.

use std::time::Duration;

use etcd_client::{Client, LeaseKeepAliveStream, LeaseKeeper};
use tokio::time::Instant;

use super::EtcdBackend;
use crate::elector::Session;
use crate::error::{Error, Result};
use crate::lease::{self, LeaseTerms, Renew, Renewal};

/// How much earlier than its TTL a lease stops counting as proven: the most a server counting
/// down whole seconds may expire it early.
pub const MARGIN: Duration = Duration::from_secs(1);

/// The shortest TTL a session may have: one whose proof outlasts the margin.
pub const MIN_TTL: Duration = Duration::from_secs(2);

/// The TTL etcd grants for `ttl` (whole seconds, rounded up), or `LeaseTtlTooShort` when it
/// would leave no time proven.
fn whole_seconds(ttl: Duration) -> Result<u64> {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    if Duration::from_secs(secs) < MIN_TTL {
        return Err(Error::LeaseTtlTooShort { ttl, min: MIN_TTL });
    }
    Ok(secs)
}

impl EtcdBackend {
    pub(super) async fn grant_session(&self, ttl: Duration) -> Result<Session> {
        let secs = i64::try_from(whole_seconds(ttl)?).unwrap_or(i64::MAX);
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
            margin: MARGIN,
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
                Err(e) => return refused(&e),
            },
        };
        if let Err(e) = keeper.keep_alive().await {
            return Renewal::Failed(e.to_string());
        }
        let renewal = match stream.message().await {
            Ok(Some(response)) if response.ttl() > 0 => Renewal::Renewed,
            Ok(Some(_)) => Renewal::Gone,
            Ok(None) => Renewal::Failed("keepalive stream closed".into()),
            Err(e) => refused(&e),
        };
        if let Renewal::Renewed = renewal {
            self.stream = Some((keeper, stream));
        }
        renewal
    }
}

/// A renewal the server refused: the lease is gone if the server says it no longer has it
/// (whether on the open stream or on reopening it), otherwise the renewal merely failed.
fn refused(e: &etcd_client::Error) -> Renewal {
    let why = e.to_string();
    match why.contains("lease not found") {
        true => Renewal::Gone,
        false => Renewal::Failed(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_ends_before_the_earliest_expiry_for_every_ttl() {
        // A server counting down whole seconds expires a lease renewed at r no earlier than
        // r + TTL − 1 s; a proof that ends later would let a deposed leader act after a successor
        // won. The margin is the whole second for every TTL, short ones included.
        for requested in [1500, 2000, 2500, 3000, 4000, 10_000] {
            let ttl = Duration::from_secs(whole_seconds(Duration::from_millis(requested)).unwrap());
            let earliest_expiry = ttl - Duration::from_secs(1);
            assert!(ttl - MARGIN <= earliest_expiry, "TTL {ttl:?}");
            assert!(ttl - MARGIN > Duration::ZERO, "TTL {ttl:?} proves nothing");
        }
    }

    #[test]
    fn a_ttl_of_one_second_is_refused_naming_the_minimum() {
        // A 1 s lease may expire at its first countdown: no time would be proven at all.
        let refused = whole_seconds(Duration::from_millis(900)).unwrap_err();
        assert_eq!(
            refused,
            Error::LeaseTtlTooShort {
                ttl: Duration::from_millis(900),
                min: MIN_TTL
            }
        );
        assert!(whole_seconds(Duration::from_secs(1)).is_err());
    }
}

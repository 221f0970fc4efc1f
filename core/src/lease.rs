//! Keeping a session's lease alive: the proof window every backend shares.
//!
//! A lease is renewed every third of its TTL. It is *proven* only until `TTL − margin` after the
//! last renewal the backend answered was **sent** (the backend renewed it no earlier than that;
//! the margin covers backends that expire leases on a periodic check). When the backend says the
//! lease is gone, or the proof runs out because renewals keep failing, the session is marked lost
//! and every leadership on it is revoked. Nothing waits past the proof: each renewal is bounded by
//! both the request timeout and the proof. Backends supply only how to renew ([`Renew`]).

use std::future::Future;
use std::time::Duration;

use crate::signal;
use tokio::time::Instant;

use crate::elector::{Revocation, Session};

/// The pause between renewals after a failed one.
const RETRY_GAP: Duration = Duration::from_millis(250);

/// What one renewal found.
pub(crate) enum Renewal {
    /// The backend renewed the lease.
    Renewed,
    /// The backend says the lease is gone.
    Gone,
    /// No answer, or an error; try again.
    Failed(String),
}

/// One backend's way of renewing a lease.
pub(crate) trait Renew: Send + 'static {
    /// Sends one renewal and waits for its answer.
    fn renew(&mut self) -> impl Future<Output = Renewal> + Send;
}

/// The parts of a lease the keeper needs.
pub(crate) struct LeaseTerms {
    /// The backend's name, for messages.
    pub backend: String,
    /// The lease id.
    pub lease: u64,
    /// Its TTL.
    pub ttl: Duration,
    /// How much earlier than the TTL the proof ends.
    pub margin: Duration,
    /// The bound on one renewal.
    pub request_timeout: Duration,
    /// When the grant request was sent.
    pub granted_sent: Instant,
}

/// Starts keeping a lease alive with `renew`; the returned session is lost when the proof ends.
pub(crate) fn keep(renew: impl Renew, terms: LeaseTerms) -> Session {
    let (lost_tx, lost_rx) = signal::channel(None);
    let (proof_tx, proof_rx) = signal::channel(terms.granted_sent + (terms.ttl - terms.margin));
    let (lease, ttl) = (terms.lease, terms.ttl);
    let task = tokio::spawn(run(renew, terms, lost_tx, proof_tx));
    Session::new(lease, ttl, lost_rx, Some(task)).with_proof(proof_rx)
}

async fn run(
    mut renew: impl Renew,
    t: LeaseTerms,
    lost: signal::Sender<Option<Revocation>>,
    proven: signal::Sender<Instant>,
) {
    let period = t.ttl / 3;
    let proof = t.ttl - t.margin;
    let mut proven_until = t.granted_sent + proof;
    let mut next = t.granted_sent + period;
    let reason = loop {
        tokio::time::sleep_until(next.min(proven_until)).await;
        let sent = Instant::now();
        if sent >= proven_until {
            let silent_for = sent - (proven_until - proof);
            break Revocation::Unprovable { silent_for };
        }
        let limit = (sent + t.request_timeout).min(proven_until) - sent;
        let renewal = tokio::time::timeout(limit, renew.renew())
            .await
            .unwrap_or_else(|_| Renewal::Failed("no answer in time".into()));
        match renewal {
            Renewal::Renewed => {
                proven_until = sent + proof;
                proven.send_replace(proven_until);
                next = sent + period;
            }
            Renewal::Gone => break Revocation::LeaseExpired,
            Renewal::Failed(why) => {
                tracing::warn!(
                    lease = t.lease,
                    backend = %t.backend,
                    %why,
                    proven_for = ?proven_until.saturating_duration_since(Instant::now()),
                    "lease renewal failed"
                );
                next = Instant::now() + RETRY_GAP.min(period);
            }
        }
    };
    tracing::warn!(lease = t.lease, backend = %t.backend, ?reason, "session lost");
    lost.send_replace(Some(reason));
}

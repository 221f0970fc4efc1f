//! Closing a node's session: its lease revoked once every election on it is done with it.
//!
//! The node revokes the lease whether or not its keeper gave the session up as lost. A lease
//! given up as unprovable may still be alive at the backend — a renewal applied whose answer
//! came back after the proof ran out, a keepalive held up in a partition and delivered after it
//! healed — and until it expires its keys (a candidate or leader key left in an election) stand
//! ahead of every campaign of the node's next session. Revoking is safe: the campaign loops on
//! the session have ended, so no leadership on it is in use. A revoke the backend does not
//! answer is tried again in the background, with backoff, for one lease TTL, unless the node
//! stops; the next session does not wait for it. The keepalive itself is [`crate::lease`]'s.

use std::sync::Arc;

use tokio::time::Instant;

use super::NodeCtx;
use crate::elector::Session;

/// Revokes `session`'s lease, lost or not; retries a transient failure in the background.
pub(super) async fn close(ctx: &Arc<NodeCtx>, session: Arc<Session>) {
    let Err(error) = revoke(ctx, &session).await else {
        return;
    };
    if !error.is_transient() || ctx.stopping() {
        tracing::warn!(node = %ctx.config.name, lease = session.lease, %error, "could not close the session; its lease will expire");
        return;
    }
    let ctx = ctx.clone();
    tokio::spawn(async move { revoke_until(&ctx, &session, Instant::now() + session.ttl).await });
}

/// Tries the revoke again with backoff until it is answered, `until` passes or the node stops.
async fn revoke_until(ctx: &NodeCtx, session: &Session, until: Instant) {
    let mut backoff = ctx.backoff();
    loop {
        let delay = backoff.next_delay();
        if Instant::now() + delay >= until || ctx.sleep_unless_stopping(delay).await {
            tracing::warn!(node = %ctx.config.name, lease = session.lease, "could not close the session; its lease will expire");
            return;
        }
        match revoke(ctx, session).await {
            Err(error) if error.is_transient() => {}
            _ => return,
        }
    }
}

async fn revoke(ctx: &NodeCtx, session: &Session) -> crate::Result<()> {
    ctx.call("close session", ctx.backend.close_session(session))
        .await
}

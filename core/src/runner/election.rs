//! One election's life on one node: campaign, lead, and step down.
//!
//! The loop campaigns with the node's session until it wins, hands the leadership to
//! [`super::leading`], and reacts to how leading ended: a revoked leadership means the session is
//! gone (the caller opens a new one); a fenced-out or superseded one resigns and campaigns again;
//! shutdown resigns and returns. Campaign failures are reported and retried with backoff.

use std::sync::Arc;

use super::leading::{lead, LeadEnd};
use super::NodeCtx;
use crate::elector::{ElectionName, Leadership, Session};
use crate::event::NodeEvent;
use crate::job::Job;

/// Campaigns and leads `election` until the session is lost or the node stops.
pub(crate) async fn campaign_loop(
    ctx: &Arc<NodeCtx>,
    session: &Session,
    election: &ElectionName,
    jobs: &[Job],
) {
    let mut backoff = ctx.backoff();
    while !ctx.stopping() && session.lost().is_none() {
        ctx.emit(NodeEvent::CampaignStarted {
            election: election.clone(),
        });
        let mut lost = session.lost_signal();
        let won = tokio::select! {
            biased;
            _ = ctx.stop_requested() => return,
            _ = lost.wait_for(|l| l.is_some()) => {
                ctx.emit(NodeEvent::CampaignLost { election: election.clone(), reason: "session lost".into() });
                return;
            }
            won = ctx.backend.campaign(session, election, &ctx.config.name) => won,
        };
        let leadership = match won {
            Ok(leadership) => leadership,
            Err(error) => {
                ctx.emit(NodeEvent::CampaignLost {
                    election: election.clone(),
                    reason: error.to_string(),
                });
                if ctx.sleep_unless_stopping(backoff.next_delay()).await {
                    return;
                }
                continue;
            }
        };
        backoff = ctx.backoff();
        ctx.emit(NodeEvent::CampaignWon {
            election: election.clone(),
            token: leadership.token,
        });
        match lead(ctx, leadership.clone(), jobs).await {
            LeadEnd::Shutdown => {
                resign(ctx, &leadership).await;
                return;
            }
            LeadEnd::Revoked(reason) => {
                revoked(ctx, &leadership, reason);
                return;
            }
            LeadEnd::Fenced => {
                revoked(ctx, &leadership, "fenced out by a newer leadership".into());
                resign(ctx, &leadership).await;
            }
            LeadEnd::ClockBehind { checkpoint } => {
                ctx.emit(NodeEvent::ClockBehind {
                    election: election.clone(),
                    checkpoint,
                    clock: ctx.clock.now(),
                });
                if !ctx.config.broken.no_resign_on_step_down {
                    resign(ctx, &leadership).await;
                }
                if wait_for_clock(ctx, checkpoint).await {
                    return;
                }
            }
            LeadEnd::Superseded(error) => {
                // Like a rejection at registration: stay out of this election for good, so the
                // nodes carrying the new definition run all of its jobs.
                ctx.reject(error);
                ctx.retire(election);
                resign(ctx, &leadership).await;
                return;
            }
        }
    }
}

/// Waits until this node's clock is within the lag limit of `checkpoint`; true on shutdown.
async fn wait_for_clock(ctx: &NodeCtx, checkpoint: jiff::Timestamp) -> bool {
    let limit = jiff::SignedDuration::try_from(ctx.config.clock_lag_limit)
        .unwrap_or(jiff::SignedDuration::MAX);
    let ready_at = checkpoint - limit;
    loop {
        let wait = crate::clock::sleep_for(&*ctx.clock, Some(ready_at), ctx.config.clock_recheck);
        if wait.is_zero() {
            return false;
        }
        if ctx.sleep_unless_stopping(wait).await {
            return true;
        }
    }
}

fn revoked(ctx: &NodeCtx, leadership: &Leadership, reason: String) {
    ctx.emit(NodeEvent::LeadershipRevoked {
        election: leadership.election.clone(),
        token: leadership.token,
        reason,
    });
}

async fn resign(ctx: &NodeCtx, leadership: &Leadership) {
    match ctx.call("resign", ctx.backend.resign(leadership)).await {
        Ok(()) => ctx.emit(NodeEvent::Resigned {
            election: leadership.election.clone(),
            token: leadership.token,
        }),
        Err(error) => {
            tracing::warn!(node = %ctx.config.name, election = %leadership.election, %error, "resign failed; the lease will expire instead")
        }
    }
}

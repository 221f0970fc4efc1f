//! One election's life on one node: campaign, lead, and whatever the leadership's end calls for.
//!
//! The loop campaigns with the node's session until it wins, then drives that leadership's
//! [`Lifecycle`]: [`super::leading`] leads and settles the runs, this loop resigns (again after a
//! backoff while the resign fails, as the lifecycle says) and goes where the lifecycle sends it:
//! campaign again (fenced out), wait for the clock first (stepped down), or leave the election
//! (session lost — the caller opens a new one —, superseded, shutdown). Campaign failures are
//! reported and retried with backoff.

use std::sync::Arc;

use super::leading::lead;
use super::NodeCtx;
use crate::elector::{ElectionName, Leadership, Session};
use crate::event::NodeEvent;
use crate::job::Job;
use crate::lifecycle::{Action, After, Input, Lifecycle};

/// Campaigns and leads `election` until the session is lost or the node stops.
pub(crate) async fn campaign_loop(
    ctx: &Arc<NodeCtx>,
    session: &Session,
    election: &ElectionName,
    jobs: &[Job],
) {
    let mut backoff = ctx.backoff();
    let mut stepped_down_for = None;
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
        let mut lifecycle = Lifecycle::won(ctx.config.shutdown_grace);
        if ctx.config.broken.no_resign_on_step_down {
            lifecycle = lifecycle.without_resign_on_step_down();
        }
        let action = lead(
            ctx,
            leadership.clone(),
            jobs,
            &mut lifecycle,
            stepped_down_for,
        )
        .await;
        let Some(after) = finish(ctx, session, &leadership, &mut lifecycle, action).await else {
            return;
        };
        match after {
            After::Leave => return,
            After::CampaignAgain => {}
            After::WaitForClock { checkpoint } => {
                // Only the first step-down for a checkpoint sits out; a leader leading on steps
                // down again only to let a better clock win, and campaigns again at once.
                let first = stepped_down_for != Some(checkpoint);
                stepped_down_for = Some(checkpoint);
                if first && wait_for_clock(ctx, session, checkpoint).await {
                    return;
                }
            }
        }
    }
}

/// Carries out the lifecycle's steps after the runs are settled: resign until answered (with
/// backoff between attempts) and return where to go; `None` if the node stops meanwhile.
async fn finish(
    ctx: &NodeCtx,
    session: &Session,
    leadership: &Leadership,
    lifecycle: &mut Lifecycle,
    mut action: Action,
) -> Option<After> {
    let mut backoff = ctx.backoff();
    loop {
        match action {
            Action::Over(after) => return Some(after),
            Action::Resign { attempt } => {
                if attempt > 1 && ctx.sleep_unless_stopping(backoff.next_delay()).await {
                    return None;
                }
                let input = if session.lost().is_some() {
                    Input::SessionLost
                } else {
                    resign(ctx, leadership).await
                };
                action = lifecycle.on(input);
            }
            other => unreachable!(
                "after the runs are settled the lifecycle only resigns or ends: {other:?}"
            ),
        }
    }
}

/// Sits out until this node's clock is within the lag limit of `checkpoint`, or for one lease
/// TTL (long enough for a node whose clock may be right to win the election); true on shutdown.
async fn wait_for_clock(ctx: &NodeCtx, session: &Session, checkpoint: jiff::Timestamp) -> bool {
    let limit = jiff::SignedDuration::try_from(ctx.config.clock_lag_limit)
        .unwrap_or(jiff::SignedDuration::MAX);
    let ready_at = checkpoint - limit;
    // The known-bad variant keeps the election and sits out until its clock catches up: the
    // stall of issue 12's bug 1, for the liveness checker to catch.
    let bound = if ctx.config.broken.no_resign_on_step_down {
        std::time::Duration::from_secs(366 * 86_400)
    } else {
        ctx.config.lease_ttl
    };
    let sat_out_until = tokio::time::Instant::now() + bound;
    loop {
        let wait = crate::clock::sleep_for(&*ctx.clock, Some(ready_at), ctx.config.clock_recheck);
        let left = sat_out_until.saturating_duration_since(tokio::time::Instant::now());
        // A lost session ends the wait: the node's other elections wait for this one before a
        // new session opens.
        if wait.is_zero() || left.is_zero() || session.lost().is_some() {
            return false;
        }
        let wait = wait.min(left);
        if ctx.sleep_unless_stopping(wait).await {
            return true;
        }
    }
}

async fn resign(ctx: &NodeCtx, leadership: &Leadership) -> Input {
    match ctx.call("resign", ctx.backend.resign(leadership)).await {
        Ok(()) => {
            ctx.emit(NodeEvent::Resigned {
                election: leadership.election.clone(),
                token: leadership.token,
            });
            Input::ResignDone
        }
        Err(error) => {
            tracing::warn!(node = %ctx.config.name, election = %leadership.election, %error, "resign failed");
            let transient = error.is_transient();
            ctx.emit(NodeEvent::ResignFailed {
                election: leadership.election.clone(),
                token: leadership.token,
                error: error.to_string(),
            });
            // A refusal is an answer: the backend holds nothing of this leadership to give up.
            if transient {
                Input::ResignFailed
            } else {
                Input::ResignDone
            }
        }
    }
}

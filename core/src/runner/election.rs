//! One election's life on one node: campaign, lead, and whatever the leadership's end calls for.
//!
//! The loop campaigns with the node's session until it wins, then drives that leadership's
//! [`Lifecycle`]: [`super::leading`] leads and settles the runs, this loop resigns (again after a
//! backoff while the resign fails, as the lifecycle says) and goes where the lifecycle sends it:
//! campaign again (fenced out), wait for the clock first (stepped down), or leave the election
//! (session lost — the caller opens a new one —, superseded, shutdown). Campaign failures are
//! reported and retried with backoff. A node that stops withdraws the candidacy it may have left
//! standing (an abandoned campaign, an unanswered resign) instead of leaving it to the session's
//! close, which waits for the shutdown grace of the node's other leaderships.

use std::sync::Arc;

use super::leading::lead;
use super::NodeCtx;
use crate::elector::{ElectionName, Leadership, Session};
use crate::event::NodeEvent;
use crate::job::Job;
use crate::lifecycle::{Action, After, Input, Lifecycle};

/// Whether a campaign loop may have left this session's candidacy standing in its election.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidacy {
    /// Nothing of it is left: the last leadership was resigned (or refused), or the session is
    /// lost, which takes its keys with it.
    Gone,
    /// A campaign was abandoned, or a resign went unanswered, when the node stopped: its place
    /// in the election may still stand.
    MayStand,
}

/// Campaigns and leads `election` until the session is lost or the node stops. A node that stops
/// withdraws whatever candidacy it may have left standing at once: the session is closed only
/// once every leadership of the node has had its shutdown grace, and meanwhile a waiting
/// candidacy that became the oldest would keep every other candidate from leading.
pub(crate) async fn campaign_loop(
    ctx: &Arc<NodeCtx>,
    session: &Session,
    election: &ElectionName,
    jobs: &[Job],
) {
    if campaign_and_lead(ctx, session, election, jobs).await == Candidacy::MayStand
        && session.lost().is_none()
    {
        withdraw(ctx, session, election).await;
    }
}

/// The loop of [`campaign_loop`]: says, on leaving, whether a candidacy may still stand.
async fn campaign_and_lead(
    ctx: &Arc<NodeCtx>,
    session: &Session,
    election: &ElectionName,
    jobs: &[Job],
) -> Candidacy {
    let mut backoff = ctx.backoff();
    let mut stepped_down_for = None;
    let mut predecessors_withdrawn = !ctx.config.withdraw_predecessors;
    while !ctx.stopping() && session.lost().is_none() {
        ctx.emit(NodeEvent::CampaignStarted {
            election: election.clone(),
        });
        if !predecessors_withdrawn {
            predecessors_withdrawn = withdraw_predecessors(ctx, session, election).await;
        }
        let mut lost = session.lost_signal();
        let won = tokio::select! {
            biased;
            _ = ctx.stop_requested() => return Candidacy::MayStand,
            _ = lost.wait_for(|l| l.is_some()) => {
                ctx.emit(NodeEvent::CampaignLost { election: election.clone(), reason: "session lost".into() });
                return Candidacy::Gone;
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
                    return Candidacy::MayStand;
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
            return Candidacy::MayStand;
        };
        match after {
            // A shutdown does not retry a failed resign (closing the session follows): its key
            // may stand until then, so it is withdrawn like an abandoned campaign.
            After::Leave if ctx.stopping() => return Candidacy::MayStand,
            After::Leave => return Candidacy::Gone,
            After::CampaignAgain => {}
            After::WaitForClock { checkpoint } => {
                // Only the first step-down for a checkpoint sits out; a leader leading on steps
                // down again only to let a better clock win, and campaigns again at once.
                let first = stepped_down_for != Some(checkpoint);
                stepped_down_for = Some(checkpoint);
                if first && wait_for_clock(ctx, session, checkpoint).await {
                    return Candidacy::Gone;
                }
            }
        }
    }
    Candidacy::MayStand
}

/// Withdraws the session's candidacy in `election`, bounded by the request timeout; a failure
/// leaves it to the session's close (or its lease's expiry).
async fn withdraw(ctx: &NodeCtx, session: &Session, election: &ElectionName) {
    let withdrawn = ctx.backend.withdraw(session, election);
    if let Err(error) = ctx.call("withdraw", withdrawn).await {
        tracing::warn!(node = %ctx.config.name, %election, %error, "could not withdraw the candidacy; it stands until the session ends");
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

/// Withdraws what an earlier process of this node (or a session it gave up) left standing in
/// `election` ([`crate::Elector::withdraw_predecessors`], opted in by
/// [`super::NodeConfig::withdraw_predecessors`]), so a node that crashed and came back does not
/// wait out its own dead lease; true once done. A failure is left to the campaign that follows
/// (tried again before the next campaign): at worst the leftovers expire with their lease. A stop
/// does not wait for it.
async fn withdraw_predecessors(ctx: &NodeCtx, session: &Session, election: &ElectionName) -> bool {
    let name = &ctx.config.name;
    let call = ctx.backend.withdraw_predecessors(session, election, name);
    let answer = tokio::select! {
        biased;
        _ = ctx.stop_requested() => return false,
        answer = ctx.call("withdraw predecessors", call) => answer,
    };
    match answer {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!(node = %name, %election, %error, "could not withdraw predecessors");
            false
        }
    }
}

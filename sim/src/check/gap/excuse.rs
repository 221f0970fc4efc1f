//! Verifying an abandon's reason against the history: a reason the policy allows is not yet a
//! reason that was true.
//!
//! The misfire reasons (`catch_up_limit`, `superseded`, `misfire_skipped`) hold only for a tick
//! that was really missed when its leadership decided (at its `claims_sent`, in true time): due
//! already, and either due before that leadership began or followed by a newer due tick — and,
//! for `catch_up_limit` and `superseded`, followed by as many newer due ticks as the policy keeps.
//! `deadline_exceeded` holds only for a tick later than the deadline in true time at the decision.
//! Where the backend is observed, the leadership's claim moving the checkpoint past the tick must
//! have been applied. `leadership_lost` and `shutdown` hold only for a tick that leadership
//! claimed and had not started, once the leadership had ended (revoked, resigned, stepped down,
//! the node stopped); `replaced` only once that leadership claimed a newer tick of the job. Each
//! verdict names the records that prove it. This module verifies; [`super`] decides what to do
//! with the verdict.

use cronfence::plan::AbandonReason;
use cronfence::{CatchUp, JobId, JobSpec};
use jiff::{SignedDuration, Timestamp};

use super::Abandon;
use crate::check::index::{EndKind, Index};
use crate::check::oracle;

/// `Ok(evidence)` when the history proves `a`'s reason for `tick`; `Err(why not)` otherwise.
pub(super) fn verify(
    index: &Index<'_>,
    job: &JobId,
    spec: &JobSpec,
    tick: Timestamp,
    a: &Abandon<'_>,
) -> Result<String, String> {
    match a.reason {
        AbandonReason::CatchUpLimit
        | AbandonReason::Superseded
        | AbandonReason::MisfireSkipped
        | AbandonReason::DeadlineExceeded => missed(index, job, spec, a),
        AbandonReason::LeadershipLost | AbandonReason::Shutdown => ended(index, job, tick, a),
        AbandonReason::Replaced => replaced(index, job, tick, a),
        AbandonReason::DstGap => {
            Ok("its local time fell in a DST gap and the job skips those".into())
        }
    }
}

/// A misfire or deadline reason, checked on the newest tick of the range (every condition holds
/// for older ticks if it holds for the newest).
fn missed(
    index: &Index<'_>,
    job: &JobId,
    spec: &JobSpec,
    a: &Abandon<'_>,
) -> Result<String, String> {
    let node = a.record.node.as_str();
    let decided = index
        .decided(node, a.token, job, a.index)
        .unwrap_or(a.index);
    let now = index.time(decided);
    let when = format!(
        "when it decided (record {}, true time {now})",
        index.seq(decided)
    );
    let tick = a.last;
    if tick > now {
        return Err(format!("tick {tick} was still in the future {when}"));
    }
    applied(index, job, a)?;
    let newer = |cap| oracle::count(spec, tick, now, cap);
    if a.reason == AbandonReason::DeadlineExceeded {
        let deadline = spec.misfire.starting_deadline.unwrap_or_default();
        let deadline = SignedDuration::try_from(deadline).unwrap_or(SignedDuration::MAX);
        let late = now.duration_since(tick);
        return if late > deadline {
            Ok(format!(
                "{late:#} late {when}, past the {deadline:#} deadline"
            ))
        } else {
            Err(format!(
                "it was only {late:#} late {when}, within the {deadline:#} deadline"
            ))
        };
    }
    let won = index.won(node, job, a.token, a.index).ok_or_else(|| {
        format!(
            "no `campaign_won` of {node}'s leadership #{} is recorded",
            a.token
        )
    })?;
    let began = index.time(won);
    let before_office = tick < began;
    if !before_office && newer(1) == 0 {
        return Err(format!(
            "tick {tick} was neither due before that leadership began (record {}, {began}) nor followed by a newer due tick {when}",
            index.seq(won)
        ));
    }
    // The planner keeps the newest `max` missed ticks, plus the newest due tick when it is current
    // (due since the leadership began): all(max) gives up only ticks older than those.
    let current = oracle::last_at_or_before(spec, now).is_some_and(|t| t >= began);
    let keep = match (a.reason, spec.misfire.catch_up) {
        (AbandonReason::CatchUpLimit, CatchUp::All { max }) => u64::from(max) + u64::from(current),
        (AbandonReason::Superseded, _) => 1,
        _ => 0,
    };
    let found = newer(keep);
    if found < keep {
        return Err(format!(
            "only {found} newer ticks were due {when}, fewer than the {keep} the policy keeps"
        ));
    }
    let why = if before_office {
        format!(
            "due before that leadership began (record {})",
            index.seq(won)
        )
    } else {
        "a newer tick was already due".to_string()
    };
    Ok(format!(
        "missed ({why}) with {found}+ newer ticks due {when}"
    ))
}

/// The misfire and deadline reasons: a leadership's claim gives the tick up, judged in true time
/// at that claim's decision.
pub(super) fn decided_by_claim(reason: AbandonReason) -> bool {
    matches!(
        reason,
        AbandonReason::CatchUpLimit
            | AbandonReason::Superseded
            | AbandonReason::MisfireSkipped
            | AbandonReason::DeadlineExceeded
    )
}

/// Where the backend is observed, the leadership's claim moving the checkpoint to or past the
/// range's newest tick must have been applied (at any time: a claim may land late).
fn applied(index: &Index<'_>, job: &JobId, a: &Abandon<'_>) -> Result<(), String> {
    if !index.backend_observed {
        return Ok(());
    }
    let node = a.record.node.as_str();
    let past = |c: &cronfence::Claim| &c.job == job && c.tick >= a.last;
    match index.applied_where(node, job, a.token, usize::MAX, past) {
        Some(_) => Ok(()),
        None => Err(
            "the backend never applied that leadership's claim moving the checkpoint past it"
                .into(),
        ),
    }
}

/// `leadership_lost` or `shutdown`: claimed by that leadership, not started by it, and the
/// leadership (or, for shutdown, the node) had ended by the time it was given up.
fn ended(
    index: &Index<'_>,
    job: &JobId,
    tick: Timestamp,
    a: &Abandon<'_>,
) -> Result<String, String> {
    let node = a.record.node.as_str();
    let key = (job.clone(), tick);
    let claim = index
        .claimed_run(node, a.token, &key, a.index)
        .ok_or_else(|| format!("{node}'s leadership #{} never claimed it", a.token))?;
    if let Some(run) = index
        .runs(&key)
        .iter()
        .find(|r| r.node == node && r.token == a.token && r.index < a.index)
    {
        return Err(format!("it had started (record {})", index.seq(run.index)));
    }
    let given_up = index.time(a.index);
    // A pause the leadership may survive ends nothing; a shutdown needs the node's stop.
    let shutdown = a.reason == AbandonReason::Shutdown;
    let ending = index
        .ending(node, job, a.token, claim, |e| {
            if shutdown {
                e.how == EndKind::Stopped
            } else {
                e.how != EndKind::Paused
            }
        })
        .filter(|e| index.time(e.index) <= given_up);
    match ending {
        Some(e) => Ok(format!(
            "claimed at record {}; that leadership ended ({}, record {}) before it started",
            index.seq(claim),
            e.how,
            index.seq(e.index)
        )),
        None if a.reason == AbandonReason::Shutdown => {
            Err(format!("{node} was not stopping when it gave the tick up"))
        }
        None => Err(format!(
            "{node}'s leadership #{} had not ended when it gave the tick up",
            a.token
        )),
    }
}

/// `replaced`: that leadership had claimed a newer tick of the job, whose run replaces this one.
fn replaced(
    index: &Index<'_>,
    job: &JobId,
    tick: Timestamp,
    a: &Abandon<'_>,
) -> Result<String, String> {
    let node = a.record.node.as_str();
    match index.claimed_newer(node, a.token, job, tick, a.index) {
        Some(newer) => Ok(format!(
            "a newer tick claimed at record {} replaced it",
            index.seq(newer)
        )),
        None => Err(format!(
            "{node}'s leadership #{} claimed no newer tick to replace it",
            a.token
        )),
    }
}

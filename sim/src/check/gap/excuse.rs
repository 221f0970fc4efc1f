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

/// A reason the history proves: the records that prove it, and whether it holds only at the
/// time the deciding node's clock let it know (the clock contract), not in true time.
#[derive(Clone, Debug)]
pub(super) struct Proof {
    pub(super) why: String,
    pub(super) on_clock: bool,
}

impl Proof {
    fn in_true_time(why: String) -> Self {
        Proof {
            why,
            on_clock: false,
        }
    }
}

/// `Ok(proof)` when the history proves `a`'s reason for `tick`; `Err(why not)` otherwise.
pub(super) fn verify(
    index: &Index<'_>,
    job: &JobId,
    spec: &JobSpec,
    tick: Timestamp,
    a: &Abandon<'_>,
) -> Result<Proof, String> {
    match a.reason {
        AbandonReason::CatchUpLimit
        | AbandonReason::Superseded
        | AbandonReason::MisfireSkipped
        | AbandonReason::DeadlineExceeded => missed(index, job, spec, a),
        AbandonReason::LeadershipLost | AbandonReason::Shutdown => {
            ended(index, job, tick, a).map(Proof::in_true_time)
        }
        AbandonReason::Replaced => replaced(index, job, tick, a).map(Proof::in_true_time),
        AbandonReason::DstGap => Ok(Proof::in_true_time(
            "its local time fell in a DST gap and the job skips those".into(),
        )),
    }
}

/// A misfire or deadline reason, checked on the newest tick of the range (every condition holds
/// for older ticks if it holds for the newest): in true time, or else at the time the deciding
/// node's clock let it know ([`crate::check::clocks`]).
fn missed(
    index: &Index<'_>,
    job: &JobId,
    spec: &JobSpec,
    a: &Abandon<'_>,
) -> Result<Proof, String> {
    let node = a.record.node.as_str();
    let decided = index
        .decided(node, a.token, job, a.index)
        .unwrap_or(a.index);
    applied(index, job, a)?;
    let won = index.won(node, job, a.token, a.index).ok_or_else(|| {
        format!(
            "no `campaign_won` of {node}'s leadership #{} is recorded",
            a.token
        )
    })?;
    let at = Moments {
        decided,
        now: index.time(decided),
        won,
        began: index.time(won),
    };
    let why_not = match judged(index, spec, a, &at) {
        Ok(why) => return Ok(Proof::in_true_time(why)),
        Err(why_not) => why_not,
    };
    let witnessed = match index.evidence_lead(decided) {
        Ok(Some(witnessed)) => witnessed,
        Ok(None) => return Err(why_not),
        Err(dishonest) => {
            return Err(format!(
                "{why_not}; nor can {node}'s clock excuse it: {dishonest}"
            ))
        }
    };
    // The clock contract: judged where the node's verified evidence put it, since nothing it
    // read could tell that clock from a correct one. Its start of office counts as at most that
    // evidence less the time since the win (the core rebases a start its evidence contradicts).
    let lead = witnessed.lead;
    let seen = Moments {
        now: at.now + lead,
        began: at.began + lead,
        ..at
    };
    match judged(index, spec, a, &seen) {
        Ok(why) => Ok(Proof {
            why: format!(
                "{why}, at the time {node}'s clock evidence put it: {lead:#} ahead of true time, \
                 vouched for by its reading {:?} before, when its clock read {:#} ahead; no \
                 reading of its own could tell",
                witnessed.age, witnessed.vouched
            ),
            on_clock: true,
        }),
        Err(_) => Err(format!(
            "{why_not}; nor at the time {node}'s clock evidence put it ({lead:#} ahead, \
             vouched for by its reading {:?} before)",
            witnessed.age
        )),
    }
}

/// When a leadership decided to give ticks up, and when it began: records and instants.
#[derive(Clone, Copy)]
struct Moments {
    decided: usize,
    now: Timestamp,
    won: usize,
    began: Timestamp,
}

/// `missed` at the instants `at` (true time, or where the node's clock put it).
fn judged(
    index: &Index<'_>,
    spec: &JobSpec,
    a: &Abandon<'_>,
    at: &Moments,
) -> Result<String, String> {
    let (now, began) = (at.now, at.began);
    let when = format!(
        "when it decided (record {}, true time {})",
        index.seq(at.decided),
        index.time(at.decided)
    );
    let tick = a.last;
    if tick > now {
        return Err(format!("tick {tick} was still in the future {when}"));
    }
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
    let before_office = tick < began;
    if !before_office && newer(1) == 0 {
        return Err(format!(
            "tick {tick} was neither due before that leadership began (record {}, {began}) nor followed by a newer due tick {when}",
            index.seq(at.won)
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
            index.seq(at.won)
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
    // The claim may land after the give-up: a leadership that ends with it unanswered records
    // the tick lost, and the backend may apply the claim late (a delayed write).
    let claim = index
        .claimed_run(node, a.token, &key, usize::MAX)
        .ok_or_else(|| format!("{node}'s leadership #{} never claimed it", a.token))?;
    if let Some(run) = index
        .runs(&key)
        .iter()
        .find(|r| r.node == node && r.token == a.token && r.index < a.index)
    {
        return Err(format!("it had started (record {})", index.seq(run.index)));
    }
    let given_up = index.time(a.index);
    // The end must follow the node's sending of that claim (the backend may apply it later,
    // even after a stop began: the leadership held it all along).
    let since = index
        .sent_run(node, a.token, &key, claim + 1)
        .unwrap_or(claim)
        .min(claim);
    // A pause the leadership may survive ends nothing; a shutdown needs the node's stop, from
    // where it reached the node (a paused node sees it only once it is back).
    let ending = match a.reason {
        AbandonReason::Shutdown => index
            .stops_reaching(node)
            .into_iter()
            .find(|&(_, reached)| reached > since && reached != usize::MAX)
            .map(|(stop, reached)| (EndKind::Stopped, stop, reached)),
        _ => index
            .ending(node, job, a.token, since, |e| e.how != EndKind::Paused)
            .map(|e| (e.how, e.index, e.index)),
    };
    match ending.filter(|&(_, _, reached)| index.time(reached) <= given_up) {
        Some((how, at, reached)) => {
            let mut proof = format!(
                "claimed at record {}; that leadership ended ({how}, record {}) before it started",
                index.seq(claim),
                index.seq(at)
            );
            if reached != at {
                let seen = format!(
                    "; its node, paused then, acted on the stop from record {}, after it sent the \
                     claim",
                    index.seq(reached)
                );
                proof.push_str(&seen);
            }
            Ok(proof)
        }
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

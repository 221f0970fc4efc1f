//! The lifecycle's rules, driven input by input without a runtime.

use std::time::Duration;

use super::*;

const GRACE: Duration = Duration::from_secs(10);

fn checkpoint() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

/// A leadership that won and leads.
fn leading() -> Lifecycle {
    let mut lifecycle = Lifecycle::won(GRACE);
    assert_eq!(lifecycle.on(Input::Leading), Action::Lead);
    assert_eq!(lifecycle.phase(), &Phase::Renewing);
    lifecycle
}

fn at_least_once_cancelled() -> Action {
    Action::SettleRuns(RunsAtEnd {
        drain: None,
        cancel: Cancel::AtLeastOnce,
        reason: AbandonReason::LeadershipLost,
    })
}

#[test]
fn every_end_but_shutdown_cancels_at_least_once_runs_and_keeps_at_most_once_ones() {
    // The runs are settled before anything else, the same way for every non-shutdown end.
    for cause in [
        EndCause::SessionLost("lease expired".into()),
        EndCause::Fenced,
        EndCause::ClockBehind {
            checkpoint: checkpoint(),
        },
        EndCause::Superseded,
    ] {
        let mut lifecycle = leading();
        let action = lifecycle.on(Input::Ended(cause.clone()));
        assert_eq!(action, at_least_once_cancelled(), "{cause:?}");
        let Action::SettleRuns(runs) = action else {
            unreachable!()
        };
        assert!(runs.cancels(Delivery::AtLeastOnce));
        assert!(!runs.cancels(Delivery::AtMostOnce));
        assert_eq!(lifecycle.phase(), &Phase::Settling(cause));
    }
}

#[test]
fn shutdown_drains_every_run_for_the_grace_then_cancels_all() {
    // Shutdown is the one end that lets runs finish, and the one that cancels at-most-once runs.
    let mut lifecycle = leading();
    let action = lifecycle.on(Input::Ended(EndCause::Shutdown));
    let expected = RunsAtEnd {
        drain: Some(GRACE),
        cancel: Cancel::All,
        reason: AbandonReason::Shutdown,
    };
    assert_eq!(action, Action::SettleRuns(expected));
    assert!(expected.cancels(Delivery::AtMostOnce));
    assert_eq!(
        lifecycle.on(Input::RunsSettled),
        Action::Resign { attempt: 1 }
    );
    assert_eq!(lifecycle.on(Input::ResignDone), Action::Over(After::Leave));
    assert_eq!(lifecycle.phase(), &Phase::ShutDown);
}

#[test]
fn a_lost_session_is_not_resigned() {
    // Its keys are gone with the session: resigning would only wait on a dead backend.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::SessionLost("expired".into())));
    assert_eq!(lifecycle.on(Input::RunsSettled), Action::Over(After::Leave));
    assert_eq!(lifecycle.phase(), &Phase::Revoked);
    assert!(lifecycle.is_over());
}

#[test]
fn the_resign_waits_until_the_runs_are_settled() {
    // Releasing the leadership first would let the next leader re-run a tick still running here.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::Fenced));
    assert_eq!(lifecycle.on(Input::ResignDone), Action::Nothing);
    assert!(matches!(lifecycle.phase(), Phase::Settling(_)));
    assert_eq!(
        lifecycle.on(Input::RunsSettled),
        Action::Resign { attempt: 1 }
    );
    assert_eq!(
        lifecycle.on(Input::ResignDone),
        Action::Over(After::CampaignAgain)
    );
    assert_eq!(lifecycle.phase(), &Phase::Resigned);
}

#[test]
fn a_step_down_whose_resign_fails_resigns_again_until_answered() {
    // Issue 12 bug 1: a lost resign must not leave the node holding the election while it waits.
    let mut lifecycle = leading();
    let cause = EndCause::ClockBehind {
        checkpoint: checkpoint(),
    };
    lifecycle.on(Input::Ended(cause.clone()));
    assert_eq!(
        lifecycle.on(Input::RunsSettled),
        Action::Resign { attempt: 1 }
    );
    assert_eq!(
        lifecycle.on(Input::ResignFailed),
        Action::Resign { attempt: 2 }
    );
    assert_eq!(
        lifecycle.on(Input::ResignFailed),
        Action::Resign { attempt: 3 }
    );
    assert!(!lifecycle.is_over());
    let waiting = After::WaitForClock {
        checkpoint: checkpoint(),
    };
    assert_eq!(lifecycle.on(Input::ResignDone), Action::Over(waiting));
    assert_eq!(
        lifecycle.phase(),
        &Phase::SteppedDown {
            checkpoint: checkpoint()
        }
    );
}

#[test]
fn a_session_lost_while_resigning_ends_the_resign() {
    // The backend dropped the keys itself; the step-down still waits for the clock.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::ClockBehind {
        checkpoint: checkpoint(),
    }));
    lifecycle.on(Input::RunsSettled);
    lifecycle.on(Input::ResignFailed);
    let waiting = After::WaitForClock {
        checkpoint: checkpoint(),
    };
    assert_eq!(lifecycle.on(Input::SessionLost), Action::Over(waiting));
}

#[test]
fn a_shutdown_does_not_retry_a_failed_resign() {
    // Closing the session follows at once; retrying would hold up the stop.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::Shutdown));
    lifecycle.on(Input::RunsSettled);
    assert_eq!(
        lifecycle.on(Input::ResignFailed),
        Action::Over(After::Leave)
    );
    assert_eq!(lifecycle.phase(), &Phase::ShutDown);
}

#[test]
fn a_superseded_leadership_resigns_and_leaves_for_good() {
    // The nodes with the newer definition must be able to win at once.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::Superseded));
    assert_eq!(
        lifecycle.on(Input::RunsSettled),
        Action::Resign { attempt: 1 }
    );
    assert_eq!(
        lifecycle.on(Input::ResignFailed),
        Action::Resign { attempt: 2 }
    );
    assert_eq!(lifecycle.on(Input::ResignDone), Action::Over(After::Leave));
    assert_eq!(lifecycle.phase(), &Phase::Superseded);
}

#[test]
fn a_leadership_ends_once() {
    // A second end (a revocation racing a fence-out) changes neither the phase nor the plan.
    let mut lifecycle = leading();
    lifecycle.on(Input::Ended(EndCause::Fenced));
    let again = lifecycle.on(Input::Ended(EndCause::SessionLost("expired".into())));
    assert_eq!(again, Action::Nothing);
    assert_eq!(lifecycle.phase(), &Phase::Settling(EndCause::Fenced));
}

#[test]
fn a_leadership_can_end_before_it_leads() {
    // Lost while reading checkpoints: there are no runs, but the same steps apply.
    let mut lifecycle = Lifecycle::won(GRACE);
    let action = lifecycle.on(Input::Ended(EndCause::Shutdown));
    assert!(matches!(action, Action::SettleRuns(_)));
    assert_eq!(lifecycle.on(Input::Leading), Action::Nothing);
}

#[test]
fn the_known_bad_variant_steps_down_without_resigning() {
    // `no_resign_on_step_down` keeps the election: the stall the liveness checker must catch.
    let mut lifecycle = Lifecycle::won(GRACE).without_resign_on_step_down();
    lifecycle.on(Input::Leading);
    lifecycle.on(Input::Ended(EndCause::ClockBehind {
        checkpoint: checkpoint(),
    }));
    let waiting = After::WaitForClock {
        checkpoint: checkpoint(),
    };
    assert_eq!(lifecycle.on(Input::RunsSettled), Action::Over(waiting));
}

#[test]
fn a_clock_far_behind_the_checkpoint_steps_down_once_per_checkpoint() {
    // The first time hands the election to a node whose clock may be right; the same checkpoint
    // again means nobody moved it, so stepping down at once again would only empty the election.
    let (limit, ttl, early) = (
        Duration::from_secs(60),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let cp = Some(checkpoint());
    assert!(steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        None,
        early,
        ttl,
        false
    ));
    assert!(!steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        cp,
        early,
        ttl,
        false
    ));
    let moved = checkpoint() + jiff::SignedDuration::from_secs(1);
    assert!(steps_down_for_clock(
        now, moved, limit, cp, early, ttl, false
    ));
}

#[test]
fn a_leader_leading_on_behind_steps_down_again_each_lease_ttl() {
    // So a node with a better clock, campaigning meanwhile, can win: leading on is not for good.
    let (limit, ttl) = (Duration::from_secs(60), Duration::from_secs(10));
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let cp = Some(checkpoint());
    assert!(!steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        cp,
        ttl / 2,
        ttl,
        false
    ));
    assert!(steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        cp,
        ttl,
        ttl,
        false
    ));
}

#[test]
fn a_clock_within_the_lag_limit_leads_on() {
    // Sixty seconds behind is the limit itself: not more than it.
    let (limit, ttl, led) = (
        Duration::from_secs(60),
        Duration::from_secs(10),
        Duration::from_secs(100),
    );
    let now = checkpoint() - jiff::SignedDuration::from_secs(60);
    assert!(!steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        None,
        led,
        ttl,
        false
    ));
    let earlier = now - jiff::SignedDuration::from_nanos(1);
    assert!(steps_down_for_clock(
        earlier,
        checkpoint(),
        limit,
        None,
        led,
        ttl,
        false
    ));
}

#[test]
fn a_repeat_step_down_waits_for_the_at_least_once_runs_it_would_cut() {
    // A repeat is a guess that a better clock is waiting; cutting a run longer than the lease TTL
    // at every repeat would keep it from ever completing, so it waits. News does not wait.
    let (limit, ttl) = (Duration::from_secs(60), Duration::from_secs(10));
    let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let cp = Some(checkpoint());
    assert!(!steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        cp,
        ttl * 3,
        ttl,
        true
    ));
    assert!(steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        cp,
        ttl * 3,
        ttl,
        false
    ));
    assert!(steps_down_for_clock(
        now,
        checkpoint(),
        limit,
        None,
        ttl,
        ttl,
        true
    ));
}

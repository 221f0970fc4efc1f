//! Tests of where a graceful stop reached its node, read from the harness's `stop_reached`: a
//! claim sent between the stop's start and that record was sent before the node had the stop,
//! and its ticks may be given up for the stop; a claim sent after it may not.
use super::tests_excuse::{abandon_by, commands, kinds, verdict};
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;

/// Node a won leadership #1 and ran tick 0.
fn a_ran_tick_0() -> Builder {
    Builder::new()
        .node(0, "a", won(1))
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
}

/// Node a leads and ran tick 0. A stop begins at 10 s; a sends its claim of tick 10 at 10.001 s
/// (before the stop reached it, at 10.002 s, when `claim_first`; after, at 10.003 s,
/// otherwise); the answer is lost, and a gives tick 10 up for shutdown at 10.5 s. b runs 20, 30.
fn claim_around_the_stop(claim_first: bool) -> Verdict {
    let mut history = a_ran_tick_0().fault(10_000, "a", FaultKind::Stop { upgrade_to: None });
    let claim_ms = if claim_first { 10_001 } else { 10_003 };
    if claim_first {
        history = history.node(claim_ms, "a", sent(1, &[("j", 10)]));
    }
    history = history.stop_reached(10_002, "a");
    if !claim_first {
        history = history.node(claim_ms, "a", sent(1, &[("j", 10)]));
    }
    let history = history
        .node(10_500, "a", abandon_by(1, 10, 10, AbandonReason::Shutdown))
        .command(20_000, "b", began("j", 20, 2, 1))
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30)
}

#[test]
fn a_claim_sent_before_the_stop_reached_the_node_may_be_given_up_for_it() {
    let v = claim_around_the_stop(true);
    assert!(v.violations.is_empty(), "{v:#?}");
}

#[test]
fn a_claim_sent_once_the_node_had_the_stop_may_not() {
    // The node knew it was stopping when it claimed: the tick was lost for nothing.
    let v = claim_around_the_stop(false);
    assert_eq!(
        kinds(&v.violations),
        [("unfounded_abandon", Some(at(10)))],
        "{v:#?}"
    );
}

/// Node a leads and ran tick 0; it is paused 5–15 s, and two stops begin during the pause (7 s
/// and 9 s, both in force); the harness hands them over together at 15 s. a sends its claim of
/// tick 10 before the hand-over (15.000 s, then the hand-over at 15.001 s) when `claim_first`,
/// or after it (15.002 s), and gives tick 10 up for shutdown at 15.5 s.
fn claim_around_two_stops(claim_first: bool) -> Verdict {
    let stop = || FaultKind::Stop { upgrade_to: None };
    let mut history = a_ran_tick_0()
        .fault_for(5_000, "a", FaultKind::Pause, 10_000)
        .fault(7_000, "a", stop())
        .fault(9_000, "a", stop())
        .fault_ended(15_000, "a", FaultKind::Pause, 5_000);
    if claim_first {
        history = history.node(15_000, "a", sent(1, &[("j", 10)]));
    }
    history = history.stop_reached(15_001, "a");
    if !claim_first {
        history = history.node(15_002, "a", sent(1, &[("j", 10)]));
    }
    let history = history
        .node(15_500, "a", abandon_by(1, 10, 10, AbandonReason::Shutdown))
        .command(20_000, "b", began("j", 20, 2, 1))
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30)
}

#[test]
fn one_hand_over_serves_every_stop_begun_before_it() {
    // The review's case: the earlier stop has no hand-over of its own before the later one
    // began; it reached the node with the later one, not at the node's first act after the
    // pause (which the give-up itself would be).
    let after = claim_around_two_stops(false);
    assert_eq!(
        kinds(&after.violations),
        [("unfounded_abandon", Some(at(10)))],
        "{after:#?}"
    );
    let before = claim_around_two_stops(true);
    assert!(before.violations.is_empty(), "{before:#?}");
}

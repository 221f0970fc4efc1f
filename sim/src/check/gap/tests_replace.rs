//! Tests of replacements under overlap `Replace` within one claimed batch: which tick of the
//! batch may be said to have replaced a run the leadership cancelled.
use super::tests_excuse::{
    abandon_by, batch_run_cancelled, commands, kinds, replace_spec, verdict,
};
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;

/// Ticks 10, 20 and 30 claimed in one batch by a clock 15 s ahead, back at 10.5 s; tick 10's run
/// began at 10.6 s and its cancel was committed at `cancel_ms`. Right after, the clock jumped
/// 15 s ahead again: tick `given_up` was abandoned as replaced by leadership `token`, and 30 ran.
fn replaced_in_turn(cancel_ms: u64, given_up: i64, token: u64) -> Verdict {
    let offset = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(15),
    };
    let history = batch_run_cancelled(&[10, 20, 30], 10_500, 10_600, cancel_ms)
        .fault(cancel_ms + 1, "a", offset)
        .node(
            cancel_ms + 2,
            "a",
            abandon_by(token, given_up, given_up, AbandonReason::Replaced),
        )
        .command(cancel_ms + 3, "a", began("j", 30, 1, 1))
        .command(cancel_ms + 4, "a", returned("j", 30, 1, 1))
        .node(cancel_ms + 4, "a", completed("j", 30, 1, 1))
        .build();
    verdict(&history, replace_spec(), commands(), 30)
}

#[test]
fn a_run_replaced_by_a_batch_tick_that_was_replaced_in_turn_ended_as_the_policy_says() {
    // At 20 s tick 20 came due and replaced 10's run; the clock then jumped ahead, so 30 was due
    // as well and replaced 20 before it began (memory 21370): 10 ended replaced, not cut short.
    let in_turn = replaced_in_turn(20_000, 20, 1);
    assert!(in_turn.violations.is_empty(), "{in_turn:#?}");
    assert!(kinds(&in_turn.excused).contains(&("replaced", Some(at(10)))));
    // Cancelled at 15 s, when 20 was not due on a's clock, 10 was only cut short, whatever 20's
    // give-up says; and a give-up of 20 by another leadership replaced nothing of a's.
    for (cancel_ms, token) in [(15_000, 1), (20_000, 2)] {
        let cut = replaced_in_turn(cancel_ms, 20, token);
        assert!(
            kinds(&cut.violations).contains(&("unfinished_at_least_once", Some(at(10)))),
            "{cancel_ms} {token}: {cut:#?}"
        );
    }
}

//! Tests of from when a job is owed: when the registration that created it was applied but its
//! answer lost (the backend's kept instant names the start that created it), and when a start
//! reading was taken long before its record.
use cronfence::store::Checkpoint;
use cronfence::FencingToken;
use jiff::SignedDuration;

use super::tests::{started_and_read, verdict_of};
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;

/// a starts at 0 and its registration is answered at 16 s; b starts at 15 s and its
/// registration's answer is lost. a leads from 16 s, reads j registered at `kept` seconds, and
/// runs 20 and 30.
fn registered_unanswered(kept: i64) -> Verdict {
    let since = |s| NodeEvent::NodeStarted { since: at(s) };
    let read = NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(1),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(kept),
            last_claimed: None,
            in_flight: vec![],
        }],
    };
    let history = Builder::new()
        .node(0, "a", since(0))
        .node(15_000, "b", since(15))
        .node(16_000, "a", NodeEvent::JobsRegistered { since: at(0) })
        .node(16_000, "a", won(1))
        .node(16_001, "a", read)
        .node(20_000, "a", started("j", 20, 1, 1))
        .node(30_000, "a", started("j", 30, 1, 1))
        .build();
    verdict_of(&history, every_10s(Delivery::AtMostOnce))
}

#[test]
fn a_job_created_by_a_registration_whose_answer_was_lost_is_owed_from_that_start() {
    // The backend kept b's start reading (15 s): b's registration created j although b never
    // heard back, so nothing is owed before 15 s (memory 72476). A kept instant no start read
    // (14 s), or a's own (0 s), leaves ticks 0 and 10 owed.
    let created_by_b = registered_unanswered(15);
    assert!(created_by_b.violations.is_empty(), "{created_by_b:#?}");
    for kept in [14, 0] {
        let owed = registered_unanswered(kept);
        let ticks: Vec<_> = owed.violations.iter().map(|f| f.tick).collect();
        assert_eq!(ticks, [Some(at(0)), Some(at(10))], "kept at {kept}");
    }
}

/// a restarted after a crash over `[0, 1 s]`, took its start reading at 1 s while its clock read
/// 60 s ahead, and recorded its start only at 8 s (its backend client connected first); its
/// clock jumped 60 s ahead over `jump` (ms), if any. It wins at 9 s.
fn restarted_with_a_reading_taken_before_its_record(jump: Option<(u64, u64)>) -> Verdict {
    let mut history =
        Builder::new()
            .fault(0, "a", FaultKind::Crash)
            .fault_ended(1_000, "a", FaultKind::Crash, 0);
    if let Some((from, to)) = jump {
        let by = FaultKind::ClockJump {
            by: SignedDuration::from_secs(60),
        };
        history = history
            .fault(from, "a", by.clone())
            .fault_ended(to, "a", by, from);
    }
    let history = started_and_read(history, 8_000, 61).build();
    verdict_of(&history, every_10s(Delivery::AtMostOnce))
}

#[test]
fn a_start_reading_taken_before_its_record_is_believed_if_the_clock_showed_it_then() {
    // etcd-sim 83767: the clock read 60 s ahead when the restarted process took its reading
    // (1 s), no longer when it recorded its start (8 s): the registration "at 61 s" was the
    // clock's, so nothing before it is j's.
    let shown = restarted_with_a_reading_taken_before_its_record(Some((500, 5_000)));
    assert!(shown.violations.is_empty(), "{shown:#?}");
    // No clock fault explains it, or the jump ended before this process began: the start
    // counts at its record (8 s), and ticks 10 to 30 are owed.
    let unexplained = restarted_with_a_reading_taken_before_its_record(None);
    assert_eq!(unexplained.violations.len(), 3, "{unexplained:#?}");
    let before = restarted_with_a_reading_taken_before_its_record(Some((100, 900)));
    assert_eq!(before.violations.len(), 3, "{before:#?}");
}

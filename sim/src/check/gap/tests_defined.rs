//! Tests of from when a job is owed when the registration that created it was applied but its
//! answer lost: the backend's kept instant names the start that created it.
use cronfence::store::Checkpoint;
use cronfence::FencingToken;

use super::tests::verdict_of;
use super::*;
use crate::check::testkit::*;

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

//! Tests of a drop that names a tick only its own leadership's unanswered claims named (an
//! "unknowing" drop, etcd-sim 192577): once a later read proves those claims never landed, it
//! gave up the ticks below too; and of the proof itself, which a removal sent before the
//! unanswered claim may spoil by landing after it.
use super::tests_drops::*;
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;

/// a runs 0, sends an unanswered run claim of 10 and 20 at 10 s, then at 22 s a drop of 20
/// (planned from its last answered claim, 0: it names a tick only its own unanswered claim
/// held) and crashes at 23 s; b reads at 25 s as `read` says and runs 30. Deadline 1 s.
fn unanswered_runs_then_unknowing_drop(read: ReadByB) -> Verdict {
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", read_of(1, None, &[]));
    let history = ran_once(history, 0, "a", 1, 0)
        .node(10_000, "a", sent_runs(1, &[10, 20]))
        .node(22_000, "a", drop(1, 20))
        .fault(23_000, "a", FaultKind::Crash)
        .node(25_000, "b", won(2));
    let history = match read {
        ReadByB::Passed => history.node(25_001, "b", read_of(2, Some(20), &[])),
        ReadByB::TenInFlight => history.node(25_001, "b", read_of(2, Some(20), &[10])),
        ReadByB::NothingPassed => history.node(25_001, "b", read_of(2, Some(0), &[])),
        ReadByB::Unread | ReadByB::PassedAfterCommit => history,
    };
    let history = ran_once(history, 30_000, "b", 2, 30).build();
    verdict_with_deadline(&history, 30, Some(1))
}

#[test]
fn a_drop_of_a_tick_its_own_lost_claim_named_gives_up_the_ticks_below_once_a_read_proves_it() {
    // etcd-sim 192577: the claim of 10 and 20 was delayed in the network and never landed; the
    // drop of 20, planned from 0 (a drop of a tick a's own unanswered claim named), moved the
    // checkpoint from 0 and gave 10 up too, 11 s after its 1 s deadline. b's read proves it: 10
    // passed and out of flight, which a landed claim of 10 would have left in flight.
    let verdict = unanswered_runs_then_unknowing_drop(ReadByB::Passed);
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(
        kinds(&verdict.excused),
        [
            ("dropped_with_leader", Some(at(10))),
            ("dropped_with_leader", Some(at(20)))
        ]
    );
    // Controls: b's read holds 10 in flight (the claim landed; 10 was owed a rerun), shows the
    // checkpoint at 0 (nothing landed: 10 and 20 owed), or b never read (nothing proves it).
    let controls = [
        (ReadByB::TenInFlight, &[10][..]),
        (ReadByB::NothingPassed, &[10, 20][..]),
        (ReadByB::Unread, &[10][..]),
    ];
    for (read, flagged) in controls {
        let verdict = unanswered_runs_then_unknowing_drop(read);
        let ticks: Vec<_> = verdict.violations.iter().map(|f| f.tick).collect();
        let flagged: Vec<_> = flagged.iter().map(|&t| Some(at(t))).collect();
        assert_eq!(ticks, flagged, "{verdict:#?}");
    }
}

/// a reads the checkpoint at 0 with 0 in flight; at 5 s it sends a drop retiring 0 (its answer
/// lost), at 6 s an at-least-once claim rerunning 0 and running `top` (skipping 10 silently: a
/// broken scheduler), at `d_at` ms a drop of `d`, and crashes a second later; b reads the
/// checkpoint at `d` with nothing in flight. The ticks flagged.
fn retire_landing_late(top: i64, d: i64, d_at: u64) -> Vec<Option<Timestamp>> {
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", read_of(1, Some(0), &[0]))
        .node(5_000, "a", drop(1, 0))
        .node(6_000, "a", sent_runs(1, &[0, top]))
        .node(d_at, "a", drop(1, d))
        .fault(d_at + 1_000, "a", FaultKind::Crash)
        .node(d_at + 3_000, "b", won(2))
        .node(d_at + 3_001, "b", read_of(2, Some(d), &[]));
    let after = (d as u64 + 10) * 1_000;
    let history = ran_once(history, after, "b", 2, d + 10).build();
    let verdict = verdict_with_deadline(&history, d + 10, Some(1));
    verdict.violations.iter().map(|f| f.tick).collect()
}

#[test]
fn a_removal_sent_before_a_claim_spoils_the_proof_that_the_claim_never_landed() {
    // Hostile review: the retire of 0 sent at 5 s may land after the claim sent at 6 s (a write
    // whose answer was lost proves nothing about when it landed), taking 0 out of flight again;
    // so 0 out of flight in b's read does not prove that claim never landed, and the claim may
    // have skipped 10 silently. The later drop names the claim's own tick (20, an unknowing
    // drop), so 20 out of flight proves nothing either: 10 stays flagged.
    assert!(retire_landing_late(20, 20, 22_000).contains(&Some(at(10))));
    // Control: a drop of a fresh tick (30) leaves 20 as the witness, which nothing sent takes
    // out of flight: the claim never landed, and the drop of 30, planned from 0, gave 10 up.
    assert!(!retire_landing_late(20, 30, 32_000).contains(&Some(at(10))));
}

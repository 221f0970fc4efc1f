//! Tests of what an unrecorded drop explains where the backend cannot be observed: it moves the
//! checkpoint from where its leadership knew it to be, and it retires only a tick that
//! leadership knew was in flight.
use std::collections::BTreeSet;

use cronfence::schedule::{DstPolicy, FoldPolicy, GapPolicy};
use cronfence::store::Checkpoint;
use cronfence::{ClaimKind, FencingToken, Schedule};

use crate::check::Observed;

use super::tests::unobserved;
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::History;

/// The no-gap checker over ticks 0 to 30 of an at-least-once job `j`, commands observed, the
/// backend not.
fn verdict(history: &History) -> Verdict {
    verdict_under(history, OverlapPolicy::Allow)
}

/// [`verdict`] under overlap policy `overlap`.
fn verdict_under(history: &History, overlap: OverlapPolicy) -> Verdict {
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.overlap = overlap;
    unobserved(history, spec, 0, 30)
}

pub(super) fn drop(token: u64, tick: i64) -> NodeEvent {
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(tick),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: None,
    }
}

/// `node` (token) claims and runs tick `tick` to completion at `ms`.
fn ran(history: Builder, ms: u64, node: &str, token: u64, tick: i64) -> Builder {
    history
        .node(ms, node, sent(token, &[("j", tick)]))
        .node(ms, node, claimed("j", tick, token))
        .command(ms + 1, node, began("j", tick, token, 1))
        .command(ms + 2, node, returned("j", tick, token, 1))
        .node(ms + 2, node, completed("j", tick, token, 1))
}

pub(super) fn kinds(findings: &[Finding]) -> Vec<(&str, Option<Timestamp>)> {
    findings.iter().map(|f| (f.kind.as_str(), f.tick)).collect()
}

#[test]
fn a_drop_moves_the_checkpoint_from_where_its_leadership_read_it() {
    // a ran ticks 0 and 10, sent a claim of 20 that never landed, and crashed. b read the
    // checkpoint at 10, dropped 30 (moving it past 20 and 30) and crashed before recording why:
    // both ticks went with b's drop. Where b had not read the checkpoint, a's claim of 20 (which
    // may have landed) bounds the drop, and tick 20 is unexplained.
    let world = |read: bool| {
        let mut history = ran(Builder::new().node(0, "a", won(1)), 0, "a", 1, 0);
        history = ran(history, 10_000, "a", 1, 10)
            .node(20_000, "a", sent(1, &[("j", 20)]))
            .fault(20_100, "a", FaultKind::Crash)
            .node(25_000, "b", won(2));
        if read {
            let read = NodeEvent::CheckpointsRead {
                election: election(),
                token: FencingToken(2),
                checkpoints: vec![Checkpoint {
                    job: job("j"),
                    registered_at: at(0),
                    last_claimed: Some(at(10)),
                    in_flight: vec![],
                }],
            };
            history = history.node(25_001, "b", read);
        }
        let history = history
            .node(31_000, "b", drop(2, 30))
            .fault(31_100, "b", FaultKind::Crash)
            .build();
        verdict(&history)
    };
    let read = world(true);
    assert!(read.violations.is_empty(), "{read:#?}");
    assert_eq!(
        kinds(&read.excused),
        [
            ("dropped_with_leader", Some(at(20))),
            ("dropped_with_leader", Some(at(30)))
        ]
    );
    let unread = world(false);
    assert_eq!(kinds(&unread.violations), [("missing_tick", Some(at(20)))]);
}

#[test]
fn a_drop_retires_only_a_tick_its_leadership_knew_was_in_flight() {
    // a's clock steps back 5 s from 20.4 s to 22.4 s. At 20.1 s it sent a claim of 10 and 20
    // with no answer; back on its slow clock, at 20.5 s, a claim of 10 alone (answered), and ran
    // 10 until 23 s; when 20 came due on its clock again (22.4 s) it dropped 20 and crashed
    // before recording why. It never knew its first claim landed: the drop gave 20 up as a fresh
    // tick, an overlap skip under `forbid` (its run of 10, begun before 20 came due on its
    // clock, was going), gone with a. Under `allow` no policy skips it; and had the claim of 20
    // been answered, a knew 20 was in flight: dropping it retires it, which nothing in the
    // policy (no deadline, catch-up `latest` with nothing newer due) allows.
    let world = |answered: bool, overlap: OverlapPolicy| {
        let back = FaultKind::ClockOffset {
            offset: jiff::SignedDuration::from_secs(-5),
        };
        let mut history = ran(Builder::new().node(0, "a", won(1)), 0, "a", 1, 0).node(
            20_100,
            "a",
            sent(1, &[("j", 10), ("j", 20)]),
        );
        if answered {
            history = history.node(20_100, "a", claimed("j", 20, 1));
        }
        let history = history
            .fault_for(20_400, "a", back.clone(), 2_000)
            .node(20_500, "a", sent(1, &[("j", 10)]))
            .node(20_500, "a", claimed("j", 10, 1))
            .command(20_501, "a", began("j", 10, 1, 1))
            .fault_ended(22_400, "a", back, 20_400)
            .node(22_500, "a", drop(1, 20))
            .command(23_000, "a", returned("j", 10, 1, 1))
            .node(23_000, "a", completed("j", 10, 1, 1))
            .fault(23_100, "a", FaultKind::Crash)
            .node(25_000, "b", won(2));
        let history = ran(history, 30_000, "b", 2, 30).build();
        verdict_under(&history, overlap)
    };
    let skipped = world(false, OverlapPolicy::Forbid);
    assert!(skipped.violations.is_empty(), "{skipped:#?}");
    assert!(
        kinds(&skipped.excused).contains(&("dropped_with_leader", Some(at(20)))),
        "{skipped:#?}"
    );
    for (answered, overlap) in [(false, OverlapPolicy::Allow), (true, OverlapPolicy::Forbid)] {
        let refuted = world(answered, overlap);
        let ticks: Vec<_> = refuted.violations.iter().map(|f| f.tick).collect();
        assert_eq!(
            ticks,
            [Some(at(20))],
            "{answered} {overlap:?}: {refuted:#?}"
        );
    }
}

/// a's clock reads 25 s ahead from 0. At 5 s it drops ticks up to 20 on evidence reading 30 s
/// (its witness 5 s old), which the backend applies unanswered; at 6 s it sends a run claim of
/// tick 10, which the moved checkpoint refuses; its leadership ends at 7 s and it records tick 10
/// lost with it. b reads the checkpoint past 20 and runs 30. The ticks no later quiet owes a run.
fn lost_after_an_early_drop() -> BTreeSet<TickKey> {
    let ahead = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(25),
    };
    let early_drop = NodeEvent::ClaimsSent {
        token: FencingToken(1),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(20),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: Some(cronfence::event::ClockEvidence {
            at: at(30),
            witness_age: std::time::Duration::from_millis(5_000),
            witness: (at(30))
                - SignedDuration::try_from(std::time::Duration::from_millis(5_000))
                    .expect("an age"),
        }),
    };
    let lost = NodeEvent::TicksAbandoned {
        job: job("j"),
        first: at(10),
        last: at(10),
        count: 1,
        reason: AbandonReason::LeadershipLost,
        token: FencingToken(1),
    };
    let read = |token: u64, last: i64| NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(last)),
            in_flight: vec![],
        }],
    };
    let history = Builder::new()
        .fault(0, "a", ahead)
        .node(0, "a", won(1))
        .node(0, "a", read(1, 0));
    let history = ran(history, 0, "a", 1, 0)
        .node(5_000, "a", early_drop)
        .node(6_000, "a", sent(1, &[("j", 10)]))
        .node(7_000, "a", lost)
        .node(7_000, "a", revoked(1))
        .node(8_000, "b", won(2))
        .node(8_000, "b", read(2, 20));
    let history = ran(history, 30_000, "b", 2, 30).build();
    let jobs = jobs("j", every_10s(Delivery::AtLeastOnce));
    let mut input = input(&history, &jobs, 0, 30);
    input.observed = Observed {
        commands: true,
        backend: false,
    };
    let index = Index::new(input);
    let mut verdict = Verdict::default();
    let on_clock = check(input, &index, &mut verdict);
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    on_clock
}

#[test]
fn a_tick_lost_with_its_leadership_after_an_early_drop_gave_it_up_is_not_owed_again() {
    // Tick 10 is excused by a's record that it went with the leadership, but the drop a sent on
    // verified evidence of a clock ahead had already given it up for good, before it was due:
    // like tick 20, which only the drop explains, no later quiet owes it a run (etcd-sim 21285).
    let on_clock = lost_after_an_early_drop();
    assert_eq!(
        on_clock.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
        [at(10), at(20)]
    );
}

/// A job at 02:30 New York time, whose tick on the spring-forward day of 2026 falls in the gap
/// (its id is 03:00 EDT, 07:00Z, `s` seconds from the start), as `gap` says. a sends a drop of
/// that tick 10 s before it is due, with no clock evidence, and crashes 1 s later if `crashes`.
fn dropped_in_the_gap(gap: GapPolicy, crashes: bool) -> Verdict {
    let dst = DstPolicy {
        fold: FoldPolicy::Once,
        gap,
    };
    let schedule = Schedule::cron_with_dst("30 2 * * *", "America/New_York", dst).expect("valid");
    let mut spec = JobSpec::new(schedule);
    spec.delivery = Delivery::AtMostOnce;
    let s = 5_727_600;
    let ms = |secs: i64| secs as u64 * 1_000;
    let mut history =
        Builder::new()
            .node(ms(s - 30), "a", won(1))
            .node(ms(s - 10), "a", drop(1, s));
    if crashes {
        history = history.fault(ms(s - 9), "a", FaultKind::Crash);
    }
    let history = history.build();
    unobserved(&history, spec, s - 60, s + 60)
}

#[test]
fn an_unrecorded_drop_of_a_tick_skipped_for_a_dst_gap_counts_whenever_it_was_sent() {
    // The gap's tick is the schedule's to give up, so a drop sent before it was due (by true
    // time and by any clock) is that give-up, and the crash explains the missing `dst_gap`
    // record (memory 30705, etcd-sim 30433 and 30640). A schedule that runs the gap's tick, or a
    // leadership that carried on without recording why, leaves it missing.
    let tick = at(5_727_600);
    let skipped = dropped_in_the_gap(GapPolicy::Skip, true);
    assert!(skipped.violations.is_empty(), "{skipped:#?}");
    assert_eq!(
        kinds(&skipped.excused),
        [("dropped_in_dst_gap", Some(tick))]
    );
    for (gap, crashes) in [(GapPolicy::RunAfterGap, true), (GapPolicy::Skip, false)] {
        let missing = dropped_in_the_gap(gap, crashes);
        assert_eq!(
            kinds(&missing.violations),
            [("missing_tick", Some(tick))],
            "{gap:?} {crashes}"
        );
    }
}

/// `ClaimsSent` by leadership `token` of at-least-once run claims of `ticks` of `j`.
pub(super) fn sent_runs(token: u64, ticks: &[i64]) -> NodeEvent {
    let claim = |tick: i64| cronfence::Claim {
        job: job("j"),
        tick: at(tick),
        spec_version: 1,
        kind: ClaimKind::RunThenCommit { attempt: 1 },
    };
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims: ticks.iter().copied().map(claim).collect(),
        evidence: None,
    }
}

/// Leadership `token`'s read of `j`'s checkpoint: claimed up to `last`, `in_flight` in flight.
pub(super) fn read_of(token: u64, last: Option<i64>, in_flight: &[i64]) -> NodeEvent {
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: last.map(at),
            in_flight: in_flight.iter().map(|&t| (at(t), 1)).collect(),
        }],
    }
}

/// Leadership `token`'s commit of `j`'s tick `tick` as completed.
pub(super) fn commit_of(token: u64, tick: i64) -> NodeEvent {
    NodeEvent::CommitsSent {
        token: FencingToken(token),
        commits: vec![cronfence::store::Commit {
            job: job("j"),
            tick: at(tick),
            outcome: cronfence::store::RunOutcome::Completed,
        }],
    }
}

/// `node` (token) claims tick `tick` at least once, runs it and commits it at `ms`.
pub(super) fn ran_once(history: Builder, ms: u64, node: &str, token: u64, tick: i64) -> Builder {
    let commit = commit_of(token, tick);
    history
        .node(ms, node, sent_runs(token, &[tick]))
        .node(ms, node, claimed("j", tick, token))
        .command(ms + 1, node, began("j", tick, token, 1))
        .command(ms + 2, node, returned("j", tick, token, 1))
        .node(ms + 2, node, commit)
        .node(ms + 2, node, completed("j", tick, token, 1))
}

/// The no-gap checker over ticks 0 to `to` of the at-least-once job `j` every 10 s with
/// `starting_deadline` (seconds), commands observed, the backend not.
pub(super) fn verdict_with_deadline(history: &History, to: i64, deadline: Option<u64>) -> Verdict {
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.misfire.starting_deadline = deadline.map(std::time::Duration::from_secs);
    unobserved(history, spec, 0, to)
}

/// What b's checkpoint read shows in the world of [`unanswered_run_then_drop`].
pub(super) enum ReadByB {
    /// Claimed up to 20, nothing in flight.
    Passed,
    /// Claimed up to 20, tick 10 in flight.
    TenInFlight,
    /// Claimed up to 0, nothing in flight: neither of a's claims landed.
    NothingPassed,
    /// b never reads.
    Unread,
    /// Claimed up to 20, nothing in flight, but a sent a commit of 10 at 15 s (never having run
    /// it): the commit may have taken a landed claim of 10 out of flight.
    PassedAfterCommit,
}

/// a reads an empty checkpoint and runs tick 0; at 10 s it sends an at-least-once run claim of
/// 10, never answered; at 22 s it sends a drop of 20 (planned from its last answered claim, 0)
/// and crashes at 23 s before recording why. b wins at 25 s, reads the checkpoint as `read`
/// says, and runs 30. Starting deadline `deadline` seconds.
fn unanswered_run_then_drop(read: ReadByB, deadline: Option<u64>) -> Verdict {
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", read_of(1, None, &[]));
    let mut history = ran_once(history, 0, "a", 1, 0).node(10_000, "a", sent_runs(1, &[10]));
    if let ReadByB::PassedAfterCommit = read {
        history = history.node(15_000, "a", commit_of(1, 10));
    }
    history = history
        .node(22_000, "a", drop(1, 20))
        .fault(23_000, "a", FaultKind::Crash)
        .node(25_000, "b", won(2));
    history = match read {
        ReadByB::Passed | ReadByB::PassedAfterCommit => {
            history.node(25_001, "b", read_of(2, Some(20), &[]))
        }
        ReadByB::TenInFlight => history.node(25_001, "b", read_of(2, Some(20), &[10])),
        ReadByB::NothingPassed => history.node(25_001, "b", read_of(2, Some(0), &[])),
        ReadByB::Unread => history,
    };
    let history = ran_once(history, 30_000, "b", 2, 30).build();
    verdict_with_deadline(&history, 30, deadline)
}

#[test]
fn a_drop_gives_up_a_tick_whose_only_run_claim_a_later_read_shows_never_landed() {
    // An applied at-least-once run claim leaves its tick in flight until a commit, a drop or a
    // run of that very tick, and none was sent: b's read showing 10 passed and out of flight
    // proves a's claim of 10 never landed, so only a's drop of 20 (planned from 0) moved the
    // checkpoint past 10, 11 s after its 1 s deadline; a's crash explains the missing record.
    let verdict = unanswered_run_then_drop(ReadByB::Passed, Some(1));
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(
        kinds(&verdict.excused),
        [
            ("dropped_with_leader", Some(at(10))),
            ("dropped_with_leader", Some(at(20)))
        ]
    );
}

#[test]
fn a_drop_is_not_taken_to_give_up_a_tick_no_read_proves_it_passed_or_no_deadline_gives_up() {
    // Each control leaves 10 unexplained: b's read holds 10 in flight (a's claim landed, and b
    // owed it a run it never made); b's read shows the checkpoint still at 0 (the drop never
    // landed either: b owed 10 a run); b never read the checkpoint (nothing proves a's claim
    // never landed); a's commit of 10 may have taken a landed claim of it out of flight (a tick
    // committed that never ran); no starting deadline (catch-up keeps 101 ticks: at 22 s no
    // policy gives 10 up).
    // (Where b's read shows the drop never landed, it explains 20 no more than 10: both owed.)
    let controls = [
        (ReadByB::TenInFlight, Some(1), &[10][..]),
        (ReadByB::NothingPassed, Some(1), &[10, 20][..]),
        (ReadByB::Unread, Some(1), &[10][..]),
        (ReadByB::PassedAfterCommit, Some(1), &[10][..]),
        (ReadByB::Passed, None, &[10][..]),
    ];
    for (read, deadline, flagged) in controls {
        let verdict = unanswered_run_then_drop(read, deadline);
        let ticks: Vec<_> = verdict.violations.iter().map(|f| f.tick).collect();
        let flagged: Vec<_> = flagged.iter().map(|&t| Some(at(t))).collect();
        assert_eq!(ticks, flagged, "{deadline:?}: {verdict:#?}");
    }
}

#[test]
fn a_drop_is_not_taken_to_give_up_a_tick_a_newer_landed_claim_may_have_passed() {
    // a's unanswered claims of 10 (at 10 s) and of 20 (at 20 s), then a drop of 30 and a crash;
    // b's read holds 20 in flight: the claim of 20 landed and may have moved the checkpoint past
    // 10 itself, a silent skip, so the drop is no proof that it gave 10 up.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", read_of(1, None, &[]));
    let history = ran_once(history, 0, "a", 1, 0)
        .node(10_000, "a", sent_runs(1, &[10]))
        .node(20_000, "a", sent_runs(1, &[20]))
        .node(32_000, "a", drop(1, 30))
        .fault(33_000, "a", FaultKind::Crash)
        .node(35_000, "b", won(2))
        .node(35_001, "b", read_of(2, Some(30), &[20]));
    let history = ran_once(history, 36_000, "b", 2, 20);
    let history = ran_once(history, 40_000, "b", 2, 40).build();
    let verdict = verdict_with_deadline(&history, 40, Some(1));
    let ticks: Vec<_> = verdict.violations.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(10))], "{verdict:#?}");
}

/// `ClaimsSent` by leadership `token`: a drop of `dropped`, then an at-least-once run claim of
/// `run`.
fn drop_and_run(token: u64, dropped: i64, run: i64) -> NodeEvent {
    let NodeEvent::ClaimsSent { mut claims, .. } = drop(token, dropped) else {
        unreachable!("drop() is a ClaimsSent");
    };
    let NodeEvent::ClaimsSent { claims: runs, .. } = sent_runs(token, &[run]) else {
        unreachable!("sent_runs() is a ClaimsSent");
    };
    claims.extend(runs);
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims,
        evidence: None,
    }
}

/// a runs 0, then sends a run claim of 10 (never answered, never landed), [drop 20, run 30] at
/// 31 s and, at 51 s, [drop 40, run 50] (`second_drops`) or a lone run claim of 50, and crashes
/// at 52 s; b's read at 55 s shows the checkpoint at 50 with 30 and 50 in flight: both later
/// batches landed.
fn two_landed_batches(second_drops: bool, deadline: Option<u64>) -> Verdict {
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", read_of(1, None, &[]));
    let second = match second_drops {
        true => drop_and_run(1, 40, 50),
        false => sent_runs(1, &[50]),
    };
    let history = ran_once(history, 0, "a", 1, 0)
        .node(10_000, "a", sent_runs(1, &[10]))
        .node(31_000, "a", drop_and_run(1, 20, 30))
        .node(51_000, "a", second)
        .fault(52_000, "a", FaultKind::Crash)
        .node(55_000, "b", won(2))
        .node(55_001, "b", read_of(2, Some(50), &[30, 50]));
    let history = ran_once(history, 56_000, "b", 2, 30);
    let history = ran_once(history, 57_000, "b", 2, 50).build();
    verdict_with_deadline(&history, 50, deadline)
}

#[test]
fn a_tick_given_up_by_whichever_of_two_landed_drops_came_first_is_explained() {
    // etcd-sim 82005: both batches after the lost claim of 10 landed, each with a drop planned
    // from 0 that gives 10 up (1 s deadline): whichever landed first moved the checkpoint past
    // 10 by a drop, and a's crash explains the missing record.
    let verdict = two_landed_batches(true, Some(1));
    let ticks: Vec<_> = verdict.violations.iter().map(|f| f.tick).collect();
    assert!(!ticks.contains(&Some(at(10))), "{verdict:#?}");
    assert!(kinds(&verdict.excused).contains(&("dropped_with_leader", Some(at(10)))));
    // A landed batch of run claims alone may have skipped 10 silently; without a deadline no
    // drop gives 10 up: it stays owed either way.
    for (second_drops, deadline) in [(false, Some(1)), (true, None)] {
        let verdict = two_landed_batches(second_drops, deadline);
        let ticks: Vec<_> = verdict.violations.iter().map(|f| f.tick).collect();
        assert!(
            ticks.contains(&Some(at(10))),
            "{second_drops} {deadline:?}: {verdict:#?}"
        );
    }
}

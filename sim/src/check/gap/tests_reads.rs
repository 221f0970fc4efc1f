//! Tests that a later leadership's checkpoint read proves, where the backend cannot be observed,
//! that a replaced run's `cancelled` commit whose answer was lost took effect — and only then;
//! and that a tick it read in flight is owed by it, queued behind its run at the end.
use cronfence::store::{Checkpoint, Commit, RunOutcome};
use cronfence::{FencingToken, OverlapPolicy};

use crate::check::Observed;

use super::tests::unobserved;
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::History;

/// The checker over a fresh index of `history`, commands observed, the backend not.
fn verdict(history: &History) -> Verdict {
    verdict_under(history, OverlapPolicy::Replace)
}

/// [`verdict`] for an at-least-once job under `overlap`.
fn verdict_under(history: &History, overlap: OverlapPolicy) -> Verdict {
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.overlap = overlap;
    unobserved(history, spec, 0, 20)
}

/// What leadership `token` read of job `j`: its checkpoint at tick 20 with `in_flight` ticks.
fn read(token: u64, in_flight: &[i64]) -> NodeEvent {
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(20)),
            in_flight: in_flight.iter().map(|&t| (at(t), 1)).collect(),
        }],
    }
}

/// Node a's run of tick 10 is replaced by its claim of tick 20; a sends the `cancelled` commit
/// and crashes before hearing back; `then` adds what the next leadership b did.
fn answer_lost(then: impl FnOnce(Builder) -> Builder) -> History {
    let commit = NodeEvent::CommitsSent {
        token: FencingToken(1),
        commits: vec![Commit {
            job: job("j"),
            tick: at(10),
            outcome: RunOutcome::Cancelled,
        }],
    };
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .node(20_000, "a", claimed("j", 20, 1))
        .command(20_001, "a", began("j", 20, 1, 1))
        .node(20_001, "a", commit)
        .fault(20_005, "a", FaultKind::Crash)
        .node(25_000, "b", won(2));
    then(history)
        .command(25_010, "b", began("j", 20, 2, 2))
        .command(25_011, "b", returned("j", 20, 2, 2))
        .node(25_011, "b", completed("j", 20, 2, 2))
        .build()
}

#[test]
fn a_replaced_run_whose_commit_answer_was_lost_is_replaced_once_a_later_read_shows_it_settled() {
    // b read tick 10 out of flight and nobody but a wrote it since a's run began: only a's
    // cancelled commit can have taken it out, so the run ended replaced, as the policy says.
    let v = verdict(&answer_lost(|h| h.node(25_001, "b", read(2, &[20]))));
    assert!(v.violations.is_empty(), "{v:#?}");
    assert_eq!(kinds(&v.excused), [("replaced", Some(at(10)))]);
    let detail = &v.excused[0].detail;
    assert!(
        detail.contains("no longer holds the tick in flight"),
        "{detail}"
    );
}

#[test]
fn a_lost_commit_answer_proves_nothing_when_the_read_still_holds_the_tick_in_flight() {
    // The commit never landed: the tick is still in flight and must run again; b did not.
    let v = verdict(&answer_lost(|h| h.node(25_001, "b", read(2, &[10, 20]))));
    assert_eq!(
        kinds(&v.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

#[test]
fn a_lost_commit_answer_proves_nothing_when_another_leadership_wrote_the_tick_meanwhile() {
    // c sent a claim of tick 10 between a's commit and b's read: that claim, not a's commit,
    // may be what took the tick out of flight.
    let other = sent(3, &[("j", 10)]);
    let v = verdict(&answer_lost(|h| {
        h.node(22_000, "c", other).node(25_001, "b", read(2, &[20]))
    }));
    assert_eq!(
        kinds(&v.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

fn kinds(findings: &[Finding]) -> Vec<(&str, Option<Timestamp>)> {
    findings.iter().map(|f| (f.kind.as_str(), f.tick)).collect()
}

/// a ran tick 0, claimed 10 and 20 in one batch, began 10 and crashed at 10.5 s: both are left
/// in flight for the next leadership.
fn left_in_flight() -> Builder {
    Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .node(10_000, "a", claimed("j", 10, 1))
        .node(10_000, "a", claimed("j", 20, 1))
        .command(10_001, "a", began("j", 10, 1, 1))
        .fault(10_500, "a", FaultKind::Crash)
}

#[test]
fn a_tick_read_in_flight_waits_behind_the_readers_run_at_the_end_of_the_world() {
    // a claimed 10 and 20 and crashed; b read both in flight and reruns 10 (overlap forbid: 20
    // waits for it, unclaimed) when the world ends: 20 is queued behind b's run, not lost. Had
    // b's leadership ended, nobody would owe it a run; under replace, 20 would replace the run.
    let owed = |b_crashes: bool, overlap: OverlapPolicy| {
        let mut history = left_in_flight()
            .node(11_000, "b", won(2))
            .node(11_000, "b", read(2, &[10, 20]))
            .node(11_001, "b", claimed("j", 10, 2))
            .command(11_002, "b", began("j", 10, 2, 2));
        if b_crashes {
            history = history.fault(25_000, "b", FaultKind::Crash);
        }
        verdict_under(&history.build(), overlap)
    };
    let queued = owed(false, OverlapPolicy::Forbid);
    assert!(
        queued
            .excused
            .iter()
            .any(|f| f.kind == "queued_at_end" && f.tick == Some(at(20))),
        "{queued:#?}"
    );
    assert!(
        !queued.violations.iter().any(|f| f.tick == Some(at(20))),
        "{queued:#?}"
    );
    let ended = owed(true, OverlapPolicy::Forbid);
    assert!(
        ended.violations.iter().any(|f| f.tick == Some(at(20))),
        "{ended:#?}"
    );
    // Under replace, tick 20 coming due replaces the run of 10: nothing makes it wait.
    let replaced = owed(false, OverlapPolicy::Replace);
    assert!(
        replaced.violations.iter().any(|f| f.tick == Some(at(20))),
        "{replaced:#?}"
    );
}

#[test]
fn a_tick_read_in_flight_waits_behind_the_older_rerun_that_read_started() {
    // a claimed 10 and 20 and crashed; b won at 25 s, when both were long due, read both in
    // flight and reran 10 alone (due by its wall only: 20 waits for its end). The world ends
    // with that rerun going: 20 is queued behind it, though nothing ran when b read it
    // (explorer world etcd-sim 123039). Controls: the rerun ended before the world did, so 20
    // was b's to run; the read that found 20 did not find 10 (another leadership's rerun); and
    // (the review's) b ran fresh ticks 30 and 40 first and reran 10 only after: it had not
    // gone straight to its reruns, and forgot 20.
    let owed_with = |rerun_ends: bool, read_of_10: bool, fresh_first: bool| {
        let in_flight: &[i64] = if read_of_10 { &[10, 20] } else { &[20] };
        let mut history =
            left_in_flight()
                .node(25_000, "b", won(2))
                .node(25_000, "b", read(2, in_flight));
        if fresh_first {
            for (tick, ms) in [(30, 30_000), (40, 40_000)] {
                history = history
                    .node(ms, "b", claimed("j", tick, 2))
                    .command(ms + 1, "b", began("j", tick, 2, 1))
                    .command(ms + 500, "b", returned("j", tick, 2, 1))
                    .node(ms + 500, "b", completed("j", tick, 2, 1));
            }
        }
        let rerun_at = if fresh_first { 45_000 } else { 25_001 };
        history = history.node(rerun_at, "b", claimed("j", 10, 2)).command(
            rerun_at + 1,
            "b",
            began("j", 10, 2, 2),
        );
        if rerun_ends {
            history = history
                .command(26_000, "b", returned("j", 10, 2, 2))
                .node(26_000, "b", completed("j", 10, 2, 2))
                .node(40_000, "b", won(2));
        }
        verdict_under(&history.build(), OverlapPolicy::Forbid)
    };
    let owed = |rerun_ends: bool, read_of_10: bool| owed_with(rerun_ends, read_of_10, false);
    let queued = owed(false, true);
    assert!(
        queued
            .excused
            .iter()
            .any(|f| f.kind == "queued_at_end" && f.tick == Some(at(20))),
        "{queued:#?}"
    );
    assert!(
        !queued.violations.iter().any(|f| f.tick == Some(at(20))),
        "{queued:#?}"
    );
    for (rerun_ends, read_of_10) in [(true, true), (false, false)] {
        let v = owed(rerun_ends, read_of_10);
        assert!(
            v.violations.iter().any(|f| f.tick == Some(at(20))),
            "{rerun_ends} {read_of_10}: {v:#?}"
        );
    }
    let forgot = owed_with(false, true, true);
    assert!(
        forgot.violations.iter().any(|f| f.tick == Some(at(20))),
        "{forgot:#?}"
    );
}

#[test]
fn a_pause_the_leader_came_back_from_leaves_its_queued_tick_queued() {
    // a claimed 10 and 20 in one batch and runs 10 (forbid: 20 waits behind it) when the world
    // ends; a pause of 1 s at 12 s, over well before the end, ended nothing: 20 is queued. A pause
    // still going when the world ends may yet cost the leadership: 20 is not excused then.
    let paused_for = |ms: u64| {
        let history = Builder::new()
            .command(0, "a", began("j", 0, 1, 1))
            .command(1, "a", returned("j", 0, 1, 1))
            .node(1, "a", completed("j", 0, 1, 1))
            .node(10_000, "a", claimed("j", 10, 1))
            .node(10_000, "a", claimed("j", 20, 1))
            .command(10_001, "a", began("j", 10, 1, 1))
            .fault_for(12_000, "a", FaultKind::Pause, ms)
            .node(25_000, "b", won(2))
            .build();
        verdict_under(&history, OverlapPolicy::Forbid)
    };
    let resumed = paused_for(1_000);
    assert!(
        resumed
            .excused
            .iter()
            .any(|f| f.kind == "queued_at_end" && f.tick == Some(at(20))),
        "{resumed:#?}"
    );
    let still_paused = paused_for(60_000);
    assert!(
        still_paused
            .violations
            .iter()
            .any(|f| f.tick == Some(at(20))),
        "{still_paused:#?}"
    );
}

/// What leadership `token` read of job `j`: its checkpoint at tick 10 with `in_flight` ticks.
fn read_at_10(token: u64, in_flight: &[i64]) -> NodeEvent {
    let NodeEvent::CheckpointsRead { checkpoints, .. } = read(token, in_flight) else {
        unreachable!("read gives a checkpoint read")
    };
    let checkpoints = checkpoints
        .into_iter()
        .map(|cp| Checkpoint {
            last_claimed: Some(at(10)),
            ..cp
        })
        .collect();
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints,
    }
}

/// Node a runs tick 10 and crashes; b reads it in flight, sends a drop of it (retiring it past
/// its 1 s starting deadline, catch-up `skip`, unless `deadline` is off) and crashes before it
/// records anything; `then` adds what c, the next leader, read; c runs tick 20.
fn retired_unrecorded(deadline: bool, then: impl FnOnce(Builder) -> Builder) -> Verdict {
    let mut spec = every_10s_with(Delivery::AtLeastOnce, CatchUp::Skip, OverlapPolicy::Forbid);
    if deadline {
        spec.misfire.starting_deadline = Some(std::time::Duration::from_secs(1));
    } else {
        spec.misfire.catch_up = CatchUp::All { max: 100 };
    }
    let drop = NodeEvent::ClaimsSent {
        token: FencingToken(2),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(10),
            spec_version: 1,
            kind: cronfence::ClaimKind::Drop,
        }],
        evidence: None,
    };
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .node(10_000, "a", sent(1, &[("j", 10)]))
        .command(10_001, "a", began("j", 10, 1, 1))
        .fault(10_500, "a", FaultKind::Crash)
        .node(15_000, "b", won(2))
        .node(15_001, "b", read_at_10(2, &[10]))
        .node(15_002, "b", drop)
        .fault(15_100, "b", FaultKind::Crash)
        .node(18_000, "c", won(3));
    let history = then(history)
        .node(20_000, "c", sent(3, &[("j", 20)]))
        .command(20_001, "c", began("j", 20, 3, 1))
        .command(20_002, "c", returned("j", 20, 3, 1))
        .node(20_002, "c", completed("j", 20, 3, 1))
        .build();
    unobserved(&history, spec, 0, 20)
}

#[test]
fn a_retiring_drop_whose_node_died_unrecorded_ends_the_tick_once_a_later_read_shows_it() {
    // c read tick 10 claimed and out of flight, and only b wrote it since a's run began: b's
    // drop took it out, past its starting deadline, as the policy allows.
    let v = retired_unrecorded(true, |h| h.node(18_001, "c", read_at_10(3, &[])));
    assert!(v.violations.is_empty(), "{v:#?}");
    assert!(
        kinds(&v.excused).contains(&("retired_by_drop", Some(at(10)))),
        "{v:#?}"
    );
}

#[test]
fn a_retiring_drop_proves_nothing_unread_still_in_flight_or_against_the_policy() {
    let unfinished = [("unfinished_at_least_once", Some(at(10)))];
    // Nobody read the checkpoint after the drop: it may never have landed.
    let unread = retired_unrecorded(true, |h| h);
    assert_eq!(kinds(&unread.violations), unfinished);
    // c still read it in flight: the drop never landed, and c owed it a run.
    let in_flight = retired_unrecorded(true, |h| h.node(18_001, "c", read_at_10(3, &[10])));
    assert_eq!(kinds(&in_flight.violations), unfinished);
    // With no deadline and catch-up keeping 101 ticks, nothing allowed b to give it up.
    let forbidden = retired_unrecorded(false, |h| h.node(18_001, "c", read_at_10(3, &[])));
    assert_eq!(kinds(&forbidden.violations), unfinished);
}

#[test]
fn a_cut_tick_claimed_again_waits_behind_the_batchs_older_rerun_at_the_end_of_the_world() {
    // a's run of tick 0 and b's of tick 10 are both cut; c claims both again in one batch and
    // reruns 0 (oldest first) when the world ends: 10 is queued behind it, not unfinished. Had
    // c's leadership ended too, nobody would be working towards 10.
    let rerun = |c_crashes: bool| {
        let mut history = Builder::new()
            .node(0, "a", sent(1, &[("j", 0)]))
            .command(1, "a", began("j", 0, 1, 1))
            .fault(500, "a", FaultKind::Crash)
            .node(10_000, "b", won(2))
            .node(10_000, "b", sent(2, &[("j", 10)]))
            .command(10_001, "b", began("j", 10, 2, 1))
            .fault(10_500, "b", FaultKind::Crash)
            .node(11_000, "c", won(3))
            .node(11_001, "c", sent(3, &[("j", 0), ("j", 10)]))
            .command(11_002, "c", began("j", 0, 3, 2));
        if c_crashes {
            history = history.fault(14_000, "c", FaultKind::Crash);
        }
        let history = history.build();
        let spec = every_10s_with(
            Delivery::AtLeastOnce,
            CatchUp::All { max: 10 },
            OverlapPolicy::Replace,
        );
        let jobs = jobs("j", spec);
        let mut input = input(&history, &jobs, 0, 15);
        input.observed = Observed {
            commands: true,
            backend: false,
        };
        let index = Index::new(input);
        let mut verdict = Verdict::default();
        check(input, &index, &mut verdict);
        verdict
    };
    let queued = rerun(false);
    assert!(queued.violations.is_empty(), "{queued:#?}");
    assert!(
        kinds(&queued.excused).contains(&("queued_at_end", Some(at(10)))),
        "{queued:#?}"
    );
    let ended = rerun(true);
    assert!(
        kinds(&ended.violations).contains(&("unfinished_at_least_once", Some(at(10)))),
        "{ended:#?}"
    );
}

//! Tests that the no-gap checker verifies every excuse against the history: each history here
//! was passed by the checker that only asked whether the job's policy *allows* a reason.
use cronfence::event::SkipReason;
use cronfence::{FencingToken, MisfirePolicy};

use crate::check::Observed;

use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::{BackendRecord, History};

/// The checker over a fresh index of `input`'s history.
pub(super) fn verdict(history: &History, spec: JobSpec, observed: Observed, to: i64) -> Verdict {
    let jobs = jobs("j", spec);
    let mut input = input(history, &jobs, 0, to);
    input.observed = observed;
    let index = Index::new(input);
    let mut verdict = Verdict::default();
    check(input, &index, &mut verdict);
    verdict
}

pub(super) fn commands() -> Observed {
    Observed {
        commands: true,
        backend: false,
    }
}

pub(super) fn abandon_by(token: u64, first: i64, last: i64, reason: AbandonReason) -> NodeEvent {
    NodeEvent::TicksAbandoned {
        job: job("j"),
        first: at(first),
        last: at(last),
        count: ((last - first) / 10 + 1) as u64,
        reason,
        token: FencingToken(token),
    }
}

fn with_catch_up(catch_up: CatchUp, deadline: Option<u64>) -> JobSpec {
    let mut spec = every_10s(Delivery::AtMostOnce);
    spec.misfire = MisfirePolicy {
        catch_up,
        starting_deadline: deadline.map(std::time::Duration::from_secs),
    };
    spec
}

pub(super) fn kinds(findings: &[Finding]) -> Vec<(&str, Option<Timestamp>)> {
    findings.iter().map(|f| (f.kind.as_str(), f.tick)).collect()
}

#[test]
fn skipping_a_tick_whose_true_time_has_not_come_is_a_violation() {
    // The leader's clock read 40 s at true 10 s: it skipped ticks 20 and 30 as missed, but in
    // true time they were still in the future. The policy (skip) allows the reason; the history
    // refutes it.
    let history = Builder::new()
        .node(0, "b", won(2))
        .command(0, "b", began("j", 0, 2, 1))
        .command(10_000, "b", began("j", 10, 2, 1))
        .node(10_000, "b", sent(2, &[("j", 40)]))
        .node(
            10_001,
            "b",
            abandon_by(2, 20, 30, AbandonReason::MisfireSkipped),
        )
        .command(40_000, "b", began("j", 40, 2, 1))
        .build();
    let v = verdict(&history, with_catch_up(CatchUp::Skip, None), commands(), 40);
    assert_eq!(
        kinds(&v.violations),
        [
            ("unfounded_abandon", Some(at(20))),
            ("unfounded_abandon", Some(at(30)))
        ]
    );
    assert!(
        v.violations[0].detail.contains("still in the future"),
        "{}",
        v.violations[0].detail
    );
}

#[test]
fn skipping_a_tick_missed_before_the_leadership_began_is_excused() {
    // The same skip by a leader that won at 35 s (true): ticks 20 and 30 were really missed.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .node(35_000, "b", won(2))
        .node(35_000, "b", sent(2, &[("j", 30)]))
        .node(
            35_001,
            "b",
            abandon_by(2, 20, 30, AbandonReason::MisfireSkipped),
        )
        .command(40_000, "b", began("j", 40, 2, 1))
        .build();
    let v = verdict(&history, with_catch_up(CatchUp::Skip, None), commands(), 40);
    assert!(v.violations.is_empty(), "{v:#?}");
    assert_eq!(
        kinds(&v.excused),
        [("abandoned", Some(at(20))), ("abandoned", Some(at(30)))]
    );
}

#[test]
fn catch_up_limit_needs_as_many_newer_due_ticks_as_the_policy_keeps() {
    // all(max = 5) gave up tick 10 at true 30 s, when only ticks 20 and 30 were newer: it should
    // have kept it.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(25_000, "b", won(2))
        .node(30_000, "b", sent(2, &[("j", 20), ("j", 30)]))
        .node(
            30_001,
            "b",
            abandon_by(2, 10, 10, AbandonReason::CatchUpLimit),
        )
        .command(30_002, "b", began("j", 20, 2, 1))
        .command(30_003, "b", began("j", 30, 2, 1))
        .build();
    let v = verdict(
        &history,
        with_catch_up(CatchUp::All { max: 5 }, None),
        commands(),
        30,
    );
    assert_eq!(kinds(&v.violations), [("unfounded_abandon", Some(at(10)))]);
    assert!(
        v.violations[0].detail.contains("only 2 newer ticks"),
        "{}",
        v.violations[0].detail
    );
}

#[test]
fn a_deadline_is_judged_in_true_time() {
    // A 5 s deadline: tick 20 given up at true 22 s was only 2 s late (a clock running ahead).
    let history = Builder::new()
        .node(0, "a", won(1))
        .command(0, "a", began("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .node(22_000, "a", sent(1, &[("j", 30)]))
        .node(
            22_001,
            "a",
            abandon_by(1, 20, 20, AbandonReason::DeadlineExceeded),
        )
        .command(30_000, "a", began("j", 30, 1, 1))
        .build();
    let v = verdict(
        &history,
        with_catch_up(CatchUp::All { max: 100 }, Some(5)),
        commands(),
        30,
    );
    assert_eq!(kinds(&v.violations), [("unfounded_abandon", Some(at(20)))]);
}

#[test]
fn leadership_lost_counts_only_for_the_leadership_that_claimed_the_tick_and_ended() {
    // b says it lost tick 10 with its leadership, but b never claimed it, and b's leadership
    // went on: both are checked, so the tick is not excused.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(5_000, "b", won(2))
        .node(
            10_000,
            "b",
            abandon_by(2, 10, 10, AbandonReason::LeadershipLost),
        )
        .command(20_000, "b", began("j", 20, 2, 1))
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30);
    assert_eq!(kinds(&v.violations), [("unfounded_abandon", Some(at(10)))]);
    // Claimed by b, and b's leadership revoked at the same moment it gave the tick up: excused.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(5_000, "b", won(2))
        .node(10_000, "b", claimed("j", 10, 2))
        .node(
            10_000,
            "b",
            abandon_by(2, 10, 10, AbandonReason::LeadershipLost),
        )
        .node(10_000, "b", revoked(2))
        .command(20_000, "c", began("j", 20, 3, 1))
        .command(30_000, "c", began("j", 30, 3, 1))
        .build();
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30);
    assert!(v.violations.is_empty(), "{v:#?}");
}

#[test]
fn a_claim_the_backend_never_applied_is_not_a_checkpoint() {
    // The memory backend records what it applies: a's claim of tick 10 was sent but never
    // applied, so a's crash explains nothing; the next leader owed the tick.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(10_000, "a", sent(1, &[("j", 10)]))
        .fault(10_001, "a", FaultKind::Crash)
        .command(20_000, "b", began("j", 20, 2, 1))
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    let observed = Observed {
        commands: true,
        backend: true,
    };
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), observed, 30);
    assert_eq!(kinds(&v.violations), [("missing_tick", Some(at(10)))]);
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30);
    assert!(
        v.violations.is_empty(),
        "unobserved backend: the sent claim may have applied"
    );
}

#[test]
fn a_crash_does_not_excuse_a_claim_its_leader_had_moved_past() {
    // a claimed tick 10, then ran tick 20 and only crashed later: the crash did not lose tick
    // 10, a skipped it.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(10_000, "a", claimed("j", 10, 1))
        .command(20_000, "a", began("j", 20, 1, 1))
        .fault(25_000, "a", FaultKind::Crash)
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30);
    assert_eq!(kinds(&v.violations), [("missing_tick", Some(at(10)))]);
}

#[test]
fn an_overlap_skip_needs_a_run_in_progress_when_the_leader_decided() {
    // a's run of tick 0 ended at 1 s; at 10 s it skipped tick 10 "for overlap" with nothing
    // running. With the run still going (ending at 15 s) the same skip is excused.
    let skip = NodeEvent::TickSkipped {
        job: job("j"),
        tick: at(10),
        reason: SkipReason::Overlap,
        token: FencingToken(1),
    };
    for (ends_ms, expected) in [(1_000, "unfounded_skip"), (15_000, "skipped_overlap")] {
        let mut history = Builder::new()
            .node(0, "a", won(1))
            .command(0, "a", began("j", 0, 1, 1));
        if ends_ms < 10_000 {
            history = history.node(ends_ms, "a", completed("j", 0, 1, 1));
        }
        history = history
            .node(10_000, "a", sent(1, &[]))
            .node(10_001, "a", skip.clone());
        if ends_ms > 10_001 {
            history = history.node(ends_ms, "a", completed("j", 0, 1, 1));
        }
        let history = history.command(20_000, "a", began("j", 20, 1, 1)).build();
        let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 20);
        let all: Vec<_> = v
            .violations
            .iter()
            .chain(&v.excused)
            .map(|f| f.kind.as_str())
            .collect();
        assert_eq!(all, [expected], "{v:#?}");
    }
}

#[test]
fn a_start_whose_command_never_began_is_not_a_delivery() {
    // The runner recorded tick 10 started and cancelled, but the command never began.
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .node(10_000, "a", started("j", 10, 1, 1))
        .command(20_000, "a", began("j", 20, 1, 1))
        .build();
    let v = verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 20);
    assert_eq!(kinds(&v.violations), [("missing_tick", Some(at(10)))]);
    assert!(v.violations[0].detail.contains("command never began"));
}

#[test]
fn an_at_least_once_run_cut_short_must_run_again() {
    // Tick 10's only run was cancelled and never ran again: at least once means completed.
    let cancelled = NodeEvent::TickCancelled {
        job: job("j"),
        tick: at(10),
        token: FencingToken(1),
        attempt: 1,
    };
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .node(10_005, "a", cancelled)
        .command(20_000, "a", began("j", 20, 1, 1))
        .command(20_001, "a", returned("j", 20, 1, 1))
        .node(20_001, "a", completed("j", 20, 1, 1))
        .build();
    let v = verdict(&history, every_10s(Delivery::AtLeastOnce), commands(), 20);
    assert_eq!(
        kinds(&v.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

#[test]
fn an_at_least_once_run_replaced_by_a_newer_claim_is_the_policys_outcome() {
    // Under overlap replace, tick 10's run is cancelled because the leadership claimed tick 20:
    // excused as replaced, with the claim that proves it. Under forbid the same history is not.
    let cancelled = NodeEvent::TickCancelled {
        job: job("j"),
        tick: at(10),
        token: FencingToken(1),
        attempt: 1,
    };
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .node(20_000, "a", claimed("j", 20, 1))
        .node(20_000, "a", cancel_committed("j", 10, 1))
        .node(20_000, "a", cancelled)
        .command(20_001, "a", began("j", 20, 1, 1))
        .command(20_002, "a", returned("j", 20, 1, 1))
        .node(20_002, "a", completed("j", 20, 1, 1))
        .build();
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.overlap = OverlapPolicy::Replace;
    let v = verdict(&history, spec.clone(), commands(), 20);
    assert!(v.violations.is_empty(), "{v:#?}");
    assert_eq!(kinds(&v.excused), [("replaced", Some(at(10)))]);
    spec.overlap = OverlapPolicy::Forbid;
    let v = verdict(&history, spec, commands(), 20);
    assert_eq!(
        kinds(&v.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

#[test]
fn a_tick_queued_behind_a_run_still_going_at_the_end_is_not_lost() {
    // a claimed ticks 10 and 20 in one sequential batch; tick 10's run is still going when the
    // world ends, so tick 20 waits behind it — even once a's leadership is revoked: at most
    // once, the batch carries on. Had a's process crashed, tick 20 would be lost with it.
    let batch = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(20_000, "a", claimed("j", 10, 1))
        .node(20_000, "a", claimed("j", 20, 1))
        .command(20_001, "a", began("j", 10, 1, 1));
    let v = verdict(
        &batch.clone().build(),
        every_10s(Delivery::AtMostOnce),
        commands(),
        20,
    );
    assert!(v.violations.is_empty(), "{v:#?}");
    assert_eq!(kinds(&v.excused), [("queued_at_end", Some(at(20)))]);
    let revoked = batch.clone().node(25_000, "a", revoked(1)).build();
    let v = verdict(&revoked, every_10s(Delivery::AtMostOnce), commands(), 20);
    assert_eq!(kinds(&v.excused), [("queued_at_end", Some(at(20)))]);
    let crashed = batch.fault(25_000, "a", FaultKind::Crash).build();
    let v = verdict(&crashed, every_10s(Delivery::AtMostOnce), commands(), 20);
    assert_eq!(kinds(&v.excused), [("lost_with_leader", Some(at(20)))]);
}

/// The history of [`skipping_a_tick_whose_true_time_has_not_come_is_a_violation`], with node
/// `b`'s clock put 30 s ahead at `clock_at` ms and its skip decided (at 10 s) on evidence reading
/// 40 s whose witness reading is `witness_ms` old.
fn skipped_on_a_clock_ahead(clock_at: u64, witness_ms: u64) -> Verdict {
    let ahead = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(30),
    };
    let history = Builder::new()
        .fault(clock_at, "b", ahead)
        .node(0, "b", won(2))
        .command(0, "b", began("j", 0, 2, 1))
        .command(10_000, "b", began("j", 10, 2, 1))
        .node(
            10_000,
            "b",
            sent_on(2, &[("j", 40)], Some((40, witness_ms))),
        )
        .node(
            10_001,
            "b",
            abandon_by(2, 20, 30, AbandonReason::MisfireSkipped),
        )
        .command(40_000, "b", began("j", 40, 2, 1))
        .build();
    verdict(&history, with_catch_up(CatchUp::Skip, None), commands(), 40)
}

#[test]
fn a_give_up_on_evidence_its_witness_reading_vouches_for_is_judged_where_that_evidence_put_it() {
    // 30 s ahead from the start; the evidence (40 s at true 10 s) rests on a reading 5 s old,
    // when the clock already read 30 s ahead: nothing the node read could tell, and at 40 s
    // ticks 20 and 30 were missed, so the skip is excused — and says why.
    let v = skipped_on_a_clock_ahead(0, 5_000);
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!(
        kinds(&v.excused),
        [
            ("abandoned_on_clock", Some(at(20))),
            ("abandoned_on_clock", Some(at(30)))
        ]
    );
    assert!(v.excused[0]
        .detail
        .contains("no reading of its own could tell"));
}

#[test]
fn evidence_further_ahead_than_its_witness_reading_read_excuses_nothing() {
    // The jump came at 8 s, after the witness reading (5 s old, at 5 s) read true time: the
    // evidence cannot honestly read 30 s ahead, so the skip is judged in true time.
    let v = skipped_on_a_clock_ahead(8_000, 5_000);
    assert_eq!(
        kinds(&v.violations),
        [
            ("unfounded_abandon", Some(at(20))),
            ("unfounded_abandon", Some(at(30)))
        ]
    );
    assert!(
        v.violations[0]
            .detail
            .contains("further than its clock read"),
        "{}",
        v.violations[0].detail
    );
}

#[test]
fn evidence_resting_on_a_reading_younger_than_the_window_excuses_nothing() {
    // The clock was 30 s ahead throughout, but the evidence names a witness only 2 s old that
    // is no start reading: evidence that young could come from the jump itself.
    let v = skipped_on_a_clock_ahead(0, 2_000);
    assert_eq!(
        kinds(&v.violations),
        [
            ("unfounded_abandon", Some(at(20))),
            ("unfounded_abandon", Some(at(30)))
        ]
    );
    assert!(
        v.violations[0]
            .detail
            .contains("younger than the evidence window"),
        "{}",
        v.violations[0].detail
    );
}

/// `CommitsSent` of `tick` as `cancelled`: what a run replaced under overlap `Replace` commits.
pub(super) fn cancel_committed(name: &str, tick: i64, token: u64) -> NodeEvent {
    NodeEvent::CommitsSent {
        token: FencingToken(token),
        commits: vec![cronfence::store::Commit {
            job: job(name),
            tick: at(tick),
            outcome: cronfence::store::RunOutcome::Cancelled,
        }],
    }
}

/// Tick 10's run under overlap replace, replaced by the claim of tick 20 at 20 s and committed
/// cancelled; `then` adds what follows.
fn replaced_at_20s(then: impl FnOnce(Builder) -> Builder) -> History {
    replaced_at_20s_after(Builder::new(), then)
}

/// [`replaced_at_20s`] after the records of `before`.
fn replaced_at_20s_after(before: Builder, then: impl FnOnce(Builder) -> Builder) -> History {
    let history = before
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .command(10_000, "a", began("j", 10, 1, 1))
        .backend(20_000, claim_applied(20))
        .node(20_000, "a", claimed("j", 20, 1))
        .command(20_001, "a", began("j", 20, 1, 1))
        .node(20_001, "a", cancel_committed("j", 10, 1));
    then(history)
        .command(20_100, "a", returned("j", 20, 1, 1))
        .node(20_100, "a", completed("j", 20, 1, 1))
        .build()
}

/// The backend applied token 1's claim of `tick` of job `j`.
fn claim_applied(tick: i64) -> BackendRecord {
    BackendRecord::ClaimApplied {
        election: election(),
        token: FencingToken(1),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(tick),
            spec_version: 1,
            kind: cronfence::ClaimKind::RunThenCommit { attempt: 1 },
        }],
    }
}

pub(super) fn replace_spec() -> JobSpec {
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.overlap = OverlapPolicy::Replace;
    spec
}

#[test]
fn a_replaced_run_whose_cancellation_lands_after_a_graceful_stop_began_is_still_replaced() {
    // The stop began while the cancelled commit was on its way; the node recorded the
    // cancellation, which it does only once that commit was accepted: the run ended replaced.
    let cancelled = NodeEvent::TickCancelled {
        job: job("j"),
        tick: at(10),
        token: FencingToken(1),
        attempt: 1,
    };
    let stop = FaultKind::Stop { upgrade_to: None };
    let history = replaced_at_20s(|h| h.fault(20_005, "a", stop).node(20_010, "a", cancelled));
    let v = verdict(&history, replace_spec(), commands(), 20);
    assert!(v.violations.is_empty(), "{v:#?}");
    assert_eq!(kinds(&v.excused), [("replaced", Some(at(10)))]);
}

#[test]
fn a_replaced_run_whose_node_crashed_before_hearing_back_is_replaced_where_the_backend_applied_it()
{
    // The backend applied the cancelled commit, then the node crashed before recording it: the
    // backend's record proves the outcome. Without it (not observed, or never applied) nothing
    // does, and the tick is unfinished.
    let applied = BackendRecord::CommitApplied {
        election: election(),
        token: FencingToken(1),
        commits: vec![cronfence::store::Commit {
            job: job("j"),
            tick: at(10),
            outcome: cronfence::store::RunOutcome::Cancelled,
        }],
    };
    let granted = BackendRecord::LeadershipGranted {
        election: election(),
        token: FencingToken(1),
        holder: "a".into(),
    };
    let crash = |h: Builder| h.fault(20_010, "a", FaultKind::Crash);
    let observed = Observed {
        commands: true,
        backend: true,
    };
    let granted = Builder::new().backend(0, granted);
    let history = replaced_at_20s_after(granted, |h| crash(h.backend(20_005, applied)));
    let v = verdict(&history, replace_spec(), observed, 20);
    let violations: Vec<_> = kinds(&v.violations)
        .into_iter()
        .filter(|(kind, _)| *kind == "unfinished_at_least_once")
        .collect();
    assert!(violations.is_empty(), "{v:#?}");
    let history = replaced_at_20s(crash);
    let v = verdict(&history, replace_spec(), commands(), 20);
    assert_eq!(
        kinds(&v.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

#[test]
fn a_run_cancelled_by_shutdown_is_not_replaced_by_a_tick_claimed_with_it() {
    // Ticks 10 and 20 were claimed in one batch before tick 10's run began; shutdown then
    // cancelled it uncommitted. Tick 20 was never a replacement, and no cancelled commit was
    // sent: the tick is unfinished.
    let cancelled = NodeEvent::TickCancelled {
        job: job("j"),
        tick: at(10),
        token: FencingToken(1),
        attempt: 1,
    };
    let history = Builder::new()
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1))
        .node(20_000, "a", claimed("j", 10, 1))
        .node(20_000, "a", claimed("j", 20, 1))
        .command(20_001, "a", began("j", 10, 1, 1))
        .fault(20_005, "a", FaultKind::Stop { upgrade_to: None })
        .node(20_010, "a", cancelled)
        .build();
    let v = verdict(&history, replace_spec(), commands(), 20);
    assert!(
        kinds(&v.violations).contains(&("unfinished_at_least_once", Some(at(10)))),
        "{v:#?}"
    );
}

/// Node a ran tick 0, then claimed `ticks` in one batch by a clock 15 s ahead that came back at
/// `clock_back_ms`; the first tick's run began at `began_ms` and its cancel was committed (and
/// recorded) at `cancel_ms`.
pub(super) fn batch_run_cancelled(
    ticks: &[i64],
    clock_back_ms: u64,
    began_ms: u64,
    cancel_ms: u64,
) -> Builder {
    let offset = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(15),
    };
    let first = ticks[0];
    let cancelled = NodeEvent::TickCancelled {
        job: job("j"),
        tick: at(first),
        token: FencingToken(1),
        attempt: 1,
    };
    let mut history = Builder::new()
        .fault(0, "a", offset.clone())
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1));
    for &tick in ticks {
        history = history.node(1, "a", claimed("j", tick, 1));
    }
    history
        .fault_ended(clock_back_ms, "a", offset, 0)
        .command(began_ms, "a", began("j", first, 1, 1))
        .node(cancel_ms, "a", cancel_committed("j", first, 1))
        .node(cancel_ms, "a", cancelled)
}

#[test]
fn a_batch_tick_that_came_due_during_the_run_before_it_replaced_that_run() {
    // Ticks 10 and 20 were claimed in one batch by a clock 15 s ahead, which came back at 10.5 s.
    // Tick 10's run began at 10.6 s, when 20 was not due on the clock (per the clock model); its
    // cancel was committed at 20 s, when 20 was, and 20's run began right after: replaced, as
    // overlap replace says. Cancelled at 15 s, before 20 was due, it was only cut short; and so
    // it was when 20 was due already as the run began (the clock still ahead), for a batch runs
    // a tick due already after the one before, it does not replace it.
    let batch = |began_ms: u64, clock_back_ms: u64, cancel_ms: u64| {
        let history = batch_run_cancelled(&[10, 20], clock_back_ms, began_ms, cancel_ms)
            .command(cancel_ms + 1, "a", began("j", 20, 1, 1))
            .command(cancel_ms + 2, "a", returned("j", 20, 1, 1))
            .node(cancel_ms + 2, "a", completed("j", 20, 1, 1))
            .build();
        verdict(&history, replace_spec(), commands(), 20)
    };
    let replaced = batch(10_600, 10_500, 20_000);
    assert!(replaced.violations.is_empty(), "{replaced:#?}");
    assert_eq!(kinds(&replaced.excused), [("replaced", Some(at(10)))]);
    let early = batch(10_600, 10_500, 15_000);
    assert_eq!(
        kinds(&early.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
    let due_at_start = batch(10_600, 12_000, 20_000);
    assert_eq!(
        kinds(&due_at_start.violations),
        [("unfinished_at_least_once", Some(at(10)))]
    );
}

/// Node a leads; a stop begins at 8 s (while a is paused from 5 s to 15 s, when `paused`); at
/// 15 s a claims tick 10; it resigns another election at 15.01 s (before the claim instead,
/// when `resigns_first`) and gives tick 10 up for shutdown at 15.02 s. b runs ticks 20 and 30.
fn stopped_while(paused: bool, resigns_first: bool) -> Verdict {
    let stop = FaultKind::Stop { upgrade_to: None };
    let resigned = NodeEvent::Resigned {
        election: cronfence::ElectionName::new("other"),
        token: FencingToken(7),
    };
    let mut history = Builder::new()
        .node(0, "a", won(1))
        .command(0, "a", began("j", 0, 1, 1))
        .command(1, "a", returned("j", 0, 1, 1))
        .node(1, "a", completed("j", 0, 1, 1));
    if paused {
        history = history.fault_for(5_000, "a", FaultKind::Pause, 10_000);
    }
    history = history.fault(8_000, "a", stop);
    if paused {
        history = history.fault_ended(15_000, "a", FaultKind::Pause, 5_000);
    }
    let claim = |h: Builder, ms: u64| {
        h.node(ms, "a", sent(1, &[("j", 10)]))
            .node(ms, "a", claimed("j", 10, 1))
    };
    history = match resigns_first {
        true => claim(history.node(15_000, "a", resigned), 15_005),
        false => claim(history, 15_000).node(15_010, "a", resigned),
    };
    let history = history
        .node(15_020, "a", abandon_by(1, 10, 10, AbandonReason::Shutdown))
        .command(20_000, "b", began("j", 20, 2, 1))
        .command(30_000, "b", began("j", 30, 2, 1))
        .build();
    verdict(&history, every_10s(Delivery::AtMostOnce), commands(), 30)
}

#[test]
fn a_stop_reaches_a_paused_node_only_once_it_acts_on_it_after_resuming() {
    // a was paused when the stop began: back at 15 s, it claimed tick 10 (work that piled up
    // during the pause) before it acted on the stop (a resign at 15.01 s), so the shutdown
    // explains giving the tick up.
    let v = stopped_while(true, false);
    assert!(v.violations.is_empty(), "{v:#?}");
    // Running when the stop began, a knew it was stopping when it claimed: no excuse.
    let running = stopped_while(false, false);
    assert_eq!(
        kinds(&running.violations),
        [("unfounded_abandon", Some(at(10)))],
        "{running:#?}"
    );
    // Paused, but it had acted on the stop (resigned) before it claimed: no excuse either.
    let acted = stopped_while(true, true);
    assert_eq!(
        kinds(&acted.violations),
        [("unfounded_abandon", Some(at(10)))],
        "{acted:#?}"
    );
}

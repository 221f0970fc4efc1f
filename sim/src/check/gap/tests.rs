//! Tests of the no-gap checker, on small synthetic histories.
use cronfence::event::SkipReason;
use cronfence::FencingToken;

use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::{BackendRecord, History};
use cronfence::ClaimKind;

/// The checker over a fresh index of `input`'s history.
fn check(input: CheckInput<'_>, verdict: &mut Verdict) {
    let index = Index::new(input);
    super::check(input, &index, verdict);
}

fn abandon(first: i64, last: i64, reason: AbandonReason) -> NodeEvent {
    NodeEvent::TicksAbandoned {
        job: job("j"),
        first: at(first),
        last: at(last),
        count: ((last - first) / 10 + 1) as u64,
        reason,
        token: FencingToken(2),
    }
}

fn skip(tick: i64) -> NodeEvent {
    NodeEvent::TickSkipped {
        job: job("j"),
        tick: at(tick),
        reason: SkipReason::Overlap,
        token: FencingToken(1),
    }
}

/// The verdict for ticks 0, 10, 20 and 30 of job `j`.
pub(super) fn verdict_of(history: &History, spec: JobSpec) -> Verdict {
    let jobs = jobs("j", spec);
    let mut verdict = Verdict::default();
    check(input(history, &jobs, 0, 30), &mut verdict);
    verdict
}

/// [`verdict_of`] where the backend recorded what it applied (a claim it never applied is no
/// claim).
fn verdict_observed(history: &History, spec: JobSpec) -> Verdict {
    let jobs = jobs("j", spec);
    let mut input = input(history, &jobs, 0, 30);
    input.observed.backend = true;
    let mut verdict = Verdict::default();
    check(input, &mut verdict);
    verdict
}

/// The no-gap checker over ticks `[from, to]` (seconds) of job `j` under `spec`, commands
/// observed, the backend not.
pub(super) fn unobserved(history: &History, spec: JobSpec, from: i64, to: i64) -> Verdict {
    let jobs = jobs("j", spec);
    let mut input = input(history, &jobs, from, to);
    input.observed = crate::check::Observed {
        commands: true,
        backend: false,
    };
    let index = Index::new(input);
    let mut verdict = Verdict::default();
    super::check(input, &index, &mut verdict);
    verdict
}

fn kinds(findings: &[Finding]) -> Vec<(&str, Option<Timestamp>)> {
    findings.iter().map(|f| (f.kind.as_str(), f.tick)).collect()
}

#[test]
fn a_tick_that_never_ran_is_missing() {
    // Ticks 0, 10 and 30 started; 20 left no trace, so exactly it is reported.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(10_000, "a", started("j", 10, 1, 1))
        .node(30_000, "a", started("j", 30, 1, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert_eq!(kinds(&verdict.violations), [("missing_tick", Some(at(20)))]);
}

#[test]
fn every_expected_tick_started_passes() {
    // The window is inclusive at both ends: ticks 0 and 30 count and both started.
    let mut builder = Builder::new();
    for tick in [0, 10, 20, 30] {
        builder = builder.node(tick as u64 * 1_000, "a", started("j", tick, 1, 1));
    }
    let verdict = verdict_of(&builder.build(), every_10s(Delivery::AtMostOnce));
    assert!(
        verdict.violations.is_empty() && verdict.excused.is_empty(),
        "{verdict:#?}"
    );
}

#[test]
fn abandoning_for_a_reason_the_policy_never_gives_is_flagged() {
    // Catch-up `all` never supersedes ticks, so "superseded" explains nothing.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(25_000, "b", abandon(10, 20, AbandonReason::Superseded))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let spec = every_10s_with(
        Delivery::AtMostOnce,
        CatchUp::All { max: 5 },
        OverlapPolicy::Forbid,
    );
    let verdict = verdict_of(&history, spec);
    let expected = [
        ("unexplained_abandon", Some(at(10))),
        ("unexplained_abandon", Some(at(20))),
    ];
    assert_eq!(kinds(&verdict.violations), expected);
}

#[test]
fn abandoning_for_the_policys_own_reason_is_excused() {
    // Under catch-up `latest` a new leader supersedes older missed ticks; that is the policy,
    // and the history proves it: tick 10 was due before b won, and tick 20 was due too.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(24_000, "b", won(2))
        .node(25_000, "b", sent(2, &[("j", 20)]))
        .node(25_000, "b", abandon(10, 10, AbandonReason::Superseded))
        .node(25_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let spec = every_10s_with(Delivery::AtMostOnce, CatchUp::Latest, OverlapPolicy::Forbid);
    let verdict = verdict_of(&history, spec);
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(kinds(&verdict.excused), [("abandoned", Some(at(10)))]);
    assert!(verdict.excused[0].detail.contains("superseded"));
}

#[test]
fn overlap_skips_are_excused_only_under_forbid() {
    // A skip is the Forbid policy's outcome; under Allow nothing should ever skip.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(10_000, "a", skip(10))
        .node(20_000, "a", started("j", 20, 1, 1))
        .node(30_000, "a", started("j", 30, 1, 1))
        .build();
    let forbid = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert!(forbid.violations.is_empty(), "{forbid:#?}");
    assert_eq!(kinds(&forbid.excused), [("skipped_overlap", Some(at(10)))]);
    let allow = every_10s_with(
        Delivery::AtMostOnce,
        CatchUp::All { max: 5 },
        OverlapPolicy::Allow,
    );
    let allow = verdict_of(&history, allow);
    assert_eq!(
        kinds(&allow.violations),
        [("unexplained_skip", Some(at(10)))]
    );
}

#[test]
fn at_most_once_tick_claimed_by_a_leader_that_crashed_is_excused() {
    // The claim was the checkpoint and its node died before running it: lost, as promised.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(10_000, "a", claimed("j", 10, 1))
        .fault(10_001, "a", FaultKind::Crash)
        .node(15_000, "b", won(2))
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(
        kinds(&verdict.excused),
        [("lost_with_leader", Some(at(10)))]
    );
    assert_eq!(verdict.excused[0].records, [1, 2]);
}

#[test]
fn at_least_once_tick_lost_with_its_leader_must_run_again() {
    // At least once, a crash mid-claim is no excuse: the next leader owes the tick.
    let history = Builder::new()
        .node(0, "a", started("j", 0, 1, 1))
        .node(5, "a", completed("j", 0, 1, 1))
        .node(10_000, "a", claimed("j", 10, 1))
        .fault(10_001, "a", FaultKind::Crash)
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtLeastOnce));
    assert_eq!(kinds(&verdict.violations), [("missing_tick", Some(at(10)))]);
    assert_eq!(verdict.violations[0].nodes, ["a"]);
}

#[test]
fn a_claim_is_not_excused_by_a_crash_before_it() {
    // Only a loss after the claim explains it; a crash before the claim explains nothing.
    let history = Builder::new()
        .fault(5_000, "a", FaultKind::Pause)
        .node(10_000, "a", claimed("j", 10, 1))
        .build();
    let jobs = jobs("j", every_10s(Delivery::AtMostOnce));
    let mut verdict = Verdict::default();
    check(input(&history, &jobs, 10, 10), &mut verdict);
    assert_eq!(kinds(&verdict.violations), [("missing_tick", Some(at(10)))]);
}

#[test]
fn a_long_outage_is_listed_up_to_a_limit_then_summarised() {
    // 10 001 missing ticks: the first 1 000 are listed, the rest are one summary finding.
    let history = Builder::new().build();
    let jobs = jobs("j", every_10s(Delivery::AtMostOnce));
    let mut verdict = Verdict::default();
    check(input(&history, &jobs, 0, 100_000), &mut verdict);
    assert_eq!(verdict.violations.len(), 1_001);
    let last = &verdict.violations[1_000];
    assert_eq!(last.tick, Some(at(10_000)));
    assert!(
        last.detail.starts_with("9001 more ticks"),
        "{}",
        last.detail
    );
}

fn backend_grant(token: u64, holder: &str) -> BackendRecord {
    BackendRecord::LeadershipGranted {
        election: election(),
        token: FencingToken(token),
        holder: holder.into(),
    }
}

fn backend_claim(tick: i64, token: u64, kind: ClaimKind) -> BackendRecord {
    BackendRecord::ClaimApplied {
        election: election(),
        token: FencingToken(token),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(tick),
            spec_version: 1,
            kind,
        }],
    }
}

#[test]
fn a_drop_applied_for_a_leader_that_crashed_before_recording_it_is_excused() {
    // The backend applied a's drop of tick 10, but a crashed before its answer arrived: the tick
    // is gone under either delivery, and the backend's record is the explanation.
    for delivery in [Delivery::AtMostOnce, Delivery::AtLeastOnce] {
        let history = Builder::new()
            .backend(0, backend_grant(1, "a"))
            .node(0, "a", started("j", 0, 1, 1))
            .node(5, "a", completed("j", 0, 1, 1))
            .backend(10_000, backend_claim(10, 1, ClaimKind::Drop))
            .fault(10_001, "a", FaultKind::Crash)
            .node(20_000, "b", started("j", 20, 2, 1))
            .node(30_000, "b", started("j", 30, 2, 1))
            .build();
        let verdict = verdict_of(&history, every_10s(delivery));
        assert!(verdict.violations.is_empty(), "{delivery:?}: {verdict:#?}");
        assert_eq!(
            kinds(&verdict.excused),
            [("dropped_with_leader", Some(at(10)))]
        );
    }
}

#[test]
fn a_drop_applied_for_a_leader_that_carried_on_is_not_excused() {
    // The same drop with no loss of leadership afterwards: the node should have said why.
    let history = Builder::new()
        .backend(0, backend_grant(1, "a"))
        .node(0, "a", started("j", 0, 1, 1))
        .backend(10_000, backend_claim(10, 1, ClaimKind::Drop))
        .node(20_000, "a", started("j", 20, 1, 1))
        .node(30_000, "a", started("j", 30, 1, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert_eq!(kinds(&verdict.violations), [("missing_tick", Some(at(10)))]);
}

#[test]
fn a_drop_applied_for_a_leadership_that_then_ended_gracefully_is_excused() {
    // The same drop, then a resigns (a superseded definition, say) before its answer arrives:
    // the runner records no misfire an unanswered claim gave up, so the applied drop is the
    // explanation.
    let history = Builder::new()
        .backend(0, backend_grant(1, "a"))
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .backend(10_000, backend_claim(10, 1, ClaimKind::Drop))
        .node(
            10_001,
            "a",
            NodeEvent::Resigned {
                election: election(),
                token: FencingToken(1),
            },
        )
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(
        kinds(&verdict.excused),
        [("dropped_with_leader", Some(at(10)))]
    );
    assert!(verdict.excused[0].detail.contains("ended (resigned)"));
}

#[test]
fn one_applied_drop_covers_every_tick_since_the_previous_claim() {
    // Forbid skips of ticks 10 and 20 reach the backend as one drop at 20 (the checkpoint moves
    // past both); its leader crashed before recording the skips, so both ticks are explained.
    let history = Builder::new()
        .backend(0, backend_grant(1, "a"))
        .backend(0, backend_claim(0, 1, ClaimKind::Run { attempt: 1 }))
        .node(0, "a", started("j", 0, 1, 1))
        .backend(20_000, backend_claim(20, 1, ClaimKind::Drop))
        .fault(20_001, "a", FaultKind::Crash)
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtMostOnce));
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(
        kinds(&verdict.excused),
        [
            ("dropped_with_leader", Some(at(10))),
            ("dropped_with_leader", Some(at(20)))
        ]
    );
}

/// a claimed tick 10 to run (applied, unanswered), then retired it with a drop of 10 on its
/// retry at 11 s, and crashed before recording why.
fn retired_in_flight() -> History {
    Builder::new()
        .backend(0, backend_grant(1, "a"))
        .backend(0, backend_claim(0, 1, ClaimKind::Run { attempt: 1 }))
        .backend(10_000, backend_claim(10, 1, ClaimKind::Run { attempt: 1 }))
        .backend(11_000, backend_claim(10, 1, ClaimKind::Drop))
        .fault(11_001, "a", FaultKind::Crash)
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build()
}

#[test]
fn a_drop_retiring_a_tick_in_flight_covers_that_tick_alone() {
    // Past a 500 ms deadline at 11 s the policy retires tick 10: the backend's drop explains it —
    // and only it, not tick 0, which a claimed before and never ran.
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.misfire.starting_deadline = Some(std::time::Duration::from_millis(500));
    let verdict = verdict_of(&retired_in_flight(), spec);
    assert_eq!(kinds(&verdict.violations), [("missing_tick", Some(at(0)))]);
    assert_eq!(
        kinds(&verdict.excused),
        [("dropped_with_leader", Some(at(10)))]
    );
}

#[test]
fn a_drop_retiring_a_tick_no_policy_gives_up_explains_nothing() {
    // No deadline, and no newer tick due at 11 s: no policy gives tick 10 up then, so the drop
    // (a buggy retry) does not excuse it.
    let verdict = verdict_of(&retired_in_flight(), every_10s(Delivery::AtLeastOnce));
    assert_eq!(
        kinds(&verdict.violations),
        [
            ("missing_tick", Some(at(0))),
            ("missing_tick", Some(at(10)))
        ]
    );
}

#[test]
fn a_drop_of_an_old_tick_nobody_claimed_covers_nothing() {
    // A drop at 10 after the checkpoint reached 20, of a tick no claim put in flight, retires
    // nothing: tick 10 stays missing.
    let history = Builder::new()
        .backend(0, backend_grant(1, "a"))
        .backend(20_000, backend_claim(20, 1, ClaimKind::Run { attempt: 1 }))
        .node(20_000, "a", started("j", 20, 1, 1))
        .backend(21_000, backend_claim(10, 1, ClaimKind::Drop))
        .fault(21_001, "a", FaultKind::Crash)
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_of(&history, every_10s(Delivery::AtLeastOnce));
    assert!(
        kinds(&verdict.violations).contains(&("missing_tick", Some(at(10)))),
        "{verdict:#?}"
    );
}

/// Node a starts at 0 and b at 15 s; both registrations are answered at 16 s, and a's answer
/// refuses job j (`refused`); b runs tick 20 and 30.
fn registered_at_16s(refused: bool) -> History {
    let since = |s| NodeEvent::NodeStarted { since: at(s) };
    let registered = |s| NodeEvent::JobsRegistered { since: at(s) };
    let mut history = Builder::new()
        .node(0, "a", since(0))
        .node(15_000, "b", since(15))
        .node(16_000, "a", registered(0));
    if refused {
        let rejected = NodeEvent::JobRejected {
            job: job("j"),
            error: "runs at spec version 2 elsewhere".into(),
        };
        history = history.node(16_000, "a", rejected);
    }
    history
        .node(16_000, "b", registered(15))
        .node(20_000, "b", started("j", 20, 1, 1))
        .node(30_000, "b", started("j", 30, 1, 1))
        .build()
}

#[test]
fn no_tick_is_owed_before_the_first_node_whose_registration_of_the_job_was_accepted() {
    // a started at 0 but its definition of j was refused: j exists from b's start (15 s), so
    // ticks 0 and 10 are owed only when a's registration was accepted.
    let refused = verdict_of(&registered_at_16s(true), every_10s(Delivery::AtMostOnce));
    assert!(refused.violations.is_empty(), "{refused:#?}");
    let accepted = verdict_of(&registered_at_16s(false), every_10s(Delivery::AtMostOnce));
    assert_eq!(
        kinds(&accepted.violations),
        [
            ("missing_tick", Some(at(0))),
            ("missing_tick", Some(at(10)))
        ]
    );
}

#[test]
fn a_tick_lost_with_a_leadership_whose_claim_landed_after_it_ended_is_excused() {
    // a sent its claim of tick 10 at 9 s, lost its leadership at 9.5 s with the claim unanswered
    // and recorded the tick lost; the backend applied the claim late, at 11 s (a delayed
    // write). The claim was a's checkpoint all along: the tick went with a's leadership.
    let history = Builder::new()
        .backend(0, backend_grant(1, "a"))
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .node(9_000, "a", sent(1, &[("j", 10)]))
        .node(9_500, "a", revoked(1))
        .node(
            9_500,
            "a",
            NodeEvent::TicksAbandoned {
                job: job("j"),
                first: at(10),
                last: at(10),
                count: 1,
                reason: AbandonReason::LeadershipLost,
                token: FencingToken(1),
            },
        )
        .backend(11_000, backend_claim(10, 1, ClaimKind::Run { attempt: 1 }))
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let verdict = verdict_observed(&history, every_10s(Delivery::AtMostOnce));
    assert!(verdict.violations.is_empty(), "{verdict:#?}");
    assert_eq!(kinds(&verdict.excused), [("abandoned", Some(at(10)))]);
}

/// a's clock reads 1 s ahead from 0; at 9 s (10 s on its clock) a sends a drop of tick 10 decided
/// on `evidence` (at, witness age ms), the backend applies it at once, and a crashes at 9.5 s
/// before the answer; b runs ticks 20 and 30.
fn dropped_early(evidence: Option<(i64, u64)>) -> Verdict {
    let drop = NodeEvent::ClaimsSent {
        token: FencingToken(1),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(10),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: evidence.map(|(secs, ms)| cronfence::event::ClockEvidence {
            at: at(secs),
            witness_age: std::time::Duration::from_millis(ms),
            witness: (at(secs))
                - SignedDuration::try_from(std::time::Duration::from_millis(ms)).expect("an age"),
        }),
    };
    let ahead = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(1),
    };
    let history = Builder::new()
        .fault(0, "a", ahead)
        .backend(0, backend_grant(1, "a"))
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .node(9_000, "a", drop)
        .backend(9_000, backend_claim(10, 1, ClaimKind::Drop))
        .fault(9_500, "a", FaultKind::Crash)
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    verdict_observed(&history, every_10s(Delivery::AtMostOnce))
}

#[test]
fn a_drop_applied_before_its_tick_was_due_counts_only_on_verified_clock_evidence() {
    // Applied at 9 s, before tick 10 was due in true time: it explains the tick only because
    // the batch was decided on evidence reading 10 s, vouched for by a reading 5 s old when a's
    // clock already read 1 s ahead. Without recorded evidence it explains nothing.
    let on_evidence = dropped_early(Some((10, 5_000)));
    assert!(on_evidence.violations.is_empty(), "{on_evidence:#?}");
    assert_eq!(
        kinds(&on_evidence.excused),
        [("dropped_with_leader", Some(at(10)))]
    );
    let unrecorded = dropped_early(None);
    assert_eq!(
        kinds(&unrecorded.violations),
        [("missing_tick", Some(at(10)))]
    );
}

/// Node a starts at `ms` with its start reading `reading` s and registers (1 ms later), wins
/// (1 s later) and reads the checkpoint back with that registration.
pub(super) fn started_and_read(history: Builder, ms: u64, reading: i64) -> Builder {
    let checkpoint = cronfence::Checkpoint {
        job: job("j"),
        registered_at: at(reading),
        last_claimed: None,
        in_flight: Vec::new(),
    };
    let read = NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(1),
        checkpoints: vec![checkpoint],
    };
    history
        .node(ms, "a", NodeEvent::NodeStarted { since: at(reading) })
        .node(
            ms + 1,
            "a",
            NodeEvent::JobsRegistered { since: at(reading) },
        )
        .node(ms + 1_000, "a", won(1))
        .node(ms + 1_001, "a", read)
}

/// Node a starts at 0 with its start reading `reading` s (its clock `ahead` s ahead from 0),
/// registers and reads the checkpoint back with that registration; it runs nothing.
fn registered_by_a_clock(reading: i64, ahead: Option<i64>) -> Verdict {
    let mut history = Builder::new();
    if let Some(ahead) = ahead {
        let offset = FaultKind::ClockOffset {
            offset: SignedDuration::from_secs(ahead),
        };
        history = history.fault(0, "a", offset);
    }
    let history = started_and_read(history, 0, reading).build();
    verdict_of(&history, every_10s(Delivery::AtMostOnce))
}

#[test]
fn a_job_registered_by_a_clock_ahead_at_its_start_is_owed_from_that_registration() {
    // a's clock read 60 s ahead when it started and registered j "at 60 s", which the backend
    // kept: nothing before 60 s is j's. A start reading no clock fault explains counts as the
    // true start, so ticks 0 to 30 are owed (and missing).
    let ahead = registered_by_a_clock(60, Some(60));
    assert!(ahead.violations.is_empty(), "{ahead:#?}");
    let unexplained = registered_by_a_clock(60, None);
    assert_eq!(unexplained.violations.len(), 4, "{unexplained:#?}");
}

#[test]
fn a_tick_replaced_for_good_before_it_was_due_is_given_up_on_the_clock() {
    // a (token 2) ran tick 30 early at 5 s, on evidence reading 30 s (its clock 25 s ahead from
    // the start, its witness reading 5 s old), replacing ticks 10 and 20 before either was due in
    // true time: no later quiet owes them a run. Without the clock fault the evidence is not
    // vouched for and they stay owed; so do they when the replace comes at 25 s, both due by then.
    // An earlier leadership (b, token 1) that claimed both and lost them first changes nothing:
    // its proven excuse is reported, and a's give-up for good still counts on the clock.
    let replaced_with = |ms: u64, ahead: bool, lost_first: bool| {
        let mut history = Builder::new();
        if ahead {
            let offset = FaultKind::ClockOffset {
                offset: SignedDuration::from_secs(25),
            };
            history = history.fault(0, "a", offset);
        }
        if lost_first {
            let lost = NodeEvent::TicksAbandoned {
                job: job("j"),
                first: at(10),
                last: at(20),
                count: 2,
                reason: AbandonReason::LeadershipLost,
                token: FencingToken(1),
            };
            history = history
                .node(0, "b", won(1))
                .node(0, "b", claimed("j", 10, 1))
                .node(0, "b", claimed("j", 20, 1))
                .node(0, "b", lost)
                .node(0, "b", revoked(1));
        }
        let evidence = Some(((ms / 1_000) as i64 + 25, 5_000));
        let history = history
            .node(0, "a", won(2))
            .node(0, "a", started("j", 0, 2, 1))
            .node(ms, "a", sent_on(2, &[("j", 30)], evidence))
            .node(ms, "a", claimed("j", 30, 2))
            .node(ms, "a", started("j", 30, 2, 1))
            .node(ms + 1, "a", abandon(10, 20, AbandonReason::Replaced))
            .build();
        let mut spec = every_10s(Delivery::AtMostOnce);
        spec.overlap = OverlapPolicy::Replace;
        let jobs = jobs("j", spec);
        let input = input(&history, &jobs, 0, 30);
        let index = Index::new(input);
        let mut verdict = Verdict::default();
        let on_clock = super::check(input, &index, &mut verdict);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        on_clock.into_iter().map(|(_, t)| t).collect::<Vec<_>>()
    };
    let replaced_at = |ms: u64, ahead: bool| replaced_with(ms, ahead, false);
    assert_eq!(replaced_at(5_000, true), [at(10), at(20)]);
    assert_eq!(replaced_at(5_000, false), []);
    assert_eq!(replaced_at(25_000, true), []);
    assert_eq!(replaced_with(5_000, true, true), [at(10), at(20)]);
    assert_eq!(replaced_with(25_000, true, true), []);
}

/// a's clock reads 1 s ahead from the start; it claimed tick 10 to run (applied, unanswered) and
/// retired it at 10.4 s with a drop decided on `evidence` (at ms, witness age ms), applied at
/// once; a crashed before recording why. The deadline is 500 ms.
fn retired_on_evidence(evidence: Option<(i64, u64)>) -> Verdict {
    let retire = NodeEvent::ClaimsSent {
        token: FencingToken(1),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(10),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: evidence.map(|(ms, witness)| cronfence::event::ClockEvidence {
            at: at(0) + SignedDuration::from_millis(ms),
            witness_age: std::time::Duration::from_millis(witness),
            witness: (at(0) + SignedDuration::from_millis(ms))
                - SignedDuration::try_from(std::time::Duration::from_millis(witness))
                    .expect("an age"),
        }),
    };
    let ahead = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(1),
    };
    let history = Builder::new()
        .fault(0, "a", ahead)
        .backend(0, backend_grant(1, "a"))
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .node(5, "a", completed("j", 0, 1, 1))
        .backend(
            10_000,
            backend_claim(10, 1, ClaimKind::RunThenCommit { attempt: 1 }),
        )
        .node(10_400, "a", retire)
        .backend(10_400, backend_claim(10, 1, ClaimKind::Drop))
        .fault(10_500, "a", FaultKind::Crash)
        .node(20_000, "b", started("j", 20, 2, 1))
        .node(30_000, "b", started("j", 30, 2, 1))
        .build();
    let mut spec = every_10s(Delivery::AtLeastOnce);
    spec.misfire.starting_deadline = Some(std::time::Duration::from_millis(500));
    verdict_observed(&history, spec)
}

#[test]
fn a_retire_before_the_deadline_in_true_time_counts_only_on_verified_clock_evidence() {
    // At 10.4 s tick 10 is 400 ms late in true time, inside its 500 ms deadline; the retry was
    // decided on evidence reading 10.6 s, vouched for by a reading 5 s old when a's clock read
    // 1 s ahead: on that clock the deadline had passed, so the retire explains the tick. With no
    // recorded evidence, or evidence its witness does not vouch for, it explains nothing.
    let on_evidence = retired_on_evidence(Some((11_400, 5_000)));
    assert!(on_evidence.violations.is_empty(), "{on_evidence:#?}");
    assert_eq!(
        kinds(&on_evidence.excused),
        [("dropped_with_leader", Some(at(10)))]
    );
    for evidence in [None, Some((13_000, 5_000))] {
        let refuted = retired_on_evidence(evidence);
        assert_eq!(
            kinds(&refuted.violations),
            [("missing_tick", Some(at(10)))],
            "{evidence:?}"
        );
    }
}

//! Hostile review of the checker rules added since 7a27e15: histories of buggy schedulers that a
//! new excuse wrongly accepts. Each test asserts the verdict the history deserves.
use cronfence::store::Checkpoint;
use cronfence::{CatchUp, ClaimKind, FencingToken, OverlapPolicy};

use crate::check::{LivenessBound, Observed};

use super::tests::unobserved;
use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::History;

/// The no-gap checker over ticks `[0, to]` of job `j`, commands observed, the backend not.
fn verdict(history: &History, spec: JobSpec, to: i64) -> Verdict {
    unobserved(history, spec, 0, to)
}

fn kinds(findings: &[Finding]) -> Vec<(&str, Option<Timestamp>)> {
    findings.iter().map(|f| (f.kind.as_str(), f.tick)).collect()
}

/// Leadership `token`'s checkpoint read of `j`: last claimed `last`, `in_flight` ticks.
fn read(token: u64, last: i64, in_flight: &[i64]) -> NodeEvent {
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(last)),
            in_flight: in_flight.iter().map(|&t| (at(t), 1)).collect(),
        }],
    }
}

/// A batch of `j` claims by leadership `token`: `(tick, drop?)`.
fn batch(token: u64, claims: &[(i64, bool)]) -> NodeEvent {
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims: claims
            .iter()
            .map(|&(tick, drop)| cronfence::Claim {
                job: job("j"),
                tick: at(tick),
                spec_version: 1,
                kind: match drop {
                    true => ClaimKind::Drop,
                    false => ClaimKind::Run { attempt: 1 },
                },
            })
            .collect(),
        evidence: None,
    }
}

/// `node` (token) claims, runs and completes `tick` at `ms` (attempt `attempt`).
fn ran(h: Builder, ms: u64, node: &str, token: u64, tick: i64, attempt: u32) -> Builder {
    h.node(ms, node, sent(token, &[("j", tick)]))
        .node(ms, node, claimed("j", tick, token))
        .command(ms + 1, node, began("j", tick, token, attempt))
        .command(ms + 2, node, returned("j", tick, token, attempt))
        .node(ms + 2, node, completed("j", tick, token, attempt))
}

fn abandon(token: u64, tick: i64, reason: AbandonReason) -> NodeEvent {
    NodeEvent::TicksAbandoned {
        job: job("j"),
        first: at(tick),
        last: at(tick),
        count: 1,
        reason,
        token: FencingToken(token),
    }
}

/// Rule 1. a runs at-least-once tick 10 and is paused (10.5 s to 40.5 s) mid-run; b reads 10 in
/// flight and at 21 s retires it by a drop (catch-up `latest`, no deadline: only "a newer tick is
/// due" allows that) while a's run is still frozen, then crashes; c reads 10 out of flight and
/// reruns b's 20. a resumes and its run is cut (revoked) at 40.5 s, AFTER the drop. Before the
/// cut only a deadline (or replace) retirement ends an at-least-once tick — the abandon path
/// enforces that (reviewed_holes.rs, issue 12), and the core retires retries only past their
/// deadline — but `retired_by_drop` takes any `retire_allowed`, misfire included, and even
/// launders b's own recorded `superseded` abandon that the abandon path rejected.
#[test]
fn review2_a_misfire_drop_before_the_cut_does_not_retire_an_at_least_once_tick() {
    let world = |recorded: bool| {
        let spec = every_10s_with(Delivery::AtLeastOnce, CatchUp::Latest, OverlapPolicy::Allow);
        let mut h = ran(Builder::new().node(0, "a", won(1)), 0, "a", 1, 0, 1)
            .node(10_000, "a", sent(1, &[("j", 10)]))
            .node(10_000, "a", claimed("j", 10, 1))
            .command(10_001, "a", began("j", 10, 1, 1))
            .fault_for(10_500, "a", FaultKind::Pause, 30_000)
            .node(15_000, "b", won(2))
            .node(15_001, "b", read(2, 10, &[10]))
            .node(21_000, "b", batch(2, &[(10, true), (20, false)]));
        if recorded {
            h = h.node(21_000, "b", abandon(2, 10, AbandonReason::Superseded));
        }
        let h = h
            .fault(21_100, "b", FaultKind::Crash)
            .node(25_000, "c", won(3))
            .node(25_001, "c", read(3, 20, &[20]))
            .node(25_002, "c", sent(3, &[("j", 20)]))
            .node(25_002, "c", claimed("j", 20, 3))
            .command(25_003, "c", began("j", 20, 3, 2))
            .command(25_004, "c", returned("j", 20, 3, 2))
            .node(25_004, "c", completed("j", 20, 3, 2));
        let h = ran(h, 30_000, "c", 3, 30, 1)
            .node(40_500, "a", revoked(1))
            .build();
        verdict(&h, spec, 30)
    };
    for recorded in [false, true] {
        let v = world(recorded);
        assert!(
            kinds(&v.violations).contains(&("unfinished_at_least_once", Some(at(10)))),
            "recorded {recorded}: {v:#?}"
        );
    }
}

/// Rule 2. a's run of at-least-once tick 0 and b's of tick 10 are both cut; c claims 0 and runs
/// it until the world ends, and claims 10 again, but never starts it. Under `replace` with 10
/// in a batch of its own (it should cancel the run of 0), or under `allow` even in one batch
/// with 0 (each tick runs on its own), nothing queues 10 behind the run of 0: it is lost. Yet
/// `queued_at_end` checks neither the overlap policy nor that the running tick shares the batch.
#[test]
fn review2_a_claim_outside_the_running_batch_is_not_queued_behind_it() {
    let world = |overlap: OverlapPolicy, one_batch: bool| {
        let mut h = Builder::new()
            .node(0, "a", sent(1, &[("j", 0)]))
            .command(1, "a", began("j", 0, 1, 1))
            .fault(500, "a", FaultKind::Crash)
            .node(10_000, "b", won(2))
            .node(10_000, "b", sent(2, &[("j", 10)]))
            .command(10_001, "b", began("j", 10, 2, 1))
            .fault(10_500, "b", FaultKind::Crash)
            .node(11_000, "c", won(3));
        h = match one_batch {
            true => h.node(11_001, "c", sent(3, &[("j", 0), ("j", 10)])),
            false => h.node(11_001, "c", sent(3, &[("j", 0)])),
        };
        h = h.command(11_002, "c", began("j", 0, 3, 2));
        if !one_batch {
            h = h.node(12_000, "c", sent(3, &[("j", 10)]));
        }
        let spec = every_10s_with(Delivery::AtLeastOnce, CatchUp::All { max: 10 }, overlap);
        verdict(&h.build(), spec, 15)
    };
    for (overlap, one_batch) in [
        (OverlapPolicy::Replace, false),
        (OverlapPolicy::Allow, true),
    ] {
        let v = world(overlap, one_batch);
        assert!(
            kinds(&v.violations).contains(&("unfinished_at_least_once", Some(at(10)))),
            "{overlap:?} one batch {one_batch}: {v:#?}"
        );
    }
}

/// Rule 4. As liveness's `owed_behind_a_long_run`: b read tick 60 in flight and its run of 50
/// went from 50 s to 75 s (Forbid). The rerun it owes may wait for that run — but b starts it
/// only at 150 s, 75 s after the run ended, long past any bound. `running_over` excuses the
/// tick's lateness without limit once the run was going at its due time.
#[test]
fn review2_an_owed_rerun_may_wait_for_the_run_but_not_forever_after_it() {
    let spec = every_10s_with(
        Delivery::AtLeastOnce,
        CatchUp::Latest,
        OverlapPolicy::Forbid,
    );
    let mut h = Builder::new()
        .node(0, "a", won(1))
        .node(5_000, "a", sent(1, &[("j", 60)]))
        .node(6_000, "a", revoked(1))
        .node(6_000, "b", won(2))
        .node(6_001, "b", read(2, 60, &[60]));
    for tick in (20..=200).step_by(10) {
        let ms = if tick == 60 {
            150_000
        } else {
            tick as u64 * 1_000
        };
        let attempt = if tick == 60 { 2 } else { 1 };
        let end = if tick == 50 { 75_000 } else { ms + 1 };
        h = h
            .command(ms, "b", began("j", tick, 2, attempt))
            .command(end, "b", returned("j", tick, 2, attempt))
            .node(end, "b", completed("j", tick, 2, attempt));
    }
    let history = h.build();
    let jobs = jobs("j", spec);
    let input = CheckInput {
        history: &history,
        jobs: &jobs,
        window: (at(20), at(200)),
        world: (at(0), at(200)),
        elections: elections(&jobs),
        observed: Observed {
            commands: true,
            backend: false,
        },
        liveness: Some(LivenessBound {
            lease_ttl: SignedDuration::from_secs(10),
            election: SignedDuration::from_secs(5),
            request_timeout: SignedDuration::from_secs(2),
            widened: None,
        }),
        history_end: history.records.last().map(|r| r.true_time),
    };
    let v = crate::check::check(input);
    let late: Vec<_> = v
        .violations
        .iter()
        .filter(|f| f.checker == Checker::Liveness)
        .map(|f| f.tick)
        .collect();
    assert!(late.contains(&Some(at(60))), "{v:#?}");
}

/// Rule 5. a is paused 5–15 s; a graceful stop begins at 8 s. Back at 15 s, a ignores the stop
/// for 35 s: it claims and runs 10, 20, 30, 40, then at 50 s claims the fresh tick 50 and gives
/// it up for `shutdown`. Tick 50 did not pile up during the pause; a had long seen the stop.
/// `stops_reaching` takes the abandon itself as a's first shutdown act, so the claim of 50
/// always precedes "where the stop reached a" and is excused.
#[test]
fn review2_a_stop_seen_long_after_resuming_does_not_excuse_a_fresh_claim() {
    let mut h = ran(Builder::new().node(0, "a", won(1)), 0, "a", 1, 0, 1)
        .fault_for(5_000, "a", FaultKind::Pause, 10_000)
        .fault(8_000, "a", FaultKind::Stop { upgrade_to: None })
        .fault_ended(15_000, "a", FaultKind::Pause, 5_000);
    h = ran(h, 15_000, "a", 1, 10, 1);
    for tick in [20, 30, 40] {
        h = ran(h, tick as u64 * 1_000, "a", 1, tick, 1);
    }
    let h = h
        .node(50_000, "a", sent(1, &[("j", 50)]))
        .node(50_000, "a", claimed("j", 50, 1))
        .node(50_020, "a", abandon(1, 50, AbandonReason::Shutdown))
        .build();
    let v = verdict(&h, every_10s(Delivery::AtMostOnce), 50);
    assert_eq!(
        kinds(&v.violations),
        [("unfounded_abandon", Some(at(50)))],
        "{v:#?}"
    );
}

/// Rule 6 (`known_to`). a ran 0 and 10. b won, read the checkpoint at 10 and was paused; c won
/// (token 3), claimed 20 — answered: it landed — and never ran it (the bug), then ran 30. b
/// resumed at 31 s, sent a drop of 30 (fenced out: c leads) and crashed. The old bound (the
/// newest claim sent) made b's drop cover only 30; `known_to` starts it from b's stale read, so
/// it covers 20 too and c's lost tick is excused as `dropped_with_leader`. A newer leadership's
/// claim that provably landed moves the checkpoint whatever b read.
#[test]
fn review2_a_stale_read_does_not_let_a_drop_cover_a_newer_leaders_landed_claim() {
    let mut h = ran(Builder::new().node(0, "a", won(1)), 0, "a", 1, 0, 1);
    h = ran(h, 10_000, "a", 1, 10, 1)
        .fault(11_000, "a", FaultKind::Crash)
        .node(12_000, "b", won(2))
        .node(12_001, "b", read(2, 10, &[]))
        .fault_for(12_500, "b", FaultKind::Pause, 18_000)
        .node(18_000, "c", won(3))
        .node(18_001, "c", read(3, 10, &[]))
        .node(20_000, "c", sent(3, &[("j", 20)]))
        .node(20_000, "c", claimed("j", 20, 3));
    let h = ran(h, 30_000, "c", 3, 30, 1)
        .node(31_000, "b", batch(2, &[(30, true)]))
        .fault(31_100, "b", FaultKind::Crash)
        .build();
    let v = verdict(&h, every_10s(Delivery::AtMostOnce), 30);
    let ticks: Vec<_> = v.violations.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(20))], "{v:#?}");
}

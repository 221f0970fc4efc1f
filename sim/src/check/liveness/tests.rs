//! Tests of the liveness checker on small synthetic histories: each stall here passed every
//! checker before this one existed.
use cronfence::ElectionName;

use super::*;
use crate::check::testkit::*;
use crate::check::Observed;

/// TTL 10 s + election 5 s + request 2 s: a leader is owed 17 s after the world is quiet.
fn bound() -> LivenessBound {
    LivenessBound {
        lease_ttl: SignedDuration::from_secs(10),
        election: SignedDuration::from_secs(5),
        request_timeout: SignedDuration::from_secs(2),
        widened: None,
    }
}

/// The leaderless stretches found over `[0 s, end s]` for job `j` ticking every 10 s.
fn stalls(history: &crate::history::History, end: i64) -> Vec<Finding> {
    all_stalls(history, end)
        .into_iter()
        .filter(|f| f.tick.is_none())
        .collect()
}

/// Every liveness finding over `[0 s, end s]` for job `j` ticking every 10 s.
fn all_stalls(history: &crate::history::History, end: i64) -> Vec<Finding> {
    stalls_of(history, end, every_10s(cronfence::Delivery::AtMostOnce))
}

/// Every liveness finding over `[0 s, end s]` for job `j` defined by `spec`.
pub(super) fn stalls_of(
    history: &crate::history::History,
    end: i64,
    spec: cronfence::JobSpec,
) -> Vec<Finding> {
    let jobs = jobs("j", spec);
    let mut input = input(history, &jobs, 0, end);
    input.world = (at(0), at(end));
    input.observed = Observed {
        commands: true,
        backend: false,
    };
    let index = Index::new(input);
    let mut verdict = Verdict::default();
    check(input, &index, bound(), &Default::default(), &mut verdict);
    verdict.violations
}

fn behind() -> NodeEvent {
    NodeEvent::ClockBehind {
        election: ElectionName::new("group"),
        checkpoint: at(60),
        clock: at(-3_540),
    }
}

#[test]
fn a_quiet_world_where_nobody_leads_is_stalled() {
    // Nobody ever won and no fault happened: 17 s in, a leader was owed; 100 s without one.
    let history = Builder::new()
        .node(
            0,
            "a",
            NodeEvent::CampaignStarted {
                election: election(),
            },
        )
        .build();
    let found = stalls(&history, 100);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, "stalled");
    assert!(
        found[0].detail.contains("no node led group"),
        "{}",
        found[0].detail
    );
    assert!(
        found[0].detail.contains("a: campaigning"),
        "{}",
        found[0].detail
    );
}

#[test]
fn a_step_down_for_the_clock_must_let_another_node_lead() {
    // a steps down for its clock (a clock fault on a alone) and nobody leads afterwards: b was
    // free of faults, so the cluster owed a leader 17 s after the fault began.
    let jump = FaultKind::ClockJump {
        by: SignedDuration::from_secs(-3_600),
    };
    let history = Builder::new()
        .node(0, "a", won(1))
        .command(0, "a", began("j", 0, 1, 1))
        .node(
            1,
            "b",
            NodeEvent::CampaignStarted {
                election: election(),
            },
        )
        .fault(5_000, "a", jump)
        .node(5_001, "a", behind())
        .build();
    let found = stalls(&history, 100);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].detail.contains("stepped down for its clock"),
        "{}",
        found[0].detail
    );
    // Another node winning within the bound clears it.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(
            1,
            "b",
            NodeEvent::CampaignStarted {
                election: election(),
            },
        )
        .fault(
            5_000,
            "a",
            FaultKind::ClockJump {
                by: SignedDuration::from_secs(-3_600),
            },
        )
        .node(5_001, "a", behind())
        .node(6_000, "b", won(2))
        .build();
    assert!(stalls(&history, 100).is_empty());
}

#[test]
fn a_pause_the_leader_survives_does_not_end_its_leadership() {
    // a is paused for 3 s and goes on leading with the same token: no stretch without a leader.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(5_000, "a", FaultKind::Pause)
        .fault_ended(8_000, "a", FaultKind::Pause, 5_000)
        .command(10_000, "a", began("j", 10, 1, 1))
        .build();
    assert!(stalls(&history, 100).is_empty());
}

#[test]
fn a_takeover_within_the_bound_after_a_crash_is_not_a_stall() {
    // a crashes at 20 s; b wins at 32 s (12 s later, within the 17 s bound).
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(20_000, "a", FaultKind::Crash)
        .node(32_000, "b", won(2))
        .build();
    assert!(stalls(&history, 100).is_empty());
    // The same takeover 40 s after the crash is a stall.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(20_000, "a", FaultKind::Crash)
        .node(60_000, "b", won(2))
        .build();
    assert_eq!(stalls(&history, 100).len(), 1);
}

#[test]
fn a_tick_due_in_a_quiet_world_must_begin_within_the_bound_plus_its_interval() {
    // a leads throughout and runs every tick on time but tick 40, which begins at 70 s: 30 s
    // late, past 17 s + the 10 s interval. Ticks before 17 s (the world not yet quiet for the
    // bound) are not judged.
    let mut history = Builder::new().node(0, "a", won(1));
    for tick in (20..=100).step_by(10).filter(|t| *t != 40) {
        history = history.command(tick as u64 * 1_000, "a", began("j", tick, 1, 1));
        if tick == 60 {
            history = history.command(70_000, "a", began("j", 40, 1, 1));
        }
    }
    let found = all_stalls(&history.build(), 100);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].tick, Some(at(40)));
    assert!(found[0].detail.contains("30s late"), "{}", found[0].detail);
}

#[test]
fn a_tick_a_quiet_leader_never_runs_is_a_stall() {
    // a leads with no fault anywhere but gives up ticks 30 and 40 (whatever it says): a quiet
    // world owes every tick, and only an overlap skip or a DST gap leaves one unrun.
    let mut history = Builder::new().node(0, "a", won(1));
    for tick in (20..=100).step_by(10).filter(|t| *t != 30 && *t != 40) {
        history = history.command(tick as u64 * 1_000, "a", began("j", tick, 1, 1));
    }
    let found = all_stalls(&history.build(), 100);
    let ticks: Vec<_> = found.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(30)), Some(at(40))], "{found:#?}");
    assert!(found[0].detail.contains("never ran"), "{}", found[0].detail);
}

/// Leader a runs every tick of j from 20 s on at once, but the run of tick 20 lasts until 35 s;
/// a sends a drop of tick 30 at 31 s and runs nothing for it. With `run_end` `None` the run of
/// tick 20 never ends on record.
fn overlapping_run(run_end: Option<u64>) -> crate::history::History {
    let mut history = Builder::new().node(0, "a", won(1));
    for tick in (20..=100).step_by(10).filter(|t| *t != 30) {
        let ms = tick as u64 * 1_000;
        history = history.command(ms, "a", began("j", tick, 1, 1)).command(
            ms,
            "a",
            returned("j", tick, 1, 1),
        );
        let end = if tick == 20 { run_end } else { Some(ms) };
        if let Some(end) = end {
            history = history.node(end, "a", completed("j", tick, 1, 1));
        }
        if tick == 20 {
            let drop = NodeEvent::ClaimsSent {
                token: cronfence::FencingToken(1),
                claims: vec![cronfence::Claim {
                    job: job("j"),
                    tick: at(30),
                    spec_version: 1,
                    kind: cronfence::ClaimKind::Drop,
                }],
                evidence: None,
            };
            history = history.node(31_000, "a", drop);
        }
    }
    history.build()
}

fn with_overlap(overlap: cronfence::OverlapPolicy) -> cronfence::JobSpec {
    let delivery = cronfence::Delivery::AtMostOnce;
    every_10s_with(delivery, cronfence::CatchUp::Latest, overlap)
}

#[test]
fn a_tick_due_while_its_leaders_run_goes_on_is_owed_no_run_under_overlap_forbid() {
    // Tick 30 came due while a's run of tick 20 was still going (until 35 s) and a dropped it:
    // under `Forbid` it could not start on time whatever a then recorded; under `Allow` it could,
    // so the same history is a stall there.
    let history = overlapping_run(Some(35_000));
    let forbid = stalls_of(
        &history,
        100,
        with_overlap(cronfence::OverlapPolicy::Forbid),
    );
    assert!(forbid.is_empty(), "{forbid:#?}");
    let allow = stalls_of(&history, 100, with_overlap(cronfence::OverlapPolicy::Allow));
    let ticks: Vec<_> = allow.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(30))], "{allow:#?}");
}

#[test]
fn a_run_with_no_recorded_end_excuses_no_later_tick() {
    // The run of tick 20 never ends on record (a crash cut it, say): it cannot vouch that tick
    // 30 was kept from starting, so tick 30 is owed even under `Forbid`.
    let history = overlapping_run(None);
    let found = stalls_of(
        &history,
        100,
        with_overlap(cronfence::OverlapPolicy::Forbid),
    );
    let ticks: Vec<_> = found.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(30))], "{found:#?}");
}

/// a claims tick 60 early at 5 s (a clock ahead, say) and its leadership is revoked at
/// `revoked_ms`; b leads from then on and runs every other tick from 20 s on.
fn claimed_early(revoked_ms: u64) -> crate::history::History {
    let mut history = Builder::new()
        .node(0, "a", won(1))
        .node(5_000, "a", sent(1, &[("j", 60)]))
        .node(revoked_ms, "a", revoked(1))
        .node(revoked_ms, "b", won(2));
    for tick in (20..=100).step_by(10).filter(|t| *t != 60) {
        history = history.command(tick as u64 * 1_000, "b", began("j", tick, 2, 1));
    }
    history.build()
}

#[test]
fn an_at_most_once_tick_claimed_early_by_a_leadership_gone_before_the_quiet_is_owed_no_run() {
    // Tick 60 is owed from 43 s (60 s less the 17 s bound). Claimed at 5 s by a leadership
    // revoked at 6 s, it was a's and went with it before the quiet began: nobody may run it. Had
    // the leadership ended at 50 s, inside the quiet, the tick would be owed.
    let before: Vec<_> = all_stalls(&claimed_early(6_000), 100)
        .into_iter()
        .filter_map(|f| f.tick)
        .collect();
    assert!(!before.contains(&at(60)), "{before:?}");
    let inside: Vec<_> = all_stalls(&claimed_early(50_000), 100)
        .into_iter()
        .filter_map(|f| f.tick)
        .collect();
    assert!(inside.contains(&at(60)), "{inside:?}");
}

#[test]
fn a_tick_run_late_behind_its_leaders_own_run_is_its_jobs_backlog_under_overlap_forbid() {
    // a runs tick 20 until 59 s and only then tick 30 (claimed with it, at 20 s): 30 s late,
    // past 17 s + 10 s. Under `Forbid` tick 30 waited for its own job; under `Allow` it need not.
    let mut history = Builder::new()
        .node(0, "a", won(1))
        .node(20_000, "a", sent(1, &[("j", 20), ("j", 30)]))
        .command(20_000, "a", began("j", 20, 1, 1));
    for tick in [40, 50] {
        history = history.command(tick as u64 * 1_000, "a", began("j", tick, 1, 1));
    }
    history = history.node(59_000, "a", completed("j", 20, 1, 1)).command(
        60_000,
        "a",
        began("j", 30, 1, 1),
    );
    for tick in (60..=100).step_by(10) {
        history = history.command(tick as u64 * 1_000, "a", began("j", tick, 1, 1));
    }
    let history = history.build();
    let forbid = stalls_of(
        &history,
        100,
        with_overlap(cronfence::OverlapPolicy::Forbid),
    );
    assert!(forbid.is_empty(), "{forbid:#?}");
    let allow = stalls_of(&history, 100, with_overlap(cronfence::OverlapPolicy::Allow));
    let ticks: Vec<_> = allow.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(30))], "{allow:#?}");
}

/// a claims tick 60 early at 5 s and is revoked at 6 s; b wins, reads j's checkpoint (with tick
/// 60 in flight when `owed`), runs every tick from 20 s on but 60, and runs tick 50 from 50 s
/// until 75 s.
fn owed_behind_a_long_run(owed: bool) -> crate::history::History {
    let in_flight = if owed { vec![(at(60), 1)] } else { vec![] };
    let read = NodeEvent::CheckpointsRead {
        election: election(),
        token: cronfence::FencingToken(2),
        checkpoints: vec![cronfence::store::Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(60)),
            in_flight,
        }],
    };
    let mut history = Builder::new()
        .node(0, "a", won(1))
        .node(5_000, "a", sent(1, &[("j", 60)]))
        .node(6_000, "a", revoked(1))
        .node(6_000, "b", won(2))
        .node(6_001, "b", read);
    for tick in (20..=100).step_by(10).filter(|t| *t != 60) {
        let ms = tick as u64 * 1_000;
        let end = if tick == 50 { 75_000 } else { ms };
        history = history.command(ms, "b", began("j", tick, 2, 1)).node(
            end,
            "b",
            completed("j", tick, 2, 1),
        );
    }
    history.build()
}

#[test]
fn an_in_flight_tick_its_leader_owes_waits_behind_that_leaders_run_under_overlap_forbid() {
    // b read tick 60 in flight (claimed early by a, at least once: b owes it a rerun) and was
    // running tick 50 when 60 came due: under `Forbid` the rerun waits for that run, the job's
    // own backlog. Had b not read it in flight, nothing of b's kept tick 60 waiting.
    let spec = || {
        let delivery = cronfence::Delivery::AtLeastOnce;
        every_10s_with(
            delivery,
            cronfence::CatchUp::Latest,
            cronfence::OverlapPolicy::Forbid,
        )
    };
    let owed = stalls_of(&owed_behind_a_long_run(true), 100, spec());
    assert!(owed.is_empty(), "{owed:#?}");
    let unowed = stalls_of(&owed_behind_a_long_run(false), 100, spec());
    let ticks: Vec<_> = unowed.iter().map(|f| f.tick).collect();
    assert_eq!(ticks, [Some(at(60))], "{unowed:#?}");
}

#[test]
fn an_owed_rerun_waits_behind_a_run_still_going_at_the_end_but_not_one_that_was_cut() {
    // b read tick 60 in flight and runs 50 from 50 s; the run has no recorded end. Still going
    // when the history ends (b leads on), it keeps 60 waiting under `forbid`. Cut at 55 s, when
    // b's leadership was revoked (no fault: the world stays quiet), it keeps 60 waiting only
    // until then: nobody ran 60, a stall.
    let world = |cut: bool| {
        let read = NodeEvent::CheckpointsRead {
            election: election(),
            token: cronfence::FencingToken(2),
            checkpoints: vec![cronfence::store::Checkpoint {
                job: job("j"),
                registered_at: at(0),
                last_claimed: Some(at(60)),
                in_flight: vec![(at(60), 1)],
            }],
        };
        let mut history = Builder::new()
            .node(0, "a", won(1))
            .node(5_000, "a", sent(1, &[("j", 60)]))
            .node(6_000, "a", revoked(1))
            .node(6_000, "b", won(2))
            .node(6_001, "b", read);
        for tick in [20, 30, 40] {
            let ms = tick as u64 * 1_000;
            history = history.command(ms, "b", began("j", tick, 2, 1)).node(
                ms,
                "b",
                completed("j", tick, 2, 1),
            );
        }
        history = history.command(50_000, "b", began("j", 50, 2, 1));
        if cut {
            history = history.node(55_000, "b", revoked(2));
        }
        let spec = every_10s_with(
            cronfence::Delivery::AtLeastOnce,
            cronfence::CatchUp::Latest,
            cronfence::OverlapPolicy::Forbid,
        );
        let found = stalls_of(&history.build(), 120, spec);
        found.iter().map(|f| f.tick).collect::<Vec<_>>()
    };
    assert!(!world(false).contains(&Some(at(60))), "{:?}", world(false));
    assert!(world(true).contains(&Some(at(60))), "{:?}", world(true));
}

#[test]
fn a_pause_cut_short_by_a_crash_no_longer_keeps_the_world_faulty() {
    // a (alone) is paused at 5 s for 95 s, but crashes at 6 s and restarts at 7 s, a new process
    // that is not paused; nobody leads until 60 s. The world is quiet from 7 s, so that is a
    // stall, which the recorded pause (to 100 s) used to hide.
    let crashed = |crash: bool| {
        let mut h = Builder::new()
            .node(0, "a", won(1))
            .fault(5_000, "a", FaultKind::Pause);
        if crash {
            h = h.fault(6_000, "a", FaultKind::Crash).fault_ended(
                7_000,
                "a",
                FaultKind::Crash,
                6_000,
            );
        }
        h.node(60_000, "a", won(2))
            .fault_ended(100_000, "a", FaultKind::Pause, 5_000)
            .build()
    };
    assert_eq!(stalls(&crashed(true), 120).len(), 1);
    // Control: without the crash, a is paused to 100 s; not quiet, no stall owed.
    assert!(stalls(&crashed(false), 120).is_empty());
}

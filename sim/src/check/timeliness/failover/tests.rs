//! Failover attribution on hand-built histories: which wins are failovers, where the old
//! leadership was lost, and the takeover and first-run times.

use cronfence::{Delivery, FencingToken, JobSpec, NodeEvent, Schedule};
use jiff::SignedDuration;

use super::super::{measure, Failover, Timeliness};
use crate::check::testkit::*;
use crate::fault::{Direction, FaultKind};
use crate::history::History;

fn measured(history: &History, from: i64, to: i64) -> Timeliness {
    let jobs = jobs("j", every_10s(Delivery::AtMostOnce));
    measure(input(history, &jobs, from, to))
}

fn partition() -> FaultKind {
    FaultKind::Partition {
        direction: Direction::default(),
    }
}

fn resigned(token: u64) -> NodeEvent {
    NodeEvent::Resigned {
        election: election(),
        token: FencingToken(token),
    }
}

/// (lost_by, lost_at_ms, takeover_ms, first_run_ms) of every failover.
fn losses(t: &Timeliness) -> Vec<(&str, f64, f64, Option<f64>)> {
    t.failovers
        .iter()
        .map(|f| {
            (
                f.lost_by.as_str(),
                f.lost_at_ms,
                f.takeover_ms,
                f.first_run_ms,
            )
        })
        .collect()
}

#[test]
fn failover_runs_from_the_old_leaders_crash_to_the_new_win_and_its_first_start() {
    // a crashes at 15 s, b wins at 18 s and starts the 10 s tick 8.5 s late at 18.5 s: a 3 s
    // takeover, a first run 3.5 s after the loss, one tick delayed (the 20 s one was on time).
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .node(10_000, "a", claimed("j", 10, 1))
        .fault(15_000, "a", FaultKind::Crash)
        .node(18_000, "b", won(2))
        .node(18_500, "b", started("j", 10, 2, 1))
        .node(20_000, "b", started("j", 20, 2, 1))
        .build();
    let t = measured(&history, 0, 20);
    let expected = Failover {
        election: election(),
        old_leader: Some("a".into()),
        lost_by: "crash".into(),
        lost_at_ms: 15_000.0,
        new_leader: "b".into(),
        token: 2,
        won_at_ms: 18_000.0,
        takeover_ms: 3_000.0,
        first_start_ms: Some(18_500.0),
        first_run_ms: Some(3_500.0),
        ticks_delayed: 1,
    };
    assert_eq!(t.failovers, [expected]);
}

#[test]
fn failover_with_no_recorded_loss_is_measured_from_the_new_win() {
    // Nothing says when a lost leadership (b's crash is not a's): the new win is the only
    // honest bound, so the takeover reads 0 and is labelled unknown.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(1_000, "b", FaultKind::Crash)
        .node(5_000, "b", won(2))
        .build();
    let t = measured(&history, 0, 20);
    assert_eq!(losses(&t), [("unknown", 5_000.0, 0.0, None)]);
}

#[test]
fn a_pause_the_leader_survived_is_not_where_its_leadership_was_lost() {
    // a is paused 10-16 s and keeps starting ticks with token 1 afterwards: it survived. The
    // partition at 45 s is what ended token 1 (revoked at 54 s); measuring from the pause
    // would report a 45 s takeover for a 10 s one. (Before this module, it did.)
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .fault(10_000, "a", FaultKind::Pause)
        .fault_ended(16_000, "a", FaultKind::Pause, 10_000)
        .node(20_000, "a", started("j", 20, 1, 1))
        .node(30_000, "a", started("j", 30, 1, 1))
        .node(40_000, "a", started("j", 40, 1, 1))
        .fault(45_000, "a", partition())
        .node(54_000, "a", revoked(1))
        .node(55_000, "b", won(2))
        .node(55_500, "b", started("j", 50, 2, 1))
        .build();
    let t = measured(&history, 0, 50);
    assert_eq!(
        losses(&t),
        [("partition", 45_000.0, 10_000.0, Some(10_500.0))]
    );
}

#[test]
fn a_survived_pause_with_no_later_win_is_no_failover() {
    // a's leadership outlived the pause and nobody else won: there is nothing to count.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(10_000, "a", FaultKind::Pause)
        .fault_ended(16_000, "a", FaultKind::Pause, 10_000)
        .node(20_000, "a", started("j", 20, 1, 1))
        .build();
    assert!(measured(&history, 0, 20).failovers.is_empty());
}

#[test]
fn a_partition_that_revoked_the_leader_is_a_failover_measured_from_the_partition() {
    // a is cut off at 25 s and notices at 34 s; b wins at 35 s and runs the 30 s tick 5.2 s
    // late. The leadership was lost when the partition began, not when a noticed: 10 s.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(20_000, "a", started("j", 20, 1, 1))
        .fault(25_000, "a", partition())
        .node(34_000, "a", revoked(1))
        .node(35_000, "b", won(2))
        .node(35_200, "b", started("j", 30, 2, 1))
        .fault_ended(40_000, "a", partition(), 25_000)
        .build();
    let t = measured(&history, 0, 30);
    assert_eq!(
        losses(&t),
        [("partition", 25_000.0, 10_000.0, Some(10_200.0))]
    );
    assert_eq!(t.failovers[0].ticks_delayed, 1);
}

#[test]
fn a_pause_that_outlived_the_lease_is_the_loss_though_revoked_after_the_new_win() {
    // a is paused from 10 s to 40 s; b wins at 19 s; a learns of it only on resuming. The
    // revocation comes after the win, the pause is where the leadership ended: 9 s.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(10_000, "a", FaultKind::Pause)
        .node(19_000, "b", won(2))
        .fault_ended(40_000, "a", FaultKind::Pause, 10_000)
        .node(40_000, "a", revoked(1))
        .build();
    assert_eq!(
        losses(&measured(&history, 0, 30)),
        [("pause", 10_000.0, 9_000.0, None)]
    );
}

#[test]
fn a_daily_jobs_failover_is_a_short_takeover_and_a_long_first_run() {
    // a crashes an hour into the day; b wins 10 s later but has nothing to run until the next
    // day's tick. The takeover is 10 s; the first run, 23 h later, is reported apart from it.
    let day = SignedDuration::from_hours(24);
    let daily = JobSpec::new(Schedule::every(start(), day).expect("a day > 0"));
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(0, "a", started("j", 0, 1, 1))
        .fault(3_600_000, "a", FaultKind::Crash)
        .node(3_610_000, "b", won(2))
        .node(86_400_000, "b", started("j", 86_400, 2, 1))
        .build();
    let jobs = jobs("j", daily);
    let t = measure(input(&history, &jobs, 0, 86_400));
    assert_eq!(
        losses(&t),
        [("crash", 3_600_000.0, 10_000.0, Some(82_800_000.0))]
    );
    assert_eq!(t.failovers[0].ticks_delayed, 0);
}

#[test]
fn a_daily_leaders_quiet_survived_pause_gives_way_to_the_partition_that_ended_it() {
    // With nothing due, a shows no life after its 6 s pause; but a partition hours later came
    // before its revocation, so the leadership ended there: an ended leadership records its
    // end before the next fault could strike.
    let history = Builder::new()
        .node(0, "a", won(1))
        .fault(3_600_000, "a", FaultKind::Pause)
        .fault_ended(3_606_000, "a", FaultKind::Pause, 3_600_000)
        .fault(7_200_000, "a", partition())
        .node(7_209_000, "a", revoked(1))
        .node(7_210_000, "b", won(2))
        .build();
    assert_eq!(
        losses(&measured(&history, 0, 0)),
        [("partition", 7_200_000.0, 10_000.0, None)]
    );
}

#[test]
fn re_election_after_resigning_is_a_failover_and_the_same_token_twice_is_not() {
    // a resigns token 1 at 12 s and wins token 2 at 12.5 s: a new leadership, 0.5 s later. The
    // second record of token 2's win ends nothing, so it is not counted.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(12_000, "a", resigned(1))
        .node(12_500, "a", won(2))
        .node(13_000, "a", won(2))
        .build();
    let t = measured(&history, 0, 20);
    assert_eq!(losses(&t), [("resigned", 12_000.0, 500.0, None)]);
    assert_eq!(
        (
            t.failovers[0].old_leader.as_deref(),
            t.failovers[0].new_leader.as_str()
        ),
        (Some("a"), "a")
    );
}

#[test]
fn a_clock_behind_step_down_ends_the_leadership_it_interrupted() {
    // a's clock went back: it steps down at 20 s (no token in the record: it is the one a
    // holds in that election), b wins at 21 s.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(
            20_000,
            "a",
            NodeEvent::ClockBehind {
                election: election(),
                checkpoint: at(20),
                clock: at(-60),
            },
        )
        .node(20_100, "a", resigned(1))
        .node(21_000, "b", won(2))
        .build();
    assert_eq!(
        losses(&measured(&history, 0, 20)),
        [("clock_behind", 20_000.0, 1_000.0, None)]
    );
}

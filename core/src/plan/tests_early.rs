//! Tests of reruns due by the wall clock but not yet by the evidence: a leader whose clock ran
//! ahead reruns a previous leadership's ticks early, but one at a time, and never lets one
//! replace a run. Times are seconds after a fixed anchor; the schedule ticks every 10 s.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::schedule::Schedule;

fn t(secs: i64) -> Timestamp {
    "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
}

/// An at-least-once job every 10 s under `overlap`, claimed up to 90 s, with ticks 20 to 90
/// left in flight by a previous leadership.
fn left_in_flight(overlap: OverlapPolicy) -> Planner<'static> {
    let mut spec = JobSpec::new(Schedule::every(t(0), SignedDuration::from_secs(10)).unwrap());
    spec.delivery = Delivery::AtLeastOnce;
    spec.overlap = overlap;
    let id = JobId::new("job").unwrap();
    let cp = Checkpoint {
        job: id.clone(),
        registered_at: t(0),
        last_claimed: Some(t(90)),
        in_flight: (2..=9).rev().map(|k| (t(10 * k), 1)).collect(),
    };
    Planner::leaking(vec![(id, spec)], vec![cp], t(0))
}

fn at_reading(p: &Planner, wall: i64, evidence: i64) -> Vec<Decision> {
    p.poll_at(Reading {
        wall: t(wall),
        evidence: t(evidence),
        witness_age: Duration::ZERO,
        witness: t(evidence),
    })
}

fn runs(ds: &[Decision]) -> Vec<(Timestamp, u32)> {
    ds.iter()
        .flat_map(|d| d.run.iter().map(|r| (r.at, r.attempt)))
        .collect()
}

#[test]
fn a_rerun_due_by_the_wall_alone_runs_alone_and_never_replaces_a_run() {
    // Explorer worlds memory 82398 and 82402: the clock reads 85 s, the evidence 21 s. Only 20
    // is due by the evidence; 30 to 80 used to join it in one batch, and 90, due by the clock
    // alone a moment later, replaced the batch: the ticks behind 20 given up as replaced.
    let mut p = left_in_flight(OverlapPolicy::Replace);
    let ds = at_reading(&p, 85, 21);
    assert_eq!(runs(&ds), vec![(t(20), 2)]);
    p.advance(&ds);
    p.began(0);
    let ds = at_reading(&p, 91, 22);
    assert!(
        ds.is_empty(),
        "nothing due by the evidence replaces 20: {ds:?}"
    );
    // Once 20 ended, the oldest rerun runs early, alone.
    p.finished(0, true);
    let ds = at_reading(&p, 92, 23);
    assert_eq!(runs(&ds), vec![(t(30), 2)]);
    assert!(!ds[0].cancel_running);
    // A rerun the evidence has reached replaces a run like any tick due.
    p.advance(&ds);
    p.began(0);
    let ds = at_reading(&p, 93, 40);
    assert_eq!(runs(&ds), vec![(t(40), 2)]);
    assert!(ds[0].cancel_running);
}

#[test]
fn reruns_due_by_the_wall_alone_run_together_where_runs_may_overlap() {
    let p = left_in_flight(OverlapPolicy::Allow);
    let ds = at_reading(&p, 85, 21);
    let expected: Vec<_> = (2..=8).map(|k| (t(10 * k), 2)).collect();
    assert_eq!(runs(&ds), expected);
}

#[test]
fn a_leader_waiting_for_the_evidence_still_wakes_for_other_jobs() {
    // The rerun of 30 waits for the evidence, queued at 30 s (past by the wall); another job's
    // next tick, 100 s, is the deadline after the wall the leader must not sleep past.
    let spec = |overlap| {
        let mut spec = JobSpec::new(Schedule::every(t(0), SignedDuration::from_secs(10)).unwrap());
        spec.delivery = Delivery::AtLeastOnce;
        spec.overlap = overlap;
        spec
    };
    let checkpoint = |id: &JobId, in_flight: Vec<(Timestamp, u32)>| Checkpoint {
        job: id.clone(),
        registered_at: t(0),
        last_claimed: Some(t(90)),
        in_flight,
    };
    let (a, b) = (JobId::new("a").unwrap(), JobId::new("b").unwrap());
    let checkpoints = vec![
        checkpoint(&a, vec![(t(20), 1), (t(30), 1)]),
        checkpoint(&b, Vec::new()),
    ];
    let jobs = vec![
        (a, spec(OverlapPolicy::Replace)),
        (b, spec(OverlapPolicy::Allow)),
    ];
    let mut p = Planner::leaking(jobs, checkpoints, t(0));
    let ds = at_reading(&p, 91, 21);
    assert_eq!(runs(&ds), vec![(t(20), 2)]);
    p.advance(&ds);
    p.began(0);
    assert!(at_reading(&p, 91, 22).is_empty());
    assert_eq!(p.next_deadline(), Some(t(30)));
    assert_eq!(p.next_deadline_after(t(91)), Some(t(100)));
}

/// A job every 10 s under `overlap` and `delivery`, claimed up to 20 s.
fn claimed_to_20(overlap: OverlapPolicy, delivery: Delivery) -> Planner<'static> {
    let mut spec = JobSpec::new(Schedule::every(t(0), SignedDuration::from_secs(10)).unwrap());
    spec.delivery = delivery;
    spec.overlap = overlap;
    let id = JobId::new("job").unwrap();
    let cp = Checkpoint {
        job: id.clone(),
        registered_at: t(0),
        last_claimed: Some(t(20)),
        in_flight: Vec::new(),
    };
    Planner::leaking(vec![(id, spec)], vec![cp], t(0))
}

#[test]
fn an_at_most_once_job_claims_one_early_tick_per_claim_even_where_runs_may_overlap() {
    // Explorer world memory 170657: a clock jumped minutes ahead claimed the whole early limit
    // of an `Allow` job in one write; lost with its leadership, that write lost a minute of ticks.
    let mut p = claimed_to_20(OverlapPolicy::Allow, Delivery::AtMostOnce);
    let ds = at_reading(&p, 500, 31);
    assert_eq!(runs(&ds), vec![(t(30), 1), (t(40), 1)], "due 30, early 40");
    p.advance(&ds);
    let ds = at_reading(&p, 500, 31);
    assert_eq!(
        runs(&ds),
        vec![(t(50), 1)],
        "the next early tick in the next claim"
    );
}

#[test]
fn an_at_least_once_job_claims_its_early_ticks_together_where_runs_may_overlap() {
    // A lost at-least-once claim stays in flight for the next leader: nothing is lost with it.
    let p = claimed_to_20(OverlapPolicy::Allow, Delivery::AtLeastOnce);
    let ds = at_reading(&p, 500, 31);
    let expected: Vec<_> = (3..=9).map(|k| (t(10 * k), 1)).collect();
    assert_eq!(
        runs(&ds),
        expected,
        "up to the early limit, 60 s past the evidence"
    );
}

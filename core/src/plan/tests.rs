//! Policy tests for the decision core: every misfire, deadline, overlap and delivery rule, with no
//! runtime. Times are seconds after a fixed anchor; the schedule ticks every 10 s.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::policy::MisfirePolicy;
use crate::schedule::Schedule;

fn t(secs: i64) -> Timestamp {
    "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
}

fn spec() -> JobSpec {
    JobSpec::new(Schedule::every(t(0), SignedDuration::from_secs(10)).unwrap())
}

fn planner(
    spec: JobSpec,
    last_claimed: Option<i64>,
    in_flight: Vec<(i64, u32)>,
    since: i64,
) -> Planner<'static> {
    let id = JobId::new("job").unwrap();
    let cp = Checkpoint {
        job: id.clone(),
        registered_at: t(0),
        last_claimed: last_claimed.map(t),
        in_flight: in_flight.into_iter().map(|(s, a)| (t(s), a)).collect(),
    };
    Planner::leaking(vec![(id, spec)], vec![cp], t(since))
}

fn runs(d: &Decision) -> Vec<(Timestamp, u32)> {
    d.run.iter().map(|r| (r.at, r.attempt)).collect()
}

fn only(p: &Planner, now: i64) -> Decision {
    let mut ds = p.poll(t(now));
    assert_eq!(ds.len(), 1, "one job, one decision: {ds:?}");
    ds.remove(0)
}

#[test]
fn an_on_time_leader_runs_exactly_the_due_tick_and_sleeps_until_the_next() {
    let mut p = planner(spec(), Some(10), vec![], 0);
    assert_eq!(p.next_deadline(), Some(t(20)));
    assert!(p.poll(t(19)).is_empty(), "nothing is due before 20 s");
    let d = only(&p, 20);
    assert_eq!(runs(&d), vec![(t(20), 1)]);
    assert!(d.abandon.is_empty());
    p.advance(&[d]);
    p.began(0);
    assert_eq!(p.next_deadline(), Some(t(30)));
    assert!(
        p.poll(t(25)).is_empty(),
        "a claimed tick is never offered again"
    );
}

#[test]
fn catch_up_all_runs_every_missed_tick_up_to_max_oldest_first() {
    // Leader since 65 s, checkpoint at 10 s: ticks 20..60 were missed; max 3 keeps 40, 50, 60.
    let p = planner(
        spec().with_misfire(MisfirePolicy::all(3)),
        Some(10),
        vec![],
        65,
    );
    let d = only(&p, 65);
    assert_eq!(runs(&d), vec![(t(40), 1), (t(50), 1), (t(60), 1)]);
    assert_eq!(
        d.abandon,
        vec![Abandoned {
            first: t(20),
            last: t(30),
            count: 2,
            reason: AbandonReason::CatchUpLimit
        }]
    );
}

#[test]
fn catch_up_all_keeps_the_current_tick_beyond_max() {
    // The tick at 60 s falls in this leadership (since 55 s), so it is not a missed tick.
    let p = planner(
        spec().with_misfire(MisfirePolicy::all(1)),
        Some(10),
        vec![],
        55,
    );
    let d = only(&p, 60);
    assert_eq!(runs(&d), vec![(t(50), 1), (t(60), 1)]);
    assert_eq!(d.abandon[0].count, 3);
}

#[test]
fn catch_up_latest_runs_only_the_newest_due_tick() {
    let p = planner(
        spec().with_misfire(MisfirePolicy::latest()),
        Some(10),
        vec![],
        65,
    );
    let d = only(&p, 65);
    assert_eq!(runs(&d), vec![(t(60), 1)]);
    assert_eq!(
        d.abandon,
        vec![Abandoned {
            first: t(20),
            last: t(50),
            count: 4,
            reason: AbandonReason::Superseded
        }]
    );
}

#[test]
fn catch_up_skip_runs_no_missed_tick_but_runs_the_next() {
    let mut p = planner(
        spec().with_misfire(MisfirePolicy::skip()),
        Some(10),
        vec![],
        65,
    );
    let d = only(&p, 65);
    assert!(d.run.is_empty());
    assert_eq!(d.abandon[0].count, 5);
    assert_eq!(d.abandon[0].reason, AbandonReason::MisfireSkipped);
    p.advance(&[d]);
    assert_eq!(runs(&only(&p, 70)), vec![(t(70), 1)]);
}

#[test]
fn skip_does_not_drop_the_tick_due_at_the_start_of_office() {
    let p = planner(
        spec().with_misfire(MisfirePolicy::skip()),
        Some(10),
        vec![],
        20,
    );
    assert_eq!(runs(&only(&p, 20)), vec![(t(20), 1)]);
}

#[test]
fn starting_deadline_abandons_ticks_that_are_too_late_whatever_the_catch_up() {
    // Deadline 20 s at 65 s: ticks at 40 s or earlier are too late (exactly 20 s late is not).
    let policy = MisfirePolicy::all(100).with_starting_deadline(Duration::from_secs(20));
    let p = planner(spec().with_misfire(policy), Some(10), vec![], 65);
    let d = only(&p, 65);
    assert_eq!(runs(&d), vec![(t(50), 1), (t(60), 1)]);
    assert_eq!(
        d.abandon,
        vec![Abandoned {
            first: t(20),
            last: t(40),
            count: 3,
            reason: AbandonReason::DeadlineExceeded
        }]
    );
}

#[test]
fn a_long_outage_is_summarised_not_enumerated() {
    // A year of 10 s ticks missed: the decision holds one range, not three million entries.
    let p = planner(
        spec().with_misfire(MisfirePolicy::latest()),
        Some(0),
        vec![],
        365 * 86_400,
    );
    let d = only(&p, 365 * 86_400);
    assert_eq!(d.run.len(), 1);
    assert_eq!(d.abandon.len(), 1);
    assert_eq!(d.abandon[0].count, 365 * 8_640 - 1);
}

#[test]
fn overlap_forbid_skips_ticks_while_a_run_is_going() {
    // The run of 20 s began and has not ended when 30 s comes due: that is an overlap.
    let mut p = planner(spec(), Some(10), vec![], 0);
    let d = only(&p, 20);
    p.advance(std::slice::from_ref(&d));
    p.began(0);
    let d = only(&p, 30);
    assert!(d.run.is_empty());
    assert_eq!(d.skip, vec![t(30)]);
    p.advance(std::slice::from_ref(&d));
    p.finished(0, true);
    assert_eq!(
        runs(&only(&p, 40)),
        vec![(t(40), 1)],
        "after the run ends, ticks run again"
    );
}

#[test]
fn overlap_forbid_waits_for_a_started_run_to_begin_before_skipping() {
    // The execution of 20 s is spawned but its command has not begun: no run is in progress, so
    // 30 s may be neither skipped nor run beside it; the decision waits, and no deadline is due.
    let mut p = planner(spec(), Some(10), vec![], 0);
    let d = only(&p, 20);
    p.advance(std::slice::from_ref(&d));
    assert!(
        p.poll(t(35)).is_empty(),
        "undecided while the run has not begun"
    );
    assert_eq!(
        p.next_deadline(),
        None,
        "the run's news wakes the job, not a time"
    );
    p.began(0);
    assert_eq!(p.next_deadline(), Some(t(30)));
    assert_eq!(only(&p, 35).skip, vec![t(30)], "once begun, it overlaps");
}

#[test]
fn overlap_forbid_runs_the_next_tick_once_a_run_ended_before_it_began() {
    // An execution cut short before its command began (revoked, cancelled) leaves no run going.
    let mut p = planner(spec(), Some(10), vec![], 0);
    let d = only(&p, 20);
    p.advance(std::slice::from_ref(&d));
    p.finished(0, false);
    assert_eq!(runs(&only(&p, 30)), vec![(t(30), 1)]);
}

#[test]
fn overlap_allow_runs_alongside() {
    let mut spec = spec();
    spec.overlap = OverlapPolicy::Allow;
    let mut p = planner(spec.clone(), Some(10), vec![], 0);
    let d = only(&p, 20);
    p.advance(std::slice::from_ref(&d));
    let d = only(&p, 30);
    assert_eq!(runs(&d), vec![(t(30), 1)]);
    assert!(!d.cancel_running);
    assert!(!d.sequential(&spec));
}

#[test]
fn overlap_replace_cancels_the_running_execution() {
    let mut spec = spec();
    spec.overlap = OverlapPolicy::Replace;
    let mut p = planner(spec, Some(10), vec![], 0);
    let d = only(&p, 20);
    p.advance(std::slice::from_ref(&d));
    let d = only(&p, 30);
    assert_eq!(runs(&d), vec![(t(30), 1)]);
    assert!(d.cancel_running);
}

#[test]
fn at_least_once_reruns_uncommitted_ticks_with_the_next_attempt() {
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    let p = planner(spec.clone(), Some(20), vec![(20, 1)], 25);
    let d = only(&p, 25);
    assert_eq!(runs(&d), vec![(t(20), 2)]);
    let claims = d.claims(&JobId::new("job").unwrap(), &spec);
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].kind, ClaimKind::RunThenCommit { attempt: 2 });
}

#[test]
fn at_least_once_reruns_each_uncommitted_tick_when_it_comes_due() {
    // A clock that ran ahead claimed 30 s and 40 s early; the next leader, on time, reruns 20 s
    // at once but 30 s and 40 s only when they are due, not all of them at its win.
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    spec.overlap = OverlapPolicy::Replace;
    let mut p = planner(spec, Some(40), vec![(20, 1), (30, 1), (40, 1)], 25);
    let d = only(&p, 25);
    assert_eq!(runs(&d), vec![(t(20), 2)]);
    p.advance(std::slice::from_ref(&d));
    p.began(0);
    assert_eq!(p.next_deadline(), Some(t(30)));
    assert!(p.poll(t(29)).is_empty(), "30 s is not due before 30 s");
    let d = only(&p, 30);
    assert_eq!(runs(&d), vec![(t(30), 2)]);
    assert!(
        d.cancel_running,
        "it overlaps the run of 20 s like any tick"
    );
}

#[test]
fn at_least_once_rerun_due_during_a_forbid_run_waits_for_it() {
    // The tick was claimed, so it is owed a run: a run in progress delays it, never skips it.
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    let mut p = planner(spec, Some(30), vec![(20, 1), (30, 1)], 25);
    let d = only(&p, 25);
    p.advance(std::slice::from_ref(&d));
    p.began(0);
    assert!(p.poll(t(35)).is_empty(), "30 s waits while 20 s runs");
    p.finished(0, true);
    let d = only(&p, 35);
    assert_eq!(runs(&d), vec![(t(30), 2)]);
    assert!(d.skip.is_empty());
}

#[test]
fn a_rerun_held_behind_a_run_sets_no_deadline_until_the_run_ends() {
    // While 20 s runs, the rerun of 30 s waits for that run's end, news and not a time: the
    // next deadline is the job's next new tick (40 s), not 30 s, which is past by then and
    // would have the leader wake, find nothing, and sleep its whole clock recheck. Once the run
    // ends, 30 s is due again.
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    spec.overlap = OverlapPolicy::Forbid;
    let mut p = planner(spec, Some(30), vec![(20, 1), (30, 1)], 25);
    let d = only(&p, 25);
    p.advance(std::slice::from_ref(&d));
    p.began(0);
    assert!(p.poll(t(31)).is_empty());
    assert_eq!(p.next_deadline(), Some(t(40)));
    p.finished(0, true);
    assert_eq!(p.next_deadline(), Some(t(30)));
}

#[test]
fn at_most_once_never_reruns_a_claimed_tick() {
    // The same checkpoint under at-most-once: the tick at 20 s was claimed, so it is gone.
    let p = planner(spec(), Some(20), vec![(20, 1)], 25);
    assert!(p.poll(t(25)).is_empty());
    assert_eq!(p.next_deadline(), Some(t(30)));
}

#[test]
fn at_most_once_claims_before_running_and_drops_only_the_newest_abandoned() {
    let spec = spec().with_misfire(MisfirePolicy::skip());
    let p = planner(spec.clone(), Some(10), vec![], 65);
    let claims = only(&p, 65).claims(&JobId::new("job").unwrap(), &spec);
    assert_eq!(
        claims.len(),
        1,
        "one drop moves the checkpoint past every abandoned tick"
    );
    assert_eq!((claims[0].tick, claims[0].kind), (t(60), ClaimKind::Drop));
}

#[test]
fn a_claim_that_runs_the_newest_tick_still_drops_what_it_gives_up() {
    // Latest keeps only 60 s of the missed 20..60 s: the batch must name the abandoned range
    // (a drop of its newest tick, before the run), or a claim applied while its answer was
    // lost passes over 20..50 s with nothing in the batch to say so.
    let spec = spec().with_misfire(MisfirePolicy::latest());
    let p = planner(spec.clone(), Some(10), vec![], 65);
    let claims = only(&p, 65).claims(&JobId::new("job").unwrap(), &spec);
    let batch: Vec<_> = claims.iter().map(|c| (c.tick, c.kind)).collect();
    assert_eq!(
        batch,
        vec![
            (t(50), ClaimKind::Drop),
            (t(60), ClaimKind::Run { attempt: 1 })
        ]
    );
}

#[test]
fn a_claim_lists_its_ticks_oldest_first_with_one_drop_per_abandoned_range() {
    // An at-least-once re-run (20 s), a range given up past the deadline (40..50 s) and the
    // tick run (60 s): each drop follows the claims of older ticks, so it covers exactly the
    // ticks since them; the re-run is not dropped twice.
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    spec.misfire.starting_deadline = Some(Duration::from_secs(12));
    let p = planner(spec.clone(), Some(30), vec![(20, 1)], 30);
    let d = only(&p, 63);
    let claims = d.claims(&JobId::new("job").unwrap(), &spec);
    let batch: Vec<_> = claims.iter().map(|c| (c.tick, c.kind)).collect();
    assert_eq!(
        batch,
        vec![
            (t(20), ClaimKind::Drop),
            (t(50), ClaimKind::Drop),
            (t(60), ClaimKind::RunThenCommit { attempt: 1 })
        ],
        "{d:?}"
    );
}

#[test]
fn a_never_run_job_starts_from_its_registration_not_its_anchor() {
    let id = JobId::new("job").unwrap();
    let cp = Checkpoint {
        job: id.clone(),
        registered_at: t(35),
        last_claimed: None,
        in_flight: vec![],
    };
    let p = Planner::leaking(vec![(id, spec())], vec![cp], t(35));
    assert_eq!(p.next_deadline(), Some(t(40)));
}

#[test]
fn a_clock_behind_the_checkpoint_waits_instead_of_rerunning() {
    // After a backwards clock jump, "now" is before the checkpoint: nothing is due again.
    let p = planner(spec(), Some(3_600), vec![], 0);
    assert!(p.poll(t(10)).is_empty());
    assert_eq!(p.next_deadline(), Some(t(3_610)));
}

trait WithMisfire {
    fn with_misfire(self, policy: MisfirePolicy) -> Self;
}

impl WithMisfire for JobSpec {
    fn with_misfire(mut self, policy: MisfirePolicy) -> Self {
        self.misfire = policy;
        self
    }
}

fn cron_planner(
    schedule: Schedule,
    misfire: MisfirePolicy,
    since: &str,
    last: &str,
) -> Planner<'static> {
    let id = JobId::new("cron").unwrap();
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    let cp = Checkpoint {
        job: id.clone(),
        registered_at: at("2027-01-01T00:00:00Z"),
        last_claimed: Some(at(last)),
        in_flight: vec![],
    };
    let spec = JobSpec::new(schedule).with_misfire(misfire);
    Planner::leaking(vec![(id, spec)], vec![cp], at(since))
}

#[test]
fn a_three_day_outage_of_a_cron_job_catches_up_the_newest_max_and_counts_the_rest() {
    // `*/15` in New York, last claimed Friday 00:00 UTC, leader from Monday 00:00:01 UTC:
    // 3 days × 96 ticks = 288 missed; `all(10)` runs the newest 10 and reports 278 by count.
    let every_15 = Schedule::cron("*/15 * * * *", "America/New_York").unwrap();
    let p = cron_planner(
        every_15,
        MisfirePolicy::all(10),
        "2027-01-04T00:00:01Z",
        "2027-01-01T00:00:00Z",
    );
    let d = p.poll("2027-01-04T00:00:01Z".parse().unwrap()).remove(0);
    assert_eq!(d.run.len(), 10);
    assert_eq!(d.run[9].at.to_string(), "2027-01-04T00:00:00Z");
    assert_eq!(d.abandon.len(), 1);
    assert_eq!(d.abandon[0].count, 278);
    assert_eq!(d.abandon[0].first.to_string(), "2027-01-01T00:15:00Z");
    assert_eq!(d.abandon[0].reason, AbandonReason::CatchUpLimit);
}

#[test]
fn a_cron_tick_in_a_dst_gap_is_abandoned_with_a_reason_under_gap_skip() {
    use crate::schedule::{DstPolicy, FoldPolicy, GapPolicy};
    let dst = DstPolicy {
        fold: FoldPolicy::Once,
        gap: GapPolicy::Skip,
    };
    let nightly = Schedule::cron_with_dst("30 2 * * *", "Europe/Berlin", dst).unwrap();
    let mut p = cron_planner(
        nightly,
        MisfirePolicy::all(10),
        "2027-03-27T12:00:00Z",
        "2027-03-27T01:30:00Z",
    );
    let gap_tick: Timestamp = "2027-03-28T01:00:00Z".parse().unwrap();
    assert_eq!(p.next_deadline(), Some(gap_tick));
    let d = p.poll(gap_tick).remove(0);
    assert!(d.run.is_empty(), "skipped, not run");
    assert_eq!(d.abandon, vec![single(gap_tick, AbandonReason::DstGap)]);
    p.advance(&[d]);
    assert_eq!(
        p.next_deadline().unwrap().to_string(),
        "2027-03-29T00:30:00Z"
    );
}

fn at_reading(p: &Planner, wall: i64, evidence: i64) -> Decision {
    let reading = crate::clock::Reading {
        wall: t(wall),
        evidence: t(evidence),
        witness_age: std::time::Duration::ZERO,
        witness: t(evidence),
    };
    let mut ds = p.poll_at(reading);
    assert_eq!(ds.len(), 1, "one job, one decision: {ds:?}");
    ds.remove(0)
}

#[test]
fn a_clock_jumped_ahead_runs_ticks_early_and_gives_none_up() {
    // Latest would collapse 20..=90 into 90 if the wall were true; the evidence says only 20 is
    // due, so 20 runs on time and (runs may overlap) 30..=80 early (the 60 s early limit), one
    // per claim (at most once), none abandoned.
    let mut spec = spec();
    spec.misfire = MisfirePolicy {
        catch_up: CatchUp::Latest,
        ..spec.misfire
    };
    spec.overlap = OverlapPolicy::Allow;
    let mut p = planner(spec, Some(10), vec![], 0);
    let d = at_reading(&p, 90, 20);
    assert_eq!(runs(&d), vec![(t(20), 1), (t(30), 1)]);
    let reading = crate::clock::Reading {
        wall: t(90),
        evidence: t(20),
        witness_age: std::time::Duration::ZERO,
        witness: t(20),
    };
    let mut ran = Vec::new();
    while let [d] = &p.poll_at(reading)[..] {
        assert!(d.abandon.is_empty(), "{:?}", d.abandon);
        ran.extend(runs(d));
        p.advance(std::slice::from_ref(d));
    }
    let expected: Vec<_> = (2..=8).map(|k| (t(10 * k), 1)).collect();
    assert_eq!(ran, expected);
}

#[test]
fn a_deadline_is_judged_on_the_evidence_not_the_wall() {
    // Tick 20 is 25 s late by the wall but 1 s by the evidence: within a 5 s deadline, it runs.
    let mut spec = spec();
    spec.misfire.starting_deadline = Some(Duration::from_secs(5));
    let p = planner(spec, Some(10), vec![], 0);
    let d = at_reading(&p, 45, 21);
    assert!(d.abandon.is_empty(), "{:?}", d.abandon);
    assert_eq!(runs(&d)[0], (t(20), 1));
}

#[test]
fn a_reading_that_is_its_own_evidence_decides_as_before() {
    // Without a jump the wall is the evidence: Latest collapses the missed ticks as it always did.
    let mut spec = spec();
    spec.misfire = MisfirePolicy {
        catch_up: CatchUp::Latest,
        ..spec.misfire
    };
    let p = planner(spec, Some(10), vec![], 0);
    let d = at_reading(&p, 90, 90);
    assert_eq!(runs(&d), vec![(t(90), 1)]);
    assert_eq!(d.abandon.len(), 1);
    assert_eq!(d.abandon[0].reason, AbandonReason::Superseded);
}

#[test]
fn early_ticks_that_may_not_overlap_run_one_at_a_time() {
    // Under Forbid a batch of early ticks would queue behind each other and start late: with
    // nothing due by the evidence only the oldest early tick runs; with a due tick, none does.
    let p = planner(spec(), Some(10), vec![], 0);
    let d = at_reading(&p, 90, 15);
    assert_eq!(runs(&d), vec![(t(20), 1)]);
    assert_eq!(d.cursor, t(20));
    let d = at_reading(&p, 90, 20);
    assert_eq!(runs(&d), vec![(t(20), 1)]);
    assert!(d.abandon.is_empty(), "{:?}", d.abandon);
}

#[test]
fn a_decision_says_what_it_decides_and_nothing_else() {
    // The runner keeps a lost claim's ticks until an answered decision decides each: a retry
    // it retires or runs, or a tick past the prior cursor up to the new one. A retry it neither
    // runs nor retires (not due yet) stays undecided.
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    spec.overlap = OverlapPolicy::Replace;
    let p = planner(spec, Some(40), vec![(20, 1), (30, 1)], 25);
    let d = only(&p, 25);
    assert!(d.decides(t(20)), "run again now");
    assert!(!d.decides(t(30)), "not due yet");
    let q = planner(every_10s_at_least_once(), Some(10), vec![], 0);
    let d = only(&q, 30);
    assert!(
        d.decides(t(20)) && d.decides(t(30)),
        "past the prior cursor"
    );
    assert!(!d.decides(t(10)) && !d.decides(t(40)));
}

fn every_10s_at_least_once() -> JobSpec {
    let mut spec = spec();
    spec.delivery = Delivery::AtLeastOnce;
    spec
}

//! The jobs of a drawn world: how many, their schedules (intervals from 100 ms to an hour,
//! log-uniform; cron expressions in DST zones, fixed local times around the world's DST
//! transition), anchors in the past and the future, run times shorter and longer than the period,
//! and every misfire, overlap and delivery policy, with and without a starting deadline.
//!
//! [`fit_budget`] then keeps the world cheap: it slows or thins the busiest job until the whole
//! run schedules at most the size's tick budget. It draws nothing and runs nothing.

use cronfence::{Delivery, OverlapPolicy, Schedule};
use jiff::{SignedDuration, Timestamp};
use toml::Spanned;

use super::dice::Dice;
use super::draw::{ms, Transition};
use super::{timing, Limits, Size};
use crate::scenario::{job_spec, JobEntry, Scenario};

/// Cron expressions that tick in any zone every few seconds to every hour (5 fields, or 6 with
/// a leading seconds field), and fixed local times that tick at most once a day.
const CADENCES: &[&str] = &[
    "*/5 * * * * *",
    "*/15 * * * * *",
    "0,30 * * * * *",
    "0 * * * * *",
    "* * * * *",
    "*/5 * * * *",
    "*/15 * * * *",
    "30 * * * *",
    "0 * * * *",
    "@hourly",
];
const FIXED: &[&str] = &["0 0 * * *", "30 2 * * *", "0 9 * * MON-FRI", "@daily"];
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
];

/// Draws the jobs of a world starting at `start` whose faults start within `window_ms`.
pub(super) fn draw(
    dice: &mut Dice,
    start: Timestamp,
    window_ms: u64,
    dst: Option<&Transition>,
    limits: &Limits,
) -> Vec<JobEntry> {
    let entries = dice.int(1, limits.max_entries);
    let mut left = limits.max_jobs;
    let mut out = Vec::new();
    for i in 0..entries {
        if left == 0 {
            break;
        }
        let count = if dice.chance(70) || left == 1 {
            1
        } else {
            dice.log_uniform(2, u64::from(left.min(limits.max_jobs / 2).max(2))) as u32
        };
        left -= count.min(left);
        out.push(entry(dice, format!("job{i}"), count, start, window_ms, dst));
    }
    out
}

fn entry(
    dice: &mut Dice,
    id: String,
    count: u32,
    start: Timestamp,
    window_ms: u64,
    dst: Option<&Transition>,
) -> JobEntry {
    let mut job = JobEntry {
        id,
        every: None,
        anchor: None,
        cron: None,
        tz: None,
        dst_fold: None,
        dst_gap: None,
        catch_up: Spanned::new(0..0, "all".into()),
        max_catch_up: 100,
        starting_deadline: None,
        overlap: OverlapPolicy::Forbid,
        delivery: Delivery::AtMostOnce,
        run_time: ms(10),
        count: (count > 1).then_some(count),
    };
    let cron_percent = if dst.is_some() { 50 } else { 20 };
    let period_ms = if dice.chance(cron_percent) {
        cron(dice, &mut job, dst)
    } else {
        interval(dice, &mut job, start, window_ms)
    };
    policies(dice, &mut job, period_ms);
    job
}

/// An interval job; returns its interval in ms. Three in four tick often within the fault
/// window; the rest range up to an hour (idle paths).
fn interval(dice: &mut Dice, job: &mut JobEntry, start: Timestamp, window_ms: u64) -> u64 {
    let hi = if dice.chance(75) {
        (window_ms / 2).max(200)
    } else {
        3_600_000
    };
    let every = dice.log_uniform(100, hi);
    job.every = Some(ms(every));
    job.anchor = match dice.weighted(&[40, 25, 15, 20]) {
        0 => None,
        1 => Some(start - ms(dice.int(1, every * 5))),
        2 => Some(
            start
                - SignedDuration::from_secs(dice.int(86_400, 3_650 * 86_400) as i64)
                - ms(dice.int(0, 999)),
        ),
        _ => Some(start + ms(dice.int(0, window_ms))),
    };
    every
}

/// A cron job; returns a nominal period in ms (for run times and deadlines).
fn cron(dice: &mut Dice, job: &mut JobEntry, dst: Option<&Transition>) -> u64 {
    let (expr, zone) = match dst {
        Some(t) if dice.chance(70) => {
            let expr = if dice.chance(60) {
                *dice.pick(t.fixed_times)
            } else {
                *dice.pick(CADENCES)
            };
            (expr, t.zone)
        }
        _ => {
            let expr = if dice.chance(85) {
                *dice.pick(CADENCES)
            } else {
                *dice.pick(FIXED)
            };
            (expr, *dice.pick(ZONES))
        }
    };
    job.cron = Some(Spanned::new(0..0, expr.to_string()));
    job.tz = (zone != "UTC" || dice.chance(50)).then(|| Spanned::new(0..0, zone.to_string()));
    job.dst_fold = match dice.weighted(&[70, 15, 15]) {
        0 => None,
        1 => Some(Spanned::new(0..0, "once".into())),
        _ => Some(Spanned::new(0..0, "both".into())),
    };
    job.dst_gap = match dice.weighted(&[70, 15, 15]) {
        0 => None,
        1 => Some(Spanned::new(0..0, "run_after_gap".into())),
        _ => Some(Spanned::new(0..0, "skip".into())),
    };
    let schedule = job_spec(job, Timestamp::UNIX_EPOCH, None)
        .expect("the explorer's cron expressions and zones are valid")
        .1
        .schedule;
    let probe: Timestamp = "2027-01-04T00:00:00Z".parse().expect("a valid instant");
    match (
        schedule.next_tick(probe),
        schedule
            .next_tick(probe)
            .and_then(|t| schedule.next_tick(t)),
    ) {
        (Some(a), Some(b)) => (b - a).as_millis().max(1) as u64,
        _ => 86_400_000,
    }
}

/// Misfire (all with various max, latest, skip), starting deadline (some), overlap, delivery,
/// and a run time shorter or longer than the period.
fn policies(dice: &mut Dice, job: &mut JobEntry, period_ms: u64) {
    match dice.weighted(&[50, 25, 25]) {
        0 => {
            if dice.chance(50) {
                job.max_catch_up = dice.log_uniform(1, 200) as u32;
            }
        }
        1 => job.catch_up = Spanned::new(0..0, "latest".into()),
        _ => job.catch_up = Spanned::new(0..0, "skip".into()),
    }
    if dice.chance(30) {
        let hi = (period_ms * 3).clamp(200, 3_600_000);
        job.starting_deadline = Some(ms(dice.log_uniform(100, hi)));
    }
    job.overlap = *dice.pick(&[
        OverlapPolicy::Forbid,
        OverlapPolicy::Forbid,
        OverlapPolicy::Allow,
        OverlapPolicy::Replace,
    ]);
    if dice.chance(40) {
        job.delivery = Delivery::AtLeastOnce;
    }
    job.run_time = match dice.weighted(&[15, 60, 25]) {
        0 => ms(10),
        1 => ms(dice.log_uniform(1, period_ms.max(2)) - 1),
        _ => ms(dice
            .log_uniform(period_ms, (period_ms * 3).max(period_ms + 1))
            .min(600_000)),
    };
}

/// Fits the world's timing ([`timing::fit`]) and, while the run schedules more ticks than the
/// size allows, thins or slows the busiest job entry (halves its replicas; doubles its interval
/// with its run time and deadline; drops a cron job, or makes the last one hourly).
pub(super) fn fit_budget(s: &mut Scenario, size: Size) {
    let budget = size.limits().max_ticks;
    for _ in 0..200 {
        timing::fit(s, size);
        let mut counts: Vec<u64> = s.jobs.iter().map(|j| ticks(s, j, budget)).collect();
        // The scenario file's own budget also counts the stretch clock faults may add; a drawn
        // world must load, so it has to fit that bound too.
        let span = s
            .duration
            .saturating_add(crate::scenario::budget::clock_shift(s));
        let bounds: Vec<u64> = s
            .jobs
            .iter()
            .map(|j| crate::scenario::budget::entry_ticks(j, span))
            .collect();
        let fits = counts.iter().sum::<u64>() <= budget
            && bounds.iter().sum::<u64>() <= crate::scenario::budget::MAX_TICKS;
        if fits {
            return;
        }
        if counts.iter().sum::<u64>() <= budget {
            counts = bounds;
        }
        let (busiest, _) = counts
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
            .expect("a world has jobs");
        slow_down(s, busiest);
    }
    timing::fit(s, size);
}

fn slow_down(s: &mut Scenario, i: usize) {
    let entries = s.jobs.len();
    let job = &mut s.jobs[i];
    if let Some(n) = job.count {
        job.count = (n / 2 > 1).then_some(n / 2);
    } else if let Some(every) = job.every {
        job.every = Some(every * 2);
        job.run_time *= 2;
        job.starting_deadline = job.starting_deadline.map(|d| d * 2);
    } else if entries > 1 {
        s.jobs.remove(i);
    } else {
        job.cron = Some(Spanned::new(0..0, "0 * * * *".into()));
    }
}

/// Ticks one job entry schedules during the whole run (replicas counted), counting at most
/// `cap` per replica.
pub(super) fn ticks(s: &Scenario, job: &JobEntry, cap: u64) -> u64 {
    let (_, spec) = job_spec(job, s.start, None).expect("drawn jobs are valid");
    let end = s.start + s.duration;
    let per_replica = match &spec.schedule {
        Schedule::Every { .. } => spec.schedule.due_ticks(s.start, end).len() as u64,
        _ => {
            let mut n = 0;
            let mut at = s.start;
            while let Some(next) = spec.schedule.next_tick(at).filter(|t| *t <= end) {
                n += 1;
                at = next;
                if n > cap {
                    break;
                }
            }
            n
        }
    };
    per_replica.min(cap + 1) * u64::from(job.count.unwrap_or(1))
}

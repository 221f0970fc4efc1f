//! Runs per local day of cron jobs: what the report shows of DST days, and what a scenario's
//! `one_run_per_local_day` expectation judges.
//!
//! For every cron job of a scenario, each local date (in the job's own zone) on which the checked
//! window expects a tick or a tick started gets a row: whether the zone changed its offset that
//! day (a spring gap or an autumn fold), how many ticks the schedule expects that day inside the
//! window, and every distinct tick started, in local time with its UTC instant and the node that
//! ran it first. A fixed-time job under the default DST policy shows one run on a fold or gap day.

use std::collections::BTreeMap;

use cronfence::{NodeEvent, Schedule};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::history::History;
use crate::scenario::Scenario;

/// One cron job's days.
#[derive(Clone, Debug, PartialEq)]
pub struct JobDays {
    /// The job.
    pub job: String,
    /// Its expression.
    pub expr: String,
    /// Its zone.
    pub zone: String,
    /// The days, in order.
    pub days: Vec<Day>,
}

/// One local day of one job.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    /// The local date.
    pub date: Date,
    /// `spring gap (+01:00 → +02:00)` or `autumn fold (...)` when the offset changed that day.
    pub transition: Option<String>,
    /// Ticks the schedule expects that day inside the checked window.
    pub expected: usize,
    /// Distinct ticks started, in order.
    pub runs: Vec<Run>,
}

/// One distinct tick started on a local day.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The tick's id (its UTC instant).
    pub tick: Timestamp,
    /// `02:30 CEST (00:30:00Z) on node-1`: local time, UTC, and the node that started it first.
    pub label: String,
}

/// The days of every cron job of `scenario` in `history`.
pub fn local_days(scenario: &Scenario, history: &History) -> Vec<JobDays> {
    let from = scenario.start + scenario.check.warmup;
    let to = scenario.start + scenario.duration - scenario.check.cooldown;
    let mut first: BTreeMap<(&str, Timestamp), &str> = BTreeMap::new();
    for (record, event) in history.node_events() {
        if let NodeEvent::TickStarted { job, tick, .. } = event {
            first.entry((job.as_str(), *tick)).or_insert(&record.node);
        }
    }
    let mut out = Vec::new();
    for (job, (spec, _)) in scenario.job_specs() {
        let Schedule::Cron { expr, tz, .. } = &spec.schedule else {
            continue;
        };
        let zone = tz.time_zone();
        let date = |t: Timestamp| zone.to_offset(t).to_datetime(t).date();
        let mut days: BTreeMap<Date, Day> = BTreeMap::new();
        for tick in spec
            .schedule
            .due_ticks(from - SignedDuration::from_nanos(1), to)
        {
            day_of(&mut days, zone, date(tick)).expected += 1;
        }
        let runs = first
            .range((job.as_str(), Timestamp::MIN)..)
            .take_while(|((j, _), _)| *j == job.as_str());
        for (&(_, tick), node) in runs {
            let local = tick.to_zoned_datetime(zone.clone());
            let label = format!(
                "{} ({}) on {node}",
                local.strftime("%H:%M:%S %Z"),
                tick.strftime("%H:%M:%SZ")
            );
            day_of(&mut days, zone, date(tick))
                .runs
                .push(Run { tick, label });
        }
        out.push(JobDays {
            job: job.to_string(),
            expr: expr.as_str().to_string(),
            zone: tz.name().to_string(),
            days: days.into_values().collect(),
        });
    }
    out
}

/// The row of date `d`, made empty if new.
fn day_of<'a>(days: &'a mut BTreeMap<Date, Day>, zone: &TimeZone, d: Date) -> &'a mut Day {
    days.entry(d).or_insert_with(|| Day {
        date: d,
        transition: transition(zone, d),
        expected: 0,
        runs: Vec::new(),
    })
}

/// The offset change on local date `d` in `zone`, if any.
fn transition(zone: &TimeZone, d: Date) -> Option<String> {
    let start = d.to_zoned_datetime(zone.clone()).ok()?;
    let next = d.tomorrow().ok()?.to_zoned_datetime(zone.clone()).ok()?;
    let (before, after) = (start.offset(), next.offset());
    if before == after {
        return None;
    }
    let kind = if after > before {
        "spring gap"
    } else {
        "autumn fold"
    };
    Some(format!("{kind} ({before} → {after})"))
}

//! Checking the `[[jobs]]` entries: each entry's own values (located at their keys), its job
//! definition ([`super::job_spec`]), ids unique across entries and their `count` replicas, cron
//! expressions that fire at all, and what the go-micro model can run.
//!
//! Budgets over all jobs together (how many jobs, how many ticks) are [`super::budget`]'s.

use std::collections::BTreeMap;

use super::locate::{Place, Refusal};
use super::validate::{not_negative, positive, within_budget, Invalid};
use super::{job_spec, JobEntry, Scenario};

/// Checks every `[[jobs]]` entry and that no two define the same job id.
pub(super) fn check_jobs(s: &Scenario) -> Result<(), Refusal> {
    // Job id -> the index of the entry that defined it first.
    let mut defined: BTreeMap<String, usize> = BTreeMap::new();
    let zone = s.node.zones.first().map(String::as_str);
    for (i, job) in s.jobs.iter().enumerate() {
        check_entry(i, job)?;
        let (ids, spec) = job_spec(job, s.start, zone).map_err(|e| in_entry(i, job, e))?;
        for id in ids {
            if let Some(first) = defined.insert(id.to_string(), i) {
                return Err(duplicate(i, job, &id.to_string(), first, &s.jobs[first]));
            }
        }
        if let Some(expr) = &job.cron {
            if s.go_micro.is_some() {
                return Err(Refusal {
                    place: Place::Span(expr.span()),
                    message: "the go-micro model runs interval jobs only (`sync.Cron` ticks every `Interval`)".into(),
                    hint: "give the job `every = \"...\"` instead of `cron`, or remove [go_micro]".into(),
                });
            }
            if spec.schedule.next_tick(s.start).is_none() {
                return Err(Refusal {
                    place: Place::Span(expr.span()),
                    message: format!(
                        "job `{}`: cron `{}` never fires (no date matches it, e.g. the 31st of February)",
                        job.id,
                        expr.get_ref()
                    ),
                    hint: "fix the day-of-month, month or day-of-week field so some date matches".into(),
                });
            }
        }
    }
    Ok(())
}

/// The values of one entry that the job definition would refuse without a location, or
/// would accept though the run cannot honour them.
fn check_entry(i: usize, job: &JobEntry) -> Result<(), Refusal> {
    let key = |k: &str| format!("jobs.{i}.{k}");
    if let Err(e) = cronfence::JobId::new(job.id.clone()) {
        return Err(Refusal::at(
            key("id"),
            e.to_string(),
            "job ids use letters, digits and ._:-",
        ));
    }
    if job.count == Some(0) {
        return Err(Refusal::at(
            key("count"),
            format!("job `{}`: count = 0 defines no job", job.id),
            "use count = 1 or more, or remove the entry",
        ));
    }
    if let Some(every) = job.every {
        positive(&key("every"), every, "every = \"1s\"")
            .map_err(|r| prefixed(job, r, "interval"))?;
    }
    if let Some(deadline) = job.starting_deadline {
        not_negative(
            &key("starting_deadline"),
            deadline,
            "starting_deadline = \"30s\"",
        )?;
    }
    not_negative(&key("run_time"), job.run_time, "run_time = \"100ms\"")?;
    within_budget(&key("run_time"), job.run_time)
}

/// A job-definition refusal located at its span, else at the entry.
fn in_entry(i: usize, job: &JobEntry, (span, message, hint): Invalid) -> Refusal {
    Refusal {
        place: span.map_or(Place::Key(format!("jobs.{i}")), Place::Span),
        message: format!("job `{}`: {message}", job.id),
        hint: hint.into(),
    }
}

fn prefixed(job: &JobEntry, mut r: Refusal, what: &str) -> Refusal {
    r.message = format!("job `{}`: the {what} {}", job.id, r.message);
    r
}

fn duplicate(i: usize, job: &JobEntry, id: &str, first: usize, earlier: &JobEntry) -> Refusal {
    let replicas = |e: &JobEntry| match e.count {
        Some(n) => format!("id = \"{0}\", count = {n}: {0}-0 .. {0}-{1}", e.id, n - 1),
        None => format!("id = \"{}\"", e.id),
    };
    Refusal::at(
        format!("jobs.{i}.id"),
        format!(
            "job id `{id}` is defined twice: by [[jobs]] entry {} ({}) and by entry {} ({})",
            first + 1,
            replicas(earlier),
            i + 1,
            replicas(job)
        ),
        "give every job a unique id (`count` replicas of `a` are named a-0, a-1, ...)",
    )
}

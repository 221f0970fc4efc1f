//! Judging a verdict against a scenario's `[expect]` section.
//!
//! `outcome = "pass"` demands no violation at all; `outcome = "violations"` demands that every
//! listed violation kind appears (a pitfall scenario fails if its violation disappears);
//! `outcome = "known_bug"` demands that a seed shows no violation but the listed kinds, and
//! [`known_bug_shown`] that some seed of the scenario shows one (a known bug of the core, named
//! with the issue that fixes it, must not vanish unnoticed);
//! `records` and `no_records` demand that events do or do not appear in the history (a silent
//! hang is one that records no error); `excused` that an excuse of each listed kind was given; `one_run_per_local_day` demands that every cron job started
//! exactly one tick on each local day (in its own zone) of the checked window (the DST scenarios);
//! `takeover_at_most` demands that every stopped or crashed leader is succeeded within a bound
//! ([`crate::takeover`]).
//! The explanation of a mismatch lists the findings, so a failing test says what happened.

use std::fmt::Write;

use crate::check::{Finding, Verdict};
use crate::history::History;
use crate::scenario::Scenario;

/// `Ok` when `verdict` and `history` are what `scenario` expects; otherwise why not.
pub fn judge(scenario: &Scenario, verdict: &Verdict, history: &History) -> Result<(), String> {
    judge_verdict(scenario, verdict)?;
    let recorded = |name: &str| {
        history.records.iter().any(|r| {
            serde_json::to_value(&r.what)
                .ok()
                .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(|e| e == name))
                .unwrap_or(false)
        })
    };
    if let Some(missing) = scenario.expect.records.iter().find(|e| !recorded(e)) {
        return Err(format!(
            "expected a `{missing}` event in the history; there is none"
        ));
    }
    if let Some(present) = scenario.expect.no_records.iter().find(|e| recorded(e)) {
        return Err(format!(
            "expected no `{present}` event in the history; there is one"
        ));
    }
    if let Some(missing) = scenario
        .expect
        .excused
        .iter()
        .find(|k| !verdict.excused.iter().any(|f| &f.kind == *k))
    {
        return Err(format!("expected an excused `{missing}`; none was given"));
    }
    if scenario.expect.one_run_per_local_day {
        one_run_per_local_day(scenario, history)?;
    }
    if let Some(bound) = scenario.expect.takeover_at_most {
        crate::takeover::judge(history, bound.unsigned_abs())?;
    }
    Ok(())
}

/// Every cron job: the distinct ticks started, grouped by local date in the job's zone, are
/// exactly one per date on which the checked window expects a tick.
fn one_run_per_local_day(scenario: &Scenario, history: &History) -> Result<(), String> {
    for job in crate::local_days::local_days(scenario, history) {
        let due: Vec<_> = job.days.iter().filter(|d| d.expected > 0).collect();
        if due.is_empty() {
            return Err(format!(
                "job `{}` expects no tick in the checked window",
                job.job
            ));
        }
        if let Some(day) = due.iter().find(|d| d.runs.len() != 1) {
            let ticks: Vec<_> = day.runs.iter().map(|r| r.tick).collect();
            return Err(format!(
                "job `{}` ran {} times on local day {} in {} (ticks {ticks:?}); expected exactly once",
                job.job,
                day.runs.len(),
                day.date,
                job.zone
            ));
        }
    }
    Ok(())
}

/// For a `known_bug` scenario, `Err` when none of its seeds' verdicts shows a listed kind: the
/// bug no longer shows, and the scenario should expect `pass`.
pub fn known_bug_shown<'a>(
    scenario: &Scenario,
    verdicts: impl IntoIterator<Item = &'a Verdict>,
) -> Result<(), String> {
    if scenario.expect.outcome.get_ref() != "known_bug" {
        return Ok(());
    }
    let listed = &scenario.expect.violations;
    let shown = verdicts
        .into_iter()
        .any(|v| v.violations.iter().any(|f| listed.contains(&f.kind)));
    if shown {
        Ok(())
    } else {
        Err(format!(
            "the known bug ({}) no longer shows {listed:?} on any seed: if it was fixed, expect \"pass\"",
            scenario.expect.known_bug.as_deref().unwrap_or("?")
        ))
    }
}

fn judge_verdict(scenario: &Scenario, verdict: &Verdict) -> Result<(), String> {
    match scenario.expect.outcome.get_ref().as_str() {
        "pass" if verdict.passed() => Ok(()),
        "pass" => Err(format!(
            "expected no violation, found:\n{}",
            list(&verdict.violations)
        )),
        "known_bug" => {
            let listed = &scenario.expect.violations;
            let other: Vec<Finding> = verdict
                .violations
                .iter()
                .filter(|f| !listed.contains(&f.kind))
                .cloned()
                .collect();
            if other.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "expected no violation but the known bug's {listed:?} ({}), found:\n{}",
                    scenario.expect.known_bug.as_deref().unwrap_or("known bug"),
                    list(&other)
                ))
            }
        }
        _ => {
            let missing: Vec<&String> = scenario
                .expect
                .violations
                .iter()
                .filter(|kind| !verdict.violations.iter().any(|f| &f.kind == *kind))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "expected violations {missing:?} did not occur; found:\n{}",
                    list(&verdict.violations)
                ))
            }
        }
    }
}

/// The findings, one per line: at most five of each checker and kind, then a count of the rest
/// of that kind, so one flood of a kind cannot hide the others.
pub fn list(findings: &[Finding]) -> String {
    let mut out = String::new();
    let mut kinds: Vec<(crate::check::Checker, &str)> = Vec::new();
    for f in findings {
        if !kinds.contains(&(f.checker, f.kind.as_str())) {
            kinds.push((f.checker, f.kind.as_str()));
        }
    }
    for (checker, kind) in kinds {
        let of_kind: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.checker == checker && f.kind == kind)
            .collect();
        for f in of_kind.iter().take(5) {
            let what = match (&f.job, f.tick) {
                (Some(job), Some(tick)) => format!("{job}@{tick} "),
                (Some(job), None) => format!("{job} "),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  - {:?}/{}: {what}{} (nodes {:?}, tokens {:?}, records {:?})",
                f.checker, f.kind, f.detail, f.nodes, f.tokens, f.records
            );
        }
        if of_kind.len() > 5 {
            let _ = writeln!(out, "  … and {} more {checker:?}/{kind}", of_kind.len() - 5);
        }
    }
    if findings.is_empty() {
        out.push_str("  (none)\n");
    }
    out
}

//! The backend regression check: each scenario's outcome compared with a committed baseline.
//!
//! A baseline (`reports/baselines/<backend>.toml`, written by `cronfence regress --bless`) holds,
//! per scenario, the seeds run, whether they met the expectation, the violation count of each
//! checker, excused ticks, ticks run, failovers, and the takeover and lateness percentiles,
//! plus the tolerances used to compare them. [`compare`] reports every difference as a
//! [`Change`]: a **regression** when an outcome flips (expectation met → not met, a checker
//! passing → violated or back), when a count moves by more than
//! `max(count_abs, count_rel × baseline)`, or when a time gets worse by more than
//! `max(ms_abs, ms_rel × baseline)`; an **improvement** when a time gets better by as much. The
//! simulator is deterministic, so a baseline only moves when the code or a scenario does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::check::Checker;
use crate::report::summary::Row;

/// One backend's committed baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The backend the outcomes were measured on.
    pub backend: String,
    /// How far an outcome may move before it counts as changed.
    #[serde(default)]
    pub tolerance: Tolerance,
    /// Outcomes by scenario name.
    pub scenarios: BTreeMap<String, Outcome>,
}

/// How far an outcome may move before it counts as changed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Counts may move by this many...
    pub count_abs: u64,
    /// ...or by this fraction of the baseline, whichever is larger.
    pub count_rel: f64,
    /// Times may get worse by this many milliseconds...
    pub ms_abs: f64,
    /// ...or by this fraction of the baseline, whichever is larger.
    pub ms_rel: f64,
    /// `false`: only the guarantees are judged (expectation met, each checker passing or not);
    /// measurements that move beyond the tolerances are notes. For real time, where which node
    /// leads when a fault strikes is luck, so failover counts and takeovers are not repeatable.
    #[serde(default = "yes")]
    pub measurements: bool,
}

fn yes() -> bool {
    true
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            count_abs: 2,
            count_rel: 0.10,
            ms_abs: 500.0,
            ms_rel: 0.25,
            measurements: true,
        }
    }
}

impl Tolerance {
    /// The default for a real-time backend (`etcd`): the guarantees are judged, measurements
    /// moving beyond counts ±max(3, 20%) or times max(2 s, 50%) are notes (`measurements =
    /// false`), since real time does not repeat which node leads when a fault strikes.
    pub fn real_time() -> Self {
        Tolerance {
            count_abs: 3,
            count_rel: 0.20,
            ms_abs: 2_000.0,
            ms_rel: 0.50,
            measurements: false,
        }
    }
}

/// One scenario's outcome on one backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The seeds run.
    pub seeds: Vec<u64>,
    /// Every seed met the scenario's expectation.
    pub as_expected: bool,
    /// No-duplicate violations, summed over seeds.
    pub no_duplicate: u64,
    /// No-gap violations.
    pub no_gap: u64,
    /// Fencing violations.
    pub fencing: u64,
    /// Liveness violations (absent in baselines written before the liveness checker).
    #[serde(default)]
    pub liveness: u64,
    /// Excused ticks.
    pub excused: u64,
    /// Ticks run.
    pub ticks_run: u64,
    /// Failovers.
    pub failovers: u64,
    /// Takeover p99 over every failover (old leadership lost → new leader won), ms (0 without
    /// failovers). Read from a baseline's older `failover_gap_p99_ms` too (lost → first start,
    /// a different measure: bless again to compare like with like).
    #[serde(alias = "failover_gap_p99_ms")]
    pub takeover_p99_ms: f64,
    /// Largest takeover, ms (older baselines: `failover_gap_max_ms`).
    #[serde(alias = "failover_gap_max_ms")]
    pub takeover_max_ms: f64,
    /// Worst per-seed median lateness, ms.
    pub lateness_p50_ms: f64,
    /// Worst per-seed p99 lateness, ms.
    pub lateness_p99_ms: f64,
    /// Largest lateness, ms.
    pub lateness_max_ms: f64,
}

impl From<&Row> for Outcome {
    fn from(row: &Row) -> Self {
        let v = |c| row.violations.get(&c).copied().unwrap_or(0);
        let takeover = row.takeover_ms;
        let ms = |x: f64| (x * 10.0).round() / 10.0;
        Outcome {
            seeds: row.seeds.clone(),
            as_expected: row.as_expected,
            no_duplicate: v(Checker::NoDuplicate),
            no_gap: v(Checker::NoGap),
            fencing: v(Checker::Fencing),
            liveness: v(Checker::Liveness),
            excused: row.excused,
            ticks_run: row.ticks_run,
            failovers: row.failovers,
            takeover_p99_ms: ms(takeover.map_or(0.0, |t| t.p99)),
            takeover_max_ms: ms(takeover.map_or(0.0, |t| t.max)),
            lateness_p50_ms: ms(row.lateness_ms.p50),
            lateness_p99_ms: ms(row.lateness_ms.p99),
            lateness_max_ms: ms(row.lateness_ms.max),
        }
    }
}

/// Whether a change fails the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails the check.
    Regression,
    /// Better than the baseline by more than the tolerance; `--bless` to lock it in.
    Improvement,
    /// A measurement moved beyond its tolerance where measurements are not judged.
    Note,
}

/// One difference from the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Regression or improvement.
    pub severity: Severity,
    /// The scenario.
    pub scenario: String,
    /// What changed, e.g. `no_gap violations 0 → 3 (verdict pass → violated)`.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Regression => "REGRESSION",
            Severity::Improvement => "improved  ",
            Severity::Note => "note      ",
        };
        write!(f, "{tag} {}: {}", self.scenario, self.what)
    }
}

/// Compares `rows` (one backend's) with `baseline`. With `complete`, a baseline scenario that did
/// not run is a regression too (it was removed or failed to load).
pub fn compare(baseline: &Baseline, rows: &[Row], complete: bool) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut seen = Vec::new();
    for row in rows {
        seen.push(row.scenario.as_str());
        let now = Outcome::from(row);
        let mut push = |severity, what: String| {
            changes.push(Change {
                severity,
                scenario: row.scenario.clone(),
                what,
            })
        };
        match baseline.scenarios.get(&row.scenario) {
            None => push(
                Severity::Regression,
                "not in the baseline; run `cronfence regress --bless` to add it".into(),
            ),
            Some(old) => {
                for (severity, what) in differences(old, &now, baseline.tolerance) {
                    push(severity, what);
                }
            }
        }
    }
    if complete {
        for name in baseline.scenarios.keys() {
            if !seen.contains(&name.as_str()) {
                changes.push(Change {
                    severity: Severity::Regression,
                    scenario: name.clone(),
                    what: "in the baseline but did not run (removed, renamed or failed to load)"
                        .into(),
                });
            }
        }
    }
    changes.sort_by(|a, b| (a.severity, &a.scenario).cmp(&(b.severity, &b.scenario)));
    changes
}

/// Every difference between one scenario's baseline and current outcome.
fn differences(old: &Outcome, new: &Outcome, tol: Tolerance) -> Vec<(Severity, String)> {
    use Severity::*;
    let mut out = Vec::new();
    if old.seeds != new.seeds {
        out.push((
            Regression,
            format!(
                "ran seeds {:?}, the baseline has {:?}; compare like with like or bless",
                new.seeds, old.seeds
            ),
        ));
        return out;
    }
    if old.as_expected != new.as_expected {
        let (severity, what) = if new.as_expected {
            (Improvement, "now meets its expectation")
        } else {
            (Regression, "no longer meets its expectation")
        };
        out.push((severity, what.to_string()));
    }
    let verdict = |n: u64| if n == 0 { "pass" } else { "violated" };
    let (worse, better) = if tol.measurements {
        (Regression, Improvement)
    } else {
        (Note, Note)
    };
    let counts = [
        (
            "no_duplicate violations",
            old.no_duplicate,
            new.no_duplicate,
            true,
        ),
        ("no_gap violations", old.no_gap, new.no_gap, true),
        ("fencing violations", old.fencing, new.fencing, true),
        ("liveness violations", old.liveness, new.liveness, true),
        ("excused ticks", old.excused, new.excused, false),
        ("ticks run", old.ticks_run, new.ticks_run, false),
        ("failovers", old.failovers, new.failovers, false),
    ];
    for (name, was, is, is_verdict) in counts {
        if is_verdict && (was == 0) != (is == 0) {
            out.push((
                Regression,
                format!(
                    "{name} {was} → {is} (verdict {} → {})",
                    verdict(was),
                    verdict(is)
                ),
            ));
            continue;
        }
        let allowed = tol
            .count_abs
            .max((tol.count_rel * was as f64).ceil() as u64);
        if was.abs_diff(is) > allowed {
            out.push((worse, format!("{name} {was} → {is} (allowed ±{allowed})")));
        }
    }
    let times = [
        ("takeover p99", old.takeover_p99_ms, new.takeover_p99_ms),
        ("takeover max", old.takeover_max_ms, new.takeover_max_ms),
        ("lateness p50", old.lateness_p50_ms, new.lateness_p50_ms),
        ("lateness p99", old.lateness_p99_ms, new.lateness_p99_ms),
        ("lateness max", old.lateness_max_ms, new.lateness_max_ms),
    ];
    for (name, was, is) in times {
        let allowed = tol.ms_abs.max(tol.ms_rel * was.abs());
        if is > was + allowed {
            out.push((
                worse,
                format!(
                    "{name} {was:.0} ms → {is:.0} ms (allowed up to {:.0} ms)",
                    was + allowed
                ),
            ));
        } else if is < was - allowed {
            out.push((
                better,
                format!("{name} {was:.0} ms → {is:.0} ms; `--bless` to lock it in"),
            ));
        }
    }
    out
}

/// The baseline written for `rows` on `backend`: `previous` (when there is one) keeps its
/// tolerances and, unless `complete`, the scenarios that did not run; a new baseline gets the
/// default tolerances, or [`Tolerance::real_time`] for `etcd`.
pub fn bless(backend: &str, rows: &[Row], previous: Option<Baseline>, complete: bool) -> Baseline {
    let mut baseline = previous.unwrap_or_else(|| Baseline {
        backend: backend.to_string(),
        tolerance: match backend {
            "etcd" => Tolerance::real_time(),
            _ => Tolerance::default(),
        },
        scenarios: BTreeMap::new(),
    });
    if complete {
        baseline.scenarios.clear();
    }
    for row in rows {
        baseline
            .scenarios
            .insert(row.scenario.clone(), Outcome::from(row));
    }
    baseline
}

/// The baseline file of `backend` in `dir`.
pub fn path(dir: &Path, backend: &str) -> std::path::PathBuf {
    dir.join(format!("{backend}.toml"))
}

/// Reads a baseline; `Ok(None)` when the file does not exist.
pub fn read(file: &Path) -> anyhow::Result<Option<Baseline>> {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a valid baseline", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
    }
}

/// Writes a baseline, with a header saying where it comes from.
pub fn write(file: &Path, baseline: &Baseline) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let body = toml::to_string(baseline).context("serialising the baseline")?;
    let text = format!(
        "# Baseline of the backend regression check, written by `cronfence regress --bless`.\n\
         # `cronfence regress` compares every scenario's outcome with this file; see\n\
         # reports/README.md for the fields and how the tolerances apply.\n\n{body}"
    );
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}

#[cfg(test)]
mod tests;

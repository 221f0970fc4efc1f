//! The report's summary: one row per scenario and backend, aggregated over its seeds, written as
//! `summary.json` (schema in `reports/README.md`) and `summary.md` (the same table for CI logs and
//! pull requests).
//!
//! A row says whether every seed met the scenario's expectation, how many violations each checker
//! found, and the measurements: failovers with their takeover and first-run times, lateness,
//! ticks run, excused ticks. Aggregation over seeds is simple and stated: counts are sums, `max`
//! is the largest over all seeds, the takeover and first-run percentiles are taken over every
//! failover of every seed, and the lateness p50 and p99 are the worst (largest) per-seed values. Nothing here reads the clock, so the same
//! runs give the same summary, byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::check::{nearest_rank, Checker, Verdict};
use crate::scenario::Loaded;
use crate::suite::LoadFailure;

/// The version of the `summary.json` layout; bumped on any incompatible change (2: the failover
/// gap became `takeover_ms` and `first_run_ms`).
pub const SCHEMA_VERSION: u32 = 2;

/// The whole summary of one report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// How many simulated runs (scenario × backend × seed) were made.
    pub runs: u64,
    /// Rows whose every seed met the scenario's expectation.
    pub as_expected: u64,
    /// Rows with at least one seed that did not, as `scenario/backend`.
    pub unexpected: Vec<String>,
    /// Scenario files that failed to load (they did not run).
    pub load_failures: Vec<LoadFailure>,
    /// One row per scenario and backend, in scenario then backend order.
    pub rows: Vec<Row>,
}

/// One scenario on one backend, over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The scenario's name (its file stem).
    pub scenario: String,
    /// The scenario file, as given.
    pub path: String,
    /// The backend: `memory`, `etcd-sim`, or `etcd` (real servers, real time).
    pub backend: String,
    /// The seeds run.
    pub seeds: Vec<u64>,
    /// What the scenario expects: `pass` or `violations`.
    pub expected: String,
    /// True when every seed met the expectation.
    pub as_expected: bool,
    /// Seeds that did not, each with why.
    pub unexpected_seeds: BTreeMap<u64, String>,
    /// Violations per checker, summed over seeds (every checker is present).
    pub violations: BTreeMap<Checker, u64>,
    /// Excused ticks (did not run, for a reason the history gives), summed.
    pub excused: u64,
    /// At-least-once re-runs the contract allows, summed.
    pub reruns: u64,
    /// Ticks run: first starts of ticks inside the checked window, summed.
    pub ticks_run: u64,
    /// Failovers (new leaderships whose predecessor ended), summed.
    pub failovers: u64,
    /// Takeover times (old leadership lost to new leader won), over every failover of every
    /// seed; `None` without failovers.
    pub takeover_ms: Option<Spread>,
    /// First-run times (old leadership lost to the new leader's first start; as long as the
    /// schedule's next tick when nothing was due), over every failover that started something;
    /// `None` when none did.
    pub first_run_ms: Option<Spread>,
    /// Lateness of first starts: the worst per-seed p50 and p99, and the largest.
    pub lateness_ms: Spread,
}

/// Percentiles of a measurement, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The nearest-rank percentiles of `values`; `None` for no values.
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.sort_by(f64::total_cmp);
        Some(Spread {
            p50: nearest_rank(&values, 50),
            p99: nearest_rank(&values, 99),
            max: *values.last()?,
        })
    }
}

/// One seed's outcome, as a row needs it.
#[derive(Clone, Copy, Debug)]
pub struct SeedOutcome<'a> {
    /// The seed.
    pub seed: u64,
    /// What the checkers found.
    pub verdict: &'a Verdict,
    /// Whether it met the expectation.
    pub judged: &'a Result<(), String>,
}

impl Row {
    /// The row of `loaded` on `backend` over `seeds`.
    pub fn new(loaded: &Loaded, backend: &str, seeds: &[SeedOutcome<'_>]) -> Row {
        let mut violations: BTreeMap<Checker, u64> = [
            Checker::NoDuplicate,
            Checker::NoGap,
            Checker::Fencing,
            Checker::Liveness,
        ]
        .into_iter()
        .map(|c| (c, 0))
        .collect();
        let (mut takeovers, mut first_runs) = (Vec::new(), Vec::new());
        let (mut excused, mut reruns, mut ticks_run, mut failovers) = (0, 0, 0, 0);
        let mut lateness = Spread {
            p50: 0.0,
            p99: 0.0,
            max: 0.0,
        };
        for (i, s) in seeds.iter().enumerate() {
            for finding in &s.verdict.violations {
                *violations.entry(finding.checker).or_default() += 1;
            }
            excused += s.verdict.excused.len() as u64;
            reruns += s.verdict.reruns.len() as u64;
            let t = &s.verdict.timeliness;
            ticks_run += t.starts;
            failovers += t.failovers.len() as u64;
            takeovers.extend(t.failovers.iter().map(|f| f.takeover_ms));
            first_runs.extend(t.failovers.iter().filter_map(|f| f.first_run_ms));
            let worst = |a: f64, b: f64| if i == 0 { b } else { a.max(b) };
            lateness = Spread {
                p50: worst(lateness.p50, t.lateness_p50_ms),
                p99: worst(lateness.p99, t.lateness_p99_ms),
                max: worst(lateness.max, t.lateness_max_ms),
            };
        }
        Row {
            scenario: loaded.name.clone(),
            path: loaded.path.display().to_string(),
            backend: backend.to_string(),
            seeds: seeds.iter().map(|s| s.seed).collect(),
            expected: loaded.scenario.expect.outcome.get_ref().clone(),
            as_expected: seeds.iter().all(|s| s.judged.is_ok())
                && crate::expect::known_bug_shown(
                    &loaded.scenario,
                    seeds.iter().map(|s| s.verdict),
                )
                .is_ok(),
            unexpected_seeds: seeds
                .iter()
                .filter_map(|s| s.judged.as_ref().err().map(|why| (s.seed, why.clone())))
                .collect(),
            violations,
            excused,
            reruns,
            ticks_run,
            failovers,
            takeover_ms: Spread::of(takeovers),
            first_run_ms: Spread::of(first_runs),
            lateness_ms: lateness,
        }
    }

    /// The row's key, `scenario/backend`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.scenario, self.backend)
    }

    /// Violations of every checker together.
    pub fn violated(&self) -> u64 {
        self.violations.values().sum()
    }
}

impl Summary {
    /// The summary of `rows`, plus the files that failed to load.
    pub fn new(rows: Vec<Row>, load_failures: Vec<LoadFailure>) -> Summary {
        Summary {
            schema_version: SCHEMA_VERSION,
            runs: rows.iter().map(|r| r.seeds.len() as u64).sum(),
            as_expected: rows.iter().filter(|r| r.as_expected).count() as u64,
            unexpected: rows
                .iter()
                .filter(|r| !r.as_expected)
                .map(Row::key)
                .collect(),
            load_failures,
            rows,
        }
    }

    /// True when every row met its expectation and every file loaded.
    pub fn all_as_expected(&self) -> bool {
        self.unexpected.is_empty() && self.load_failures.is_empty()
    }

    /// `summary.json`: pretty-printed, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a summary serialises");
        json.push('\n');
        json
    }

    /// `summary.md`: a headline and the table.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# cronfence failover report\n\n{} of {} scenario × backend rows as expected, {} runs.\n",
            self.as_expected,
            self.rows.len(),
            self.runs
        );
        md.push_str(
            "| scenario | backend | seeds | expected | result | no duplicate | no gap | fencing \
             | liveness | failovers | takeover p99 / max | first run p99 / max | lateness p99 / max \
             | ticks run | excused | violated |\n\
             |---|---|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in &self.rows {
            let checker = |c| match row.violations.get(&c).copied().unwrap_or(0) {
                0 => "ok".to_string(),
                n => format!("✗ {n}"),
            };
            let spread = |s: Option<Spread>| {
                s.map_or("–".to_string(), |s| {
                    format!("{} / {}", secs(s.p99), secs(s.max))
                })
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
                row.scenario,
                row.backend,
                row.seeds.len(),
                row.expected,
                if row.as_expected {
                    "as expected".to_string()
                } else {
                    format!("**UNEXPECTED** (seeds {:?})", row.unexpected_seeds.keys())
                },
                checker(Checker::NoDuplicate),
                checker(Checker::NoGap),
                checker(Checker::Fencing),
                checker(Checker::Liveness),
                row.failovers,
                spread(row.takeover_ms),
                spread(row.first_run_ms),
                secs(row.lateness_ms.p99),
                secs(row.lateness_ms.max),
                row.ticks_run,
                row.excused,
                row.violated(),
            );
        }
        for failure in &self.load_failures {
            let _ = writeln!(
                md,
                "\n**{} did not load:** {}",
                failure.path,
                failure.error.replace('\n', " ")
            );
        }
        md
    }
}

/// Milliseconds as seconds with one decimal, e.g. `1.2 s`.
pub fn secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

//! Failover reports: the suite's runs turned into `index.html`, `summary.md` and `summary.json`.
//!
//! [`Report::new`] groups the finished runs by scenario and backend into summary rows
//! ([`summary`]) and picks the seed each section draws; [`Report::write`] writes the three files
//! into a run folder. The page ([`html`]) and its timelines ([`timeline`]) are pure functions of
//! the runs, so the same runs give the same files.

pub mod html;
pub mod summary;
pub mod timeline;

#[cfg(madsim)]
pub use build::Report;

#[cfg(madsim)]
mod build {
    use std::path::{Path, PathBuf};

    use anyhow::Context;

    use super::html::{self, Section};
    use super::summary::{Row, SeedOutcome, Summary};
    use crate::suite::{CaseRun, LoadFailure};

    /// A report, ready to write.
    pub struct Report {
        /// The summary.
        pub summary: Summary,
        /// `index.html`.
        pub html: String,
    }

    impl Report {
        /// The report of `runs` (in case order, as [`crate::suite::run`] returns them).
        pub fn new(runs: &[CaseRun], load_failures: Vec<LoadFailure>) -> Report {
            let groups = group(runs);
            let rows: Vec<Row> = groups
                .iter()
                .map(|g| {
                    let seeds: Vec<SeedOutcome<'_>> = g
                        .iter()
                        .map(|r| SeedOutcome {
                            seed: r.case.seed,
                            verdict: &r.run.verdict,
                            judged: &r.judged,
                        })
                        .collect();
                    Row::new(&g[0].case.loaded, &g[0].case.backend.to_string(), &seeds)
                })
                .collect();
            let summary = Summary::new(rows, load_failures);
            let sections: Vec<Section<'_>> = groups
                .iter()
                .zip(&summary.rows)
                .map(|(g, row)| section(g, row))
                .collect();
            let html = html::page(&summary, &sections);
            Report { summary, html }
        }

        /// Writes `index.html`, `summary.md` and `summary.json` into `dir` (created if needed);
        /// returns the page's path.
        pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let files = [
                ("index.html", self.html.as_str()),
                ("summary.md", &self.summary.to_markdown()),
                ("summary.json", &self.summary.to_json()),
            ];
            for (name, text) in files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(dir.join("index.html"))
        }
    }

    /// Consecutive runs of the same scenario file and backend.
    fn group(runs: &[CaseRun]) -> Vec<&[CaseRun]> {
        runs.chunk_by(|a, b| {
            a.case.loaded.path == b.case.loaded.path && a.case.backend == b.case.backend
        })
        .collect()
    }

    /// The section of one group: it draws the first seed that missed the expectation, else the
    /// first seed.
    fn section<'a>(group: &'a [CaseRun], row: &'a Row) -> Section<'a> {
        let drawn = group
            .iter()
            .find(|r| r.judged.is_err())
            .unwrap_or(&group[0]);
        let scenario = &drawn.case.loaded.scenario;
        Section {
            row,
            description: scenario.description.trim(),
            seed: drawn.case.seed,
            history: &drawn.run.history,
            verdict: &drawn.run.verdict,
            nodes: (0..scenario.nodes).map(|i| format!("node-{i}")).collect(),
            duration_ns: scenario.duration.as_nanos().max(0) as u64,
            local_days: crate::local_days::local_days(scenario, &drawn.run.history),
            violations: group
                .iter()
                .flat_map(|r| {
                    let replay = r.case.replay();
                    r.run
                        .verdict
                        .violations
                        .iter()
                        .map(move |f| (r.case.seed, f, replay.clone()))
                })
                .collect(),
        }
    }
}

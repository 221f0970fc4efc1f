//! The report of a sweep: `summary.json` (machine-readable, mergeable across shards) and
//! `summary.md` (the same for people), plus where a sweep's scenario files go.
//!
//! A summary says which seeds ran on each backend, how many worlds failed, every failure with its
//! violation kinds, whether the known list knows it (and which issue fixes it), the drawn and the
//! shrunk scenario files with their replay commands, the known entries that no longer fail, and
//! worlds per second. [`merge`] joins the summaries of shards that ran disjoint seeds. Nothing
//! here runs a world.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::known::Comparison;
use super::sweep::{ranges, seed_ranges, Plan, Swept, World};
use super::Size;
use crate::scenario::BackendKind;
use crate::suite::replay;

/// The version of the explorer's `summary.json` layout.
pub const SCHEMA_VERSION: u32 = 1;

/// A sweep's summary (or several shards' merged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run folder's name.
    pub name: String,
    /// The world size.
    pub size: Size,
    /// The shards summed up (`1/1` for a single machine).
    pub shards: Vec<String>,
    /// Per backend: worlds run, worlds failed, and the seeds.
    pub backends: BTreeMap<BackendKind, Tally>,
    /// Worlds run, all backends.
    pub worlds: u64,
    /// Wall time (merged: the longest shard's).
    pub wall_seconds: f64,
    /// Worlds per second (merged: the shards' sum, as they ran side by side).
    pub worlds_per_second: f64,
    /// The known list compared with, if any.
    pub known_list: Option<String>,
    /// Every failing world, by seed then backend.
    pub failures: Vec<Failure>,
    /// Known entries whose world ran and no longer shows some of its kinds.
    pub fixed: Vec<FixedEntry>,
}

/// One backend's share.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Worlds run.
    pub worlds: u64,
    /// Worlds that failed.
    pub failed: u64,
    /// The seeds run, as inclusive ranges.
    pub seeds: Vec<[u64; 2]>,
}

/// A failing world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The backend.
    pub backend: BackendKind,
    /// The seed.
    pub seed: u64,
    /// Its violation kinds.
    pub kinds: Vec<String>,
    /// `new` or `known`.
    pub status: String,
    /// The issue its known entry names.
    pub issue: Option<String>,
    /// The panic's message, when it panicked.
    pub panic: Option<String>,
    /// The drawn world's scenario file.
    pub world: String,
    /// The command that replays the drawn world.
    pub replay: String,
    /// The shrunk worlds, one per kind.
    pub shrunk: Vec<ShrunkFile>,
}

/// A shrunk scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShrunkFile {
    /// The kind it keeps.
    pub kind: String,
    /// The file.
    pub path: String,
    /// The command that replays it.
    pub replay: String,
    /// True when the file, parsed back and run, showed the kind again.
    pub replays: bool,
    /// Worlds run while shrinking.
    pub runs: usize,
    /// Steps taken.
    pub steps: usize,
    /// Its size: nodes, jobs (replicas counted), faults, and duration.
    pub nodes: usize,
    /// Jobs.
    pub jobs: u32,
    /// Faults.
    pub faults: usize,
    /// Duration.
    pub duration: String,
}

/// A known entry that no longer fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixedEntry {
    /// The backend.
    pub backend: BackendKind,
    /// The seed.
    pub seed: u64,
    /// The kinds that did not appear.
    pub gone: Vec<String>,
    /// Its issue.
    pub issue: String,
}

/// Where a failing world's drawn scenario is written in the run folder `dir`.
pub fn world_path(dir: &Path, backend: BackendKind, seed: u64) -> PathBuf {
    dir.join("worlds")
        .join(format!("{backend}-seed-{seed}.toml"))
}

/// Where a shrunk scenario is written: `shrunk/<backend>-seed-<seed>-<kind>.toml`.
pub fn shrunk_path(dir: &Path, backend: BackendKind, seed: u64, kind: &str) -> PathBuf {
    let kind: String = kind
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    dir.join("shrunk")
        .join(format!("{backend}-seed-{seed}-{kind}.toml"))
}

impl Summary {
    /// The summary of `swept` under `plan`, its files in `dir`, compared with the known list
    /// `known` (its path and the comparison) when there is one.
    pub fn new(
        name: &str,
        dir: &Path,
        plan: &Plan,
        swept: &Swept,
        known: Option<(&Path, &Comparison)>,
    ) -> Summary {
        let mut backends = BTreeMap::new();
        for &backend in &plan.backends {
            let mine = swept.worlds.iter().filter(|w| w.backend == backend);
            backends.insert(
                backend,
                Tally {
                    worlds: mine.clone().count() as u64,
                    failed: mine.filter(|w| !w.outcome.passed()).count() as u64,
                    seeds: seed_ranges(&swept.worlds, backend),
                },
            );
        }
        let worlds = swept.worlds.len() as u64;
        let wall = swept.elapsed.as_secs_f64();
        let comparison = known.map(|(_, c)| c);
        Summary {
            schema_version: SCHEMA_VERSION,
            name: name.to_string(),
            size: plan.size,
            shards: vec![plan.shard.to_string()],
            backends,
            worlds,
            wall_seconds: wall,
            worlds_per_second: if wall > 0.0 {
                worlds as f64 / wall
            } else {
                0.0
            },
            known_list: known.map(|(path, _)| path.display().to_string()),
            failures: swept
                .worlds
                .iter()
                .filter(|w| !w.outcome.passed())
                .map(|w| failure(dir, w, comparison))
                .collect(),
            fixed: comparison
                .map(|c| {
                    c.fixed
                        .iter()
                        .map(|f| FixedEntry {
                            backend: f.entry.backend,
                            seed: f.entry.seed,
                            gone: f.gone.clone(),
                            issue: f.entry.issue.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Failures the known list does not cover.
    pub fn new_failures(&self) -> usize {
        self.failures.iter().filter(|f| f.status == "new").count()
    }

    /// True when nothing is new and no known entry is fixed: exit code 0.
    pub fn clean(&self) -> bool {
        self.new_failures() == 0 && self.fixed.is_empty()
    }

    /// `summary.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serialises") + "\n"
    }

    /// Each violation kind: how many worlds showed it, and per backend the first seed that did
    /// and after how many of that backend's worlds (in seed order).
    pub fn kinds(&self) -> BTreeMap<String, KindRow> {
        let mut out: BTreeMap<String, KindRow> = BTreeMap::new();
        for f in &self.failures {
            for kind in &f.kinds {
                let row = out.entry(kind.clone()).or_default();
                row.worlds += 1;
                let after = self
                    .backends
                    .get(&f.backend)
                    .map_or(0, |t| worlds_up_to(&t.seeds, f.seed));
                row.first.entry(f.backend).or_insert((f.seed, after));
            }
        }
        out
    }

    /// `summary.md`.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# cronfence explore: {}\n\n", self.name);
        let per_backend: Vec<String> = self
            .backends
            .iter()
            .map(|(b, t)| {
                format!(
                    "{b}: {} worlds, {} failed, seeds {}",
                    t.worlds,
                    t.failed,
                    show_ranges(&t.seeds)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "Size {}, shards {}; {} worlds in {:.0} s ({:.2} worlds/s).\n\n- {}\n",
            self.size,
            self.shards.join(", "),
            self.worlds,
            self.wall_seconds,
            self.worlds_per_second,
            per_backend.join("\n- ")
        );
        if let Some(list) = &self.known_list {
            let _ = writeln!(out, "Known list: `{list}`.\n");
        }
        self.kinds_table(&mut out);
        self.failures_table(&mut out);
        if !self.fixed.is_empty() {
            out.push_str("\n## Known failures that no longer fail (fixed? remove them)\n\n");
            for f in &self.fixed {
                let _ = writeln!(
                    out,
                    "- {} seed {}: {} gone ({})",
                    f.backend,
                    f.seed,
                    f.gone.join(", "),
                    f.issue
                );
            }
        }
        out
    }

    fn kinds_table(&self, out: &mut String) {
        out.push_str("## Violation kinds\n\n| kind | worlds | first found |\n|---|---|---|\n");
        for (kind, row) in self.kinds() {
            let first: Vec<String> = row
                .first
                .iter()
                .map(|(b, (seed, after))| format!("{b} seed {seed} (after {after} worlds)"))
                .collect();
            let _ = writeln!(out, "| `{kind}` | {} | {} |", row.worlds, first.join("; "));
        }
        if self.failures.is_empty() {
            out.push_str("| (none) | 0 | |\n");
        }
    }

    fn failures_table(&self, out: &mut String) {
        if self.failures.is_empty() {
            return;
        }
        out.push_str("\n## Failures\n\n| backend | seed | kinds | status | shrunk to |\n|---|---|---|---|---|\n");
        for f in &self.failures {
            let status = match &f.issue {
                Some(issue) if !issue.is_empty() => format!("{} ({issue})", f.status),
                _ => f.status.clone(),
            };
            let shrunk: Vec<String> = f
                .shrunk
                .iter()
                .map(|s| {
                    format!(
                        "{} nodes, {} jobs, {} faults, {}{}",
                        s.nodes,
                        s.jobs,
                        s.faults,
                        s.duration,
                        if s.replays { "" } else { " (does NOT replay)" }
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {status} | {} |",
                f.backend,
                f.seed,
                f.kinds.join(", "),
                shrunk.join("; ")
            );
        }
        if self.new_failures() == 0 {
            return;
        }
        out.push_str("\nReplay the new failures:\n\n```sh\n");
        for f in self.failures.iter().filter(|f| f.status == "new") {
            if f.shrunk.is_empty() {
                let _ = writeln!(out, "{}", f.replay);
            }
            for s in &f.shrunk {
                let _ = writeln!(out, "{}  # {}", s.replay, s.kind);
            }
        }
        out.push_str("```\n");
    }
}

/// A row of the kinds table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KindRow {
    /// Worlds that showed the kind.
    pub worlds: u64,
    /// Per backend: the first seed that showed it and how many worlds had run by then.
    pub first: BTreeMap<BackendKind, (u64, u64)>,
}

fn failure(dir: &Path, w: &World, comparison: Option<&Comparison>) -> Failure {
    let judged = comparison.and_then(|c| {
        c.known
            .iter()
            .map(|j| (j, "known"))
            .chain(c.new.iter().map(|j| (j, "new")))
            .find(|(j, _)| j.backend == w.backend && j.seed == w.seed)
    });
    let world = world_path(dir, w.backend, w.seed);
    Failure {
        backend: w.backend,
        seed: w.seed,
        kinds: w.outcome.kinds.iter().cloned().collect(),
        status: judged.map_or("new", |(_, s)| s).to_string(),
        issue: judged.and_then(|(j, _)| j.issue.clone()),
        panic: w.outcome.panic.clone(),
        replay: replay(&world, w.backend, w.seed),
        world: world.display().to_string(),
        shrunk: w
            .shrunk
            .iter()
            .map(|s| {
                let path = shrunk_path(dir, w.backend, w.seed, &s.kind);
                let sc = &s.shrunk.scenario;
                ShrunkFile {
                    kind: s.kind.clone(),
                    replay: replay(&path, w.backend, w.seed),
                    path: path.display().to_string(),
                    replays: s.replays,
                    runs: s.shrunk.runs,
                    steps: s.shrunk.steps.len(),
                    nodes: sc.nodes,
                    jobs: sc.jobs.iter().map(|j| j.count.unwrap_or(1)).sum(),
                    faults: sc.faults.len(),
                    duration: super::toml::dur(sc.duration),
                }
            })
            .collect(),
    }
}

/// How many of `seeds` are at most `seed`.
fn worlds_up_to(seeds: &[[u64; 2]], seed: u64) -> u64 {
    seeds
        .iter()
        .filter(|r| r[0] <= seed)
        .map(|r| r[1].min(seed) - r[0] + 1)
        .sum()
}

fn show_ranges(seeds: &[[u64; 2]]) -> String {
    let parts: Vec<String> = seeds
        .iter()
        .take(8)
        .map(|r| {
            if r[0] == r[1] {
                r[0].to_string()
            } else {
                format!("{}-{}", r[0], r[1])
            }
        })
        .collect();
    let more = if seeds.len() > 8 {
        format!(" and {} more ranges", seeds.len() - 8)
    } else {
        String::new()
    };
    format!("{}{more}", parts.join(", "))
}

/// Summaries that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no summaries to merge")]
    Empty,
    /// Shards drew worlds at different sizes.
    #[error("shard {name} drew worlds at size {found}, the others at {expected}")]
    Size {
        /// The odd summary.
        name: String,
        /// Its size.
        found: Size,
        /// The first summary's.
        expected: Size,
    },
    /// Two shards ran the same seed on the same backend.
    #[error("seed {seed} ran on {backend} in more than one shard")]
    Overlap {
        /// The backend.
        backend: BackendKind,
        /// The seed.
        seed: u64,
    },
}

/// Merges shards' summaries (disjoint seeds, same size) into one named `name`.
pub fn merge(name: &str, parts: &[Summary]) -> Result<Summary, MergeError> {
    let first = parts.first().ok_or(MergeError::Empty)?;
    let mut backends: BTreeMap<BackendKind, (Tally, BTreeSet<u64>)> = BTreeMap::new();
    for part in parts {
        if part.size != first.size {
            return Err(MergeError::Size {
                name: part.name.clone(),
                found: part.size,
                expected: first.size,
            });
        }
        for (backend, tally) in &part.backends {
            let (sum, seeds) = backends.entry(*backend).or_default();
            sum.worlds += tally.worlds;
            sum.failed += tally.failed;
            for seed in tally.seeds.iter().flat_map(|r| r[0]..=r[1]) {
                if !seeds.insert(seed) {
                    return Err(MergeError::Overlap {
                        backend: *backend,
                        seed,
                    });
                }
            }
        }
    }
    let mut failures: Vec<Failure> = parts.iter().flat_map(|p| p.failures.clone()).collect();
    failures.sort_by_key(|f| (f.seed, f.backend));
    let mut fixed: Vec<FixedEntry> = parts.iter().flat_map(|p| p.fixed.clone()).collect();
    fixed.sort_by_key(|f| (f.seed, f.backend));
    Ok(Summary {
        schema_version: SCHEMA_VERSION,
        name: name.to_string(),
        size: first.size,
        shards: parts.iter().flat_map(|p| p.shards.clone()).collect(),
        backends: backends
            .into_iter()
            .map(|(b, (tally, seeds))| {
                (
                    b,
                    Tally {
                        seeds: ranges(seeds),
                        ..tally
                    },
                )
            })
            .collect(),
        worlds: parts.iter().map(|p| p.worlds).sum(),
        wall_seconds: parts.iter().map(|p| p.wall_seconds).fold(0.0, f64::max),
        worlds_per_second: parts.iter().map(|p| p.worlds_per_second).sum(),
        known_list: first.known_list.clone(),
        failures,
        fixed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(shard: &str, seeds: [u64; 2], failing: u64) -> Summary {
        Summary {
            schema_version: SCHEMA_VERSION,
            name: format!("shard {shard}"),
            size: Size::Small,
            shards: vec![shard.into()],
            backends: BTreeMap::from([(
                BackendKind::Memory,
                Tally {
                    worlds: seeds[1] - seeds[0] + 1,
                    failed: 1,
                    seeds: vec![seeds],
                },
            )]),
            worlds: seeds[1] - seeds[0] + 1,
            wall_seconds: 10.0,
            worlds_per_second: 1.0,
            known_list: None,
            failures: vec![Failure {
                backend: BackendKind::Memory,
                seed: failing,
                kinds: vec!["no_gap/missing_tick".into()],
                status: "new".into(),
                issue: None,
                panic: None,
                world: String::new(),
                replay: String::new(),
                shrunk: Vec::new(),
            }],
            fixed: Vec::new(),
        }
    }

    #[test]
    fn merged_shards_add_up_and_find_each_kind_once() {
        // Two shards of ten seeds each merge into twenty seeds in one range; the kind's first
        // world is the lower seed, found after as many worlds as seeds up to it.
        let merged =
            merge("all", &[part("2/2", [11, 20], 12), part("1/2", [1, 10], 4)]).expect("mergeable");
        assert_eq!(merged.worlds, 20);
        assert_eq!(merged.backends[&BackendKind::Memory].seeds, vec![[1, 20]]);
        assert_eq!(
            merged.failures.iter().map(|f| f.seed).collect::<Vec<_>>(),
            vec![4, 12]
        );
        let kinds = merged.kinds();
        assert_eq!(kinds["no_gap/missing_tick"].worlds, 2);
        assert_eq!(
            kinds["no_gap/missing_tick"].first[&BackendKind::Memory],
            (4, 4)
        );
        assert!(!merged.clean());
        let json: Summary = serde_json::from_str(&merged.to_json()).expect("the json loads");
        assert_eq!(json, merged);
    }

    #[test]
    fn shards_that_ran_the_same_seed_do_not_merge() {
        // Overlapping seeds mean the shards were not disjoint: the merge refuses.
        let err = merge("all", &[part("1/2", [1, 10], 4), part("2/2", [10, 20], 12)]).unwrap_err();
        assert!(matches!(err, MergeError::Overlap { seed: 10, .. }), "{err}");
    }
}

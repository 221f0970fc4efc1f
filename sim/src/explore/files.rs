//! The scenario files of a sweep's failures: each failing world as drawn
//! (`worlds/<backend>-seed-<seed>.toml`) and each shrunk world
//! (`shrunk/<backend>-seed-<seed>-<kind>.toml`), with a header that says where it came from and
//! the command that replays it. Paths come from [`super::summary`]; texts from [`super::toml`].

use std::path::Path;

use super::summary::{shrunk_path, world_path};
use super::sweep::{ShrunkKind, World};
use super::toml::to_toml;
use super::Size;
use crate::scenario::{BackendKind, Scenario};
use crate::suite::replay;

/// Writes the drawn and shrunk scenario files of every failing world of a sweep into `dir`.
pub fn write(dir: &Path, worlds: &[World], size: Size) -> std::io::Result<()> {
    for w in worlds.iter().filter(|w| !w.outcome.passed()) {
        let Some(scenario) = &w.scenario else {
            continue;
        };
        let path = world_path(dir, w.backend, w.seed);
        let kinds: Vec<&str> = w.outcome.kinds.iter().map(String::as_str).collect();
        let mut header = format!(
            "Drawn by `cronfence explore --size {size} --first-seed {seed} --seeds 1 --backend {backend}`;\nshows {}.",
            kinds.join(", "),
            seed = w.seed,
            backend = w.backend
        );
        if let Some(panic) = &w.outcome.panic {
            header.push_str(&format!("\nPanics: {panic}"));
        }
        write_one(&path, scenario, &header, w.backend, w.seed)?;
        for s in &w.shrunk {
            let path = shrunk_path(dir, w.backend, w.seed, &s.kind);
            let shrunk = shrunk_scenario(scenario, s, w.seed, w.backend, size);
            let mut header = format!(
                "Shrunk by `cronfence explore` in {} runs; still shows {}{}.\nSteps from the drawn world ({}):",
                s.shrunk.runs,
                s.kind,
                if s.replays { "" } else { " (but did NOT when parsed back and replayed)" },
                world_path(dir, w.backend, w.seed).display()
            );
            for step in &s.shrunk.steps {
                header.push_str(&format!("\n  - {step}"));
            }
            write_one(&path, &shrunk, &header, w.backend, w.seed)?;
        }
    }
    Ok(())
}

/// The shrunk world with a description saying what it was shrunk from and what it shows.
pub fn shrunk_scenario(
    original: &Scenario,
    s: &ShrunkKind,
    seed: u64,
    backend: BackendKind,
    size: Size,
) -> Scenario {
    let mut shrunk = s.shrunk.scenario.clone();
    shrunk.description = format!(
        "Shrunk by `cronfence explore` from the world of seed {seed} for {backend} (size {size}); it still shows `{}`. The original: {}",
        s.kind, original.description
    );
    shrunk
}

fn write_one(
    path: &Path,
    scenario: &Scenario,
    header: &str,
    backend: BackendKind,
    seed: u64,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let header = format!("{header}\nReplay: {}", replay(path, backend, seed));
    std::fs::write(path, to_toml(scenario, &header))
}

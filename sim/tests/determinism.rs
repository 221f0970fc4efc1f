//! Same scenario, same seed, same history, byte for byte — and a different seed gives a different
//! one (so the comparison is not vacuous). The scenario has random faults, clocks off true time
//! and backend latency, so every source of nondeterminism the world has is exercised.
#![cfg(madsim)]

use std::path::Path;

use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::world;

fn scenario() -> scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/random_faults.toml");
    let mut loaded = scenario::load(&path).expect("the scenario loads");
    loaded.scenario.duration = jiff::SignedDuration::from_mins(6);
    loaded.scenario.check.cooldown = jiff::SignedDuration::from_secs(70);
    loaded.scenario
}

#[test]
fn same_seed_same_history_byte_for_byte() {
    let s = scenario();
    let first = world::run(&s, BackendKind::Memory, 7);
    let second = world::run(&s, BackendKind::Memory, 7);
    assert!(
        first.history.records.len() > 1_000,
        "a real run: {} records",
        first.history.records.len()
    );
    assert_eq!(
        first.history.hash(),
        second.history.hash(),
        "replay with: cargo run -p cronfence-sim -- run scenarios/random_faults.toml --seed 7"
    );
    assert_eq!(first.history.to_jsonl(), second.history.to_jsonl());
    let other = world::run(&s, BackendKind::Memory, 8);
    assert_ne!(
        first.history.hash(),
        other.history.hash(),
        "seeds 7 and 8 gave the same history"
    );
}

#[test]
fn a_history_survives_its_json_lines() {
    let s = scenario();
    let run = world::run(&s, BackendKind::Memory, 3);
    let text = run.history.to_jsonl();
    let back = cronfence_sim::history::History::from_jsonl(&text).expect("parses");
    assert_eq!(back.to_jsonl(), text);
}

/// Many elections whose leaders wake at the same instants, on both backends, run twice in a row on
/// one thread: this is what caught `HashMap` seeds leaking from one run into the next (each run
/// now gets a thread of its own).
#[test]
fn back_to_back_runs_on_one_thread_agree() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/per_job_elections.toml");
    let mut s = scenario::load(&path).expect("the scenario loads").scenario;
    s.duration = jiff::SignedDuration::from_secs(60);
    for backend in [BackendKind::Memory, BackendKind::EtcdSim] {
        let first = world::run(&s, backend, 3).history;
        let second = world::run(&s, backend, 3).history;
        assert_eq!(
            first.hash(),
            second.hash(),
            "replay with: cargo run -p cronfence-sim -- run scenarios/per_job_elections.toml \
             --backend {backend} --seed 3"
        );
    }
}

/// Graceful stops and restarts with a spec upgrade, on both backends: the node's process shutting
/// down, waiting and starting a fresh node are as reproducible as the rest.
#[test]
fn stops_and_upgrades_replay_byte_for_byte() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rolling_upgrade.toml");
    let s = scenario::load(&path).expect("the scenario loads").scenario;
    for backend in [BackendKind::Memory, BackendKind::EtcdSim] {
        let first = world::run(&s, backend, 4).history;
        let second = world::run(&s, backend, 4).history;
        assert!(
            first.to_jsonl().contains("\"upgrade_to\":2"),
            "the stops were played"
        );
        assert_eq!(
            first.to_jsonl(),
            second.to_jsonl(),
            "replay with: cargo run -p cronfence-sim -- run scenarios/rolling_upgrade.toml \
             --backend {backend} --seed 4"
        );
    }
}

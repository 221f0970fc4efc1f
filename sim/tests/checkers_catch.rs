//! A checker is trusted only once it has caught a broken scheduler. Here the backend's fencing is
//! switched off (the scenario's test-only `[variant] fencing = false`) in the stuck-packet
//! scenario: a claim the old leader sent before it lost its lease arrives after a new leader was
//! granted, and goes through. The checkers must fail the scenario, and the replay command printed
//! for a failing seed must reproduce the same findings from the file alone.
#![cfg(madsim)]

use std::path::Path;
use std::process::Command;

use cronfence_sim::check::Checker;
use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::{expect, world};

#[test]
fn disabling_fencing_is_caught_and_the_replay_reproduces_it() {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/stuck_claim_after_partition.toml");
    let text = std::fs::read_to_string(&source).unwrap();
    let broken = text.replace("[expect]", "[variant]\nfencing = false\n\n[expect]");
    let dir = std::env::temp_dir().join(format!("cronfence-unfenced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("unfenced_stuck_claim.toml");
    std::fs::write(&path, broken).unwrap();
    let loaded = scenario::load(&path).unwrap();

    let failing = (1..=5)
        .map(|seed| world::run(&loaded.scenario, BackendKind::Memory, seed))
        .find(|run| expect::judge(&loaded.scenario, &run.verdict, &run.history).is_err())
        .expect("some seed of five must fail without fencing");
    assert!(
        failing
            .verdict
            .violations_of(Checker::Fencing)
            .next()
            .is_some(),
        "the fencing checker names the stale token: {:?}",
        failing.verdict.violations
    );
    println!(
        "caught at seed {}:\n{}",
        failing.seed,
        expect::list(&failing.verdict.violations)
    );

    // The replay command a failing test prints, run for real.
    let output = Command::new(env!("CARGO_BIN_EXE_cronfence"))
        .args([
            "run",
            path.to_str().unwrap(),
            "--backend",
            "memory",
            "--seed",
            &failing.seed.to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the replay fails too:\n{stdout}"
    );
    assert!(
        stdout.contains(&expect::list(&failing.verdict.violations)),
        "the replay shows the same findings:\n{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_fencing_the_same_scenario_passes() {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/stuck_claim_after_partition.toml");
    let loaded = scenario::load(&source).unwrap();
    for seed in 1..=5 {
        let run = world::run(&loaded.scenario, BackendKind::Memory, seed);
        assert!(
            run.verdict.passed(),
            "seed {seed}:\n{}",
            expect::list(&run.verdict.violations)
        );
    }
}

/// Runs `scenario` with `variant` lines added, over seeds 1..=`seeds`, and returns the first
/// failing run's violation kinds and its seed.
fn first_caught(scenario: &str, variant: &str, seeds: u64) -> Option<(u64, Vec<String>)> {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{scenario}.toml"));
    let text = std::fs::read_to_string(&source).unwrap();
    let broken = text.replace("[expect]", &format!("[variant]\n{variant}\n\n[expect]"));
    let parsed = scenario::parse(&source, &broken).unwrap();
    (1..=seeds).find_map(|seed| {
        let run = world::run(&parsed, BackendKind::Memory, seed);
        (!run.verdict.passed()).then(|| {
            (
                seed,
                run.verdict
                    .violations
                    .iter()
                    .map(|f| f.kind.clone())
                    .collect(),
            )
        })
    })
}

#[test]
fn dropping_missed_ticks_silently_is_caught_by_the_gap_checker() {
    // A minute with no node up: the new leader skips the missed ticks without a word.
    let (seed, kinds) = first_caught("all_nodes_down_catch_up_all", "catch_up = false", 3)
        .expect("caught within 3 seeds");
    println!("no catch-up caught at seed {seed}: {kinds:?}");
    assert!(kinds.iter().any(|k| k == "missing_tick"), "{kinds:?}");
}

#[test]
fn claiming_after_the_run_is_caught_by_the_duplicate_checker() {
    // At most once, claimed only after running: the leader dies mid-run, the tick was never
    // claimed, and the next leader runs it again.
    let (seed, kinds) = first_caught("crash_mid_run_at_most_once", "claim_before_run = false", 5)
        .expect("caught within 5 seeds");
    println!("claim-after-run caught at seed {seed}: {kinds:?}");
    assert!(kinds.iter().any(|k| k == "duplicate_start"), "{kinds:?}");
}

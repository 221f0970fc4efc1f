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
        .find(|run| expect::judge(&loaded.scenario, &run.verdict).is_err())
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

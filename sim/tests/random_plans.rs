//! Random fault plans with shrinking: proptest draws a seed and up to six faults of every kind,
//! runs them in the simulator on a fixed base load, and demands that every guarantee holds. When
//! one breaks, proptest shrinks the plan (fewer faults, earlier, shorter) and the failure message
//! is the minimal plan as a scenario file: save it under `scenarios/` and replay it with
//! `cargo run -p cronfence-sim -- run <file> --seed <seed>`.
//!
//! Violations of a kind in [`KNOWN_BUGS`] are bugs of today's core that an open issue fixes; they
//! are tolerated here until then (and only they), so the sweep still fails on anything new.
//!
//! `CRONFENCE_PLAN_CASES` sets how many plans run per backend (default 24 on memory, 12 on
//! etcd-sim, whose plans leave out the faults it cannot suffer); the proptest seed is fixed, so
//! the same plans run every time.
#![cfg(madsim)]

use cronfence_sim::expect;
use cronfence_sim::scenario::BackendKind;
use cronfence_sim::shrink::{GenFault, PlanCase};
use cronfence_sim::world;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Violation kinds of known bugs of the core, with the issue that fixes them.
const KNOWN_BUGS: &[(&str, &str)] = &[];

fn fault(backend: BackendKind) -> impl Strategy<Value = GenFault> {
    let kind = prop_oneof![
        Just(("crash", vec![])),
        Just(("pause", vec![])),
        prop_oneof![Just("both"), Just("to_backend"), Just("from_backend")]
            .prop_map(|d| ("partition", vec![format!("direction = \"{d}\"")])),
        (-45i32..=45).prop_map(|s| ("clock_offset", vec![format!("offset = \"{s}s\"")])),
        (-500i32..=500).prop_map(|p| ("clock_drift", vec![format!("ppm = {}", p * 100)])),
        (50u32..1500).prop_map(|ms| ("backend_latency", vec![format!("latency = \"{ms}ms\"")])),
        Just(("backend_timeout", vec![])),
        (1u32..4).prop_map(|n| ("ambiguous_commit", vec![format!("count = {n}")])),
        Just(("backend_restart", vec![])),
    ]
    .prop_filter("a fault the backend can suffer", move |(kind, _)| {
        !backend.unsupported().contains(kind)
    });
    let node = prop_oneof![
        Just("leader".to_string()),
        Just("follower".to_string()),
        (0u32..3).prop_map(|i| format!("node-{i}"))
    ];
    (kind, node, 5u32..100, 1u32..40).prop_map(|((fault, params), node, at_s, duration_s)| {
        GenFault {
            fault,
            params,
            node,
            at_s,
            duration_s,
        }
    })
}

fn case(backend: BackendKind) -> impl Strategy<Value = PlanCase> {
    (1u64..10_000, prop::collection::vec(fault(backend), 0..6)).prop_map(move |(seed, faults)| {
        PlanCase {
            backend,
            seed,
            faults,
        }
    })
}

#[test]
fn random_fault_plans_never_break_a_guarantee_on_memory() {
    sweep(BackendKind::Memory, 24);
}

#[test]
fn random_fault_plans_never_break_a_guarantee_on_etcd_sim() {
    sweep(BackendKind::EtcdSim, 12);
}

fn sweep(backend: BackendKind, default_cases: u32) {
    let cases = std::env::var("CRONFENCE_PLAN_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(0xc0ffee),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(backend), |case| {
        let scenario = case.scenario();
        let run = world::run(&scenario, case.backend, case.seed);
        let unknown: Vec<_> = run
            .verdict
            .violations
            .iter()
            .filter(|f| !KNOWN_BUGS.iter().any(|(kind, _)| f.kind == *kind))
            .cloned()
            .collect();
        prop_assert!(
            unknown.is_empty(),
            "a guarantee broke; minimal plan so far (save as scenarios/<name>.toml):\n\n{}\nfindings:\n{}",
            case.to_toml(),
            expect::list(&unknown)
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn a_generated_plan_is_a_valid_replayable_scenario() {
    // The printed TOML must load and describe exactly the plan that ran.
    let case = PlanCase {
        backend: BackendKind::Memory,
        seed: 42,
        faults: vec![GenFault {
            fault: "clock_offset",
            params: vec!["offset = \"-30s\"".into()],
            node: "leader".into(),
            at_s: 20,
            duration_s: 10,
        }],
    };
    let scenario = case.scenario();
    assert_eq!(scenario.seeds.list(), vec![42]);
    assert_eq!(scenario.faults.len(), 1);
    let plan = world::fault_plan(&scenario, 42);
    assert_eq!(plan[0].at, std::time::Duration::from_secs(20));
}

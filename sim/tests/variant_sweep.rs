//! The known-bad variants, each swept over seeds until some checker catches it, with a table of
//! which checker caught it and how many seeds that took. A variant no checker catches, or a
//! checker that catches no variant, fails the test: a checker that cannot fail is worthless.
//!
//! cronfence variants are the test-only `[variant]` switches; go-micro's own flaws (an election
//! id built from the start time, a per-node ticker with no anchor) are run through its model.
#![cfg(madsim)]

use std::collections::BTreeSet;
use std::path::Path;

use cronfence_sim::check::Checker;
use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::world;

/// A variant: its name, the scenario it runs in, and the text that switches it on there.
struct Variant {
    name: &'static str,
    scenario: &'static str,
    switch: &'static str,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "no fencing",
        scenario: "stuck_claim_after_partition",
        switch: "[variant]\nfencing = false",
    },
    Variant {
        name: "claim after run (at most once)",
        scenario: "crash_mid_run_at_most_once",
        switch: "[variant]\nclaim_before_run = false",
    },
    Variant {
        name: "no catch-up",
        scenario: "all_nodes_down_catch_up_all",
        switch: "[variant]\ncatch_up = false",
    },
    Variant {
        name: "no resign on a clock step-down",
        scenario: "clock_jump_back_one_hour",
        switch: "[variant]\nresign_on_step_down = false",
    },
    Variant {
        name: "go-micro: election id from each node's start time",
        scenario: "gomicro_relative_start",
        switch: "",
    },
    Variant {
        name: "go-micro: unanchored per-node ticker, no checkpoint",
        scenario: "gomicro_leader_crash",
        switch: "",
    },
];

const MAX_SEEDS: u64 = 10;

#[test]
fn every_known_bad_variant_is_caught_and_every_checker_catches_one() {
    let mut rows = Vec::new();
    let mut catching: BTreeSet<Checker> = BTreeSet::new();
    for v in VARIANTS {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{}.toml", v.scenario));
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("[expect]", &format!("{}\n\n[expect]", v.switch));
        let parsed = scenario::parse(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let caught = (1..=MAX_SEEDS).find_map(|seed| {
            let run = world::run(&parsed, BackendKind::Memory, seed);
            let checkers: BTreeSet<Checker> =
                run.verdict.violations.iter().map(|f| f.checker).collect();
            (!checkers.is_empty()).then_some((seed, checkers))
        });
        match &caught {
            Some((seed, checkers)) => {
                catching.extend(checkers.iter().copied());
                rows.push(format!(
                    "| {} | {} | {:?} | {} |",
                    v.name, v.scenario, checkers, seed
                ));
            }
            None => rows.push(format!(
                "| {} | {} | NOT CAUGHT in {MAX_SEEDS} seeds | - |",
                v.name, v.scenario
            )),
        }
    }
    println!(
        "| variant | scenario | caught by | seeds needed |\n|---|---|---|---|\n{}",
        rows.join("\n")
    );
    assert!(
        rows.iter().all(|r| !r.contains("NOT CAUGHT")),
        "a variant escaped every checker:\n{}",
        rows.join("\n")
    );
    for checker in [
        Checker::NoDuplicate,
        Checker::NoGap,
        Checker::Fencing,
        Checker::Liveness,
    ] {
        assert!(
            catching.contains(&checker),
            "{checker:?} caught no variant: it may be unable to fail"
        );
    }
}

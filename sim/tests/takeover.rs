//! `[expect] takeover_at_most` can pass and can fail: a gracefully stopped leader is succeeded
//! within the 1 s bound of `graceful_stop_handoff.toml` on both backends, and the same scenario
//! with `crash` instead of `stop` misses it, because a crashed leader resigns nothing and the next
//! node must wait for its 10 s lease. `--nocapture` prints the measured takeovers.
#![cfg(madsim)]

use std::path::{Path, PathBuf};

use cronfence_sim::scenario::{self, BackendKind, Scenario};
use cronfence_sim::{expect, takeover, world};

fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/graceful_stop_handoff.toml")
}

/// The scenario with its fault's kind replaced (and, for a crash, without its `records`
/// expectation of a `resigned` event, which a crash cannot meet).
fn with_fault(fault: &str) -> Scenario {
    let text = std::fs::read_to_string(path()).expect("the scenario exists");
    let mut text = text.replace("fault = \"stop\"", &format!("fault = \"{fault}\""));
    if fault == "crash" {
        text = text.replace("records = [\"resigned\"]\n", "");
    }
    scenario::parse(&path(), &text).expect("the scenario loads")
}

#[test]
fn a_graceful_stop_hands_over_within_the_bound_on_both_backends() {
    // The scenario's own expectation, takeover bound included, holds for every seed; the
    // printed times are what the bound was measured against.
    let s = with_fault("stop");
    for backend in [BackendKind::Memory, BackendKind::EtcdSim] {
        for seed in s.seeds.list() {
            let run = world::run(&s, backend, seed);
            for t in takeover::takeovers(&run.history) {
                println!(
                    "{backend} seed {seed}: {} of {} -> {:?} won after {:?} (resigned -> won {:?})",
                    t.fault,
                    t.node,
                    t.winner.as_ref().map(|w| &w.0),
                    t.took(),
                    t.handoff()
                );
            }
            let judged = expect::judge(&s, &run.verdict, &run.history);
            assert_eq!(
                judged,
                Ok(()),
                "replay: cargo run -p cronfence-sim -- run scenarios/graceful_stop_handoff.toml \
                 --backend {backend} --seed {seed}"
            );
        }
    }
}

#[test]
fn the_same_scenario_with_a_crash_misses_the_takeover_bound() {
    // Only the fault kind changes (and the `resigned` record is no longer demanded); the
    // takeover bound is what refuses the run, so the bound is what tells a graceful handoff
    // from a lease expiry.
    let s = with_fault("crash");
    for backend in [BackendKind::Memory, BackendKind::EtcdSim] {
        let run = world::run(&s, backend, 1);
        assert!(run.verdict.passed(), "a crash alone loses no tick here");
        let why = expect::judge(&s, &run.verdict, &run.history)
            .expect_err("a crashed leader is not succeeded within 1 s");
        assert!(why.contains("expected every takeover within 1s"), "{why}");
        let took = takeover::takeovers(&run.history)[0].took();
        println!("{backend} seed 1: crash -> takeover after {took:?}");
        assert!(took.is_some_and(|t| t.as_secs() >= 5), "{took:?}");
    }
}

#[test]
fn a_takeover_bound_must_be_positive() {
    // A zero bound could never be met and a negative one is a typo; both are refused on load.
    let text = std::fs::read_to_string(path()).expect("the scenario exists");
    for bound in ["0s", "-1s"] {
        let bad = text.replace(
            "takeover_at_most = \"1s\"",
            &format!("takeover_at_most = \"{bound}\""),
        );
        let e = scenario::parse(&path(), &bad).expect_err("refused");
        assert!(e.message.contains("takeover_at_most"), "{e}");
    }
}

//! The comparison rules of the regression check, one rule per test, on hand-made outcomes.

use super::*;

fn outcome() -> Outcome {
    Outcome {
        seeds: vec![1, 2],
        as_expected: true,
        no_duplicate: 0,
        no_gap: 0,
        fencing: 0,
        liveness: 0,
        excused: 10,
        ticks_run: 200,
        failovers: 2,
        takeover_p99_ms: 6_000.0,
        takeover_max_ms: 6_500.0,
        lateness_p50_ms: 10.0,
        lateness_p99_ms: 5_000.0,
        lateness_max_ms: 6_000.0,
    }
}

fn changes(new: Outcome) -> Vec<(Severity, String)> {
    differences(&outcome(), &new, Tolerance::default())
}

#[test]
fn the_same_outcome_is_no_change() {
    assert!(changes(outcome()).is_empty());
}

#[test]
fn a_checker_that_starts_failing_is_a_regression_whatever_the_count() {
    let found = changes(Outcome {
        no_duplicate: 1,
        ..outcome()
    });
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Severity::Regression);
    assert!(
        found[0].1.contains("verdict pass → violated"),
        "{}",
        found[0].1
    );
}

#[test]
fn a_missed_expectation_is_a_regression_and_a_met_one_an_improvement() {
    let worse = changes(Outcome {
        as_expected: false,
        ..outcome()
    });
    assert_eq!(worse[0].0, Severity::Regression);
    let better = differences(
        &Outcome {
            as_expected: false,
            ..outcome()
        },
        &outcome(),
        Tolerance::default(),
    );
    assert_eq!(better[0].0, Severity::Improvement);
}

#[test]
fn counts_move_within_their_tolerance() {
    // 10% of 200 is 20: 220 is within, 221 is not.
    assert!(changes(Outcome {
        ticks_run: 220,
        ..outcome()
    })
    .is_empty());
    let found = changes(Outcome {
        ticks_run: 179,
        ..outcome()
    });
    assert_eq!(found.len(), 1);
    assert!(
        found[0].1.contains("ticks run 200 → 179 (allowed ±20)"),
        "{}",
        found[0].1
    );
}

#[test]
fn slower_beyond_tolerance_regresses_and_faster_is_an_improvement() {
    // 25% of 6000 ms is 1500 ms.
    assert!(changes(Outcome {
        takeover_p99_ms: 7_500.0,
        ..outcome()
    })
    .is_empty());
    let slower = changes(Outcome {
        takeover_p99_ms: 7_501.0,
        ..outcome()
    });
    assert_eq!(slower[0].0, Severity::Regression);
    assert!(
        slower[0].1.contains("allowed up to 7500 ms"),
        "{}",
        slower[0].1
    );
    let faster = changes(Outcome {
        lateness_max_ms: 1_000.0,
        ..outcome()
    });
    assert_eq!(faster[0].0, Severity::Improvement);
}

#[test]
fn different_seeds_are_not_compared() {
    let found = changes(Outcome {
        seeds: vec![1],
        ticks_run: 0,
        ..outcome()
    });
    assert_eq!(found.len(), 1, "only the seed mismatch: {found:?}");
}

#[test]
fn a_baseline_round_trips_through_its_file() {
    let baseline = Baseline {
        backend: "memory".into(),
        tolerance: Tolerance::default(),
        scenarios: [("leader_crash".to_string(), outcome())].into(),
    };
    let dir = std::env::temp_dir().join(format!("cronfence-baseline-{}", std::process::id()));
    let file = path(&dir, "memory");
    write(&file, &baseline).unwrap();
    assert_eq!(read(&file).unwrap(), Some(baseline));
    assert_eq!(read(&dir.join("absent.toml")).unwrap(), None);
    std::fs::write(&file, "backend = 3").unwrap();
    let error = read(&file).unwrap_err();
    assert!(
        format!("{error:#}").contains("is not a valid baseline"),
        "{error:#}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_judged_measurements_only_the_guarantees_fail() {
    let tol = Tolerance::real_time();
    let moved = Outcome {
        failovers: 0,
        takeover_p99_ms: 0.0,
        lateness_max_ms: 60_000.0,
        ..outcome()
    };
    let found = differences(&outcome(), &moved, tol);
    assert!(!found.is_empty());
    assert!(found.iter().all(|(s, _)| *s == Severity::Note), "{found:?}");
    let broken = Outcome {
        no_gap: 3,
        ..outcome()
    };
    let found = differences(&outcome(), &broken, tol);
    assert_eq!(found[0].0, Severity::Regression, "{found:?}");
}

#[test]
fn a_baseline_written_before_takeovers_still_reads() {
    // Baselines blessed before the takeover measure name it `failover_gap_*`: they load (into
    // the takeover fields) instead of failing as unknown fields, until they are blessed again.
    let old = toml::to_string(&Baseline {
        backend: "memory".into(),
        tolerance: Tolerance::default(),
        scenarios: [("leader_crash".to_string(), outcome())].into(),
    })
    .unwrap()
    .replace("takeover_", "failover_gap_");
    assert!(old.contains("failover_gap_p99_ms = 6000.0"), "{old}");
    let read: Baseline = toml::from_str(&old).unwrap();
    assert_eq!(read.scenarios["leader_crash"], outcome());
}

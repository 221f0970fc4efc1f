//! `cronfence explore --backend etcd --endpoints ...` (the real build's CLI, called in-process)
//! against a real etcd server this test starts: two small drawn worlds played in real time, a
//! run folder with its summary, and an exit code that says whether a world failed. Also the
//! command's refusals: no endpoints, an unreachable cluster. About a minute.
#![cfg(not(madsim))]

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cronfence_it::etcd::Cluster;
use cronfence_sim::cli::{self, Cli};

/// The first seed: from seed 1 at `--size small`, seeds 1 and 3 draw worlds longer than 90 s
/// (skipped), and seeds 2 (38 s) and 4 (61 s) are played, so the run takes about a minute.
const FIRST_SEED: &str = "1";

fn explore(extra: &[&str]) -> anyhow::Result<ExitCode> {
    let mut args = vec!["cronfence", "explore", "--backend", "etcd"];
    args.extend_from_slice(extra);
    cli::main(Cli::parse_from(args))
}

#[test]
fn explore_plays_drawn_worlds_in_real_time_and_writes_their_summary() {
    // The exit code must agree with the summary's count of failed worlds, and every failing
    // world must leave its scenario file and history: what a user needs to look into it.
    let cluster = Cluster::start(1).expect("etcd starts");
    let out = tempfile::tempdir().unwrap();
    let endpoint = cluster.endpoint(0);
    println!("seeds from {FIRST_SEED}: worlds longer than 90 s are skipped, two are played");
    let code = explore(&[
        "--endpoints",
        &endpoint,
        "--first-seed",
        FIRST_SEED,
        "--seeds",
        "2",
        "--size",
        "small",
        "--max-duration",
        "90s",
        "--out",
        &out.path().display().to_string(),
        "--name",
        "run",
    ])
    .expect("explore runs");
    let dir = out.path().join("run");
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("a summary");
    println!("{summary}");
    let counts = summary
        .lines()
        .skip_while(|l| !l.starts_with("| worlds played"))
        .nth(2)
        .expect("the counts row");
    let cells: Vec<u64> = counts
        .split('|')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let [played, passed, failed, _skipped] = cells[..] else {
        panic!("four counts: {counts}");
    };
    assert_eq!(played, 2, "{summary}");
    assert_eq!(passed + failed, played, "{summary}");
    let expected = if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    assert_eq!(code, expected, "{summary}");
    for seed in failing_seeds(&summary) {
        assert!(dir.join(format!("worlds/etcd-seed-{seed}.toml")).is_file());
        assert!(dir
            .join(format!("histories/etcd-seed-{seed}.jsonl"))
            .is_file());
    }
}

/// The seeds the summary's table of worlds marks as failed.
fn failing_seeds(summary: &str) -> Vec<String> {
    summary
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("FAILED"))
        .filter_map(|l| l.split('|').nth(1).map(|s| s.trim().to_string()))
        .collect()
}

#[test]
fn explore_without_endpoints_or_with_an_unreachable_cluster_is_a_clear_error() {
    // Both are errors returned before any world starts (exit code 2 from the binary), naming
    // what to do; neither panics nor plays worlds against nothing.
    let out = tempfile::tempdir().unwrap();
    let out = out.path().display().to_string();
    let missing = explore(&["--seeds", "1", "--out", &out]).expect_err("refused");
    assert!(missing.to_string().contains("--endpoints"), "{missing:#}");
    let unreachable =
        explore(&["--endpoints", "http://127.0.0.1:1", "--seeds", "1"]).expect_err("refused");
    let text = format!("{unreachable:#}");
    assert!(
        text.contains("not reachable") && text.contains("127.0.0.1:1"),
        "{text}"
    );
    assert!(!Path::new(&out).join("run").exists());
}

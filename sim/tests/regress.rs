//! `cronfence regress`, as a user runs it: a scenario whose outcome is changed on purpose fails
//! the check with a readable diff, and a blessed baseline then passes. (That every scenario file
//! matches the committed baselines is checked once, by `cargo test scenarios`: each file's test
//! compares its outcome with them, so CI does not run the whole suite twice.) The binary
//! runs from the repository root, where `scenarios/` and `reports/baselines/` are.
#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cronfence(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_cronfence"))
        .args(args)
        .current_dir(repo())
        .env("CI", "1")
        .output()
        .expect("the cronfence binary runs");
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cronfence-regress-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_scenario_changed_on_purpose_fails_with_a_diff() {
    let dir = tempdir("changed");
    let original = std::fs::read_to_string(repo().join("scenarios/leader_crash.toml")).unwrap();
    // Same name, but the successor does not catch up: the ticks the crash cost go missing.
    let changed = dir.join("leader_crash.toml");
    std::fs::write(
        &changed,
        format!("{original}\n[variant]\ncatch_up = false\n"),
    )
    .unwrap();
    let output = cronfence(&["regress", "--backend", "memory", changed.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for line in [
        "REGRESSION leader_crash: no longer meets its expectation",
        "REGRESSION leader_crash: no_gap violations 0 → ",
        "(verdict pass → violated)",
        "regress --bless",
    ] {
        assert!(stdout.contains(line), "`{line}` missing from:\n{stdout}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bless_writes_a_baseline_that_then_passes() {
    let dir = tempdir("bless");
    let baselines = dir.join("baselines").display().to_string();
    let scenario = repo()
        .join("scenarios/leader_crash.toml")
        .display()
        .to_string();
    let missing = cronfence(&["regress", "--baseline", &baselines, &scenario]);
    assert_eq!(missing.status.code(), Some(2), "no baseline is an error");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--bless"));
    let args = [
        "regress",
        "--backend",
        "memory",
        "--baseline",
        &baselines,
        &scenario,
    ];
    let blessed = cronfence(&[&args[..], &["--bless"]].concat());
    assert!(blessed.status.success());
    assert!(dir.join("baselines/memory.toml").is_file());
    assert!(cronfence(&args).status.success());
    std::fs::remove_dir_all(dir).unwrap();
}

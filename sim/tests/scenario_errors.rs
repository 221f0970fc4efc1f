//! Malformed scenario files are rejected with file, line, column and a one-line fix hint — never
//! a panic, never silently ignored keys.

use std::path::Path;

use cronfence_sim::scenario::{parse, ScenarioError};

const GOOD: &str = r#"
description = "ok"
duration = "1m"

[[jobs]]
id = "j"
every = "1s"

[expect]
outcome = "pass"
"#;

fn error(text: &str) -> ScenarioError {
    parse(Path::new("bad.toml"), text).expect_err("must be rejected")
}

#[test]
fn a_good_file_loads() {
    parse(Path::new("good.toml"), GOOD).expect("loads");
}

#[test]
fn an_unknown_key_is_located_with_a_hint() {
    let e = error(&GOOD.replace("duration = \"1m\"", "duration = \"1m\"\nnodez = 3"));
    assert_eq!((e.line, e.column), (4, 1), "{e}");
    assert!(e.message.contains("nodez"), "{e}");
    assert!(e.hint.contains("spelling"), "{e}");
    assert!(e.to_string().starts_with("bad.toml:4:1: "), "{e}");
}

#[test]
fn a_bad_duration_is_located() {
    let e = error(&GOOD.replace("every = \"1s\"", "every = \"one second\""));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.hint.contains("30s"), "{e}");
}

#[test]
fn a_zero_interval_is_refused() {
    let e = error(&GOOD.replace("every = \"1s\"", "every = \"0s\""));
    assert!(e.message.contains("interval"), "{e}");
}

#[test]
fn an_unknown_fault_points_at_its_kind() {
    let text = format!("{GOOD}\n[[faults]]\nfault = \"meteor\"\nat = \"10s\"\n");
    let e = error(&text);
    assert_eq!(e.line, 13, "{e}");
    assert!(
        e.message.contains("meteor") && e.hint.contains("crash"),
        "{e}"
    );
}

#[test]
fn a_fault_missing_its_parameter_says_which() {
    let text = format!("{GOOD}\n[[faults]]\nfault = \"clock_offset\"\nat = \"10s\"\n");
    let e = error(&text);
    assert!(e.message.contains("needs `offset`"), "{e}");
}

#[test]
fn an_impossible_plan_is_refused() {
    let text = format!("{GOOD}\n[[faults]]\nfault = \"crash\"\nat = \"2m\"\n");
    let e = error(&text);
    assert!(e.message.contains("outside the run"), "{e}");
    let e = error(&format!(
        "{GOOD}\n[[faults]]\nfault = \"crash\"\nnode = \"node-7\"\nat = \"10s\"\n"
    ));
    assert!(e.message.contains("node-7") && e.line == 14, "{e}");
}

#[test]
fn an_expectation_that_contradicts_itself_is_refused() {
    let e = error(&GOOD.replace("outcome = \"pass\"", "outcome = \"violations\""));
    assert!(e.hint.contains("outcome"), "{e}");
}

#[test]
fn a_bad_cron_field_is_located_and_named() {
    // The error points at the expression and names the field and what it allows.
    let e = error(&GOOD.replace("every = \"1s\"", "cron = \"0 25 * * *\""));
    assert_eq!(e.line, 7, "{e}");
    assert!(
        e.message.contains("hour field `25`") && e.message.contains("0-23"),
        "{e}"
    );
}

#[test]
fn an_unknown_zone_points_at_tz() {
    let e = error(&GOOD.replace(
        "every = \"1s\"",
        "cron = \"0 9 * * *\"\ntz = \"Mars/Olympus\"",
    ));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("Mars/Olympus"), "{e}");
    assert!(e.hint.contains("IANA"), "{e}");
}

#[test]
fn every_and_cron_together_are_refused() {
    let e = error(&GOOD.replace("every = \"1s\"", "every = \"1s\"\ncron = \"* * * * *\""));
    assert!(e.message.contains("not both"), "{e}");
}

#[test]
fn a_bad_dst_policy_lists_the_allowed_values() {
    let e = error(&GOOD.replace(
        "every = \"1s\"",
        "cron = \"30 2 * * *\"\ndst_fold = \"twice\"",
    ));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.hint.contains("\"both\""), "{e}");
}

#[test]
fn a_local_zone_needs_the_nodes_zones() {
    let e = error(&GOOD.replace("every = \"1s\"", "cron = \"0 9 * * *\"\ntz = \"local\""));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("[node] zones"), "{e}");
}

#[test]
fn node_zones_are_one_valid_zone_per_node() {
    let few = error(&GOOD.replace(
        "duration = \"1m\"",
        "duration = \"1m\"\n[node]\nzones = [\"UTC\"]",
    ));
    assert!(few.message.contains("1 zones for 3 nodes"), "{few}");
    let bad = error(&GOOD.replace(
        "duration = \"1m\"",
        "duration = \"1m\"\n[node]\nzones = [\"UTC\", \"Mars/Olympus\", \"UTC\"]",
    ));
    assert!(bad.message.contains("Mars/Olympus"), "{bad}");
    assert!(bad.hint.contains("Asia/Tokyo"), "{bad}");
}

/// A member fault: real time only, so the file says why and lists no simulated backend.
fn member_fault(extra: &str) -> String {
    GOOD.replace(
        "duration = \"1m\"",
        "duration = \"1m\"\nbackends = []\nnot_simulated = \"a cluster's member faults\"",
    ) + &format!("\n[[faults]]\nfault = \"member_pause\"\nat = \"10s\"\nduration = \"5s\"\n{extra}")
}

#[test]
fn a_member_fault_loads_in_a_real_time_only_file() {
    parse(
        Path::new("m.toml"),
        &member_fault("member = \"follower\"\n"),
    )
    .expect("loads");
    parse(Path::new("m.toml"), &member_fault("member = \"2\"\n")).expect("loads");
}

#[test]
fn member_faults_are_refused_where_they_cannot_play_or_name_no_member() {
    let e = error(&member_fault("member = \"3\"\n"));
    assert!(e.message.contains("no etcd member `3`"), "{e}");
    let e = error(&member_fault("node = \"leader\"\n"));
    assert!(e.message.contains("hits an etcd member, not a node"), "{e}");
    let simulated = format!("{GOOD}\n[[faults]]\nfault = \"member_crash\"\nat = \"10s\"\n");
    let e = error(&simulated);
    assert!(e.message.contains("cannot be injected on memory"), "{e}");
    assert!(e.hint.contains("not_simulated"), "{e}");
    let e = error(&member_fault("").replace("backends = []", "backends = [\"memory\"]"));
    assert!(e.message.contains("not_simulated says"), "{e}");
    let crash = format!("{GOOD}\n[[faults]]\nfault = \"crash\"\nat = \"10s\"\nmember = \"0\"\n");
    let e = error(&crash);
    assert!(e.message.contains("member"), "{e}");
}

#[test]
fn member_faults_play_one_at_a_time_in_files_real_time_plays() {
    let overlapping = member_fault("")
        + "\n[[faults]]\nfault = \"member_crash\"\nat = \"12s\"\nduration = \"5s\"\n";
    let e = error(&overlapping);
    assert!(e.message.contains("overlaps faults.0"), "{e}");
    let restart = member_fault("")
        + "\n[[faults]]\nfault = \"backend_restart\"\nat = \"14s\"\nduration = \"5s\"\n";
    let e = error(&restart);
    assert!(e.message.contains("never with a backend_restart"), "{e}");
    let after = member_fault("")
        + "\n[[faults]]\nfault = \"member_crash\"\nat = \"15s\"\nduration = \"5s\"\n";
    parse(Path::new("m.toml"), &after).expect("one after the other loads");
    let no_member = GOOD.replace(
        "duration = \"1m\"",
        "duration = \"1m\"\nbackends = []\nnot_simulated = \"why\"",
    );
    let e = error(&no_member);
    assert!(e.message.contains("no member fault"), "{e}");
    let long = member_fault("").replace("duration = \"1m\"", "duration = \"6m\"");
    let e = error(&long);
    assert!(e.message.contains("longer than"), "{e}");
    let short_ttl = member_fault("") + "\n[node]\nlease_ttl = \"1500ms\"\n";
    let e = error(&short_ttl);
    assert!(e.message.contains("on etcd"), "{e}");
}

#[test]
fn a_real_time_scale_must_leave_a_lease_etcd_holds_on_interval_jobs() {
    let scaled = |factor: &str| {
        GOOD.replace(
            "duration = \"1m\"",
            &format!("duration = \"1m\"\nreal_time_scale = {factor}"),
        )
    };
    parse(Path::new("s.toml"), &scaled("0.2")).expect("TTL 10 s becomes 2 s");
    let e = error(&scaled("0.25"));
    assert!(e.message.contains("which etcd cannot hold"), "{e}");
    let e = error(&scaled("1.5"));
    assert!(e.message.contains("not a factor"), "{e}");
    let cron = scaled("0.2").replace("every = \"1s\"", "cron = \"0 * * * * *\"");
    let e = error(&cron);
    assert!(e.message.contains("do not scale"), "{e}");
}

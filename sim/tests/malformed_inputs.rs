//! Bad input never aborts: malformed scenario files, written to a temporary folder, are fed to
//! the built `cronfence` binary (`run` and `report`). Each must exit with code 2 and print a
//! located error (`file:line:column: message` and a `hint:` line) — never a panic (101), an
//! abort (134), a hang or a run that silently accepts the file. Errors come at load, so no
//! simulation runs and the test is fast.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A valid file; each case edits it.
const GOOD: &str = r#"description = "ok"
duration = "1m"

[[jobs]]
id = "j"
every = "1s"

[expect]
outcome = "pass"
"#;

/// A malformed file: its name, its text, a fragment the message or hint must contain, and the
/// line the error must point at (0: not checked).
struct Case {
    name: &'static str,
    text: Vec<u8>,
    says: &'static str,
    line: usize,
}

fn case(name: &'static str, text: impl Into<String>, says: &'static str, line: usize) -> Case {
    Case {
        name,
        text: text.into().into_bytes(),
        says,
        line,
    }
}

/// GOOD with `from` replaced by `to`.
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "GOOD has no `{from}`");
    GOOD.replacen(from, to, 1)
}

/// GOOD with more lines at the top (after `duration`).
fn top(lines: &str) -> String {
    edit(
        "duration = \"1m\"\n",
        &format!("duration = \"1m\"\n{lines}\n"),
    )
}

/// GOOD with a table appended.
fn with(table: &str) -> String {
    format!("{GOOD}\n{table}\n")
}

/// GOOD with one more job entry.
fn job(entry: &str) -> String {
    edit("[expect]", &format!("[[jobs]]\n{entry}\n\n[expect]"))
}

/// GOOD with one fault (`at = "10s"` unless the entry says otherwise).
fn fault(entry: &str) -> String {
    let at = if entry.contains("at =") {
        ""
    } else {
        "at = \"10s\"\n"
    };
    with(&format!("[[faults]]\n{at}{entry}"))
}

fn memory_only(text: String) -> String {
    text.replacen(
        "duration = \"1m\"\n",
        "duration = \"1m\"\nbackends = [\"memory\"]\nnot_on_etcd_sim = \"test\"\n",
        1,
    )
}

fn cases() -> Vec<Case> {
    let groups = [
        ids_and_budgets(),
        settings_and_durations(),
        faults_and_plans(),
    ];
    groups.into_iter().flatten().collect()
}

/// Job ids, and files over a budget (jobs, nodes, ticks, renewals, run length, faults, clock
/// shift, seeds).
fn ids_and_budgets() -> Vec<Case> {
    vec![
        case(
            "duplicate_id",
            job("id = \"j\"\nevery = \"2s\""),
            "`j` is defined twice",
            9,
        ),
        case(
            "duplicate_replica_id",
            edit(
                "id = \"j\"\nevery = \"1s\"",
                "id = \"a\"\nevery = \"1s\"\ncount = 2\n\n[[jobs]]\nid = \"a-0\"\nevery = \"2s\"",
            ),
            "`a-0` is defined twice",
            10,
        ),
        case(
            "bad_id",
            edit("id = \"j\"", "id = \"a b\""),
            "letters, digits",
            5,
        ),
        case(
            "huge_count",
            edit("every = \"1s\"", "every = \"1s\"\ncount = 1000000000"),
            "budget of 1000 jobs",
            7,
        ),
        case(
            "huge_count_spooled",
            edit("every = \"1s\"", "every = \"1s\"\ncount = 1000000000")
                .replace("duration = \"1m\"\n", "duration = \"1m\"\nspooled = true\n"),
            "budget of 20000 jobs",
            8,
        ),
        case(
            "spooled_expects_records",
            top("spooled = true").replace(
                "outcome = \"pass\"",
                "outcome = \"pass\"\nrecords = [\"tick_started\"]",
            ),
            "does not hold",
            11,
        ),
        case(
            "count_zero",
            edit("every = \"1s\"", "every = \"1s\"\ncount = 0"),
            "count = 0",
            7,
        ),
        case("nodes_zero", top("nodes = 0"), "use 1 to 64 nodes", 3),
        case("nodes_huge", top("nodes = 1000"), "use 1 to 64 nodes", 3),
        case(
            "every_nanosecond",
            edit("every = \"1s\"", "every = \"1ns\"").replace("\"1m\"", "\"1h\""),
            "budget of 1000000 ticks",
            6,
        ),
        case(
            "cron_every_second_for_a_year",
            edit("every = \"1s\"", "cron = \"* * * * * *\"").replace("\"1m\"", "\"8000h\""),
            "budget of 1000000 ticks",
            6,
        ),
        case(
            "renewals_for_a_month",
            edit("every = \"1s\"", "every = \"1h\"").replace("\"1m\"", "\"720h\""),
            "lease renewals",
            2,
        ),
        case(
            "duration_too_long",
            edit("\"1m\"", "\"100000000h\""),
            "longest run",
            2,
        ),
        case(
            "random_faults_too_many",
            with("[random]\nevery = \"1s\"\nkinds = [\"crash\"]").replace("\"1m\"", "\"2h\""),
            "budget of 1000 faults",
            0,
        ),
        case(
            "clock_shift_too_far",
            fault("fault = \"clock_offset\"\noffset = \"5000h\"")
                + "\n[[faults]]\nfault = \"clock_jump\"\nat = \"20s\"\nby = \"-5000h\"\n",
            "move a clock by",
            0,
        ),
        case("seeds_huge", top("seeds = 1000000000"), "1 to 10000", 3),
    ]
}

/// `[node]` settings, durations, instants.
fn settings_and_durations() -> Vec<Case> {
    vec![
        case(
            "ttl_zero",
            with("[node]\nlease_ttl = \"0s\""),
            "must be positive",
            12,
        ),
        case(
            "ttl_negative",
            with("[node]\nlease_ttl = \"-10s\""),
            "must be positive",
            12,
        ),
        case(
            "ttl_below_memory",
            memory_only(with("[node]\nlease_ttl = \"50ms\"")),
            "100ms",
            14,
        ),
        case(
            "ttl_fraction_on_etcd",
            with("[node]\nlease_ttl = \"1500ms\""),
            "whole seconds",
            12,
        ),
        case(
            "ttl_one_second_on_etcd",
            with("[node]\nlease_ttl = \"1s\""),
            "at least lease_ttl = \"2s\"",
            12,
        ),
        case(
            "request_timeout_zero",
            with("[node]\nrequest_timeout = \"0s\""),
            "request_timeout",
            12,
        ),
        case(
            "unreachable_after_zero",
            with("[node]\nunreachable_after = \"0s\""),
            "unreachable_after",
            12,
        ),
        case(
            "zones_mismatch",
            with("[node]\nzones = [\"UTC\"]"),
            "1 zones for 3 nodes",
            12,
        ),
        // Durations.
        case("days", edit("\"1m\"", "\"3d\""), "\"72h\"", 2),
        case(
            "weeks",
            edit("every = \"1s\"", "every = \"2w\""),
            "\"336h\"",
            6,
        ),
        case("months", edit("\"1m\"", "\"1mo\""), "no fixed", 2),
        case(
            "run_time_huge",
            edit(
                "every = \"1s\"",
                "every = \"1s\"\nrun_time = \"100000000h\"",
            ),
            "longer than any run",
            7,
        ),
        case(
            "warmup_negative",
            with("[check]\nwarmup = \"-5s\""),
            "must not be negative",
            12,
        ),
        // Instants.
        case(
            "start_near_the_end_of_time",
            top("start = \"9999-12-30T00:00:00Z\""),
            "3000",
            3,
        ),
        case(
            "start_far_future",
            top("start = \"5000-01-01T00:00:00Z\""),
            "3000",
            3,
        ),
    ]
}

/// Faults, random plans, seeds, jobs, backends, schedules, and the file's encoding.
fn faults_and_plans() -> Vec<Case> {
    vec![
        case(
            "fault_after_the_run",
            fault("fault = \"crash\"\nat = \"2m\""),
            "outside the run",
            12,
        ),
        case(
            "fault_negative_at",
            fault("fault = \"crash\"\nat = \"-1s\""),
            "outside the run",
            12,
        ),
        case(
            "fault_negative_duration",
            fault("fault = \"crash\"\nduration = \"-1s\""),
            "must be positive",
            14,
        ),
        case(
            "target_beyond_nodes",
            fault("fault = \"crash\"\nnode = \"node-99\""),
            "node-99",
            14,
        ),
        case(
            "node_fault_on_the_backend",
            fault("fault = \"crash\"\nnode = \"backend\""),
            "hits a node",
            14,
        ),
        case(
            "strobe_period_zero",
            fault("fault = \"clock_strobe\"\namplitude = \"1s\"\nperiod = \"0s\""),
            "period",
            15,
        ),
        case(
            "ppm_huge",
            fault("fault = \"clock_drift\"\nppm = 9223372036854775807"),
            "1000000",
            14,
        ),
        case(
            "key_the_kind_ignores",
            fault("fault = \"crash\"\nppm = 5"),
            "does not take `ppm`",
            14,
        ),
        case(
            "ambiguous_count_huge",
            memory_only(fault("fault = \"ambiguous_commit\"\ncount = 4000000000")),
            "count",
            16,
        ),
        // Random plans.
        case(
            "random_every_zero",
            with("[random]\nevery = \"0s\"\nkinds = [\"crash\"]"),
            "shorter than 1s",
            12,
        ),
        case(
            "random_every_nanosecond",
            with("[random]\nevery = \"1ns\"\nkinds = [\"crash\"]"),
            "shorter than 1s",
            12,
        ),
        case(
            "random_no_kinds",
            with("[random]\nevery = \"10s\"\nkinds = []"),
            "at least one kind",
            13,
        ),
        case(
            "random_max_duration_zero",
            with("[random]\nevery = \"10s\"\nkinds = [\"crash\"]\nmax_duration = \"0s\""),
            "max_duration",
            14,
        ),
        // Seeds, jobs, backends, schedules.
        case("seeds_zero", top("seeds = 0"), "0 seeds", 3),
        case("seeds_empty", top("seeds = []"), "0 seeds", 3),
        case(
            "no_jobs",
            "description = \"x\"\nduration = \"1m\"\njobs = []\n[expect]\noutcome = \"pass\"\n",
            "at least one [[jobs]]",
            3,
        ),
        case(
            "no_backends",
            top("backends = []\nnot_on_etcd_sim = \"x\""),
            "never run",
            3,
        ),
        case(
            "cron_never_fires",
            edit("every = \"1s\"", "cron = \"0 0 31 2 *\""),
            "never fires",
            6,
        ),
        case(
            "go_micro_cron",
            edit("every = \"1s\"", "cron = \"* * * * *\"") + "\n[go_micro]\n",
            "interval jobs only",
            6,
        ),
        // Files.
        Case {
            name: "not_utf8",
            text: b"description = \"caf\xe9\"\n".to_vec(),
            says: "not valid UTF-8 (byte 18",
            line: 1,
        },
    ]
}

/// Runs the binary with `args`, killing it (and failing) if it takes longer than a minute.
fn cronfence(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cronfence"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while child.try_wait().expect("waitable").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("cronfence {args:?} hung for a minute");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// The `line:column` of the located error about `path` in `text`, if there is one with a hint.
fn location(text: &str, path: &Path) -> Option<(usize, usize)> {
    let prefix = format!("{}:", path.display());
    let rest = &text[text.find(&prefix)? + prefix.len()..];
    let mut parts = rest.splitn(3, ':');
    let line = parts.next()?.parse().ok()?;
    let column = parts.next()?.parse().ok()?;
    let message = parts.next()?;
    message.contains("\n  hint: ").then_some((line, column))
}

/// A fresh temporary folder for this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cronfence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Feeds `path` to `run` and to `report`; both must exit 2 with a located error saying `says`.
fn assert_refused(path: &Path, says: &str, line: usize, out: &Path) -> Vec<String> {
    let file = path.to_str().expect("utf-8 path");
    let out = out.to_str().expect("utf-8 path");
    let mut problems = Vec::new();
    for args in [
        vec!["run", file],
        vec!["report", file, "--out", out, "--name", "r"],
    ] {
        let output = cronfence(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let command = args[0];
        if output.status.code() != Some(2) {
            problems.push(format!(
                "{command} {file}: exit {:?}, not 2\n{stderr}",
                output.status
            ));
            continue;
        }
        match location(&stderr, path) {
            None => problems.push(format!("{command} {file}: no located error\n{stderr}")),
            Some((l, _)) if line != 0 && l != line => problems.push(format!(
                "{command} {file}: points at line {l}, not {line}\n{stderr}"
            )),
            Some(_) if !stderr.contains(says) => {
                problems.push(format!("{command} {file}: does not say `{says}`\n{stderr}"))
            }
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn every_malformed_file_is_refused_with_a_located_error_and_exit_code_2() {
    // Each case is a file the loader once panicked on, aborted on, hung on or ran silently;
    // exit code 2 with `file:line:column` and a hint, for `run` and `report`, proves it is now
    // a load error, and the fragment proves it is the right one.
    let dir = temp_dir("malformed");
    let mut problems = Vec::new();
    let all = cases();
    for case in &all {
        let path = dir.join(format!("{}.toml", case.name));
        std::fs::write(&path, &case.text).expect("write the case");
        problems.extend(assert_refused(
            &path,
            case.says,
            case.line,
            &dir.join("reports"),
        ));
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases:\n\n{}",
        problems.len(),
        all.len(),
        problems.join("\n\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_and_a_folder_each_get_their_own_hint() {
    // `run` reads exactly one file: a wrong path and a folder are both errors (2), each with
    // the fix that fits it rather than one generic "check the path".
    let dir = temp_dir("paths");
    let missing = dir.join("missing.toml");
    let output = cronfence(&["run", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no such file") && location(&stderr, &missing).is_some(),
        "{stderr}"
    );
    let output = cronfence(&["run", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("folder") && stderr.contains("report"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_file_says_permission_denied() {
    // Only meaningful for a user the permission bits bind (root reads anything): then the
    // error names the permission, not the path.
    let dir = temp_dir("unreadable");
    let file = dir.join("secret.toml");
    std::fs::write(&file, GOOD).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    if std::fs::read(&file).is_err() {
        let output = cronfence(&["run", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("permission denied") && stderr.contains("chmod"),
            "{stderr}"
        );
    } else {
        println!("skipped: this user reads files whatever their permission bits");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_backend_the_scenario_does_not_list_is_refused() {
    // A memory-only scenario's faults may not exist on etcd-sim: `run --backend etcd-sim` must
    // say so (exit 2) instead of running without them.
    let dir = temp_dir("backend");
    let file = dir.join("memory_only.toml");
    std::fs::write(&file, memory_only(GOOD.to_string())).unwrap();
    let output = cronfence(&["run", file.to_str().unwrap(), "--backend", "etcd-sim"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not run on etcd-sim"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scenario_in_the_folder_loads() {
    // The new rules and budgets refuse none of the scenarios the suite runs.
    let found = cronfence_sim::suite::discover(&[]).expect("the scenarios folder");
    let failures: Vec<_> = found.failures.iter().map(|f| f.error.clone()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        found.scenarios.len() > 30,
        "{} scenarios",
        found.scenarios.len()
    );
}

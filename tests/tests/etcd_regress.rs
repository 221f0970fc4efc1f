//! `cronfence regress --backend etcd --endpoints ...` (the real build's CLI, called in-process)
//! against a real etcd server this test starts: two short real-time scenarios (a leader crash;
//! a clock ahead, ambiguous commits, a one-way partition, a slow backend and a graceful stop)
//! are blessed into a fresh baseline, then compared with it; a scenario the real world cannot
//! play (a backend restart) is left out with its reason. About a minute.
#![cfg(not(madsim))]

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cronfence_it::etcd::Cluster;
use cronfence_sim::cli::{self, Cli};

const PLAYABLE: &str = r#"
description = "Real time: three nodes, a job every second, the leader crashes for 4 s."
nodes = 3
duration = "24s"

[node]
lease_ttl = "2s"
request_timeout = "500ms"
unreachable_after = "2s"

[[jobs]]
id = "tick"
every = "1s"

[[faults]]
fault = "crash"
at = "8s"
duration = "4s"

[check]
warmup = "2s"
cooldown = "3s"

[expect]
outcome = "pass"
"#;

const PLAYABLE_FAULTS: &str = r#"
description = """
Real time: three nodes; the leader's clock reads 3 s ahead for 8 s, two claims or commits lose
their answers, a follower's requests stop reaching etcd for 4 s, every request takes 300 ms
more for 3 s, and the leader stops gracefully for 3 s. Every guarantee holds."""
nodes = 3
duration = "30s"

[node]
lease_ttl = "2s"
request_timeout = "500ms"
unreachable_after = "2s"

[[jobs]]
id = "tick"
every = "1s"

[[jobs]]
id = "owed"
every = "2s"
delivery = "at_least_once"

[[faults]]
fault = "clock_offset"
node = "leader"
offset = "3s"
at = "5s"
duration = "8s"

[[faults]]
fault = "ambiguous_commit"
count = 2
at = "10s"

[[faults]]
fault = "partition"
direction = "to_backend"
node = "follower"
at = "14s"
duration = "4s"

[[faults]]
fault = "backend_latency"
latency = "300ms"
at = "19s"
duration = "3s"

[[faults]]
fault = "stop"
node = "leader"
at = "23s"
duration = "3s"

[check]
warmup = "2s"
cooldown = "3s"

[expect]
outcome = "pass"
"#;

const UNPLAYABLE: &str = r#"
description = "A backend restart, which needs the etcd process in the harness's hands."
duration = "20s"

[[jobs]]
id = "tick"
every = "1s"

[[faults]]
fault = "backend_restart"
at = "5s"
duration = "5s"

[expect]
outcome = "pass"
"#;

fn regress(endpoint: &str, dir: &Path, bless: bool) -> ExitCode {
    let mut args = vec![
        "cronfence".to_string(),
        "regress".into(),
        "--backend".into(),
        "etcd".into(),
        "--endpoints".into(),
        endpoint.into(),
        "--baseline".into(),
        dir.join("baselines").display().to_string(),
        dir.join("real_leader_crash.toml").display().to_string(),
        dir.join("real_faults.toml").display().to_string(),
        dir.join("real_backend_restart.toml").display().to_string(),
    ];
    if bless {
        args.push("--bless".into());
    }
    cli::main(Cli::parse_from(args)).expect("regress runs")
}

#[test]
fn regress_blesses_a_real_cluster_baseline_then_passes_against_it() {
    let cluster = Cluster::start(1).expect("etcd starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real_leader_crash.toml"), PLAYABLE).unwrap();
    std::fs::write(dir.path().join("real_faults.toml"), PLAYABLE_FAULTS).unwrap();
    std::fs::write(dir.path().join("real_backend_restart.toml"), UNPLAYABLE).unwrap();
    let endpoint = cluster.endpoint(0);

    assert_eq!(regress(&endpoint, dir.path(), true), ExitCode::SUCCESS);
    let baseline = std::fs::read_to_string(dir.path().join("baselines/etcd.toml")).unwrap();
    println!("{baseline}");
    assert!(
        baseline.contains("[scenarios.real_leader_crash]"),
        "{baseline}"
    );
    assert!(baseline.contains("[scenarios.real_faults]"), "{baseline}");
    assert!(!baseline.contains("real_backend_restart"), "{baseline}");
    assert!(baseline.contains("as_expected = true"), "{baseline}");
    assert!(!baseline.contains("as_expected = false"), "{baseline}");
    assert!(
        baseline.contains("ms_abs = 2000.0"),
        "real-time tolerances: {baseline}"
    );
    let failovers = baseline
        .lines()
        .find_map(|l| l.strip_prefix("failovers = "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("a failover count");
    assert!(failovers >= 1, "the crash caused a failover: {baseline}");

    assert_eq!(regress(&endpoint, dir.path(), false), ExitCode::SUCCESS);
}

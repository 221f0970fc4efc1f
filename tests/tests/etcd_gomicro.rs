//! The go-micro model against a real etcd server this test starts: the article's pitfall, an
//! election id built from each node's own boot time, shows against the real thing. Three nodes
//! boot seconds apart, each builds its own election, leads it, and runs every tick: the
//! duplicate checker flags it, as the scenario expects. About half a minute.
#![cfg(not(madsim))]

use std::process::ExitCode;

use clap::Parser;
use cronfence_it::etcd::Cluster;
use cronfence_sim::cli::{self, Cli};

const RELATIVE_START: &str = r#"
description = """
go-micro's relative start on real etcd: Schedule.Time is "now + 5 s" on each node, and node-1
and node-2 boot 2 s and 4 s after node-0, so each elects itself in an election of its own."""
nodes = 3
duration = "30s"

[check]
warmup = "12s"
cooldown = "2s"

[go_micro]
start_after_boot = "5s"

[[jobs]]
id = "foo"
every = "2s"

[[faults]]
fault = "crash"
node = "node-1"
at = "0s"
duration = "2s"

[[faults]]
fault = "crash"
node = "node-2"
at = "0s"
duration = "4s"

[expect]
outcome = "violations"
violations = ["duplicate_start"]
"#;

#[test]
fn go_micro_runs_every_tick_on_every_node_against_real_etcd() {
    let cluster = Cluster::start(1).expect("etcd starts");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gomicro_relative_start_real.toml");
    std::fs::write(&file, RELATIVE_START).unwrap();
    let baselines = dir.path().join("baselines");
    let args = [
        "cronfence",
        "regress",
        "--backend",
        "etcd",
        "--endpoints",
        &cluster.endpoint(0),
        "--baseline",
        &baselines.display().to_string(),
        &file.display().to_string(),
        "--bless",
    ];
    let done = cli::main(Cli::parse_from(args)).expect("regress runs");
    assert_eq!(done, ExitCode::SUCCESS);
    let baseline = std::fs::read_to_string(baselines.join("etcd.toml")).unwrap();
    println!("{baseline}");
    assert!(baseline.contains("as_expected = true"), "{baseline}");
    let duplicates = baseline
        .lines()
        .find_map(|l| l.strip_prefix("no_duplicate = "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("a duplicate count");
    assert!(duplicates >= 3, "every node ran the ticks: {baseline}");
}

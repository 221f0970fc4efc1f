//! Real-time failover against real etcd, judged by the simulator's own checkers from the recorded
//! history: crashes (runtime shut down, no resign), pauses longer than the lease (the node's only
//! worker thread blocked), kill -9 and restart of etcd members including the raft leader, and a
//! TCP proxy that cuts one node off from etcd (both ways, or one way). Durations are scaled for
//! real time (TTL 2 s, ticks every 250 ms); each test takes about 20 s. Overlapping pauses hold
//! a node until the last one ends.
#![cfg(not(madsim))]

use std::collections::BTreeMap;
use std::time::Duration;

use cronfence::{Delivery, JobId, JobSpec, NodeConfig, Schedule};
use cronfence_it::etcd::Cluster;
use cronfence_it::proxy::Proxy;
use cronfence_it::world::RealWorld;
use cronfence_sim::expect;
use cronfence_sim::fault::Direction;

fn world(prefix: &str) -> RealWorld {
    let mut config = NodeConfig::new("unnamed");
    config.lease_ttl = Duration::from_secs(2);
    config.request_timeout = Duration::from_millis(500);
    config.unreachable_after = Duration::from_secs(2);
    config.retry_max = Duration::from_millis(500);
    let schedule = Schedule::every(
        "2020-01-01T00:00:00Z".parse().unwrap(),
        jiff::SignedDuration::from_millis(250),
    )
    .unwrap();
    let mut at_least_once = JobSpec::new(schedule.clone());
    at_least_once.delivery = Delivery::AtLeastOnce;
    let jobs = BTreeMap::from([
        (JobId::new("at-most-once").unwrap(), JobSpec::new(schedule)),
        (JobId::new("at-least-once").unwrap(), at_least_once),
    ]);
    RealWorld::new(config, prefix, jobs)
}

async fn sleep(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

fn judge(world: RealWorld) {
    let (history, verdict) = world.finish(Duration::from_secs(2), Duration::from_secs(3));
    let starts = history
        .node_events()
        .filter(|(_, e)| matches!(e, cronfence::NodeEvent::TickStarted { .. }))
        .count();
    println!(
        "{} records, {starts} starts, {} excused, {} reruns",
        history.records.len(),
        verdict.excused.len(),
        verdict.reruns.len()
    );
    assert!(starts > 50, "the jobs ran: {starts} starts");
    if !verdict.passed() {
        let path =
            std::env::temp_dir().join(format!("cronfence-real-{}.jsonl", std::process::id()));
        std::fs::write(&path, history.to_jsonl()).unwrap();
        panic!(
            "guarantees broken (history: {}):\n{}",
            path.display(),
            expect::list(&verdict.violations)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_crash_and_pause_on_a_single_member() {
    let cluster = Cluster::start(1).unwrap();
    let mut world = world("/failover-single");
    for name in ["node-a", "node-b", "node-c"] {
        world.start(name, cluster.endpoints());
    }
    sleep(4.0).await;
    let first = world.leader().expect("a leader after 4 s");
    world.crash(&first);
    sleep(5.0).await;
    world.restart(&first);
    sleep(2.0).await;
    let second = world.leader().expect("a leader after the crash");
    assert_ne!(first, second, "another node took over");
    world.pause(&second, Duration::from_secs(4));
    sleep(7.0).await;
    judge(world);
}

#[tokio::test(flavor = "multi_thread")]
async fn etcd_member_kills_and_a_black_holed_node_on_a_three_member_cluster() {
    let mut cluster = Cluster::start(3).unwrap();
    let proxy = Proxy::start(&cluster.endpoint(0)).await.unwrap();
    let mut world = world("/failover-cluster");
    world.start("node-a", vec![proxy.endpoint()]);
    world.start("node-b", cluster.endpoints());
    world.start("node-c", cluster.endpoints());
    sleep(3.0).await;
    let raft_leader = cluster.leader().unwrap();
    cluster.kill(raft_leader);
    sleep(4.0).await;
    cluster.restart(raft_leader).unwrap();
    sleep(2.0).await;
    let other = (raft_leader + 1) % 3;
    cluster.kill(other);
    sleep(3.0).await;
    cluster.restart(other).unwrap();
    sleep(1.0).await;
    world.note_partition("node-a", true);
    proxy.hold(Direction::Both, true);
    sleep(5.0).await;
    proxy.hold(Direction::Both, false);
    world.note_partition("node-a", false);
    sleep(4.0).await;
    judge(world);
}

#[test]
fn one_way_partitions_of_the_leader_hand_over_and_heal() {
    // Each node reaches etcd through its own proxy. The leader's requests stop reaching etcd for
    // 5 s (its lease lapses: another node leads), then a later leader's answers stop coming back
    // for 5 s; both heal, and every tick ran exactly once as the policies say.
    let cluster = Cluster::start(1).unwrap();
    let mut world = world("/failover-one-way").with_proxies();
    for name in ["node-a", "node-b", "node-c"] {
        world.start(name, cluster.endpoints());
    }
    std::thread::sleep(Duration::from_secs(3));
    let first = world.leader().expect("a leader after 3 s");
    world.partition(&first, Direction::ToBackend, true, None);
    std::thread::sleep(Duration::from_secs(5));
    world.partition(&first, Direction::ToBackend, false, None);
    let second = world.leader().expect("a leader after the partition");
    assert_ne!(first, second, "another node took over");
    std::thread::sleep(Duration::from_secs(2));
    let third = world.leader().expect("a leader");
    world.partition(&third, Direction::FromBackend, true, None);
    std::thread::sleep(Duration::from_secs(5));
    world.partition(&third, Direction::FromBackend, false, None);
    std::thread::sleep(Duration::from_secs(4));
    judge(world);
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_pauses_hold_a_node_until_the_last_one_ends() {
    // Paused for 3 s, and again 1 s later for 3 s: the node is silent for 4 s, until the second
    // pause's end, as the fault log says — not 6 s, the second pause slept after the first.
    let cluster = Cluster::start(1).unwrap();
    let mut world = world("/overlapping-pauses");
    world.start("node-a", cluster.endpoints());
    sleep(4.0).await;
    world.pause("node-a", Duration::from_secs(3));
    sleep(1.0).await;
    world.pause("node-a", Duration::from_secs(3));
    sleep(7.0).await;
    let (history, _) = world.finish(Duration::from_secs(2), Duration::from_secs(1));
    let times: Vec<u64> = history
        .records
        .iter()
        .filter(|r| r.node == "node-a")
        .map(|r| r.t_ns)
        .collect();
    let silent = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .expect("records");
    assert!(
        (3_800_000_000..5_000_000_000).contains(&silent),
        "node-a was silent for {silent} ns"
    );
}

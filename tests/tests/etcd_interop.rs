//! cronfence speaks the standard etcd election protocol: `etcdctl elect -l` shows the cronfence
//! leader's value, and while an outside `etcdctl elect` holds the election no cronfence node runs
//! that election's jobs — they run as soon as the outsider resigns.
#![cfg(not(madsim))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cronfence::{JobId, JobSpec, NodeConfig, NodeEvent, Schedule};
use cronfence_it::etcd::Cluster;
use cronfence_it::world::RealWorld;
use cronfence_sim::history::What;

fn world(prefix: &str) -> RealWorld {
    let mut config = NodeConfig::new("unnamed");
    config.group = "g".into();
    config.lease_ttl = Duration::from_secs(2);
    config.request_timeout = Duration::from_millis(500);
    let schedule = Schedule::every(
        "2020-01-01T00:00:00Z".parse().unwrap(),
        jiff::SignedDuration::from_millis(250),
    )
    .unwrap();
    let jobs = BTreeMap::from([(JobId::new("tick").unwrap(), JobSpec::new(schedule))]);
    RealWorld::new(config, prefix, jobs)
}

fn starts(history: &cronfence_sim::history::History) -> usize {
    history
        .records
        .iter()
        .filter(|r| matches!(r.what, What::Node(NodeEvent::TickStarted { .. })))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn etcdctl_sees_the_cronfence_leader() {
    let cluster = Cluster::start(1).unwrap();
    let mut world = world("/interop-a");
    world.start("node-a", cluster.endpoints());
    world.start("node-b", cluster.endpoints());
    let mut leader = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        leader = world.leader();
        if leader.is_some() {
            break;
        }
    }
    let leader = leader.expect("a cronfence node leads");
    // `etcdctl elect -l` keeps listening; read what it prints first, then stop it.
    let mut listener = Command::new("etcdctl")
        .args([
            "--endpoints",
            &cluster.endpoints().join(","),
            "elect",
            "-l",
            "/interop-a/election/g/",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = listener.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(2)
            .collect::<Vec<_>>()
    });
    let started = std::time::Instant::now();
    while !reader.is_finished() && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = listener.kill();
    let _ = listener.wait();
    let shown = reader.join().unwrap();
    assert!(
        shown.iter().any(|l| l.trim() == leader),
        "etcdctl elect -l shows {shown:?}, cronfence leader is {leader}"
    );
    world.finish(Duration::ZERO, Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outside_etcdctl_leader_keeps_every_cronfence_node_idle() {
    let cluster = Cluster::start(1).unwrap();
    let endpoints = cluster.endpoints();
    let mut outsider = Command::new("etcdctl")
        .args([
            "--endpoints",
            &endpoints.join(","),
            "elect",
            "/interop-b/election/g/",
            "outsider",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(outsider.stdout.take().unwrap()).lines();
    lines
        .next()
        .expect("etcdctl prints its key once elected")
        .unwrap();
    let mut world = world("/interop-b");
    world.start("node-a", endpoints.clone());
    world.start("node-b", endpoints.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        world.leader(),
        None,
        "no cronfence node may win while etcdctl holds the election"
    );
    // SIGINT makes etcdctl resign; cronfence must take over within a couple of seconds.
    Command::new("kill")
        .args(["-INT", &outsider.id().to_string()])
        .status()
        .unwrap();
    let _ = outsider.wait();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let winner = world.leader();
    let (history, verdict) = world.finish(Duration::ZERO, Duration::from_secs(10));
    assert!(
        winner.is_some(),
        "a cronfence node wins once the outsider resigned"
    );
    assert!(starts(&history) > 0, "and runs ticks");
    let duplicates: Vec<_> = verdict
        .violations
        .iter()
        .filter(|f| f.kind == "duplicate_start")
        .collect();
    assert!(duplicates.is_empty(), "{duplicates:?}");
}

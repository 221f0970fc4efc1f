//! Failover under madsim: three real nodes on the in-memory backend, faults injected by madsim.
//!
//! The backend is in-process (the simulator issue puts it on its own node); the nodes are madsim
//! nodes, so killing one drops every task it had, exactly like a crash without resign. The
//! assertions read what the job commands actually executed, not what the runner says it did, so a
//! duplicate or a missing tick cannot hide. Each test prints its seed; rerun one with
//! `MADSIM_TEST_SEED=<seed> cargo test -p cronfence --test failover <name>`.
#![cfg(madsim)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::{
    Delivery, Job, JobId, MemoryBackend, Node, NodeConfig, NodeEvent, Schedule, TickContext,
};
use jiff::{SignedDuration, Timestamp};
use madsim::runtime::{Handle, NodeHandle};

/// What the commands executed: (node, tick, attempt), in execution order.
type Executions = Arc<Mutex<Vec<(String, Timestamp, u32)>>>;
/// Every node event with its node, in order.
type Events = Arc<Mutex<Vec<(String, NodeEvent)>>>;

const INTERVAL: SignedDuration = SignedDuration::from_secs(1);

struct Cluster {
    _nodes: Vec<NodeHandle>,
    executions: Executions,
    events: Events,
}

fn anchor() -> Timestamp {
    "2020-01-01T00:00:00Z".parse().unwrap()
}

fn start_cluster(n: usize, delivery: Delivery, job_time: Duration) -> Cluster {
    println!("seed {}", Handle::current().seed());
    let backend = MemoryBackend::new();
    let executions: Executions = Default::default();
    let events: Events = Default::default();
    let nodes = (0..n)
        .map(|i| {
            let name = format!("node-{i}");
            let (backend, executions, events) =
                (backend.clone(), executions.clone(), events.clone());
            Handle::current()
                .create_node()
                .name(&name)
                .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)))
                .init(move || {
                    let (name, backend, executions, events) = (
                        name.clone(),
                        backend.clone(),
                        executions.clone(),
                        events.clone(),
                    );
                    async move {
                        let running =
                            start_node(&name, backend, executions, events, delivery, job_time);
                        std::future::pending::<()>().await;
                        drop(running);
                    }
                })
                .build()
        })
        .collect();
    Cluster {
        _nodes: nodes,
        executions,
        events,
    }
}

fn start_node(
    name: &str,
    backend: MemoryBackend,
    executions: Executions,
    events: Events,
    delivery: Delivery,
    job_time: Duration,
) -> cronfence::RunningNode {
    let mut config = NodeConfig::new(name);
    config.lease_ttl = Duration::from_secs(3);
    let node_name = name.to_string();
    let command = move |tick: TickContext| {
        let (executions, node_name) = (executions.clone(), node_name.clone());
        async move {
            executions
                .lock()
                .unwrap()
                .push((node_name, tick.scheduled_at, tick.attempt));
            tokio::time::sleep(job_time).await;
            Ok::<(), std::io::Error>(())
        }
    };
    let job = Job::new(
        JobId::new("heartbeat").unwrap(),
        Schedule::every(anchor(), INTERVAL).unwrap(),
        command,
    )
    .delivery(delivery);
    let sink_name = name.to_string();
    Node::new(config, backend)
        .events(Arc::new(move |e: &NodeEvent| {
            events.lock().unwrap().push((sink_name.clone(), e.clone()))
        }))
        .job(job)
        .unwrap()
        .start()
}

impl Cluster {
    /// The node that won the newest election.
    fn leader(&self) -> String {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .rev()
            .find_map(|(node, e)| matches!(e, NodeEvent::CampaignWon { .. }).then(|| node.clone()))
            .expect("someone won")
    }

    /// Ticks executed per scheduled instant.
    /// Ticks `node` claimed that no command ever executed.
    fn claimed_not_run(&self, node: &str) -> Vec<Timestamp> {
        let per_tick = self.runs_per_tick();
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|(n, _)| n == node)
            .filter_map(|(_, e)| match e {
                NodeEvent::TickClaimed { tick, .. } if !per_tick.contains_key(tick) => Some(*tick),
                _ => None,
            })
            .collect()
    }

    fn runs_per_tick(&self) -> BTreeMap<Timestamp, Vec<(String, u32)>> {
        let mut per_tick: BTreeMap<Timestamp, Vec<(String, u32)>> = BTreeMap::new();
        for (node, tick, attempt) in self.executions.lock().unwrap().iter() {
            per_tick
                .entry(*tick)
                .or_default()
                .push((node.clone(), *attempt));
        }
        per_tick
    }
}

/// Every tick in `[from, to]` must have run exactly once, except ticks in `lost`: at-most-once
/// ticks the crashed node had claimed but not yet run, which the contract allows to be lost.
fn assert_exactly_once(
    per_tick: &BTreeMap<Timestamp, Vec<(String, u32)>>,
    lost: &[Timestamp],
    from: Timestamp,
    to: Timestamp,
) {
    let duplicates: Vec<_> = per_tick.iter().filter(|(_, runs)| runs.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "ticks ran more than once: {duplicates:?}"
    );
    let schedule = Schedule::every(anchor(), INTERVAL).unwrap();
    let missing: Vec<_> = schedule
        .due_ticks(from - SignedDuration::from_nanos(1), to)
        .filter(|t| !per_tick.contains_key(t) && !lost.contains(t))
        .collect();
    assert!(missing.is_empty(), "ticks never ran: {missing:?}");
}

#[madsim::test]
async fn leader_crash_hands_over_without_duplicates_or_gaps() {
    // The leader dies without resigning; its lease (3 s) must expire before anyone else may lead,
    // and the new leader must catch up on every tick that came due meanwhile, running none twice.
    let cluster = start_cluster(3, Delivery::AtMostOnce, Duration::from_millis(100));
    let start = Timestamp::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let first = cluster.leader();
    Handle::current().kill(first.as_str());
    tokio::time::sleep(Duration::from_secs(40)).await;
    let second = cluster.leader();
    assert_ne!(first, second, "another node must take over");
    let per_tick = cluster.runs_per_tick();
    let ran_on: std::collections::BTreeSet<_> = per_tick
        .values()
        .flatten()
        .map(|(n, _)| n.clone())
        .collect();
    assert!(
        ran_on.contains(&first) && ran_on.contains(&second),
        "both leaders ran ticks: {ran_on:?}"
    );
    println!(
        "{} ticks ran; leaders {first} then {second}",
        per_tick.len()
    );
    let end = Timestamp::now();
    let lost = cluster.claimed_not_run(&first);
    assert!(
        lost.len() <= 1,
        "only the tick in hand at the crash may be lost: {lost:?}"
    );
    assert_exactly_once(
        &per_tick,
        &lost,
        start + SignedDuration::from_secs(2),
        end - SignedDuration::from_secs(2),
    );
}

#[madsim::test]
async fn leader_crash_mid_run_reruns_the_tick_at_least_once() {
    // A 5 s job under at-least-once: the leader dies mid-run, so the new leader runs that tick
    // again as attempt 2. Every tick still runs, and only interrupted ticks run twice.
    let cluster = start_cluster(3, Delivery::AtLeastOnce, Duration::from_millis(2500));
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let first = cluster.leader();
    Handle::current().kill(first.as_str());
    tokio::time::sleep(Duration::from_secs(30)).await;
    let per_tick = cluster.runs_per_tick();
    let reruns: Vec<_> = per_tick.iter().filter(|(_, runs)| runs.len() > 1).collect();
    assert!(!reruns.is_empty(), "the interrupted tick must run again");
    for (tick, runs) in &reruns {
        assert_eq!(
            runs[0].0, first,
            "only the crashed leader's ticks run again: {tick} {runs:?}"
        );
        assert_eq!(runs.iter().map(|r| r.1).max(), Some(2), "{tick} {runs:?}");
    }
}

#[madsim::test]
async fn graceful_shutdown_hands_over_within_a_round_trip() {
    // A leader that shuts down resigns, so the follower wins at once instead of after the TTL.
    let backend = MemoryBackend::new();
    let events: Events = Default::default();
    let executions: Executions = Default::default();
    let a = start_node(
        "a",
        backend.clone(),
        executions.clone(),
        events.clone(),
        Delivery::AtMostOnce,
        Duration::ZERO,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = start_node(
        "b",
        backend.clone(),
        executions.clone(),
        events.clone(),
        Delivery::AtMostOnce,
        Duration::ZERO,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stopped = tokio::time::Instant::now();
    a.shutdown().await;
    let waited = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let won = events
                .lock()
                .unwrap()
                .iter()
                .any(|(n, e)| n == "b" && matches!(e, NodeEvent::CampaignWon { .. }));
            if won {
                return stopped.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("b must win well before a's 3 s lease would expire");
    assert!(waited < Duration::from_millis(100), "took {waited:?}");
    b.shutdown().await;
}

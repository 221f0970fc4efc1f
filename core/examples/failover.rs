//! Three nodes, one in-memory backend, one job every second; the leader crashes and another node
//! takes over. Runs in the deterministic simulator (the default build), so a minute of cluster
//! time passes in a fraction of a second and the same seed prints the same story:
//!
//! ```text
//! cargo run -p cronfence --example failover -- [SEED]
//! ```
//!
//! It prints who ran which tick, the crash, the takeover (with the new fencing token), and a
//! summary that counts duplicates and missing ticks from what the job actually executed.

#[cfg(madsim)]
fn main() {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SEED must be a number"))
        .unwrap_or(1);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let runtime = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.block_on(sim::story(seed));
}

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "this example runs in the deterministic simulator: use the default build, \
         `cargo run -p cronfence --example failover`, not a real build"
    );
    std::process::exit(2);
}

#[cfg(madsim)]
mod sim {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use cronfence::{
        Job, JobId, MemoryBackend, Node, NodeConfig, NodeEvent, Schedule, TickContext,
    };
    use jiff::{SignedDuration, Timestamp};
    use madsim::runtime::Handle;

    type Runs = Arc<Mutex<BTreeMap<Timestamp, Vec<String>>>>;
    type Winners = Arc<Mutex<Vec<String>>>;

    pub async fn story(seed: u64) {
        println!(
            "seed {seed}: three nodes, one job every second, in-memory backend, lease TTL 3 s"
        );
        let backend = MemoryBackend::new();
        let runs: Runs = Default::default();
        let winners: Winners = Default::default();
        for i in 0..3 {
            let name = format!("node-{i}");
            let (backend, runs, winners) = (backend.clone(), runs.clone(), winners.clone());
            Handle::current()
                .create_node()
                .name(&name)
                .init(move || {
                    let (name, backend, runs, winners) =
                        (name.clone(), backend.clone(), runs.clone(), winners.clone());
                    // Started inside the node's task, so its tasks die with the node.
                    async move {
                        let _running = start(&name, backend, runs, winners);
                        std::future::pending::<()>().await
                    }
                })
                .build();
        }
        let start = Timestamp::now();
        tokio::time::sleep(Duration::from_millis(5_500)).await;
        let leader = winners
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a leader was elected");
        println!("*** {leader} crashes (no resign: its lease must expire first) ***");
        Handle::current().kill(leader.as_str());
        tokio::time::sleep(Duration::from_secs(10)).await;
        summarise(&runs.lock().unwrap(), start, Timestamp::now());
    }

    fn start(
        name: &str,
        backend: MemoryBackend,
        runs: Runs,
        winners: Winners,
    ) -> cronfence::RunningNode {
        let mut config = NodeConfig::new(name);
        config.lease_ttl = Duration::from_secs(3);
        let node = name.to_string();
        let command = move |tick: TickContext| {
            let (runs, node) = (runs.clone(), node.clone());
            async move {
                let late = Timestamp::now().duration_since(tick.scheduled_at);
                println!(
                    "  tick {} ran on {node} with token {} ({:.1}s after its time)",
                    tick.scheduled_at.strftime("%H:%M:%S"),
                    tick.fencing_token,
                    late.as_secs_f64()
                );
                runs.lock()
                    .unwrap()
                    .entry(tick.scheduled_at)
                    .or_default()
                    .push(node);
                Ok::<(), std::io::Error>(())
            }
        };
        let anchor = "2020-01-01T00:00:00Z".parse().unwrap();
        let schedule = Schedule::every(anchor, SignedDuration::from_secs(1)).unwrap();
        let job = Job::new(JobId::new("print").unwrap(), schedule, command);
        let me = name.to_string();
        let on_event = move |event: &NodeEvent| {
            if let NodeEvent::CampaignWon { token, .. } = event {
                println!("{me} leads with token {token}");
                winners.lock().unwrap().push(me.clone());
            }
        };
        Node::new(config, backend)
            .events(Arc::new(on_event))
            .job(job)
            .expect("one job")
            .start()
    }

    fn summarise(runs: &BTreeMap<Timestamp, Vec<String>>, from: Timestamp, to: Timestamp) {
        let schedule = Schedule::every(
            "2020-01-01T00:00:00Z".parse().unwrap(),
            SignedDuration::from_secs(1),
        )
        .unwrap();
        let due: Vec<_> = schedule
            .due_ticks(from, to - SignedDuration::from_secs(1))
            .collect();
        let ran = due.iter().filter(|t| runs.contains_key(t)).count();
        let duplicates = due
            .iter()
            .filter(|t| runs.get(t).is_some_and(|n| n.len() > 1))
            .count();
        println!(
            "summary: {} ticks came due, {ran} ran, {duplicates} ran twice, {} never ran",
            due.len(),
            due.len() - ran
        );
    }
}

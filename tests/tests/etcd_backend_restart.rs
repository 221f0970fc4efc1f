//! The real-time world's backend, in the harness's hands. `backend_restart` on an etcd the test
//! starts: the fault kills etcd (SIGKILL) and starts it again on the same data directory when it
//! ends. Checked from the history: the nodes found etcd gone during the outage
//! (`backend_unreachable`), ticks ran again after it, and every guarantee held; against a given
//! cluster the fault does not play. And any backend through a [`Connect`], the README's worked
//! example: every node's process connects through it, the faults play, the checkers judge. The
//! two play side by side, about 25 s.
#![cfg(not(madsim))]

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};

use cronfence::etcd::StuckWrites;
use cronfence::{Backend, NodeConfig, NodeEvent};
use cronfence_it::etcd::{Cluster, OwnEtcd};
use cronfence_sim::history::{FaultRecord, What};
use cronfence_sim::real::connect::{Connect, EtcdConnect};
use cronfence_sim::real::suite::{self, Target};

const RESTART: &str = r#"
description = "Real time: three nodes, a job every second; etcd is killed at 6 s and restarted at 11 s."
nodes = 3
duration = "22s"

[node]
lease_ttl = "3s"
request_timeout = "500ms"
unreachable_after = "1s"

[[jobs]]
id = "tick"
every = "1s"

[[jobs]]
id = "owed"
every = "2s"
delivery = "at_least_once"

[[faults]]
fault = "backend_restart"
at = "6s"
duration = "5s"

[check]
warmup = "2s"
cooldown = "4s"

[expect]
outcome = "pass"
"#;

#[test]
fn a_backend_restart_kills_etcd_and_starts_it_again_on_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("real_backend_restart.toml");
    std::fs::write(&path, RESTART).unwrap();
    let loaded = Arc::new(cronfence_sim::scenario::load(&path).expect("the scenario loads"));
    let max = Duration::from_secs(300);
    let why = suite::unplayable(&loaded.scenario, max, false).expect("refused on a given cluster");
    assert!(why.contains("backend_restart"), "{why}");
    assert_eq!(suite::unplayable(&loaded.scenario, max, true), None);

    let own = Cluster::start(1).expect("etcd starts");
    let target = Target::etcd(own.endpoints()).restartable(Box::new(OwnEtcd(own)));
    let run = suite::play(loaded, target, "/restart");
    let records = &run.history.records;
    let fault = |started: bool| {
        records.iter().position(|r| match &r.what {
            What::Fault(FaultRecord::FaultStarted { fault }) if started => {
                fault.kind.name() == "backend_restart"
            }
            What::Fault(FaultRecord::FaultEnded { fault }) if !started => {
                fault.kind.name() == "backend_restart"
            }
            _ => false,
        })
    };
    let (down, up) = (
        fault(true).expect("killed"),
        fault(false).expect("restarted"),
    );
    assert!(down < up);
    let unreachable = records[down..up]
        .iter()
        .any(|r| matches!(r.what, What::Node(NodeEvent::BackendUnreachable { .. })));
    assert!(
        unreachable,
        "no node found etcd gone between records {down} and {up}"
    );
    let ran_after = records[up..]
        .iter()
        .filter(|r| matches!(r.what, What::Node(NodeEvent::TickStarted { .. })))
        .count();
    assert!(
        ran_after >= 5,
        "only {ran_after} ticks started after the restart"
    );
    run.judged.expect("every guarantee held");
}

const LEADER_CRASH: &str = r#"
description = "Real time, any backend: three nodes, a job every second; the leader crashes for 3 s and a follower is cut off for 3 s."
nodes = 3
duration = "20s"

[node]
lease_ttl = "2s"
request_timeout = "500ms"
unreachable_after = "2s"

[[jobs]]
id = "tick"
every = "1s"

[[faults]]
fault = "crash"
at = "6s"
duration = "3s"

[[faults]]
fault = "partition"
node = "follower"
at = "12s"
duration = "3s"

[check]
warmup = "2s"
cooldown = "3s"

[expect]
outcome = "pass"
"#;

/// The backend under test: here the etcd backend, counting the connections the world makes.
struct Counted(AtomicUsize);

#[async_trait::async_trait]
impl Connect for Counted {
    async fn connect(
        &self,
        config: &NodeConfig,
        endpoints: &[String],
        prefix: &str,
        stuck: Arc<dyn StuckWrites>,
    ) -> cronfence::Result<Arc<dyn Backend>> {
        let backend = EtcdConnect
            .connect(config, endpoints, prefix, stuck)
            .await?;
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(backend)
    }
}

#[test]
fn the_world_drives_any_backend_through_its_connect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("any_backend.toml");
    std::fs::write(&path, LEADER_CRASH).unwrap();
    let loaded = Arc::new(cronfence_sim::scenario::load(&path).expect("the scenario loads"));
    let cluster = Cluster::start(1).expect("etcd starts");
    let counted = Arc::new(Counted(AtomicUsize::new(0)));
    let target = Target::etcd(cluster.endpoints()).connecting_with(counted.clone());
    let run = suite::play(loaded, target, "/any");
    // Three nodes, and the crashed one again after its restart.
    let connections = counted.0.load(Ordering::SeqCst);
    assert!(connections >= 4, "{connections} connections");
    let failovers = &run.verdict.timeliness.failovers;
    assert!(!failovers.is_empty(), "the crash hands over");
    run.judged.expect("every guarantee held");
}

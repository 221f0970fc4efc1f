//! The backend of a world: which service runs on the backend node, and how nodes reach it.
//!
//! `memory`: the real in-memory backend as a [`BackendService`] on its own node, reached through
//! [`SimTransport`] (and recording its applied changes into the history). `etcd-sim`: madsim's
//! simulated etcd server on its own node, reached through the real etcd backend of the core behind
//! the client-side fault layer ([`crate::boundary`]). A
//! restarted etcd node comes back with the data it had (a dump taken when it was killed), as a
//! real etcd recovers its data from disk.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::memory::{MemoryConfig, MemoryHost};
use cronfence::{Backend, MemoryBackend};
use madsim::runtime::Handle;
use madsim::task::NodeId;

use crate::boundary::FaultyBackend;
use crate::clock::WorldTime;
use crate::history::Recorder;
use crate::net::{BackendFaults, BackendService, HeldWrites, SimTransport};
use crate::scenario::{BackendKind, Scenario};

/// The simulated etcd server's address.
pub const ETCD_ADDR: &str = "10.0.0.253:2379";

/// The last dump of the simulated etcd server's data, loaded when it restarts, and the operator
/// node that takes it (the world's main task has no address on the simulated network).
#[derive(Clone)]
pub struct EtcdDump {
    data: Arc<Mutex<Option<String>>>,
    operator: madsim::runtime::NodeHandle,
}

/// The backend node of a world.
pub struct BackendNode {
    /// The madsim node.
    pub id: NodeId,
    /// Switches for backend faults: served by the memory service, or played by each node's
    /// client ([`crate::boundary`]) on etcd-sim.
    pub faults: Arc<Mutex<BackendFaults>>,
    /// The etcd server's data across restarts (etcd-sim only).
    pub etcd_dump: Option<EtcdDump>,
}

/// Starts the backend node of `kind`.
pub fn start(
    kind: BackendKind,
    scenario: &Scenario,
    recorder: &Recorder,
    time: WorldTime,
) -> BackendNode {
    let handle = Handle::current();
    match kind {
        BackendKind::Memory => {
            let host = MemoryHost::new();
            if !scenario.variant.fencing {
                host.disable_fencing_for_checker_validation();
            }
            let service = BackendService::new(host, recorder.clone(), time);
            let faults = service.faults();
            let node = handle
                .create_node()
                .name("backend")
                .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)))
                .init(move || service.clone().serve_forever())
                .build();
            BackendNode {
                id: node.id(),
                faults,
                etcd_dump: None,
            }
        }
        BackendKind::EtcdSim => {
            let operator = handle
                .create_node()
                .name("operator")
                .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 252)))
                .build();
            let dump = EtcdDump {
                data: Default::default(),
                operator,
            };
            let data = dump.data.clone();
            let node = handle
                .create_node()
                .name("etcd")
                .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 253)))
                .init(move || {
                    let mut server = etcd_client::SimServer::builder();
                    if let Some(data) = data.lock().expect("dump lock").clone() {
                        server = server.load(whole_ttls(&data));
                    }
                    async move {
                        let addr: SocketAddr = ETCD_ADDR.parse().expect("valid address");
                        server
                            .serve(addr)
                            .await
                            .expect("the etcd address is free on its node");
                    }
                })
                .build();
            BackendNode {
                id: node.id(),
                faults: Default::default(),
                etcd_dump: Some(dump),
            }
        }
    }
}

/// The dump with every lease given its whole TTL again, as etcd does when a restarted member
/// starts serving (its lessor's promotion renews every lease to now + TTL + election timeout):
/// etcd never expires a lease before its last renewal + TTL. madsim's server restores the
/// dumped countdowns as they were and counts them all down once more the instant it starts, on
/// a new phase, so a lease renewed just before the restart could die at once (etcd-sim 32757:
/// a leader's lease expired 487 ms after its renewal and its successor re-ran a tick its run
/// was still holding). `granted_ttl + 1` absorbs that start-up count: each lease lives a whole
/// TTL from the restart.
fn whole_ttls(dump: &str) -> String {
    let mut data: toml::Table = toml::from_str(dump).expect("the server's own dump parses");
    if let Some(toml::Value::Table(leases)) = data.get_mut("lease") {
        for (_, lease) in leases.iter_mut() {
            let Some(lease) = lease.as_table_mut() else {
                continue;
            };
            let granted = lease
                .get("granted_ttl")
                .and_then(toml::Value::as_integer)
                .expect("every dumped lease names its granted TTL");
            lease.insert("ttl".into(), toml::Value::Integer(granted + 1));
        }
    }
    toml::to_string(&data).expect("a dump read back writes again")
}

/// The longest a dump may take: the simulated server accepts one connection per millisecond
/// (madsim's shortest sleep), so under load a request queues behind seconds of others; with the
/// nodes cut off the backlog only drains.
const DUMP_PATIENCE: Duration = Duration::from_secs(60);

/// Takes a dump of the simulated etcd server's data (called just before it is killed), waiting
/// as long as the server needs. A restart from an older dump would lose writes etcd
/// acknowledged and take its revision counter back, so a dump that cannot be taken is a bug of
/// the harness, not a fault of the world.
pub async fn dump_etcd(into: &EtcdDump) {
    let dumped = into.operator.spawn(async move {
        let mut client = etcd_client::Client::connect([ETCD_ADDR], None).await.ok()?;
        tokio::time::timeout(DUMP_PATIENCE, client.dump())
            .await
            .ok()?
            .ok()
    });
    let data = dumped.await.ok().flatten().expect(
        "a running simulated etcd, cut off from the nodes, answers the operator's dump within a minute",
    );
    *into.data.lock().expect("dump lock") = Some(data);
}

/// A node's client of the backend; for etcd, connects (retrying while etcd is unreachable), and
/// plays the backend `faults` the simulated etcd server cannot suffer itself.
pub async fn client(
    kind: BackendKind,
    node: &str,
    held: HeldWrites,
    faults: Arc<Mutex<BackendFaults>>,
    request_timeout: Duration,
) -> Arc<dyn Backend> {
    match kind {
        BackendKind::Memory => {
            let config = MemoryConfig {
                request_timeout,
                ..MemoryConfig::default()
            };
            Arc::new(MemoryBackend::over(
                Arc::new(SimTransport::new(held)),
                config,
            ))
        }
        BackendKind::EtcdSim => {
            let mut config = EtcdConfig::new([ETCD_ADDR]);
            config.request_timeout = request_timeout;
            config.stuck_writes = Some(Arc::new(crate::boundary::StuckTxns(held)));
            loop {
                match EtcdBackend::connect(config.clone()).await {
                    Ok(backend) => {
                        let backend = Arc::new(backend);
                        return Arc::new(FaultyBackend::new(backend, faults, request_timeout));
                    }
                    Err(error) => {
                        tracing::warn!(node, %error, "cannot connect to etcd; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::whole_ttls;

    #[test]
    fn a_restart_gives_every_lease_its_whole_ttl_and_keeps_the_data() {
        // A lease one count from expiry in the dump comes back with its granted TTL plus the
        // count madsim's server takes as it starts; the revision and keys are untouched.
        let dump = "revision = 9\n\n[kv]\n\n[lease.7]\nttl = 1\ngranted_ttl = 2\nkeys = []\n\n\
                    [lease.8]\nttl = 5\ngranted_ttl = 5\nkeys = []\n";
        let restored: toml::Table = toml::from_str(&whole_ttls(dump)).expect("valid toml");
        let ttl = |id: &str| restored["lease"][id]["ttl"].as_integer();
        assert_eq!((ttl("7"), ttl("8")), (Some(3), Some(6)));
        assert_eq!(restored["revision"].as_integer(), Some(9));
        assert_eq!(restored["lease"]["7"]["granted_ttl"].as_integer(), Some(2));
    }
}

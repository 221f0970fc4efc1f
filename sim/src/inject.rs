//! Fault injection: turning a planned fault into madsim actions at the right moment, and back.
//!
//! The [`Injector`] owns the handles a fault needs — madsim's node supervisor (kill, restart,
//! pause, resume), each node's deploy control (graceful stop and start), the network simulator
//! (clog and unclog links), each node's clock model and the backend service's fault switches —
//! and records every fault's start and end into the history. It resolves the targets `leader`,
//! `follower`, `first`, `majority` and `all` from the history at the moment the fault fires; a
//! target naming several nodes becomes one fault per node, each recorded. It never decides
//! *which* faults happen; the scenario and the random plan do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::NodeEvent;
use madsim::net::NetSim;
use madsim::runtime::Handle;
use madsim::task::NodeId;

use crate::backend::{BackendNode, EtcdDump};
use crate::clock::{ClockModel, WorldTime};
use crate::control::NodeControl;
use crate::fault::{Direction, Fault, FaultKind};
use crate::history::{FaultRecord, Recorder, What};
use crate::net::{BackendFaults, HeldWrites};

pub use crate::fault::Planned;

/// Everything a fault can act on.
pub struct Injector {
    handle: Handle,
    nodes: BTreeMap<String, NodeId>,
    backend: NodeId,
    etcd_dump: Option<EtcdDump>,
    clocks: BTreeMap<String, Arc<Mutex<ClockModel>>>,
    backend_faults: Arc<Mutex<BackendFaults>>,
    held: BTreeMap<String, HeldWrites>,
    controls: BTreeMap<String, NodeControl>,
    recorder: Recorder,
    time: WorldTime,
    /// How many faults currently hold each switch (`kill:node`, `stop:node`, `kill:backend`,
    /// `clog:src:dst`, `unresponsive:backend`): overlapping faults of one kind act once, and are undone when the last
    /// one ends.
    holds: Mutex<BTreeMap<String, u32>>,
    /// Per node, the pause faults (by [`Hold`]) pausing its live process: the first pauses it,
    /// the end of the last resumes it. A crash empties the set, since a killed process takes
    /// its pause with it and its restart is a new process, not paused; the pauses it cut short
    /// then undo nothing when their time is up, and a later pause pauses the new process.
    pauses: Mutex<BTreeMap<String, BTreeSet<Hold>>>,
    /// The latencies of the backend latency faults in force: the backend answers as slowly as
    /// the slowest, until the last one ends.
    latencies: Mutex<Vec<Duration>>,
    /// The longest a message between a node and the simulated etcd has taken on the wire so
    /// far: madsim fixes a message's arrival when it is sent, so cutting a link does not hold
    /// back what was sent before, and a restart's dump must wait for all of it.
    on_the_wire: Mutex<Duration>,
}

/// Which injected fault (one per node its target names, numbered as injected) takes or
/// releases a switch, so its end releases only what its start took.
type Hold = u64;

impl Injector {
    /// An injector over the world's nodes (and their deploy controls), backend, clocks and
    /// history.
    pub fn new(
        nodes: BTreeMap<String, NodeId>,
        backend: BackendNode,
        clocks: BTreeMap<String, Arc<Mutex<ClockModel>>>,
        held: BTreeMap<String, HeldWrites>,
        controls: BTreeMap<String, NodeControl>,
        recorder: Recorder,
        time: WorldTime,
    ) -> Self {
        Injector {
            handle: Handle::current(),
            nodes,
            backend: backend.id,
            etcd_dump: backend.etcd_dump,
            clocks,
            backend_faults: backend.faults,
            held,
            controls,
            recorder,
            time,
            holds: Default::default(),
            pauses: Default::default(),
            latencies: Default::default(),
            on_the_wire: Mutex::new(madsim::net::Config::default().send_latency.end),
        }
    }

    /// True while some fault holds `switch`.
    fn holding(&self, switch: &str) -> bool {
        self.holds
            .lock()
            .expect("holds lock")
            .get(switch)
            .is_some_and(|c| *c > 0)
    }

    /// True while `node` is crashed or stopped: it can lead nothing.
    fn down(&self, node: &str) -> bool {
        self.holding(&format!("kill:{node}")) || self.holding(&format!("stop:{node}"))
    }

    /// Counts a fault taking (`on`) or releasing a switch; true when the switch must flip.
    fn flip(&self, switch: String, on: bool) -> bool {
        let mut holds = self.holds.lock().expect("holds lock");
        let count = holds.entry(switch).or_insert(0);
        if on {
            *count += 1;
            *count == 1
        } else {
            *count = count.saturating_sub(1);
            *count == 0
        }
    }

    /// Injects every planned fault at its time; returns once the last one has started.
    pub async fn run(self: Arc<Self>, mut plan: Vec<Planned>) {
        plan.sort_by_key(|p| p.at);
        let mut next: Hold = 0;
        for planned in plan {
            tokio::time::sleep_until(self.time.instant(planned.at)).await;
            for fault in self.resolve(&planned) {
                let hold = next;
                next += 1;
                self.begin(&fault, hold).await;
                if let Some(duration) = planned.duration {
                    let injector = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(duration).await;
                        injector.end(&fault, hold);
                    });
                }
            }
        }
    }

    /// Starts `fault`. A restart of a running simulated etcd first cuts the nodes off, lets
    /// messages in flight land (as long as any message has taken on the wire, latency faults
    /// included: one sent before the cut still arrives, and its write is acknowledged once the
    /// links are restored) and dumps its data, so the restarted server holds every write etcd
    /// acknowledged, as a real etcd recovers them from disk; the restart is recorded from the
    /// moment the nodes are cut off, since from then on they cannot reach it. The dump waits as
    /// long as the server's backlog takes to drain (see [`crate::backend::dump_etcd`]). A
    /// backend that is already down keeps the data of its last dump.
    async fn begin(&self, fault: &Fault, hold: Hold) {
        let dump = match (&fault.kind, &self.etcd_dump) {
            (FaultKind::BackendRestart, Some(dump)) if !self.holding("kill:backend") => dump,
            _ => return self.start(fault, hold),
        };
        self.record(FaultRecord::FaultStarted {
            fault: fault.clone(),
        });
        self.isolate_backend(true);
        let on_the_wire = *self.on_the_wire.lock().expect("wire lock");
        let drain = Duration::from_millis(50).max(on_the_wire + Duration::from_millis(1));
        tokio::time::sleep(drain).await;
        crate::backend::dump_etcd(dump).await;
        self.isolate_backend(false);
        self.apply(fault, hold, true);
    }

    /// The faults a planned fault stands for: one per node its target names (`backend` for
    /// backend faults).
    fn resolve(&self, planned: &Planned) -> Vec<Fault> {
        let nodes = match planned.target.as_str() {
            _ if planned.kind.hits_backend() => vec!["backend".to_string()],
            "leader" => vec![self.leader()],
            "follower" => vec![self.follower()],
            "first" => vec![self.first()],
            "majority" => self.majority(),
            "all" => self.names_in_order(),
            name => vec![name.to_string()],
        };
        nodes
            .into_iter()
            .map(|node| Fault {
                kind: planned.kind.clone(),
                node,
                at: jiff::SignedDuration::try_from(planned.at).expect("short runs"),
                duration: planned
                    .duration
                    .map(|d| jiff::SignedDuration::try_from(d).expect("short runs")),
            })
            .collect()
    }

    /// Every node, `node-0` first, in number order (`node-10` after `node-9`).
    fn names_in_order(&self) -> Vec<String> {
        let mut names: Vec<String> = self.nodes.keys().cloned().collect();
        names.sort_by_key(|n| {
            n.strip_prefix("node-")
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        });
        names
    }

    /// The node registered first: the one whose `campaign_started` is the oldest in the history
    /// (a node registers its jobs before it campaigns, so the backend applied its registration
    /// first among the nodes that campaigned). Before anyone has, `node-0`: the world starts the
    /// nodes in number order, so node-0 is the first to begin registering.
    fn first(&self) -> String {
        self.recorder
            .find_oldest(|r| match &r.what {
                What::Node(NodeEvent::CampaignStarted { .. }) => Some(r.node.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "node-0".to_string())
    }

    /// A strict majority (nodes / 2 + 1): the leader, then the other nodes in number order.
    fn majority(&self) -> Vec<String> {
        let leader = self.leader();
        let mut out = vec![leader.clone()];
        out.extend(self.names_in_order().into_iter().filter(|n| *n != leader));
        out.truncate(self.nodes.len() / 2 + 1);
        out
    }

    /// The node that won the newest election and is not down (node-0 if nobody has won yet).
    fn leader(&self) -> String {
        self.recorder
            .find_newest(|r| match &r.what {
                What::Node(NodeEvent::CampaignWon { .. }) if !self.down(&r.node) => {
                    Some(r.node.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| "node-0".to_string())
    }

    /// The first node, by name, that is neither the leader nor down.
    fn follower(&self) -> String {
        let leader = self.leader();
        self.nodes
            .keys()
            .find(|n| **n != leader && !self.down(n))
            .cloned()
            .unwrap_or(leader)
    }

    fn start(&self, fault: &Fault, hold: Hold) {
        self.apply(fault, hold, true);
        self.record(FaultRecord::FaultStarted {
            fault: fault.clone(),
        });
    }

    fn end(&self, fault: &Fault, hold: Hold) {
        self.apply(fault, hold, false);
        self.record(FaultRecord::FaultEnded {
            fault: fault.clone(),
        });
    }

    fn record(&self, record: FaultRecord) {
        let elapsed = self.time.elapsed();
        self.recorder.push(
            elapsed.as_nanos() as u64,
            self.time.at(elapsed),
            "world",
            None,
            What::Fault(record),
        );
    }

    fn apply(&self, fault: &Fault, hold: Hold, on: bool) {
        match &fault.kind {
            FaultKind::Crash => self.crash(&fault.node, on),
            FaultKind::Stop { upgrade_to } => self.stop(&fault.node, *upgrade_to, on),
            FaultKind::Pause => self.pause(&fault.node, hold, on),
            FaultKind::Partition { direction } => self.partition(&fault.node, *direction, on),
            FaultKind::DelayedWrite { count, delay } => {
                let held = self
                    .held
                    .get(&fault.node)
                    .expect("every node has a network");
                let mut held = held.lock().expect("held lock");
                *held = if on {
                    (*count, delay.unsigned_abs())
                } else {
                    (0, Duration::ZERO)
                };
            }
            FaultKind::BackendRestart => {
                if !self.flip("kill:backend".into(), on) {
                } else if on {
                    self.handle.kill(self.backend)
                } else {
                    self.handle.restart(self.backend);
                }
            }
            kind if kind.is_clock() => self.clock(&fault.node, kind, on),
            kind => self.backend_fault(kind, on),
        }
    }

    /// Cuts (or restores) every node's links to the backend, counted like partitions.
    fn isolate_backend(&self, on: bool) {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for name in names {
            self.partition(&name, Direction::Both, on);
        }
    }

    fn node_id(&self, name: &str) -> NodeId {
        *self
            .nodes
            .get(name)
            .expect("targets are validated against the node list")
    }

    /// A crash kills the node's process, and its pauses with it (see [`Injector::pauses`]);
    /// its end restarts a new process, unpaused.
    fn crash(&self, node: &str, on: bool) {
        let id = self.node_id(node);
        if !self.flip(format!("kill:{node}"), on) {
        } else if on {
            self.handle.kill(id);
            self.pauses.lock().expect("pauses lock").remove(node);
        } else {
            self.handle.restart(id);
        }
    }

    /// A pause (`hold`) of `node`'s process, or its end. A crashed node has no process to
    /// pause: the pause pauses nothing, and its restart is not paused.
    fn pause(&self, node: &str, hold: Hold, on: bool) {
        let id = self.node_id(node);
        let crashed = self.holding(&format!("kill:{node}"));
        let mut pauses = self.pauses.lock().expect("pauses lock");
        let held = pauses.entry(node.to_string()).or_default();
        if on && !crashed && held.insert(hold) && held.len() == 1 {
            self.handle.pause(id);
        } else if !on && held.remove(&hold) && held.is_empty() {
            self.handle.resume(id);
        }
    }

    /// A graceful stop, or the start after it (upgraded to `upgrade_to`, when given). The
    /// node's process carries it out: it is not awaited here, so later faults stay on time. A
    /// crashed node's control remembers it, so the restarted process follows it.
    fn stop(&self, node: &str, upgrade_to: Option<u64>, on: bool) {
        let control = self.controls.get(node).expect("every node has a control");
        if let (false, Some(version)) = (on, upgrade_to) {
            control.upgrade(version);
        }
        if !self.flip(format!("stop:{node}"), on) {
        } else if on {
            control.stop();
        } else {
            control.start();
        }
    }

    fn partition(&self, node: &str, direction: Direction, on: bool) {
        let net = NetSim::current();
        let (n, b) = (self.node_id(node), self.backend);
        let links: &[(NodeId, NodeId)] = match direction {
            Direction::Both => &[(n, b), (b, n)],
            Direction::ToBackend => &[(n, b)],
            Direction::FromBackend => &[(b, n)],
        };
        for &(src, dst) in links {
            if !self.flip(format!("clog:{src}:{dst}"), on) {
            } else if on {
                net.clog_link(src, dst)
            } else {
                net.unclog_link(src, dst)
            }
        }
    }

    fn clock(&self, node: &str, kind: &FaultKind, on: bool) {
        let model = self.clocks.get(node).expect("every node has a clock");
        let elapsed = self.time.elapsed();
        model.lock().expect("clock lock").apply(kind, on, elapsed);
    }

    /// The backend latency in force once latency fault `latency` starts (`on`) or ends: the
    /// largest of those still in force.
    fn latency(&self, latency: Duration, on: bool) -> Duration {
        let mut latencies = self.latencies.lock().expect("latencies lock");
        if on {
            latencies.push(latency);
        } else if let Some(i) = latencies.iter().position(|&l| l == latency) {
            latencies.swap_remove(i);
        }
        latencies.iter().copied().max().unwrap_or_default()
    }

    fn backend_fault(&self, kind: &FaultKind, on: bool) {
        let mut faults = self.backend_faults.lock().expect("faults lock");
        match kind {
            // On etcd-sim the network slows each request and each answer by half the latency
            // (the server cannot be slowed, and a whole operation started late is no slow
            // network: see `crate::boundary`); nodes talk to nobody else.
            FaultKind::BackendLatency { latency } if self.etcd_dump.is_some() => {
                let half = self.latency(latency.unsigned_abs(), on) / 2;
                let base = madsim::net::Config::default().send_latency;
                let mut on_the_wire = self.on_the_wire.lock().expect("wire lock");
                *on_the_wire = (*on_the_wire).max(base.end + half);
                NetSim::current().update_config(|config| {
                    config.send_latency = base.start + half..base.end + half;
                });
            }
            FaultKind::BackendLatency { latency } => {
                faults.latency = self.latency(latency.unsigned_abs(), on);
            }
            // Cut every node's links rather than the etcd node itself, so the operator can still
            // dump its data if it is restarted meanwhile.
            FaultKind::BackendTimeout if self.etcd_dump.is_some() => {
                drop(faults);
                self.isolate_backend(on);
            }
            // Overlapping timeouts hold the backend silent until the last one ends.
            FaultKind::BackendTimeout => {
                if self.flip("unresponsive:backend".into(), on) {
                    faults.unresponsive = on;
                }
            }
            FaultKind::AmbiguousCommit { count } if on => faults.ambiguous_writes += count,
            // An ambiguous-commit fault with a duration takes back, when it ends, the writes it
            // has not spoilt yet: its effect stays within its span.
            FaultKind::AmbiguousCommit { count } => {
                faults.ambiguous_writes = faults.ambiguous_writes.saturating_sub(*count)
            }
            other => unreachable!("not a backend fault: {other:?}"),
        }
    }
}

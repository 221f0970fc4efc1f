//! One node's process in the real-time world: it runs a real cronfence node against the backend
//! (etcd, or any other through [`Connect`]) while
//! its deploy control wants one (a graceful `stop` shuts the node down, its end starts a fresh
//! one, possibly at a newer job spec version), reading the node's own faulty clock and reaching
//! etcd through the client-side fault layer, and records what the node does into the history.
//! Or it runs the go-micro model ([`crate::gomicro`]) instead, electing through the same etcd.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::{Clock, Job, JobId, JobSpec, Node, NodeConfig, RunningNode};

use super::connect::Connect;
use crate::boundary::{BackendFaults, FaultyBackend, HeldWrites, StuckTxns};
use crate::clock::SimClock;
use crate::control::NodeControl;
use crate::scenario::GoMicroSettings;
use crate::sink::Sink;

/// What one node's process needs to run cronfence nodes.
#[derive(Clone)]
pub(super) struct Process {
    pub(super) config: NodeConfig,
    /// How it reaches the backend, at which addresses, keys under which prefix.
    pub(super) connect: Arc<dyn Connect>,
    pub(super) endpoints: Vec<String>,
    pub(super) prefix: String,
    pub(super) jobs: BTreeMap<JobId, JobSpec>,
    pub(super) run_times: BTreeMap<JobId, Duration>,
    pub(super) clock: SimClock,
    pub(super) faults: Arc<Mutex<BackendFaults>>,
    /// The node's stuck-packet fault, which outlives its crashes as its network does.
    pub(super) held: HeldWrites,
    pub(super) control: NodeControl,
    pub(super) sink: Arc<Sink>,
    /// The go-micro model runs instead of cronfence, with these settings.
    pub(super) go_micro: Option<GoMicroSettings>,
    /// The clock reading taken when the process was launched, for its first node's start: taken
    /// by the world before it plays on, so a fault at `0s` lands after it, as in the simulator
    /// (whose nodes read their clocks before its first fault). Later starts read anew.
    pub(super) launched: Arc<Mutex<Option<jiff::Timestamp>>>,
}

impl Process {
    /// Runs a cronfence node whenever the control wants one, shutting it down gracefully
    /// (awaited) when it asks; a crash ends this with the node's runtime.
    pub(super) async fn run(self) {
        if let Some(settings) = &self.go_micro {
            let backend = self.backend().await;
            let jobs = self.jobs.iter().map(|(id, spec)| {
                let run_time = self.run_times.get(id).copied().unwrap_or_default();
                (id, spec, run_time)
            });
            let (node, clock) = (&self.config.name, Arc::new(self.clock.clone()));
            crate::gomicro::run_all(node, backend, clock, self.sink.clone(), jobs, settings).await;
        }
        let sink = self.sink.clone();
        let reached = move || sink.stop_reached();
        crate::control::follow(&self.control, |version| self.start_node(version), reached).await;
        std::future::pending::<()>().await;
    }

    /// Connects to the backend (retrying while it is unreachable), through the client-side
    /// fault layer.
    async fn backend(&self) -> Arc<dyn cronfence::Backend> {
        let backend = loop {
            let stuck = Arc::new(StuckTxns(self.held.clone()));
            let connected =
                self.connect
                    .connect(&self.config, &self.endpoints, &self.prefix, stuck);
            match connected.await {
                Ok(backend) => break backend,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let timeout = self.config.request_timeout;
        Arc::new(FaultyBackend::new(backend, self.faults.clone(), timeout))
    }

    /// Starts a node with every job, at spec `version` when one is given.
    async fn start_node(&self, version: Option<u64>) -> RunningNode {
        let launched = self.launched.lock().expect("launch reading").take();
        let started = launched.unwrap_or_else(|| self.clock.now());
        let backend = self.backend().await;
        let mut node = Node::with_backend(self.config.clone(), backend)
            .jobs_since(started)
            .clock(Arc::new(self.clock.clone()))
            .events(self.sink.clone());
        for (id, spec) in &self.jobs {
            let run_time = self.run_times.get(id).copied().unwrap_or_default();
            let mut job = Job::new(id.clone(), spec.schedule.clone(), move |_| async move {
                tokio::time::sleep(run_time).await;
                Ok::<(), std::io::Error>(())
            });
            job.spec = spec.clone();
            if let Some(version) = version {
                job.spec.version = version;
            }
            node = node.job(job).expect("job ids are unique");
        }
        node.start()
    }
}

//! One node's process in the real-time world: it runs a real cronfence node against etcd while
//! its deploy control wants one (a graceful `stop` shuts the node down, its end starts a fresh
//! one, possibly at a newer job spec version), reading the node's own faulty clock and reaching
//! etcd through the client-side fault layer, and records what the node does into the history.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::{Clock, EventSink, Job, JobId, JobSpec, Node, NodeConfig, NodeEvent, RunningNode};

use crate::boundary::{BackendFaults, FaultyBackend};
use crate::clock::{SimClock, WorldTime};
use crate::control::NodeControl;
use crate::history::{Recorder, What};

/// Records a node's events with its own clock's reading.
pub(super) struct Sink {
    pub(super) node: String,
    pub(super) clock: SimClock,
    pub(super) recorder: Recorder,
    pub(super) time: WorldTime,
}

impl EventSink for Sink {
    fn record(&self, event: &NodeEvent) {
        let elapsed = self.time.elapsed();
        self.recorder.push(
            elapsed.as_nanos() as u64,
            self.time.at(elapsed),
            &self.node,
            Some(self.clock.now()),
            What::Node(event.clone()),
        );
    }
}

/// What one node's process needs to run cronfence nodes.
#[derive(Clone)]
pub(super) struct Process {
    pub(super) config: NodeConfig,
    pub(super) etcd: EtcdConfig,
    pub(super) jobs: BTreeMap<JobId, JobSpec>,
    pub(super) run_times: BTreeMap<JobId, Duration>,
    pub(super) clock: SimClock,
    pub(super) faults: Arc<Mutex<BackendFaults>>,
    pub(super) control: NodeControl,
    pub(super) sink: Arc<Sink>,
}

impl Process {
    /// Runs a cronfence node whenever the control wants one, shutting it down gracefully
    /// (awaited) when it asks; a crash ends this with the node's runtime.
    pub(super) async fn run(self) {
        crate::control::follow(&self.control, |version| self.start_node(version)).await;
        std::future::pending::<()>().await;
    }

    /// Connects to etcd (retrying while it is unreachable) and starts a node with every job, at
    /// spec `version` when one is given.
    async fn start_node(&self, version: Option<u64>) -> RunningNode {
        let started = self.clock.now();
        let backend = loop {
            match EtcdBackend::connect(self.etcd.clone()).await {
                Ok(backend) => break backend,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let timeout = self.config.request_timeout;
        let backend = FaultyBackend::new(Arc::new(backend), self.faults.clone(), timeout);
        let mut node = Node::with_backend(self.config.clone(), Arc::new(backend))
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

//! A real-time world: cronfence nodes on real etcd, each on its own tokio runtime so it can be
//! crashed (the runtime is shut down: no resign, every task gone) or paused (its only worker
//! thread is blocked: keepalives and work stop). Events are recorded into the simulator's
//! [`Recorder`], so the same checkers judge real runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::check::{self, CheckInput, Verdict};
use crate::fault::{Fault, FaultKind};
use crate::history::{FaultRecord, History, Recorder, What};
use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::{Clock, EventSink, Job, JobId, JobSpec, Node, NodeConfig, NodeEvent, SystemClock};
use jiff::{SignedDuration, Timestamp};

/// True time of the run.
#[derive(Clone, Copy)]
struct RunTime {
    start: Instant,
    start_wall: Timestamp,
}

impl RunTime {
    fn now(&self) -> (u64, Timestamp) {
        let elapsed = self.start.elapsed();
        (
            elapsed.as_nanos() as u64,
            self.start_wall + SignedDuration::try_from(elapsed).expect("short runs"),
        )
    }
}

/// One node: its runtime, and what it needs to start again.
struct RealNode {
    runtime: Option<tokio::runtime::Runtime>,
    endpoints: Vec<String>,
}

/// Nodes running real cronfence against real etcd, with a shared history.
pub struct RealWorld {
    recorder: Recorder,
    time: RunTime,
    config: NodeConfig,
    prefix: String,
    jobs: BTreeMap<JobId, JobSpec>,
    run_times: BTreeMap<JobId, Duration>,
    nodes: BTreeMap<String, RealNode>,
}

struct Sink {
    node: String,
    recorder: Recorder,
    time: RunTime,
}

impl EventSink for Sink {
    fn record(&self, event: &NodeEvent) {
        let (t, true_time) = self.time.now();
        self.recorder.push(
            t,
            true_time,
            &self.node,
            Some(SystemClock.now()),
            What::Node(event.clone()),
        );
    }
}

impl RealWorld {
    /// A world whose nodes use `config` (name replaced per node), keys under `prefix`.
    pub fn new(config: NodeConfig, prefix: &str, jobs: BTreeMap<JobId, JobSpec>) -> Self {
        RealWorld {
            recorder: Recorder::new(),
            time: RunTime {
                start: Instant::now(),
                start_wall: Timestamp::now(),
            },
            config,
            prefix: prefix.to_string(),
            jobs,
            run_times: BTreeMap::new(),
            nodes: BTreeMap::new(),
        }
    }

    /// How long each job's command takes (default: it returns at once).
    pub fn run_times(&mut self, run_times: BTreeMap<JobId, Duration>) {
        self.run_times = run_times;
    }

    /// Starts (or restarts) node `name` talking to `endpoints`.
    pub fn start(&mut self, name: &str, endpoints: Vec<String>) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let mut config = self.config.clone();
        config.name = name.to_string();
        let mut etcd = EtcdConfig::new(endpoints.clone());
        etcd.prefix = self.prefix.clone();
        etcd.request_timeout = config.request_timeout;
        let jobs = self.jobs.clone();
        let run_times = self.run_times.clone();
        let sink = Sink {
            node: name.to_string(),
            recorder: self.recorder.clone(),
            time: self.time,
        };
        runtime.spawn(async move {
            let backend = loop {
                match EtcdBackend::connect(etcd.clone()).await {
                    Ok(backend) => break backend,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            };
            let mut node = Node::new(config, backend).events(Arc::new(sink));
            for (id, spec) in jobs {
                let run_time = run_times.get(&id).copied().unwrap_or_default();
                let mut job = Job::new(id, spec.schedule.clone(), move |_| async move {
                    tokio::time::sleep(run_time).await;
                    Ok::<(), std::io::Error>(())
                });
                job.spec = spec;
                node = node.job(job).expect("unique ids");
            }
            let _running = node.start();
            std::future::pending::<()>().await;
        });
        self.nodes.insert(
            name.to_string(),
            RealNode {
                runtime: Some(runtime),
                endpoints,
            },
        );
    }

    /// The node that won the newest election.
    pub fn leader(&self) -> Option<String> {
        self.recorder
            .snapshot()
            .records
            .iter()
            .rev()
            .find_map(|r| match &r.what {
                What::Node(NodeEvent::CampaignWon { .. }) => Some(r.node.clone()),
                _ => None,
            })
    }

    fn record_fault(&self, fault: Fault, started: bool) {
        let (t, true_time) = self.time.now();
        let record = if started {
            FaultRecord::FaultStarted { fault }
        } else {
            FaultRecord::FaultEnded { fault }
        };
        self.recorder
            .push(t, true_time, "world", None, What::Fault(record));
    }

    fn fault(&self, kind: FaultKind, node: &str, duration: Option<Duration>) -> Fault {
        let (t, _) = self.time.now();
        Fault {
            kind,
            node: node.to_string(),
            at: SignedDuration::from_nanos(t as i64),
            duration: duration.map(|d| SignedDuration::try_from(d).expect("short")),
        }
    }

    /// Crashes `name`: its runtime is shut down at once; nothing resigns. The crash is recorded
    /// once the runtime has stopped (at most a second later), so no event of the node's ever
    /// follows it in the history, as none could follow a real crash; a request it sent before
    /// may still reach etcd, and the history shows it was sent.
    pub fn crash(&mut self, name: &str) {
        let fault = self.fault(FaultKind::Crash, name, None);
        if let Some(runtime) = self.nodes.get_mut(name).and_then(|n| n.runtime.take()) {
            // On a plain thread: shutting a runtime down blocks, which an async caller may not.
            std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(1)))
                .join()
                .expect("the runtime shuts down");
        }
        self.record_fault(fault, true);
    }

    /// Restarts a crashed node.
    pub fn restart(&mut self, name: &str) {
        let endpoints = self.nodes[name].endpoints.clone();
        self.record_fault(self.fault(FaultKind::Crash, name, None), false);
        self.start(name, endpoints);
    }

    /// Pauses `name` for `duration`: its only worker thread sleeps, so nothing on it runs.
    pub fn pause(&self, name: &str, duration: Duration) {
        self.record_fault(self.fault(FaultKind::Pause, name, Some(duration)), true);
        if let Some(runtime) = self.nodes.get(name).and_then(|n| n.runtime.as_ref()) {
            runtime.spawn(async move { std::thread::sleep(duration) });
        }
    }

    /// Records that `name` was partitioned (the caller black-holes its proxy).
    pub fn note_partition(&self, name: &str, started: bool) {
        let kind = FaultKind::Partition {
            direction: Default::default(),
        };
        self.record_fault(self.fault(kind, name, None), started);
    }

    fn stop_all(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(runtime) = node.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }

    /// Stops every node and checks the history: ticks scheduled in `[start + warmup, now − cooldown]`.
    pub fn finish(mut self, warmup: Duration, cooldown: Duration) -> (History, Verdict) {
        self.stop_all();
        let history = self.recorder.snapshot();
        let (_, now) = self.time.now();
        let from = self.time.start_wall + SignedDuration::try_from(warmup).expect("short");
        let to = now - SignedDuration::try_from(cooldown).expect("short");
        // Real time records no command beginnings nor backend internals: the checkers judge by
        // the runner's own records there, and leave liveness to the simulator.
        let elections = self
            .jobs
            .keys()
            .map(|id| {
                (
                    id.clone(),
                    self.config.scope.election_for(&self.config.group, id),
                )
            })
            .collect();
        let verdict = check::check(CheckInput {
            history: &history,
            jobs: &self.jobs,
            window: (from, to),
            world: (self.time.start_wall, now),
            elections: &elections,
            observed: check::Observed::default(),
            liveness: None,
        });
        (history, verdict)
    }
}

impl Drop for RealWorld {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which an async test may not do; shutting down does not.
        self.stop_all();
    }
}

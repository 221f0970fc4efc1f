//! A real-time world: cronfence nodes on real etcd (or any backend, [`Self::connecting_with`]),
//! each on its own tokio runtime so it can be
//! crashed (the runtime is shut down: no resign, every task gone), paused (its only worker thread
//! is blocked: keepalives and work stop) or stopped gracefully (its deploy control). Each node
//! reads its own clock — true time from the world's start instant, moved by its clock faults —
//! and reaches etcd through the client-side fault layer ([`crate::boundary`]), so clock skew, a
//! slow backend and ambiguous commits play here as in the simulator. Events are recorded into the
//! simulator's [`Recorder`], so the same checkers judge real runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::connect::{Connect, EtcdConnect};
use super::process::Process;
use super::proxy::Proxy;
use super::restart::BackendProcess;
use crate::boundary::{BackendFaults, HeldWrites};
use crate::check::{self, CheckInput, Verdict};
use crate::clock::{ClockModel, SimClock, WorldTime};
use crate::control::NodeControl;
use crate::fault::{Direction, Fault, FaultKind};
use crate::history::{FaultRecord, History, Recorder, What};
use crate::scenario::GoMicroSettings;
use crate::sink::Sink;
use cronfence::{Clock, ElectionName, JobId, JobSpec, NodeConfig, NodeEvent};
use jiff::{SignedDuration, Timestamp};

/// Which election runs each job, computed from the finished history.
type Elections = Box<dyn FnOnce(&History) -> BTreeMap<JobId, ElectionName>>;

/// One node: its runtime, and what it needs to start again.
struct RealNode {
    runtime: Option<tokio::runtime::Runtime>,
    endpoints: Vec<String>,
}

/// Nodes running real cronfence against real etcd, with a shared history.
pub struct RealWorld {
    recorder: Recorder,
    time: WorldTime,
    config: NodeConfig,
    prefix: String,
    jobs: BTreeMap<JobId, JobSpec>,
    run_times: BTreeMap<JobId, Duration>,
    nodes: BTreeMap<String, RealNode>,
    /// Each node's clock model and deploy control: they outlive its crashes, as a hardware
    /// clock and an operator's intent do.
    clocks: BTreeMap<String, Arc<Mutex<ClockModel>>>,
    controls: BTreeMap<String, NodeControl>,
    backend_faults: Arc<Mutex<BackendFaults>>,
    /// Each node's stuck-packet fault (`delayed_write`), held by its etcd client.
    pub(super) held: BTreeMap<String, HeldWrites>,
    /// With [`Self::with_proxies`]: each node's proxies (one per endpoint), on a runtime of
    /// their own that outlives the nodes' crashes.
    proxies: Option<Proxies>,
    /// Nodes set up unlike the others ([`Self::set_up`]): their configuration and jobs.
    setups: BTreeMap<String, (NodeConfig, BTreeMap<JobId, JobSpec>)>,
    /// Which election runs each job, when the caller says ([`Self::finish_with`]).
    elections: Option<Elections>,
    /// With [`Self::running_go_micro`]: the go-micro model's settings.
    go_micro: Option<GoMicroSettings>,
    /// With [`Self::with_backend_process`]: the backend, to kill and restart, and the restart
    /// fault in force (its end is recorded as the same fault, as the simulator's injector does).
    pub(super) backend: Option<Box<dyn BackendProcess>>,
    backend_down: Option<Fault>,
    /// The member faults in force, by member and kind, to record their ends as they started.
    pub(super) member_faults: BTreeMap<(String, &'static str), Fault>,
    /// How the nodes reach the backend ([`Self::connecting_with`]; etcd by default).
    connect: Arc<dyn Connect>,
}

/// The nodes' proxies and their runtime.
struct Proxies {
    runtime: tokio::runtime::Runtime,
    by_node: BTreeMap<String, Vec<Proxy>>,
}

impl RealWorld {
    /// A world whose nodes use `config` (name replaced per node), keys under `prefix`; true time
    /// starts now.
    pub fn new(config: NodeConfig, prefix: &str, jobs: BTreeMap<JobId, JobSpec>) -> Self {
        RealWorld {
            recorder: Recorder::new(),
            time: WorldTime::new(Timestamp::now()),
            config,
            prefix: prefix.to_string(),
            jobs,
            run_times: BTreeMap::new(),
            nodes: BTreeMap::new(),
            clocks: BTreeMap::new(),
            controls: BTreeMap::new(),
            backend_faults: Default::default(),
            held: BTreeMap::new(),
            proxies: None,
            setups: BTreeMap::new(),
            elections: None,
            go_micro: None,
            backend: None,
            backend_down: None,
            member_faults: BTreeMap::new(),
            connect: Arc::new(EtcdConnect),
        }
    }

    /// The nodes reach the backend under test through `connect` instead of as etcd clients.
    pub fn connecting_with(mut self, connect: Arc<dyn Connect>) -> Self {
        self.connect = connect;
        self
    }

    /// The world may kill and restart the backend (`backend_restart`) through `backend`.
    pub fn with_backend_process(mut self, backend: Box<dyn BackendProcess>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Kills the backend (`on`), or starts it again; the fault ends where the backend serves
    /// again, which is when its outage ends.
    pub fn backend_restart(&mut self, on: bool, duration: Option<Duration>) {
        let fault = self.fault(FaultKind::BackendRestart, "backend", duration);
        let backend = self
            .backend
            .as_mut()
            .expect("a scenario that restarts the backend plays only with its process");
        if on {
            backend.kill();
            self.backend_down = Some(fault.clone());
            self.record_fault(fault, true);
            return;
        }
        if let Err(e) = backend.restart() {
            panic!("the backend did not come back after `backend_restart`: {e}");
        }
        let fault = self.backend_down.take().unwrap_or(fault);
        self.record_fault(fault, false);
    }

    /// Every node runs the go-micro model ([`crate::gomicro`]) instead of cronfence, electing
    /// through the same etcd: its elections are named after each node's own start, so no
    /// election holds for the whole cluster and its leaders are not judged.
    pub fn running_go_micro(mut self, settings: GoMicroSettings) -> Self {
        self.go_micro = Some(settings);
        self
    }

    /// Node `name` (before it starts) runs with `config` (its name replaced) and defines `jobs`,
    /// unlike the world's defaults: a node in another zone, with another election scope.
    pub fn set_up(&mut self, name: &str, config: NodeConfig, jobs: BTreeMap<JobId, JobSpec>) {
        self.setups.insert(name.to_string(), (config, jobs));
    }

    /// The checkers learn which election runs each job from `elections`, given the history
    /// (the first node to register decides it), instead of from the world's configuration.
    pub fn finish_with(
        mut self,
        elections: impl FnOnce(&History) -> BTreeMap<JobId, ElectionName> + 'static,
    ) -> Self {
        self.elections = Some(Box::new(elections));
        self
    }

    /// Every node reaches etcd through proxies of its own, so [`Self::partition`] can cut it off
    /// (each way).
    pub fn with_proxies(mut self) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        self.proxies = Some(Proxies {
            runtime,
            by_node: BTreeMap::new(),
        });
        self
    }

    /// True time starts at `start` instead of now (before any node starts): every node's clock
    /// reads from there, so a scenario set on a DST night plays on that night.
    pub fn starting_at(mut self, start: Timestamp) -> Self {
        self.time = WorldTime::new(start);
        self
    }

    /// How long each job's command takes (default: it returns at once).
    pub fn run_times(&mut self, run_times: BTreeMap<JobId, Duration>) {
        self.run_times = run_times;
    }

    /// Starts (or restarts) node `name` talking to `endpoints`.
    pub fn start(&mut self, name: &str, endpoints: Vec<String>) {
        let reached = self.proxied(name, &endpoints);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let (mut config, jobs) = match self.setups.get(name) {
            Some((config, jobs)) => (config.clone(), jobs.clone()),
            None => (self.config.clone(), self.jobs.clone()),
        };
        config.name = name.to_string();
        let model = self.clocks.entry(name.to_string()).or_default().clone();
        let clock = SimClock::new(self.time, model);
        let control = self.controls.entry(name.to_string()).or_default().clone();
        let sink = Sink::new(name, clock.clone(), self.recorder.clone(), self.time);
        let launched = Arc::new(Mutex::new(Some(clock.now())));
        let process = Process {
            config,
            connect: self.connect.clone(),
            endpoints: reached,
            prefix: self.prefix.clone(),
            jobs,
            run_times: self.run_times.clone(),
            clock,
            faults: self.backend_faults.clone(),
            held: self.held.entry(name.to_string()).or_default().clone(),
            control,
            launched,
            sink: Arc::new(sink),
            go_micro: self.go_micro.clone(),
        };
        runtime.spawn(process.run());
        self.nodes.insert(
            name.to_string(),
            RealNode {
                runtime: Some(runtime),
                endpoints,
            },
        );
    }

    /// The node that won the newest election and has not crashed since it started last, if any.
    pub fn leader_up(&self) -> Option<String> {
        let history = self.recorder.snapshot();
        history.records.iter().rev().find_map(|r| match &r.what {
            What::Node(NodeEvent::CampaignWon { .. }) if !self.is_down(&r.node) => {
                Some(r.node.clone())
            }
            _ => None,
        })
    }

    /// The node whose campaign started first, if any has.
    pub fn first_to_campaign(&self) -> Option<String> {
        let history = self.recorder.snapshot();
        history.records.iter().find_map(|r| match &r.what {
            What::Node(NodeEvent::CampaignStarted { .. }) => Some(r.node.clone()),
            _ => None,
        })
    }

    /// True when `name` is crashed (its runtime is gone).
    pub fn is_down(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|n| n.runtime.is_none())
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

    pub(super) fn record_fault(&self, fault: Fault, started: bool) {
        let elapsed = self.time.elapsed();
        let (t, true_time) = (elapsed.as_nanos() as u64, self.time.at(elapsed));
        let record = if started {
            FaultRecord::FaultStarted { fault }
        } else {
            FaultRecord::FaultEnded { fault }
        };
        self.recorder
            .push(t, true_time, "world", None, What::Fault(record));
    }

    pub(super) fn fault(&self, kind: FaultKind, node: &str, duration: Option<Duration>) -> Fault {
        let t = self.time.elapsed();
        Fault {
            kind,
            node: node.to_string(),
            at: SignedDuration::try_from(t).expect("short runs"),
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

    /// Pauses `name` for `duration`: its only worker thread sleeps until the pause's end, so
    /// nothing on it runs. Overlapping pauses hold it until the last one's end, not one after the
    /// other: a pause that finds the thread asleep sleeps only what is left of its own span.
    pub fn pause(&self, name: &str, duration: Duration) {
        self.record_fault(self.fault(FaultKind::Pause, name, Some(duration)), true);
        let until = std::time::Instant::now() + duration;
        if let Some(runtime) = self.nodes.get(name).and_then(|n| n.runtime.as_ref()) {
            runtime.spawn(async move {
                std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()))
            });
        }
    }

    /// Stops `name` gracefully (its runs drain, it resigns) for `duration`, when given (the
    /// caller starts it again with [`Self::start_again`]); it comes back defining every job at
    /// spec version `upgrade_to`, when given.
    pub fn stop(&self, name: &str, upgrade_to: Option<u64>, duration: Option<Duration>) {
        let kind = FaultKind::Stop { upgrade_to };
        self.record_fault(self.fault(kind, name, duration), true);
        self.controls.get(name).expect("a started node").stop();
    }

    /// Starts a stopped node again, upgraded as its stop said.
    pub fn start_again(&self, name: &str, upgrade_to: Option<u64>) {
        let kind = FaultKind::Stop { upgrade_to };
        self.record_fault(self.fault(kind, name, None), false);
        let control = self.controls.get(name).expect("a started node");
        if let Some(version) = upgrade_to {
            control.upgrade(version);
        }
        control.start();
    }

    /// Starts (`on`) or ends clock fault `kind` on `name`'s clock.
    pub fn clock_fault(
        &mut self,
        name: &str,
        kind: FaultKind,
        on: bool,
        duration: Option<Duration>,
    ) {
        let model = self.clocks.entry(name.to_string()).or_default().clone();
        let elapsed = self.time.elapsed();
        model.lock().expect("clock lock").apply(&kind, on, elapsed);
        self.record_fault(self.fault(kind, name, duration), on);
    }

    /// Starts (`on`) or ends a stuck-packet fault on `name`: its etcd client holds its next
    /// `count` claims or commits for `delay` each, then sends them, as the simulator's injector
    /// holds them (ending the fault takes back those not yet held).
    pub fn delayed_write(
        &mut self,
        name: &str,
        kind: FaultKind,
        on: bool,
        duration: Option<Duration>,
    ) {
        let FaultKind::DelayedWrite { count, delay } = kind else {
            unreachable!("not a stuck write: {}", kind.name());
        };
        let held = self.held.entry(name.to_string()).or_default();
        *held.lock().expect("held lock") = match on {
            true => (count, delay.unsigned_abs()),
            false => (0, Duration::ZERO),
        };
        self.record_fault(self.fault(kind, name, duration), on);
    }

    /// Starts (`on`) or ends a backend fault: ambiguous commits (with no duration, `count`
    /// writes spoilt whenever they come), played by every node's client; latency (each request
    /// and each answer waits half of it in the node's proxies) or an unresponsive backend
    /// (`backend_timeout`: every proxy holds both ways, so requests wait in the connections, as
    /// for an etcd frozen by SIGSTOP, and land when it is over), both needing
    /// [`Self::with_proxies`].
    pub fn backend_fault(&self, kind: FaultKind, on: bool, duration: Option<Duration>) {
        if kind == FaultKind::BackendTimeout {
            let proxies = self.proxies.as_ref().expect("a world with proxies");
            for proxy in proxies.by_node.values().flatten() {
                proxy.hold(Direction::Both, on);
            }
            self.record_fault(self.fault(kind, "backend", duration), on);
            return;
        }
        if let FaultKind::BackendLatency { latency } = kind {
            // Each request and each answer waits half of it in its node's proxies.
            let proxies = self.proxies.as_ref().expect("a world with proxies");
            let half = if on {
                latency.unsigned_abs() / 2
            } else {
                Duration::ZERO
            };
            for proxy in proxies.by_node.values().flatten() {
                proxy.delay(half);
            }
            self.record_fault(self.fault(kind, "backend", duration), on);
            return;
        }
        {
            let mut faults = self.backend_faults.lock().expect("faults lock");
            match &kind {
                FaultKind::AmbiguousCommit { count } if on => faults.ambiguous_writes += count,
                FaultKind::AmbiguousCommit { count } => {
                    faults.ambiguous_writes = faults.ambiguous_writes.saturating_sub(*count)
                }
                other => panic!("the real world's client cannot play {}", other.name()),
            }
        }
        self.record_fault(self.fault(kind, "backend", duration), on);
    }

    /// The endpoints `name` reaches: its own proxies' (started on first use), or `endpoints`.
    fn proxied(&mut self, name: &str, endpoints: &[String]) -> Vec<String> {
        let Some(proxies) = &mut self.proxies else {
            return endpoints.to_vec();
        };
        let runtime = &proxies.runtime;
        let own = proxies.by_node.entry(name.to_string()).or_insert_with(|| {
            endpoints
                .iter()
                .map(|e| {
                    runtime
                        .block_on(Proxy::start(e))
                        .expect("a loopback port for the proxy")
                })
                .collect()
        });
        own.iter().map(Proxy::endpoint).collect()
    }

    /// Starts (`on`) or ends a partition of `name` from etcd, `direction` only; needs
    /// [`Self::with_proxies`].
    pub fn partition(
        &self,
        name: &str,
        direction: Direction,
        on: bool,
        duration: Option<Duration>,
    ) {
        self.hold(name, direction, on);
        self.record_partition(name, direction, on, duration);
    }

    /// Holds (`on`) or lets through `direction` of `name`'s traffic with etcd, recording
    /// nothing; needs [`Self::with_proxies`].
    pub fn hold(&self, name: &str, direction: Direction, on: bool) {
        let proxies = self.proxies.as_ref().expect("a world with proxies");
        for proxy in proxies.by_node.get(name).into_iter().flatten() {
            proxy.hold(direction, on);
        }
    }

    /// Records that a partition of `name`, `direction` only, started (`on`) or ended.
    pub fn record_partition(
        &self,
        name: &str,
        direction: Direction,
        on: bool,
        duration: Option<Duration>,
    ) {
        let kind = FaultKind::Partition { direction };
        self.record_fault(self.fault(kind, name, duration), on);
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
        if let Some(proxies) = self.proxies.take() {
            // The proxies stop with their runtime; dropping them first aborts their tasks.
            drop(proxies.by_node);
            proxies.runtime.shutdown_background();
        }
    }

    /// Stops every node and checks the history: ticks scheduled in `[start + warmup, now − cooldown]`.
    pub fn finish(mut self, warmup: Duration, cooldown: Duration) -> (History, Verdict) {
        self.stop_all();
        let history = self.recorder.snapshot();
        let now = self.time.now();
        let start = self.time.at(Duration::ZERO);
        let from = start + SignedDuration::try_from(warmup).expect("short");
        let to = now - SignedDuration::try_from(cooldown).expect("short");
        // Real time records no command beginnings nor backend internals: the checkers judge by
        // the runner's own records there, and leave liveness to the simulator.
        let elections = match self.elections.take() {
            _ if self.go_micro.is_some() => BTreeMap::new(),
            Some(elections) => elections(&history),
            None => self
                .jobs
                .keys()
                .map(|id| {
                    (
                        id.clone(),
                        self.config.scope.election_for(&self.config.group, id),
                    )
                })
                .collect(),
        };
        let verdict = check::check(CheckInput {
            history: &history,
            jobs: &self.jobs,
            window: (from, to),
            world: (start, now),
            elections: &elections,
            observed: check::Observed::default(),
            liveness: None,
            history_end: history.records.last().map(|r| r.true_time),
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

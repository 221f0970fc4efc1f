//! The simulated world: a scenario's nodes, its backend on a node of its own, its faults, one seed.
//!
//! [`run`] builds a madsim runtime for the seed, starts the backend service and one real
//! `cronfence` [`Node`] per simulated node (each with its own clock and an event sink that records
//! into the shared history), lets the [`Injector`] play the fault plan, and after the scenario's
//! duration returns the history and the checkers' verdict ([`run_spooled`]: the history spooled to
//! disk and checked a shard at a time, for a scale scenario). Each node's process starts and stops
//! its cronfence node as the node's deploy control ([`crate::control`]) says. Routing lives in
//! [`crate::net`], time in [`crate::clock`], faults in [`crate::inject`]: this module only wires
//! them together.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::{Job, JobId, JobSpec, Node, NodeConfig, NodeEvent};
use jiff::SignedDuration;

use crate::check::{self, CheckInput, Observed, Verdict};
use crate::clock::{ClockModel, SimClock, WorldTime};
use crate::control::NodeControl;
use crate::history::{History, Recorder};
use crate::inject::{Injector, Planned};
use crate::net::HeldWrites;
use crate::scenario::{BackendKind, Scenario};
use crate::sink::Sink;

/// The outcome of one scenario on one backend with one seed.
#[derive(Clone, Debug)]
pub struct Run {
    /// The seed.
    pub seed: u64,
    /// The backend.
    pub backend: BackendKind,
    /// Everything that happened.
    pub history: History,
    /// What the checkers found.
    pub verdict: Verdict,
    /// The faults played (explicit and random), in start order.
    pub plan: Vec<Planned>,
}

/// Runs `scenario` on `backend` with `seed` in a fresh deterministic runtime.
///
/// The runtime runs on a thread of its own: std's `HashMap` seeds are per thread and set once,
/// and only a thread whose first map is made inside the runtime gets seeds drawn from `seed`
/// (madsim sets them when the runtime is built). Reusing a thread would make every `HashMap`
/// inside the simulation (madsim's and the simulated etcd server's) iterate in an order that
/// depends on what ran on that thread before.
pub fn run(scenario: &Scenario, backend: BackendKind, seed: u64) -> Run {
    let plan = fault_plan(scenario, seed);
    let (scenario_c, plan_c) = (scenario.clone(), plan.clone());
    let history = std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move { world(&scenario_c, backend, plan_c, Recorder::new()).await })
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let verdict = judge(scenario, backend, &history, check::SHARD_JOBS);
    Run {
        seed,
        backend,
        history,
        verdict,
        plan,
    }
}

/// The checkers' verdict on `history`, a run of `scenario` on `backend`, checked in shards of at
/// most `shard_jobs` jobs (the verdict does not depend on it: `sim/tests/scenarios.rs` checks
/// that a shard of one job gives every file's verdict).
pub fn judge(
    scenario: &Scenario,
    backend: BackendKind,
    history: &History,
    shard_jobs: usize,
) -> Verdict {
    let end = history.records.last().map(|r| r.true_time);
    with_input(scenario, backend, history, end, |input| {
        check::check_in_shards(input, shard_jobs)
    })
}

/// The checkers' input for `history` (all of it, or a spooled one's records naming no job),
/// a run of `scenario` on `backend` whose last record is at `end`, handed to `f`.
fn with_input<R>(
    scenario: &Scenario,
    backend: BackendKind,
    history: &History,
    end: Option<jiff::Timestamp>,
    f: impl FnOnce(CheckInput<'_>) -> R,
) -> R {
    let jobs = checked_jobs(scenario, history);
    let window = (
        scenario.start + scenario.check.warmup,
        scenario.start + scenario.duration - scenario.check.cooldown,
    );
    // The go-micro model campaigns in elections named after each node's own start time, not
    // cronfence's: no election name holds for the whole cluster, so its leaders are not judged
    // (its ticks still are).
    let elections = match scenario.go_micro {
        Some(_) => BTreeMap::new(),
        None => scenario.elections(&jobs, history.first_campaigner()),
    };
    f(CheckInput {
        history,
        jobs: &jobs,
        window,
        world: (scenario.start, scenario.start + scenario.duration),
        elections: &elections,
        observed: Observed {
            commands: true,
            backend: backend == BackendKind::Memory,
        },
        liveness: Some(scenario.liveness_bound()),
        history_end: end,
    })
}

/// The outcome of one run whose history was spooled to disk ([`crate::spool`]) and checked one
/// shard of jobs at a time.
#[derive(Clone, Debug)]
pub struct SpooledRun {
    /// The seed.
    pub seed: u64,
    /// The backend.
    pub backend: BackendKind,
    /// How many records the history held.
    pub records: u64,
    /// The records that name no job (elections, leaderships, faults, node starts).
    pub kept: History,
    /// What the checkers found.
    pub verdict: Verdict,
    /// The faults played (explicit and random), in start order.
    pub plan: Vec<Planned>,
}

/// Where a spooled run is.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// Simulating: records so far, and the simulated time of the newest.
    Simulating(u64, SignedDuration),
    /// Checking: shards checked, of how many.
    Checking(usize, usize),
}

/// Runs `scenario` on `backend` with `seed` as [`run`] does, but spools its history to `dir`
/// in shards of at most `shard_jobs` jobs and checks it one shard at a time, so no run holds
/// its whole history; `progress` hears where it is (about every second while simulating, at
/// each shard while checking). `dir` is the spool's own folder: emptied first, removed once
/// checked (or when spooling failed).
pub fn run_spooled(
    scenario: &Scenario,
    backend: BackendKind,
    seed: u64,
    dir: &std::path::Path,
    shard_jobs: usize,
    mut progress: impl FnMut(Stage),
) -> Result<SpooledRun, String> {
    let plan = fault_plan(scenario, seed);
    let ids: Vec<JobId> = scenario.job_specs().into_keys().collect();
    let spool = crate::spool::Spool::create(dir, &ids, shard_jobs)
        .map_err(|e| format!("cannot spool the history to {}: {e}", dir.display()))?;
    let recorder = Recorder::spooled(spool);
    let (scenario_c, plan_c, recorder_c) = (scenario.clone(), plan.clone(), recorder.clone());
    let world_thread = std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move { world(&scenario_c, backend, plan_c, recorder_c).await })
    });
    let mut told = std::time::Instant::now();
    while !world_thread.is_finished() {
        std::thread::sleep(Duration::from_millis(5));
        if told.elapsed() < Duration::from_secs(1) {
            continue;
        }
        told = std::time::Instant::now();
        if let (records, Some(newest)) = recorder.progress() {
            progress(Stage::Simulating(
                records,
                newest.duration_since(scenario.start),
            ));
        }
    }
    world_thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    progress(Stage::Simulating(recorder.progress().0, scenario.duration));
    let spooled = recorder
        .take_spooled()
        .expect("a spooled recorder gives its spool")
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(dir);
        })?;
    let kept = History {
        records: spooled.kept().to_vec(),
    };
    let verdict = with_input(scenario, backend, &kept, spooled.last, |input| {
        check::check_spooled(input, &spooled, |done, of| {
            progress(Stage::Checking(done, of))
        })
    });
    let records = spooled.records;
    spooled.remove();
    let verdict = verdict?;
    Ok(SpooledRun {
        seed,
        backend,
        records,
        kept,
        verdict,
        plan,
    })
}

/// The definitions the checkers judge by: each job as the backend registered it. Nodes define a
/// `tz = "local"` job in their own zones; the registry keeps the first registrant's and refuses the
/// others (`JobRejected`), so the definition of a node that never recorded a refusal is the one.
/// A rolling upgrade (`stop` with `upgrade_to`) changes only the spec `version`, which no checker
/// reads: the older nodes' refusals (superseded) only move the choice to another node whose
/// definition has the same schedule and policies, kept here at the scenario's version.
fn checked_jobs(scenario: &Scenario, history: &History) -> BTreeMap<JobId, JobSpec> {
    let mut jobs: BTreeMap<JobId, JobSpec> = scenario
        .job_specs()
        .into_iter()
        .map(|(id, (spec, _))| (id, spec))
        .collect();
    let refused = |node: &str, id: &JobId| {
        history.node_events().any(|(record, event)| {
            record.node == node && matches!(event, NodeEvent::JobRejected { job, .. } if job == id)
        })
    };
    let defined: Vec<_> = (0..scenario.node.zones.len())
        .map(|node| scenario.job_specs_on(node))
        .collect();
    for (id, kept) in jobs.iter_mut() {
        let registrant = (0..defined.len()).find(|&node| !refused(&format!("node-{node}"), id));
        if let Some((spec, _)) = registrant.and_then(|node| defined[node].get(id)) {
            *kept = spec.clone();
        }
    }
    jobs
}

pub use crate::random::fault_plan;

async fn world(
    scenario: &Scenario,
    kind: BackendKind,
    plan: Vec<Planned>,
    recorder: Recorder,
) -> History {
    let time = WorldTime::new(scenario.start);
    let handle = madsim::runtime::Handle::current();
    let backend = crate::backend::start(kind, scenario, &recorder, time);
    let mut nodes = BTreeMap::new();
    let mut clocks = BTreeMap::new();
    let mut held = BTreeMap::new();
    let mut controls = BTreeMap::new();
    for i in 0..scenario.nodes {
        let name = format!("node-{i}");
        let model = Arc::new(Mutex::new(ClockModel::default()));
        let writes: HeldWrites = Default::default();
        let control = NodeControl::default();
        let process = Process {
            name: name.clone(),
            config: scenario.node_config(&name),
            jobs: Arc::new(scenario.job_specs_on(i)),
            clock: SimClock::new(time, model.clone()),
            held: writes.clone(),
            faults: backend.faults.clone(),
            control: control.clone(),
            backend: kind,
            go_micro: scenario.go_micro.clone(),
            recorder: recorder.clone(),
            time,
        };
        let node = handle
            .create_node()
            .name(&name)
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)))
            .init(move || process.clone().run())
            .build();
        nodes.insert(name.clone(), node.id());
        clocks.insert(name.clone(), model);
        held.insert(name.clone(), writes);
        controls.insert(name, control);
    }
    let mut node_ids: Vec<_> = nodes.values().copied().collect();
    node_ids.push(backend.id);
    let injector = Arc::new(Injector::new(
        nodes,
        backend,
        clocks,
        held,
        controls,
        recorder.clone(),
        time,
    ));
    tokio::spawn(injector.run(plan));
    tokio::time::sleep(scenario.duration.unsigned_abs()).await;
    let history = recorder.take();
    // madsim does not drop the tasks still pending when `block_on` returns (every node's loops,
    // the backend service), nor what they hold (the recorder, the backend's state): each world
    // leaked a few MB, and a sweep of thousands ran out of memory. Killing the nodes wakes their
    // tasks, and the executor drops them on the next turn.
    for id in node_ids {
        handle.kill(id);
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    history
}

/// One simulated node's program: a real cronfence node whose commands just take their run time,
/// started and stopped as its deploy control says.
#[derive(Clone)]
struct Process {
    name: String,
    config: NodeConfig,
    jobs: Arc<BTreeMap<JobId, (JobSpec, SignedDuration)>>,
    clock: SimClock,
    held: HeldWrites,
    /// The backend faults in force (played by this node's client on etcd-sim).
    faults: Arc<Mutex<crate::net::BackendFaults>>,
    control: NodeControl,
    backend: BackendKind,
    go_micro: Option<crate::scenario::GoMicroSettings>,
    recorder: Recorder,
    time: WorldTime,
}

impl Process {
    /// Runs a cronfence node whenever the control wants one. A stop shuts the node down
    /// gracefully (`RunningNode::shutdown`, awaited); the next start is a fresh node over a fresh
    /// backend client with the same configuration, its jobs at the control's spec version, as a
    /// restarted process would be. (madsim re-runs this after a crash's restart.)
    async fn run(self) {
        if let Some(settings) = &self.go_micro {
            let backend = self.backend_client().await;
            let jobs = self
                .jobs
                .iter()
                .map(|(id, (spec, run))| (id, spec, run.unsigned_abs()));
            let clock = Arc::new(self.clock.clone());
            let node = &self.name;
            crate::gomicro::run_all(node, backend, clock, self.sink(), jobs, settings).await;
            return;
        }
        let sink = self.sink();
        let reached = move || sink.stop_reached();
        crate::control::follow(&self.control, |version| self.start_node(version), reached).await;
        std::future::pending::<()>().await;
    }

    async fn backend_client(&self) -> Arc<dyn cronfence::Backend> {
        let timeout = self.config.request_timeout;
        let (held, faults) = (self.held.clone(), self.faults.clone());
        crate::backend::client(self.backend, &self.name, held, faults, timeout).await
    }

    fn sink(&self) -> Arc<Sink> {
        Arc::new(Sink::new(
            &self.name,
            self.clock.clone(),
            self.recorder.clone(),
            self.time,
        ))
    }

    /// Starts a cronfence node with every job, at spec `version` when one is given.
    async fn start_node(&self, version: Option<u64>) -> cronfence::RunningNode {
        // The process starts now; its jobs are its own from now, even if connecting to the
        // backend takes a while (etcd's client connects before the node can be built).
        let started = cronfence::Clock::now(&self.clock);
        let backend = self.backend_client().await;
        let sink = self.sink();
        let mut node = Node::with_backend(self.config.clone(), backend)
            .jobs_since(started)
            .clock(Arc::new(self.clock.clone()))
            .events(sink.clone());
        for (id, (spec, run_time)) in self.jobs.iter() {
            let run_time = run_time.unsigned_abs();
            let sink = sink.clone();
            let mut job = Job::new(id.clone(), spec.schedule.clone(), move |tick| {
                let sink = sink.clone();
                async move {
                    // The body runs on the first poll: this record is the run really beginning.
                    let (job, at, token) = (&tick.job, tick.scheduled_at, tick.fencing_token);
                    let run = sink.began(job, at, token, tick.attempt);
                    tokio::time::sleep(run_time).await;
                    // A command dropped before this (cancelled, or its process died) records
                    // the drop instead.
                    run.returned();
                    Ok::<(), std::io::Error>(())
                }
            });
            job.spec = spec.clone();
            if let Some(version) = version {
                job.spec.version = version;
            }
            node = node.job(job).expect("scenario job ids are unique");
        }
        node.start()
    }
}

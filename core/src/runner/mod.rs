//! The runner: a [`Node`] that registers its jobs, holds a session, campaigns and runs ticks.
//!
//! The runner acts; [`crate::plan`] decides. A started node ([`RunningNode`]) registers every job
//! definition in one batch, opens a session (a kept-alive lease), and runs one campaign per
//! election (per group or per job, [`ElectionScope`]). A winner leads ([`leading`]) until its
//! leadership ends — revoked, fenced out, stepped down for the clock, superseded, or shut down —
//! and then does what [`crate::lifecycle`] says: settle its runs, resign (all but a revoked one,
//! whose session is gone) so a follower takes over within one backend round trip, and campaign
//! again, sit out, or leave. A lost session is replaced and the campaigns restart; every
//! session, lost or not, is closed by revoking its lease ([`session`]).
//! Every backend call is bounded and retried with capped backoff ([`health`]); a leadership's
//! at-least-once runs are committed in batches, one request at a time ([`committer`]).

mod batch;
mod committer;
mod election;
mod execution;
mod health;
mod leading;
mod session;
mod supersession;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::signal;

use crate::clock::{Clock, SystemClock};
use crate::elector::{ElectionName, ElectionScope};
use crate::error::{Error, Result};
use crate::event::{EventSink, NoEvents, NodeEvent};
use crate::job::Job;
use crate::store::Backend;

/// How a node behaves; every duration has a production-minded default.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's name: its campaign value and the `node` of its events.
    pub name: String,
    /// The group whose election(s) the node joins (default `default`).
    pub group: String,
    /// One election per group (default) or per job.
    pub scope: ElectionScope,
    /// The session lease TTL (default 10 s). Leadership survives a backend outage this long.
    pub lease_ttl: Duration,
    /// The bound on each backend call (default 2 s).
    pub request_timeout: Duration,
    /// After failing this long, the node reports `BackendUnreachable` (default 5 s).
    pub unreachable_after: Duration,
    /// The first retry delay after a failed call (default 100 ms), doubling up to `retry_max`.
    pub retry_initial: Duration,
    /// The longest retry delay (default 5 s).
    pub retry_max: Duration,
    /// The runner re-reads the wall clock at least this often while waiting (default 1 s), in
    /// every role, so a clock that jumps is noticed and one corrected meanwhile is believed.
    pub clock_recheck: Duration,
    /// On shutdown, running jobs get this long to finish before they are cancelled (default 10 s).
    pub shutdown_grace: Duration,
    /// A leader whose clock reads more than this before the newest claimed tick steps down
    /// (default 60 s): its clock went backwards, and another node should lead rather than nobody
    /// running ticks until it recovers. It sits out at most one lease TTL; winning again with the
    /// checkpoint unmoved it leads on, stepping down again each lease TTL while still behind, so
    /// a node with a better clock can take over (`lifecycle::steps_down_for_clock`). Also how far
    /// ahead of the clock evidence ticks may run early.
    pub clock_lag_limit: Duration,
    /// Opt-in (default off): before its first campaign in each election of a session, the node
    /// withdraws what other sessions left there under its name
    /// ([`crate::Elector::withdraw_predecessors`]), so a node that crashed and came back does not
    /// wait out its dead process's lease. Only for deployments where a name is never held by two
    /// processes that could both still run — a zombie included: a process cut off from the
    /// backend but alive, whose replacement was started under its name, would lose its lease at
    /// once instead of after its proof runs out, and its at-least-once runs could overlap their
    /// reruns; two live nodes sharing a name would revoke each other's sessions over and over.
    pub withdraw_predecessors: bool,
    /// **Test-only:** deliberately broken behaviours, all off by default (see [`Broken`]).
    #[doc(hidden)]
    pub broken: Broken,
}

/// Deliberately broken behaviours, so the simulator can prove its checkers catch a broken
/// scheduler. **Never for production**; every field is off by default.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Broken {
    /// Missed ticks are dropped silently: no catch-up and no record of the loss.
    pub no_catch_up: bool,
    /// At-most-once ticks are claimed after they ran instead of before.
    pub claim_after_run: bool,
    /// A leader stepping down for its clock keeps its leadership instead of resigning, and sits
    /// out until its clock catches up: nobody else can lead meanwhile (a stall the liveness
    /// checker must catch).
    pub no_resign_on_step_down: bool,
}

impl NodeConfig {
    /// Defaults for a node called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        NodeConfig {
            name: name.into(),
            group: "default".into(),
            scope: ElectionScope::Group,
            lease_ttl: Duration::from_secs(10),
            request_timeout: Duration::from_secs(2),
            unreachable_after: Duration::from_secs(5),
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            clock_recheck: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            clock_lag_limit: Duration::from_secs(60),
            withdraw_predecessors: false,
            broken: Broken::default(),
        }
    }
}

/// What a running node reports about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeStatus {
    /// Every job definition got an answer from the backend.
    pub registered: bool,
    /// Jobs the backend refused (`JobSpecMismatch`, `SpecSuperseded`, `ElectionMismatch`); the
    /// node never runs them.
    pub rejected: Vec<Error>,
    /// Set while the backend has been unreachable for longer than the bound.
    pub unreachable: Option<Error>,
    /// The node has stopped.
    pub stopped: bool,
}

/// State shared by every task of one node.
pub(crate) struct NodeCtx {
    pub(crate) config: NodeConfig,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    health: health::Health,
    status: signal::Sender<NodeStatus>,
    shutdown: signal::Receiver<bool>,
    /// Elections this node left for good (a job of theirs was superseded).
    retired: std::sync::Mutex<std::collections::BTreeSet<ElectionName>>,
    /// At-most-once runs that carry on after their leadership ended: their cancel signal and
    /// whether they ended. Shutdown drains them like its own runs.
    orphans: std::sync::Mutex<Vec<Orphan>>,
    /// What this node's clock readings prove about true time, and the monotonic origin.
    evidence: std::sync::Mutex<(crate::clock::Evidence, tokio::time::Instant)>,
}

impl NodeCtx {
    /// Records an event: to `tracing` and to the node's sink.
    pub(crate) fn emit(&self, event: NodeEvent) {
        tracing::info!(node = %self.config.name, ?event, "cronfence");
        self.events.record(&event);
    }

    /// Records that the backend refused one of this node's job definitions.
    pub(crate) fn reject(&self, error: Error) {
        let job = match &error {
            Error::JobSpecMismatch { job, .. }
            | Error::SpecSuperseded { job, .. }
            | Error::ElectionMismatch { job, .. } => job.clone(),
            other => unreachable!("only definition refusals are rejections: {other}"),
        };
        tracing::error!(node = %self.config.name, %job, %error, "job rejected; this node will not run it");
        self.emit(NodeEvent::JobRejected {
            job,
            error: error.to_string(),
        });
        self.status.send_modify(|s| s.rejected.push(error));
    }

    /// Leaves `election` for good.
    pub(crate) fn retire(&self, election: &ElectionName) {
        self.retired
            .lock()
            .expect("retired lock")
            .insert(election.clone());
    }

    fn retired(&self, election: &ElectionName) -> bool {
        self.retired
            .lock()
            .expect("retired lock")
            .contains(election)
    }

    /// Reads the clock, with the evidence the node's earlier readings give it.
    pub(crate) fn read_clock(&self) -> crate::clock::Reading {
        let wall = self.clock.now();
        let mut evidence = self.evidence.lock().expect("evidence lock");
        let mono = evidence.1.elapsed();
        evidence.0.observe(wall, mono)
    }

    /// Reads the clock every `clock_recheck` (at most half the evidence window) in every role —
    /// following, campaigning, sitting out a dead backend — not only while leading: only readings
    /// taken meanwhile let the evidence tell a clock corrected long ago from one that jumped
    /// ahead just now, so a node that wins acts on its clock at once instead of trusting a
    /// reading from its last leadership, taken while its clock was wrong. Runs until the node
    /// stops.
    pub(crate) async fn sample_clock(&self) {
        let period = self
            .config
            .clock_recheck
            .min(crate::clock::EVIDENCE_WINDOW / 2)
            .max(Duration::from_millis(1));
        loop {
            self.read_clock();
            if self.sleep_unless_stopping(period).await {
                return;
            }
        }
    }

    /// True once shutdown was requested, or the [`RunningNode`] handle was dropped.
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }

    /// Resolves once shutdown has been requested.
    pub(crate) async fn stop_requested(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the handle is gone, which also means stop.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `delay`; true if shutdown was requested meanwhile.
    pub(crate) async fn sleep_unless_stopping(&self, delay: Duration) -> bool {
        tokio::select! {
            biased;
            _ = self.stop_requested() => true,
            _ = tokio::time::sleep(delay) => self.stopping(),
        }
    }
}

#[cfg(test)]
impl NodeCtx {
    /// The shared state of a node named `test` over `backend`, its events to `events`, for
    /// tests of the runner's parts.
    pub(crate) fn for_tests(backend: Arc<dyn Backend>, events: Arc<dyn EventSink>) -> Arc<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut evidence = crate::clock::Evidence::new(crate::clock::EVIDENCE_WINDOW);
        evidence.observe(clock.now(), Duration::ZERO);
        Arc::new(NodeCtx {
            config: NodeConfig::new("test"),
            backend,
            clock,
            events,
            health: Default::default(),
            status: signal::Sender::new(NodeStatus::default()),
            shutdown: signal::channel(false).1,
            retired: Default::default(),
            orphans: Default::default(),
            evidence: std::sync::Mutex::new((evidence, tokio::time::Instant::now())),
        })
    }
}

/// A node: configuration, backend, clock, event sink and jobs, not yet started.
pub struct Node {
    config: NodeConfig,
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    jobs: Vec<Job>,
    since: Option<jiff::Timestamp>,
}

impl Node {
    /// A node using `backend`, the system clock and no event sink.
    pub fn new(config: NodeConfig, backend: impl Backend + 'static) -> Self {
        Self::with_backend(config, Arc::new(backend))
    }

    /// A node over a shared backend.
    pub fn with_backend(config: NodeConfig, backend: Arc<dyn Backend>) -> Self {
        Node {
            config,
            backend,
            clock: Arc::new(SystemClock),
            events: Arc::new(NoEvents),
            jobs: Vec::new(),
            since: None,
        }
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The instant from which the jobs are this node's (default: its clock's reading when it
    /// starts). Registration records it, however long the backend takes to answer, so ticks due
    /// meanwhile are caught up; an application that connects its backend before building the
    /// node passes the instant it started.
    pub fn jobs_since(mut self, since: jiff::Timestamp) -> Self {
        self.since = Some(since);
        self
    }

    /// Sends every event to `sink`.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = sink;
        self
    }

    /// Adds a job; fails with `DuplicateJob` if its id is already on this node.
    pub fn job(mut self, job: Job) -> Result<Self> {
        if self.jobs.iter().any(|j| j.id == job.id) {
            return Err(Error::DuplicateJob { job: job.id });
        }
        self.jobs.push(job);
        Ok(self)
    }

    /// Starts the node's tasks and returns at once.
    pub fn start(self) -> RunningNode {
        let since = self.since.unwrap_or_else(|| self.clock.now());
        // The start reading is the first evidence: a clock that jumps ahead right after cannot
        // vouch for more than the time elapsed since.
        let mut evidence = crate::clock::Evidence::new(crate::clock::EVIDENCE_WINDOW);
        evidence.observe(since, Duration::ZERO);
        let (stop_tx, stop_rx) = signal::channel(false);
        let (status_tx, status_rx) = signal::channel(NodeStatus::default());
        let ctx = Arc::new(NodeCtx {
            config: self.config,
            backend: self.backend,
            clock: self.clock,
            events: self.events,
            health: Default::default(),
            status: status_tx,
            shutdown: stop_rx,
            retired: Default::default(),
            orphans: Default::default(),
            evidence: std::sync::Mutex::new((evidence, tokio::time::Instant::now())),
        });
        ctx.emit(NodeEvent::NodeStarted { since });
        let watchdog = tokio::spawn({
            let ctx = ctx.clone();
            async move { ctx.watch_health().await }
        });
        let sampler = tokio::spawn({
            let ctx = ctx.clone();
            async move { ctx.sample_clock().await }
        });
        let task = tokio::spawn(run(ctx, self.jobs, since, [watchdog, sampler]));
        RunningNode {
            status: status_rx,
            stop: stop_tx,
            task,
        }
    }
}

/// A started node. Dropping it stops the node (without waiting for the graceful steps to end);
/// call [`RunningNode::shutdown`] to wait for them.
pub struct RunningNode {
    status: signal::Receiver<NodeStatus>,
    stop: signal::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Waits until registration is settled. `Ok` when every job was accepted; the first
    /// rejection (`JobSpecMismatch`, `SpecSuperseded`, `ElectionMismatch`) otherwise; `BackendUnreachable` if the
    /// backend could not be reached within the bound (the node keeps retrying meanwhile).
    pub async fn ready(&mut self) -> Result<()> {
        let status = self
            .status
            .wait_for(|s| s.registered || s.unreachable.is_some() || s.stopped)
            .await
            .map_err(|_| Error::ShuttingDown)?
            .clone();
        if let Some(first) = status.rejected.first() {
            return Err(first.clone());
        }
        match status.unreachable {
            Some(e) if !status.registered => Err(e),
            _ if !status.registered => Err(Error::ShuttingDown),
            _ => Ok(()),
        }
    }

    /// The node's current status.
    pub fn status(&self) -> NodeStatus {
        self.status.borrow().clone()
    }

    /// A receiver that changes whenever the status does.
    pub fn status_signal(&self) -> signal::Receiver<NodeStatus> {
        self.status.clone()
    }

    /// Stops gracefully: no new ticks, running jobs get the grace period, then every leadership
    /// is resigned and the session closed so a follower takes over at once.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// The node's main task: register, then keep a session and the campaigns on it.
async fn run(
    ctx: Arc<NodeCtx>,
    jobs: Vec<Job>,
    since: jiff::Timestamp,
    helpers: [tokio::task::JoinHandle<()>; 2],
) {
    if let Some(elections) = register(&ctx, jobs, since).await {
        keep_sessions(&ctx, elections).await;
    }
    drain_orphans(&ctx).await;
    ctx.status.send_modify(|s| s.stopped = true);
    helpers.iter().for_each(tokio::task::JoinHandle::abort);
}

/// Registers every job in one batch as of `since`, the node's start, however long the backend
/// takes to answer (a tick due while registration was retried must be caught up, not lost
/// unrecorded); returns the accepted jobs grouped by election.
async fn register(
    ctx: &NodeCtx,
    jobs: Vec<Job>,
    since: jiff::Timestamp,
) -> Option<BTreeMap<ElectionName, Vec<Job>>> {
    let specs: Vec<_> = jobs
        .iter()
        .map(|j| {
            let election = ctx.config.scope.election_for(&ctx.config.group, &j.id);
            (j.id.clone(), j.spec.clone(), election)
        })
        .collect();
    let results = register_all(ctx, &specs, since).await?;
    ctx.emit(NodeEvent::JobsRegistered { since });
    let mut rejected_elections = Vec::new();
    let mut elections: BTreeMap<ElectionName, Vec<Job>> = BTreeMap::new();
    let mut rejected = Vec::new();
    for (job, result) in jobs.into_iter().zip(results) {
        let election = ctx.config.scope.election_for(&ctx.config.group, &job.id);
        match result {
            Ok(registration) => {
                tracing::info!(node = %ctx.config.name, job = %job.id, ?registration, "job registered");
                elections.entry(election).or_default().push(job);
            }
            Err(
                error @ (Error::JobSpecMismatch { .. }
                | Error::SpecSuperseded { .. }
                | Error::ElectionMismatch { .. }),
            ) => {
                ctx.reject(error);
                rejected_elections.push(election);
            }
            Err(error) => {
                tracing::error!(node = %ctx.config.name, job = %job.id, %error, "registration failed");
                rejected.push(error);
                rejected_elections.push(election);
            }
        }
    }
    // A node that disagrees about one job of an election stays out of that election entirely,
    // so the nodes that agree run all of its jobs.
    for election in rejected_elections {
        if elections.remove(&election).is_some() {
            tracing::warn!(node = %ctx.config.name, %election, "not campaigning: a job of this election was rejected");
        }
    }
    ctx.status.send_modify(|s| {
        s.registered = true;
        s.rejected.extend(rejected);
    });
    Some(elections)
}

/// Registers `specs`, registering again, with backoff, every job whose own answer was a
/// transient failure (two nodes upgrading one definition at once: one of them lost the race and
/// must look again), until none is left or the node stops. `None` once the node stops before any
/// answer.
async fn register_all(
    ctx: &NodeCtx,
    specs: &[(crate::JobId, crate::job::JobSpec, ElectionName)],
    since: jiff::Timestamp,
) -> Option<Vec<crate::Result<crate::store::Registration>>> {
    let mut results: Vec<Option<crate::Result<crate::store::Registration>>> =
        specs.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..specs.len()).collect();
    let mut backoff = ctx.backoff();
    loop {
        let batch: Vec<_> = pending.iter().map(|&i| specs[i].clone()).collect();
        let answers = ctx
            .retry("register jobs", || ctx.backend.register(&batch, since))
            .await
            .ok()?;
        let mut again = Vec::new();
        for (&i, answer) in pending.iter().zip(answers) {
            if let Err(error) = &answer {
                if error.is_transient() {
                    tracing::warn!(node = %ctx.config.name, job = %specs[i].0, %error, "registration not settled; registering it again");
                    again.push(i);
                }
            }
            results[i] = Some(answer);
        }
        if again.is_empty() || ctx.stopping() {
            break;
        }
        pending = again;
        tokio::select! {
            biased;
            _ = ctx.stop_requested() => break,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
    Some(
        results
            .into_iter()
            .map(|r| r.expect("every job was answered at least once"))
            .collect(),
    )
}

/// Opens sessions and runs every election's campaign on them until shutdown.
async fn keep_sessions(ctx: &Arc<NodeCtx>, elections: BTreeMap<ElectionName, Vec<Job>>) {
    let elections: Vec<(ElectionName, Arc<Vec<Job>>)> = elections
        .into_iter()
        .map(|(name, jobs)| (name, Arc::new(jobs)))
        .collect();
    loop {
        let live: Vec<_> = elections
            .iter()
            .filter(|(name, _)| !ctx.retired(name))
            .cloned()
            .collect();
        if live.is_empty() {
            ctx.stop_requested().await;
            return;
        }
        if ctx.stopping() {
            return;
        }
        let ttl = ctx.config.lease_ttl;
        let Ok(session) = ctx
            .retry("open session", || ctx.backend.open_session(ttl))
            .await
        else {
            // Permanent errors (a TTL the backend refuses) cannot heal by retrying.
            if !ctx.stopping() {
                tracing::error!(node = %ctx.config.name, "cannot open a session; stopping");
            }
            return;
        };
        let session = Arc::new(session);
        let tasks: Vec<_> = live
            .iter()
            .map(|(name, jobs)| {
                let (ctx, session, name, jobs) =
                    (ctx.clone(), session.clone(), name.clone(), jobs.clone());
                tokio::spawn(
                    async move { election::campaign_loop(&ctx, &session, &name, &jobs).await },
                )
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        session::close(ctx, session).await;
    }
}

/// A run that outlived its leadership: its cancel signal, and whether it ended.
type Orphan = (
    signal::Sender<Option<crate::plan::AbandonReason>>,
    signal::Receiver<bool>,
);

/// On shutdown, lets the runs that outlived their leaderships finish within the grace, then
/// cancels the rest (nothing is committed for them) and waits for them to end.
async fn drain_orphans(ctx: &NodeCtx) {
    let orphans = std::mem::take(&mut *ctx.orphans.lock().expect("orphans lock"));
    let deadline = tokio::time::Instant::now() + ctx.config.shutdown_grace;
    for (_, done) in &orphans {
        let mut done = done.clone();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let _ = tokio::time::timeout(left, done.wait_for(|d| *d)).await;
    }
    for (cancel, done) in &orphans {
        if !done.borrow() {
            cancel.send_replace(Some(crate::plan::AbandonReason::Shutdown));
            let _ = done.clone().wait_for(|d| *d).await;
        }
    }
}

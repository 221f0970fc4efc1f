//! The real-time suite: the scenario files a [`RealWorld`] can play, run at once against a given
//! etcd cluster, turned into summary rows (backend `etcd`) for the regression check.
//!
//! A scenario can run in real time when its faults are ones a [`RealWorld`] plays — crashes,
//! pauses and graceful stops of nodes, partitions (each way) through each node's own proxy
//! ([`super::proxy`]), an unresponsive backend (every proxy holding), clock faults through each
//! node's clock, backend latency and ambiguous commits through each node's etcd client
//! ([`crate::boundary`]), stuck writes held by the etcd backend itself
//! ([`cronfence::etcd::StuckWrites`]), and a backend restart or member faults where the caller
//! started etcd itself ([`Target::restartable`]); random plans play as the simulator draws them
//! for seed 1 — it has no test-only variant (the go-micro model plays too, electing through the
//! same etcd), and it lasts at most `max_duration` once scaled by its `real_time_scale`
//! ([`crate::scenario::scale`]). True
//! time starts at the scenario's own start (every node's clock reads from there, so a DST night
//! plays on that night), and its keys go under a prefix of their own, so runs never meet earlier
//! ones' registrations. There is one run per scenario ("seed" 1): real time is not reproducible,
//! which is why the regression check has tolerances.

use std::sync::Arc;
use std::time::Duration;

use super::connect::{Connect, EtcdConnect};
use super::playback::Playback;
use super::restart::BackendProcess;
use super::RealWorld;
use crate::check::Verdict;
use crate::history::History;
use crate::report::summary::{Row, SeedOutcome};
use crate::scenario::{Loaded, Scenario};

/// Why `scenario` cannot run in real time, if it cannot; `restarts`: the caller started the
/// backend and can kill and restart it ([`super::restart`]), so `backend_restart` plays.
pub fn unplayable(scenario: &Scenario, max_duration: Duration, restarts: bool) -> Option<String> {
    if let Some(why) = &scenario.not_in_real_time {
        return Some(why.clone());
    }
    let scenario = &crate::scenario::scale::for_real_time(scenario);
    if scenario.duration.unsigned_abs() > max_duration {
        return Some(format!(
            "lasts {:#} (the real-time limit is {:?})",
            scenario.duration, max_duration
        ));
    }
    let v = &scenario.variant;
    if !(v.fencing && v.catch_up && v.claim_before_run) {
        return Some("breaks cronfence on purpose with a test-only variant".into());
    }
    let random = scenario.random.iter().flat_map(|r| r.kinds.iter());
    let kinds = scenario
        .faults
        .iter()
        .map(|f| f.fault.get_ref())
        .chain(random);
    for name in kinds {
        if !restarts && OWN_BACKEND.contains(&name.as_str()) {
            return Some(format!(
                "has (or its random plan may draw) the fault `{name}`, which needs an etcd the harness started itself (the \
                 real-etcd scenario tests start one per such file, a cluster of three for member \
                 faults)"
            ));
        }
    }
    None
}

/// True when `scenario` restarts its backend (an explicit fault, or a kind its random plan may
/// draw): it plays only against an etcd of its own.
pub fn restarts_backend(scenario: &Scenario) -> bool {
    let random = scenario.random.iter().flat_map(|r| r.kinds.iter());
    let mut kinds = scenario
        .faults
        .iter()
        .map(|f| f.fault.get_ref())
        .chain(random);
    kinds.any(|k| OWN_BACKEND.contains(&k.as_str()))
}

/// True when a real-time world plays fault `kind` against a given cluster (one it did not start).
pub fn plays_on_a_given_cluster(kind: &str) -> bool {
    !OWN_BACKEND.contains(&kind)
}

/// The fault kinds a real-time world plays only on a backend it started itself (and so can kill
/// and restart): not against a given cluster (`regress --endpoints`, `explore --endpoints`).
pub const OWN_BACKEND: &[&str] = &[
    "backend_restart",
    "member_crash",
    "member_pause",
    "member_isolate",
];

/// How many etcd members `scenario` needs: a cluster of
/// [`crate::scenario::CLUSTER_MEMBERS`] for member faults, else one server.
pub fn members_needed(scenario: &Scenario) -> usize {
    if scenario
        .faults
        .iter()
        .any(crate::scenario::FaultEntry::is_member)
    {
        crate::scenario::CLUSTER_MEMBERS
    } else {
        1
    }
}

/// One scenario's real-time run.
pub struct RealRun {
    /// The scenario.
    pub loaded: Arc<Loaded>,
    /// Everything that happened.
    pub history: History,
    /// What the checkers found.
    pub verdict: Verdict,
    /// Whether that is what the scenario expects.
    pub judged: Result<(), String>,
}

impl RealRun {
    /// The summary row (backend `etcd`, one seed).
    pub fn row(&self) -> Row {
        Row::new(
            &self.loaded,
            "etcd",
            &[SeedOutcome {
                seed: 1,
                verdict: &self.verdict,
                judged: &self.judged,
            }],
        )
    }
}

/// What a real-time scenario plays against: a backend reached at `endpoints` through
/// `connect`, and, when the caller started it, its `process`, for `backend_restart`.
pub struct Target {
    /// The addresses the backend serves at (each node reaches them through proxies of its own).
    pub endpoints: Vec<String>,
    /// How a node connects ([`EtcdConnect`] by default).
    pub connect: Arc<dyn Connect>,
    /// The backend's process, when the world may kill and restart it.
    pub process: Option<Box<dyn BackendProcess>>,
}

impl Target {
    /// The etcd cluster at `endpoints`.
    pub fn etcd(endpoints: Vec<String>) -> Self {
        Target {
            endpoints,
            connect: Arc::new(EtcdConnect),
            process: None,
        }
    }

    /// The same addresses, reached through `connect`: another backend under test.
    pub fn connecting_with(mut self, connect: Arc<dyn Connect>) -> Self {
        self.connect = connect;
        self
    }

    /// A backend the caller started, which `backend_restart` may kill and restart.
    pub fn restartable(mut self, process: Box<dyn BackendProcess>) -> Self {
        self.process = Some(process);
        self
    }
}

/// How many files [`run`] plays at once by default. All 64 at once loaded a single etcd and two
/// cores enough that a waiting candidate heard of a graceful stop's resign about a second late
/// (`graceful_stop_handoff` wants the handoff within 1 s; alone it takes milliseconds).
pub const AT_ONCE: usize = 16;

/// Plays every scenario against the etcd at `endpoints`, `at_once` at a time in the order given
/// (put the longest first), keys under `prefix/<scenario>`; `done` hears of each run as it ends.
/// Returns the runs in the order given.
pub fn run(
    scenarios: &[Arc<Loaded>],
    endpoints: &[String],
    prefix: &str,
    at_once: usize,
    done: &(dyn Fn(&RealRun) + Sync),
) -> Vec<RealRun> {
    type Played = std::thread::Result<RealRun>;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runs: std::sync::Mutex<Vec<Option<Played>>> =
        std::sync::Mutex::new(scenarios.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..at_once.clamp(1, scenarios.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(loaded) = scenarios.get(i) else {
                    return;
                };
                let prefix = format!("{prefix}/{}", loaded.name);
                let target = Target::etcd(endpoints.to_vec());
                // A file that panics does not stop the others; its panic is raised after.
                let played = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    play(loaded.clone(), target, &prefix)
                }));
                if let Ok(run) = &played {
                    done(run);
                }
                runs.lock().expect("runs lock")[i] = Some(played);
            });
        }
    });
    let runs = runs.into_inner().expect("runs lock");
    runs.into_iter()
        .map(|r| match r.expect("every scenario played") {
            Ok(run) => run,
            Err(panic) => std::panic::resume_unwind(panic),
        })
        .collect()
}

/// Plays one scenario in real time against `target`, keys under `prefix`, and judges it by its
/// expectation.
pub fn play(loaded: Arc<Loaded>, target: Target, prefix: &str) -> RealRun {
    let Target {
        endpoints,
        connect,
        process,
    } = target;
    let scaled = crate::scenario::scale::for_real_time(&loaded.scenario);
    let scenario = &scaled;
    let stuck = scenario
        .faults
        .iter()
        .any(|f| f.fault.get_ref() == "delayed_write");
    if stuck && !connect.holds_writes() {
        let why = "the scenario holds writes in the network (`delayed_write`), which this \
                   backend's `Connect` cannot (`Connect::holds_writes`)";
        return RealRun {
            loaded,
            history: History::default(),
            verdict: Verdict::default(),
            judged: Err(why.into()),
        };
    }
    let jobs = scenario.job_specs();
    let mut world = RealWorld::new(
        scenario.node_config("node"),
        prefix,
        jobs.iter()
            .map(|(id, (spec, _))| (id.clone(), spec.clone()))
            .collect(),
    )
    .starting_at(scenario.start)
    .with_proxies();
    world.run_times(
        jobs.iter()
            .map(|(id, (_, t))| (id.clone(), t.unsigned_abs()))
            .collect(),
    );
    for i in 0..scenario.nodes {
        let name = format!("node-{i}");
        let jobs = scenario.job_specs_on(i).into_iter();
        let jobs = jobs.map(|(id, (spec, _))| (id, spec)).collect();
        world.set_up(&name, scenario.node_config(&name), jobs);
    }
    let elected = scenario.clone();
    let mut world = world.finish_with(move |history| {
        let jobs = elected.job_specs().into_iter();
        let jobs = jobs.map(|(id, (spec, _))| (id, spec)).collect();
        elected.elections(&jobs, history.first_campaigner())
    });
    if let Some(settings) = &scenario.go_micro {
        world = world.running_go_micro(settings.clone());
    }
    if let Some(process) = process {
        world = world.with_backend_process(process);
    }
    world = world.connecting_with(connect);
    let playback = Playback::new(&loaded.scenario);
    let started = std::time::Instant::now();
    for i in 0..scenario.nodes {
        world.start(&format!("node-{i}"), endpoints.clone());
    }
    let end = scenario.duration.unsigned_abs();
    playback.play(&mut world, started, end);
    std::thread::sleep(end.saturating_sub(started.elapsed()));
    let (history, verdict) = world.finish(
        scenario.check.warmup.unsigned_abs(),
        scenario.check.cooldown.unsigned_abs(),
    );
    let judged = crate::expect::judge(scenario, &verdict, &history);
    RealRun {
        loaded,
        history,
        verdict,
        judged,
    }
}

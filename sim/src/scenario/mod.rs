//! Scenario files: the TOML format, and loading it with located, actionable errors.
//!
//! A scenario names the nodes, the backends to run on, the jobs and their policies, the fault plan
//! (an explicit list and/or random-plan parameters), the duration, the seeds and the expected
//! outcome. Unknown keys, bad values, impossible plans and files over a budget ([`budget`]) are
//! rejected with `file:line:column` and a one-line fix hint, as are files that cannot be read
//! ([`load`]): no input a file can hold makes the loader or the run panic, abort or hang. The
//! format is documented in `scenarios/README.md`; this module only parses and validates, the
//! world ([`crate::world`]) runs it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cronfence::{Delivery, ElectionScope, JobId, JobSpec, OverlapPolicy};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::fault::Direction;

/// A loaded, validated scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario proves, in a sentence or two.
    pub description: String,
    /// How many nodes run the jobs.
    #[serde(default = "defaults::nodes")]
    pub nodes: usize,
    /// The backends to run against.
    #[serde(default = "defaults::backends")]
    pub backends: Vec<BackendKind>,
    /// Why the scenario does not run on `etcd-sim`, when `backends` leaves it out.
    pub not_on_etcd_sim: Option<String>,
    /// Why the scenario runs in real time only (`backends = []`): the simulated backends are
    /// one server, so a fault of one member of a cluster plays only against real etcd.
    pub not_simulated: Option<String>,
    /// Why the real-time suite (`regress --backend etcd`) must not play the scenario, when it
    /// must not although its faults are ones real time plays.
    pub not_in_real_time: Option<String>,
    /// In real time, every duration is multiplied by this factor ([`scale`]); the simulator
    /// runs the file as written.
    pub real_time_scale: Option<f64>,
    /// A scale scenario: its history is spooled to disk and checked one shard of jobs at a time
    /// ([`crate::spool`]), so it may define up to [`budget::SPOOLED_MAX_JOBS`] jobs and
    /// [`budget::SPOOLED_MAX_TICKS`] ticks. Only `cronfence report --scale` and `cronfence run`
    /// play it (the suites leave it out).
    #[serde(default)]
    pub spooled: bool,
    /// Simulated time to run.
    pub duration: SignedDuration,
    /// Seeds: a count (seeds 1..=n) or an explicit list.
    #[serde(default)]
    pub seeds: Seeds,
    /// True wall-clock time when the world starts.
    #[serde(default = "defaults::start")]
    pub start: Timestamp,
    /// Node settings.
    #[serde(default)]
    pub node: NodeSettings,
    /// The jobs.
    pub jobs: Vec<JobEntry>,
    /// Explicit faults.
    #[serde(default)]
    pub faults: Vec<FaultEntry>,
    /// Random faults drawn from the seed.
    #[serde(default)]
    pub random: Option<RandomPlan>,
    /// The checked window.
    #[serde(default)]
    pub check: CheckSettings,
    /// Test-only switches that break cronfence on purpose, to show the checkers catch it.
    #[serde(default)]
    pub variant: Variant,
    /// Run go-micro v2's `sync.Cron` model instead of cronfence (pitfall scenarios).
    pub go_micro: Option<GoMicroSettings>,
    /// The expected outcome.
    pub expect: Expect,
}

/// A backend a scenario can run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// The in-memory backend, as a service on its own node.
    Memory,
    /// madsim's simulated etcd server, on its own node, reached through the etcd backend.
    EtcdSim,
}

impl BackendKind {
    /// Parses `memory` or `etcd-sim`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "memory" => Some(BackendKind::Memory),
            "etcd-sim" => Some(BackendKind::EtcdSim),
            _ => None,
        }
    }

    /// Fault kinds this backend cannot be given: a cluster's member faults (each simulated
    /// backend is one server). The simulated etcd server suffers latency, ambiguous commits and
    /// stuck writes through each node's client ([`crate::boundary`]).
    pub fn unsupported(self) -> &'static [&'static str] {
        match self {
            BackendKind::Memory => MEMBER_FAULTS,
            BackendKind::EtcdSim => MEMBER_FAULTS,
        }
    }
}

/// The member faults: a cluster's, which the simulated backends (one server each) cannot play.
pub const MEMBER_FAULTS: &[&str] = &["member_crash", "member_pause", "member_isolate"];

impl FaultEntry {
    /// Whether the entry is a member fault ([`MEMBER_FAULTS`]).
    pub fn is_member(&self) -> bool {
        MEMBER_FAULTS.contains(&self.fault.get_ref().as_str())
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Memory => "memory",
            BackendKind::EtcdSim => "etcd-sim",
        })
    }
}

/// Which seeds to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    /// Seeds 1..=n.
    Count(u64),
    /// These seeds.
    List(Vec<u64>),
}

impl Default for Seeds {
    fn default() -> Self {
        Seeds::Count(3)
    }
}

impl Seeds {
    /// The seeds, in order.
    pub fn list(&self) -> Vec<u64> {
        match self {
            Seeds::Count(n) => (1..=*n).collect(),
            Seeds::List(list) => list.clone(),
        }
    }
}

/// Settings shared by every node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    /// Session lease TTL.
    pub lease_ttl: SignedDuration,
    /// Bound on each backend call.
    pub request_timeout: SignedDuration,
    /// When to report the backend unreachable.
    pub unreachable_after: SignedDuration,
    /// Per group or per job elections.
    pub scope: ElectionScope,
    /// Each node's local zone (its machine's `TZ`), one per node, or none. cronfence never reads
    /// it; only a job with `tz = "local"` takes it, which the registry then refuses on every node
    /// whose zone differs from the first registrant's.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Each node's election scope, one per node, or none (every node takes `scope`). The registry
    /// binds a job to the election of the node that registers it first (node-0, which the world
    /// starts first) and refuses nodes that put it in another (`ElectionMismatch`).
    #[serde(default)]
    pub scopes: Vec<ElectionScope>,
    /// Nodes withdraw what their crashed processes left in their elections
    /// (`NodeConfig::withdraw_predecessors`, opt-in; default off).
    #[serde(default)]
    pub withdraw_predecessors: bool,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            lease_ttl: SignedDuration::from_secs(10),
            request_timeout: SignedDuration::from_secs(2),
            unreachable_after: SignedDuration::from_secs(5),
            scope: ElectionScope::Group,
            zones: Vec::new(),
            scopes: Vec::new(),
            withdraw_predecessors: false,
        }
    }
}

/// A job (or `count` identical jobs named `id-0`, `id-1`, ...).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobEntry {
    /// The job id.
    pub id: String,
    /// The interval (an interval job; exactly one of `every` and `cron`).
    pub every: Option<SignedDuration>,
    /// Tick 0 of an interval job; defaults to the scenario's start.
    pub anchor: Option<Timestamp>,
    /// A cron expression (a cron job), e.g. `"30 2 * * *"`.
    pub cron: Option<Spanned<String>>,
    /// The IANA zone a cron expression is read in (default `UTC`).
    pub tz: Option<Spanned<String>>,
    /// DST fold policy of a cron job: `once` (default) or `both`.
    pub dst_fold: Option<Spanned<String>>,
    /// DST gap policy of a cron job: `run_after_gap` (default) or `skip`.
    pub dst_gap: Option<Spanned<String>>,
    /// `all`, `latest` or `skip`.
    #[serde(default = "defaults::catch_up")]
    pub catch_up: Spanned<String>,
    /// The most missed ticks `all` runs.
    #[serde(default = "defaults::max_catch_up")]
    pub max_catch_up: u32,
    /// Abandon ticks later than this.
    pub starting_deadline: Option<SignedDuration>,
    /// Overlap policy.
    #[serde(default)]
    pub overlap: OverlapPolicy,
    /// Delivery mode.
    #[serde(default)]
    pub delivery: Delivery,
    /// How long each run takes.
    #[serde(default = "defaults::run_time")]
    pub run_time: SignedDuration,
    /// Replicate the job this many times.
    pub count: Option<u32>,
}

/// A fault as written in a scenario: a kind, a target, a start and a duration, plus the fields
/// the kind needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    /// The kind: crash, stop, pause, partition, clock_offset, clock_drift, clock_jump, clock_strobe,
    /// backend_latency, backend_timeout, ambiguous_commit, backend_restart.
    pub fault: Spanned<String>,
    /// `leader`, `follower`, `node-N`, or `backend` (default for backend faults: `backend`).
    pub node: Option<Spanned<String>>,
    /// When it starts.
    pub at: SignedDuration,
    /// How long until it is undone (omit: never).
    pub duration: Option<SignedDuration>,
    /// Partition direction.
    pub direction: Option<Direction>,
    /// Clock offset.
    pub offset: Option<SignedDuration>,
    /// Clock drift.
    pub ppm: Option<i64>,
    /// Clock jump.
    pub by: Option<SignedDuration>,
    /// Strobe amplitude.
    pub amplitude: Option<SignedDuration>,
    /// Strobe period.
    pub period: Option<SignedDuration>,
    /// Backend latency.
    pub latency: Option<SignedDuration>,
    /// Ambiguous commits, delayed writes.
    pub count: Option<u32>,
    /// Delayed writes: how long each is held.
    pub delay: Option<SignedDuration>,
    /// Stop: the job spec version the node defines its jobs with when it starts again.
    pub upgrade_to: Option<u64>,
    /// The etcd member a member fault hits: `leader`, `follower` or an index.
    pub member: Option<Spanned<String>>,
}

/// Random faults: one every `every` on average, of the listed kinds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomPlan {
    /// The mean time between faults.
    pub every: SignedDuration,
    /// The kinds to draw from.
    pub kinds: Vec<String>,
    /// The longest a drawn fault lasts.
    #[serde(default = "defaults::max_fault")]
    pub max_duration: SignedDuration,
}

/// How the go-micro model's nodes set `Schedule.Time`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoMicroSettings {
    /// `time.Now().Add(start_after_boot)` on each node; omitted: the zero time.
    pub start_after_boot: Option<SignedDuration>,
    /// `Command.Name` (default `foo`, as in the article).
    #[serde(default = "defaults::command")]
    pub command: String,
}

/// Deliberately broken variants (test-only; everything is sound by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Variant {
    /// `false` makes the backend accept claims and commits without checking fence or checkpoint.
    pub fencing: bool,
    /// `false` makes leaders drop missed ticks silently (no catch-up, no record).
    pub catch_up: bool,
    /// `false` makes leaders claim at-most-once ticks after running them instead of before.
    pub claim_before_run: bool,
    /// `false` makes a leader that steps down for its clock keep its leadership (no resign).
    pub resign_on_step_down: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            fencing: true,
            catch_up: true,
            claim_before_run: true,
            resign_on_step_down: true,
        }
    }
}

/// Which part of the run is checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckSettings {
    /// Ticks in the first `warmup` are not expected (the first election takes time).
    pub warmup: SignedDuration,
    /// Ticks in the last `cooldown` are not expected (they may still be running).
    pub cooldown: SignedDuration,
    /// A wider liveness bound than the one derived from the node settings (lease TTL + election
    /// + request timeout); `liveness_reason` must say why.
    pub liveness_bound: Option<SignedDuration>,
    /// Why this scenario widens the liveness bound.
    pub liveness_reason: Option<String>,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            warmup: SignedDuration::from_secs(5),
            cooldown: SignedDuration::from_secs(5),
            liveness_bound: None,
            liveness_reason: None,
        }
    }
}

/// The expected outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `pass`; `violations` (then `violations` lists the finding kinds that must appear); or
    /// `known_bug` (each seed passes or shows only the listed kinds, and some seed shows one:
    /// a bug of the core that `known_bug` names the fixing issue of).
    pub outcome: Spanned<String>,
    /// With `outcome = "known_bug"`: the issue that fixes it, e.g. "issue 12: Leadership ends
    /// cleanly".
    pub known_bug: Option<String>,
    /// The violation kinds a pitfall scenario must show.
    #[serde(default)]
    pub violations: Vec<String>,
    /// History events (by their `event` name) that must appear at least once.
    #[serde(default)]
    pub records: Vec<String>,
    /// History events that must never appear (a silent hang records no error).
    #[serde(default)]
    pub no_records: Vec<String>,
    /// Excused finding kinds that must appear at least once (e.g. `abandoned_on_clock`: the
    /// scenario exercises that excuse, so a change that stops giving it is noticed).
    #[serde(default)]
    pub excused: Vec<String>,
    /// The median lateness of first starts must be at least this (a shifted tick phase).
    pub lateness_p50_at_least: Option<SignedDuration>,
    /// Every cron job starts exactly one tick per local day (in its zone) that has an expected
    /// tick: no DST duplicate, no DST gap.
    #[serde(default)]
    pub one_run_per_local_day: bool,
    /// Every leader stopped, crashed or paused (longer than this) is succeeded by a new
    /// leadership within this long of the fault's start: another node's, or after a crash or
    /// stop the node's own next process (a graceful handoff takes one backend round trip, not a
    /// lease TTL).
    pub takeover_at_most: Option<SignedDuration>,
}

mod defaults {
    use super::*;
    pub fn nodes() -> usize {
        3
    }
    pub fn backends() -> Vec<BackendKind> {
        vec![BackendKind::Memory, BackendKind::EtcdSim]
    }
    pub fn start() -> Timestamp {
        "2027-01-01T00:00:00Z".parse().expect("valid")
    }
    pub fn catch_up() -> Spanned<String> {
        Spanned::new(0..0, "all".into())
    }
    pub fn max_catch_up() -> u32 {
        100
    }
    pub fn run_time() -> SignedDuration {
        SignedDuration::from_millis(10)
    }
    pub fn command() -> String {
        "foo".into()
    }
    pub fn max_fault() -> SignedDuration {
        SignedDuration::from_secs(30)
    }
}

/// A scenario file that could not be loaded: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}\n  hint: {hint}")]
pub struct ScenarioError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// A scenario with the name and path it was loaded from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file stem, e.g. `leader_crash`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The scenario.
    pub scenario: Scenario,
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let text = locate::read(path)?;
    let scenario = parse(path, &text)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Loaded {
        name,
        path: path.to_path_buf(),
        scenario,
    })
}

/// Parses and validates scenario text; `path` is only used in errors.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let value = span.clone().and_then(|s| text.get(s)).unwrap_or_default();
        let (message, hint) = explain(e.message().trim(), value);
        let place = span.map_or(Place::File, Place::Span);
        locate::locate(
            path,
            text,
            Refusal {
                place,
                message,
                hint,
            },
        )
    })?;
    validate(&scenario).map_err(|refusal| locate::locate(path, text, refusal))?;
    Ok(scenario)
}

/// The message and hint for an error of the TOML reader; `value` is the text it points at.
fn explain(message: &str, value: &str) -> (String, String) {
    if message.contains("calendar units") {
        return calendar_units(value);
    }
    let hint = if message.contains("unknown field") {
        "remove the key or fix its spelling; scenarios/README.md lists every key"
    } else if message.contains("missing field") {
        "add the required key; scenarios/README.md lists every key"
    } else if message.contains("duration")
        || message.contains("friendly")
        || message.contains("ISO 8601")
    {
        "write durations like \"500ms\", \"30s\", \"2m\" or \"-1h\""
    } else if message.contains("unknown variant") {
        "use one of the values the message lists"
    } else {
        "see scenarios/README.md for the format"
    };
    (message.to_string(), hint.to_string())
}

/// Durations are exact lengths of time, so jiff refuses days, weeks, months and years in them
/// (a day is not always 24 hours); say so, and give the length in hours where there is one.
fn calendar_units(value: &str) -> (String, String) {
    let text = value.trim().trim_matches('"');
    let message = format!(
        "\"{text}\": a duration cannot use days, weeks, months or years (calendar units: a day \
         is not always 24 hours)"
    );
    let exact = text.parse::<jiff::Span>().ok().and_then(|span| {
        span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .ok()
    });
    let hint = match exact {
        Some(d) => format!("write hours instead: \"{}\"", validate::show(d)),
        None => "write hours instead, e.g. \"720h\" for 30 days (months and years have no fixed \
                 length)"
            .to_string(),
    };
    (message, hint)
}

pub mod budget;
mod faults;
mod jobs;
mod locate;
pub mod scale;
mod validate;

use locate::{Place, Refusal};
use validate::validate;
pub use validate::{fault_kind, job_spec, CLUSTER_MEMBERS, ETCD_MIN_TTL, RANDOM_KINDS};

impl Scenario {
    /// Every job the scenario schedules, with its definition and run time.
    pub fn job_specs(&self) -> BTreeMap<JobId, (JobSpec, SignedDuration)> {
        self.job_specs_on(0)
    }

    /// The configuration of node `name`: the `[node]` settings, and the `[variant]` switches.
    pub fn node_config(&self, name: &str) -> cronfence::NodeConfig {
        let s = &self.node;
        let mut config = cronfence::NodeConfig::new(name);
        config.lease_ttl = s.lease_ttl.unsigned_abs();
        config.request_timeout = s.request_timeout.unsigned_abs();
        config.unreachable_after = s.unreachable_after.unsigned_abs();
        config.scope = self.scope_of(name);
        config.withdraw_predecessors = s.withdraw_predecessors;
        config.broken.no_catch_up = !self.variant.catch_up;
        config.broken.claim_after_run = !self.variant.claim_before_run;
        config.broken.no_resign_on_step_down = !self.variant.resign_on_step_down;
        config
    }

    /// The election scope node `name` (`node-N`) runs with.
    pub fn scope_of(&self, name: &str) -> ElectionScope {
        let index = name
            .strip_prefix("node-")
            .and_then(|n| n.parse::<usize>().ok());
        index
            .and_then(|i| self.node.scopes.get(i).copied())
            .unwrap_or(self.node.scope)
    }

    /// The election each job belongs to: under the scope of `registrant`, the node whose
    /// definitions the registry accepted (node-0 if unknown; it only matters when `[node] scopes`
    /// differ, and then the registry refuses every node whose scope differs from the first
    /// registrant's).
    pub fn elections(
        &self,
        jobs: &BTreeMap<JobId, JobSpec>,
        registrant: Option<&str>,
    ) -> BTreeMap<JobId, cronfence::ElectionName> {
        let group = cronfence::NodeConfig::new("any").group;
        let scope = self.scope_of(registrant.unwrap_or("node-0"));
        jobs.keys()
            .map(|id| (id.clone(), scope.election_for(&group, id)))
            .collect()
    }

    /// The liveness bound's parts: the node settings' lease TTL, request timeout and longest retry
    /// backoff (the time an election takes once the lease is gone), or the scenario's own bound.
    pub fn liveness_bound(&self) -> crate::check::LivenessBound {
        let defaults = cronfence::NodeConfig::new("any");
        let election = SignedDuration::try_from(defaults.retry_max).expect("a few seconds");
        crate::check::LivenessBound {
            lease_ttl: self.node.lease_ttl,
            election,
            request_timeout: self.node.request_timeout,
            widened: self.check.liveness_bound,
        }
    }

    /// The jobs as node `node` defines them: a `tz = "local"` job takes that node's zone.
    pub fn job_specs_on(&self, node: usize) -> BTreeMap<JobId, (JobSpec, SignedDuration)> {
        let local = self.node.zones.get(node).map(String::as_str);
        let mut out = BTreeMap::new();
        for job in &self.jobs {
            let (ids, spec) = job_spec(job, self.start, local).expect("validated on load");
            for id in ids {
                out.insert(id, (spec.clone(), job.run_time));
            }
        }
        out
    }
}

//! Validation of a parsed scenario: ranges, targets, fault parameters, backend support and the
//! expectation, each refusal naming the key it is about (located by [`super::locate`]) with a
//! one-line fix hint. The jobs ([`super::jobs`]), the fault plan ([`super::faults`]) and the
//! budgets ([`super::budget`]) are checked in files of their own; this file runs them in order
//! and checks the rest. Also the conversions from scenario entries to cronfence job specs and
//! fault kinds, which the validation runs once so the world can rely on them.

use std::time::Duration;

use cronfence::schedule::{DstPolicy, FoldPolicy, GapPolicy};
use cronfence::{JobId, JobSpec, MisfirePolicy, Schedule};
use jiff::{SignedDuration, Timestamp};
use toml::Spanned;

use super::budget;
use super::locate::{Place, Refusal};
use super::{BackendKind, FaultEntry, JobEntry, Scenario, Variant};
use crate::fault::FaultKind;

pub(crate) type Invalid = (Option<std::ops::Range<usize>>, String, &'static str);

/// Checks a parsed scenario; the first refusal names the key it is about.
pub(super) fn validate(s: &Scenario) -> Result<(), Refusal> {
    budget::check_world(s)?;
    positive("duration", s.duration, "duration = \"2m\"")?;
    if s.jobs.is_empty() {
        return Err(Refusal::at(
            "jobs",
            "a scenario needs at least one [[jobs]] entry",
            "add a [[jobs]] table with id and every",
        ));
    }
    check_backends(s)?;
    check_real_time_scale(s)?;
    check_node(s)?;
    check_window(s)?;
    if let Some(d) = s.go_micro.as_ref().and_then(|g| g.start_after_boot) {
        within_budget("go_micro.start_after_boot", d)?;
    }
    budget::check_job_count(s)?;
    super::jobs::check_jobs(s)?;
    super::faults::check_faults(s)?;
    super::faults::check_random(s)?;
    budget::check_work(s)?;
    check_expect(s)?;
    check_spooled(s)
}

/// A spooled file's history is on disk, one shard of jobs at a time: the expectations that read
/// the whole history (its records, its runs per local day) cannot be judged.
fn check_spooled(s: &Scenario) -> Result<(), Refusal> {
    if !s.spooled {
        return Ok(());
    }
    let key = if !s.expect.records.is_empty() {
        "expect.records"
    } else if !s.expect.no_records.is_empty() {
        "expect.no_records"
    } else if s.expect.one_run_per_local_day {
        "expect.one_run_per_local_day"
    } else {
        return Ok(());
    };
    Err(Refusal::at(
        key,
        format!("`{key}` reads the whole history, which a `spooled = true` file does not hold"),
        "expect violations or excused kinds instead, or drop `spooled`",
    ))
}

fn check_backends(s: &Scenario) -> Result<(), Refusal> {
    match (s.backends.is_empty(), &s.not_simulated, &s.not_in_real_time) {
        (true, Some(_), None) => return real_time_only(s),
        (true, Some(_), Some(_)) => {
            return Err(Refusal::at(
                "not_simulated",
                "the scenario runs neither simulated (not_simulated) nor in real time \
                 (not_in_real_time): it would never run",
                "drop one of the two",
            ))
        }
        (false, Some(_), _) => {
            return Err(Refusal::at(
                "not_simulated",
                "not_simulated says the scenario runs in real time only, but backends lists \
                 simulated backends",
                "set backends = [], or drop not_simulated",
            ))
        }
        _ => {}
    }
    if s.backends.is_empty() {
        return Err(Refusal::at(
            "backends",
            "backends is empty: the scenario would never run",
            "list memory and/or etcd-sim, e.g. backends = [\"memory\", \"etcd-sim\"] (or, for \
             a scenario that plays in real time only, not_simulated = \"the reason\")",
        ));
    }
    if let Some(twice) = s
        .backends
        .iter()
        .find(|b| s.backends.iter().filter(|o| o == b).count() > 1)
    {
        return Err(Refusal::at(
            "backends",
            format!("backends lists {twice} twice"),
            "list each backend once",
        ));
    }
    if !s.backends.contains(&BackendKind::EtcdSim) && s.not_on_etcd_sim.is_none() {
        return Err(Refusal::at(
            "backends",
            "the scenario leaves out etcd-sim without saying why",
            "add etcd-sim to backends, or not_on_etcd_sim = \"the reason\"",
        ));
    }
    Ok(())
}

/// `real_time_scale`: a factor in (0, 1] on a file of interval jobs, leaving a lease etcd holds
/// (whole seconds, at least [`ETCD_MIN_TTL`]).
fn check_real_time_scale(s: &Scenario) -> Result<(), Refusal> {
    let Some(factor) = s.real_time_scale else {
        return Ok(());
    };
    let refuse = |message: String, hint: &str| Err(Refusal::at("real_time_scale", message, hint));
    if !(factor > 0.0 && factor <= 1.0) {
        return refuse(
            format!("real_time_scale = {factor} is not a factor in (0, 1]"),
            "e.g. real_time_scale = 0.2 plays a 10 s lease as 2 s",
        );
    }
    if s.jobs.iter().any(|j| j.cron.is_some()) {
        return refuse(
            "a cron schedule names wall-clock instants, which do not scale".into(),
            "drop real_time_scale (cron files play at their own pace)",
        );
    }
    if s.not_in_real_time.is_some() {
        return refuse(
            "real_time_scale on a file that says it does not play in real time".into(),
            "drop one of the two",
        );
    }
    let ttl = s.node.lease_ttl.mul_f64(factor);
    if ttl < ETCD_MIN_TTL || ttl.subsec_nanos() != 0 {
        return refuse(
            format!(
                "real_time_scale = {factor} turns lease_ttl = \"{}\" into {}, which etcd cannot \
                 hold (whole seconds, at least {})",
                show(s.node.lease_ttl),
                show(ttl),
                show(ETCD_MIN_TTL)
            ),
            "pick a factor that leaves the lease whole seconds, e.g. 0.2 for a 10 s lease",
        );
    }
    Ok(())
}

/// The longest a real-time-only scenario may last: what the real-etcd scenario tests play.
pub const REAL_TIME_MAX: SignedDuration = SignedDuration::from_secs(300);

/// A file that plays in real time only must be one real time plays: it has a member fault (the
/// reason to leave the simulator out), no random plan or test-only variant, lasts at most
/// [`REAL_TIME_MAX`], and keeps a lease etcd can hold.
fn real_time_only(s: &Scenario) -> Result<(), Refusal> {
    let refuse = |message: &str, hint: &str| Err(Refusal::at("not_simulated", message, hint));
    if !s.faults.iter().any(FaultEntry::is_member) {
        return refuse(
            "not_simulated, but the scenario has no member fault: the simulator plays every other fault",
            "list memory and etcd-sim in backends and drop not_simulated",
        );
    }
    if s.random.is_some() {
        return refuse(
            "a real-time-only scenario cannot draw random faults (real time plays explicit plans)",
            "list the faults in [[faults]]",
        );
    }
    if s.variant != Variant::default() {
        return refuse(
            "a real-time-only scenario cannot break cronfence with a test-only [variant]",
            "drop the [variant] section",
        );
    }
    if s.duration > REAL_TIME_MAX {
        return refuse(
            &format!(
                "a real-time-only scenario lasts {}, longer than the {} real time plays",
                show(s.duration),
                show(REAL_TIME_MAX)
            ),
            "shorten duration",
        );
    }
    if let Some((message, hint)) = ttl_refusal(BackendKind::EtcdSim, s.node.lease_ttl) {
        let message = message.replace("on etcd-sim", "on etcd");
        return Err(Refusal::at("node.lease_ttl", message, hint));
    }
    Ok(())
}

/// The `[node]` settings: positive durations within the budget, a lease TTL every listed
/// backend honours, and one valid zone per node (or none).
fn check_node(s: &Scenario) -> Result<(), Refusal> {
    let n = &s.node;
    positive("node.lease_ttl", n.lease_ttl, "lease_ttl = \"10s\"")?;
    positive(
        "node.request_timeout",
        n.request_timeout,
        "request_timeout = \"2s\"",
    )?;
    positive(
        "node.unreachable_after",
        n.unreachable_after,
        "unreachable_after = \"5s\"",
    )?;
    for backend in &s.backends {
        if let Some((message, hint)) = ttl_refusal(*backend, n.lease_ttl) {
            return Err(Refusal::at("node.lease_ttl", message, hint));
        }
    }
    if !n.scopes.is_empty() && n.scopes.len() != s.nodes {
        return Err(Refusal::at(
            "node.scopes",
            format!(
                "[node] scopes names {} scopes for {} nodes",
                n.scopes.len(),
                s.nodes
            ),
            "give one scope (\"group\" or \"per_job\") per node, or leave scopes out",
        ));
    }
    if !n.zones.is_empty() && n.zones.len() != s.nodes {
        return Err(Refusal::at(
            "node.zones",
            format!(
                "[node] zones names {} zones for {} nodes",
                n.zones.len(),
                s.nodes
            ),
            "give one IANA zone per node, or leave zones out",
        ));
    }
    if let Some(bad) = n
        .zones
        .iter()
        .find(|z| cronfence::schedule::Zone::get(z).is_err())
    {
        return Err(Refusal::at(
            "node.zones",
            format!("[node] zones: `{bad}` is not an IANA time zone"),
            "use names such as \"Europe/Berlin\", \"Asia/Tokyo\" or \"UTC\"",
        ));
    }
    Ok(())
}

/// Why `backend` cannot hold a lease of `ttl`, if it cannot: the in-memory backend refuses TTLs
/// under [`cronfence::memory::MIN_TTL`]; etcd counts TTLs in whole seconds (a fraction would be
/// rounded up), and madsim's etcd counts them down once a second, so a 1 s lease expires at its
/// first countdown however often it is renewed.
fn ttl_refusal(backend: BackendKind, ttl: SignedDuration) -> Option<(String, String)> {
    let min = cronfence::memory::MIN_TTL;
    match backend {
        BackendKind::Memory if ttl.unsigned_abs() < min => Some((
            format!(
                "lease_ttl = \"{}\" is below the in-memory backend's minimum, {min:?}",
                show(ttl)
            ),
            format!("use lease_ttl = \"{}ms\" or more", min.as_millis()),
        )),
        BackendKind::EtcdSim if ttl < ETCD_MIN_TTL || ttl.subsec_nanos() != 0 => Some((
            format!(
                "lease_ttl = \"{}\" cannot be held on etcd-sim: etcd counts lease TTLs in whole seconds, and madsim's etcd counts them down once a second, so a lease under {} expires between two renewals",
                show(ttl),
                show(ETCD_MIN_TTL)
            ),
            format!(
                "use whole seconds, at least lease_ttl = \"{}\" (or drop etcd-sim from backends and say why in not_on_etcd_sim)",
                show(ETCD_MIN_TTL)
            ),
        )),
        _ => None,
    }
}

/// The shortest lease etcd-sim holds (whole seconds only).
pub const ETCD_MIN_TTL: SignedDuration = SignedDuration::from_secs(2);

fn check_window(s: &Scenario) -> Result<(), Refusal> {
    not_negative("check.warmup", s.check.warmup, "warmup = \"5s\"")?;
    not_negative("check.cooldown", s.check.cooldown, "cooldown = \"5s\"")?;
    let unchecked = s.check.warmup.checked_add(s.check.cooldown);
    if unchecked.is_none_or(|u| u >= s.duration) {
        return Err(Refusal::at(
            "check",
            "warmup + cooldown leave no checked window",
            "lengthen duration or shorten [check] warmup/cooldown",
        ));
    }
    Ok(())
}

fn check_expect(s: &Scenario) -> Result<(), Refusal> {
    if let Some(d) = s.expect.takeover_at_most {
        positive("expect.takeover_at_most", d, "takeover_at_most = \"1s\"")?;
    }
    check_liveness_bound(s)?;
    let refuse = |message: String, hint: &str| Refusal {
        place: Place::Span(s.expect.outcome.span()),
        message,
        hint: hint.into(),
    };
    match s.expect.outcome.get_ref().as_str() {
        "pass" if s.expect.violations.is_empty() => Ok(()),
        "violations" if !s.expect.violations.is_empty() => Ok(()),
        "known_bug" if s.expect.violations.is_empty() || s.expect.known_bug.is_none() => Err(refuse(
            "outcome = \"known_bug\" needs the violation kinds the bug shows and the issue that fixes it".into(),
            "add violations = [\"kind\", ...] and known_bug = \"issue N: title\"",
        )),
        "known_bug" => Ok(()),
        other => Err(refuse(
            format!("outcome = \"{other}\" does not fit violations = {:?}", s.expect.violations),
            "use outcome = \"pass\" with no violations, outcome = \"violations\" with the kinds expected, or outcome = \"known_bug\" with the kinds and known_bug",
        )),
    }
}

/// A widened liveness bound must be positive and say why.
fn check_liveness_bound(s: &Scenario) -> Result<(), Refusal> {
    match (&s.check.liveness_bound, &s.check.liveness_reason) {
        (Some(bound), Some(_)) => {
            positive("check.liveness_bound", *bound, "liveness_bound = \"2m\"")
        }
        (Some(_), None) => Err(Refusal::at(
            "check.liveness_bound",
            "[check] liveness_bound widens the liveness bound without a reason",
            "add liveness_reason = \"...\" saying why this scenario may stall longer",
        )),
        (None, Some(_)) => Err(Refusal::at(
            "check.liveness_reason",
            "[check] liveness_reason is given without a liveness_bound",
            "add liveness_bound, or remove liveness_reason",
        )),
        (None, None) => Ok(()),
    }
}

/// Refuses a duration at `key` that is not positive or longer than [`budget::MAX_DURATION`].
pub(super) fn positive(key: &str, d: SignedDuration, example: &str) -> Result<(), Refusal> {
    if !d.is_positive() {
        return Err(Refusal::at(
            key,
            format!("{} = \"{}\" must be positive", leaf(key), show(d)),
            format!("e.g. {example}"),
        ));
    }
    within_budget(key, d)
}

/// Refuses a duration at `key` that is negative or longer than [`budget::MAX_DURATION`].
pub(super) fn not_negative(key: &str, d: SignedDuration, example: &str) -> Result<(), Refusal> {
    if d.is_negative() {
        return Err(Refusal::at(
            key,
            format!("{} = \"{}\" must not be negative", leaf(key), show(d)),
            format!("e.g. {example}"),
        ));
    }
    within_budget(key, d)
}

/// Refuses a duration at `key` whose size passes [`budget::MAX_DURATION`].
pub(super) fn within_budget(key: &str, d: SignedDuration) -> Result<(), Refusal> {
    if d.unsigned_abs() > budget::MAX_DURATION.unsigned_abs() {
        return Err(Refusal::at(
            key,
            format!(
                "{} = \"{}\" is longer than any run ({} at most)",
                leaf(key),
                show(d),
                show(budget::MAX_DURATION)
            ),
            format!(
                "use at most \"{}\" (366 days){}",
                show(budget::MAX_DURATION),
                if key.starts_with("faults.") && key.ends_with(".duration") {
                    "; a fault that is never undone leaves out `duration`"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

/// A duration as a scenario file writes it: `"1s500ms"`, `"-10s"`.
pub fn show(d: SignedDuration) -> String {
    use jiff::fmt::friendly::{Designator, Direction, Spacing, SpanPrinter};
    static PRINTER: SpanPrinter = SpanPrinter::new()
        .designator(Designator::Compact)
        .spacing(Spacing::None)
        .direction(Direction::Sign);
    PRINTER.duration_to_string(&d)
}

fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Fault kinds the random plan can draw.
pub const RANDOM_KINDS: &[&str] = &[
    "crash",
    "stop",
    "pause",
    "partition",
    "clock_offset",
    "backend_latency",
    "ambiguous_commit",
    "backend_restart",
];

pub(super) fn check_target(node: &Spanned<String>, nodes: usize) -> Result<(), Invalid> {
    let name = node.get_ref();
    let ok = matches!(
        name.as_str(),
        "leader" | "follower" | "first" | "majority" | "all" | "backend"
    ) || name
        .strip_prefix("node-")
        .and_then(|i| i.parse::<usize>().ok())
        .is_some_and(|i| i < nodes);
    if ok {
        Ok(())
    } else {
        Err((
            Some(node.span()),
            format!("unknown target `{name}`"),
            "use leader, follower, first, majority, all, backend, or node-0 .. node-(nodes-1)",
        ))
    }
}

/// The schedule an entry describes: `every` (with `anchor`), or `cron` (with `tz`, `dst_fold`,
/// `dst_gap`), never both.
fn schedule(job: &JobEntry, start: Timestamp, local: Option<&str>) -> Result<Schedule, Invalid> {
    let cron_only = [&job.tz, &job.dst_fold, &job.dst_gap];
    match (job.every, &job.cron) {
        (Some(every), None) => {
            if let Some(key) = cron_only.iter().find_map(|k| k.as_ref()) {
                return Err((
                    Some(key.span()),
                    "`tz`, `dst_fold` and `dst_gap` belong to cron jobs".into(),
                    "remove the key, or give the job `cron = \"...\"` instead of `every`",
                ));
            }
            Schedule::every(job.anchor.unwrap_or(start), every).map_err(|e| {
                (
                    None,
                    e.to_string(),
                    "use a positive interval, e.g. every = \"1s\"",
                )
            })
        }
        (None, Some(expr)) => cron_schedule(job, expr, local),
        (Some(_), Some(expr)) => Err((
            Some(expr.span()),
            "a job has either `every` or `cron`, not both".into(),
            "remove one of them",
        )),
        (None, None) => Err((
            None,
            "a job needs `every` or `cron`".into(),
            "add every = \"1s\" or cron = \"*/15 * * * *\"",
        )),
    }
}

fn cron_schedule(
    job: &JobEntry,
    expr: &Spanned<String>,
    local: Option<&str>,
) -> Result<Schedule, Invalid> {
    if job.anchor.is_some() {
        return Err((
            Some(expr.span()),
            "`anchor` belongs to interval jobs".into(),
            "remove `anchor`: a cron job's ticks come from its expression",
        ));
    }
    let fold = match job
        .dst_fold
        .as_ref()
        .map(|v| (v.get_ref().as_str(), v.span()))
    {
        None | Some(("once", _)) => FoldPolicy::Once,
        Some(("both", _)) => FoldPolicy::Both,
        Some((other, span)) => {
            return Err((
                Some(span),
                format!("dst_fold = \"{other}\" is not a policy"),
                "use \"once\" or \"both\"",
            ))
        }
    };
    let gap = match job
        .dst_gap
        .as_ref()
        .map(|v| (v.get_ref().as_str(), v.span()))
    {
        None | Some(("run_after_gap", _)) => GapPolicy::RunAfterGap,
        Some(("skip", _)) => GapPolicy::Skip,
        Some((other, span)) => {
            return Err((
                Some(span),
                format!("dst_gap = \"{other}\" is not a policy"),
                "use \"run_after_gap\" or \"skip\"",
            ))
        }
    };
    let tz = match job.tz.as_ref().map(|t| (t.get_ref().as_str(), t.span())) {
        None => "UTC",
        Some(("local", span)) => local.ok_or((
            Some(span),
            "tz = \"local\" means each node's own zone, and [node] zones is not set".into(),
            "add [node] zones = [\"Asia/Tokyo\", ...] (one per node), or name an IANA zone",
        ))?,
        Some((name, _)) => name,
    };
    Schedule::cron_with_dst(expr.get_ref(), tz, DstPolicy { fold, gap }).map_err(|e| {
        let (span, hint) = match e {
            cronfence::Error::UnknownTimeZone { .. } => (
                job.tz.as_ref().map(|t| t.span()),
                "use an IANA zone name such as \"Europe/Berlin\" or \"UTC\"",
            ),
            _ => (
                Some(expr.span()),
                "fix the field the message names; scenarios/README.md shows the cron format",
            ),
        };
        (span, e.to_string(), hint)
    })
}

/// The job definition (and its replicas' ids) an entry describes; `local` is the defining
/// node's zone, which a `tz = "local"` cron job takes.
pub fn job_spec(
    job: &JobEntry,
    start: Timestamp,
    local: Option<&str>,
) -> Result<(Vec<JobId>, JobSpec), Invalid> {
    let schedule = schedule(job, start, local)?;
    let mut misfire = match job.catch_up.get_ref().as_str() {
        "all" => MisfirePolicy::all(job.max_catch_up),
        "latest" => MisfirePolicy::latest(),
        "skip" => MisfirePolicy::skip(),
        other => {
            return Err((
                Some(job.catch_up.span()),
                format!("catch_up = \"{other}\" is not a policy"),
                "use \"all\", \"latest\" or \"skip\"",
            ))
        }
    };
    if let Some(deadline) = job.starting_deadline {
        let d = Duration::try_from(deadline).map_err(|_| {
            (
                None,
                "starting_deadline must not be negative".to_string(),
                "e.g. starting_deadline = \"30s\"",
            )
        })?;
        misfire = misfire.with_starting_deadline(d);
    }
    if job.run_time.is_negative() {
        return Err((
            None,
            "run_time must not be negative".into(),
            "e.g. run_time = \"100ms\"",
        ));
    }
    let spec = JobSpec {
        schedule,
        misfire,
        overlap: job.overlap,
        delivery: job.delivery,
        version: 1,
    };
    let ids = match job.count {
        None => vec![JobId::new(job.id.clone())],
        Some(n) => (0..n)
            .map(|i| JobId::new(format!("{}-{i}", job.id)))
            .collect(),
    };
    let ids = ids
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (None, e.to_string(), "job ids use letters, digits and ._:-"))?;
    Ok((ids, spec))
}

/// A stop's `upgrade_to`: a spec version of 2 or more, on a stop that ends (a node that never
/// starts again upgrades nothing).
fn stop_upgrade(f: &FaultEntry) -> Result<Option<u64>, Invalid> {
    let span = Some(f.fault.span());
    match f.upgrade_to {
        Some(version) if version < 2 => Err((
            span,
            format!("upgrade_to = {version} is not an upgrade (every job starts at version 1)"),
            "use upgrade_to = 2 or more",
        )),
        Some(_) if f.duration.is_none() => Err((
            span,
            "a `stop` with `upgrade_to` needs a `duration`: the node starts again upgraded".into(),
            "add duration = \"5s\" (when the node starts again)",
        )),
        upgrade_to => Ok(upgrade_to),
    }
}

/// The go-micro model cannot be stopped gracefully.
pub(super) const GO_MICRO_STOP: &str = "the go-micro model has no graceful shutdown to `stop`";
/// What to use instead.
pub(super) const GO_MICRO_STOP_HINT: &str = "use `crash` (go-micro's nodes die without resigning)";

/// How many members the etcd cluster of a scenario with member faults has (the harness starts
/// it); a member fault hits one of them, so the other two keep a quorum.
pub const CLUSTER_MEMBERS: usize = 3;

/// The member a member fault names: `leader`, `follower` or an index below
/// [`CLUSTER_MEMBERS`] (`leader` when left out).
fn member(f: &FaultEntry) -> Result<String, Invalid> {
    let Some(member) = &f.member else {
        return Ok("leader".into());
    };
    let name = member.get_ref();
    let index = name.parse::<usize>().ok();
    if name == "leader" || name == "follower" || index.is_some_and(|i| i < CLUSTER_MEMBERS) {
        return Ok(name.clone());
    }
    Err((
        Some(member.span()),
        format!("no etcd member `{name}`: the cluster has {CLUSTER_MEMBERS} members"),
        "use member = \"leader\" (raft's), \"follower\", or \"0\" to \"2\"",
    ))
}

/// The fault an entry describes.
pub fn fault_kind(f: &FaultEntry) -> Result<FaultKind, Invalid> {
    let span = Some(f.fault.span());
    let need = |value: Option<SignedDuration>, key: &str| {
        value.ok_or_else(|| {
            (
                span.clone(),
                format!("fault `{}` needs `{key}`", f.fault.get_ref()),
                "add the missing key to this [[faults]] entry",
            )
        })
    };
    if f.upgrade_to.is_some() && f.fault.get_ref() != "stop" {
        return Err((
            span,
            format!(
                "`upgrade_to` belongs to `stop` faults, not `{}`",
                f.fault.get_ref()
            ),
            "remove `upgrade_to`, or make this fault a `stop`",
        ));
    }
    Ok(match f.fault.get_ref().as_str() {
        "crash" => FaultKind::Crash,
        "stop" => FaultKind::Stop { upgrade_to: stop_upgrade(f)? },
        "pause" => FaultKind::Pause,
        "partition" => FaultKind::Partition { direction: f.direction.unwrap_or_default() },
        "clock_offset" => FaultKind::ClockOffset { offset: need(f.offset, "offset")? },
        "clock_drift" => FaultKind::ClockDrift { ppm: f.ppm.ok_or_else(|| (span.clone(), "fault `clock_drift` needs `ppm`".to_string(), "e.g. ppm = 500"))? },
        "clock_jump" => FaultKind::ClockJump { by: need(f.by, "by")? },
        "clock_strobe" => FaultKind::ClockStrobe { amplitude: need(f.amplitude, "amplitude")?, period: need(f.period, "period")? },
        "backend_latency" => FaultKind::BackendLatency { latency: need(f.latency, "latency")? },
        "backend_timeout" => FaultKind::BackendTimeout,
        "ambiguous_commit" => FaultKind::AmbiguousCommit { count: f.count.unwrap_or(1) },
        "delayed_write" => FaultKind::DelayedWrite { count: f.count.unwrap_or(1), delay: need(f.delay, "delay")? },
        "backend_restart" => FaultKind::BackendRestart,
        "member_crash" => FaultKind::MemberCrash { member: member(f)? },
        "member_pause" => FaultKind::MemberPause { member: member(f)? },
        "member_isolate" => FaultKind::MemberIsolate { member: member(f)? },
        other => return Err((span, format!("unknown fault `{other}`"), "use crash, stop, pause, partition, clock_offset, clock_drift, clock_jump, clock_strobe, backend_latency, backend_timeout, ambiguous_commit, delayed_write, backend_restart, member_crash, member_pause or member_isolate")),
    })
}

//! Validation of a parsed scenario: ranges, targets, fault parameters, backend support and the
//! expectation, each refusal with a location (when the value has one) and a one-line fix hint.
//! Also the conversions from scenario entries to cronfence job specs and fault kinds, which the
//! validation runs once so the world can rely on them.

use std::time::Duration;

use cronfence::schedule::{DstPolicy, FoldPolicy, GapPolicy};
use cronfence::{JobId, JobSpec, MisfirePolicy, Schedule};
use jiff::{SignedDuration, Timestamp};
use toml::Spanned;

use super::{BackendKind, FaultEntry, JobEntry, Scenario};
use crate::fault::FaultKind;

pub(crate) type Invalid = (Option<std::ops::Range<usize>>, String, &'static str);

pub(super) fn validate(s: &Scenario) -> Result<(), Invalid> {
    let err = |message: String, hint: &'static str| Err((None, message, hint));
    if s.nodes == 0 || s.nodes > 64 {
        return err(
            format!("nodes = {} is out of range", s.nodes),
            "use 1 to 64 nodes",
        );
    }
    if !s.duration.is_positive() {
        return err("duration must be positive".into(), "e.g. duration = \"2m\"");
    }
    if s.jobs.is_empty() {
        return err(
            "a scenario needs at least one [[jobs]] entry".into(),
            "add a [[jobs]] table with id and every",
        );
    }
    if s.seeds.list().is_empty() {
        return err(
            "seeds is empty".into(),
            "give a count (seeds = 5) or a list (seeds = [1, 2])",
        );
    }
    if !s.node.zones.is_empty() && s.node.zones.len() != s.nodes {
        return err(
            format!(
                "[node] zones names {} zones for {} nodes",
                s.node.zones.len(),
                s.nodes
            ),
            "give one IANA zone per node, or leave zones out",
        );
    }
    if let Some(bad) = s
        .node
        .zones
        .iter()
        .find(|z| cronfence::schedule::Zone::get(z).is_err())
    {
        return err(
            format!("[node] zones: `{bad}` is not an IANA time zone"),
            "use names such as \"Europe/Berlin\", \"Asia/Tokyo\" or \"UTC\"",
        );
    }
    if s.check.warmup + s.check.cooldown >= s.duration {
        return err(
            "warmup + cooldown leave no checked window".into(),
            "lengthen duration or shorten [check] warmup/cooldown",
        );
    }
    for job in &s.jobs {
        job_spec(job, s.start, s.node.zones.first().map(String::as_str))
            .map_err(|(span, m, h)| (span, format!("job `{}`: {m}", job.id), h))?;
    }
    let on_etcd = s.backends.contains(&BackendKind::EtcdSim);
    if !on_etcd && s.not_on_etcd_sim.is_none() {
        return err(
            "the scenario leaves out etcd-sim without saying why".into(),
            "add etcd-sim to backends, or not_on_etcd_sim = \"the reason\"",
        );
    }
    for fault in &s.faults {
        fault_kind(fault)?;
        for backend in &s.backends {
            if backend
                .unsupported()
                .contains(&fault.fault.get_ref().as_str())
            {
                let message = format!(
                    "fault `{}` cannot be injected on {backend}",
                    fault.fault.get_ref()
                );
                return Err((
                    Some(fault.fault.span()),
                    message,
                    "drop that backend from `backends` and say why in not_on_etcd_sim",
                ));
            }
        }
        if fault.at.is_negative() || fault.at >= s.duration {
            return Err((
                Some(fault.fault.span()),
                format!(
                    "fault at {:#} is outside the run (0 to {:#})",
                    fault.at, s.duration
                ),
                "start faults within the scenario's duration",
            ));
        }
        if let Some(node) = &fault.node {
            check_target(node, s.nodes)?;
        }
    }
    if let Some(random) = &s.random {
        if !random.every.is_positive() || random.kinds.is_empty() {
            return err(
                "[random] needs a positive `every` and at least one kind".into(),
                "e.g. every = \"2m\", kinds = [\"crash\", \"pause\"]",
            );
        }
        for kind in &random.kinds {
            if s.backends
                .iter()
                .any(|b| b.unsupported().contains(&kind.as_str()))
            {
                return err(
                    format!("[random] kind `{kind}` cannot be injected on every listed backend"),
                    "drop that backend from `backends` and say why in not_on_etcd_sim",
                );
            }
            if !RANDOM_KINDS.contains(&kind.as_str()) {
                return err(format!("[random] kind `{kind}` cannot be drawn at random"), "use crash, pause, partition, clock_offset, backend_latency, ambiguous_commit or backend_restart");
            }
        }
    }
    match s.expect.outcome.get_ref().as_str() {
        "pass" if s.expect.violations.is_empty() => Ok(()),
        "violations" if !s.expect.violations.is_empty() => Ok(()),
        other => Err((Some(s.expect.outcome.span()), format!("outcome = \"{other}\" does not fit violations = {:?}", s.expect.violations), "use outcome = \"pass\" with no violations, or outcome = \"violations\" with the kinds expected")),
    }
}

/// Fault kinds the random plan can draw.
pub const RANDOM_KINDS: &[&str] = &[
    "crash",
    "pause",
    "partition",
    "clock_offset",
    "backend_latency",
    "ambiguous_commit",
    "backend_restart",
];

fn check_target(node: &Spanned<String>, nodes: usize) -> Result<(), Invalid> {
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
    Ok(match f.fault.get_ref().as_str() {
        "crash" => FaultKind::Crash,
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
        other => return Err((span, format!("unknown fault `{other}`"), "use crash, pause, partition, clock_offset, clock_drift, clock_jump, clock_strobe, backend_latency, backend_timeout, ambiguous_commit, delayed_write or backend_restart")),
    })
}

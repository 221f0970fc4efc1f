//! Checking the fault plan: each `[[faults]]` entry (its kind, start, duration, target, and the
//! keys its kind takes, each within range) and the `[random]` plan's parameters.
//!
//! How many faults a run may hold and how far they may move a clock in total are
//! [`super::budget`]'s; turning an entry into a [`crate::fault::FaultKind`] is
//! [`super::fault_kind`]'s.

use jiff::SignedDuration;

use super::budget::{MAX_FAULT_WRITES, MAX_PPM};
use super::locate::{Place, Refusal};
use super::validate::{
    check_target, not_negative, positive, show, within_budget, GO_MICRO_STOP, GO_MICRO_STOP_HINT,
};
use super::{fault_kind, FaultEntry, Scenario, RANDOM_KINDS};

/// Which fault kinds take each optional key of a `[[faults]]` entry.
const KEYS: &[(&str, &[&str])] = &[
    ("direction", &["partition"]),
    ("offset", &["clock_offset"]),
    ("ppm", &["clock_drift"]),
    ("by", &["clock_jump"]),
    ("amplitude", &["clock_strobe"]),
    ("period", &["clock_strobe"]),
    ("latency", &["backend_latency"]),
    ("count", &["ambiguous_commit", "delayed_write"]),
    ("delay", &["delayed_write"]),
    (
        "member",
        &["member_crash", "member_pause", "member_isolate"],
    ),
];

/// Checks every `[[faults]]` entry.
pub(super) fn check_faults(s: &Scenario) -> Result<(), Refusal> {
    for (i, fault) in s.faults.iter().enumerate() {
        let kind = fault_kind(fault)?;
        let name = fault.fault.get_ref().as_str();
        let span = Place::Span(fault.fault.span());
        if s.go_micro.is_some() && name == "stop" {
            return Err(Refusal {
                place: span,
                message: GO_MICRO_STOP.into(),
                hint: GO_MICRO_STOP_HINT.into(),
            });
        }
        if let Some(backend) = s.backends.iter().find(|b| b.unsupported().contains(&name)) {
            return Err(Refusal {
                place: span,
                message: format!("fault `{name}` cannot be injected on {backend}"),
                hint: if kind.is_member() {
                    "member faults need a cluster, which only real time has: set backends = [] \
                     and say why in not_simulated"
                        .into()
                } else {
                    "drop that backend from `backends` and say why in not_on_etcd_sim".into()
                },
            });
        }
        if fault.at.is_negative() || fault.at >= s.duration {
            return Err(Refusal {
                place: span,
                message: format!(
                    "fault at {} is outside the run (0 to {})",
                    show(fault.at),
                    show(s.duration)
                ),
                hint: "start faults within the scenario's duration".into(),
            });
        }
        if let Some(d) = fault.duration {
            positive(
                &format!("faults.{i}.duration"),
                d,
                "duration = \"30s\" (omit it: never undone)",
            )?;
        }
        if let (Some(node), true) = (&fault.node, kind.is_member()) {
            return Err(Refusal {
                place: Place::Span(node.span()),
                message: format!("fault `{name}` hits an etcd member, not a node"),
                hint:
                    "name the member instead: member = \"leader\", \"follower\" or \"0\" to \"2\""
                        .into(),
            });
        }
        if let Some(node) = &fault.node {
            check_target(node, s.nodes)?;
            if node.get_ref() == "backend" && !kind.hits_backend() {
                return Err(Refusal {
                    place: Place::Span(node.span()),
                    message: format!("fault `{name}` hits a node, not the backend"),
                    hint: "use node = \"leader\", \"follower\" or \"node-N\"; backend_restart, backend_latency, backend_timeout and ambiguous_commit hit the backend".into(),
                });
            }
        }
        check_keys(i, fault)?;
        check_values(i, fault)?;
    }
    check_member_overlaps(s)
}

/// Member faults one at a time: the other two members keep a quorum only while one is down, and
/// a member crashed, frozen and cut off at once, or restarted with the whole backend, is no
/// fault a cluster of three survives (nor one the harness can undo in order).
fn check_member_overlaps(s: &Scenario) -> Result<(), Refusal> {
    let span = |f: &FaultEntry| (f.at, f.duration.map_or(s.duration, |d| f.at + d));
    let hits = |f: &FaultEntry| {
        let kind = f.fault.get_ref().as_str();
        f.is_member() || kind == "backend_restart"
    };
    let faults: Vec<(usize, &FaultEntry)> = s
        .faults
        .iter()
        .enumerate()
        .filter(|(_, f)| hits(f))
        .collect();
    for (k, (i, a)) in faults.iter().enumerate() {
        for (j, b) in &faults[k + 1..] {
            let ((a0, a1), (b0, b1)) = (span(a), span(b));
            if (a.is_member() || b.is_member()) && a0 < b1 && b0 < a1 {
                return Err(Refusal {
                    place: Place::Span(b.fault.span()),
                    message: format!(
                        "faults.{j} ({}) overlaps faults.{i} ({}): member faults play one at a \
                         time, and never with a backend_restart",
                        b.fault.get_ref(),
                        a.fault.get_ref()
                    ),
                    hint: "start it after the other one ends".into(),
                });
            }
        }
    }
    Ok(())
}

/// Refuses a key the entry's kind does not take (it would be ignored silently).
fn check_keys(i: usize, f: &FaultEntry) -> Result<(), Refusal> {
    let name = f.fault.get_ref().as_str();
    for (key, kinds) in KEYS {
        if given(f, key) && !kinds.contains(&name) {
            return Err(Refusal::at(
                format!("faults.{i}.{key}"),
                format!("fault `{name}` does not take `{key}` (only {} does)", kinds.join(" and ")),
                "remove the key, or change the fault kind; scenarios/README.md lists each kind's keys",
            ));
        }
    }
    Ok(())
}

fn given(f: &FaultEntry, key: &str) -> bool {
    match key {
        "direction" => f.direction.is_some(),
        "offset" => f.offset.is_some(),
        "ppm" => f.ppm.is_some(),
        "by" => f.by.is_some(),
        "amplitude" => f.amplitude.is_some(),
        "period" => f.period.is_some(),
        "latency" => f.latency.is_some(),
        "count" => f.count.is_some(),
        "delay" => f.delay.is_some(),
        "member" => f.member.is_some(),
        _ => false,
    }
}

/// The values of the kind's keys: sizes within the budget, signs that mean something.
fn check_values(i: usize, f: &FaultEntry) -> Result<(), Refusal> {
    let key = |k: &str| format!("faults.{i}.{k}");
    for (k, value) in [("offset", f.offset), ("by", f.by)] {
        if let Some(d) = value {
            within_budget(&key(k), d)?;
        }
    }
    if let Some(a) = f.amplitude {
        not_negative(&key("amplitude"), a, "amplitude = \"5s\"")?;
    }
    if let Some(p) = f.period {
        positive(&key("period"), p, "period = \"1m\"")?;
    }
    if let Some(l) = f.latency {
        not_negative(&key("latency"), l, "latency = \"500ms\"")?;
    }
    if let Some(d) = f.delay {
        not_negative(&key("delay"), d, "delay = \"20s\"")?;
    }
    if let Some(ppm) = f.ppm.filter(|p| p.abs() > MAX_PPM) {
        return Err(Refusal::at(
            key("ppm"),
            format!("ppm = {ppm} is beyond ±{MAX_PPM} (a clock twice as fast, or stopped)"),
            "real clocks drift by tens to hundreds of ppm; use a value such as 500",
        ));
    }
    if let Some(count) = f.count.filter(|c| *c == 0 || *c > MAX_FAULT_WRITES) {
        return Err(Refusal::at(
            key("count"),
            format!("count = {count} is outside 1 .. {MAX_FAULT_WRITES}"),
            "count is how many writes the fault takes, e.g. count = 3",
        ));
    }
    Ok(())
}

/// Checks the `[random]` plan: spacing, kinds and the longest fault.
pub(super) fn check_random(s: &Scenario) -> Result<(), Refusal> {
    let Some(random) = &s.random else {
        return Ok(());
    };
    let second = SignedDuration::from_secs(1);
    if random.every < second {
        return Err(Refusal::at(
            "random.every",
            format!(
                "[random] every = \"{}\" is shorter than 1s: drawn faults last 1 s at least and are drawn in whole milliseconds",
                show(random.every)
            ),
            "space random faults at least 1s apart, e.g. every = \"2m\"",
        ));
    }
    within_budget("random.every", random.every)?;
    if random.max_duration < second {
        return Err(Refusal::at(
            "random.max_duration",
            format!(
                "[random] max_duration = \"{}\" is shorter than 1s, the shortest drawn fault",
                show(random.max_duration)
            ),
            "use max_duration = \"1s\" or more (default \"30s\")",
        ));
    }
    within_budget("random.max_duration", random.max_duration)?;
    if random.kinds.is_empty() {
        return Err(Refusal::at(
            "random.kinds",
            "[random] needs at least one kind",
            "e.g. kinds = [\"crash\", \"pause\"]",
        ));
    }
    for kind in &random.kinds {
        if s.go_micro.is_some() && kind == "stop" {
            return Err(Refusal::at(
                "random.kinds",
                GO_MICRO_STOP,
                GO_MICRO_STOP_HINT,
            ));
        }
        if s.backends
            .iter()
            .any(|b| b.unsupported().contains(&kind.as_str()))
        {
            return Err(Refusal::at(
                "random.kinds",
                format!("[random] kind `{kind}` cannot be injected on every listed backend"),
                "drop that backend from `backends` and say why in not_on_etcd_sim",
            ));
        }
        if !RANDOM_KINDS.contains(&kind.as_str()) {
            return Err(Refusal::at(
                "random.kinds",
                format!("[random] kind `{kind}` cannot be drawn at random"),
                format!("use {}", RANDOM_KINDS.join(", ")),
            ));
        }
    }
    Ok(())
}

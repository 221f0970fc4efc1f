//! The swarm: which fault kinds a drawn world enables, how often faults come, at whom, and with
//! which parameters.
//!
//! Swarm testing (Groce et al.; TigerBeetle's VOPR) turns whole classes of faults off per seed:
//! a world with only clock faults explores paths that a world drowning in crashes never reaches.
//! Each world picks a mode — no faults, only clock faults, only network faults, only node faults,
//! only backend faults, everything, or a random subset — keeps the kinds its backend can suffer
//! ([`BackendKind::unsupported`]), weighs them, and draws faults at a rate of its own (one every
//! second to one every two minutes), some from time 0, some at once, overlapping freely. Every
//! fault ends: each has a duration. It draws the plan only; the injector plays it.

use jiff::SignedDuration;
use toml::Spanned;

use super::dice::Dice;
use super::draw::ms;
use super::Limits;
use crate::fault::Direction;
use crate::scenario::{BackendKind, FaultEntry, NodeSettings};

/// Every fault kind the explorer draws, by scenario name.
///
/// **Add new kinds here** (and their parameters in [`params`]). A rolling spec upgrade (a `stop`
/// with `upgrade_to` of every node in turn) is drawn apart, by [`rolling_upgrade`].
pub const KINDS: &[&str] = &[
    "crash",
    "stop",
    "pause",
    "partition",
    "clock_offset",
    "clock_drift",
    "clock_jump",
    "clock_strobe",
    "backend_latency",
    "backend_timeout",
    "ambiguous_commit",
    "delayed_write",
    "backend_restart",
];

const NODE: &[&str] = &["crash", "stop", "pause"];
const NETWORK: &[&str] = &["partition", "delayed_write"];
const CLOCK: &[&str] = &["clock_offset", "clock_drift", "clock_jump", "clock_strobe"];
const BACKEND: &[&str] = &[
    "backend_latency",
    "backend_timeout",
    "ambiguous_commit",
    "backend_restart",
];

/// A world's faults and the swarm mode that drew them.
pub(super) struct Swarm {
    /// `no faults`, `clock only: clock_jump, ...`, `everything`, `subset: ...`.
    pub mode: String,
    /// The faults, in start order.
    pub faults: Vec<FaultEntry>,
}

/// Draws the faults of a world with `nodes` nodes whose faults start within `window_ms`.
pub(super) fn draw(
    dice: &mut Dice,
    backend: BackendKind,
    nodes: usize,
    window_ms: u64,
    settings: &NodeSettings,
    limits: &Limits,
) -> Swarm {
    let (mode, kinds) = enabled(dice, backend);
    if kinds.is_empty() {
        return Swarm {
            mode: "no faults".into(),
            faults: Vec::new(),
        };
    }
    let weights: Vec<u64> = kinds.iter().map(|_| dice.int(1, 4)).collect();
    let gap_ms = dice.log_uniform(1_000, 120_000).min(window_ms);
    let ttl_ms = settings.lease_ttl.as_millis() as u64;
    let mut faults = Vec::new();
    let mut at = if dice.chance(15) {
        0
    } else {
        dice.int(0, gap_ms)
    };
    while at < window_ms && (faults.len() as u64) < limits.max_faults {
        let kind = kinds[dice.weighted(&weights)];
        faults.push(fault(dice, kind, nodes, at, ttl_ms, window_ms, settings));
        if !dice.chance(10) {
            at += dice.int(1, gap_ms * 2);
        }
    }
    let names = kinds.join(", ");
    let mut mode = format!("{mode}: {names}, one about every {:#}", ms(gap_ms));
    if dice.chance(15) {
        faults.extend(rolling_upgrade(dice, nodes, window_ms));
        mode.push_str(", and a rolling upgrade to spec version 2");
    }
    faults.sort_by_key(|f| f.at);
    Swarm { mode, faults }
}

/// A rolling spec upgrade within `window_ms`: every node in turn stopped gracefully and started
/// again after a short while defining every job at spec version 2.
fn rolling_upgrade(dice: &mut Dice, nodes: usize, window_ms: u64) -> Vec<FaultEntry> {
    let spacing = (window_ms / (nodes as u64 + 1)).max(1);
    let first = dice.int(0, spacing);
    (0..nodes)
        .map(|i| {
            let mut stop = bare("stop", first + spacing * i as u64);
            stop.node = Some(Spanned::new(0..0, format!("node-{i}")));
            stop.duration = Some(ms(dice.log_uniform(100, spacing.clamp(200, 20_000))));
            stop.upgrade_to = Some(2);
            stop
        })
        .collect()
}

/// A fault of `kind` at `at_ms` with no target, duration or parameters yet.
fn bare(kind: &str, at_ms: u64) -> FaultEntry {
    FaultEntry {
        fault: Spanned::new(0..0, kind.to_string()),
        node: None,
        at: ms(at_ms),
        duration: None,
        direction: None,
        offset: None,
        ppm: None,
        by: None,
        amplitude: None,
        period: None,
        latency: None,
        count: None,
        delay: None,
        upgrade_to: None,
        member: None,
    }
}

/// The swarm mode and the kinds it enables on `backend`.
fn enabled(dice: &mut Dice, backend: BackendKind) -> (&'static str, Vec<&'static str>) {
    let (mode, kinds): (&str, Vec<&str>) = match dice.weighted(&[5, 12, 12, 12, 10, 20, 29]) {
        0 => ("no faults", Vec::new()),
        1 => ("clock only", CLOCK.to_vec()),
        2 => ("network only", NETWORK.to_vec()),
        3 => ("node only", NODE.to_vec()),
        4 => ("backend only", BACKEND.to_vec()),
        5 => ("everything", KINDS.to_vec()),
        _ => {
            let subset = KINDS.iter().copied().filter(|_| dice.chance(40)).collect();
            ("subset", subset)
        }
    };
    let kinds: Vec<&str> = kinds
        .into_iter()
        .filter(|k| !backend.unsupported().contains(k))
        .collect();
    if kinds.is_empty() {
        // A subset that drew nothing the backend can suffer: fall back to one node fault.
        return match mode {
            "subset" => ("subset", vec![*dice.pick(NODE)]),
            _ => ("no faults", kinds),
        };
    }
    (mode, kinds)
}

fn fault(
    dice: &mut Dice,
    kind: &str,
    nodes: usize,
    at_ms: u64,
    ttl_ms: u64,
    window_ms: u64,
    settings: &NodeSettings,
) -> FaultEntry {
    let mut entry = bare(kind, at_ms);
    if !BACKEND.contains(&kind) {
        entry.node = Some(Spanned::new(0..0, target(dice, nodes)));
    }
    let longest = if dice.chance(10) {
        window_ms
    } else {
        (ttl_ms * 4).min(window_ms)
    };
    entry.duration = Some(ms(dice.log_uniform(100, longest.max(200))));
    params(dice, &mut entry, ttl_ms, settings);
    entry
}

/// `leader`, `follower`, `first`, `majority`, `all` or `node-N`.
fn target(dice: &mut Dice, nodes: usize) -> String {
    match dice.weighted(&[35, 15, 10, 10, 10, 20]) {
        0 => "leader".into(),
        1 => "follower".into(),
        2 => "first".into(),
        3 => "majority".into(),
        4 => "all".into(),
        _ => format!("node-{}", dice.int(0, nodes as u64 - 1)),
    }
}

/// The parameters of `entry`'s kind.
fn params(dice: &mut Dice, entry: &mut FaultEntry, ttl_ms: u64, settings: &NodeSettings) {
    let signed = |dice: &mut Dice, lo: u64, hi: u64| {
        SignedDuration::from_millis(dice.sign() * dice.log_uniform(lo, hi) as i64)
    };
    match entry.fault.get_ref().as_str() {
        "partition" => {
            entry.direction = Some(*dice.pick(&[
                Direction::Both,
                Direction::ToBackend,
                Direction::FromBackend,
            ]))
        }
        "clock_offset" => entry.offset = Some(signed(dice, 10, 7_200_000)),
        "clock_drift" => entry.ppm = Some(dice.sign() * dice.log_uniform(10, 200_000) as i64),
        "clock_jump" => entry.by = Some(signed(dice, 100, 7_200_000)),
        "clock_strobe" => {
            entry.amplitude = Some(ms(dice.log_uniform(10, 60_000)));
            entry.period = Some(ms(dice.log_uniform(100, 30_000)));
        }
        "backend_latency" => {
            let timeout = settings.request_timeout.as_millis() as u64;
            entry.latency = Some(ms(dice.log_uniform(5, timeout * 2)));
        }
        "ambiguous_commit" => entry.count = Some(dice.int(1, 5) as u32),
        "delayed_write" => {
            entry.count = Some(dice.int(1, 3) as u32);
            entry.delay = Some(ms(dice.log_uniform(100, ttl_ms * 3)));
        }
        _ => {}
    }
}

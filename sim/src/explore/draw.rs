//! One world from a seed: how many nodes, their settings, when the world starts (sometimes just
//! before a DST transition), and the assembly of jobs ([`super::jobs`]), faults
//! ([`super::faults`]) and timing ([`super::timing`]) into a complete [`Scenario`].
//!
//! The draw is a pure function of seed, backend and [`Size`]: the same three always give the same
//! scenario, byte for byte once printed. It never runs anything.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use toml::Spanned;

use super::dice::Dice;
use super::{faults, jobs, Size};
use crate::scenario::{BackendKind, CheckSettings, Expect, NodeSettings, Scenario, Seeds, Variant};

/// Most nodes a memory world has.
pub const MEMORY_MAX_NODES: usize = 7;

/// Most nodes an etcd-sim world has. madsim's simulated etcd server (madsim-etcd-client 0.7,
/// `service.rs`) hands each waiting candidate a 4-slot channel of election events and drops the
/// channel when an event finds it full; the candidate's `campaign` then panics with "sender
/// should not drop", taking the world down. Every other candidate's campaign, resignation or
/// expired lease is such an event, so the more nodes, the likelier a backlog of five. Measured
/// by forcing the node count of drawn full-size etcd-sim worlds (README, "Exploration"): 5 nodes
/// panicked in 19 of 100 worlds, 4 nodes in 3 of 2,000, 3 nodes in 1 of 8,000, 2 nodes in none
/// of 2,000. Three keeps multi-candidate elections at a rate of about one world in 8,000 that
/// the sweep reports as a `panic` (it never stops a sweep).
pub const ETCD_SIM_MAX_NODES: usize = 3;

/// How long madsim's simulated etcd server takes to take in one request: it accepts connections
/// one after another, each after a sleep madsim rounds up to a millisecond, and its client opens
/// a connection per request (madsim-etcd-client 0.7, `server.rs`, `kv.rs`). A real etcd serves
/// hundreds of small requests at once over one gRPC connection.
pub const ETCD_SIM_ACCEPT: Duration = Duration::from_millis(1);

/// Requests one campaign makes in a row (the fence put, the candidacy's get and put, the
/// observation's get): every node campaigns in every election at once at boot and after a
/// backend restart.
const CAMPAIGN_REQUESTS: u32 = 5;

/// How long the simulated etcd server needs to take in the campaigns of every node in every
/// election of `s` at once: with a request timeout under about twice this, campaigns time out in
/// the queue whatever the core does, an overload no fault injected (explorer world etcd-sim
/// 62312: 3 nodes, 43 per-job elections, 102 ms timeouts, nobody led some elections for 7.7 s).
pub fn etcd_sim_campaign_burst(s: &Scenario) -> Duration {
    let elections = match s.node.scope {
        cronfence::ElectionScope::PerJob => s.jobs.iter().map(|j| j.count.unwrap_or(1)).sum(),
        cronfence::ElectionScope::Group => 1,
    };
    ETCD_SIM_ACCEPT * CAMPAIGN_REQUESTS * elections * s.nodes as u32
}

/// Whether the simulated etcd server can serve `s`'s campaign burst within its request timeout.
fn etcd_sim_serves(s: &Scenario) -> bool {
    etcd_sim_campaign_burst(s) * 2 <= s.node.request_timeout.unsigned_abs()
}

/// A DST transition a world may start just before: the zone, the instant (UTC), and fixed local
/// times whose ticks it moves (a gap skips them, a fold repeats them).
pub(crate) struct Transition {
    pub zone: &'static str,
    pub at: &'static str,
    pub fixed_times: &'static [&'static str],
}

const SPRING: &[&str] = &[
    "30 2 * * *",
    "0 2 * * *",
    "15,45 2 * * *",
    "0 3 * * *",
    "0 30 2 * * *",
];
const AUTUMN: &[&str] = &[
    "30 2 * * *",
    "0 2 * * *",
    "15,45 2 * * *",
    "59 2 * * *",
    "0 3 * * *",
];

/// The 2027 transitions of the zones the explorer uses (pinned by a test against jiff's tz data).
pub(crate) const TRANSITIONS: &[Transition] = &[
    Transition {
        zone: "Europe/Berlin",
        at: "2027-03-28T01:00:00Z",
        fixed_times: SPRING,
    },
    Transition {
        zone: "Europe/Berlin",
        at: "2027-10-31T01:00:00Z",
        fixed_times: AUTUMN,
    },
    Transition {
        zone: "America/New_York",
        at: "2027-03-14T07:00:00Z",
        fixed_times: SPRING,
    },
    Transition {
        zone: "America/New_York",
        at: "2027-11-07T06:00:00Z",
        fixed_times: &["30 1 * * *", "0 1 * * *", "59 1 * * *", "0 2 * * *"],
    },
    Transition {
        zone: "Australia/Sydney",
        at: "2027-04-03T16:00:00Z",
        fixed_times: AUTUMN,
    },
    Transition {
        zone: "Australia/Sydney",
        at: "2027-10-02T16:00:00Z",
        fixed_times: SPRING,
    },
];

/// Draws the world of `seed` on `backend` at `size`.
pub fn draw(seed: u64, backend: BackendKind, size: Size) -> Scenario {
    let limits = size.limits();
    let mut dice = Dice::new(seed, backend);
    let max_nodes = match backend {
        BackendKind::Memory => MEMORY_MAX_NODES,
        BackendKind::EtcdSim => ETCD_SIM_MAX_NODES,
    };
    let nodes = dice.int(1, max_nodes as u64) as usize;
    let node = node_settings(&mut dice);
    let window_ms = dice.log_uniform(limits.fault_window_ms.0, limits.fault_window_ms.1);
    let (start, dst) = start(&mut dice, window_ms);
    let jobs = jobs::draw(&mut dice, start, window_ms, dst, &limits);
    let swarm = faults::draw(&mut dice, backend, nodes, window_ms, &node, &limits);
    let mut scenario = Scenario {
        description: String::new(),
        nodes,
        backends: vec![backend],
        not_on_etcd_sim: None,
        not_simulated: None,
        not_in_real_time: None,
        spooled: false,
        real_time_scale: None,
        duration: SignedDuration::from_secs(1),
        seeds: Seeds::List(vec![seed]),
        start,
        node,
        jobs,
        faults: swarm.faults,
        random: None,
        check: CheckSettings::default(),
        variant: Variant::default(),
        go_micro: None,
        expect: Expect {
            outcome: Spanned::new(0..0, "pass".into()),
            violations: Vec::new(),
            records: Vec::new(),
            no_records: Vec::new(),
            excused: Vec::new(),
            known_bug: None,
            takeover_at_most: None,
            lateness_p50_at_least: None,
            one_run_per_local_day: false,
        },
    };
    jobs::fit_budget(&mut scenario, size);
    // On etcd-sim, per-job elections the simulated server cannot serve at once become one
    // election (the drawn dice are unchanged, so every other world stays as it was).
    if backend == BackendKind::EtcdSim && !etcd_sim_serves(&scenario) {
        scenario.node.scope = cronfence::ElectionScope::Group;
    }
    if backend == BackendKind::Memory {
        scenario.not_on_etcd_sim = Some(not_on_etcd_sim(&scenario));
    }
    scenario.description = describe(seed, backend, size, &scenario, &swarm.mode, dst);
    scenario
}

/// Lease TTL in whole seconds (the etcd backends count leases in seconds), a request timeout of
/// at most a third of it, when to report the backend unreachable, and the election scope.
fn node_settings(dice: &mut Dice) -> NodeSettings {
    let ttl_s = dice.log_uniform(2, 30);
    let timeout_ms = dice.log_uniform(100, (ttl_s * 1_000 / 3).min(5_000));
    NodeSettings {
        lease_ttl: SignedDuration::from_secs(ttl_s as i64),
        request_timeout: ms(timeout_ms),
        unreachable_after: ms(dice.log_uniform(500, 30_000)),
        scope: if dice.chance(30) {
            cronfence::ElectionScope::PerJob
        } else {
            cronfence::ElectionScope::Group
        },
        zones: Vec::new(),
        scopes: Vec::new(),
        withdraw_predecessors: false,
    }
}

/// When the world starts: a third of worlds just before a DST transition (so its gap or fold
/// falls inside the fault window), the others at a random instant of 2027.
fn start(dice: &mut Dice, window_ms: u64) -> (Timestamp, Option<&'static Transition>) {
    if dice.chance(35) {
        let transition = dice.pick(TRANSITIONS);
        let at: Timestamp = transition.at.parse().expect("a valid instant");
        let before = ms(dice.int(0, window_ms));
        return (at - before, Some(transition));
    }
    let year_start: Timestamp = "2027-01-01T00:00:00Z".parse().expect("a valid instant");
    let offset_s = dice.int(0, 364 * 86_400) as i64;
    let offset_ms = if dice.chance(50) {
        0
    } else {
        dice.int(0, 999) as i64
    };
    (
        year_start + SignedDuration::from_secs(offset_s) + SignedDuration::from_millis(offset_ms),
        None,
    )
}

fn not_on_etcd_sim(s: &Scenario) -> String {
    let only_memory: Vec<&str> = s
        .faults
        .iter()
        .map(|f| f.fault.get_ref().as_str())
        .filter(|k| BackendKind::EtcdSim.unsupported().contains(k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut why =
        vec!["the explorer draws each backend's worlds from the seed separately".to_string()];
    if !only_memory.is_empty() {
        why.push(format!(
            "its faults include {}, which the simulated etcd server cannot suffer",
            only_memory.join(", ")
        ));
    }
    if s.nodes > ETCD_SIM_MAX_NODES {
        why.push(format!(
            "{} nodes are more than the simulated etcd server survives ({ETCD_SIM_MAX_NODES})",
            s.nodes
        ));
    }
    if !etcd_sim_serves(s) {
        why.push(format!(
            "its campaigns take the simulated etcd server {:?} to take in, more than half the \
             request timeout",
            etcd_sim_campaign_burst(s)
        ));
    }
    why.join("; ")
}

fn describe(
    seed: u64,
    backend: BackendKind,
    size: Size,
    s: &Scenario,
    mode: &str,
    dst: Option<&Transition>,
) -> String {
    let jobs: u32 = s.jobs.iter().map(|j| j.count.unwrap_or(1)).sum();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "Drawn by `cronfence explore` (size {size}) from seed {seed} for {backend}: {}, {}, {} ({mode}).",
        plural(s.nodes, "node"),
        plural(jobs as usize, "job"),
        plural(s.faults.len(), "fault")
    );
    if let Some(t) = dst {
        text.push_str(&format!(
            " Starts shortly before the {} DST transition at {}.",
            t.zone, t.at
        ));
    }
    text.push_str(" Every guarantee must hold.");
    text
}

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> SignedDuration {
    SignedDuration::from_millis(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_transitions_are_the_zones_real_2027_transitions() {
        // The zone's UTC offset changes exactly at each pinned instant (and not a second before),
        // so a world starting just before it sees the gap or the fold.
        for t in TRANSITIONS {
            let tz = jiff::tz::TimeZone::get(t.zone).expect("a known zone");
            let at: Timestamp = t.at.parse().expect("a valid instant");
            let before = tz.to_offset(at - SignedDuration::from_secs(1));
            let just_before = tz.to_offset(at - SignedDuration::from_nanos(1));
            assert_eq!(before, just_before, "{} {}", t.zone, t.at);
            assert_ne!(just_before, tz.to_offset(at), "{} {}", t.zone, t.at);
        }
    }

    #[test]
    fn an_etcd_sim_world_asks_no_more_campaigns_at_once_than_the_server_takes_in() {
        // Every drawn etcd-sim world's boot burst fits half its request timeout (seed 62312 drew
        // 3 nodes, 43 per-job elections and 102 ms: now one election); per-job elections stay
        // on etcd-sim where the server can serve them.
        let mut per_job = 0;
        for seed in 1..=3_000 {
            let world = draw(seed, BackendKind::EtcdSim, Size::Full);
            assert!(etcd_sim_serves(&world), "seed {seed}");
            per_job += usize::from(world.node.scope == cronfence::ElectionScope::PerJob);
        }
        assert!(per_job > 100, "{per_job} per-job etcd-sim worlds in 3,000");
        let etcd = draw(62312, BackendKind::EtcdSim, Size::Full);
        assert_eq!(etcd.node.scope, cronfence::ElectionScope::Group);
    }
}

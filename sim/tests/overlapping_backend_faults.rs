//! Overlapping faults of the backend act as long as any of them holds, as the fault log says:
//! an unresponsive backend stays silent until the last timeout ends, and a slow one stays slow
//! until the last latency ends (the first to end once switched the fault off for all, and the
//! checkers then excused a window in which the backend was in fact answering).
#![cfg(madsim)]

use std::path::Path;

use cronfence::NodeEvent;
use cronfence_sim::history::{History, What};
use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::world;

/// One node running a 1 s job: the backend times out from 10 s for 20 s and from 12 s for
/// 30 s (to 42 s); later it answers 400 ms late from 60 s for 10 s and 200 ms late from 62 s
/// for 20 s (to 82 s).
const SCENARIO: &str = r#"
description = "overlapping backend faults"
nodes = 1
backends = ["memory", "etcd-sim"]
duration = "100s"
seeds = 1

[[jobs]]
id = "j"
every = "1s"

[[faults]]
fault = "backend_timeout"
at = "10s"
duration = "20s"

[[faults]]
fault = "backend_timeout"
at = "12s"
duration = "30s"

[[faults]]
fault = "backend_latency"
at = "60s"
duration = "10s"
latency = "400ms"

[[faults]]
fault = "backend_latency"
at = "62s"
duration = "20s"
latency = "200ms"

[expect]
outcome = "pass"
"#;

/// The true times (ms) at which node-0's claims were answered, with how long each took.
fn claims(history: &History) -> Vec<(u64, u64)> {
    let mut sent = None;
    let mut answered = Vec::new();
    for r in &history.records {
        match &r.what {
            What::Node(NodeEvent::ClaimsSent { .. }) => sent = Some(r.t_ns),
            What::Node(NodeEvent::TickClaimed { .. }) => {
                if let Some(at) = sent.take() {
                    answered.push((r.t_ns / 1_000_000, (r.t_ns - at) / 1_000_000));
                }
            }
            _ => {}
        }
    }
    answered
}

#[test]
fn overlapping_backend_faults_hold_until_the_last_one_ends() {
    // No claim is answered from 10 s to 42 s, though the first timeout ends at 30 s; claims
    // answered between 71 s and 82 s, after the 400 ms latency ended, still take the 200 ms one.
    let s = scenario::parse(Path::new("overlapping.toml"), SCENARIO).expect("loads");
    for backend in [BackendKind::Memory, BackendKind::EtcdSim] {
        let run = world::run(&s, backend, 1);
        let answered = claims(&run.history);
        let silent: Vec<_> = answered
            .iter()
            .filter(|&&(at, _)| (10_500..42_000).contains(&at))
            .collect();
        assert!(silent.is_empty(), "{backend:?} answered claims: {silent:?}");
        let slow: Vec<_> = answered
            .iter()
            .filter(|&&(at, _)| (71_000..82_000).contains(&at))
            .map(|&(_, took)| took)
            .collect();
        assert!(!slow.is_empty(), "{backend:?}: no claim answered 71–82 s");
        assert!(
            slow.iter().all(|&took| took >= 190),
            "{backend:?}: {slow:?}"
        );
    }
}

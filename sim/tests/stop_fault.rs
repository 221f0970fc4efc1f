//! The `stop` fault as a scenario file writes it: accepted with and without `upgrade_to`, in
//! `[[faults]]` and `[random] kinds`, on both backends; `upgrade_to` refused where it would do
//! nothing or could not be an upgrade, each refusal located with a hint.

use std::path::Path;

use cronfence_sim::fault::FaultKind;
use cronfence_sim::scenario::{fault_kind, parse, BackendKind, Scenario, ScenarioError};

const BASE: &str = r#"
description = "a stop"
duration = "1m"

[[jobs]]
id = "j"
every = "1s"
"#;

const EXPECT: &str = "\n[expect]\noutcome = \"pass\"\n";

fn with_fault(keys: &str) -> String {
    format!("{BASE}\n[[faults]]\nfault = \"stop\"\nat = \"10s\"\n{keys}\n{EXPECT}")
}

fn load(text: &str) -> Scenario {
    parse(Path::new("stop.toml"), text).expect("loads")
}

fn error(text: &str) -> ScenarioError {
    parse(Path::new("stop.toml"), text).expect_err("must be rejected")
}

#[test]
fn a_stop_with_an_upgrade_loads_on_both_backends() {
    // The kind carries the version, and nothing restricts it to one backend.
    let s = load(&with_fault("duration = \"5s\"\nupgrade_to = 2"));
    assert_eq!(s.backends, [BackendKind::Memory, BackendKind::EtcdSim]);
    assert_eq!(
        fault_kind(&s.faults[0]).map_err(|e| e.1),
        Ok(FaultKind::Stop {
            upgrade_to: Some(2)
        })
    );
}

#[test]
fn a_stop_without_duration_or_upgrade_loads() {
    // A node stopped for good is a valid plan (the node stays stopped).
    let s = load(&with_fault(""));
    assert_eq!(
        fault_kind(&s.faults[0]).map_err(|e| e.1),
        Ok(FaultKind::Stop { upgrade_to: None })
    );
}

#[test]
fn upgrade_to_on_another_fault_is_refused_at_the_fault() {
    // It would be silently ignored on a crash; the error points at the fault's kind.
    let text = with_fault("duration = \"5s\"\nupgrade_to = 2").replace("\"stop\"", "\"crash\"");
    let e = error(&text);
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("upgrade_to"), "{e}");
    assert!(e.hint.contains("stop"), "{e}");
}

#[test]
fn upgrade_to_one_or_without_duration_is_refused() {
    // Version 1 is where every job starts; an upgraded node that never starts upgrades nothing.
    let e = error(&with_fault("duration = \"5s\"\nupgrade_to = 1"));
    assert!(e.hint.contains("upgrade_to = 2"), "{e}");
    let e = error(&with_fault("upgrade_to = 2"));
    assert!(e.message.contains("duration"), "{e}");
}

#[test]
fn stop_can_be_drawn_at_random_but_not_for_go_micro() {
    // `stop` is a random kind; the go-micro model has no graceful shutdown to stop.
    let random = "\n[random]\nevery = \"20s\"\nkinds = [\"stop\"]\n";
    load(&format!("{BASE}{random}{EXPECT}"));
    let e = error(&format!("{BASE}{random}\n[go_micro]\n{EXPECT}"));
    assert!(e.message.contains("go-micro"), "{e}");
    let e = error(&with_fault("").replace("[[faults]]", "[go_micro]\n\n[[faults]]"));
    assert!(e.message.contains("go-micro"), "{e}");
}

/// Stops and crashes of one node overlapping every way: the node's process follows the deploy
/// control through madsim's kill and restart.
#[cfg(madsim)]
mod overlapping {
    use cronfence::NodeEvent;
    use cronfence_sim::history::{History, What};
    use cronfence_sim::world;

    use super::*;

    /// node-0's faults, as `[[faults]]` lines: (kind, at, duration).
    fn run(faults: &[(&str, u64, Option<u64>)]) -> History {
        let mut text = BASE.replace("duration = \"1m\"", "duration = \"1m\"\nseeds = [1]");
        for (kind, at, duration) in faults {
            text.push_str(&format!(
                "\n[[faults]]\nfault = \"{kind}\"\nnode = \"node-0\"\nat = \"{at}s\"\n"
            ));
            if let Some(d) = duration {
                text.push_str(&format!("duration = \"{d}s\"\n"));
            }
        }
        text.push_str(EXPECT);
        world::run(&load(&text), BackendKind::Memory, 1).history
    }

    /// True times (in seconds) of node-0's own records.
    fn node_0_times(history: &History) -> Vec<f64> {
        history
            .records
            .iter()
            .filter(|r| r.node == "node-0")
            .map(|r| r.t_ns as f64 / 1e9)
            .collect()
    }

    /// When the world recorded the fault that starts at `secs` (it lands a few nanoseconds after:
    /// a node's own timer due at the same instant may act first).
    fn fault_recorded(history: &History, secs: f64) -> f64 {
        history
            .records
            .iter()
            .filter(|r| matches!(r.what, What::Fault(_)))
            .map(|r| r.t_ns as f64 / 1e9)
            .find(|t| *t >= secs)
            .expect("the fault is recorded")
    }

    fn starts_after(history: &History, secs: f64) -> bool {
        history.records.iter().any(|r| {
            r.node == "node-0"
                && r.t_ns as f64 / 1e9 > secs
                && matches!(r.what, What::Node(NodeEvent::CampaignStarted { .. }))
        })
    }

    #[test]
    fn a_node_crashed_while_stopped_stays_stopped_until_the_stop_ends() {
        // The crash's restart at 20 s re-runs the process, which must see the stop still on: no
        // record of node-0 between 20 s and the stop's end at 30 s, a campaign after it.
        let h = run(&[("stop", 10, Some(20)), ("crash", 15, Some(5))]);
        let crashed = fault_recorded(&h, 15.0);
        let quiet = node_0_times(&h)
            .into_iter()
            .filter(|t| *t > crashed && *t < 30.0);
        assert_eq!(quiet.count(), 0);
        assert!(starts_after(&h, 30.0));
    }

    #[test]
    fn a_node_stopped_while_crashed_starts_once_both_have_ended() {
        // Stop 15–20 s inside crash 10–30 s, and stop 15–40 s outlasting crash 10–20 s: the node
        // runs again only when the later of the two ends.
        for (faults, back) in [
            ([("crash", 10, Some(20)), ("stop", 15, Some(5))], 30.0),
            ([("crash", 10, Some(10)), ("stop", 15, Some(25))], 40.0),
        ] {
            let h = run(&faults);
            let down = fault_recorded(&h, 10.0);
            let quiet = node_0_times(&h)
                .into_iter()
                .filter(|t| *t > down && *t < back);
            assert_eq!(quiet.count(), 0, "{faults:?}");
            assert!(starts_after(&h, back), "{faults:?}");
        }
    }

    #[test]
    fn a_stop_without_duration_is_for_good() {
        // No `duration`: after its shutdown, node-0 records nothing more.
        let h = run(&[("stop", 10, None)]);
        let last = node_0_times(&h).into_iter().fold(0.0, f64::max);
        assert!(last < 11.0, "node-0 recorded at {last} s");
    }
}

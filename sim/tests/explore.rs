//! Swarm exploration under `cargo test`: drawn worlds are valid scenario files that load back
//! equal, the swarm reaches every fault kind, target and policy, a shrunk failure replays from its
//! file, and a small fixed budget of worlds (seeds 1..=200 per simulated backend, size `small`)
//! fails exactly as the committed known list says (`scenarios/explore/known.toml`).
//!
//! Regenerate the known list after a change that fixes or finds failures:
//! `cargo run --release -p cronfence-sim -- explore --size small --seeds 200
//! --known scenarios/explore/known.toml --write-known scenarios/explore/known.toml`.
#![cfg(madsim)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cronfence_sim::explore::known::{compare, KnownList};
use cronfence_sim::explore::shrink::{self, Target};
use cronfence_sim::explore::sweep::{self, Plan, Shard, Stop};
use cronfence_sim::explore::toml::{round_trips, to_toml};
use cronfence_sim::explore::{self, draw, Size, ETCD_SIM_MAX_NODES, KINDS, MEMORY_MAX_NODES};
use cronfence_sim::scenario::{self, BackendKind};
use jiff::SignedDuration;

const BACKENDS: [BackendKind; 2] = [BackendKind::Memory, BackendKind::EtcdSim];

fn known_list() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/explore/known.toml")
}

#[test]
fn drawn_worlds_load_back_equal_from_their_scenario_files() {
    // The printed world parses (so it passes every validation a scenario file gets) into the
    // very scenario that was drawn, for both sizes and both backends over many seeds.
    for size in [Size::Small, Size::Full] {
        for backend in BACKENDS {
            for seed in 1..=300 {
                let world = draw(seed, backend, size);
                let text = to_toml(&world, "a header\nof two lines");
                assert!(
                    round_trips(&world, &text),
                    "seed {seed} on {backend} ({size}):\n{text}"
                );
            }
        }
    }
}

#[test]
fn drawn_worlds_end_with_a_fault_free_tail_inside_the_checked_window() {
    // Every fault ends, and the checked window runs on for the whole tail (TTL + 5 s + request
    // timeout + longest period + 5 s) after the last fault ends; node counts stay in bounds.
    for backend in BACKENDS {
        for seed in 1..=300 {
            let w = draw(seed, backend, Size::Full);
            let max = match backend {
                BackendKind::Memory => MEMORY_MAX_NODES,
                BackendKind::EtcdSim => ETCD_SIM_MAX_NODES,
            };
            assert!(
                (1..=max).contains(&w.nodes),
                "seed {seed}: {} nodes",
                w.nodes
            );
            assert!(
                w.faults.iter().all(|f| f.duration.is_some()),
                "seed {seed}: a fault never ends"
            );
            let end = explore::last_fault_end(&w);
            let tail = explore::tail(&w, Size::Full);
            assert!(
                tail >= w.node.lease_ttl + SignedDuration::from_secs(10) + w.node.request_timeout
            );
            assert!(
                end + tail <= w.duration - w.check.cooldown,
                "seed {seed}: tail cut short"
            );
            assert_eq!(w.seeds.list(), vec![seed]);
            assert_eq!(w.backends, vec![backend]);
        }
    }
}

#[test]
fn the_swarm_reaches_every_fault_kind_target_and_policy() {
    // Over 400 seeds per backend, each kind the backend can suffer, each target, each policy
    // and DST-zone cron jobs appear; some worlds have only clock faults, some none at all.
    for backend in BACKENDS {
        let mut seen = BTreeSet::new();
        for seed in 1..=400 {
            let w = draw(seed, backend, Size::Full);
            let kinds: BTreeSet<&str> = w
                .faults
                .iter()
                .map(|f| f.fault.get_ref().as_str())
                .collect();
            if w.faults.is_empty() {
                seen.insert("no faults".to_string());
            } else if kinds.iter().all(|k| k.starts_with("clock_")) {
                seen.insert("clock only".to_string());
            }
            if w.faults.iter().any(|f| f.at == SignedDuration::ZERO) {
                seen.insert("fault at 0".into());
            }
            for f in &w.faults {
                seen.insert(f.fault.get_ref().clone());
                if let Some(node) = &f.node {
                    seen.insert(
                        node.get_ref()
                            .trim_end_matches(char::is_numeric)
                            .to_string(),
                    );
                }
            }
            for j in &w.jobs {
                seen.insert(format!("catch_up {}", j.catch_up.get_ref()));
                seen.insert(format!("overlap {:?}", j.overlap));
                seen.insert(format!("delivery {:?}", j.delivery));
                if j.starting_deadline.is_some() {
                    seen.insert("starting_deadline".into());
                }
                if let Some(tz) = &j.tz {
                    seen.insert(format!("tz {}", tz.get_ref()));
                }
                if let Some(anchor) = j.anchor {
                    seen.insert(
                        if anchor > w.start {
                            "anchor future"
                        } else {
                            "anchor past"
                        }
                        .into(),
                    );
                }
                if j.every.is_some_and(|e| j.run_time > e) {
                    seen.insert("run_time > interval".into());
                }
            }
        }
        let mut wanted: Vec<String> = KINDS
            .iter()
            .filter(|k| !backend.unsupported().contains(k))
            .map(|k| k.to_string())
            .collect();
        wanted.extend(
            [
                "leader",
                "follower",
                "first",
                "majority",
                "all",
                "node-",
                "no faults",
                "clock only",
                "fault at 0",
                "catch_up all",
                "catch_up latest",
                "catch_up skip",
                "overlap Forbid",
                "overlap Allow",
                "overlap Replace",
                "delivery AtMostOnce",
                "delivery AtLeastOnce",
                "starting_deadline",
                "tz Europe/Berlin",
                "tz America/New_York",
                "anchor future",
                "anchor past",
                "run_time > interval",
            ]
            .map(String::from),
        );
        let missing: Vec<&String> = wanted.iter().filter(|w| !seen.contains(*w)).collect();
        assert!(missing.is_empty(), "{backend}: never drawn: {missing:?}");
    }
}

#[test]
fn the_same_seed_draws_the_same_world() {
    // Drawing is a function of seed, backend and size: twice the same text, and different
    // seeds give different worlds.
    let a = to_toml(&draw(7, BackendKind::Memory, Size::Full), "");
    assert_eq!(a, to_toml(&draw(7, BackendKind::Memory, Size::Full), ""));
    assert_ne!(a, to_toml(&draw(8, BackendKind::Memory, Size::Full), ""));
}

#[test]
fn every_shrinking_step_is_a_valid_world_with_its_tail() {
    // Each candidate the shrinker may try loads back equal from its file and still ends with
    // the whole fault-free tail, so a shrunk world is as fair as a drawn one.
    for seed in 1..=40 {
        let world = draw(seed, BackendKind::Memory, Size::Small);
        for (step, c) in shrink::candidates(&world, Size::Small) {
            let text = to_toml(&c, "");
            assert!(round_trips(&c, &text), "seed {seed}, step {step}:\n{text}");
            let end = explore::last_fault_end(&c) + explore::tail(&c, Size::Small);
            assert!(
                end <= c.duration - c.check.cooldown,
                "seed {seed}, step {step}"
            );
        }
    }
}

#[test]
fn a_shrunk_failure_replays_from_its_scenario_file() {
    // A world with catch-up silently off (a known-bad variant) loses ticks; the shrunk world,
    // written as a file, loaded like any scenario and run with the same seed, loses them too.
    let seed = (1..=50)
        .find(|&s| {
            let w = draw(s, BackendKind::Memory, Size::Small);
            w.faults.iter().any(|f| f.fault.get_ref() == "crash")
        })
        .expect("some small world crashes a node");
    let mut world = draw(seed, BackendKind::Memory, Size::Small);
    world.variant.catch_up = false;
    let outcome = explore::observe(|| cronfence_sim::world::run(&world, BackendKind::Memory, seed));
    let kind = outcome
        .kinds
        .iter()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("seed {seed}: a world without catch-up lost nothing"));
    let target = Target {
        kind: &kind,
        panic: None,
    };
    let shrunk = shrink::shrink(&world, BackendKind::Memory, seed, Size::Small, &target, 60);
    assert!(shrunk.scenario.faults.len() <= world.faults.len());
    let file = std::env::temp_dir().join(format!("cronfence-explore-shrunk-{seed}.toml"));
    std::fs::write(&file, to_toml(&shrunk.scenario, "shrunk by the test")).expect("temp file");
    let loaded = scenario::load(&file).expect("the shrunk file loads");
    let replayed =
        explore::observe(|| cronfence_sim::world::run(&loaded.scenario, BackendKind::Memory, seed));
    assert!(
        replayed.kinds.contains(&kind),
        "seed {seed}: the shrunk file does not show {kind}; replay: {}",
        cronfence_sim::suite::replay(&file, BackendKind::Memory, seed)
    );
}

#[test]
fn a_small_sweep_fails_exactly_as_the_known_list_says() {
    // Seeds 1..=200 per simulated backend at size small: every failure must be listed, and
    // every listed failure must still fail. The message carries the replay commands.
    let known = KnownList::load(&known_list()).expect("scenarios/explore/known.toml loads");
    assert_eq!(
        known.size,
        Size::Small,
        "the known list must be drawn at size small"
    );
    let seeds = std::env::var("CRONFENCE_EXPLORE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let plan = Plan {
        backends: BACKENDS.to_vec(),
        first_seed: 1,
        stop: Stop::Seeds(seeds),
        shard: Shard::default(),
        size: Size::Small,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        shrink_runs: 0,
        known: None,
    };
    let swept = sweep::sweep(&plan, &|_, _| {});
    let comparison = compare(&known, &swept.worlds);
    let dir = std::env::temp_dir().join("cronfence-explore-test");
    explore::files::write(&dir, &swept.worlds, Size::Small).expect("temp files");
    let mut problems = String::new();
    for j in &comparison.new {
        let path = explore::summary::world_path(&dir, j.backend, j.seed);
        problems.push_str(&format!(
            "NEW {} seed {}: {:?}\n  replay: {}\n  shrink: cargo run -p cronfence-sim -- explore --size small --backend {} --first-seed {} --seeds 1\n",
            j.backend,
            j.seed,
            j.unknown,
            cronfence_sim::suite::replay(&path, j.backend, j.seed),
            j.backend,
            j.seed
        ));
    }
    for f in &comparison.fixed {
        problems.push_str(&format!(
            "FIXED? {} seed {} no longer shows {:?} ({}): remove it from the known list\n",
            f.entry.backend, f.entry.seed, f.gone, f.entry.issue
        ));
    }
    eprintln!(
        "{} worlds in {:.1} s ({:.2} worlds/s), {} known failures",
        swept.worlds.len(),
        swept.elapsed.as_secs_f64(),
        swept.worlds.len() as f64 / swept.elapsed.as_secs_f64(),
        comparison.known.len()
    );
    assert!(
        problems.is_empty(),
        "the sweep differs from {}:\n{problems}\nregenerate: cargo run --release -p cronfence-sim -- explore --size small --seeds 200 --known scenarios/explore/known.toml --write-known scenarios/explore/known.toml",
        known_list().display()
    );
}

#[test]
fn targets_naming_several_nodes_fault_each_of_them() {
    // `majority` of five is the leader and two others, `all` is every node, `first` is the node
    // whose campaign started first; each node's fault is recorded on its own.
    let text = r#"
description = "targets"
nodes = 5
backends = ["memory"]
not_on_etcd_sim = "a test of the injector"
duration = "90s"
seeds = [1]

[[jobs]]
id = "job"
every = "1s"

[[faults]]
fault = "pause"
node = "majority"
at = "20s"
duration = "5s"

[[faults]]
fault = "clock_offset"
node = "all"
offset = "1s"
at = "40s"
duration = "5s"

[[faults]]
fault = "crash"
node = "first"
at = "60s"
duration = "5s"

[expect]
outcome = "pass"
"#;
    let scenario = scenario::parse(Path::new("targets.toml"), text).expect("valid");
    let run = cronfence_sim::world::run(&scenario, BackendKind::Memory, 1);
    let started = |kind: &str| -> Vec<String> {
        run.history
            .records
            .iter()
            .filter_map(|r| match &r.what {
                cronfence_sim::history::What::Fault(
                    cronfence_sim::history::FaultRecord::FaultStarted { fault },
                ) if fault.kind.name() == kind => Some(fault.node.clone()),
                _ => None,
            })
            .collect()
    };
    let first_campaign = run
        .history
        .node_events()
        .find(|(_, e)| matches!(e, cronfence::NodeEvent::CampaignStarted { .. }))
        .map(|(r, _)| r.node.clone())
        .expect("someone campaigned");
    let leader_at_20s = run
        .history
        .records
        .iter()
        .take_while(|r| r.t_ns < 20_000_000_000)
        .filter_map(|r| match &r.what {
            cronfence_sim::history::What::Node(cronfence::NodeEvent::CampaignWon { .. }) => {
                Some(r.node.clone())
            }
            _ => None,
        })
        .last()
        .expect("a leader by 20 s");
    let paused = started("pause");
    assert_eq!(paused.len(), 3, "{paused:?}");
    assert_eq!(paused[0], leader_at_20s);
    assert_eq!(started("clock_offset").len(), 5);
    assert_eq!(started("crash"), vec![first_campaign]);
}

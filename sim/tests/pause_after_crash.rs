//! A pause the fault log records is a pause the node suffers: a crash kills the paused process
//! and its pause with it, the restarted process runs, and a later pause of that node pauses it
//! again, for its own span, whatever became of the pause the crash cut short (explorer world
//! memory 30273: two pauses of a node restarted under an older pause were recorded and never
//! applied, and the node went on writing records through them).
#![cfg(madsim)]

use std::path::Path;

use cronfence_sim::history::History;
use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::world;

/// One node running a 1 s job: paused from 2 s for 48 s but crashed at 3 s and restarted at
/// 4 s; paused again from 20 s to 30 s, and from 40 s to 55 s (across the 50 s end of the pause
/// the crash cut short).
const SCENARIO: &str = r#"
description = "pauses after a crash"
nodes = 1
backends = ["memory"]
not_on_etcd_sim = "the injector is the same on both backends; one suffices"
duration = "1m"
seeds = 1

[[jobs]]
id = "j"
every = "1s"

[[faults]]
fault = "pause"
node = "node-0"
at = "2s"
duration = "48s"

[[faults]]
fault = "crash"
node = "node-0"
at = "3s"
duration = "1s"

[[faults]]
fault = "pause"
node = "node-0"
at = "20s"
duration = "10s"

[[faults]]
fault = "pause"
node = "node-0"
at = "40s"
duration = "15s"

[expect]
outcome = "pass"
"#;

/// How many records node-0 wrote in true time `[from, to)` milliseconds.
fn written(history: &History, from: u64, to: u64) -> usize {
    let span = from * 1_000_000..to * 1_000_000;
    history
        .records
        .iter()
        .filter(|r| r.node == "node-0" && span.contains(&r.t_ns))
        .count()
}

#[test]
fn a_pause_after_a_crash_really_pauses_the_restarted_node() {
    // The restarted process runs under the recorded 2–50 s pause (it writes records between
    // 5 s and 20 s), is silent through each later pause (nothing from 20.1 s to 30 s, nor from
    // 40.1 s to 55 s: the 50 s end of the cut pause does not resume the 40 s one), and runs
    // again after each.
    let s = scenario::parse(Path::new("pause_after_crash.toml"), SCENARIO).expect("loads");
    let run = world::run(&s, BackendKind::Memory, 1);
    let h = &run.history;
    let ran = [(5_000, 20_000), (30_000, 40_000), (55_000, 60_000)].map(|(f, t)| written(h, f, t));
    assert!(ran.iter().all(|&n| n > 0), "node-0 ran: {ran:?}");
    let first = written(h, 20_100, 30_000);
    assert_eq!(first, 0, "node-0 ran through the 20 s pause");
    let second = written(h, 40_100, 55_000);
    assert_eq!(second, 0, "node-0 ran through the 40 s pause");
    assert!(
        run.verdict.violations.is_empty(),
        "{:#?}",
        run.verdict.violations
    );
}

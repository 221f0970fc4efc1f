//! Tests of when a pause is over ([`Index::pause_over`]): at its end, or cut short by its node's
//! crash (or the restart of a node paused while down), and what that changes for a graceful
//! stop reaching the node (explorer world memory 30273). Each rule test sits next to a control:
//! a history of a scheduler that gave ticks up for a stop it had not been reached by, which
//! must still be flagged.
use cronfence::plan::AbandonReason;
use cronfence::{FencingToken, NodeEvent};
use jiff::Timestamp;

use crate::check::testkit::*;
use crate::check::{CheckInput, Observed, Verdict};
use crate::fault::FaultKind;
use crate::history::History;

use super::Index;

/// Tick `tick` of `j`, claimed and run by `node` under `token` at `ms`.
fn ran(h: Builder, ms: u64, node: &str, token: u64, tick: i64) -> Builder {
    h.node(ms, node, sent(token, &[("j", tick)]))
        .node(ms, node, claimed("j", tick, token))
        .command(ms + 1, node, began("j", tick, token, 1))
        .command(ms + 2, node, returned("j", tick, token, 1))
        .node(ms + 2, node, completed("j", tick, token, 1))
}

fn started_at(ms: u64) -> NodeEvent {
    NodeEvent::NodeStarted {
        since: at(0) + jiff::SignedDuration::from_millis(ms as i64),
    }
}

/// A fault on node a in [`stopped_after`].
enum Step {
    /// The 60 s pause.
    Pause,
    /// The crash, lasting this many ms.
    Crash(u64),
    /// The crash (begun at this ms) ends: a fresh process starts.
    Restart(u64),
}

/// The shape of memory 30273: node a leads and runs tick 0; a is paused from 5 s for 60 s;
/// `crash` (from, to) in ms crashes it and restarts it (a fresh process: `node_started`), then a
/// wins again (token 2) and runs tick 10. At 20 s a claims tick 20; a graceful stop begins at
/// 21 s, a acts on it at once (resigns another election at 21.01 s) and, once its 10 s shutdown
/// grace is over, gives tick 20 up for shutdown at 31 s. b runs ticks 30 and 40.
fn stopped_after(crash: Option<(u64, u64)>) -> History {
    let mut h = Builder::new()
        .node(0, "a", started_at(0))
        .node(0, "b", started_at(0))
        .node(0, "a", won(1));
    h = ran(h, 1, "a", 1, 0);
    // The pause, and the crash's start and its end with the fresh start, in time order.
    let mut steps = vec![(5_000, Step::Pause)];
    if let Some((from, to)) = crash {
        steps.extend([(from, Step::Crash(to - from)), (to, Step::Restart(from))]);
    }
    steps.sort_by_key(|&(ms, _)| ms);
    for (ms, step) in steps {
        h = match step {
            Step::Pause => h.fault_for(ms, "a", FaultKind::Pause, 60_000),
            Step::Crash(lasts) => h.fault_for(ms, "a", FaultKind::Crash, lasts),
            Step::Restart(from) => {
                h.fault_ended(ms, "a", FaultKind::Crash, from)
                    .node(ms, "a", started_at(ms))
            }
        };
    }
    h = ran(h.node(8_000, "a", won(2)), 10_000, "a", 2, 10);
    let resigned = NodeEvent::Resigned {
        election: cronfence::ElectionName::new("other"),
        token: FencingToken(7),
    };
    h = h
        .node(20_000, "a", sent(2, &[("j", 20)]))
        .node(20_000, "a", claimed("j", 20, 2))
        .fault(21_000, "a", FaultKind::Stop { upgrade_to: None })
        .node(21_010, "a", resigned)
        .node(
            31_000,
            "a",
            NodeEvent::TicksAbandoned {
                job: job("j"),
                first: at(20),
                last: at(20),
                count: 1,
                reason: AbandonReason::Shutdown,
                token: FencingToken(2),
            },
        )
        .node(31_500, "b", won(3));
    ran(ran(h, 31_500, "b", 3, 30), 40_000, "b", 3, 40)
        .fault_ended(65_000, "a", FaultKind::Pause, 5_000)
        .build()
}

fn verdict(history: &History) -> Verdict {
    let jobs = jobs("j", every_10s(cronfence::Delivery::AtMostOnce));
    let mut input: CheckInput<'_> = input(history, &jobs, 0, 40);
    input.observed = Observed {
        commands: true,
        backend: false,
    };
    crate::check::check(input)
}

fn kinds(v: &Verdict) -> Vec<(&str, Option<Timestamp>)> {
    v.violations
        .iter()
        .map(|f| (f.kind.as_str(), f.tick))
        .collect()
}

/// The pause record of `history` and when the index says it was over.
fn pause_over(history: &History) -> Option<Timestamp> {
    let jobs = jobs("j", every_10s(cronfence::Delivery::AtMostOnce));
    let index = Index::new(input(history, &jobs, 0, 40));
    let pause = history.records.iter().position(|r| {
        matches!(&r.what, crate::history::What::Fault(crate::history::FaultRecord::FaultStarted { fault }) if fault.kind == FaultKind::Pause)
    });
    index.pause_over(pause.expect("a pause"))
}

#[test]
fn a_crash_ends_the_pause_it_hits_so_a_later_stop_reaches_the_restarted_node_at_once() {
    // The crash at 6 s killed the paused process; the node that restarted at 7 s is a new,
    // running one, so the stop at 21 s reached it at once and the shutdown explains tick 20.
    let history = stopped_after(Some((6_000, 7_000)));
    assert_eq!(pause_over(&history), Some(at(6)));
    let v = verdict(&history);
    assert!(v.violations.is_empty(), "{v:#?}");
}

#[test]
fn a_pause_begun_while_its_node_was_down_is_over_at_the_restart() {
    // The pause at 5 s hit a node crashed since 4 s: the process that restarted at 7 s is not
    // paused, so the pause is over at 7 s, not 65 s.
    let history = stopped_after(Some((4_000, 7_000)));
    assert_eq!(pause_over(&history), Some(at(7)));
    let v = verdict(&history);
    assert!(v.violations.is_empty(), "{v:#?}");
}

#[test]
fn without_a_crash_a_shutdown_before_the_pause_is_over_is_still_unfounded() {
    // Control: no crash, so a was paused until 65 s and the stop could not have reached it by
    // 31 s; a scheduler that gave tick 20 up for shutdown then did so without being stopped.
    let history = stopped_after(None);
    assert_eq!(pause_over(&history), Some(at(65)));
    let v = verdict(&history);
    assert_eq!(kinds(&v), [("unfounded_abandon", Some(at(20)))], "{v:#?}");
}

#[test]
fn a_crash_before_the_pause_does_not_end_it() {
    // Control: the crash (1–3 s) and restart came before the pause began at 5 s; the pause held
    // the running process until 65 s, so the shutdown at 31 s is still unfounded.
    let history = stopped_after(Some((1_000, 3_000)));
    assert_eq!(pause_over(&history), Some(at(65)));
    let v = verdict(&history);
    assert_eq!(kinds(&v), [("unfounded_abandon", Some(at(20)))], "{v:#?}");
}

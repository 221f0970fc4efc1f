//! Hostile review of the checker rules added since ff2b695: histories of buggy schedulers that a
//! new excuse wrongly accepts. Each test asserts the verdict the history deserves; each has a
//! control next to it that the rule still accepts.
use cronfence::store::Checkpoint;
use cronfence::{ClaimKind, FencingToken};

use crate::check::{LivenessBound, Observed};

use super::*;
use crate::check::testkit::*;
use crate::fault::FaultKind;
use crate::history::History;

/// Every checker over ticks `[0, to]` of job `j`, commands observed, the backend not, with a
/// liveness bound of 17 s (the job's 10 s interval on top).
fn checked(history: &History, spec: JobSpec, to: i64) -> Verdict {
    let jobs = jobs("j", spec);
    let mut input = input(history, &jobs, 0, to);
    input.observed = Observed {
        commands: true,
        backend: false,
    };
    input.liveness = Some(LivenessBound {
        lease_ttl: SignedDuration::from_secs(10),
        election: SignedDuration::from_secs(5),
        request_timeout: SignedDuration::from_secs(2),
        widened: None,
    });
    crate::check::check(input)
}

/// The ticks of `checker`'s violations.
fn flagged(v: &Verdict, checker: Checker) -> Vec<Option<Timestamp>> {
    let of = v.violations.iter().filter(|f| f.checker == checker);
    of.map(|f| f.tick).collect()
}

/// Leadership `token`'s checkpoint read of `j`: last claimed `last`, `in_flight` ticks.
fn read(token: u64, last: i64, in_flight: &[i64]) -> NodeEvent {
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(last)),
            in_flight: in_flight.iter().map(|&t| (at(t), 1)).collect(),
        }],
    }
}

/// `node` (token) claims, runs and completes `tick` at `ms`.
fn ran(h: Builder, ms: u64, node: &str, token: u64, tick: i64) -> Builder {
    h.node(ms, node, sent(token, &[("j", tick)]))
        .node(ms, node, claimed("j", tick, token))
        .command(ms + 1, node, began("j", tick, token, 1))
        .command(ms + 2, node, returned("j", tick, token, 1))
        .node(ms + 2, node, completed("j", tick, token, 1))
}

fn abandon(token: u64, tick: i64, reason: AbandonReason) -> NodeEvent {
    NodeEvent::TicksAbandoned {
        job: job("j"),
        first: at(tick),
        last: at(tick),
        count: 1,
        reason,
        token: FencingToken(token),
    }
}

/// Rule 1 (d4cbc73). a's clock reads 60 s ahead until 6 s; at 5 s it sends a drop of ticks up
/// to 60 on verified evidence reading 65 s and loses its leadership. The drop never landed: b
/// reads the checkpoint still at 0. b runs 10 and 20, claims 30 (answered), loses its leadership
/// and records 30 lost with it; c reads 30 in flight — and, the bug, never reruns it, in a world
/// quiet since 6 s. The `leadership_lost` abandon explains 30 only until the next leader; the
/// drop that would have given it up for good provably never landed, so no clock contract lets
/// liveness forget it. (`landed`: the control, b reads the checkpoint at 60 and runs 70 on: the
/// drop gave 10 to 60 up for good.)
fn rerun_owed_after_an_early_drop(landed: bool) -> Verdict {
    let ahead = FaultKind::ClockOffset {
        offset: SignedDuration::from_secs(60),
    };
    let early_drop = NodeEvent::ClaimsSent {
        token: FencingToken(1),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(60),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: Some(cronfence::event::ClockEvidence {
            at: at(65),
            witness_age: std::time::Duration::from_millis(5_000),
            witness: (at(65))
                - SignedDuration::try_from(std::time::Duration::from_millis(5_000))
                    .expect("an age"),
        }),
    };
    let h = Builder::new()
        .fault(0, "a", ahead.clone())
        .node(0, "a", won(1))
        .node(0, "a", read(1, 0, &[]));
    let mut h = ran(h, 0, "a", 1, 0)
        .node(5_000, "a", early_drop)
        .node(5_500, "a", revoked(1))
        .fault_ended(6_000, "a", ahead, 0)
        .node(7_000, "b", won(2))
        .node(7_000, "b", read(2, if landed { 60 } else { 0 }, &[]));
    let (leader, token) = match landed {
        true => ("b", 2),
        false => {
            h = ran(ran(h, 10_000, "b", 2, 10), 20_000, "b", 2, 20)
                .node(30_000, "b", sent(2, &[("j", 30)]))
                .node(30_000, "b", claimed("j", 30, 2))
                .node(30_500, "b", revoked(2))
                .node(30_500, "b", abandon(2, 30, AbandonReason::LeadershipLost))
                .node(31_000, "c", won(3))
                .node(31_000, "c", read(3, 30, &[30]));
            ("c", 3)
        }
    };
    let ticks = if landed {
        &[70, 80][..]
    } else {
        &[40, 50, 60, 70, 80][..]
    };
    for &tick in ticks {
        h = ran(h, tick as u64 * 1_000, leader, token, tick);
    }
    checked(&h.build(), every_10s(Delivery::AtLeastOnce), 80)
}

#[test]
fn review3_a_drop_a_later_read_shows_never_landed_gives_up_nothing_on_the_clock() {
    // b's read after a's leadership ended holds the checkpoint at 0, below the drop's 60: the
    // drop never landed, so tick 30, claimed afterwards and lost with b, is still owed a rerun
    // and c's quiet leadership never ran it.
    let v = rerun_owed_after_an_early_drop(false);
    assert!(
        flagged(&v, Checker::Liveness).contains(&Some(at(30))),
        "{v:#?}"
    );
    // Control: read at 60, the early drop gave 10 to 60 up for good, on a's clock.
    let landed = rerun_owed_after_an_early_drop(true);
    assert!(landed.violations.is_empty(), "{landed:#?}");
}

//! Tests of the liveness checker on reruns owed under overlap `Forbid`: a leader reruns the
//! ticks it read in flight oldest first, a short pause between runs for each claim's round trip,
//! in one leadership or across a step-down and a new win (etcd-sim 30933, 33983: a newer owed
//! tick waited behind older ones, never idle, and was flagged late). Next to them, histories of
//! schedulers that left a tick waiting while idle, or ran a newer tick first, which must still
//! be flagged.

use cronfence::{ClaimKind, FencingToken, NodeEvent};
use jiff::Timestamp;

use super::tests::stalls_of;
use crate::check::testkit::*;
use crate::history::{CommandRecord, History};

/// A run of job `j`: (began ms, tick s, ended ms, attempt, token), all by node b.
type Run = (u64, i64, u64, u32, u64);

/// Whether b's leadership 2 ends after its run of 50 and b leads again as 3 for the reruns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Handover {
    /// Leadership 2 runs the reruns itself.
    None,
    /// 2 is revoked at 81 s; 3 wins at 81.02 s and reads 60, 70 and 80 in flight.
    Owing,
    /// As `Owing`, but 3's read holds nothing in flight: it owes no rerun.
    NotOwing,
}

/// a claims ticks 60, 70 and 80 early at 5 s and is revoked at 6 s; b wins and reads them in
/// flight (at least once: b owes each a rerun). b runs 20, 30 and 40 at once and 50 from 56 s
/// to 81 s, then the reruns for 25 s each in `order`, the first 10 ms (50 ms after a
/// `handover`) after 50's run ended and each next one `pauses_ms` (before it) after the previous
/// one ended. Ticks due while a run goes are dropped (overlap `Forbid`); later ones run as soon
/// as b is done. The late ticks found.
fn late(order: [i64; 3], pauses_ms: [u64; 2], handover: Handover) -> Vec<Option<Timestamp>> {
    let mut runs: Vec<Run> = [20, 30, 40]
        .map(|t| (t as u64 * 1_000, t, t as u64 * 1_000, 1, 2))
        .to_vec();
    runs.push((56_000, 50, 81_000, 1, 2));
    let mut events = Vec::new();
    let (token, mut pause) = match handover {
        Handover::None => (2, 10),
        _ => {
            let in_flight: &[i64] = match handover {
                Handover::Owing => &[60, 70, 80],
                _ => &[],
            };
            events.extend([(81_000, revoked(2)), (81_020, won(3))]);
            events.push((81_030, read_of(3, in_flight)));
            (3, 50)
        }
    };
    let mut free = 81_000;
    for (k, tick) in order.into_iter().enumerate() {
        runs.push((free + pause, tick, free + pause + 25_000, 2, token));
        free += pause + 25_000;
        pause = pauses_ms.get(k).copied().unwrap_or_default();
    }
    for tick in (90..=200).step_by(10) {
        let ms = tick as u64 * 1_000;
        match ms < free {
            true => events.push((ms, drop_of(token, tick))),
            false => runs.push((ms.max(free + 10), tick, ms.max(free + 10), 1, token)),
        }
    }
    let spec = every_10s_with(
        cronfence::Delivery::AtLeastOnce,
        cronfence::CatchUp::All { max: 10 },
        cronfence::OverlapPolicy::Forbid,
    );
    let found = stalls_of(&history(&runs, events), 200, spec);
    found.iter().map(|f| f.tick).collect()
}

/// The history of [`late`]: a's early claims and revocation, b's win and read as leadership 2,
/// then b's `runs` and `events`, in true-time order (a run's records before an event at the same
/// instant).
fn history(runs: &[Run], events: Vec<(u64, NodeEvent)>) -> History {
    let mut history = Builder::new()
        .node(0, "a", won(1))
        .node(5_000, "a", sent(1, &[("j", 60), ("j", 70), ("j", 80)]))
        .node(6_000, "a", revoked(1))
        .node(6_000, "b", won(2))
        .node(6_001, "b", read_of(2, &[60, 70, 80]));
    let mut records: Vec<(u64, Option<CommandRecord>, NodeEvent)> = Vec::new();
    for &(from, tick, to, attempt, token) in runs {
        let event = started("j", tick, token, attempt);
        records.push((from, Some(began("j", tick, token, attempt)), event));
        records.push((to, None, completed("j", tick, token, attempt)));
    }
    records.extend(events.into_iter().map(|(ms, e)| (ms, None, e)));
    records.sort_by_key(|r| r.0);
    for (ms, command, event) in records {
        history = history.node(ms, "b", event);
        if let Some(command) = command {
            history = history.command(ms, "b", command);
        }
    }
    history.build()
}

/// Leadership `token`'s checkpoint read of j: last claimed 80, the ticks `in_flight` (seconds)
/// claimed at least once and not committed.
fn read_of(token: u64, in_flight: &[i64]) -> NodeEvent {
    NodeEvent::CheckpointsRead {
        election: election(),
        token: FencingToken(token),
        checkpoints: vec![cronfence::store::Checkpoint {
            job: job("j"),
            registered_at: at(0),
            last_claimed: Some(at(80)),
            in_flight: in_flight.iter().map(|&t| (at(t), 1)).collect(),
        }],
    }
}

/// Leadership `token`'s drop of tick `tick` (seconds): it came due while a run went on.
fn drop_of(token: u64, tick: i64) -> NodeEvent {
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims: vec![cronfence::Claim {
            job: job("j"),
            tick: at(tick),
            spec_version: 1,
            kind: ClaimKind::Drop,
        }],
        evidence: None,
    }
}

#[test]
fn owed_reruns_run_oldest_first_keep_the_newest_waiting_across_short_pauses() {
    // At 80 s b was running 50; then it reran 60 and 70, the older ticks it owed, each 10 ms
    // after the previous run ended (the claim's round trip), and 80 at 131 s: 50 s after 50's
    // run ended, past 17 s + 10 s from there, but never idle more than 20 ms while 80 waited
    // behind older work. Nothing is late (before the fix: 80, 50 s late).
    let found = late([60, 70, 80], [10, 10], Handover::None);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn owed_reruns_keep_the_newest_waiting_across_a_new_leadership_that_owes_it() {
    // b's leadership ended as 50's run did; 20 ms later b led again, read 60, 70 and 80 in
    // flight and reran them oldest first. 80 waited behind older work all along, idle 70 ms.
    let found = late([60, 70, 80], [10, 10], Handover::Owing);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_new_leadership_that_does_not_owe_the_tick_does_not_extend_its_wait() {
    // The same runs, but b's new leadership read nothing in flight: nothing in the history
    // says it knew 80 was owed and behind 60 and 70. 80 waited from 81 s: late.
    let found = late([60, 70, 80], [10, 10], Handover::NotOwing);
    assert!(found.contains(&Some(at(80))), "{found:?}");
}

#[test]
fn owed_reruns_excuse_no_idle_gap_longer_than_the_allowance() {
    // The same reruns, but b sat idle 30 s before 80: longer than the bound plus the interval
    // (27 s) with nothing older left to run. 80 is late.
    let found = late([60, 70, 80], [10, 30_000], Handover::None);
    assert!(found.contains(&Some(at(80))), "{found:?}");
}

#[test]
fn pauses_between_owed_reruns_add_up_against_the_waiting_tick() {
    // b sat idle 20 s before 70 and 10 s before 80: each pause is within 27 s, but 80 waited
    // idle 30 s in all, so it is late; 70 waited idle 20 s and is not.
    let found = late([60, 70, 80], [20_000, 10_000], Handover::None);
    assert!(found.contains(&Some(at(80))), "{found:?}");
    assert!(!found.contains(&Some(at(70))), "{found:?}");
}

#[test]
fn a_newer_rerun_run_first_keeps_no_older_one_waiting() {
    // b reran 80 before 60 and 70, against the oldest-first order: 70, due while 50 ran, waited
    // from 81 s behind a run it did not have to wait for and began at 131 s, past 81 s + 27 s.
    let found = late([80, 60, 70], [10, 10], Handover::None);
    assert!(found.contains(&Some(at(70))), "{found:?}");
}

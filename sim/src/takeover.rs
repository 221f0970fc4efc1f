//! Takeovers: how long after a leading node was stopped, crashed or paused a new leadership won
//! its election, read straight from the history, for the `[expect] takeover_at_most` bound.
//!
//! For every `stop`, `crash` or `pause` fault whose node led an election when the fault started
//! (it had won it and had not been revoked, resigned or stepped down since), the takeover is the
//! first `campaign_won` in that election after the fault's start by another node or, after a
//! crash or a stop, by the node's next process (its `node_started` recorded after the fault
//! began: a node that came back may withdraw what its dead process left, and be the first to
//! win). A win by the node's same process — a paused node that comes back, a stopping one that
//! campaigned — is no takeover. A graceful
//! stop resigns, so the next node wins within about one backend round trip; a crash or a pause
//! resigns nothing, so the next node waits for the lease to expire. A pause no longer than the
//! bound owes no takeover (the node may come back in time and lead on); a longer one does. The stopped node's `resigned` record is kept
//! too, to show the handoff from resignation to the next win. This module measures and judges
//! that one bound; failover gaps, lateness and the other timings belong to the timeliness
//! measurement ([`crate::check`]).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use cronfence::{ElectionName, NodeEvent};

use crate::fault::FaultKind;
use crate::history::{FaultRecord, History, What};

/// A leader taken out by a fault, and who took over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    /// The election the node led.
    pub election: ElectionName,
    /// The node that led it.
    pub node: String,
    /// The fault's kind (`stop`, `crash` or `pause`).
    pub fault: &'static str,
    /// How long the fault lasted, when it says (a pause's length).
    pub lasted: Option<Duration>,
    /// The fault's `fault_started` record.
    pub fault_seq: u64,
    /// When the fault started (true time since the world began, ns).
    pub fault_ns: u64,
    /// When the node recorded resigning that election after the fault, if it did.
    pub resigned_ns: Option<u64>,
    /// The next winner (another node, or the node's next process after a crash or stop): its
    /// name, record and time.
    pub winner: Option<(String, u64, u64)>,
}

impl Takeover {
    /// From the fault's start to the next win (`None`: nobody took over).
    pub fn took(&self) -> Option<Duration> {
        let (_, _, won_ns) = self.winner.as_ref()?;
        Some(Duration::from_nanos(won_ns - self.fault_ns))
    }

    /// From the node's resignation to the next win (`None`: it did not resign, or nobody won;
    /// zero when the winner recorded its win before the resigning node heard back).
    pub fn handoff(&self) -> Option<Duration> {
        let (_, _, won_ns) = self.winner.as_ref()?;
        let resigned = self.resigned_ns?;
        Some(Duration::from_nanos(won_ns.saturating_sub(resigned)))
    }
}

/// Every takeover after a stop or crash of a leading node, in the order the faults started.
pub fn takeovers(history: &History) -> Vec<Takeover> {
    let mut leading: BTreeSet<(&str, &ElectionName)> = BTreeSet::new();
    let mut out = Vec::new();
    for (index, record) in history.records.iter().enumerate() {
        match &record.what {
            What::Node(NodeEvent::CampaignWon { election, .. }) => {
                // Whoever led it before has lost it, whether or not it could record so (a
                // paused or cut-off node cannot).
                leading.retain(|(_, led)| *led != election);
                leading.insert((record.node.as_str(), election));
            }
            What::Node(
                NodeEvent::LeadershipRevoked { election, .. }
                | NodeEvent::Resigned { election, .. }
                | NodeEvent::ClockBehind { election, .. },
            ) => {
                leading.remove(&(record.node.as_str(), election));
            }
            What::Fault(FaultRecord::FaultStarted { fault }) => {
                let name = match fault.kind {
                    FaultKind::Stop { .. } => "stop",
                    FaultKind::Crash => "crash",
                    FaultKind::Pause => "pause",
                    _ => continue,
                };
                let led: Vec<(&str, &ElectionName)> = leading
                    .iter()
                    .filter(|(node, _)| *node == fault.node)
                    .copied()
                    .collect();
                for key in led {
                    if name == "crash" {
                        leading.remove(&key);
                    }
                    let mut takeover = Takeover {
                        election: key.1.clone(),
                        node: fault.node.clone(),
                        fault: name,
                        lasted: match fault.kind {
                            FaultKind::Pause => frozen_for(history, index),
                            _ => fault.duration.map(|d| d.unsigned_abs()),
                        },
                        fault_seq: record.seq,
                        fault_ns: record.t_ns,
                        resigned_ns: None,
                        winner: None,
                    };
                    follow(history, index, &mut takeover);
                    out.push(takeover);
                }
            }
            _ => {}
        }
    }
    out
}

/// How long the node a pause (the fault started at record `from`) hit stays frozen: to the end
/// of the last pause of that node begun before the frozen span ends (overlapping pauses hold a
/// node until the last one ends); `None`: to the end of the run.
fn frozen_for(history: &History, from: usize) -> Option<Duration> {
    let record = &history.records[from];
    let What::Fault(FaultRecord::FaultStarted { fault }) = &record.what else {
        return None;
    };
    let mut end = record.t_ns + fault.duration?.unsigned_abs().as_nanos() as u64;
    for later in &history.records[from + 1..] {
        if later.t_ns >= end {
            break;
        }
        if let What::Fault(FaultRecord::FaultStarted { fault: next }) = &later.what {
            if next.kind == FaultKind::Pause && next.node == fault.node {
                end = end.max(later.t_ns + next.duration?.unsigned_abs().as_nanos() as u64);
            }
        }
    }
    Some(Duration::from_nanos(end - record.t_ns))
}

/// Fills in the node's resignation and the next winner, reading the history after `from`. The
/// resignation is recorded when the backend's answer arrives, which may be after the next winner
/// heard that it won.
fn follow(history: &History, from: usize, takeover: &mut Takeover) {
    // Whether the node's next process has started since the fault began (its `node_started`).
    let mut restarted = false;
    for record in &history.records[from + 1..] {
        let What::Node(event) = &record.what else {
            continue;
        };
        let mine = record.node == takeover.node;
        match event {
            NodeEvent::NodeStarted { .. } if mine => restarted = true,
            NodeEvent::Resigned { election, .. } if *election == takeover.election && mine => {
                takeover.resigned_ns.get_or_insert(record.t_ns);
            }
            NodeEvent::CampaignWon { election, .. } if *election == takeover.election => {
                // The node won again before a process of its started anew (a paused node, or a
                // stopping one that campaigned): the same process leads on, nobody took over.
                if mine && (takeover.fault == "pause" || !restarted) {
                    return;
                }
                if takeover.winner.is_none() {
                    takeover.winner = Some((record.node.clone(), record.seq, record.t_ns));
                }
            }
            _ => {}
        }
        if takeover.winner.is_some() && takeover.resigned_ns.is_some() {
            return;
        }
    }
}

/// `Ok` when at least one leader was stopped, crashed or paused and every such election had a
/// new leader within `bound` of the fault's start (a pause within the bound owes none);
/// otherwise which takeover was not.
pub fn judge(history: &History, bound: Duration) -> Result<(), String> {
    let all = takeovers(history);
    if all.is_empty() {
        return Err(
            "takeover_at_most: no leading node was stopped, crashed or paused, so there is no \
             takeover to measure"
                .into(),
        );
    }
    let mut late = String::new();
    // A pause within the bound owes no takeover: its node may lead on when it comes back.
    let owed = |t: &&Takeover| t.fault != "pause" || t.lasted.is_none_or(|d| d > bound);
    for t in all.iter().filter(owed) {
        let at = Duration::from_nanos(t.fault_ns);
        match (t.took(), &t.winner) {
            (Some(took), Some((winner, seq, _))) if took > bound => {
                let _ = writeln!(
                    late,
                    "  - {} of {} at {at:?} (record {}): {winner} won {} after {took:?} (record {seq})",
                    t.fault, t.node, t.fault_seq, t.election
                );
            }
            (None, _) => {
                let _ = writeln!(
                    late,
                    "  - {} of {} at {at:?} (record {}): nobody took over {} before the run ended",
                    t.fault, t.node, t.fault_seq, t.election
                );
            }
            _ => {}
        }
    }
    if late.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected every takeover within {bound:?} of the leader's stop, crash or pause; \
             late:\n{late}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use cronfence::FencingToken;
    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::fault::Fault;
    use crate::history::Record;

    fn election() -> ElectionName {
        ElectionName::new("default")
    }

    fn history(events: Vec<(u64, &str, What)>) -> History {
        let start: Timestamp = "2027-01-01T00:00:00Z".parse().expect("valid");
        let records = events
            .into_iter()
            .enumerate()
            .map(|(seq, (ms, node, what))| Record {
                seq: seq as u64,
                t_ns: ms * 1_000_000,
                true_time: start + SignedDuration::from_millis(ms as i64),
                node: node.into(),
                clock: None,
                what,
            })
            .collect();
        History { records }
    }

    fn won(token: u64) -> What {
        What::Node(NodeEvent::CampaignWon {
            election: election(),
            token: FencingToken(token),
        })
    }

    fn started(ms: i64) -> What {
        let start: Timestamp = "2027-01-01T00:00:00Z".parse().expect("valid");
        What::Node(NodeEvent::NodeStarted {
            since: start + SignedDuration::from_millis(ms),
        })
    }

    fn resigned(token: u64) -> What {
        What::Node(NodeEvent::Resigned {
            election: election(),
            token: FencingToken(token),
        })
    }

    fn fault(kind: FaultKind, node: &str, ms: u64) -> What {
        What::Fault(FaultRecord::FaultStarted {
            fault: Fault {
                kind,
                node: node.into(),
                at: SignedDuration::from_millis(ms as i64),
                duration: None,
            },
        })
    }

    const STOP: FaultKind = FaultKind::Stop { upgrade_to: None };

    #[test]
    fn a_stopped_leader_taken_over_at_once_meets_the_bound() {
        // Stop at 30 s, resign 10 ms later, next win 15 ms after that: 25 ms, well within 1 s.
        let h = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(STOP, "node-0", 30_000)),
            (30_010, "node-0", resigned(1)),
            (30_025, "node-1", won(2)),
        ]);
        let all = takeovers(&h);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].took(), Some(Duration::from_millis(25)));
        assert_eq!(all[0].handoff(), Some(Duration::from_millis(15)));
        assert_eq!(judge(&h, Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn a_crashed_leader_waited_out_for_its_lease_misses_the_bound() {
        // The next win comes 10 s after the crash (the lease), which a 1 s bound must refuse.
        let h = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(FaultKind::Crash, "node-0", 30_000)),
            (40_000, "node-1", won(2)),
        ]);
        let why = judge(&h, Duration::from_secs(1)).expect_err("10 s is over 1 s");
        assert!(why.contains("node-1 won default after 10s"), "{why}");
    }

    #[test]
    fn a_stopped_follower_is_no_takeover_and_no_takeover_at_all_is_refused() {
        // Only a leader's fault has a takeover; a bound with nothing to measure must not pass.
        let h = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(STOP, "node-1", 30_000)),
        ]);
        assert!(takeovers(&h).is_empty());
        assert!(judge(&h, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_leader_nobody_replaces_misses_the_bound() {
        // A stop with no later win is a takeover that never happened; the node's own next
        // process winning 10 s later is a takeover, and a late one.
        let never = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(STOP, "node-0", 30_000)),
            (30_010, "node-0", resigned(1)),
        ]);
        let why = judge(&never, Duration::from_secs(1)).expect_err("nobody won");
        assert!(why.contains("nobody took over"), "{why}");
        let late = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(STOP, "node-0", 30_000)),
            (30_010, "node-0", resigned(1)),
            (39_000, "node-0", started(39_000)),
            (40_000, "node-0", won(2)),
        ]);
        let why = judge(&late, Duration::from_secs(1)).expect_err("10 s is over 1 s");
        assert!(why.contains("node-0 won default after 10s"), "{why}");
    }

    #[test]
    fn a_crashed_leader_back_at_once_takes_over_from_itself_but_a_paused_one_does_not() {
        // The crashed node's next process withdrew what its dead one left and won 300 ms after
        // the crash: a new leadership, within the bound. A paused node winning again is the same
        // process leading on: no takeover, so a pause longer than the bound is still owed one.
        let crashed = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(FaultKind::Crash, "node-0", 30_000)),
            (30_200, "node-0", started(30_200)),
            (30_300, "node-0", won(2)),
            (30_400, "node-1", won(3)),
        ]);
        let all = takeovers(&crashed);
        assert_eq!(all[0].took(), Some(Duration::from_millis(300)));
        assert_eq!(all[0].winner.as_ref().map(|w| w.0.as_str()), Some("node-0"));
        assert_eq!(judge(&crashed, Duration::from_secs(1)), Ok(()));
        // A stopping node that campaigned again, no new process started: not a takeover (the
        // real one, node-1's, comes after the shutdown grace).
        let stopping = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", fault(STOP, "node-0", 30_000)),
            (30_300, "node-0", won(2)),
            (40_000, "node-1", won(3)),
        ]);
        assert_eq!(takeovers(&stopping)[0].winner, None);
        assert!(judge(&stopping, Duration::from_secs(1)).is_err());
        let paused = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 5_000)),
            (35_100, "node-0", won(1)),
        ]);
        assert_eq!(takeovers(&paused)[0].winner, None);
        assert!(judge(&paused, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn overlapping_pauses_freeze_a_node_as_one_and_a_leader_replaced_unheard_leads_no_more() {
        let bound = Duration::from_secs(11);
        // Two 8 s pauses overlapping into 13 s: a takeover is owed, and none came.
        let overlapping = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 8_000)),
            (35_000, "world", pause("node-0", 35_000, 8_000)),
        ]);
        assert!(judge(&overlapping, bound).is_err());
        // node-1 took over while node-0 was paused (node-0 could not record losing it): a
        // second pause of node-0 is no leader's pause.
        let replaced = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 25_000)),
            (40_000, "node-1", won(2)),
            (50_000, "world", pause("node-0", 50_000, 25_000)),
        ]);
        assert_eq!(takeovers(&replaced).len(), 1);
        assert_eq!(judge(&replaced, bound), Ok(()));
    }

    fn pause(node: &str, ms: u64, lasting_ms: i64) -> What {
        What::Fault(FaultRecord::FaultStarted {
            fault: Fault {
                kind: FaultKind::Pause,
                node: node.into(),
                at: SignedDuration::from_millis(ms as i64),
                duration: Some(SignedDuration::from_millis(lasting_ms)),
            },
        })
    }

    #[test]
    fn a_pause_longer_than_the_bound_owes_a_takeover_within_it_and_a_shorter_one_none() {
        // Paused 25 s with an 11 s bound: the next win 10.5 s after the pause meets it, 12 s
        // misses it; nobody else winning misses it too.
        let bound = Duration::from_secs(11);
        let on_time = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 25_000)),
            (40_500, "node-1", won(2)),
        ]);
        assert_eq!(judge(&on_time, bound), Ok(()));
        let late = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 25_000)),
            (42_000, "node-1", won(2)),
        ]);
        let why = judge(&late, bound).expect_err("12 s is over 11 s");
        assert!(why.contains("pause of node-0"), "{why}");
        let nobody = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 25_000)),
        ]);
        assert!(judge(&nobody, bound).is_err());
        // A 5 s pause: the leader leads on when it comes back, and owes no takeover.
        let short = history(vec![
            (1_000, "node-0", won(1)),
            (30_000, "world", pause("node-0", 30_000, 5_000)),
            (60_000, "world", fault(FaultKind::Crash, "node-0", 60_000)),
            (67_000, "node-1", won(2)),
        ]);
        assert_eq!(judge(&short, bound), Ok(()));
    }
}

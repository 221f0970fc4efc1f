//! The fencing checker: no tick is claimed or committed with a token older than the newest one
//! granted in its election before that operation.
//!
//! Leadership overlap in true time is tolerated; stale *effects* are not. The primary source is
//! the backend's own records (`LeadershipGranted`, `ClaimApplied`, `CommitApplied`) in the order
//! it applied them: every applied batch whose token is older than the newest granted so far in
//! its election is one violation. Histories of backends that cannot be observed inside have no
//! backend records at all; then the checker falls back to what nodes recorded: a `TickClaimed`
//! (or, at least once, a `TickCompleted` or `TickFailed`, which follow a successful commit) with a
//! token older than one a different node had won in the same election strictly before the
//! operation was *sent* (its `ClaimsSent`/`CommitsSent` record; the backend may apply it any time
//! after), in true time; an operation's election is that of its node's latest win with the token. This
//! module judges tokens only; what ran is the duplicate and gap checkers' business.

use std::collections::BTreeMap;

use cronfence::store::{Claim, Commit};
use cronfence::{Delivery, ElectionName, JobId, NodeEvent};
use jiff::Timestamp;

use super::{CheckInput, Checker, Finding, Verdict};
use crate::history::{BackendRecord, Record, What};

/// How long after a newer win a node-recorded operation must come to count as stale, in
/// nanoseconds of true time (fallback only). Zero: any operation strictly after the win.
const FALLBACK_TOLERANCE_NS: i128 = 0;

/// Entries of a batch named in a finding's detail before the rest are counted.
const LISTED_PER_BATCH: usize = 10;

/// One token granted (or won) in an election.
#[derive(Clone, Copy)]
struct Grant<'h> {
    token: u64,
    holder: &'h str,
    seq: u64,
    true_time: Timestamp,
}

/// Runs the checker, adding violations to `verdict`.
pub(super) fn check(input: CheckInput<'_>, verdict: &mut Verdict) {
    let records = &input.history.records;
    if records.iter().any(|r| matches!(r.what, What::Backend(_))) {
        check_backend(records, verdict);
    } else {
        check_node_records(input, verdict);
    }
}

/// The primary check, from the backend's applied state changes.
fn check_backend(records: &[Record], verdict: &mut Verdict) {
    let mut newest: BTreeMap<&ElectionName, Grant<'_>> = BTreeMap::new();
    let mut holders: BTreeMap<(&ElectionName, u64), &str> = BTreeMap::new();
    for record in records {
        let What::Backend(change) = &record.what else {
            continue;
        };
        let (election, token, batch) = match change {
            BackendRecord::LeadershipGranted {
                election,
                token,
                holder,
            } => {
                holders.insert((election, token.0), holder);
                let grant = Grant {
                    token: token.0,
                    holder,
                    seq: record.seq,
                    true_time: record.true_time,
                };
                let current = newest.entry(election).or_insert(grant);
                if grant.token > current.token {
                    *current = grant;
                }
                continue;
            }
            BackendRecord::ClaimApplied {
                election,
                token,
                claims,
            } => (election, token.0, Batch::Claims(claims)),
            BackendRecord::CommitApplied {
                election,
                token,
                commits,
            } => (election, token.0, Batch::Commits(commits)),
        };
        let Some(newer) = newest.get(election).filter(|g| g.token > token) else {
            continue;
        };
        if batch.is_empty() {
            continue;
        }
        let writer = holders.get(&(election, token)).copied();
        verdict
            .violations
            .push(stale(election, token, writer, newer, &batch, record));
    }
}

/// The fallback check, from what nodes recorded, for backends without records of their own.
fn check_node_records(input: CheckInput<'_>, verdict: &mut Verdict) {
    let mut wins: BTreeMap<&ElectionName, Vec<Grant<'_>>> = BTreeMap::new();
    // A node's most recent win with a token says which election its operations with it are in.
    let mut elections: BTreeMap<(&str, u64), &ElectionName> = BTreeMap::new();
    // When each operation was last sent: the backend may have applied it any time after that,
    // so only a newer win recorded before the *send* makes a recorded success stale.
    let mut sent: BTreeMap<(&str, u64, &JobId, Timestamp, &str), Timestamp> = BTreeMap::new();
    for (record, event) in input.history.node_events() {
        let node = record.node.as_str();
        let (job, tick, token, batch) = match event {
            NodeEvent::ClaimsSent { token, claims, .. } => {
                for c in claims {
                    sent.insert((node, token.0, &c.job, c.tick, "claim"), record.true_time);
                }
                continue;
            }
            NodeEvent::CommitsSent { token, commits } => {
                for c in commits {
                    sent.insert((node, token.0, &c.job, c.tick, "commit"), record.true_time);
                }
                continue;
            }
            NodeEvent::CampaignWon { election, token } => {
                elections.insert((node, token.0), election);
                wins.entry(election).or_default().push(Grant {
                    token: token.0,
                    holder: node,
                    seq: record.seq,
                    true_time: record.true_time,
                });
                continue;
            }
            NodeEvent::TickClaimed {
                job, tick, token, ..
            } => (job, tick, token.0, "claim"),
            NodeEvent::TickCompleted {
                job, tick, token, ..
            }
            | NodeEvent::TickFailed {
                job, tick, token, ..
            } if at_least_once(input, job) => (job, tick, token.0, "commit"),
            _ => continue,
        };
        let Some(election) = elections.get(&(node, token)).copied() else {
            continue;
        };
        let at = sent
            .get(&(node, token, job, *tick, batch))
            .copied()
            .unwrap_or(record.true_time);
        let cutoff = at.as_nanosecond() - FALLBACK_TOLERANCE_NS;
        let newer = wins.get(election).and_then(|list| {
            list.iter()
                .filter(|w| w.token > token && w.holder != node)
                .filter(|w| w.true_time.as_nanosecond() < cutoff)
                .max_by_key(|w| w.token)
        });
        if let Some(newer) = newer {
            let what = Operation {
                job,
                tick: *tick,
                operation: batch,
            };
            verdict
                .violations
                .push(stale_node_record(election, token, newer, &what, record));
        }
    }
}

fn at_least_once(input: CheckInput<'_>, job: &JobId) -> bool {
    input
        .jobs
        .get(job)
        .is_some_and(|spec| spec.delivery == Delivery::AtLeastOnce)
}

/// What an applied batch held.
enum Batch<'h> {
    Claims(&'h [Claim]),
    Commits(&'h [Commit]),
}

impl Batch<'_> {
    fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Batch::Claims(_) => ("stale_claim", "claims"),
            Batch::Commits(_) => ("stale_commit", "commits"),
        }
    }

    /// The (job, tick) of every entry, in batch order.
    fn entries(&self) -> Vec<(&JobId, Timestamp)> {
        match self {
            Batch::Claims(claims) => claims.iter().map(|c| (&c.job, c.tick)).collect(),
            Batch::Commits(commits) => commits.iter().map(|c| (&c.job, c.tick)).collect(),
        }
    }
}

/// The violation for one stale batch the backend applied.
fn stale(
    election: &ElectionName,
    token: u64,
    writer: Option<&str>,
    newer: &Grant<'_>,
    batch: &Batch<'_>,
    record: &Record,
) -> Finding {
    let entries = batch.entries();
    let (kind, noun) = batch.kind();
    let mut listed: Vec<String> = entries
        .iter()
        .take(LISTED_PER_BATCH)
        .map(|(job, tick)| format!("{job}@{tick}"))
        .collect();
    if entries.len() > LISTED_PER_BATCH {
        listed.push(format!("{} more", entries.len() - LISTED_PER_BATCH));
    }
    let one_job = entries
        .first()
        .map(|(job, _)| *job)
        .filter(|first| entries.iter().all(|(job, _)| job == first));
    let by = writer.map_or(String::new(), |w| format!(" from {w}"));
    let detail = format!(
        "the backend applied {} {noun}{by} with token #{token} in election {election} after \
         granting #{} to {} (record {}): {}",
        entries.len(),
        newer.token,
        newer.holder,
        newer.seq,
        listed.join(", ")
    );
    let mut nodes: Vec<String> = writer.into_iter().map(str::to_string).collect();
    if !nodes.iter().any(|n| n == newer.holder) {
        nodes.push(newer.holder.to_string());
    }
    Finding {
        checker: Checker::Fencing,
        kind: kind.into(),
        job: one_job.cloned(),
        tick: match entries.as_slice() {
            [(_, tick)] => Some(*tick),
            _ => None,
        },
        nodes,
        tokens: vec![token, newer.token],
        records: vec![newer.seq, record.seq],
        detail,
    }
}

/// One operation a node recorded on one tick.
struct Operation<'a> {
    job: &'a JobId,
    tick: Timestamp,
    operation: &'static str,
}

/// The violation for one stale operation a node recorded (fallback).
fn stale_node_record(
    election: &ElectionName,
    token: u64,
    newer: &Grant<'_>,
    what: &Operation<'_>,
    record: &Record,
) -> Finding {
    let Operation {
        job,
        tick,
        operation,
    } = what;
    let detail = format!(
        "{} recorded a {operation} of {job}@{tick} with token #{token} in election {election} \
         at {}, after {} won #{} at {} (record {})",
        record.node, record.true_time, newer.holder, newer.token, newer.true_time, newer.seq
    );
    Finding {
        checker: Checker::Fencing,
        kind: format!("stale_{operation}"),
        job: Some((*job).clone()),
        tick: Some(*tick),
        nodes: vec![record.node.clone(), newer.holder.to_string()],
        tokens: vec![token, newer.token],
        records: vec![newer.seq, record.seq],
        detail,
    }
}

#[cfg(test)]
mod tests {
    use cronfence::store::{ClaimKind, RunOutcome};
    use cronfence::FencingToken;

    use super::*;
    use crate::check::testkit::*;
    use crate::history::History;

    fn granted(token: u64, holder: &str) -> BackendRecord {
        BackendRecord::LeadershipGranted {
            election: election(),
            token: FencingToken(token),
            holder: holder.into(),
        }
    }

    fn claim_applied(token: u64, ticks: &[i64]) -> BackendRecord {
        let claims = ticks
            .iter()
            .map(|&t| Claim {
                job: job("j"),
                tick: at(t),
                spec_version: 1,
                kind: ClaimKind::Run { attempt: 1 },
            })
            .collect();
        BackendRecord::ClaimApplied {
            election: election(),
            token: FencingToken(token),
            claims,
        }
    }

    fn commit_applied(token: u64, tick: i64) -> BackendRecord {
        BackendRecord::CommitApplied {
            election: election(),
            token: FencingToken(token),
            commits: vec![Commit {
                job: job("j"),
                tick: at(tick),
                outcome: RunOutcome::Completed,
            }],
        }
    }

    fn verdict_of(history: &History, delivery: Delivery) -> Verdict {
        let jobs = jobs("j", every_10s(delivery));
        let mut verdict = Verdict::default();
        check(input(history, &jobs, 0, 60), &mut verdict);
        verdict
    }

    #[test]
    fn backend_applying_a_claim_from_a_superseded_token_is_flagged() {
        // #1 was superseded by #2 before the backend applied #1's batch: one finding per batch.
        let history = Builder::new()
            .backend(0, granted(1, "a"))
            .backend(5_000, granted(2, "b"))
            .backend(10_000, claim_applied(1, &[10, 20]))
            .backend(11_000, commit_applied(1, 10))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(verdict.violations.len(), 2, "{verdict:#?}");
        let claim = &verdict.violations[0];
        assert_eq!(claim.kind, "stale_claim");
        assert_eq!(claim.tokens, [1, 2]);
        assert_eq!(claim.nodes, ["a", "b"]);
        assert_eq!(claim.records, [1, 2]);
        assert_eq!((claim.job.clone(), claim.tick), (Some(job("j")), None));
        assert!(
            claim.detail.contains("2 claims from a with token #1"),
            "{}",
            claim.detail
        );
        assert_eq!(verdict.violations[1].kind, "stale_commit");
        assert_eq!(verdict.violations[1].tick, Some(at(10)));
    }

    #[test]
    fn backend_claims_by_the_newest_token_pass() {
        // Each batch carries the newest token of its election when applied; overlap is harmless.
        let other = BackendRecord::LeadershipGranted {
            election: ElectionName::new("other"),
            token: FencingToken(9),
            holder: "c".into(),
        };
        let history = Builder::new()
            .backend(0, granted(1, "a"))
            .backend(1_000, claim_applied(1, &[0]))
            .backend(2_000, other)
            .backend(5_000, granted(2, "b"))
            .backend(10_000, claim_applied(2, &[10]))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
    }

    #[test]
    fn node_recorded_claim_after_a_newer_win_is_flagged_without_backend_records() {
        // No backend records: a's claim with #1 came after b won #2 in the same election.
        let history = Builder::new()
            .node(0, "a", won(1))
            .node(10_000, "b", won(2))
            .node(11_000, "a", claimed("j", 10, 1))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        let finding = &verdict.violations[0];
        assert_eq!(finding.kind, "stale_claim");
        assert_eq!(finding.nodes, ["a", "b"]);
        assert_eq!(finding.tokens, [1, 2]);
        assert_eq!(finding.records, [1, 2]);
    }

    #[test]
    fn a_claim_sent_before_a_newer_win_but_answered_after_it_is_not_stale() {
        // a sent its claim at 9 s, was paused, and recorded the success at 11 s, after b won at
        // 10 s: the backend applied it when it arrived, before b's grant, so nothing was stale.
        let sent = NodeEvent::ClaimsSent {
            token: FencingToken(1),
            claims: vec![Claim {
                job: job("j"),
                tick: at(10),
                spec_version: 1,
                kind: cronfence::ClaimKind::Run { attempt: 1 },
            }],
            evidence: None,
        };
        let history = Builder::new()
            .node(0, "a", won(1))
            .node(9_000, "a", sent)
            .node(10_000, "b", won(2))
            .node(11_000, "a", claimed("j", 10, 1))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
    }

    #[test]
    fn node_recorded_overlap_without_stale_effects_passes() {
        // Claims before the newer win, or at the same instant, and a node's own re-win are fine.
        let history = Builder::new()
            .node(0, "a", won(1))
            .node(9_000, "a", claimed("j", 0, 1))
            .node(10_000, "b", won(2))
            .node(10_000, "a", claimed("j", 10, 1))
            .node(12_000, "b", claimed("j", 20, 2))
            .node(13_000, "b", won(3))
            .node(14_000, "b", claimed("j", 30, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
    }

    #[test]
    fn node_recorded_commits_count_only_at_least_once() {
        // A completion follows a commit only at least once; at most once nothing is committed.
        let history = Builder::new()
            .node(0, "a", won(1))
            .node(10_000, "b", won(2))
            .node(11_000, "a", completed("j", 0, 1, 1))
            .build();
        let at_least = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(at_least.violations.len(), 1, "{at_least:#?}");
        assert_eq!(at_least.violations[0].kind, "stale_commit");
        let at_most = verdict_of(&history, Delivery::AtMostOnce);
        assert!(at_most.violations.is_empty(), "{at_most:#?}");
    }
}

//! The no-gap checker: every expected tick started, or the history explains why it did not.
//!
//! It computes the expected set itself — every tick of every defined job whose scheduled instant
//! lies in the checked window — and never just counts. Each expected tick that did not start must
//! be covered by a `TicksAbandoned` whose reason the job's policies allow, by a `TickSkipped`
//! under overlap `Forbid`, or (at most once) by a claim — recorded by the node, or applied by the
//! backend or sent by the node even if its answer was lost — whose node crashed, was paused or
//! lost that leadership
//! before running it, or by a drop the backend applied for a leadership lost before its node could
//! record the reason. Anything else is a violation. Findings are listed one per
//! tick up to [`LISTED_PER_KIND`] per job and kind, then summarised, so a window of millions of
//! ticks stays readable. This module judges ticks that did not start; duplicates are the
//! duplicate checker's.

use std::collections::{BTreeMap, BTreeSet};

use cronfence::plan::AbandonReason;
use cronfence::{CatchUp, Claim, ClaimKind, Delivery, JobId, JobSpec, NodeEvent, OverlapPolicy};
use jiff::{SignedDuration, Timestamp};

use super::{CheckInput, Checker, Finding, Verdict};
use crate::fault::FaultKind;
use crate::history::{BackendRecord, FaultRecord, History, Record, What};

/// Findings of one kind listed individually per job before the rest are summarised.
const LISTED_PER_KIND: u64 = 1_000;

/// Expected ticks per job beyond which the window is reported as unchecked, not walked.
const MAX_EXPECTED_PER_JOB: usize = 50_000_000;

/// A tick's identity: the job and its scheduled instant.
type TickKey = (JobId, Timestamp);

/// One `TicksAbandoned` record.
struct Abandon<'h> {
    first: Timestamp,
    last: Timestamp,
    reason: AbandonReason,
    token: u64,
    record: &'h Record,
}

/// A record after which a node's claims of ticks it had not started were lost.
struct Loss {
    index: usize,
    seq: u64,
    /// The leadership it ended (`None`: a crash or pause ends them all).
    token: Option<u64>,
    what: String,
}

/// What the history says happened to ticks, gathered in one pass.
#[derive(Default)]
struct Outcomes<'h> {
    started: BTreeSet<TickKey>,
    /// Per job, sorted by first tick.
    abandons: BTreeMap<JobId, Vec<Abandon<'h>>>,
    skipped: BTreeMap<TickKey, &'h Record>,
    /// Per tick, the claims: (position in history, record, token, claiming node). Claims the
    /// backend applied count too (their answer may never have reached the node).
    claims: BTreeMap<TickKey, Vec<(usize, &'h Record, u64, &'h str)>>,
    /// Per job, the drops the backend applied: a drop at tick X moves the checkpoint past every
    /// tick after the job's previous applied claim, so it covers `(previous, X]`.
    drops: BTreeMap<JobId, Vec<DropRange<'h>>>,
    /// Per job, the newest tick of any claim the backend applied.
    newest_applied: BTreeMap<JobId, Timestamp>,
    /// Per (election, token), the node the backend granted it to, and where.
    holders: BTreeMap<(&'h str, u64), (&'h str, usize)>,
    /// Per node, in history order.
    losses: BTreeMap<&'h str, Vec<Loss>>,
}

/// The ticks one applied drop moved the checkpoint past, and who dropped them.
struct DropRange<'h> {
    after: Option<Timestamp>,
    upto: Timestamp,
    claim: (usize, &'h Record, u64, &'h str),
}

/// Where a finding goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Excused,
    Violation,
}

/// Findings beyond the listed ones, per kind: how many, first and last tick.
struct Overflow {
    bucket: Bucket,
    count: u64,
    first: Timestamp,
    last: Timestamp,
}

/// Runs the checker, adding excused ticks and violations to `verdict`.
pub(super) fn check(input: CheckInput<'_>, verdict: &mut Verdict) {
    let outcomes = Outcomes::collect(input.history);
    let (from, to) = input.window;
    // `due_ticks` excludes its lower bound; at the very start of time, `from` itself is not due.
    let after = from
        .checked_sub(SignedDuration::from_nanos(1))
        .unwrap_or(from);
    for (job, spec) in input.jobs {
        let due = spec.schedule.due_ticks(after, to);
        if due.len() > MAX_EXPECTED_PER_JOB {
            verdict.violations.push(unchecked(job, due.len(), from, to));
            continue;
        }
        check_job(job, spec, &outcomes, due, verdict);
    }
}

/// Judges every expected tick of one job, oldest first.
fn check_job(
    job: &JobId,
    spec: &JobSpec,
    outcomes: &Outcomes<'_>,
    due: impl Iterator<Item = Timestamp>,
    verdict: &mut Verdict,
) {
    let abandons = outcomes.abandons.get(job).map_or(&[][..], Vec::as_slice);
    let mut next_abandon = 0;
    let mut covering: Vec<&Abandon<'_>> = Vec::new();
    let mut listed: BTreeMap<String, u64> = BTreeMap::new();
    let mut overflow: BTreeMap<String, Overflow> = BTreeMap::new();
    for tick in due {
        // Sweep: abandons are sorted by first tick, and ticks come oldest first.
        while let Some(a) = abandons.get(next_abandon).filter(|a| a.first <= tick) {
            covering.push(a);
            next_abandon += 1;
        }
        covering.retain(|a| a.last >= tick);
        let Some((bucket, finding)) = judge(job, spec, tick, outcomes, &covering) else {
            continue;
        };
        let count = listed.entry(finding.kind.clone()).or_default();
        *count += 1;
        if *count <= LISTED_PER_KIND {
            match bucket {
                Bucket::Excused => verdict.excused.push(finding),
                Bucket::Violation => verdict.violations.push(finding),
            }
            continue;
        }
        let more = overflow.entry(finding.kind).or_insert(Overflow {
            bucket,
            count: 0,
            first: tick,
            last: tick,
        });
        more.count += 1;
        more.last = tick;
    }
    for (kind, more) in overflow {
        let finding = summary(job, &kind, &more);
        match more.bucket {
            Bucket::Excused => verdict.excused.push(finding),
            Bucket::Violation => verdict.violations.push(finding),
        }
    }
}

/// The finding for one expected tick, or `None` if it started.
fn judge(
    job: &JobId,
    spec: &JobSpec,
    tick: Timestamp,
    outcomes: &Outcomes<'_>,
    covering: &[&Abandon<'_>],
) -> Option<(Bucket, Finding)> {
    let key = (job.clone(), tick);
    if outcomes.started.contains(&key) {
        return None;
    }
    if let Some(first) = covering.first() {
        let allowed = covering
            .iter()
            .find(|a| reason_allowed(a.reason, spec, tick));
        return Some(match allowed {
            Some(a) => abandoned(job, tick, a, spec, Bucket::Excused),
            None => abandoned(job, tick, first, spec, Bucket::Violation),
        });
    }
    if let Some(record) = outcomes.skipped.get(&key) {
        return Some(skipped(job, tick, record, spec));
    }
    let claims = outcomes.claims.get(&key).map_or(&[][..], Vec::as_slice);
    if spec.delivery == Delivery::AtMostOnce {
        if let Some(found) = lost_with_leader(job, tick, claims, outcomes, "lost_with_leader") {
            return Some((Bucket::Excused, found));
        }
    }
    // A drop (skip or abandon) the backend applied for a leadership that was lost before its
    // node could record why: the checkpoint moved past the tick under either delivery.
    let drops: Vec<_> = outcomes
        .drops
        .get(job)
        .into_iter()
        .flatten()
        .filter(|d| d.after.is_none_or(|a| a < tick) && tick <= d.upto)
        .map(|d| d.claim)
        .collect();
    if let Some(found) = lost_with_leader(job, tick, &drops, outcomes, "dropped_with_leader") {
        return Some((Bucket::Excused, found));
    }
    let mut finding = finding(
        job,
        tick,
        "missing_tick",
        "tick never ran and nothing explains why",
    );
    for (_, record, token, node) in claims {
        finding.nodes.push(node.to_string());
        finding.tokens.push(*token);
        finding.records.push(record.seq);
        let claim = format!("; it was claimed by {node} (record {})", record.seq);
        finding.detail.push_str(&claim);
    }
    Some((Bucket::Violation, finding))
}

impl<'h> Outcomes<'h> {
    fn collect(history: &'h History) -> Self {
        let mut out = Outcomes::default();
        for (index, record) in history.records.iter().enumerate() {
            match &record.what {
                What::Node(event) => out.on_node_event(index, record, event),
                What::Fault(FaultRecord::FaultStarted { fault }) => {
                    let what = match fault.kind {
                        FaultKind::Crash => "crashed",
                        FaultKind::Pause => "was paused",
                        _ => continue,
                    };
                    out.losses
                        .entry(fault.node.as_str())
                        .or_default()
                        .push(Loss {
                            index,
                            seq: record.seq,
                            token: None,
                            what: what.into(),
                        });
                }
                What::Backend(backend) => out.on_backend(index, record, backend),
                _ => {}
            }
        }
        for list in out.abandons.values_mut() {
            list.sort_by_key(|a| (a.first, a.record.seq));
        }
        out
    }

    /// A claim the backend applied is the checkpoint even if its answer was lost on the way.
    fn on_backend(&mut self, index: usize, record: &'h Record, event: &'h BackendRecord) {
        match event {
            BackendRecord::LeadershipGranted {
                election,
                token,
                holder,
            } => {
                self.holders
                    .insert((election.as_str(), token.0), (holder.as_str(), index));
            }
            BackendRecord::ClaimApplied {
                election,
                token,
                claims,
            } => {
                let Some(&(holder, granted)) = self.holders.get(&(election.as_str(), token.0))
                else {
                    return;
                };
                // The claim may have been in flight when its node died, so any loss of that
                // leadership after it was granted explains a tick it claimed and never started.
                self.add_claims(claims, (granted, record, token.0, holder));
            }
            BackendRecord::CommitApplied { .. } => {}
        }
    }

    /// Claims that may have been applied: runs go to `claims`, drops become drop ranges.
    fn add_claims(&mut self, claims: &'h [Claim], entry: (usize, &'h Record, u64, &'h str)) {
        for claim in claims {
            let previous = self.newest_applied.get(&claim.job).copied();
            if claim.kind == ClaimKind::Drop {
                let range = DropRange {
                    after: previous,
                    upto: claim.tick,
                    claim: entry,
                };
                self.drops.entry(claim.job.clone()).or_default().push(range);
            } else {
                let key = (claim.job.clone(), claim.tick);
                self.claims.entry(key).or_default().push(entry);
            }
            let newest = previous.map_or(claim.tick, |p| p.max(claim.tick));
            self.newest_applied.insert(claim.job.clone(), newest);
        }
    }

    fn on_node_event(&mut self, index: usize, record: &'h Record, event: &'h NodeEvent) {
        match event {
            NodeEvent::TickStarted { job, tick, .. } => {
                self.started.insert((job.clone(), *tick));
            }
            NodeEvent::TicksAbandoned {
                job,
                first,
                last,
                reason,
                token,
                ..
            } => {
                self.abandons.entry(job.clone()).or_default().push(Abandon {
                    first: *first,
                    last: *last,
                    reason: *reason,
                    token: token.0,
                    record,
                });
            }
            NodeEvent::TickSkipped { job, tick, .. } => {
                self.skipped.entry((job.clone(), *tick)).or_insert(record);
            }
            NodeEvent::ClaimsSent { token, claims } => {
                self.add_claims(claims, (index, record, token.0, record.node.as_str()));
            }
            NodeEvent::TickClaimed {
                job, tick, token, ..
            } => {
                let claims = self.claims.entry((job.clone(), *tick)).or_default();
                claims.push((index, record, token.0, record.node.as_str()));
            }
            NodeEvent::LeadershipRevoked { token, .. } => {
                self.losses
                    .entry(record.node.as_str())
                    .or_default()
                    .push(Loss {
                        index,
                        seq: record.seq,
                        token: Some(token.0),
                        what: format!("lost leadership {token}"),
                    });
            }
            _ => {}
        }
    }
}

/// True when the job's policies can give up `tick` for `reason` (a DST-gap skip only for a tick
/// the schedule itself marks as one).
fn reason_allowed(reason: AbandonReason, spec: &JobSpec, tick: Timestamp) -> bool {
    match reason {
        AbandonReason::CatchUpLimit => matches!(spec.misfire.catch_up, CatchUp::All { .. }),
        AbandonReason::Superseded => spec.misfire.catch_up == CatchUp::Latest,
        AbandonReason::MisfireSkipped => spec.misfire.catch_up == CatchUp::Skip,
        AbandonReason::DeadlineExceeded => spec.misfire.starting_deadline.is_some(),
        AbandonReason::Replaced => spec.overlap == OverlapPolicy::Replace,
        AbandonReason::LeadershipLost | AbandonReason::Shutdown => true,
        AbandonReason::DstGap => spec.schedule.skipped_by_dst(tick),
    }
}

/// The reason as the history spells it.
fn reason_name(reason: AbandonReason) -> &'static str {
    match reason {
        AbandonReason::CatchUpLimit => "catch_up_limit",
        AbandonReason::Superseded => "superseded",
        AbandonReason::MisfireSkipped => "misfire_skipped",
        AbandonReason::DeadlineExceeded => "deadline_exceeded",
        AbandonReason::LeadershipLost => "leadership_lost",
        AbandonReason::Replaced => "replaced",
        AbandonReason::Shutdown => "shutdown",
        AbandonReason::DstGap => "dst_gap",
    }
}

fn abandoned(
    job: &JobId,
    tick: Timestamp,
    a: &Abandon<'_>,
    spec: &JobSpec,
    bucket: Bucket,
) -> (Bucket, Finding) {
    let by = format!(
        "abandoned by {} (token #{}, record {}) as {}",
        a.record.node,
        a.token,
        a.record.seq,
        reason_name(a.reason)
    );
    let policy = format!("misfire {}, overlap {}", spec.misfire, spec.overlap);
    let (kind, detail) = match bucket {
        Bucket::Excused => (
            "abandoned",
            format!("{by}, which the job's policy ({policy}) allows"),
        ),
        Bucket::Violation => (
            "unexplained_abandon",
            format!("{by}, but the job's policy ({policy}) never gives that reason"),
        ),
    };
    let mut finding = finding(job, tick, kind, &detail);
    finding.nodes.push(a.record.node.clone());
    finding.tokens.push(a.token);
    finding.records.push(a.record.seq);
    (bucket, finding)
}

fn skipped(job: &JobId, tick: Timestamp, record: &Record, spec: &JobSpec) -> (Bucket, Finding) {
    let by = format!("skipped by {} (record {})", record.node, record.seq);
    let (bucket, kind, detail) = if spec.overlap == OverlapPolicy::Forbid {
        let detail = format!("{by}: an earlier run was still going and overlap is forbid");
        (Bucket::Excused, "skipped_overlap", detail)
    } else {
        let detail = format!("{by}, but overlap is {}, which never skips", spec.overlap);
        (Bucket::Violation, "unexplained_skip", detail)
    };
    let mut finding = finding(job, tick, kind, &detail);
    finding.nodes.push(record.node.clone());
    if let What::Node(NodeEvent::TickSkipped { token, .. }) = &record.what {
        finding.tokens.push(token.0);
    }
    finding.records.push(record.seq);
    (bucket, finding)
}

/// An at-most-once tick claimed by a node that crashed, was paused or lost that leadership
/// before starting it: the claim was the checkpoint, so the tick is lost, not missing.
fn lost_with_leader(
    job: &JobId,
    tick: Timestamp,
    claims: &[(usize, &Record, u64, &str)],
    outcomes: &Outcomes<'_>,
    kind: &str,
) -> Option<Finding> {
    claims.iter().find_map(|&(index, record, token, node)| {
        let losses = outcomes.losses.get(node)?;
        let after = losses.partition_point(|l| l.index <= index);
        let loss = losses[after..]
            .iter()
            .find(|l| l.token.is_none_or(|t| t == token))?;
        let node = node.to_string();
        let detail = format!(
            "claimed by {node} (token #{token}, record {}), which {} (record {}) before running it",
            record.seq, loss.what, loss.seq
        );
        let mut finding = finding(job, tick, kind, &detail);
        finding.nodes.push(node.clone());
        finding.tokens.push(token);
        finding.records.extend([record.seq, loss.seq]);
        Some(finding)
    })
}

/// The summary of the findings of one kind beyond the listed ones.
fn summary(job: &JobId, kind: &str, more: &Overflow) -> Finding {
    let detail = format!(
        "{} more ticks of {job} from {} to {} are {kind} like the {LISTED_PER_KIND} listed",
        more.count, more.first, more.last
    );
    finding(job, more.first, kind, &detail)
}

/// The violation for a window too large to walk: the guarantee was not checked.
fn unchecked(job: &JobId, expected: usize, from: Timestamp, to: Timestamp) -> Finding {
    Finding {
        checker: Checker::NoGap,
        kind: "unchecked_window".into(),
        job: Some(job.clone()),
        tick: None,
        nodes: Vec::new(),
        tokens: Vec::new(),
        records: Vec::new(),
        detail: format!(
            "{expected} ticks of {job} are due from {from} to {to}, more than the \
             {MAX_EXPECTED_PER_JOB} the checker walks; narrow the window"
        ),
    }
}

/// A finding about one tick, with nothing named yet.
fn finding(job: &JobId, tick: Timestamp, kind: &str, detail: &str) -> Finding {
    Finding {
        checker: Checker::NoGap,
        kind: kind.into(),
        job: Some(job.clone()),
        tick: Some(tick),
        nodes: Vec::new(),
        tokens: Vec::new(),
        records: Vec::new(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests;

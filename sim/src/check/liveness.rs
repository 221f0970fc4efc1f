//! The liveness checker: a world free of faults leads and runs its ticks within a bound.
//!
//! A cluster that is "safe" because nobody runs anything is not safe. With `B` the leader bound
//! (lease TTL + election + one request timeout, or a scenario's wider bound):
//! - **Leaders.** From the moment the backend and at least one node able to run an election's
//!   jobs have been free of faults for `B`, and no fault has started anywhere for `B`, some node
//!   leads that election (from its `campaign_won` until the leadership's revocation,
//!   resignation, clock step-down, stop or crash; a pause does not end a leadership the node keeps
//!   after it). Faults on other nodes do not excuse a leaderless election: a node stepping down
//!   for its clock must let another lead.
//! - **Ticks.** Every tick due once the whole world has been free of faults for `B` begins its
//!   first run within `B` plus the job's interval of its scheduled instant, if the quiet lasts
//!   that long (ticks due earlier may ride in a catch-up batch, which the misfire policy governs).
//!
//! A longer stall is a violation `stalled` naming the window, and what each node was doing
//! (leading, campaigning, stepped down for its clock, refused, crashed). Ticks that never began
//! are the no-gap checker's; this module judges only leaderless stretches and late first runs.

use std::collections::{BTreeMap, BTreeSet};

use cronfence::{Delivery, ElectionName, JobId, NodeEvent, OverlapPolicy};
use jiff::{SignedDuration, Timestamp};

use super::index::{EndKind, Index, TickKey};
use super::{oracle, CheckInput, Checker, Finding, LivenessBound, Verdict};
use crate::fault::{Fault, FaultKind};
use crate::history::{FaultRecord, Record, What};

/// Late ticks listed one by one per job before the rest are counted in one finding.
const LISTED_LATE: usize = 20;

/// A fault's reach in true time: `[from, to]` on `node` (`backend` for backend faults).
struct Span {
    node: String,
    from: Timestamp,
    to: Timestamp,
}

/// Runs the checker, adding `stalled` violations to `verdict`.
pub(super) fn check(
    input: CheckInput<'_>,
    index: &Index<'_>,
    bound: LivenessBound,
    given_up_on_clock: &BTreeSet<TickKey>,
    verdict: &mut Verdict,
) {
    let spans = spans(&input.history.records, input.world.1);
    let (nodes, refusals) = nodes_and_refusals(&input, index);
    let world = World {
        input,
        index,
        spans,
        bound: bound.leader(),
        nodes,
        refusals,
        given_up_on_clock,
    };
    world.leaders(verdict);
    world.ticks(verdict);
}

/// Every fault's span: from its start to its end (or the world's end); a delayed write reaches
/// `delay` past its end, an ambiguous commit is an instant, and a pause ends at its node's
/// crash or restart if one comes first ([`cut_pauses`]).
fn spans(records: &[Record], end: Timestamp) -> Vec<Span> {
    let mut open: Vec<(&Fault, Timestamp)> = Vec::new();
    let mut out = Vec::new();
    let reach = |fault: &Fault, to: Timestamp| match &fault.kind {
        FaultKind::DelayedWrite { delay, .. } => to.saturating_add(*delay).unwrap_or(to),
        _ => to,
    };
    for record in records {
        if let What::Fault(
            FaultRecord::FaultStarted { fault } | FaultRecord::FaultEnded { fault },
        ) = &record.what
        {
            if fault.kind == FaultKind::Crash {
                cut_pauses(&mut open, &mut out, &fault.node, record.true_time);
            }
        }
        match &record.what {
            What::Fault(FaultRecord::FaultStarted { fault }) => {
                // Without a duration an ambiguous commit is never undone: count its instant.
                if matches!(fault.kind, FaultKind::AmbiguousCommit { .. })
                    && fault.duration.is_none()
                {
                    let (from, to) = (record.true_time, record.true_time);
                    out.push(Span {
                        node: fault.node.clone(),
                        from,
                        to,
                    });
                } else {
                    open.push((fault, record.true_time));
                }
            }
            What::Fault(FaultRecord::FaultEnded { fault }) => {
                if let Some(at) = open.iter().position(|(f, _)| *f == fault) {
                    let (fault, from) = open.remove(at);
                    let to = reach(fault, record.true_time);
                    out.push(Span {
                        node: fault.node.clone(),
                        from,
                        to,
                    });
                }
            }
            _ => {}
        }
    }
    for (fault, from) in open {
        out.push(Span {
            node: fault.node.clone(),
            from,
            to: end,
        });
    }
    stops_last_until_restarted(records, &mut out);
    out
}

/// A crash kills a paused process and its pause with it, and a crash's end starts a new process,
/// not paused: `node`'s open pauses end `at` such a record.
fn cut_pauses(open: &mut Vec<(&Fault, Timestamp)>, out: &mut Vec<Span>, node: &str, at: Timestamp) {
    open.retain(|&(fault, from)| {
        let cut = fault.kind == FaultKind::Pause && fault.node == node;
        if cut {
            let node = node.to_string();
            out.push(Span { node, from, to: at });
        }
        !cut
    });
}

/// A graceful stop lasts until its node really starts again (its first `campaign_started` after
/// the fault's end): a node draining its runs cannot start before its shutdown has finished.
fn stops_last_until_restarted(records: &[Record], spans: &mut [Span]) {
    for (i, record) in records.iter().enumerate() {
        let What::Fault(FaultRecord::FaultEnded { fault }) = &record.what else {
            continue;
        };
        if !matches!(fault.kind, FaultKind::Stop { .. }) {
            continue;
        }
        let ended = record.true_time;
        let Some(span) = spans
            .iter_mut()
            .find(|s| s.node == fault.node && s.to == ended)
        else {
            continue;
        };
        let restarted = records[i..].iter().find(|r| {
            r.node == fault.node && matches!(r.what, What::Node(NodeEvent::CampaignStarted { .. }))
        });
        if let Some(r) = restarted {
            span.to = r.true_time;
        }
    }
}

/// What the checks share.
struct World<'a, 'h> {
    input: CheckInput<'h>,
    index: &'a Index<'h>,
    spans: Vec<Span>,
    bound: SignedDuration,
    /// Every node that recorded anything, by name.
    nodes: Vec<String>,
    /// In history order: (true time, node, the election of a job it refused, or `None` for a
    /// restart after which its refusals no longer hold).
    refusals: Vec<(Timestamp, String, Option<ElectionName>)>,
    /// Ticks given up, before the quiet, by a node whose clock read ahead unnoticed (verified by
    /// the no-gap checker under the clock contract): no quiet can bring them back.
    given_up_on_clock: &'a BTreeSet<TickKey>,
}

impl World<'_, '_> {
    /// True when some span reaches into `(from, to]` (on `node`, or anywhere for `None`): a
    /// fault that ended exactly at `from` has ended.
    fn faulted(&self, node: Option<&str>, from: Timestamp, to: Timestamp) -> bool {
        self.spans
            .iter()
            .any(|s| node.is_none_or(|n| s.node == n) && s.from <= to && s.to > from)
    }

    /// True when a fault started in `(from, to]`.
    fn fault_started(&self, from: Timestamp, to: Timestamp) -> bool {
        self.spans.iter().any(|s| s.from > from && s.from <= to)
    }

    /// A node that can run `election`'s jobs and was free of faults over `[t − B, t]`, if the
    /// cluster owes `election` a leader at `t`.
    fn owed(&self, election: &ElectionName, t: Timestamp) -> Option<String> {
        let since = t - self.bound;
        if since < self.input.world.0
            || self.fault_started(since, t)
            || self.faulted(Some("backend"), since, t)
        {
            return None;
        }
        self.nodes
            .iter()
            .find(|n| !self.faulted(Some(n), since, t) && self.eligible(n, election, since, t))
            .cloned()
    }

    /// False when `node` refused a job of `election` (a definition the backend rejected) and had
    /// not restarted since, at any moment of `[from, to]`.
    fn eligible(
        &self,
        node: &str,
        election: &ElectionName,
        from: Timestamp,
        to: Timestamp,
    ) -> bool {
        let mut refused = false;
        for &(at, ref who, ref what) in &self.refusals {
            if at > to {
                break;
            }
            if who != node {
                continue;
            }
            match what {
                Some(e) if e == election => refused = true,
                None if at < from => refused = false,
                _ => {}
            }
        }
        !refused
    }

    /// Leaderless stretches of each election that outlast the bound once a leader is owed.
    fn leaders(&self, verdict: &mut Verdict) {
        let mut elections: Vec<&ElectionName> = self.input.elections.values().collect();
        elections.sort();
        elections.dedup();
        for election in elections {
            for (from, to) in self.leaderless(election) {
                if let Some(finding) = self.stall(election, from, to) {
                    verdict.violations.push(finding);
                }
            }
        }
    }

    /// The stretches of the world in which nobody led `election`.
    fn leaderless(&self, election: &ElectionName) -> Vec<(Timestamp, Timestamp)> {
        let index = self.index;
        let mut spans: Vec<(Timestamp, Timestamp)> = index
            .wins()
            .filter(|(_, _, e, _)| *e == election)
            .map(|(i, node, e, token)| {
                // A paused leader may survive; a stopping one leads until it resigns.
                let end = index
                    .ending_in(node, e, token, i, |end| {
                        end.how != EndKind::Paused && end.how != EndKind::Stopped
                    })
                    .map_or(self.input.world.1, |end| index.time(end.index));
                (index.time(i), end)
            })
            .collect();
        spans.sort();
        let mut gaps = Vec::new();
        let mut covered = self.input.world.0;
        for (from, to) in spans {
            if from > covered {
                gaps.push((covered, from));
            }
            covered = covered.max(to);
        }
        if covered < self.input.world.1 {
            gaps.push((covered, self.input.world.1));
        }
        gaps
    }

    /// The violation for a leaderless stretch `[from, to)`, if a leader was owed in it for longer
    /// than the bound: checked at the stretch's start plus the bound and at every fault boundary
    /// plus the bound inside it.
    fn stall(&self, election: &ElectionName, from: Timestamp, to: Timestamp) -> Option<Finding> {
        let bound = self.bound;
        let mut candidates = vec![from + bound];
        for s in &self.spans {
            candidates.extend([s.from + bound, s.to + bound]);
        }
        let mut candidates: Vec<_> = candidates
            .into_iter()
            .filter(|&t| t >= from + bound && t < to)
            .collect();
        candidates.sort();
        let (t, node) = candidates
            .into_iter()
            .find_map(|t| self.owed(election, t).map(|node| (t, node)))?;
        let owed_from = t - bound;
        let (doing, records) = self.doing(t);
        let detail = format!(
            "no node led {election} from {from} to {to} ({:#}), although from {owed_from} the \
             backend and {node} had been free of faults and no fault had started for the bound \
             {bound:#}; {doing}",
            to.duration_since(from)
                .round(jiff::Unit::Millisecond)
                .unwrap_or_default(),
        );
        let mut finding = self.finding(None, None, detail);
        finding.records = records;
        finding.nodes = vec![node];
        Some(finding)
    }

    /// What each node was doing at `t`, from its last telling record, and those records' `seq`.
    fn doing(&self, t: Timestamp) -> (String, Vec<u64>) {
        let mut state: BTreeMap<&str, (String, u64)> = BTreeMap::new();
        for record in &self.input.history.records {
            if record.true_time > t {
                break;
            }
            let (node, what) = match &record.what {
                What::Node(event) => match describe(event) {
                    Some(what) => (record.node.as_str(), what),
                    None => continue,
                },
                What::Fault(FaultRecord::FaultStarted { fault }) if fault.node != "backend" => (
                    fault.node.as_str(),
                    format!("{} started", fault.kind.name()),
                ),
                What::Fault(FaultRecord::FaultEnded { fault }) if fault.node != "backend" => {
                    (fault.node.as_str(), format!("{} ended", fault.kind.name()))
                }
                _ => continue,
            };
            let said = format!("{what} (record {}, {})", record.seq, record.true_time);
            state.insert(node, (said, record.seq));
        }
        let nodes: Vec<String> = state
            .iter()
            .map(|(n, (s, _))| format!("{n}: {s}"))
            .collect();
        let seqs = state.values().map(|(_, seq)| *seq).collect();
        (format!("nodes then: {}", nodes.join("; ")), seqs)
    }

    /// First runs that began later than the bound plus their job's interval after their tick,
    /// for ticks due while the whole world was quiet.
    fn ticks(&self, verdict: &mut Verdict) {
        let (from, to) = self.input.window;
        let after = from
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap_or(from);
        // No tick is owed before its job was defined (the registration the backend kept).
        let defined = super::gap::defined::Defined::of(self.input, self.index);
        for (job, spec) in self.input.jobs {
            let mut late = Vec::new();
            let born = defined.of_job(job);
            for tick in oracle::ticks(spec, after, to) {
                if born.is_some_and(|born| tick < born) {
                    continue;
                }
                // Only ticks due once the world has been quiet for the bound: earlier ones may
                // ride in a catch-up batch, which the misfire policy, not liveness, governs.
                let quiet_from = tick - self.bound;
                if quiet_from < self.input.world.0 {
                    continue;
                }
                let Some(quiet_until) = self.quiet_until(quiet_from) else {
                    continue;
                };
                if self.fault_started(tick - self.bound, tick) {
                    continue;
                }
                let interval = oracle::next_after(spec, tick)
                    .map_or(SignedDuration::ZERO, |n| n.duration_since(tick));
                let allowance = self.bound + interval;
                let mut deadline = tick + allowance;
                // Under overlap `Forbid` a tick due while its leader's own run was still going
                // waits for that run (or is skipped): the job's own backlog, not a stall. A rerun
                // that leadership owes (read in flight) waits only until its runs stop, older
                // ticks first: it is owed the bound plus the interval from then, less what the
                // leadership sat idle between those runs.
                let blocking = (spec.overlap == OverlapPolicy::Forbid)
                    .then(|| self.index.running_over(job, tick, allowance))
                    .flatten();
                if let Some(b) = blocking.filter(|b| b.owed) {
                    deadline = match b.busy_until {
                        usize::MAX => quiet_until,
                        end => deadline.max(self.index.time(end) + allowance - b.idle),
                    };
                }
                if deadline >= quiet_until && blocking.is_some_and(|b| b.owed) {
                    continue;
                }
                if deadline > quiet_until {
                    continue;
                }
                let key = (job.clone(), tick);
                let queued = || blocking.is_some_and(|b| !b.owed);
                match self.index.runs(&key).first() {
                    Some(first) if self.index.time(first.index) > deadline && !queued() => {
                        late.push((tick, Some(first.index), deadline))
                    }
                    Some(_) => {}
                    // Not run at all: only an overlap skip (verified by the no-gap checker), a
                    // tick due while its leader's previous run was still going under overlap
                    // `Forbid` (however it was then given up: it could not start on time), a DST
                    // gap, a give-up under a clock that read ahead unnoticed (verified there
                    // too), or (at most once) a claim made early, before the quiet, by a
                    // leadership that ended before the quiet too — the tick went with it, to
                    // faults before the quiet — may leave a tick of a quiet world unrun.
                    None if self.index.skipped.contains(&key)
                        || self.given_up_on_clock.contains(&key)
                        || spec.schedule.skipped_by_dst(tick)
                        || queued()
                        || (spec.delivery == Delivery::AtMostOnce
                            && self.index.lost_before(&key, quiet_from).is_some()) => {}
                    None => late.push((tick, None, deadline)),
                }
            }
            self.report_late(job, &late, verdict);
        }
    }

    /// When the quiet that holds instant `t` ends, if the whole world is free of faults at `t`.
    fn quiet_until(&self, t: Timestamp) -> Option<Timestamp> {
        if self.spans.iter().any(|s| s.from <= t && s.to >= t) {
            return None;
        }
        let next = self
            .spans
            .iter()
            .filter(|s| s.from > t)
            .map(|s| s.from)
            .min();
        Some(next.unwrap_or(self.input.world.1))
    }

    fn report_late(
        &self,
        job: &JobId,
        late: &[(Timestamp, Option<usize>, Timestamp)],
        verdict: &mut Verdict,
    ) {
        for &(tick, run, deadline) in late.iter().take(LISTED_LATE) {
            let (began, records, nodes) = match run {
                Some(run) => {
                    let at = self.index.time(run);
                    let how = format!(
                        "its first run began at {at} (record {}), {:#} late",
                        self.index.seq(run),
                        at.duration_since(tick)
                            .round(jiff::Unit::Millisecond)
                            .unwrap_or_default()
                    );
                    (
                        how,
                        vec![self.index.seq(run)],
                        vec![self.index.records[run].node.clone()],
                    )
                }
                None => ("it never ran".to_string(), Vec::new(), Vec::new()),
            };
            let (doing, mut cited) = self.doing(deadline);
            let detail = format!(
                "tick {tick} of {job} was due once the world had been free of faults for the \
                 bound, but {began}, past the bound of {:#} (liveness bound plus the job's \
                 interval); {doing}",
                deadline.duration_since(tick)
            );
            let mut finding = self.finding(Some(job), Some(tick), detail);
            cited.extend(records);
            finding.records = cited;
            finding.nodes = nodes;
            verdict.violations.push(finding);
        }
        if late.len() > LISTED_LATE {
            let (first, last) = (late[LISTED_LATE].0, late[late.len() - 1].0);
            let detail = format!(
                "{} more ticks of {job} from {first} to {last} were late or never ran like the {LISTED_LATE} listed",
                late.len() - LISTED_LATE
            );
            verdict
                .violations
                .push(self.finding(Some(job), Some(first), detail));
        }
    }

    fn finding(&self, job: Option<&JobId>, tick: Option<Timestamp>, detail: String) -> Finding {
        Finding {
            checker: Checker::Liveness,
            kind: "stalled".into(),
            job: job.cloned(),
            tick,
            nodes: Vec::new(),
            tokens: Vec::new(),
            records: Vec::new(),
            detail,
        }
    }
}

/// Every node that recorded anything, and when nodes refused a job's election or restarted.
type Refusals = Vec<(Timestamp, String, Option<ElectionName>)>;
fn nodes_and_refusals(input: &CheckInput<'_>, index: &Index<'_>) -> (Vec<String>, Refusals) {
    let mut nodes = std::collections::BTreeSet::new();
    let mut refusals = Vec::new();
    for record in &input.history.records {
        match &record.what {
            What::Node(event) => {
                nodes.insert(record.node.clone());
                if let NodeEvent::JobRejected { job, .. } = event {
                    if let Some(e) = index.election_of(job) {
                        refusals.push((record.true_time, record.node.clone(), Some(e.clone())));
                    }
                }
            }
            What::Fault(FaultRecord::FaultEnded { fault }) if restarts(&fault.kind) => {
                refusals.push((record.true_time, fault.node.clone(), None));
            }
            _ => {}
        }
    }
    (nodes.into_iter().collect(), refusals)
}

/// Faults whose end starts the node afresh (its refusals no longer hold).
fn restarts(kind: &FaultKind) -> bool {
    matches!(kind, FaultKind::Crash | FaultKind::Stop { .. })
}

/// What a node event says the node was doing, for the events that tell.
fn describe(event: &NodeEvent) -> Option<String> {
    Some(match event {
        NodeEvent::CampaignStarted { election } => format!("campaigning in {election}"),
        NodeEvent::CampaignWon { election, token } => format!("leading {election} ({token})"),
        NodeEvent::CampaignLost { reason, .. } => format!("campaign failed: {reason}"),
        NodeEvent::LeadershipRevoked { token, reason, .. } => {
            format!("lost leadership {token}: {reason}")
        }
        NodeEvent::Resigned { token, .. } => format!("resigned {token}"),
        NodeEvent::ClockBehind {
            checkpoint, clock, ..
        } => {
            format!("stepped down for its clock ({clock}, behind checkpoint {checkpoint})")
        }
        NodeEvent::JobRejected { job, error } => format!("refused {job}: {error}"),
        NodeEvent::BackendUnreachable { operation, .. } => {
            format!("backend unreachable ({operation})")
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reruns;

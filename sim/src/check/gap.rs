//! The no-gap checker: every expected tick was delivered, or the history proves why it was not.
//!
//! It computes the expected set itself with its own oracle ([`super::oracle`]) — every tick of
//! every defined job whose scheduled instant lies in the checked window, from the start of the
//! first node whose registration was answered on (`node_started`, `jobs_registered`: before it
//! no job was defined; a registration applied whose answer was lost counts once a checkpoint read
//! shows the backend kept its start reading) — and never
//! just counts.
//! A tick is delivered when its command began (the commands' own records; the runner's
//! `tick_started` only where commands are not observed). Each expected tick that was not must be
//! covered by a `TicksAbandoned` whose reason the job's policies allow *and* the history proves
//! ([`excuse`]), by a `TickSkipped` under overlap `Forbid` while a run of that leadership was in
//! progress, or (at most once) by a claim — recorded by the node, applied by the backend, or sent
//! by the node where the backend cannot be observed — whose leadership was lost (crash, pause,
//! revocation) before it ran any newer tick of the job, or by a drop the backend applied for a
//! leadership lost before its node could record the reason (a drop naming a tick the schedule
//! skips for a DST gap counts whenever it was sent: that give-up is the schedule's), or because it was still queued behind
//! a run of a live leadership when the world ended. An at-least-once tick must also end
//! completed (or failed): a run cut short must run again. Anything else is a violation. Findings
//! are listed one per tick up to [`LISTED_PER_KIND`] per job and kind, then summarised, so a
//! window of millions of ticks stays readable. This module judges ticks that were not delivered;
//! duplicates are the duplicate checker's.

use std::collections::BTreeMap;

use cronfence::plan::AbandonReason;
use cronfence::{CatchUp, Delivery, JobId, JobSpec, NodeEvent, OverlapPolicy};
use jiff::{SignedDuration, Timestamp};

use super::index::{EndKind, Ending, Index, TickKey};
use super::{oracle, CheckInput, Checker, Finding, Verdict};
use crate::history::{Record, What};

pub(super) mod defined;
mod excuse;
mod finished;
mod outcomes;
mod unproven;

use excuse::Proof;
use outcomes::{Abandon, ClaimEntry, Outcomes};

/// Findings of one kind listed individually per job before the rest are summarised.
const LISTED_PER_KIND: u64 = 1_000;

/// Expected ticks per job beyond which the window is reported as unchecked, not walked.
const MAX_EXPECTED_PER_JOB: usize = 50_000_000;

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

/// Runs the checker, adding excused ticks and violations to `verdict`; returns the ticks given
/// up on the clock contract (see [`excuse`]), which no later quiet can demand a run of.
pub(super) fn check(
    input: CheckInput<'_>,
    index: &Index<'_>,
    verdict: &mut Verdict,
) -> std::collections::BTreeSet<TickKey> {
    let mut on_clock = std::collections::BTreeSet::new();
    let outcomes = Outcomes::collect(input.history, index.backend_observed);
    let (window_from, to) = input.window;
    let starts = defined::Defined::of(input, index);
    for (job, spec) in input.jobs {
        // No job exists before the first node started with it (a world whose every node is down
        // or paused from its first instant defines nothing until one runs): ticks from then on.
        let from = window_from.max(starts.of_job(job).unwrap_or(window_from));
        // The oracle excludes its lower bound; at the very start of time, `from` is not due.
        let after = from
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap_or(from);
        let expected = oracle::len(spec, after, to);
        if expected > MAX_EXPECTED_PER_JOB as u128 {
            verdict.violations.push(unchecked(job, expected, from, to));
            continue;
        }
        let due = oracle::ticks(spec, after, to);
        let judge = Judge {
            job,
            spec,
            outcomes: &outcomes,
            index,
            verified: Default::default(),
            on_clock: Default::default(),
        };
        judge.check_job(due, verdict);
        let ticks = judge.on_clock.into_inner();
        on_clock.extend(ticks.into_iter().map(|tick| (job.clone(), tick)));
    }
    on_clock
}

/// Judges the expected ticks of one job.
struct Judge<'a, 'h> {
    job: &'a JobId,
    spec: &'a JobSpec,
    outcomes: &'a Outcomes<'h>,
    index: &'a Index<'h>,
    /// Verdicts on abandon records (by position) already verified.
    verified: std::cell::RefCell<BTreeMap<usize, Result<Proof, String>>>,
    /// Ticks given up on a reason that holds only at the time the deciding node's clock let it
    /// know (the clock contract): the liveness checker owes them no run.
    on_clock: std::cell::RefCell<std::collections::BTreeSet<Timestamp>>,
}

impl Judge<'_, '_> {
    /// Judges every expected tick of one job, oldest first.
    fn check_job(&self, due: impl Iterator<Item = Timestamp>, verdict: &mut Verdict) {
        let job = self.job;
        let abandons = self
            .outcomes
            .abandons
            .get(job)
            .map_or(&[][..], Vec::as_slice);
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
            let Some((bucket, finding)) = self.judge(tick, &covering) else {
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

    /// The finding for one expected tick, or `None` if it was delivered.
    fn judge(&self, tick: Timestamp, covering: &[&Abandon<'_>]) -> Option<(Bucket, Finding)> {
        let (job, outcomes) = (self.job, self.outcomes);
        let key = (job.clone(), tick);
        if !self.index.runs(&key).is_empty() {
            return self.finished(&key, covering);
        }
        // Every explanation is tried; the first the history proves excuses the tick. A misfire
        // or deadline reason the history refutes is a violation whatever else is true (the tick
        // was given up falsely); other refuted explanations are reported only if nothing else
        // explains the tick (a stale leader's record about a tick it never held).
        let mut refuted = None;
        if let Some(first) = covering.first() {
            match self.covered(tick, first, covering) {
                excused @ (Bucket::Excused, _) => return Some(excused),
                violation if self.planner_refuted(tick, covering) => return Some(violation),
                violation => refuted = Some(violation),
            }
        }
        if let Some(&(at, record)) = outcomes.skipped.get(&key) {
            match self.skipped(tick, at, record) {
                excused @ (Bucket::Excused, _) => return Some(excused),
                violation => {
                    refuted.get_or_insert(violation);
                }
            }
        }
        if let Some(found) = self.lost(tick) {
            return Some((Bucket::Excused, found));
        }
        if refuted.is_some() {
            return refuted;
        }
        Some((Bucket::Violation, self.missing(tick)))
    }

    /// True when some covering abandon gave a misfire or deadline reason the policy allows and
    /// the history refutes.
    fn planner_refuted(&self, tick: Timestamp, covering: &[&Abandon<'_>]) -> bool {
        covering.iter().any(|a| {
            excuse::decided_by_claim(a.reason)
                && reason_allowed(a.reason, self.spec, tick)
                && self.verify(tick, a).is_err()
        })
    }

    /// A claim lost with its leadership (at most once), or a drop the backend applied for a
    /// leadership lost before its node could record why: the checkpoint moved past the tick.
    fn lost(&self, tick: Timestamp) -> Option<Finding> {
        let (job, outcomes) = (self.job, self.outcomes);
        let claims = outcomes
            .claims
            .get(&(job.clone(), tick))
            .map_or(&[][..], Vec::as_slice);
        if let Some(found) = self.queued_at_end(tick, claims, "claimed") {
            return Some(found);
        }
        let forbid = self.spec.overlap == OverlapPolicy::Forbid;
        if self.spec.delivery == Delivery::AtLeastOnce && forbid {
            // A tick in flight that a leadership read, owed a rerun, waits (`Forbid` only) behind
            // the run it had going when the tick came due, like a tick it claimed — or behind
            // the rerun of an older tick that same read found in flight (reruns go oldest
            // first, and one due by the wall alone goes alone: the rest wait for its end).
            let index = self.index;
            let due = index.records.partition_point(|r| r.true_time < tick);
            let end = index.records.len();
            // That rerun must be the leadership's first run of the job since the read, and
            // nothing newer than the tick may have run since: it went straight to its reruns.
            let older_rerun = |at: usize, node: &str, token: u64| {
                let Some(run) = index.running_at(node, token, job, end) else {
                    return false;
                };
                let first = index.first_run_after(node, token, job, at) == Some(run);
                let moved_on = index.ran_newer(node, token, job, tick, index.time(at));
                let older = index.run_tick(run).filter(|&t| t < tick);
                first
                    && moved_on.is_none()
                    && older.is_some_and(|older| {
                        let reads = index.read_in_flight(&(job.clone(), older));
                        reads.contains(&(at, node, token))
                    })
            };
            let owed: Vec<_> = index
                .read_in_flight(&(job.clone(), tick))
                .into_iter()
                .filter(|&(at, node, token)| {
                    let came_due = due.max(at + 1);
                    index.running_at(node, token, job, came_due).is_some()
                        || older_rerun(at, node, token)
                })
                .map(|(at, node, token)| outcomes::ClaimEntry {
                    since: at,
                    at,
                    record: &index.records[at],
                    node,
                    token,
                })
                .collect();
            if let Some(found) = self.queued_at_end(tick, &owed, "read in flight") {
                return Some(found);
            }
        }
        if self.spec.delivery == Delivery::AtMostOnce {
            if let Some(found) = self.lost_with_leader(tick, claims, "lost_with_leader") {
                return Some(found);
            }
        }
        self.dropped(tick)
    }

    /// A drop the backend applied for a leadership lost before its node could record why; a
    /// drop decided on verified clock evidence by which the tick was due also remembers it as
    /// given up on the clock.
    fn dropped(&self, tick: Timestamp) -> Option<Finding> {
        let (job, outcomes) = (self.job, self.outcomes);
        // A drop can only have given up a tick already due when the backend applied it — in true
        // time, or by the verified clock evidence its batch was decided on. A drop a newer
        // leadership's read shows never landed gave nothing up.
        let covering: Vec<_> = outcomes
            .drops
            .get(job)
            .into_iter()
            .flatten()
            .filter(|d| d.after.is_none_or(|a| a < tick) && tick <= d.upto)
            .filter(|d| !self.never_landed(d))
            .filter(|d| match (d.retires, d.unknowing) {
                (true, _) => self.retire_allowed(tick, d),
                (_, true) => self.retire_allowed(tick, d) || self.skip_allowed(d),
                _ => true,
            })
            .collect();
        let due: Vec<_> = covering
            .iter()
            .filter(|d| tick <= self.index.time(d.claim.at))
            .map(|d| d.claim)
            .collect();
        if let Some(found) = self.lost_with_leader(tick, &due, "dropped_with_leader") {
            return Some(found);
        }
        // A DST-gap skip is the schedule's, never a clock's: the planner gives the tick up
        // whenever it reaches it, up to the early limit before it is due. A drop naming this very
        // tick, one the job's schedule skips, is that give-up whenever it was sent, and its
        // leadership's end explains why its node recorded no `dst_gap`.
        if self.spec.schedule.skipped_by_dst(tick) {
            let named: Vec<_> = outcomes
                .drops
                .get(job)
                .into_iter()
                .flatten()
                .filter(|d| d.upto == tick && !d.retires)
                .map(|d| d.claim)
                .collect();
            if let Some(found) = self.lost_with_leader(tick, &named, "dropped_in_dst_gap") {
                return Some(found);
            }
        }
        let on_evidence: Vec<_> = covering
            .iter()
            .filter(|d| self.due_on_evidence(tick, d))
            .map(|d| d.claim)
            .collect();
        if let Some(found) = self.lost_with_leader(tick, &on_evidence, "dropped_with_leader") {
            // Given up where the node's clock put it: no later quiet owes it a run.
            self.on_clock.borrow_mut().insert(tick);
            return Some(found);
        }
        // Below the drop's range, where a later read proves the leadership's sends never landed.
        self.dropped_unproven(tick)
    }

    /// True when the claim batch behind abandon `a` was decided on clock evidence, verified
    /// against its witness reading, by which `tick` was already due.
    fn due_on_clock_at(&self, tick: Timestamp, a: &Abandon<'_>) -> bool {
        let index = self.index;
        let node = a.record.node.as_str();
        let Some(decided) = index.decided(node, a.token, self.job, a.index + 1) else {
            return false;
        };
        match index.evidence_lead(decided) {
            Ok(Some(witnessed)) => tick <= index.time(decided) + witnessed.lead,
            _ => false,
        }
    }

    /// True when the batch that sent drop `d` was decided on clock evidence, verified against its
    /// witness reading (the clock contract), by which `tick` was already due: a node whose clock
    /// read ahead unnoticed may drop a tick before its true time.
    fn due_on_evidence(&self, tick: Timestamp, d: &outcomes::DropRange<'_>) -> bool {
        self.drop_evidence(d).is_some_and(|at| tick <= at)
    }

    /// Where the clock evidence the batch that sent drop `d` was decided on put true time,
    /// verified against its witness reading, when it read ahead.
    fn drop_evidence(&self, d: &outcomes::DropRange<'_>) -> Option<Timestamp> {
        let index = self.index;
        let (node, token) = (d.claim.node, d.claim.token);
        let sent = index.sent_drop(node, token, self.job, d.upto, d.claim.at + 1)?;
        match index.evidence_lead(sent) {
            Ok(Some(witnessed)) => Some(index.time(sent) + witnessed.lead),
            _ => None,
        }
    }

    /// Whether the job's policy gives up in-flight `tick` where retiring drop `d` took effect
    /// (true time), or where the verified clock evidence its batch was decided on put it (the
    /// clock contract: a deadline passed on a clock that read ahead unnoticed).
    fn retire_allowed(&self, tick: Timestamp, d: &outcomes::DropRange<'_>) -> bool {
        self.may_retire(tick, self.index.time(d.claim.at))
            || self
                .drop_evidence(d)
                .is_some_and(|at| self.may_retire(tick, at))
    }

    /// Whether drop `d` was an overlap skip the job's policy gives: under `Forbid`, a run of the
    /// job by the dropping leadership was going when it sent the drop, begun before the tick
    /// came due.
    fn skip_allowed(&self, d: &outcomes::DropRange<'_>) -> bool {
        let (node, token, at) = (d.claim.node, d.claim.token, d.claim.at);
        let index = self.index;
        // The tick came due (on the node's clock, by the clock model) while the run was going:
        // one due before the run began would have been claimed before it.
        self.spec.overlap == OverlapPolicy::Forbid
            && index
                .running_at(node, token, self.job, at)
                .is_some_and(|run| index.node_clock(node, run) < d.upto)
    }

    /// Whether the job's policy gives up in-flight `tick` at `at` (true time): past its starting
    /// deadline, or missed with as many newer ticks due as its catch-up keeps.
    fn may_retire(&self, tick: Timestamp, at: Timestamp) -> bool {
        let spec = self.spec;
        let past_deadline = self.past_deadline(tick, at);
        let keep = match spec.misfire.catch_up {
            CatchUp::All { max } => u64::from(max) + 1,
            CatchUp::Latest | CatchUp::Skip => 1,
        };
        past_deadline || oracle::count(spec, tick, at, keep) >= keep
    }

    /// Whether `tick` is past its starting deadline at `at` (true time).
    fn past_deadline(&self, tick: Timestamp, at: Timestamp) -> bool {
        let late = at.duration_since(tick);
        let deadline = self.spec.misfire.starting_deadline;
        deadline.is_some_and(|d| SignedDuration::try_from(d).is_ok_and(|d| late > d))
    }

    /// Whether drop `d` retired `tick` past its starting deadline: where it took effect (true
    /// time) or where the verified clock evidence its batch was decided on put it.
    fn retired_past_deadline(&self, tick: Timestamp, d: &outcomes::DropRange<'_>) -> bool {
        self.past_deadline(tick, self.index.time(d.claim.at))
            || self
                .drop_evidence(d)
                .is_some_and(|at| self.past_deadline(tick, at))
    }

    /// A tick claimed (or, at least once, read in flight) by a leadership that was still running
    /// this job's execution when the world ended, and that had not ended (or, at most once, whatever became of it: the batch
    /// carries on): it is queued behind that run (a sequential batch runs its ticks in order),
    /// not lost.
    fn queued_at_end(
        &self,
        tick: Timestamp,
        claims: &[ClaimEntry<'_>],
        how: &str,
    ) -> Option<Finding> {
        let index = self.index;
        let end = index.records.len();
        // An at-most-once execution carries its batch on after its leadership ends (the claim
        // is the checkpoint: nobody else runs those ticks) while its process lives; an
        // at-least-once one is cut.
        let carries_on = self.spec.delivery == Delivery::AtMostOnce;
        // A pause the node came back from before the world ended ends nothing (a pause longer
        // than the lease is followed by its revocation, which does); one still going does.
        let resumed = |e: &Ending| e.how == EndKind::Paused && index.resumed_by_end(e.index);
        let cuts = |e: &Ending| {
            !resumed(e) && (!carries_on || matches!(e.how, EndKind::Crashed | EndKind::Stopped))
        };
        claims.iter().find_map(|claim| {
            let (node, token) = (claim.node, claim.token);
            if index
                .ending(node, self.job, token, claim.at, cuts)
                .is_some()
            {
                return None;
            }
            let run = index.running_at(node, token, self.job, end)?;
            // A sequential batch runs its ticks oldest first: only a newer tick waits behind it.
            if index.run_tick(run).is_none_or(|running| running >= tick) {
                return None;
            }
            let detail = format!(
                "{how} by {node} (token #{token}, record {}) and queued behind its run begun at \
                 record {}, still going when the world ended",
                claim.record.seq,
                index.seq(run)
            );
            let mut finding = finding(self.job, tick, "queued_at_end", &detail);
            finding.nodes.push(node.to_string());
            finding.tokens.push(token);
            finding.records.extend([claim.record.seq, index.seq(run)]);
            Some(finding)
        })
    }

    /// The violation for a tick nothing explains, naming its claims and a start whose command
    /// never began.
    fn missing(&self, tick: Timestamp) -> Finding {
        let key = (self.job.clone(), tick);
        let claims = self
            .outcomes
            .claims
            .get(&key)
            .map_or(&[][..], Vec::as_slice);
        let mut finding = finding(
            self.job,
            tick,
            "missing_tick",
            "tick never ran and nothing explains why",
        );
        for claim in claims {
            finding.nodes.push(claim.node.to_string());
            finding.tokens.push(claim.token);
            finding.records.push(claim.record.seq);
            let by = format!(
                "; it was claimed by {} (record {})",
                claim.node, claim.record.seq
            );
            finding.detail.push_str(&by);
        }
        if let Some(run) = self.started_without_command(&key) {
            finding.records.push(run);
            let said = format!("; record {run} says it started, but its command never began");
            finding.detail.push_str(&said);
        }
        finding
    }

    /// [`excuse::verify`], remembered per abandon record for the reasons that judge the whole
    /// range at once (an abandon may cover thousands of ticks).
    fn verify(&self, tick: Timestamp, a: &Abandon<'_>) -> Result<Proof, String> {
        if !excuse::decided_by_claim(a.reason) {
            return excuse::verify(self.index, self.job, self.spec, tick, a);
        }
        let mut cache = self.verified.borrow_mut();
        cache
            .entry(a.index)
            .or_insert_with(|| excuse::verify(self.index, self.job, self.spec, tick, a))
            .clone()
    }

    /// The `tick_started` of a tick whose command never began (only when commands are observed).
    fn started_without_command(&self, key: &TickKey) -> Option<u64> {
        if !self.index.commands_observed {
            return None;
        }
        self.outcomes.said_started.get(key).copied()
    }

    /// A tick covered by abandons: excused by the first whose reason the policy allows and the
    /// history proves; otherwise a violation naming why the first allowed one is unfounded.
    fn covered(
        &self,
        tick: Timestamp,
        first: &Abandon<'_>,
        covering: &[&Abandon<'_>],
    ) -> (Bucket, Finding) {
        let (job, spec) = (self.job, self.spec);
        let allowed: Vec<_> = covering
            .iter()
            .filter(|a| reason_allowed(a.reason, spec, tick))
            .collect();
        // The first proven excuse is reported; every proven one is asked whether it gave the
        // tick up for good on the clock (a leadership lost, then the tick replaced or superseded
        // early on a clock ahead: no later quiet owes it a run).
        let mut unfounded = None;
        let mut excused = None;
        for a in &allowed {
            match self.verify(tick, a) {
                Ok(proof) => {
                    self.remember_on_clock(tick, a, &proof);
                    excused.get_or_insert((*a, proof));
                }
                Err(why) => {
                    unfounded.get_or_insert((*a, why));
                }
            }
        }
        if let Some((a, proof)) = excused {
            return abandoned(job, tick, a, spec, Ok(proof));
        }
        match unfounded {
            Some((a, why)) => abandoned(job, tick, a, spec, Err(Some(why))),
            None => abandoned(job, tick, first, spec, Err(None)),
        }
    }

    /// [`abandoned`], remembering a tick given up on the clock contract.
    fn abandoned(
        &self,
        tick: Timestamp,
        a: &Abandon<'_>,
        proof: Result<Proof, Option<String>>,
    ) -> (Bucket, Finding) {
        if let Ok(proof) = &proof {
            self.remember_on_clock(tick, a, proof);
        }
        abandoned(self.job, tick, a, self.spec, proof)
    }

    /// Remembers `tick` as given up on the clock contract when abandon `a`, proven by `proof`,
    /// gave it up so.
    fn remember_on_clock(&self, tick: Timestamp, a: &Abandon<'_>, proof: &Proof) {
        // A verified give-up for good made before the tick was due in true time, decided on
        // verified clock evidence by which it was due (a newer tick run early on a clock ahead
        // replaced it, say): like a give-up on the clock contract, no later quiet can bring it
        // back. A tick lost with its leadership is not given up for good (at least once, the
        // next leader runs it).
        let for_good = !matches!(
            a.reason,
            AbandonReason::LeadershipLost | AbandonReason::Shutdown
        );
        let before_due =
            for_good && self.index.time(a.index) < tick && self.due_on_clock_at(tick, a);
        if proof.on_clock || before_due {
            self.on_clock.borrow_mut().insert(tick);
        } else if !for_good {
            // The leadership's end explains the tick; a drop its backend applied on verified
            // clock evidence may still have given it up for good.
            self.dropped(tick);
        }
    }

    /// A skip: excused under `Forbid` only while a run of the skipping leadership was in progress
    /// when it decided.
    fn skipped(&self, tick: Timestamp, at: usize, record: &Record) -> (Bucket, Finding) {
        let (job, spec, index) = (self.job, self.spec, self.index);
        let by = format!("skipped by {} (record {})", record.node, record.seq);
        let token = match &record.what {
            What::Node(NodeEvent::TickSkipped { token, .. }) => token.0,
            _ => unreachable!("skips are tick_skipped records"),
        };
        let (bucket, kind, detail) = if spec.overlap != OverlapPolicy::Forbid {
            let detail = format!("{by}, but overlap is {}, which never skips", spec.overlap);
            (Bucket::Violation, "unexplained_skip", detail)
        } else {
            let decided = index.decided(&record.node, token, job, at).unwrap_or(at);
            match index.running_at(&record.node, token, job, decided) {
                Some(run) => {
                    let detail = format!(
                    "{by}: its run begun at record {} was still going when it decided (record {}) and overlap is forbid",
                    index.seq(run),
                    index.seq(decided)
                );
                    (Bucket::Excused, "skipped_overlap", detail)
                }
                None => {
                    let detail = format!(
                    "{by} for overlap, but no run of {job} by that leadership was in progress when it decided (record {})",
                    index.seq(decided)
                );
                    (Bucket::Violation, "unfounded_skip", detail)
                }
            }
        };
        let mut finding = finding(job, tick, kind, &detail);
        finding.nodes.push(record.node.clone());
        finding.tokens.push(token);
        finding.records.push(record.seq);
        (bucket, finding)
    }

    /// An at-most-once tick claimed by a node that crashed, was paused or lost that leadership
    /// before starting it, and before that leadership ran any newer tick of the job: the claim was
    /// the checkpoint, so the tick is lost, not missing.
    fn lost_with_leader(
        &self,
        tick: Timestamp,
        claims: &[ClaimEntry<'_>],
        kind: &str,
    ) -> Option<Finding> {
        let (job, index) = (self.job, self.index);
        claims.iter().find_map(|claim| {
            let (at, record, token, node) = (claim.at, claim.record, claim.token, claim.node);
            let (what, seq) = self.loss_after(claim, kind.starts_with("dropped_"))?;
            if index
                .ran_newer(node, token, job, tick, index.time(at))
                .is_some()
            {
                return None;
            }
            let node = node.to_string();
            let detail = format!(
                "claimed by {node} (token #{token}, record {}), which {what} (record {seq}) before \
                 running it",
                record.seq
            );
            let mut finding = finding(job, tick, kind, &detail);
            finding.nodes.push(node.clone());
            finding.tokens.push(token);
            finding.records.extend([record.seq, seq]);
            Some(finding)
        })
    }

    /// The first loss of `claim`'s leadership after it (a crash, a pause, a revocation): what
    /// happened and its record's `seq`. For a drop (`any_end`), any end of that leadership counts
    /// too (a resign, a step-down, a stop, a superseded definition): the runner never records the
    /// misfires an unanswered claim gave up, since the backend may not have applied it.
    fn loss_after(&self, claim: &ClaimEntry<'_>, any_end: bool) -> Option<(String, u64)> {
        let (job, outcomes, index) = (self.job, self.outcomes, self.index);
        let election = index.election_of(job);
        let (node, token) = (claim.node, claim.token);
        let losses = outcomes.losses.get(node).map_or(&[][..], Vec::as_slice);
        let after = losses.partition_point(|l| l.index <= claim.since);
        let loss = losses[after..].iter().find(|l| {
            l.leadership
                .is_none_or(|(e, t)| t == token && Some(e) == election)
        });
        if let Some(loss) = loss {
            return Some((loss.what.clone(), loss.seq));
        }
        if !any_end {
            return None;
        }
        let end = index.ending(node, job, token, claim.since, |e| e.how != EndKind::Paused)?;
        Some((format!("ended ({})", end.how), index.seq(end.index)))
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

/// The finding for a tick covered by abandon `a`: `Ok(evidence)` excuses it; `Err(Some(why))`
/// is a reason the policy allows but the history disproves; `Err(None)` a reason the policy
/// never gives.
fn abandoned(
    job: &JobId,
    tick: Timestamp,
    a: &Abandon<'_>,
    spec: &JobSpec,
    verified: Result<Proof, Option<String>>,
) -> (Bucket, Finding) {
    let by = format!(
        "abandoned by {} (token #{}, record {}) as {}",
        a.record.node,
        a.token,
        a.record.seq,
        reason_name(a.reason)
    );
    let policy = format!("misfire {}, overlap {}", spec.misfire, spec.overlap);
    let (bucket, kind, detail) = match verified {
        Ok(Proof { why, on_clock }) => {
            let kind = if on_clock {
                "abandoned_on_clock"
            } else {
                "abandoned"
            };
            (Bucket::Excused, kind, format!("{by}: {why}"))
        }
        Err(Some(why)) => (
            Bucket::Violation,
            "unfounded_abandon",
            format!("{by}, which the job's policy ({policy}) allows, but {why}"),
        ),
        Err(None) => (
            Bucket::Violation,
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

/// The summary of the findings of one kind beyond the listed ones.
fn summary(job: &JobId, kind: &str, more: &Overflow) -> Finding {
    let detail = format!(
        "{} more ticks of {job} from {} to {} are {kind} like the {LISTED_PER_KIND} listed",
        more.count, more.first, more.last
    );
    finding(job, more.first, kind, &detail)
}

/// The violation for a window too large to walk: the guarantee was not checked.
fn unchecked(job: &JobId, expected: u128, from: Timestamp, to: Timestamp) -> Finding {
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
#[cfg(test)]
mod tests_defined;
#[cfg(test)]
mod tests_drops;
#[cfg(test)]
mod tests_excuse;
#[cfg(test)]
mod tests_reads;
#[cfg(test)]
mod tests_replace;
#[cfg(test)]
mod tests_review2;
#[cfg(test)]
mod tests_review3;
#[cfg(test)]
mod tests_start_reading;
#[cfg(test)]
mod tests_stop;
#[cfg(test)]
mod tests_unknowing;

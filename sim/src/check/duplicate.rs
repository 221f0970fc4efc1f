//! The no-duplicate checker: no tick starts twice, beyond what at-least-once delivery allows.
//!
//! It collects every run that began per tick id (job, scheduled instant) in history order — the
//! commands' own `command_began` records, or the runner's `tick_started` where commands are not
//! observed, since a run cancelled before its command was polled never ran — and for
//! each start what became of it: finished (a `TickCompleted` — or a `TickFailed`, which at least
//! once is also committed and never retried — for that tick by the same node), or ended without
//! counting (the node crashed or was paused, its leadership of the run's token was revoked, or it
//! was fenced out of or cancelled that tick). Where commands are observed, an end that does not
//! count also needs the command itself to have stopped — it returned (`command_ended`), was
//! dropped (`command_dropped`, the command's own record), was
//! cancelled (`TickCancelled`, or a commit of it `cancelled` sent: the runner sends one only after
//! dropping the command to replace it, and it may be fenced out), or its node crashed, paused or
//! was stopped — because a
//! revocation, a resign or a step-down does not stop a command by itself: a run that outlives its
//! leadership while the next one re-runs its tick is a duplicate. Under at-most-once a second
//! start is always a violation. Under at-least-once a later start is a justified re-run only if no
//! earlier start finished and every one had ended without counting before the re-run began; each
//! justified
//! re-run is reported in `verdict.reruns`. Ticks of jobs the run did not define are
//! ignored. This module judges starts only; ticks that never ran are the gap checker's.

use std::collections::BTreeMap;

use cronfence::event::FencedOperation;
use cronfence::{Delivery, JobId, JobSpec, NodeEvent};
use jiff::Timestamp;

use super::{CheckInput, Checker, Finding, Verdict};
use crate::fault::FaultKind;
use crate::history::{BackendRecord, CommandRecord, FaultRecord, Record, What};

/// A tick's identity: the job and its scheduled instant.
type TickKey = (JobId, Timestamp);

/// One start of a tick and what became of it.
#[derive(Debug)]
struct Run<'h> {
    node: &'h str,
    token: u64,
    /// The start's position in the history.
    index: usize,
    seq: u64,
    /// The `TickCompleted` or `TickFailed` that finished this run, if any: (seq, how).
    finished: Option<(u64, &'static str)>,
    /// The first record after the start showing the run ended without counting.
    ended: Option<End>,
    /// The first record after the start showing its command stopped (returned, dropped, or its
    /// node crashed, paused or stopped); only kept where commands are observed.
    stopped: Option<End>,
}

/// Why a run did not count.
#[derive(Debug)]
struct End {
    index: usize,
    seq: u64,
    why: String,
}

/// Every start of every tick of a defined job, gathered in one pass over the history.
struct Runs<'h> {
    jobs: &'h BTreeMap<JobId, JobSpec>,
    /// The election of each job: a revocation ends only runs of its own election.
    elections: &'h BTreeMap<JobId, cronfence::ElectionName>,
    by_tick: BTreeMap<TickKey, Vec<Run<'h>>>,
    /// Whether commands record their own beginnings and ends.
    observed: bool,
    /// Per node, the runs it started that may still be open (some may have ended since).
    pending: BTreeMap<&'h str, Vec<(TickKey, usize)>>,
}

/// Runs the checker, adding violations and justified re-runs to `verdict`.
pub(super) fn check(input: CheckInput<'_>, verdict: &mut Verdict) {
    let runs = Runs::collect(input);
    let observed = runs.observed;
    for ((job, tick), starts) in &runs.by_tick {
        let delivery = runs.jobs.get(job).map(|spec| spec.delivery);
        match delivery {
            Some(Delivery::AtMostOnce) if starts.len() > 1 => {
                verdict.violations.push(duplicate_start(job, *tick, starts));
            }
            Some(Delivery::AtLeastOnce) => {
                for i in 1..starts.len() {
                    match judge_rerun(job, *tick, &starts[..i], &starts[i], observed) {
                        Rerun::Justified(rerun) => verdict.reruns.push(rerun),
                        Rerun::Unjustified(violation) => verdict.violations.push(violation),
                    }
                }
            }
            _ => {}
        }
    }
}

impl<'h> Runs<'h> {
    fn collect(input: CheckInput<'h>) -> Self {
        let mut runs = Runs {
            jobs: input.jobs,
            elections: input.elections,
            by_tick: BTreeMap::new(),
            observed: input.observed.commands,
            pending: BTreeMap::new(),
        };
        let commands = input.observed.commands;
        for (index, record) in input.history.records.iter().enumerate() {
            match &record.what {
                What::Command(CommandRecord::CommandBegan {
                    job, tick, token, ..
                }) if commands => runs.began(index, record, job, *tick, token.0),
                What::Command(CommandRecord::CommandEnded { job, tick, .. }) => {
                    let why = format!("its command returned (record {})", record.seq);
                    runs.stop_tick(&record.node, (job.clone(), *tick), index, record.seq, &why);
                }
                What::Command(CommandRecord::CommandDropped {
                    job, tick, token, ..
                }) => {
                    let why = format!("its command was dropped (record {})", record.seq);
                    let key = (job.clone(), *tick);
                    runs.stop_run(&record.node, token.0, key, index, record.seq, &why);
                }
                What::Node(NodeEvent::TickStarted {
                    job, tick, token, ..
                }) if !commands => runs.began(index, record, job, *tick, token.0),
                What::Node(event) => runs.on_node_event(index, record, event),
                // Where the backend is observed, a commit it applied finishes the run of that
                // leadership even if its node never heard back.
                What::Backend(BackendRecord::CommitApplied { token, commits, .. }) => {
                    for commit in commits {
                        let how = match commit.outcome {
                            cronfence::store::RunOutcome::Completed => "committed completed",
                            cronfence::store::RunOutcome::Failed => "committed failed",
                            cronfence::store::RunOutcome::Cancelled => continue,
                        };
                        let key = (commit.job.clone(), commit.tick);
                        runs.committed(key, token.0, record.seq, how);
                    }
                }
                // A stopped node starts again as a fresh process: whatever it had not finished by
                // then is over.
                What::Fault(FaultRecord::FaultEnded { fault })
                    if matches!(fault.kind, FaultKind::Stop { .. }) =>
                {
                    let why = format!(
                        "{} was stopped and started again (record {})",
                        fault.node, record.seq
                    );
                    runs.end_node(&fault.node, None, index, record.seq, &why);
                }
                What::Fault(FaultRecord::FaultStarted { fault }) => {
                    let why = match fault.kind {
                        FaultKind::Crash => "crashed",
                        FaultKind::Pause => "was paused",
                        _ => continue,
                    };
                    let why = format!("{} {why} (record {})", fault.node, record.seq);
                    runs.end_node(&fault.node, None, index, record.seq, &why);
                }
                _ => {}
            }
        }
        runs
    }

    /// A run began: the command's own record (or the runner's `tick_started` where commands are
    /// not observed).
    fn began(
        &mut self,
        index: usize,
        record: &'h Record,
        job: &JobId,
        tick: Timestamp,
        token: u64,
    ) {
        if !self.jobs.contains_key(job) {
            return;
        }
        let node = record.node.as_str();
        let key = (job.clone(), tick);
        let starts = self.by_tick.entry(key.clone()).or_default();
        starts.push(Run {
            node,
            token,
            index,
            seq: record.seq,
            finished: None,
            ended: None,
            stopped: None,
        });
        let position = starts.len() - 1;
        self.pending.entry(node).or_default().push((key, position));
    }

    fn on_node_event(&mut self, index: usize, record: &'h Record, event: &NodeEvent) {
        let node = record.node.as_str();
        let seq = record.seq;
        match event {
            NodeEvent::TickCompleted { job, tick, .. } => {
                self.finish(node, (job.clone(), *tick), seq, "completed");
            }
            NodeEvent::TickFailed { job, tick, .. } => {
                self.finish(node, (job.clone(), *tick), seq, "failed");
            }
            NodeEvent::TickFencedOut {
                job,
                tick,
                operation,
                ..
            } => {
                let operation = match operation {
                    FencedOperation::Claim => "claim",
                    FencedOperation::Commit => "commit",
                };
                let why = format!("{node} was fenced out of its {operation} (record {seq})");
                self.end_tick(node, (job.clone(), *tick), index, seq, &why);
            }
            NodeEvent::TickCancelled { job, tick, .. } => {
                let why = format!("{node} cancelled it (record {seq})");
                self.end_tick(node, (job.clone(), *tick), index, seq, &why);
                self.stop_tick(node, (job.clone(), *tick), index, seq, &why);
            }
            NodeEvent::CommitsSent { token, commits } => {
                // The runner commits a run `cancelled` (overlap `Replace`) only after dropping
                // its command: the command stopped, even when that commit never lands.
                let why = format!("{node} dropped it to replace it (record {seq})");
                for commit in commits {
                    if commit.outcome == cronfence::store::RunOutcome::Cancelled {
                        let key = (commit.job.clone(), commit.tick);
                        self.stop_run(node, token.0, key, index, seq, &why);
                    }
                }
            }
            NodeEvent::LeadershipRevoked {
                election, token, ..
            } => {
                let why = format!("{node} lost leadership {token} (record {seq})");
                self.end_node(node, Some((election, token.0)), index, seq, &why);
            }
            _ => {}
        }
    }

    /// Marks the latest run of a tick by the leadership `token` finished: the backend applied its
    /// commit.
    fn committed(&mut self, key: TickKey, token: u64, seq: u64, how: &'static str) {
        let starts = self.by_tick.get_mut(&key);
        let latest = starts.and_then(|s| s.iter_mut().rev().find(|r| r.token == token));
        if let Some(run) = latest.filter(|r| r.finished.is_none()) {
            run.finished = Some((seq, how));
        }
    }

    /// Marks `node`'s latest run of a tick finished (a node runs a tick once at a time).
    fn finish(&mut self, node: &str, key: TickKey, seq: u64, how: &'static str) {
        let starts = self.by_tick.get_mut(&key);
        let latest = starts.and_then(|s| s.iter_mut().rev().find(|r| r.node == node));
        if let Some(run) = latest.filter(|r| r.finished.is_none()) {
            run.finished = Some((seq, how));
        }
    }

    /// Ends every open run of `node` (only those started with `token`, if given).
    /// Ends every open run of `node` (only those of that election's leadership `token`, if given);
    /// runs that already finished leave the pending list.
    fn end_node(
        &mut self,
        node: &str,
        leadership: Option<(&cronfence::ElectionName, u64)>,
        index: usize,
        seq: u64,
        why: &str,
    ) {
        let Some(pending) = self.pending.get_mut(node) else {
            return;
        };
        let (by_tick, elections) = (&mut self.by_tick, self.elections);
        pending.retain(|(key, position)| {
            let run = by_tick
                .get_mut(key)
                .and_then(|starts| starts.get_mut(*position))
                .expect("pending runs point at recorded starts");
            if run.finished.is_some() {
                return false;
            }
            let other = leadership.is_some_and(|(election, token)| {
                token != run.token || elections.get(&key.0) != Some(election)
            });
            if other {
                return true;
            }
            let end = || End {
                index,
                seq,
                why: why.to_string(),
            };
            run.ended.get_or_insert_with(end);
            if leadership.is_none() {
                // A crash, pause or stop halts the command too.
                run.stopped.get_or_insert_with(end);
            }
            false
        });
    }

    /// Marks the command of `node`'s latest run of a tick stopped.
    fn stop_tick(&mut self, node: &str, key: TickKey, index: usize, seq: u64, why: &str) {
        let starts = self.by_tick.get_mut(&key);
        let latest = starts.and_then(|s| s.iter_mut().rev().find(|r| r.node == node));
        if let Some(run) = latest {
            run.stopped.get_or_insert_with(|| End {
                index,
                seq,
                why: why.to_string(),
            });
        }
    }

    /// Marks the command of `node`'s latest run of a tick with `token` stopped.
    fn stop_run(
        &mut self,
        node: &str,
        token: u64,
        key: TickKey,
        index: usize,
        seq: u64,
        why: &str,
    ) {
        let starts = self.by_tick.get_mut(&key);
        let latest = starts.and_then(|s| {
            s.iter_mut()
                .rev()
                .find(|r| r.node == node && r.token == token)
        });
        if let Some(run) = latest {
            run.stopped.get_or_insert_with(|| End {
                index,
                seq,
                why: why.to_string(),
            });
        }
    }

    /// Ends the open runs of one tick by `node`.
    fn end_tick(&mut self, node: &str, key: TickKey, index: usize, seq: u64, why: &str) {
        let Some(starts) = self.by_tick.get_mut(&key) else {
            return;
        };
        for run in starts.iter_mut().filter(|r| r.node == node) {
            run.ended.get_or_insert_with(|| End {
                index,
                seq,
                why: why.to_string(),
            });
        }
    }
}

/// The violation for an at-most-once tick that started more than once.
fn duplicate_start(job: &JobId, tick: Timestamp, starts: &[Run<'_>]) -> Finding {
    let list: Vec<String> = starts.iter().map(describe).collect();
    Finding {
        checker: Checker::NoDuplicate,
        kind: "duplicate_start".into(),
        job: Some(job.clone()),
        tick: Some(tick),
        nodes: distinct(starts.iter().map(|r| r.node.to_string())),
        tokens: distinct(starts.iter().map(|r| r.token)),
        records: starts.iter().map(|r| r.seq).collect(),
        detail: format!(
            "at-most-once tick {job}@{tick} started {} times: {}",
            starts.len(),
            list.join("; ")
        ),
    }
}

/// A judged later start of an at-least-once tick.
enum Rerun {
    /// Every earlier start ended without finishing before it (kind `rerun`).
    Justified(Finding),
    /// Some earlier start finished or had not ended (kind `unjustified_rerun`).
    Unjustified(Finding),
}

/// Judges one later start of an at-least-once tick against every earlier start of it.
fn judge_rerun(
    job: &JobId,
    tick: Timestamp,
    earlier: &[Run<'_>],
    rerun: &Run<'_>,
    observed: bool,
) -> Rerun {
    let account = Account::of(earlier, rerun, observed);
    let justified = account.faults.is_empty();
    let (kind, detail) = if justified {
        let why = account.excuses.join("; ");
        (
            "rerun",
            format!("{} re-ran {job}@{tick}: {why}", describe(rerun)),
        )
    } else {
        let why = account.faults.join("; ");
        (
            "unjustified_rerun",
            format!("{} re-ran {job}@{tick}, but {why}", describe(rerun)),
        )
    };
    let all = earlier.iter().chain([rerun]);
    let finding = Finding {
        checker: Checker::NoDuplicate,
        kind: kind.into(),
        job: Some(job.clone()),
        tick: Some(tick),
        nodes: distinct(all.clone().map(|r| r.node.to_string())),
        tokens: distinct(all.map(|r| r.token)),
        records: account.records,
        detail,
    };
    if justified {
        Rerun::Justified(finding)
    } else {
        Rerun::Unjustified(finding)
    }
}

/// What the earlier starts of a tick say about one re-run of it.
#[derive(Default)]
struct Account {
    /// The records involved, ascending.
    records: Vec<u64>,
    /// Why each earlier start did not count.
    excuses: Vec<String>,
    /// Why some earlier start still counts (empty: the re-run is justified).
    faults: Vec<String>,
}

impl Account {
    fn of(earlier: &[Run<'_>], rerun: &Run<'_>, observed: bool) -> Self {
        let mut account = Account {
            records: vec![rerun.seq],
            ..Account::default()
        };
        for run in earlier {
            account.records.push(run.seq);
            match (run.finished, &run.ended) {
                (Some((done, how)), _) => {
                    account.records.push(done);
                    account
                        .faults
                        .push(format!("{} {how} (record {done})", describe(run)));
                }
                (None, Some(end)) if end.index < rerun.index && !observed => {
                    account.records.push(end.seq);
                    let excuse = format!("{} did not count: {}", describe(run), end.why);
                    account.excuses.push(excuse);
                }
                (None, ended) if observed && run.stopped_before(rerun) => {
                    let stopped = run.stopped.as_ref().expect("stopped before the re-run");
                    account.records.push(stopped.seq);
                    let mut excuse = format!("{} did not count: {}", describe(run), stopped.why);
                    if let Some(end) = ended.as_ref().filter(|e| e.seq != stopped.seq) {
                        account.records.push(end.seq);
                        excuse.push_str(&format!("; {}", end.why));
                    }
                    account.excuses.push(excuse);
                }
                (None, _) if observed => account.faults.push(format!(
                    "{} had not stopped: its command neither returned nor was cancelled, and {} \
                     did not crash, pause or stop, before the re-run",
                    describe(run),
                    run.node
                )),
                (None, _) => account.faults.push(format!(
                    "{} had not ended: no crash, pause, revocation, fence-out or cancellation \
                     of {} came before the re-run",
                    describe(run),
                    run.node
                )),
            }
        }
        account.records.sort_unstable();
        account.records.dedup();
        account
    }
}

impl Run<'_> {
    /// Whether the run's command had stopped before `rerun` began.
    fn stopped_before(&self, rerun: &Run<'_>) -> bool {
        self.stopped.as_ref().is_some_and(|s| s.index < rerun.index)
    }
}

/// "the run by node-a (token #5, record 12)".
fn describe(run: &Run<'_>) -> String {
    format!(
        "the run by {} (token #{}, record {})",
        run.node, run.token, run.seq
    )
}

/// The values in first-seen order, without repeats.
fn distinct<T: PartialEq>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cronfence::FencingToken;

    use super::*;
    use crate::check::testkit::*;

    fn verdict_of(history: &crate::history::History, delivery: Delivery) -> Verdict {
        let jobs = jobs("j", every_10s(delivery));
        let mut verdict = Verdict::default();
        check(input(history, &jobs, 0, 60), &mut verdict);
        verdict
    }

    #[test]
    fn at_most_once_tick_started_by_two_leaders_is_a_duplicate() {
        // Two starts of one at-most-once tick, even with a crash between them, must be flagged.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .fault(10_500, "a", FaultKind::Crash)
            .node(12_000, "b", started("j", 10, 2, 1))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        let finding = &verdict.violations[0];
        assert_eq!(finding.kind, "duplicate_start");
        assert_eq!(finding.nodes, ["a", "b"]);
        assert_eq!(finding.tokens, [1, 2]);
        assert_eq!(finding.records, [0, 2]);
        assert_eq!(finding.tick, Some(at(10)));
    }

    #[test]
    fn at_most_once_ticks_started_once_each_pass() {
        // Distinct ticks started once each are never duplicates, whoever ran them.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .node(20_000, "b", started("j", 20, 2, 1))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert!(
            verdict.violations.is_empty() && verdict.reruns.is_empty(),
            "{verdict:#?}"
        );
    }

    #[test]
    fn at_least_once_rerun_after_leader_crash_is_justified() {
        // The first run never completed and its node crashed before the re-run: allowed, named.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .fault(10_500, "a", FaultKind::Crash)
            .node(12_000, "b", started("j", 10, 2, 2))
            .node(12_100, "b", completed("j", 10, 2, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert_eq!(verdict.reruns.len(), 1);
        let rerun = &verdict.reruns[0];
        assert_eq!(rerun.kind, "rerun");
        assert_eq!(rerun.records, [0, 1, 2]);
        assert!(rerun.detail.contains("a crashed"), "{}", rerun.detail);
    }

    #[test]
    fn at_least_once_rerun_after_fenced_out_commit_is_justified() {
        // A refused commit means the run did not count, so the same tick may run again.
        let fenced = NodeEvent::TickFencedOut {
            job: job("j"),
            tick: at(10),
            token: FencingToken(1),
            operation: FencedOperation::Commit,
        };
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .node(11_000, "b", won(2))
            .node(11_500, "a", fenced)
            .node(12_000, "b", started("j", 10, 2, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert_eq!(verdict.reruns.len(), 1);
        assert!(verdict.reruns[0]
            .detail
            .contains("fenced out of its commit"));
    }

    #[test]
    fn at_least_once_rerun_of_a_completed_tick_is_unjustified() {
        // The first run completed: starting it again is a duplicate even under at-least-once.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .node(10_100, "a", completed("j", 10, 1, 1))
            .fault(10_500, "a", FaultKind::Crash)
            .node(12_000, "b", started("j", 10, 2, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert_eq!(verdict.violations[0].kind, "unjustified_rerun");
        assert!(verdict.reruns.is_empty());
    }

    #[test]
    fn at_least_once_rerun_of_a_failed_tick_is_unjustified() {
        // A failed run is committed and never retried, so a crash after it excuses nothing.
        let failed = NodeEvent::TickFailed {
            job: job("j"),
            tick: at(10),
            token: FencingToken(1),
            attempt: 1,
            error: "boom".into(),
        };
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .node(10_100, "a", failed)
            .fault(10_500, "a", FaultKind::Crash)
            .node(12_000, "b", started("j", 10, 2, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert!(verdict.violations[0].detail.contains("failed (record 1)"));
    }

    #[test]
    fn at_least_once_rerun_while_the_first_run_is_alive_is_unjustified() {
        // Nothing ended the first run before the re-run: its later crash does not excuse it.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .node(12_000, "b", started("j", 10, 2, 2))
            .fault(13_000, "a", FaultKind::Crash)
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        let finding = &verdict.violations[0];
        assert_eq!(finding.kind, "unjustified_rerun");
        assert_eq!(finding.nodes, ["a", "b"]);
        assert!(
            finding.detail.contains("had not ended"),
            "{}",
            finding.detail
        );
    }

    #[test]
    fn revocation_of_another_token_does_not_justify_a_rerun() {
        // Only the leadership the run started under ends it: an older token's revocation does not.
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 3, 1))
            .node(10_500, "a", revoked(2))
            .node(12_000, "b", started("j", 10, 4, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
    }

    #[test]
    fn a_stopped_node_started_again_has_no_run_left_going() {
        // a's run of tick 10 never finished; a was stopped and started afresh before b re-ran it:
        // the restart ended the run, so the re-run is justified (before the restart it is not).
        let stop = FaultKind::Stop { upgrade_to: None };
        let history = Builder::new()
            .node(10_000, "a", started("j", 10, 1, 1))
            .fault(11_000, "a", stop.clone())
            .fault_ended(12_000, "a", stop, 11_000)
            .node(13_000, "b", started("j", 10, 2, 2))
            .build();
        let verdict = verdict_of(&history, Delivery::AtLeastOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert!(verdict.reruns[0]
            .detail
            .contains("stopped and started again"));
    }

    /// The verdict where commands record their own beginnings and ends.
    fn observed_verdict(history: &crate::history::History) -> Verdict {
        let jobs = jobs("j", every_10s(Delivery::AtLeastOnce));
        let mut input = input(history, &jobs, 0, 60);
        input.observed = crate::check::Observed {
            commands: true,
            ..Default::default()
        };
        let mut verdict = Verdict::default();
        check(input, &mut verdict);
        verdict
    }

    #[test]
    fn a_run_outliving_its_revoked_leadership_makes_a_rerun_a_duplicate() {
        // Issue 12 bug 7: a revocation does not stop a command; a's command still runs when b
        // re-runs the tick, so two runs of one tick overlap.
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_500, "a", revoked(1))
            .command(12_000, "b", began("j", 10, 2, 2))
            .command(13_000, "a", returned("j", 10, 1, 1))
            .build();
        let verdict = observed_verdict(&history);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert!(verdict.violations[0].detail.contains("had not stopped"));
    }

    #[test]
    fn a_run_cut_by_its_leadership_end_justifies_the_rerun() {
        // a's step-down cancelled the run (the command dropped, nothing committed) before b
        // re-ran the tick: a legitimate at-least-once re-run, whatever ended the leadership.
        let cancelled = NodeEvent::TickCancelled {
            job: job("j"),
            tick: at(10),
            token: FencingToken(1),
            attempt: 1,
        };
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_500, "a", cancelled)
            .command(12_000, "b", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert!(verdict.reruns[0].detail.contains("a cancelled it"));
    }

    #[test]
    fn a_replaced_run_whose_cancelled_commit_was_fenced_out_justifies_the_rerun() {
        // a dropped the run to replace it and sent its `cancelled` commit, which was fenced out
        // (a's leadership had ended): the tick stayed in flight and the contract demands it run
        // again. The commit of `cancelled` is the record that the command stopped.
        let sent = NodeEvent::CommitsSent {
            token: FencingToken(1),
            commits: vec![cronfence::Commit {
                job: job("j"),
                tick: at(10),
                outcome: cronfence::store::RunOutcome::Cancelled,
            }],
        };
        let fenced = NodeEvent::TickFencedOut {
            job: job("j"),
            tick: at(10),
            token: FencingToken(1),
            operation: FencedOperation::Commit,
        };
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_400, "a", sent)
            .node(10_500, "a", fenced)
            .command(12_000, "a", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert!(verdict.reruns[0]
            .detail
            .contains("a dropped it to replace it"));
    }

    #[test]
    fn a_replaced_run_whose_cancelled_commit_never_went_out_justifies_the_rerun_by_its_drop() {
        // etcd-sim 83327: a dropped the run to replace it, but its leadership was revoked while
        // the `cancelled` commit waited behind another batch, so no commit was sent and the run
        // ended `tick_uncommitted`. The command's own drop record is what shows it stopped.
        let uncommitted = NodeEvent::TickUncommitted {
            job: job("j"),
            tick: at(10),
            token: FencingToken(1),
            attempt: 1,
            reason: "the leadership was lost before the commit got through".into(),
        };
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .command(10_300, "a", dropped("j", 10, 1, 1))
            .node(10_500, "a", uncommitted.clone())
            .node(10_500, "a", revoked(1))
            .command(12_000, "a", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        assert!(verdict.reruns[0].detail.contains("its command was dropped"));
        // Without the drop the command may still be running: the re-run is a duplicate.
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_500, "a", uncommitted)
            .node(10_500, "a", revoked(1))
            .command(12_000, "a", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
    }

    #[test]
    fn a_drop_of_another_leaderships_run_does_not_stop_a_run() {
        // The drop of a's later run (token 2) says nothing of its run under token 1, which b's
        // re-run overlaps.
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_500, "a", revoked(1))
            .command(11_000, "a", dropped("j", 10, 2, 2))
            .command(12_000, "b", began("j", 10, 3, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert!(verdict.violations[0].detail.contains("had not stopped"));
    }

    #[test]
    fn a_cancelled_commit_of_another_leadership_does_not_stop_a_run() {
        // Only the run of the leadership that sent the `cancelled` commit was dropped: a's run
        // under token 1 still goes on when token 2's commit of the tick is sent.
        let sent = NodeEvent::CommitsSent {
            token: FencingToken(2),
            commits: vec![cronfence::Commit {
                job: job("j"),
                tick: at(10),
                outcome: cronfence::store::RunOutcome::Cancelled,
            }],
        };
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .node(10_500, "a", revoked(1))
            .node(10_600, "a", sent)
            .command(12_000, "b", began("j", 10, 3, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert!(verdict.violations[0].detail.contains("had not stopped"));
    }

    #[test]
    fn a_returned_run_whose_commit_never_landed_justifies_the_rerun() {
        // The command returned but its outcome was never committed (no completion recorded):
        // the tick stayed in flight, so running it again is what at-least-once promises.
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .command(10_100, "a", returned("j", 10, 1, 1))
            .node(10_500, "a", revoked(1))
            .command(12_000, "b", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
        let detail = &verdict.reruns[0].detail;
        assert!(detail.contains("its command returned"), "{detail}");
        assert!(detail.contains("lost leadership"), "{detail}");
    }

    #[test]
    fn a_rerun_after_a_commit_the_backend_applied_is_a_duplicate() {
        // The answer to a's commit was lost, but the backend applied it: the tick was done, and
        // b running it again is a duplicate, whatever a's node recorded.
        let applied = crate::history::BackendRecord::CommitApplied {
            election: election(),
            token: FencingToken(1),
            commits: vec![cronfence::Commit {
                job: job("j"),
                tick: at(10),
                outcome: cronfence::store::RunOutcome::Completed,
            }],
        };
        let history = Builder::new()
            .command(10_000, "a", began("j", 10, 1, 1))
            .command(10_100, "a", returned("j", 10, 1, 1))
            .backend(10_200, applied)
            .node(10_500, "a", revoked(1))
            .command(12_000, "b", began("j", 10, 2, 2))
            .build();
        let verdict = observed_verdict(&history);
        assert_eq!(verdict.violations.len(), 1, "{verdict:#?}");
        assert!(verdict.violations[0].detail.contains("committed completed"));
    }

    #[test]
    fn ticks_of_undefined_jobs_are_ignored() {
        // The checker judges only the jobs the run defined.
        let history = Builder::new()
            .node(10_000, "a", started("other", 10, 1, 1))
            .node(12_000, "b", started("other", 10, 2, 1))
            .build();
        let verdict = verdict_of(&history, Delivery::AtMostOnce);
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
    }
}

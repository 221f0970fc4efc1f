//! From when each job is defined, so owed: the instant the backend registered it, as the history
//! proves it. A registration is a node's start reading (`node_started`, `jobs_registered`); the
//! backend keeps the first one that created the job (`checkpoints_read` shows it), and no job
//! exists before that. A registration refused in its answer (`job_rejected`) defines nothing. A
//! creation is never refused, so a start whose reading the backend shows kept created the job,
//! even when that registration's answer was lost.
//!
//! A start reading taken by a clock that read ahead is believed, as the backend believes it, once
//! the clock faults show the node's clock really read that far ahead at its start (the clock
//! contract: its start reading is its only evidence); a start reading no clock could have shown
//! counts as the true start instant. A process takes its start reading when it begins, which may
//! be long before its `node_started` record (the etcd client connects first): the reading is
//! believed if the clock showed it at any instant from the process's beginning (the world's, or
//! the end of the crash or stop that restarted it) to that record (etcd-sim 83767: a restart's
//! reading taken 7 s before its record, during a clock jump over by the record).

use std::collections::{BTreeMap, BTreeSet};

use cronfence::{JobId, NodeEvent};
use jiff::Timestamp;

use crate::check::index::{Index, START_SLACK};
use crate::check::CheckInput;
use crate::fault::FaultKind;
use crate::history::{FaultRecord, What};

/// One answered registration.
struct Registration {
    /// The start reading the node registered.
    since: Timestamp,
    /// From when it defines its jobs: the start reading if the node's clock could show it, or
    /// else the true start instant, whichever is later.
    from: Timestamp,
    /// The jobs refused in its answer.
    refused: BTreeSet<JobId>,
}

/// Every answered registration, and what the backend showed it kept.
pub(crate) struct Defined {
    registered: Vec<Registration>,
    /// Per job, the registration instant the first `checkpoints_read` showing it reported.
    kept: BTreeMap<JobId, Timestamp>,
    /// Every node process's start: (reading, from), answered or not.
    starts: Vec<(Timestamp, Timestamp)>,
    /// The first start recorded at all (histories that predate registration records).
    any: Option<Timestamp>,
}

/// Per node, when each of its later processes began (world-elapsed ns, in order): the end of a
/// crash or a stop restarts it.
fn process_begins<'h>(input: CheckInput<'h>) -> BTreeMap<&'h str, Vec<u64>> {
    let mut begins: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for record in &input.history.records {
        if let What::Fault(FaultRecord::FaultEnded { fault }) = &record.what {
            if matches!(fault.kind, FaultKind::Crash | FaultKind::Stop { .. }) {
                begins
                    .entry(fault.node.as_str())
                    .or_default()
                    .push(record.t_ns);
            }
        }
    }
    begins
}

impl Defined {
    pub(crate) fn of(input: CheckInput<'_>, index: &Index<'_>) -> Self {
        // Per node: its current process's start reading and the instant its jobs are its from.
        let mut started: BTreeMap<&str, (Timestamp, Timestamp)> = BTreeMap::new();
        // Per node: the answer of its registration (its index in `registered`, when).
        let mut answered: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        let mut out = Defined {
            registered: Vec::new(),
            kept: BTreeMap::new(),
            starts: Vec::new(),
            any: None,
        };
        let begins = process_begins(input);
        for (record, event) in input.history.node_events() {
            let node = record.node.as_str();
            match event {
                NodeEvent::NodeStarted { since } => {
                    let lead = since.duration_since(record.true_time);
                    let began = begins.get(node).and_then(|b| {
                        let upto = b.partition_point(|&t| t <= record.t_ns);
                        upto.checked_sub(1).map(|k| b[k])
                    });
                    let furthest =
                        index.clock_furthest_ahead(node, began.unwrap_or(0), record.t_ns);
                    let shown = lead <= furthest + START_SLACK;
                    let from = match shown {
                        true => record.true_time.max(*since),
                        false => record.true_time,
                    };
                    started.insert(node, (*since, from));
                    out.starts.push((*since, from));
                    answered.remove(node);
                    out.any = out.any.or(Some(record.true_time));
                }
                NodeEvent::JobsRegistered { .. } => {
                    if let Some(&(since, from)) = started.get(node) {
                        answered.insert(node, (out.registered.len(), record.t_ns));
                        out.registered.push(Registration {
                            since,
                            from,
                            refused: BTreeSet::new(),
                        });
                    }
                }
                // Refusals come with the answer, at its instant; a later one (a newer definition
                // registered while this node led) does not undo its registration.
                NodeEvent::JobRejected { job, .. } => {
                    if let Some(&(i, _)) = answered.get(node).filter(|a| a.1 == record.t_ns) {
                        out.registered[i].refused.insert(job.clone());
                    }
                }
                NodeEvent::CheckpointsRead { checkpoints, .. } => {
                    for cp in checkpoints {
                        out.kept.entry(cp.job.clone()).or_insert(cp.registered_at);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// From when `job` is owed: the registration the backend kept, when the history shows which
    /// (an accepted registration of that start reading, or a start of that reading whose answer
    /// was lost); else the earliest accepted registration. The first start at all when no node recorded its registration.
    pub(crate) fn of_job(&self, job: &JobId) -> Option<Timestamp> {
        if self.registered.is_empty() {
            return self.any;
        }
        let mut accepted = self.registered.iter().filter(|r| !r.refused.contains(job));
        let kept = self.kept.get(job).and_then(|&at| {
            let mut same = self.registered.iter().filter(|r| !r.refused.contains(job));
            let answered = same.find(|r| r.since == at).map(|r| r.from);
            // Or a start whose registration was applied and its answer lost (memory 72476).
            answered.or_else(|| self.starts.iter().find(|s| s.0 == at).map(|s| s.1))
        });
        kept.or_else(|| accepted.by_ref().map(|r| r.from).min())
            .or(self.any)
    }
}

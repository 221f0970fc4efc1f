//! Checking a history in shards of jobs, so the checkers' cost per tick does not grow with the
//! number of jobs.
//!
//! The no-duplicate, no-gap and liveness checkers judge each tick from the facts of its own job
//! and of the leaderships, nodes and faults around it: none relates two jobs' ticks. So the jobs
//! are cut into shards of at most [`super::SHARD_JOBS`], and each shard is checked on its own
//! history: every record that names no job (elections, leaderships, faults, node starts, and a
//! job's refusal, which takes its node out of the job's whole election), and of each record about
//! jobs only the part about the shard's (a batch of claims, commits or checkpoints keeps its own
//! jobs' items and its `seq`; a batch with none of them is left out). Each shard's checkers build
//! their indexes over that history alone, so they stay the size of one shard's; whether a pause
//! was over by the end is judged against the whole history's last record
//! ([`super::CheckInput::history_end`]). The verdict is the union of the shards' findings, a
//! finding every shard makes (about an election whose jobs span shards) kept once. Fencing (a
//! stale batch is one finding, whatever jobs it holds) and timeliness judge the whole history.
//! `sim/tests/scenarios.rs` checks that shards of one job give every scenario file's verdict.

use std::collections::{BTreeMap, HashMap, HashSet};

use cronfence::{ElectionName, JobId, JobSpec, NodeEvent};

use super::{CheckInput, Finding, Verdict};
use crate::history::{BackendRecord, CommandRecord, History, Record, What};

/// Runs `judge` on each shard of at most `size` jobs and returns the union of their verdicts
/// (timeliness left to the caller).
pub(super) fn judge_in_shards(
    input: CheckInput<'_>,
    size: usize,
    judge: impl Fn(CheckInput<'_>, &mut Verdict),
) -> Verdict {
    let ids: Vec<&JobId> = input.jobs.keys().collect();
    if ids.len() <= size {
        let mut verdict = Verdict::default();
        judge(input, &mut verdict);
        return verdict;
    }
    let shard_of: HashMap<&JobId, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i / size))
        .collect();
    let shards = ids.len().div_ceil(size);
    let positions = positions(input.history, &shard_of, shards);
    let refused = refused(input.history);
    let mut verdict = Verdict::default();
    for (shard, parts) in positions.into_iter().enumerate() {
        let history = History {
            records: parts
                .into_iter()
                .map(|part| only(&input.history.records[part.at as usize], &part.items))
                .collect(),
        };
        let jobs: BTreeMap<JobId, JobSpec> = input
            .jobs
            .iter()
            .filter(|(id, _)| shard_of[id] == shard)
            .map(|(id, spec)| (id.clone(), spec.clone()))
            .collect();
        let found = on_shard(input, &history, &jobs, &refused, |part| {
            let mut found = Verdict::default();
            judge(part, &mut found);
            found
        });
        absorb(&mut verdict, found);
    }
    finish(&mut verdict);
    verdict
}

/// The jobs some node refused (a `job_rejected`, a record naming no job for the shards).
pub(super) fn refused(history: &History) -> HashSet<&JobId> {
    history
        .node_events()
        .filter_map(|(_, event)| match event {
            NodeEvent::JobRejected { job, .. } => Some(job),
            _ => None,
        })
        .collect()
}

/// `f` on one shard's input: `input` with the shard's history, its jobs and their elections.
pub(super) fn on_shard<R>(
    input: CheckInput<'_>,
    history: &History,
    jobs: &BTreeMap<JobId, JobSpec>,
    refused: &HashSet<&JobId>,
    f: impl FnOnce(CheckInput<'_>) -> R,
) -> R {
    let elections = elections(input, jobs, refused);
    f(CheckInput {
        history,
        jobs,
        elections: &elections,
        ..input
    })
}

/// A shard's elections: its jobs', and the election of every job some node refused, which that
/// refusal takes the node out of (every shard reads the refusal).
fn elections(
    input: CheckInput<'_>,
    jobs: &BTreeMap<JobId, JobSpec>,
    refused: &HashSet<&JobId>,
) -> BTreeMap<JobId, ElectionName> {
    input
        .elections
        .iter()
        .filter(|(id, _)| jobs.contains_key(*id) || refused.contains(id))
        .map(|(id, e)| (id.clone(), e.clone()))
        .collect()
}

/// Adds one shard's findings to the verdict.
pub(super) fn absorb(verdict: &mut Verdict, found: Verdict) {
    verdict.violations.extend(found.violations);
    verdict.excused.extend(found.excused);
    verdict.reruns.extend(found.reruns);
}

/// Keeps each finding every shard made once.
pub(super) fn finish(verdict: &mut Verdict) {
    for list in [
        &mut verdict.violations,
        &mut verdict.excused,
        &mut verdict.reruns,
    ] {
        once_each(list);
    }
}

/// Keeps the first of equal findings, in order.
fn once_each(findings: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    findings.retain(|f| seen.insert(serde_json::to_string(f).expect("findings serialise")));
}

/// A shard's part of one record: where it is, and for a batch, which of its items are the
/// shard's (by their place in the batch).
struct Part {
    at: u32,
    items: Option<Vec<u32>>,
}

/// Each shard's parts of the history: every record naming no job in every shard, each record
/// about jobs in the shards of its jobs.
fn positions(
    history: &History,
    shard_of: &HashMap<&JobId, usize>,
    shards: usize,
) -> Vec<Vec<Part>> {
    let mut out: Vec<Vec<Part>> = (0..shards).map(|_| Vec::new()).collect();
    // A job the run did not schedule (none should be named) is the first shard's to judge.
    let shard = |job: &JobId| shard_of.get(job).copied().unwrap_or(0);
    let whole = |at| Part { at, items: None };
    for (at, record) in history.records.iter().enumerate() {
        let at = u32::try_from(at).expect("a history of at most 2^32 records");
        match route(record, shard) {
            Route::Every => out.iter_mut().for_each(|parts| parts.push(whole(at))),
            Route::One(k) => out[k].push(whole(at)),
            Route::Items(items) => {
                for (part, items) in items {
                    out[part].push(Part {
                        at,
                        items: Some(items),
                    });
                }
            }
        }
    }
    out
}

/// Which shards a record goes to.
pub(crate) enum Route {
    /// Every shard: it names no job (or is an empty batch, about its leadership).
    Every,
    /// One shard, whole.
    One(usize),
    /// Per shard, the places of its items in the batch.
    Items(BTreeMap<usize, Vec<u32>>),
}

/// Where `record` goes, with `shard` naming each job's shard.
pub(crate) fn route(record: &Record, shard: impl Fn(&JobId) -> usize) -> Route {
    match jobs_named(&record.what) {
        Named::None => Route::Every,
        Named::One(job) => Route::One(shard(job)),
        Named::Many(jobs) => {
            let mut items: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
            for (i, job) in jobs.enumerate() {
                items.entry(shard(job)).or_default().push(i as u32);
            }
            if items.is_empty() {
                return Route::Every;
            }
            Route::Items(items)
        }
    }
}

/// Which jobs a record is about.
enum Named<'r> {
    /// None: every shard needs it.
    None,
    /// One job.
    One(&'r JobId),
    /// The items of a batch.
    Many(Box<dyn Iterator<Item = &'r JobId> + 'r>),
}

fn jobs_named(what: &What) -> Named<'_> {
    use NodeEvent as E;
    match what {
        What::Node(event) => match event {
            E::ClaimsSent { claims, .. } => Named::Many(Box::new(claims.iter().map(|c| &c.job))),
            E::CommitsSent { commits, .. } => Named::Many(Box::new(commits.iter().map(|c| &c.job))),
            E::CheckpointsRead { checkpoints, .. } => {
                Named::Many(Box::new(checkpoints.iter().map(|c| &c.job)))
            }
            E::TickClaimed { job, .. }
            | E::TickFencedOut { job, .. }
            | E::TickStarted { job, .. }
            | E::TickCompleted { job, .. }
            | E::TickFailed { job, .. }
            | E::TickCancelled { job, .. }
            | E::TickUncommitted { job, .. }
            | E::TicksAbandoned { job, .. }
            | E::TickSkipped { job, .. } => Named::One(job),
            // A refused job takes its node out of the job's whole election (the node leaves
            // it, superseded): every shard must know.
            _ => Named::None,
        },
        What::Command(
            CommandRecord::CommandBegan { job, .. }
            | CommandRecord::CommandEnded { job, .. }
            | CommandRecord::CommandDropped { job, .. },
        ) => Named::One(job),
        What::Backend(BackendRecord::ClaimApplied { claims, .. }) => {
            Named::Many(Box::new(claims.iter().map(|c| &c.job)))
        }
        What::Backend(BackendRecord::CommitApplied { commits, .. }) => {
            Named::Many(Box::new(commits.iter().map(|c| &c.job)))
        }
        What::Backend(BackendRecord::LeadershipGranted { .. }) | What::Fault(_) => Named::None,
    }
}

/// `record` with only the batch items at `items` (the whole record without them).
pub(crate) fn only(record: &Record, items: &Option<Vec<u32>>) -> Record {
    use NodeEvent as E;
    let Some(places) = items else {
        return record.clone();
    };
    fn at<T: Clone>(batch: &[T], places: &[u32]) -> Vec<T> {
        places.iter().map(|&i| batch[i as usize].clone()).collect()
    }
    let what = match &record.what {
        What::Node(E::ClaimsSent {
            token,
            claims,
            evidence,
        }) => What::Node(E::ClaimsSent {
            token: *token,
            claims: at(claims, places),
            evidence: *evidence,
        }),
        What::Node(E::CommitsSent { token, commits }) => What::Node(E::CommitsSent {
            token: *token,
            commits: at(commits, places),
        }),
        What::Node(E::CheckpointsRead {
            election,
            token,
            checkpoints,
        }) => What::Node(E::CheckpointsRead {
            election: election.clone(),
            token: *token,
            checkpoints: at(checkpoints, places),
        }),
        What::Backend(BackendRecord::ClaimApplied {
            election,
            token,
            claims,
        }) => What::Backend(BackendRecord::ClaimApplied {
            election: election.clone(),
            token: *token,
            claims: at(claims, places),
        }),
        What::Backend(BackendRecord::CommitApplied {
            election,
            token,
            commits,
        }) => What::Backend(BackendRecord::CommitApplied {
            election: election.clone(),
            token: *token,
            commits: at(commits, places),
        }),
        other => other.clone(),
    };
    Record {
        seq: record.seq,
        t_ns: record.t_ns,
        true_time: record.true_time,
        node: record.node.clone(),
        clock: record.clock,
        what,
    }
}

#[cfg(test)]
mod tests;

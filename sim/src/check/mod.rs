//! Checkers: the guarantees, verified from a recorded [`History`] alone.
//!
//! Each checker reads the history (and the job definitions the run used) and returns structured
//! [`Finding`]s naming the jobs, ticks, nodes and tokens involved: `violations` break a guarantee,
//! `excused` are ticks that did not run for a reason the history explains, and `reruns` are
//! at-least-once repeats that the delivery contract allows. Timeliness is a measurement, never a
//! verdict. Checkers never look at the runner's internals, only at what was recorded.

mod clocks;
mod duplicate;
mod fencing;
mod gap;
mod index;
mod liveness;
mod oracle;
pub(crate) mod shard;
#[cfg(test)]
pub(crate) mod testkit;
mod timeliness;

use std::collections::BTreeMap;

use cronfence::{ElectionName, JobId, JobSpec};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::history::History;

pub(crate) use timeliness::nearest_rank;
pub use timeliness::{Failover, Timeliness};

/// What the checkers are given.
#[derive(Clone, Copy, Debug)]
pub struct CheckInput<'a> {
    /// The recorded history.
    pub history: &'a History,
    /// The definition of every job the run scheduled.
    pub jobs: &'a BTreeMap<JobId, JobSpec>,
    /// Ticks whose scheduled instant lies in `[from, to]` (true UTC) are expected.
    pub window: (Timestamp, Timestamp),
    /// When the world began and ended (true UTC).
    pub world: (Timestamp, Timestamp),
    /// The election each job belongs to (tokens are only unique within one election).
    pub elections: &'a BTreeMap<JobId, ElectionName>,
    /// What the world recorded besides the nodes' own events.
    pub observed: Observed,
    /// The liveness bound's parts; `None` skips the liveness check.
    pub liveness: Option<LivenessBound>,
    /// The true time of the whole history's last record (`None`: the history is empty). A
    /// shard's history ([`check_in_shards`]) may end earlier: whether a pause was over by the
    /// end is judged against the whole history's.
    pub history_end: Option<Timestamp>,
}

/// What the world recorded besides the nodes' own events, so checkers know which ground truth
/// they may demand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Every job command recorded its own beginning (`command_began`): a run counts as delivered
    /// only if its command began, whatever the runner's `tick_started` says.
    pub commands: bool,
    /// The backend recorded every grant and every claim it applied: a claim the node sent but the
    /// backend never applied is not a checkpoint.
    pub backend: bool,
}

/// The configuration the liveness bound is derived from: once the world has been free of faults
/// for `lease_ttl + election + request_timeout`, some node leads every election, and every tick
/// due then starts within that plus its job's interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessBound {
    /// The session lease TTL: how long a lost leader's lease can still block the election.
    pub lease_ttl: SignedDuration,
    /// The time an election takes once the lease is gone: the longest retry backoff between
    /// campaign attempts.
    pub election: SignedDuration,
    /// One backend call's bound.
    pub request_timeout: SignedDuration,
    /// A scenario's own, wider bound (with its reason), replacing the sum above.
    pub widened: Option<SignedDuration>,
}

impl LivenessBound {
    /// How long a fault-free world may go without a leader.
    pub fn leader(&self) -> SignedDuration {
        self.widened
            .unwrap_or(self.lease_ttl + self.election + self.request_timeout)
    }
}

/// Which checker produced a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checker {
    /// No tick started twice (beyond what at-least-once allows).
    NoDuplicate,
    /// Every expected tick got the outcome its policy demands.
    NoGap,
    /// No claim or commit with a stale token.
    Fencing,
    /// A fault-free world leads and runs its ticks within the liveness bound.
    Liveness,
}

impl Checker {
    /// Its name as the history and reports write it: `no_duplicate`, `no_gap`, `fencing`,
    /// `liveness`.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .expect("a checker serialises as its name")
    }

    /// `<checker>/<kind>` of a violation, as the explorer names a world's failure.
    pub fn kind_of(finding: &Finding) -> String {
        format!("{}/{}", finding.checker.name(), finding.kind)
    }
}

/// One finding: a violation, an excused tick, or an allowed re-run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The checker.
    pub checker: Checker,
    /// A short machine-readable kind, e.g. `duplicate_start`, `missing_tick`, `stale_claim`.
    pub kind: String,
    /// The job, if one is involved.
    pub job: Option<JobId>,
    /// The tick's scheduled instant, if one is involved.
    pub tick: Option<Timestamp>,
    /// The nodes involved.
    pub nodes: Vec<String>,
    /// The fencing tokens involved.
    pub tokens: Vec<u64>,
    /// The history records (`seq`) that show it.
    pub records: Vec<u64>,
    /// One human-readable sentence.
    pub detail: String,
}

/// Everything the checkers found in one history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Broken guarantees.
    pub violations: Vec<Finding>,
    /// Ticks that did not run, each with the reason the history gives.
    pub excused: Vec<Finding>,
    /// At-least-once ticks that ran again, each justified.
    pub reruns: Vec<Finding>,
    /// Lateness and failover measurements.
    pub timeliness: Timeliness,
}

impl Verdict {
    /// True when no guarantee was broken.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations of one checker.
    pub fn violations_of(&self, checker: Checker) -> impl Iterator<Item = &Finding> {
        self.violations.iter().filter(move |f| f.checker == checker)
    }
}

/// The most jobs one shard of a check holds ([`check_in_shards`]).
pub const SHARD_JOBS: usize = 256;

/// Runs every checker, on shards of at most [`SHARD_JOBS`] jobs.
pub fn check(input: CheckInput<'_>) -> Verdict {
    check_in_shards(input, SHARD_JOBS)
}

/// Runs every checker on shards of at most `size` jobs ([`shard`]).
pub fn check_in_shards(input: CheckInput<'_>, size: usize) -> Verdict {
    let mut verdict = shard::judge_in_shards(input, size, judge_shard);
    // A stale batch is one finding however many jobs it holds: fencing judges the whole
    // history, as timeliness measures it.
    fencing::check(input, &mut verdict);
    verdict.timeliness = timeliness::measure(input);
    sort(&mut verdict);
    verdict
}

/// The checkers that judge one shard of jobs: no duplicate, no gap, liveness.
fn judge_shard(input: CheckInput<'_>, verdict: &mut Verdict) {
    duplicate::check(input, verdict);
    let index = index::Index::new(input);
    let given_up_on_clock = gap::check(input, &index, verdict);
    if let Some(bound) = input.liveness {
        liveness::check(input, &index, bound, &given_up_on_clock, verdict);
    }
}

/// Runs every checker on a spooled history ([`crate::spool`]), one shard at a time: `input`
/// holds the records that name no job, every job and every election. Each shard is also judged
/// for fencing (a stale batch split across shards is one finding, the first shard's, which
/// lists that shard's ticks of it) and measured for timeliness (lateness percentiles counted by
/// the microsecond; failovers judged on the records naming no job and where each leadership
/// showed life). What is held across shards: the findings, and the timeliness counts.
pub fn check_spooled(
    input: CheckInput<'_>,
    spooled: &crate::spool::Spooled,
    mut progress: impl FnMut(usize, usize),
) -> Result<Verdict, String> {
    let refused = shard::refused(input.history);
    let mut verdict = Verdict::default();
    let mut measured = timeliness::SpooledMeasure::default();
    let shards = spooled.shards();
    for (k, ids) in shards.iter().enumerate() {
        progress(k, shards.len());
        let history = spooled.shard(k)?;
        let jobs: BTreeMap<JobId, JobSpec> = ids
            .iter()
            .filter_map(|id| input.jobs.get_key_value(id))
            .map(|(id, spec)| (id.clone(), spec.clone()))
            .collect();
        let found = shard::on_shard(input, &history, &jobs, &refused, |part| {
            let mut found = Verdict::default();
            judge_shard(part, &mut found);
            fencing::check(part, &mut found);
            measured.add(part, spooled.kept());
            found
        });
        shard::absorb(&mut verdict, found);
    }
    progress(shards.len(), shards.len());
    shard::finish(&mut verdict);
    let mut batches = std::collections::HashSet::new();
    verdict.violations.retain(|f| {
        f.checker != Checker::Fencing || batches.insert((f.kind.clone(), f.records.clone()))
    });
    verdict.timeliness = measured.finish(spooled.kept());
    sort(&mut verdict);
    Ok(verdict)
}

/// Orders every list of findings by checker, job, tick and records.
fn sort(verdict: &mut Verdict) {
    for list in [
        &mut verdict.violations,
        &mut verdict.excused,
        &mut verdict.reruns,
    ] {
        list.sort_by(|a, b| {
            (a.checker, &a.job, a.tick, &a.records).cmp(&(b.checker, &b.job, b.tick, &b.records))
        });
    }
}
#[cfg(test)]
mod reviewed_holes;

//! An index over one history: the facts several checkers verify excuses against.
//!
//! Built in one pass (plus a few prefix sums), it answers the questions an excuse raises: when
//! did this leadership begin (its `campaign_won`), when did it decide about a job (its
//! `claims_sent` holding a claim of that job), did it end and how (revoked, resigned, stepped down
//! for its clock in that election, its node crashed, paused or stopped), which ticks did it claim
//! and did the backend apply the claim, which runs of a tick really began and ended (the
//! commands' own records), and was a run of a job in progress at a given moment. A leadership is
//! named by its node, election and token, because tokens are only unique within one election.
//! This module only gathers facts; the checkers judge.

use std::collections::BTreeMap;

use cronfence::store::RunOutcome;
use cronfence::{ClaimKind, ElectionName, JobId, NodeEvent};
use jiff::Timestamp;

use super::CheckInput;
use reads::Reads;

mod ends;
mod evidence;
pub(crate) use evidence::START_SLACK;
mod reads;
mod waiting;
use crate::fault::FaultKind;
use crate::history::{BackendRecord, CommandRecord, FaultRecord, Record, What};

/// A tick's identity: the job and its scheduled instant.
pub(crate) type TickKey = (JobId, Timestamp);

/// Where a run's commit as `cancelled` took effect ([`Index::cancel_committed`]).
pub(crate) struct CancelCommitted {
    /// Where it took effect (no later than).
    pub(crate) end: usize,
    /// The commit sent.
    pub(crate) commit: usize,
    /// The later checkpoint read that proves it, where nothing else does.
    pub(crate) read: Option<usize>,
}

/// A leadership: the node that held it, the election, the token.
pub(crate) type LeaderKey<'h> = (&'h str, &'h ElectionName, u64);

/// One run that began: where in the history, on which node, under which token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Began<'h> {
    pub(crate) index: usize,
    pub(crate) node: &'h str,
    pub(crate) token: u64,
}

/// A claim batch's clock evidence, verified against its witness reading.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Witnessed {
    /// How far ahead of true time the evidence read.
    pub(crate) lead: jiff::SignedDuration,
    /// How long before the decision the witness reading was taken.
    pub(crate) age: std::time::Duration,
    /// How far ahead the node's clock read at that reading.
    pub(crate) vouched: jiff::SignedDuration,
}

/// A record that ended a leadership, or all of a node's leaderships.
#[derive(Clone, Debug)]
pub(crate) struct Ending {
    pub(crate) index: usize,
    pub(crate) how: EndKind,
}

/// How a leadership ended (or may have: a pause the node survives ends nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndKind {
    /// `leadership_revoked`.
    Revoked,
    /// `resigned`.
    Resigned,
    /// `clock_behind` in that election.
    SteppedDownForClock,
    /// The node crashed.
    Crashed,
    /// The node was paused.
    Paused,
    /// The node was stopped gracefully.
    Stopped,
    /// The backend refused the node's definition of a job of that election as superseded by a
    /// newer spec (`job_rejected` while leading): the node leaves the election for good.
    Superseded,
}

impl std::fmt::Display for EndKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndKind::Revoked => "revoked",
            EndKind::Resigned => "resigned",
            EndKind::SteppedDownForClock => "stepped down for its clock",
            EndKind::Superseded => "superseded by a newer job spec",
            EndKind::Crashed => "crashed",
            EndKind::Paused => "was paused",
            EndKind::Stopped => "stopped",
        })
    }
}

/// Positions of a tick's records of one kind on one node: nearly always one or two, kept
/// inline (as wide as a `Vec`), so a history of a million ticks does not allocate one list per
/// tick per kind.
type Positions = smallvec::SmallVec<[usize; 2]>;

/// The runs one leadership made of one job, in history order, with what a query needs.
#[derive(Default)]
struct LeaderRuns {
    /// (position it began, its tick, position it ended or `usize::MAX`).
    runs: Vec<(usize, Timestamp, usize)>,
    /// `latest_end[k]`: the latest recorded end among `runs[..=k]` (0 if none).
    latest_end: Vec<usize>,
    /// The positions in `runs` of the runs with no recorded end, ascending (few: one per cut).
    unended: Vec<usize>,
    /// `newest_after[k]`: the newest tick among `runs[k..]`.
    newest_after: Vec<Timestamp>,
}

/// The facts of one history.
pub(crate) struct Index<'h> {
    pub(crate) records: &'h [Record],
    /// The true time of the whole history's last record ([`super::CheckInput::history_end`]).
    pub(crate) history_end: Option<jiff::Timestamp>,
    /// The election each defined job belongs to.
    elections: &'h BTreeMap<JobId, ElectionName>,
    /// True when the world recorded each command's beginning and end.
    pub(crate) commands_observed: bool,
    /// True when the backend recorded what it applied.
    pub(crate) backend_observed: bool,
    /// Runs that began, per tick, in history order (commands' records, or the runner's
    /// `tick_started` when commands were not observed).
    pub(crate) began: BTreeMap<TickKey, Vec<Began<'h>>>,
    /// Per leadership, the positions of its `campaign_won` records (a holder that campaigns again
    /// on the same lease may be handed the same token).
    wins: BTreeMap<LeaderKey<'h>, Vec<usize>>,
    /// Per (node, token), positions of its `claims_sent`, ascending.
    sent: BTreeMap<(&'h str, u64), Vec<usize>>,
    /// Per (node, token, job), positions of its `claims_sent` holding a claim of that job.
    sent_for: BTreeMap<(&'h str, u64, JobId), Vec<usize>>,
    /// Per leadership, the records that ended it (revoked, resigned), ascending.
    ended: BTreeMap<LeaderKey<'h>, Vec<Ending>>,
    /// Per (node, election), its steps down for the clock and its leaving the election for a
    /// superseded job spec.
    clock_behind: BTreeMap<(&'h str, &'h ElectionName), Vec<Ending>>,
    /// Per node, records that end every leadership it holds (crash, pause, stop).
    node_ends: BTreeMap<&'h str, Vec<Ending>>,
    /// Per node, the ends of its crashes (`fault_ended`): where a new process may have started.
    restarts: BTreeMap<&'h str, Vec<usize>>,
    /// Per node, where the harness handed it a graceful stop (`stop_reached`).
    stops_handed: BTreeMap<&'h str, Vec<usize>>,
    /// Per (election, token), the node the backend granted it to.
    holders: BTreeMap<(&'h ElectionName, u64), &'h str>,
    /// Per leadership, the claim batches the backend applied: (position, claims).
    applied: BTreeMap<LeaderKey<'h>, Vec<(usize, &'h [cronfence::Claim])>>,
    /// Per (node, token, tick), positions of `tick_claimed` records.
    claimed: BTreeMap<(&'h str, u64, TickKey), Positions>,
    /// Per (node, token, job), the runs that began.
    by_leader: BTreeMap<(&'h str, u64, JobId), LeaderRuns>,
    /// Per job, the (node, token) of each leadership in `by_leader` that ran it, in that map's
    /// order: the leaderships of one job without a walk over every job's.
    leaders_of: BTreeMap<JobId, Vec<(&'h str, u64)>>,
    /// Per (node, tick), positions of records that ended a run of it on that node: completed,
    /// failed, cancelled, fenced out.
    run_ends: BTreeMap<(&'h str, TickKey), Positions>,
    /// Per (node, tick), positions of `tick_completed` and `tick_failed`, and of commits that may
    /// have counted it: applied by the backend for that node, or (unobserved) sent.
    finishes: BTreeMap<(&'h str, TickKey), Positions>,
    /// Per (node, tick), positions of `command_ended` records.
    command_ends: BTreeMap<(&'h str, TickKey), Positions>,
    /// Per (node, token, tick), positions of `commits_sent` committing it `cancelled`: only overlap
    /// `Replace` commits a run cancelled.
    cancel_commits: BTreeMap<(&'h str, u64, TickKey), Vec<usize>>,
    /// Per (holder, token, tick), positions where the backend applied a commit of it as
    /// `cancelled`.
    cancels_applied: BTreeMap<(&'h str, u64, TickKey), Vec<usize>>,
    /// Checkpoint reads, and the writes that could change what they show.
    reads: Reads<'h>,
    /// Ticks some leader skipped for overlap (the no-gap checker verifies each skip).
    pub(crate) skipped: std::collections::BTreeSet<TickKey>,
    /// Every node's clock, for what its readings let it know.
    clocks: super::clocks::NodeClocks,
}

impl<'h> Index<'h> {
    /// Indexes the history of `input`.
    pub(crate) fn new(input: CheckInput<'h>) -> Self {
        let mut index = Index {
            records: &input.history.records,
            history_end: input.history_end,
            elections: input.elections,
            commands_observed: input.observed.commands,
            backend_observed: input.observed.backend,
            began: BTreeMap::new(),
            wins: BTreeMap::new(),
            sent: BTreeMap::new(),
            sent_for: BTreeMap::new(),
            ended: BTreeMap::new(),
            clock_behind: BTreeMap::new(),
            node_ends: BTreeMap::new(),
            restarts: BTreeMap::new(),
            stops_handed: BTreeMap::new(),
            holders: BTreeMap::new(),
            applied: BTreeMap::new(),
            claimed: BTreeMap::new(),
            by_leader: BTreeMap::new(),
            leaders_of: BTreeMap::new(),
            run_ends: BTreeMap::new(),
            finishes: BTreeMap::new(),
            command_ends: BTreeMap::new(),
            cancel_commits: BTreeMap::new(),
            cancels_applied: BTreeMap::new(),
            reads: Reads::default(),
            skipped: Default::default(),
            clocks: super::clocks::NodeClocks::new(input.history),
        };
        for (i, record) in input.history.records.iter().enumerate() {
            index.add(i, record);
        }
        index.summarise_runs();
        index
    }

    fn add(&mut self, i: usize, record: &'h Record) {
        let node = record.node.as_str();
        match &record.what {
            What::Command(CommandRecord::CommandBegan {
                job, tick, token, ..
            }) if self.commands_observed => self.began_at(i, node, job, *tick, token.0),
            What::Command(CommandRecord::CommandEnded { job, tick, .. }) => {
                let key = (node, (job.clone(), *tick));
                self.command_ends.entry(key).or_default().push(i);
            }
            What::Node(event) => {
                self.reads.add(i, node, event);
                self.add_node_event(i, node, event);
            }
            What::Fault(FaultRecord::FaultStarted { fault }) => {
                let how = match fault.kind {
                    FaultKind::Crash => EndKind::Crashed,
                    FaultKind::Pause => EndKind::Paused,
                    FaultKind::Stop { .. } => EndKind::Stopped,
                    _ => return,
                };
                let ending = Ending { index: i, how };
                self.node_ends.entry(&fault.node).or_default().push(ending);
            }
            What::Fault(FaultRecord::FaultEnded { fault }) if fault.kind == FaultKind::Crash => {
                self.restarts.entry(&fault.node).or_default().push(i);
            }
            What::Fault(FaultRecord::StopReached) => {
                self.stops_handed.entry(node).or_default().push(i);
            }
            What::Backend(backend) => self.add_backend(i, backend),
            _ => {}
        }
    }

    fn add_backend(&mut self, i: usize, record: &'h BackendRecord) {
        match record {
            BackendRecord::LeadershipGranted {
                election,
                token,
                holder,
            } => {
                self.holders.insert((election, token.0), holder);
            }
            BackendRecord::ClaimApplied {
                election,
                token,
                claims,
            } => {
                if let Some(&holder) = self.holders.get(&(election, token.0)) {
                    let key = (holder, election, token.0);
                    self.applied.entry(key).or_default().push((i, claims));
                }
            }
            BackendRecord::CommitApplied {
                election,
                token,
                commits,
            } => {
                if let Some(&holder) = self.holders.get(&(election, token.0)) {
                    for c in commits {
                        let tick = (c.job.clone(), c.tick);
                        if c.outcome == RunOutcome::Cancelled {
                            let key = (holder, token.0, tick);
                            self.cancels_applied.entry(key).or_default().push(i);
                        } else {
                            self.finishes.entry((holder, tick)).or_default().push(i);
                        }
                    }
                }
            }
        }
    }

    fn add_node_event(&mut self, i: usize, node: &'h str, event: &'h NodeEvent) {
        match event {
            NodeEvent::TickStarted {
                job, tick, token, ..
            } if !self.commands_observed => self.began_at(i, node, job, *tick, token.0),
            NodeEvent::CampaignWon { election, token } => {
                self.wins
                    .entry((node, election, token.0))
                    .or_default()
                    .push(i);
            }
            NodeEvent::ClaimsSent { token, claims, .. } => {
                self.sent.entry((node, token.0)).or_default().push(i);
                let mut jobs: Vec<&JobId> = claims.iter().map(|c| &c.job).collect();
                jobs.sort();
                jobs.dedup();
                for job in jobs {
                    let key = (node, token.0, job.clone());
                    self.sent_for.entry(key).or_default().push(i);
                }
            }
            NodeEvent::CommitsSent { commits, token } => {
                for c in commits {
                    let tick = (c.job.clone(), c.tick);
                    if c.outcome == RunOutcome::Cancelled {
                        let key = (node, token.0, tick);
                        self.cancel_commits.entry(key).or_default().push(i);
                    } else if !self.backend_observed {
                        self.finishes.entry((node, tick)).or_default().push(i);
                    }
                }
            }
            NodeEvent::TickSkipped { job, tick, .. } => {
                self.skipped.insert((job.clone(), *tick));
            }
            NodeEvent::TickClaimed {
                job, tick, token, ..
            } => {
                let key = (node, token.0, (job.clone(), *tick));
                self.claimed.entry(key).or_default().push(i);
            }
            NodeEvent::TickCompleted { job, tick, .. }
            | NodeEvent::TickFailed { job, tick, .. } => {
                let key = (node, (job.clone(), *tick));
                self.finishes.entry(key.clone()).or_default().push(i);
                self.run_ends.entry(key).or_default().push(i);
            }
            NodeEvent::TickCancelled { job, tick, .. }
            | NodeEvent::TickFencedOut { job, tick, .. } => {
                let key = (node, (job.clone(), *tick));
                self.run_ends.entry(key).or_default().push(i);
            }
            NodeEvent::LeadershipRevoked {
                election, token, ..
            } => self.end(node, election, token.0, i, EndKind::Revoked),
            NodeEvent::Resigned { election, token } => {
                self.end(node, election, token.0, i, EndKind::Resigned)
            }
            NodeEvent::ClockBehind { election, .. } => {
                let ending = Ending {
                    index: i,
                    how: EndKind::SteppedDownForClock,
                };
                self.clock_behind
                    .entry((node, election))
                    .or_default()
                    .push(ending);
            }
            NodeEvent::JobRejected { job, .. } => {
                if let Some(election) = self.elections.get(job) {
                    let ending = Ending {
                        index: i,
                        how: EndKind::Superseded,
                    };
                    self.clock_behind
                        .entry((node, election))
                        .or_default()
                        .push(ending);
                }
            }
            _ => {}
        }
    }

    fn began_at(&mut self, i: usize, node: &'h str, job: &JobId, tick: Timestamp, token: u64) {
        let run = Began {
            index: i,
            node,
            token,
        };
        self.began.entry((job.clone(), tick)).or_default().push(run);
        let runs = self
            .by_leader
            .entry((node, token, job.clone()))
            .or_default();
        runs.runs.push((i, tick, usize::MAX));
    }

    fn end(
        &mut self,
        node: &'h str,
        election: &'h ElectionName,
        token: u64,
        i: usize,
        how: EndKind,
    ) {
        let ending = Ending { index: i, how };
        self.ended
            .entry((node, election, token))
            .or_default()
            .push(ending);
    }

    /// Each run's end (its first completion, failure, cancellation or fence-out on its node),
    /// and the prefix and suffix summaries the in-progress and moved-on queries search.
    fn summarise_runs(&mut self) {
        for &(node, token, ref job) in self.by_leader.keys() {
            let leaders = self.leaders_of.entry(job.clone()).or_default();
            leaders.push((node, token));
        }
        for ((node, _, job), list) in self.by_leader.iter_mut() {
            for (began, tick, end) in list.runs.iter_mut() {
                let ends = self.run_ends.get(&(*node, (job.clone(), *tick)));
                *end = ends
                    .and_then(|e| e.iter().copied().find(|&e| e > *began))
                    .unwrap_or(usize::MAX);
            }
            // Runs with no recorded end stay out of the running maximum, so one cut run does
            // not turn every later query into a scan; they are listed apart.
            let mut latest = 0;
            list.latest_end = list
                .runs
                .iter()
                .map(|r| {
                    if r.2 != usize::MAX {
                        latest = latest.max(r.2);
                    }
                    latest
                })
                .collect();
            list.unended = (0..list.runs.len())
                .filter(|&k| list.runs[k].2 == usize::MAX)
                .collect();
            let mut newest = Timestamp::MIN;
            let mut suffix: Vec<Timestamp> = list
                .runs
                .iter()
                .rev()
                .map(|r| {
                    newest = newest.max(r.1);
                    newest
                })
                .collect();
            suffix.reverse();
            list.newest_after = suffix;
        }
    }

    /// The election `job` belongs to, if the job is defined.
    pub(crate) fn election_of(&self, job: &JobId) -> Option<&'h ElectionName> {
        self.elections.get(job)
    }

    /// The position of the last `campaign_won` that began `node`'s leadership `token` of `job`'s
    /// election before position `before`.
    pub(crate) fn won(
        &self,
        node: &'h str,
        job: &JobId,
        token: u64,
        before: usize,
    ) -> Option<usize> {
        let election = self.election_of(job)?;
        let wins = self.wins.get(&(node, election, token))?;
        wins.iter().copied().take_while(|&i| i < before).last()
    }

    /// Where `node` claimed `key` with `token` before position `before`: a claim the backend
    /// applied for that leadership when the backend is observed (a claim it never applied is no
    /// checkpoint, whatever the node recorded); otherwise a `tick_claimed`, or a `claims_sent`
    /// holding it.
    pub(crate) fn claimed_run(
        &self,
        node: &'h str,
        token: u64,
        key: &TickKey,
        before: usize,
    ) -> Option<usize> {
        if self.backend_observed {
            return self.applied_where(node, &key.0, token, before, |c| is_run(c, key));
        }
        if let Some(&i) = self
            .claimed
            .get(&(node, token, key.clone()))
            .and_then(|list| list.iter().find(|&&i| i < before))
        {
            return Some(i);
        }
        self.sent_runs(node, token, key, before).next()
    }

    /// The position of the last `claims_sent` of `node`'s leadership `token` before `before`
    /// holding a claim to run `key` (where the node sent it, whatever the backend did with it).
    pub(crate) fn sent_run(
        &self,
        node: &'h str,
        token: u64,
        key: &TickKey,
        before: usize,
    ) -> Option<usize> {
        self.sent_runs(node, token, key, before).last()
    }

    /// The position of the last `claims_sent` of `node`'s leadership `token` before `before`
    /// holding a drop of `job`'s `tick`.
    pub(crate) fn sent_drop(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        tick: Timestamp,
        before: usize,
    ) -> Option<usize> {
        let is_drop =
            |c: &cronfence::Claim| &c.job == job && c.tick == tick && c.kind == ClaimKind::Drop;
        self.sent_where(node, token, before, is_drop).last()
    }

    /// The positions of `node`'s leadership `token`'s `claims_sent` before `before` holding a
    /// claim to run `key`, oldest first.
    fn sent_runs<'a>(
        &'a self,
        node: &'h str,
        token: u64,
        key: &'a TickKey,
        before: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        self.sent_where(node, token, before, move |c| is_run(c, key))
    }

    /// The positions of `node`'s leadership `token`'s `claims_sent` before `before` holding a
    /// claim that `pick` accepts, oldest first.
    fn sent_where<'a>(
        &'a self,
        node: &'h str,
        token: u64,
        before: usize,
        pick: impl Fn(&cronfence::Claim) -> bool + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        let sent = self.sent.get(&(node, token)).map_or(&[][..], Vec::as_slice);
        sent.iter()
            .copied()
            .take_while(move |&i| i < before)
            .filter(move |&i| {
                matches!(&self.records[i].what, What::Node(NodeEvent::ClaimsSent { claims, .. })
                if claims.iter().any(&pick))
            })
    }

    /// The position of a claim batch the backend applied for `node`'s leadership `token` of
    /// `job`'s election before `before` holding a claim that `pick` accepts.
    pub(crate) fn applied_where(
        &self,
        node: &'h str,
        job: &JobId,
        token: u64,
        before: usize,
        pick: impl Fn(&cronfence::Claim) -> bool,
    ) -> Option<usize> {
        let election = self.election_of(job)?;
        let batches = self.applied.get(&(node, election, token))?;
        batches
            .iter()
            .take_while(|(i, _)| *i < before)
            .find(|(_, claims)| claims.iter().any(&pick))
            .map(|(i, _)| *i)
    }

    /// The position of a claim of a tick of `job` newer than `tick` by `node` with `token`
    /// before position `before` (applied by the backend, where it is observed).
    pub(crate) fn claimed_newer(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        tick: Timestamp,
        before: usize,
    ) -> Option<usize> {
        if self.backend_observed {
            let newer =
                |c: &cronfence::Claim| &c.job == job && c.tick > tick && c.kind != ClaimKind::Drop;
            return self.applied_where(node, job, token, before, newer);
        }
        let from = (node, token, (job.clone(), tick));
        let to = (node, token, (job.clone(), Timestamp::MAX));
        self.claimed
            .range(from..=to)
            .filter(|((_, _, (_, t)), _)| *t > tick)
            .flat_map(|(_, list)| list.iter().copied())
            .find(|&i| i < before)
    }

    /// The first position in `within` where `node` claimed a tick of `job` newer than `tick` with
    /// `token` (applied by the backend, where it is observed).
    pub(crate) fn claimed_newer_within(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        tick: Timestamp,
        within: std::ops::Range<usize>,
    ) -> Option<usize> {
        if self.backend_observed {
            let election = self.election_of(job)?;
            let batches = self.applied.get(&(node, election, token))?;
            let newer =
                |c: &cronfence::Claim| &c.job == job && c.tick > tick && c.kind != ClaimKind::Drop;
            return batches
                .iter()
                .filter(|(i, _)| within.contains(i))
                .find(|(_, claims)| claims.iter().any(newer))
                .map(|(i, _)| *i);
        }
        let from = (node, token, (job.clone(), tick));
        let to = (node, token, (job.clone(), Timestamp::MAX));
        self.claimed
            .range(from..=to)
            .filter(|((_, _, (_, t)), _)| *t > tick)
            .flat_map(|(_, list)| list.iter().copied())
            .filter(|i| within.contains(i))
            .min()
    }

    /// A run of `job` by `node` under `token` that began before position `at` and had not ended
    /// by then (no completion, failure, cancellation or fence-out of it on that node).
    pub(crate) fn running_at(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        at: usize,
    ) -> Option<usize> {
        let list = self.by_leader.get(&(node, token, job.clone()))?;
        let upto = list.runs.partition_point(|r| r.0 < at);
        if upto > 0 && list.latest_end[upto - 1] > at {
            // The newest run begun before `at` and not ended by then, whatever its end.
            return list.runs[..upto]
                .iter()
                .rev()
                .find(|r| r.2 > at)
                .map(|r| r.0);
        }
        // No recorded end reaches past `at`: only a run with none can be going.
        let cut = list.unended.partition_point(|&k| k < upto);
        list.unended[..cut].last().map(|&k| list.runs[k].0)
    }

    /// The tick of the run that began at position `run` (a `command_began` or `tick_started`).
    pub(crate) fn run_tick(&self, run: usize) -> Option<Timestamp> {
        match &self.records[run].what {
            What::Command(CommandRecord::CommandBegan { tick, .. }) => Some(*tick),
            What::Node(NodeEvent::TickStarted { tick, .. }) => Some(*tick),
            _ => None,
        }
    }

    /// The first run of `job` by `node` under `token` that began after position `at`.
    pub(crate) fn first_run_after(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        at: usize,
    ) -> Option<usize> {
        let list = self.by_leader.get(&(node, token, job.clone()))?;
        let from = list.runs.partition_point(|r| r.0 <= at);
        list.runs.get(from).map(|r| r.0)
    }

    /// A run of `job` by `node` under `token` of a tick newer than `tick` that began strictly
    /// after true time `after`: the leadership moved on past `tick`.
    pub(crate) fn ran_newer(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        tick: Timestamp,
        after: Timestamp,
    ) -> Option<usize> {
        let list = self.by_leader.get(&(node, token, job.clone()))?;
        let from = list.runs.partition_point(|r| self.time(r.0) <= after);
        if from == list.runs.len() || list.newest_after[from] <= tick {
            return None;
        }
        list.runs[from..].iter().find(|r| r.1 > tick).map(|r| r.0)
    }

    /// Every leadership won, in history order: (position, node, election, token).
    pub(crate) fn wins(
        &self,
    ) -> impl Iterator<Item = (usize, &'h str, &'h ElectionName, u64)> + '_ {
        let mut wins: Vec<_> = self
            .wins
            .iter()
            .flat_map(|(&(n, e, t), list)| list.iter().map(move |&i| (i, n, e, t)))
            .collect();
        wins.sort_by_key(|w| w.0);
        wins.into_iter()
    }

    /// The runs of `key` that began.
    pub(crate) fn runs(&self, key: &TickKey) -> &[Began<'h>] {
        self.began.get(key).map_or(&[], Vec::as_slice)
    }

    /// True time of the record at `index`.
    pub(crate) fn time(&self, index: usize) -> Timestamp {
        self.records[index].true_time
    }

    /// The leaderships whose checkpoint read shows `key` in flight (at least once, they owe it a
    /// run): (position of the read, node, token).
    pub(crate) fn read_in_flight(&self, key: &TickKey) -> Vec<(usize, &'h str, u64)> {
        self.election_of(&key.0)
            .map(|election| self.reads.in_flight_for(election, key))
            .unwrap_or_default()
    }

    /// The `seq` of the record at `index`.
    pub(crate) fn seq(&self, index: usize) -> u64 {
        self.records[index].seq
    }
}

/// A claim to run `key` (not a drop).
fn is_run(claim: &cronfence::Claim, key: &TickKey) -> bool {
    claim.job == key.0 && claim.tick == key.1 && claim.kind != ClaimKind::Drop
}

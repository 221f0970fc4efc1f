//! An index over one history: the facts several checkers verify excuses against.
//!
//! Built in one pass, it answers the questions an excuse raises: when did this leadership begin
//! (its `campaign_won`), when did it decide (its `claims_sent`), did it end and how (revoked,
//! resigned, stepped down for its clock, its node crashed, paused or stopped), which ticks did it
//! claim and did the backend apply the claim, and which runs of a tick really began (the
//! commands' own records). A leadership is named by its node, election and token, because tokens
//! are only unique within one election. This module only gathers facts; the checkers judge.

use std::collections::BTreeMap;

use cronfence::store::RunOutcome;
use cronfence::{ClaimKind, ElectionName, JobId, NodeEvent};
use jiff::Timestamp;

use super::CheckInput;
use crate::fault::FaultKind;
use crate::history::{BackendRecord, CommandRecord, FaultRecord, Record, What};

/// A tick's identity: the job and its scheduled instant.
pub(crate) type TickKey = (JobId, Timestamp);

/// A leadership: the node that held it, the election, the token.
pub(crate) type LeaderKey<'h> = (&'h str, &'h ElectionName, u64);

/// Per (node, token, job), the runs that began: (position, tick).
type LeaderRuns<'h> = BTreeMap<(&'h str, u64, JobId), Vec<(usize, Timestamp)>>;

/// One run that began: where in the history, on which node, under which token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Began<'h> {
    pub(crate) index: usize,
    pub(crate) node: &'h str,
    pub(crate) token: u64,
}

/// A record that ended a leadership, or all of a node's leaderships.
#[derive(Clone, Debug)]
pub(crate) struct Ending {
    pub(crate) index: usize,
    /// "revoked", "resigned", "stepped down for its clock", "crashed", "was paused", "stopped".
    pub(crate) how: &'static str,
}

/// The facts of one history.
pub(crate) struct Index<'h> {
    pub(crate) records: &'h [Record],
    /// The election each defined job belongs to.
    elections: &'h BTreeMap<JobId, ElectionName>,
    /// True when the world recorded each command's beginning.
    pub(crate) commands_observed: bool,
    /// True when the backend recorded what it applied.
    pub(crate) backend_observed: bool,
    /// Runs that began, per tick, in history order (commands' records, or the runner's
    /// `tick_started` when commands were not observed).
    pub(crate) began: BTreeMap<TickKey, Vec<Began<'h>>>,
    /// Per leadership, the position of its `campaign_won`.
    wins: BTreeMap<LeaderKey<'h>, usize>,
    /// Per (node, token), positions of its `claims_sent`, ascending.
    sent: BTreeMap<(&'h str, u64), Vec<usize>>,
    /// Per leadership, the records that ended it (revoked, resigned), ascending.
    ended: BTreeMap<LeaderKey<'h>, Vec<Ending>>,
    /// Per node, records that end every leadership it holds (crash, pause, stop, clock step-down).
    node_ends: BTreeMap<&'h str, Vec<Ending>>,
    /// Per (election, token), the node the backend granted it to.
    holders: BTreeMap<(&'h ElectionName, u64), &'h str>,
    /// Per leadership, the claim batches the backend applied: (position, claims).
    applied: BTreeMap<LeaderKey<'h>, Vec<(usize, &'h [cronfence::Claim])>>,
    /// Per (node, token, tick), positions of `tick_claimed` records.
    claimed: BTreeMap<(&'h str, u64, TickKey), Vec<usize>>,
    /// Per (node, token, job), the runs that began: (position, tick), in history order.
    by_leader: LeaderRuns<'h>,
    /// Per (node, tick), positions of records that ended a run of it on that node: completed,
    /// failed, cancelled, fenced out.
    run_ends: BTreeMap<(&'h str, TickKey), Vec<usize>>,
    /// Per (node, tick), positions of `tick_completed` and `tick_failed` (the run counted), and
    /// of commits that may have counted it: applied by the backend for that node's leadership,
    /// or (where the backend cannot be observed) sent.
    finishes: BTreeMap<(&'h str, TickKey), Vec<usize>>,
}

impl<'h> Index<'h> {
    /// Indexes the history of `input`.
    pub(crate) fn new(input: CheckInput<'h>) -> Self {
        let mut index = Index {
            records: &input.history.records,
            elections: input.elections,
            commands_observed: input.observed.commands,
            backend_observed: input.observed.backend,
            began: BTreeMap::new(),
            wins: BTreeMap::new(),
            sent: BTreeMap::new(),
            ended: BTreeMap::new(),
            node_ends: BTreeMap::new(),
            holders: BTreeMap::new(),
            applied: BTreeMap::new(),
            claimed: BTreeMap::new(),
            by_leader: BTreeMap::new(),
            run_ends: BTreeMap::new(),
            finishes: BTreeMap::new(),
        };
        for (i, record) in input.history.records.iter().enumerate() {
            index.add(i, record);
        }
        index
    }

    fn add(&mut self, i: usize, record: &'h Record) {
        let node = record.node.as_str();
        match &record.what {
            What::Command(CommandRecord::CommandBegan {
                job, tick, token, ..
            }) if self.commands_observed => self.began_at(i, node, job, *tick, token.0),
            What::Node(event) => self.add_node_event(i, node, event),
            What::Fault(FaultRecord::FaultStarted { fault }) => {
                let how = match fault.kind {
                    FaultKind::Crash => "crashed",
                    FaultKind::Pause => "was paused",
                    ref kind if kind.name() == "stop" => "stopped",
                    _ => return,
                };
                let ending = Ending { index: i, how };
                self.node_ends.entry(&fault.node).or_default().push(ending);
            }
            What::Backend(BackendRecord::LeadershipGranted {
                election,
                token,
                holder,
            }) => {
                self.holders.insert((election, token.0), holder);
            }
            What::Backend(BackendRecord::CommitApplied {
                election,
                token,
                commits,
            }) => {
                if let Some(&holder) = self.holders.get(&(election, token.0)) {
                    for c in commits
                        .iter()
                        .filter(|c| c.outcome != RunOutcome::Cancelled)
                    {
                        let key = (holder, (c.job.clone(), c.tick));
                        self.finishes.entry(key).or_default().push(i);
                    }
                }
            }
            What::Backend(BackendRecord::ClaimApplied {
                election,
                token,
                claims,
            }) => {
                if let Some(&holder) = self.holders.get(&(election, token.0)) {
                    let key = (holder, election, token.0);
                    self.applied.entry(key).or_default().push((i, claims));
                }
            }
            _ => {}
        }
    }

    fn add_node_event(&mut self, i: usize, node: &'h str, event: &'h NodeEvent) {
        match event {
            NodeEvent::TickStarted {
                job, tick, token, ..
            } if !self.commands_observed => self.began_at(i, node, job, *tick, token.0),
            NodeEvent::CampaignWon { election, token } => {
                self.wins.insert((node, election, token.0), i);
            }
            NodeEvent::ClaimsSent { token, .. } => {
                self.sent.entry((node, token.0)).or_default().push(i);
            }
            NodeEvent::CommitsSent { commits, .. } if !self.backend_observed => {
                for c in commits
                    .iter()
                    .filter(|c| c.outcome != RunOutcome::Cancelled)
                {
                    let key = (node, (c.job.clone(), c.tick));
                    self.finishes.entry(key).or_default().push(i);
                }
            }
            NodeEvent::TickClaimed {
                job, tick, token, ..
            } => {
                let key = (node, token.0, (job.clone(), *tick));
                self.claimed.entry(key).or_default().push(i);
            }
            NodeEvent::LeadershipRevoked {
                election, token, ..
            } => self.end(node, election, token.0, i, "revoked"),
            NodeEvent::Resigned { election, token } => {
                self.end(node, election, token.0, i, "resigned")
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
            NodeEvent::ClockBehind { .. } => {
                let ending = Ending {
                    index: i,
                    how: "stepped down for its clock",
                };
                self.node_ends.entry(node).or_default().push(ending);
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
        let key = (node, token, job.clone());
        self.by_leader.entry(key).or_default().push((i, tick));
    }

    fn end(
        &mut self,
        node: &'h str,
        election: &'h ElectionName,
        token: u64,
        i: usize,
        how: &'static str,
    ) {
        let ending = Ending { index: i, how };
        self.ended
            .entry((node, election, token))
            .or_default()
            .push(ending);
    }

    /// The election `job` belongs to, if the job is defined.
    pub(crate) fn election_of(&self, job: &JobId) -> Option<&'h ElectionName> {
        self.elections.get(job)
    }

    /// The position of the `campaign_won` that began `node`'s leadership `token` of `job`'s
    /// election, if one was recorded.
    pub(crate) fn won(&self, node: &'h str, job: &JobId, token: u64) -> Option<usize> {
        let election = self.election_of(job)?;
        self.wins.get(&(node, election, token)).copied()
    }

    /// The position of the last `claims_sent` by `node` with `token` before position `before`:
    /// the moment that leadership took the decision recorded at `before`.
    pub(crate) fn decided(&self, node: &str, token: u64, before: usize) -> Option<usize> {
        let sent = self.sent.get(&(node, token))?;
        let at = sent.partition_point(|&i| i < before);
        at.checked_sub(1).map(|k| sent[k])
    }

    /// The first record after position `after` that ended `node`'s leadership `token` of
    /// `job`'s election: its revocation or resignation, or a crash, pause, stop or clock
    /// step-down of the node.
    pub(crate) fn ending(
        &self,
        node: &'h str,
        job: &JobId,
        token: u64,
        after: usize,
    ) -> Option<&Ending> {
        let election = self.election_of(job)?;
        self.ending_in(node, election, token, after)
    }

    /// [`Self::ending`] by election.
    pub(crate) fn ending_in(
        &self,
        node: &'h str,
        election: &'h ElectionName,
        token: u64,
        after: usize,
    ) -> Option<&Ending> {
        let own = self.ended.get(&(node, election, token));
        let all = self.node_ends.get(node);
        own.into_iter()
            .chain(all)
            .flatten()
            .filter(|e| e.index > after)
            .min_by_key(|e| e.index)
    }

    /// True when `node` claimed `tick` with `token` before position `before`: a `tick_claimed`,
    /// a claim the backend applied for that leadership, or (when the backend cannot be observed)
    /// a `claims_sent` holding it. With an observed backend a sent claim it never applied is not
    /// a claim. The position of the evidence is returned.
    pub(crate) fn claimed_run(
        &self,
        node: &'h str,
        token: u64,
        key: &TickKey,
        before: usize,
    ) -> Option<usize> {
        if let Some(&i) = self
            .claimed
            .get(&(node, token, key.clone()))
            .and_then(|list| list.iter().find(|&&i| i < before))
        {
            return Some(i);
        }
        let is_run =
            |c: &cronfence::Claim| c.job == key.0 && c.tick == key.1 && c.kind != ClaimKind::Drop;
        if self.backend_observed {
            return self.applied_where(node, &key.0, token, before, is_run);
        }
        let sent = self.sent.get(&(node, token))?;
        sent.iter().copied().take_while(|&i| i < before).find(|&i| {
            matches!(&self.records[i].what, What::Node(NodeEvent::ClaimsSent { claims, .. }) if claims.iter().any(is_run))
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

    /// The position of a `tick_claimed` by `node` with `token` for a tick of `job` newer than
    /// `tick`, before position `before`.
    pub(crate) fn claimed_newer(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        tick: Timestamp,
        before: usize,
    ) -> Option<usize> {
        let from = (node, token, (job.clone(), tick));
        let to = (node, token, (job.clone(), Timestamp::MAX));
        self.claimed
            .range(from..=to)
            .filter(|((_, _, (_, t)), _)| *t > tick)
            .flat_map(|(_, list)| list.iter().copied())
            .find(|&i| i < before)
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
        let runs = self.by_leader.get(&(node, token, job.clone()))?;
        runs.iter()
            .take_while(|(i, _)| *i < at)
            .find_map(|&(i, tick)| {
                let ends = self.run_ends.get(&(node, (job.clone(), tick)));
                let ended = ends.is_some_and(|list| list.iter().any(|&e| e > i && e < at));
                (!ended).then_some(i)
            })
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
        let runs = self.by_leader.get(&(node, token, job.clone()))?;
        runs.iter()
            .find(|&&(i, t)| t > tick && self.time(i) > after)
            .map(|&(i, _)| i)
    }

    /// The first completion or failure of `key` on `node` after position `after`, or a commit of
    /// it the backend applied (or, unobserved, that was sent) for that node.
    pub(crate) fn finished(&self, node: &'h str, key: &TickKey, after: usize) -> Option<usize> {
        let list = self.finishes.get(&(node, key.clone()))?;
        list.iter().copied().find(|&i| i > after)
    }

    /// The first record after position `after` that ended `node`'s run of `key` without it
    /// counting: its cancellation or fence-out, or the end of the leadership it ran under.
    pub(crate) fn run_cut(&self, run: &Began<'h>, key: &TickKey) -> Option<usize> {
        let own = self
            .run_ends
            .get(&(run.node, key.clone()))
            .and_then(|list| list.iter().copied().find(|&i| i > run.index));
        let leadership = self
            .ending(run.node, &key.0, run.token, run.index)
            .map(|e| e.index);
        own.into_iter().chain(leadership).min()
    }

    /// Every leadership won, in history order: (position, node, election, token).
    pub(crate) fn wins(
        &self,
    ) -> impl Iterator<Item = (usize, &'h str, &'h ElectionName, u64)> + '_ {
        let mut wins: Vec<_> = self
            .wins
            .iter()
            .map(|(&(n, e, t), &i)| (i, n, e, t))
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

    /// The `seq` of the record at `index`.
    pub(crate) fn seq(&self, index: usize) -> u64 {
        self.records[index].seq
    }
}

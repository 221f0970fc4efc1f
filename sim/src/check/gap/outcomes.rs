//! What the history says happened to the ticks the no-gap checker judges, gathered in one pass:
//! abandons, skips, claims (recorded, sent or applied), the drops the backend applied, and the
//! records after which a node's claims were lost. It gathers only; [`super`] judges.

use std::collections::BTreeMap;

use cronfence::plan::AbandonReason;
use cronfence::store::Checkpoint;
use cronfence::{Claim, ClaimKind, JobId, NodeEvent};
use jiff::Timestamp;

use crate::check::index::TickKey;
use crate::fault::FaultKind;
use crate::history::{BackendRecord, FaultRecord, History, Record, What};

/// One `TicksAbandoned` record.
pub(super) struct Abandon<'h> {
    pub(super) first: Timestamp,
    pub(super) last: Timestamp,
    pub(super) reason: AbandonReason,
    pub(super) token: u64,
    pub(super) record: &'h Record,
    /// Its position in the history.
    pub(super) index: usize,
}

/// A record after which a node's claims of ticks it had not started were lost.
pub(super) struct Loss<'h> {
    pub(super) index: usize,
    pub(super) seq: u64,
    /// The leadership it ended, by election and token (`None`: a crash or pause ends them all).
    pub(super) leadership: Option<(&'h cronfence::ElectionName, u64)>,
    pub(super) what: String,
}

/// What the history says happened to ticks, gathered in one pass.
#[derive(Default)]
pub(super) struct Outcomes<'h> {
    /// Per job, sorted by first tick.
    pub(super) abandons: BTreeMap<JobId, Vec<Abandon<'h>>>,
    /// Per tick, the first skip: (position, record).
    pub(super) skipped: BTreeMap<TickKey, (usize, &'h Record)>,
    /// Per tick, the claims. Claims the backend applied count too (their answer may never have
    /// reached the node); claims only sent count where the backend cannot be observed.
    pub(super) claims: BTreeMap<TickKey, Vec<ClaimEntry<'h>>>,
    /// Per tick, the first `tick_started` record's `seq`.
    pub(super) said_started: BTreeMap<TickKey, u64>,
    /// True when the backend recorded what it applied: sent claims are then not claims.
    pub(super) backend_observed: bool,
    /// Per job, the drops the backend applied: a drop at tick X moves the checkpoint past every
    /// tick after the job's previous applied claim, so it covers `(previous, X]`; a drop of a
    /// tick an earlier claim put in flight (a retirement) covers that tick alone.
    pub(super) drops: BTreeMap<JobId, Vec<DropRange<'h>>>,
    /// Per job, the newest tick of any claim the backend applied.
    pub(super) newest_applied: BTreeMap<JobId, Timestamp>,
    /// Where the backend cannot be observed: per job and leadership (node, token), the newest
    /// tick that leadership knows claimed — its own checkpoint read at its win (no older
    /// leadership's write lands after that win: the fence refuses it), then its own sends.
    /// Another leadership's sends that never landed do not move it.
    pub(super) known_to: BTreeMap<(JobId, &'h str, u64), Option<Timestamp>>,
    /// Where the backend cannot be observed: the ticks each leadership's checkpoint read held in
    /// flight, by (tick, node, token).
    pub(super) read_in_flight: std::collections::BTreeSet<(TickKey, &'h str, u64)>,
    /// Where the backend cannot be observed: per job, the newest tick a claim of which any node
    /// was answered for (`tick_claimed`): the checkpoint reached it.
    pub(super) newest_answered: BTreeMap<JobId, Timestamp>,
    /// Where the backend cannot be observed: per job and leadership (node, token), where it read
    /// the checkpoint and the newest tick it was shown claimed — by that read or by an answer
    /// to its own claims, never by what it only sent.
    pub(super) proven: BTreeMap<(JobId, &'h str, u64), (usize, Option<Timestamp>)>,
    /// Where the backend cannot be observed: per job, every checkpoint read, in history order.
    pub(super) reads: BTreeMap<JobId, Vec<CheckpointRead<'h>>>,
    /// Where the backend cannot be observed: per job, every claim sent (run or drop), in history
    /// order: (position, claim).
    pub(super) sent: BTreeMap<JobId, Vec<(usize, &'h Claim)>>,
    /// Where the backend cannot be observed: per tick, where a commit of it was sent.
    pub(super) commits_sent: BTreeMap<TickKey, Vec<usize>>,
    /// Per (election, token), the node the backend granted it to, and where.
    pub(super) holders: BTreeMap<(&'h str, u64), (&'h str, usize)>,
    /// Per node, in history order.
    pub(super) losses: BTreeMap<&'h str, Vec<Loss<'h>>>,
}

/// The ticks one applied drop moved the checkpoint past, and who dropped them.
pub(super) struct DropRange<'h> {
    pub(super) after: Option<Timestamp>,
    pub(super) upto: Timestamp,
    pub(super) claim: ClaimEntry<'h>,
    /// It drops a tick an earlier claim put in flight (a retirement): only a reason the job's
    /// policy gives for that tick at that moment explains it ([`super::Judge::lost`] checks).
    pub(super) retires: bool,
    /// It drops a tick only its own leadership's unanswered claims may have put in flight: the
    /// leadership gave it up as a fresh tick, for a misfire or an overlap skip, and only one of
    /// those the history shows explains it.
    pub(super) unknowing: bool,
    /// Where the backend cannot be observed and the range starts at a tick the leadership only
    /// sent claims up to (or, `unknowing`, it drops a tick only those claims named): what it was
    /// shown (`from`) and where it read the checkpoint. The drop gave up the ticks in
    /// `(from, after]` too if none of those claims landed, which only a later checkpoint read can
    /// prove ([`super::Judge::dropped_unproven`]).
    pub(super) unproven: Option<Unproven>,
}

/// The ticks below a drop's range its leadership was never shown claimed (see
/// [`DropRange::unproven`]).
#[derive(Clone, Copy)]
pub(super) struct Unproven {
    /// The newest tick the leadership was shown claimed (`None`: none).
    pub(super) from: Option<Timestamp>,
    /// Where it read the checkpoint.
    pub(super) read: usize,
}

/// One leadership's `checkpoints_read` of one job.
pub(super) struct CheckpointRead<'h> {
    pub(super) at: usize,
    pub(super) node: &'h str,
    pub(super) token: u64,
    pub(super) checkpoint: &'h Checkpoint,
}

/// One claim of a tick (run or drop) and who made it.
#[derive(Clone, Copy)]
pub(super) struct ClaimEntry<'h> {
    /// A loss of the leadership after this position explains the claim (for a claim the backend
    /// applied, the leadership's grant: the claim may have been in flight when its node died).
    pub(super) since: usize,
    /// Where the claim was made (sent, recorded or applied).
    pub(super) at: usize,
    /// The record that shows it.
    pub(super) record: &'h Record,
    pub(super) token: u64,
    pub(super) node: &'h str,
}

impl<'h> Outcomes<'h> {
    pub(super) fn collect(history: &'h History, backend_observed: bool) -> Self {
        let mut out = Outcomes {
            backend_observed,
            ..Outcomes::default()
        };
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
                            leadership: None,
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
                let entry = ClaimEntry {
                    since: granted,
                    at: index,
                    record,
                    token: token.0,
                    node: holder,
                };
                self.add_claims(claims, entry);
            }
            BackendRecord::CommitApplied { .. } => {}
        }
    }

    /// Claims that may have been applied: runs go to `claims`, drops become drop ranges. A drop
    /// moves the checkpoint from where its leadership knew it to be, if it read it.
    fn add_claims(&mut self, claims: &'h [Claim], entry: ClaimEntry<'h>) {
        for claim in claims {
            let leadership = (claim.job.clone(), entry.node, entry.token);
            let newest = self.newest_applied.get(&claim.job).copied();
            let known = self.known_to.get(&leadership).copied();
            // Never below a claim any leadership was answered for: that one landed, whatever an
            // older read said.
            let answered = self.newest_answered.get(&claim.job).copied();
            let previous = known.map_or(newest, |known| known).max(answered);
            let unproven = self.unproven(&leadership, previous, answered);
            if let Some(known) = self.known_to.get_mut(&leadership) {
                *known = Some(known.map_or(claim.tick, |k| k.max(claim.tick)));
            }
            if claim.kind == ClaimKind::Drop {
                // A drop of a tick an earlier claim put in flight retires exactly that tick.
                let key = (claim.job.clone(), claim.tick);
                let claimed =
                    previous.is_some_and(|p| claim.tick <= p) && self.claims.contains_key(&key);
                let knew = self.knew_in_flight(&key, &entry);
                let (retires, unknowing) = (claimed && knew, claimed && !knew);
                // Below its range, a drop may have given up the ticks its leadership only sent
                // claims of: a drop of a fresh tick, or of one only its own unanswered claims
                // named (etcd-sim 192577), was planned from what the leadership was shown, and
                // if none of those claims landed it moved the checkpoint from there, which a
                // later read can prove. A retirement (the leadership knew the tick in flight)
                // gives up that tick alone.
                let unproven = unproven.filter(|_| !retires);
                let after = match claimed {
                    true => claim
                        .tick
                        .checked_sub(jiff::SignedDuration::from_nanos(1))
                        .ok(),
                    false => previous,
                };
                let range = DropRange {
                    after,
                    upto: claim.tick,
                    claim: entry,
                    retires,
                    unknowing,
                    unproven,
                };
                self.drops.entry(claim.job.clone()).or_default().push(range);
            } else {
                let key = (claim.job.clone(), claim.tick);
                self.claims.entry(key).or_default().push(entry);
            }
            let newest = newest.map_or(claim.tick, |p| p.max(claim.tick));
            self.newest_applied.insert(claim.job.clone(), newest);
        }
    }

    /// Where `leadership` (job, node, token) read the checkpoint, if what it was shown claimed
    /// (its read, the answers it or anyone got) lies below `previous`, where its drop range
    /// starts.
    fn unproven(
        &self,
        leadership: &(JobId, &'h str, u64),
        previous: Option<Timestamp>,
        answered: Option<Timestamp>,
    ) -> Option<Unproven> {
        let &(read, shown) = self.proven.get(leadership)?;
        let from = shown.max(answered);
        (from < previous).then_some(Unproven { from, read })
    }

    /// Whether the leadership sending drop `entry` knew `key` was in flight, so that dropping it
    /// retires it (only a reason the job's policy gives then explains that). Where the backend is
    /// observed, the tick was applied in flight. Where it is not, the leadership knew if another
    /// leadership claimed it, if its own claim of it was answered (`tick_claimed`), or if its
    /// checkpoint read held it in flight; a tick only its own unanswered claims may have put in
    /// flight it did not know of (dropping it gives it up as a fresh tick).
    fn knew_in_flight(&self, key: &TickKey, entry: &ClaimEntry<'h>) -> bool {
        if self.backend_observed {
            return true;
        }
        let own = |c: &ClaimEntry<'h>| c.node == entry.node && c.token == entry.token;
        let claims = self.claims.get(key).map_or(&[][..], Vec::as_slice);
        let answered = |c: &ClaimEntry<'h>| {
            matches!(&c.record.what, What::Node(NodeEvent::TickClaimed { .. }))
        };
        claims.iter().any(|c| !own(c) || answered(c))
            || self
                .read_in_flight
                .contains(&(key.clone(), entry.node, entry.token))
    }

    fn on_node_event(&mut self, index: usize, record: &'h Record, event: &'h NodeEvent) {
        // Where the backend is observed, only what it applied is a claim.
        if !self.backend_observed {
            self.on_unobserved(index, record, event);
        }
        match event {
            NodeEvent::TickStarted { job, tick, .. } => {
                self.said_started
                    .entry((job.clone(), *tick))
                    .or_insert(record.seq);
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
                    index,
                });
            }
            NodeEvent::TickSkipped { job, tick, .. } => {
                self.skipped
                    .entry((job.clone(), *tick))
                    .or_insert((index, record));
            }
            NodeEvent::LeadershipRevoked {
                election, token, ..
            } => {
                self.losses
                    .entry(record.node.as_str())
                    .or_default()
                    .push(Loss {
                        index,
                        seq: record.seq,
                        leadership: Some((election, token.0)),
                        what: format!("lost leadership {token}"),
                    });
            }
            _ => {}
        }
    }

    /// Where the backend cannot be observed: what nodes sent, read and were answered.
    fn on_unobserved(&mut self, index: usize, record: &'h Record, event: &'h NodeEvent) {
        let node = record.node.as_str();
        match event {
            NodeEvent::CheckpointsRead {
                token, checkpoints, ..
            } => {
                for cp in checkpoints {
                    let leadership = (cp.job.clone(), node, token.0);
                    self.known_to.insert(leadership.clone(), cp.last_claimed);
                    self.proven.insert(leadership, (index, cp.last_claimed));
                    let read = CheckpointRead {
                        at: index,
                        node,
                        token: token.0,
                        checkpoint: cp,
                    };
                    self.reads.entry(cp.job.clone()).or_default().push(read);
                    for &(tick, _) in &cp.in_flight {
                        let key = (cp.job.clone(), tick);
                        self.read_in_flight.insert((key, node, token.0));
                    }
                }
            }
            NodeEvent::ClaimsSent { token, claims, .. } => {
                for claim in claims {
                    let sent = self.sent.entry(claim.job.clone()).or_default();
                    sent.push((index, claim));
                }
                let entry = ClaimEntry {
                    since: index,
                    at: index,
                    record,
                    token: token.0,
                    node,
                };
                self.add_claims(claims, entry);
            }
            NodeEvent::CommitsSent { commits, .. } => {
                for commit in commits {
                    let key = (commit.job.clone(), commit.tick);
                    self.commits_sent.entry(key).or_default().push(index);
                }
            }
            NodeEvent::TickClaimed {
                job, tick, token, ..
            } => {
                let newest = self.newest_answered.entry(job.clone()).or_insert(*tick);
                *newest = (*newest).max(*tick);
                if let Some((_, shown)) = self.proven.get_mut(&(job.clone(), node, token.0)) {
                    *shown = Some(shown.map_or(*tick, |s| s.max(*tick)));
                }
                let claims = self.claims.entry((job.clone(), *tick)).or_default();
                claims.push(ClaimEntry {
                    since: index,
                    at: index,
                    record,
                    token: token.0,
                    node,
                });
            }
            _ => {}
        }
    }
}

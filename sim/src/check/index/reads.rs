//! What new leaderships read of the backend: each `checkpoints_read` record, and every write a
//! node sent that could change a tick's place in a job's in-flight set (its claims and commits).
//! Where the backend cannot be observed, a read is the only record of what the backend held: it
//! proves that a write whose answer was lost took effect, when the read shows its effect and no
//! other write sent meanwhile could have had it. This module gathers; [`super::Index`] asks.

use std::collections::BTreeMap;

use cronfence::store::Checkpoint;
use cronfence::{ElectionName, NodeEvent};

use super::TickKey;

/// One node's write concerning a tick: (position, node, token).
type Write<'h> = (usize, &'h str, u64);

/// One `checkpoints_read`: (position, token, the checkpoints read, the node that read).
type Read<'h> = (usize, u64, &'h [Checkpoint], &'h str);

/// Checkpoint reads per election, and writes per tick, in history order.
#[derive(Default)]
pub(crate) struct Reads<'h> {
    /// Per election, the reads.
    reads: BTreeMap<&'h ElectionName, Vec<Read<'h>>>,
    /// Per tick: every claim or commit of it a node sent.
    writes: BTreeMap<TickKey, Vec<Write<'h>>>,
}

impl<'h> Reads<'h> {
    /// Takes in one node event at position `i`.
    pub(crate) fn add(&mut self, i: usize, node: &'h str, event: &'h NodeEvent) {
        match event {
            NodeEvent::CheckpointsRead {
                election,
                token,
                checkpoints,
            } => {
                let reads = self.reads.entry(election).or_default();
                reads.push((i, token.0, checkpoints.as_slice(), node));
            }
            NodeEvent::ClaimsSent { token, claims, .. } => {
                for c in claims {
                    let key = (c.job.clone(), c.tick);
                    self.writes.entry(key).or_default().push((i, node, token.0));
                }
            }
            NodeEvent::CommitsSent { token, commits } => {
                for c in commits {
                    let key = (c.job.clone(), c.tick);
                    self.writes.entry(key).or_default().push((i, node, token.0));
                }
            }
            _ => {}
        }
    }

    /// The first read after position `after`, by another leadership of `election` than `token`,
    /// that shows `key` claimed and no longer in flight, with no write of the tick sent from
    /// `since` until that read by anyone but `node`'s leadership `token`: then only that
    /// leadership's writes can have taken the tick out of flight.
    pub(crate) fn settled_by(
        &self,
        election: &ElectionName,
        (node, token): (&str, u64),
        key: &TickKey,
        since: usize,
        after: usize,
    ) -> Option<usize> {
        let reads = self.reads.get(election)?;
        let (at, _, _, _) = reads
            .iter()
            .filter(|&&(i, t, _, _)| i > after && t != token)
            .find(|(_, _, checkpoints, _)| settled(checkpoints, key))?;
        let writes = self.writes.get(key).map_or(&[][..], Vec::as_slice);
        let others = writes
            .iter()
            .filter(|&&(i, n, t)| i > since && i < *at && (n != node || t != token));
        others.count().eq(&0).then_some(*at)
    }
}

impl<'h> Reads<'h> {
    /// The leaderships of `election` whose checkpoint read shows `key` in flight, the tick an
    /// at-least-once leadership then owes a run: (position of the read, node, token).
    pub(crate) fn in_flight_for(
        &self,
        election: &ElectionName,
        (job, tick): &TickKey,
    ) -> Vec<(usize, &'h str, u64)> {
        let reads = self.reads.get(election).map_or(&[][..], Vec::as_slice);
        let holds = |cp: &Checkpoint| &cp.job == job && cp.in_flight.iter().any(|(t, _)| t == tick);
        reads
            .iter()
            .filter(|(_, _, checkpoints, _)| checkpoints.iter().any(holds))
            .map(|&(i, token, _, node)| (i, node, token))
            .collect()
    }
}

/// True when `checkpoints` show the tick claimed (the checkpoint reached it) and not in flight.
fn settled(checkpoints: &[Checkpoint], (job, tick): &TickKey) -> bool {
    checkpoints.iter().any(|cp| {
        &cp.job == job
            && cp.last_claimed.is_some_and(|last| last >= *tick)
            && cp.in_flight.iter().all(|(t, _)| t != tick)
    })
}

//! What a node's clock read when it decided, by the clock model of the history's faults (not by
//! the node's word): the batch a decision belongs to, how far ahead its clock evidence read,
//! verified against its witness reading (the clock contract), and a node's clock at any record.

use jiff::Timestamp;

use cronfence::{JobId, NodeEvent};

use super::{Index, Witnessed};
use crate::history::What;

impl<'h> Index<'h> {
    /// The position of the last `claims_sent` by `node` with `token` holding a claim of `job`
    /// before position `before`: the moment that leadership took the decision about `job`
    /// recorded at `before` (every decision claims at least the job's new cursor).
    pub(crate) fn decided(
        &self,
        node: &'h str,
        token: u64,
        job: &JobId,
        before: usize,
    ) -> Option<usize> {
        let sent = self.sent_for.get(&(node, token, job.clone()))?;
        let upto = sent.partition_point(|&i| i < before);
        upto.checked_sub(1).map(|k| sent[k])
    }

    /// The lead over true time of the clock evidence the claim batch at `decided` was decided
    /// on, verified against the witness reading it names ([`super::clocks`]): `Ok(None)` when
    /// the batch records no evidence or its evidence is not ahead; `Err(why)` when the evidence
    /// reads further ahead than the node's clock did at that reading, or names a witness younger
    /// than the window that is not the node's start reading.
    pub(crate) fn evidence_lead(&self, decided: usize) -> Result<Option<Witnessed>, String> {
        let record = &self.records[decided];
        let What::Node(NodeEvent::ClaimsSent {
            evidence: Some(evidence),
            ..
        }) = &record.what
        else {
            return Ok(None);
        };
        let lead = evidence.at.duration_since(record.true_time);
        if lead <= jiff::SignedDuration::ZERO {
            return Ok(None);
        }
        let age = evidence.witness_age;
        let taken = record
            .t_ns
            .checked_sub(age.as_nanos() as u64)
            .ok_or("its evidence names a reading from before the world began")?;
        let vouched = match age >= cronfence::clock::EVIDENCE_WINDOW {
            true => self.clocks.offset(&record.node, taken),
            false => self.start_reading(decided, taken).ok_or_else(|| {
                format!(
                    "its evidence rests on a reading {age:?} old, younger than the evidence \
                     window, that is not its start reading"
                )
            })?,
        };
        if lead > vouched {
            return Err(format!(
                "its evidence read {lead:#} ahead of true time, further than its clock read \
                 ({vouched:#} ahead) at the reading {age:?} before that the evidence rests on"
            ));
        }
        Ok(Some(Witnessed { lead, age, vouched }))
    }

    /// How far ahead of true time the start reading of the node of the record at `decided`
    /// read, if that node's last start before it was at world-elapsed `taken` (within a
    /// millisecond: the reading and its record are one step apart).
    fn start_reading(&self, decided: usize, taken: u64) -> Option<jiff::SignedDuration> {
        let node = &self.records[decided].node;
        let start = self.records[..decided].iter().rev().find(|r| {
            &r.node == node && matches!(r.what, What::Node(NodeEvent::NodeStarted { .. }))
        })?;
        let What::Node(NodeEvent::NodeStarted { since }) = &start.what else {
            return None;
        };
        (start.t_ns.abs_diff(taken) <= 1_000_000).then(|| since.duration_since(start.true_time))
    }

    /// The furthest ahead of true time at `to_ns` that `node`'s clock read at any instant of
    /// `[from_ns, to_ns]` (from the clock faults).
    pub(crate) fn clock_furthest_ahead(
        &self,
        node: &str,
        from_ns: u64,
        to_ns: u64,
    ) -> jiff::SignedDuration {
        self.clocks.furthest_ahead(node, from_ns, to_ns)
    }

    /// What `node`'s clock read at the record at `index`, by the clock model (the faults), not
    /// by the node's word.
    pub(crate) fn node_clock(&self, node: &str, index: usize) -> Timestamp {
        let record = &self.records[index];
        record.true_time + self.clocks.offset(node, record.t_ns)
    }
}

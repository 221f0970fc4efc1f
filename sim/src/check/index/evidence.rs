//! What a node's clock read when it decided, by the clock model of the history's faults (not by
//! the node's word): the batch a decision belongs to, how far ahead its clock evidence read,
//! verified against its witness reading (the clock contract), and a node's clock at any record.

use jiff::Timestamp;

use cronfence::{JobId, NodeEvent};

use super::{Index, Witnessed};
use crate::fault::FaultKind;
use crate::history::{FaultRecord, What};

/// How far a node's start reading may read past its clock (one step): for the evidence it
/// vouches for here, and for the registration it makes ([`crate::check::gap`]).
pub(crate) const START_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_millis(1);

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
    /// reads later than its witness reading moved on by its age, or further ahead than the
    /// node's clock did at that reading, or names a witness younger than the window that is not
    /// the node's start reading ([`Self::start_reading`]).
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
        let moved_on = jiff::SignedDuration::try_from(age)
            .ok()
            .and_then(|age| evidence.witness.checked_add(age).ok());
        if moved_on.is_none_or(|moved_on| evidence.at > moved_on) {
            return Err(format!(
                "its evidence ({}) reads later than its witness reading ({}) moved on by the \
                 {age:?} since, which no evidence can",
                evidence.at, evidence.witness
            ));
        }
        let taken = record
            .t_ns
            .checked_sub(age.as_nanos() as u64)
            .ok_or("its evidence names a reading from before the world began")?;
        let vouched = match age >= cronfence::clock::EVIDENCE_WINDOW {
            true => self.clocks.offset(&record.node, taken),
            false => self
                .start_reading(decided, evidence.witness, taken)
                .map_err(|why| {
                    format!(
                        "its evidence rests on a reading {age:?} old, younger than the evidence \
                         window, which only a start reading may be: {why}"
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

    /// How far ahead of true time the reading `witness`, taken at world-elapsed `taken`, read
    /// if it is the start reading of the node of the record at `decided`: the `since` of its
    /// last `node_started` before it. The reading is known by its value, not by when its record
    /// was stamped: in real time a record is stamped a scheduling delay after what it reports
    /// (CI's real-etcd suite, 16 worlds at once: a start reading that vouched for a claim 1.25 s
    /// later lay more than the 1 ms from its record that the check once allowed, and 488 ticks
    /// given up on it looked unfounded). It cannot have been taken before the process began (the
    /// end of the crash or stop that restarted it), and its lead, counted from `taken`, is
    /// believed only if the node's clock showed it at some instant of that process up to
    /// `taken` (a registration's start reading is judged at its record instead,
    /// [`crate::check::gap`]).
    fn start_reading(
        &self,
        decided: usize,
        witness: Timestamp,
        taken: u64,
    ) -> Result<jiff::SignedDuration, String> {
        let node = &self.records[decided].node;
        let not_start =
            || format!("its witness (read {witness}) is not the `since` of {node}'s last start");
        let at = self.records[..decided]
            .iter()
            .rposition(|r| {
                &r.node == node && matches!(r.what, What::Node(NodeEvent::NodeStarted { .. }))
            })
            .ok_or_else(not_start)?;
        let start = &self.records[at];
        match &start.what {
            What::Node(NodeEvent::NodeStarted { since }) if *since == witness => {}
            _ => return Err(not_start()),
        }
        let began = self.records[..at]
            .iter()
            .rev()
            .find_map(|r| match &r.what {
                What::Fault(FaultRecord::FaultEnded { fault })
                    if fault.node == *node
                        && matches!(fault.kind, FaultKind::Crash | FaultKind::Stop { .. }) =>
                {
                    Some(r.t_ns)
                }
                _ => None,
            })
            .unwrap_or(0);
        if taken < began {
            return Err(format!(
                "its witness, {node}'s start reading, is dated before that process began"
            ));
        }
        // Counted from `taken`, the lead must be one the clock showed by then: a witness dated
        // before the reading was taken (an age too large) would move it on for time that had
        // not passed since it.
        let taken_at = self.records[decided].true_time
            - jiff::SignedDuration::from_nanos((self.records[decided].t_ns - taken) as i64);
        let lead = witness.duration_since(taken_at);
        let shown = self.clock_furthest_ahead(node, began, taken);
        if lead > shown + START_SLACK {
            return Err(format!(
                "{node}'s start reading, dated {taken_at} by its age, reads {lead:#} ahead of \
                 then, further than its clock read ({shown:#} ahead) at any instant of that \
                 process up to then"
            ));
        }
        Ok(lead)
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

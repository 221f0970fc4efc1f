//! What each node's clock read at any instant, rebuilt from the history's clock faults, so the
//! clock evidence a node decided on can be held to the reading it names as its witness.
//!
//! The clock contract. A node's readings prove something about true time only against each
//! other: one taken `d` ago, moved on by `d`, bounds the next ([`cronfence::clock::Evidence`]).
//! A node gives ticks up as missed or late only on that evidence, which rests on its newest
//! reading at least [`EVIDENCE_WINDOW`] old (or on its start reading, while it has none that
//! old). A clock that read ahead at that reading looks, to that node, exactly like a clock that
//! was behind and got corrected; without a reference outside the node (none of the backends
//! keeps time) nothing can tell them apart. So every claim batch records the evidence it was
//! decided on and the age of its witness reading, and a give-up that fails in true time is
//! judged a second time at that evidence — once the checker has verified that the evidence
//! reads no further ahead of true time than the node's clock did at the witness reading (from
//! the clock faults), and that the witness is a window old or the node's start reading. A jump
//! younger than the window, a clock behind, and a dip the node read all hold the evidence back;
//! a swing between two readings is one no node can see. Safety (no duplicate, fencing) never
//! bends to a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::SignedDuration;

use crate::clock::ClockModel;
use crate::history::{FaultRecord, History, What};

/// Every node's clock through the world, as the injected faults made it.
#[derive(Debug, Default)]
pub struct NodeClocks {
    /// Per node: the model in force from each change on (world-elapsed ns), oldest first.
    models: BTreeMap<String, Vec<(u64, ClockModel)>>,
}

impl NodeClocks {
    /// Rebuilds every node's clock from the clock faults recorded in `history`.
    pub fn new(history: &History) -> Self {
        let mut clocks = NodeClocks::default();
        for record in &history.records {
            let What::Fault(fault) = &record.what else {
                continue;
            };
            let (fault, on) = match fault {
                FaultRecord::FaultStarted { fault } => (fault, true),
                FaultRecord::FaultEnded { fault } => (fault, false),
                FaultRecord::StopReached => continue,
            };
            if !fault.kind.is_clock() {
                continue;
            }
            let t = record.t_ns;
            let models = clocks.models.entry(fault.node.clone()).or_default();
            let mut model = models.last().map(|(_, m)| m.clone()).unwrap_or_default();
            model.apply(&fault.kind, on, Duration::from_nanos(t));
            models.push((t, model));
        }
        clocks
    }

    /// How far ahead of true time `node`'s clock read at world-elapsed `t_ns` (behind is
    /// negative). A fault recorded at `t_ns` is already in force.
    pub fn offset(&self, node: &str, t_ns: u64) -> SignedDuration {
        let Some(models) = self.models.get(node) else {
            return SignedDuration::ZERO;
        };
        match models.iter().rposition(|(at, _)| *at <= t_ns) {
            Some(i) => models[i].1.offset_at(Duration::from_nanos(t_ns)),
            None => SignedDuration::ZERO,
        }
    }

    /// The furthest ahead of true time at `to_ns` that `node`'s clock read at any instant of
    /// `[from_ns, to_ns]`: what its reading then was, minus true time at `to_ns`. A reading taken
    /// somewhere in that span that reads further ahead than this is one no clock showed.
    pub fn furthest_ahead(&self, node: &str, from_ns: u64, to_ns: u64) -> SignedDuration {
        let Some(models) = self.models.get(node) else {
            return SignedDuration::ZERO;
        };
        let from_ns = from_ns.min(to_ns);
        let in_force = |t: u64| models.iter().rposition(|(at, _)| *at <= t);
        let model = |i: Option<usize>| i.map(|i| models[i].1.clone()).unwrap_or_default();
        // Each model in force over part of the span, and the part: [start, end].
        let mut spans = Vec::new();
        let mut start = from_ns;
        let mut current = in_force(from_ns);
        for (i, (at, _)) in models.iter().enumerate() {
            if *at > from_ns && *at <= to_ns {
                // Changes at one instant (faults applied in one turn) leave no span between
                // them: the state after the first was never read.
                if *at > start {
                    spans.push((model(current), start, *at - 1));
                }
                (start, current) = (*at, Some(i));
            }
        }
        spans.push((model(current), start, to_ns));
        spans
            .into_iter()
            .map(|(m, a, b)| {
                let behind = SignedDuration::from_nanos((to_ns - b) as i64);
                m.furthest_ahead_in(Duration::from_nanos(a), Duration::from_nanos(b)) - behind
            })
            .max()
            .unwrap_or(SignedDuration::ZERO)
    }
}

#[cfg(test)]
mod tests;

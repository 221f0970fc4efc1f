//! What each node's own clock let it know: its clock model, rebuilt from the history's clock
//! faults, and the lead over true time that no reading of its evidence window could contradict.
//!
//! The clock contract. A node's readings prove something about true time only against each
//! other: one taken `d` ago, moved on by `d`, bounds the next ([`cronfence::clock::Evidence`]).
//! A clock that has read ahead for the whole evidence window ([`EVIDENCE_WINDOW`]), or since the
//! node (re)started, looks to that node exactly like a clock that was behind and got corrected;
//! without a reference outside the node (none of the backends keeps time) nothing can tell them
//! apart. So a give-up decision is judged at true time plus that *unnoticed lead* — the smallest
//! lead the node's clock had at any instant of the window — and at true time alone when there
//! was none: a jump younger than the window, a clock behind, a strobe swinging within the
//! window are all visible to the node. Safety (no duplicate, fencing) never bends to a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use cronfence::clock::EVIDENCE_WINDOW;
use jiff::SignedDuration;

use crate::clock::ClockModel;
use crate::fault::FaultKind;
use crate::history::{FaultRecord, History, What};

/// Every node's clock through the world, as the injected faults made it.
#[derive(Debug, Default)]
pub struct NodeClocks {
    /// Per node: the model in force from each change on (world-elapsed ns), oldest first.
    models: BTreeMap<String, Vec<(u64, ClockModel)>>,
    /// Per node: when its process (re)started after a crash or stop (world-elapsed ns).
    starts: BTreeMap<String, Vec<u64>>,
    /// Per node: its pauses, `[from, to)` (world-elapsed ns): it reads no clock meanwhile, so its
    /// readings reach a window back in time it was awake.
    pauses: BTreeMap<String, Vec<(u64, u64)>>,
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
            };
            let t = record.t_ns;
            let restarted = matches!(fault.kind, FaultKind::Crash | FaultKind::Stop { .. });
            if restarted && !on {
                clocks.starts.entry(fault.node.clone()).or_default().push(t);
            }
            if matches!(fault.kind, FaultKind::Pause) {
                let pauses = clocks.pauses.entry(fault.node.clone()).or_default();
                match on {
                    true => pauses.push((t, u64::MAX)),
                    false => {
                        if let Some(open) = pauses.last_mut().filter(|p| p.1 == u64::MAX) {
                            open.1 = t;
                        }
                    }
                }
            }
            if !fault.kind.is_clock() {
                continue;
            }
            let models = clocks.models.entry(fault.node.clone()).or_default();
            let mut model = models.last().map(|(_, m)| m.clone()).unwrap_or_default();
            model.apply(&fault.kind, on, Duration::from_nanos(t));
            models.push((t, model));
        }
        clocks
    }

    /// How far ahead of true time `node`'s clock read, at the least, at every instant of the
    /// evidence window before world-elapsed `t_ns` — a window of time the node was awake, so it
    /// reaches back across its pauses — or since the node last started, if later: zero when it
    /// was not ahead throughout.
    pub fn unnoticed_lead(&self, node: &str, t_ns: u64) -> SignedDuration {
        let started = self
            .starts
            .get(node)
            .and_then(|s| s.iter().copied().filter(|&s| s <= t_ns).max())
            .unwrap_or(0);
        let from = self.window_start(node, t_ns).max(started);
        let least = self.least_offset(node, from, t_ns);
        least.max(SignedDuration::ZERO)
    }

    /// Where the evidence window ending at `t_ns` begins: `EVIDENCE_WINDOW` of time `node` was
    /// awake before it.
    fn window_start(&self, node: &str, t_ns: u64) -> u64 {
        let mut need = EVIDENCE_WINDOW.as_nanos() as u64;
        let mut cursor = t_ns;
        let pauses = self.pauses.get(node).map_or(&[][..], Vec::as_slice);
        for &(from, to) in pauses.iter().rev().filter(|(from, _)| *from < t_ns) {
            let to = to.min(cursor);
            let awake = cursor.saturating_sub(to);
            if awake >= need {
                break;
            }
            need -= awake;
            cursor = from;
        }
        cursor.saturating_sub(need)
    }

    /// The smallest offset of `node`'s clock over `[from, to]` (a lower bound where a strobe
    /// swings more than twice within one model's stretch).
    fn least_offset(&self, node: &str, from: u64, to: u64) -> SignedDuration {
        let Some(models) = self.models.get(node) else {
            return SignedDuration::ZERO;
        };
        // The model in force at `from`, then every change up to `to`.
        let first = models.iter().rposition(|(at, _)| *at <= from);
        let mut stretches: Vec<(u64, ClockModel)> = Vec::new();
        match first {
            Some(i) => stretches.push((from, models[i].1.clone())),
            None => stretches.push((from, ClockModel::default())),
        }
        stretches.extend(
            models
                .iter()
                .filter(|(at, _)| *at > from && *at <= to)
                .cloned(),
        );
        let mut least = SignedDuration::MAX;
        for (i, (start, model)) in stretches.iter().enumerate() {
            let end = stretches
                .get(i + 1)
                .map_or(to, |(next, _)| next - 1)
                .max(*start);
            least = least.min(least_in(model, *start, end));
        }
        least
    }
}

/// The smallest offset `model` gives over `[from, to]`: drift is linear, so its extremes are at
/// the ends; a strobe flips at phase boundaries, each looked at from both sides.
fn least_in(model: &ClockModel, from: u64, to: u64) -> SignedDuration {
    let at = |t: u64| model.offset_at(Duration::from_nanos(t));
    let mut least = at(from).min(at(to));
    if let Some((amplitude, period, since)) = model.strobe {
        let period = period.as_nanos().max(1) as u64;
        let since = since.as_nanos() as u64;
        if to.saturating_sub(from) >= 2 * period {
            // Both phases fall inside: the drift's low end with the low swing.
            let swing = amplitude.abs();
            let flat = |t: u64| at(t) - strobe_part(model, t);
            return flat(from).min(flat(to)) - swing;
        }
        let mut boundary = since + (from.saturating_sub(since) / period + 1) * period;
        while boundary <= to {
            least = least.min(at(boundary)).min(at(boundary - 1));
            boundary += period;
        }
    }
    least
}

/// The strobe's share of `model`'s offset at world-elapsed `t`.
fn strobe_part(model: &ClockModel, t: u64) -> SignedDuration {
    let plain = ClockModel {
        strobe: None,
        ..model.clone()
    };
    let t = Duration::from_nanos(t);
    model.offset_at(t) - plain.offset_at(t)
}

#[cfg(test)]
mod tests;

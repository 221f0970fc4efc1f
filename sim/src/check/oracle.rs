//! The checkers' own schedule oracle: which ticks a job has between two instants.
//!
//! The checkers must not trust the code they check, so interval schedules are computed here with
//! plain integer arithmetic on the definition (`anchor + k·interval`, k ≥ 0), never through
//! `Schedule::due_ticks`, which the planner itself uses. Cron schedules go through the schedule's
//! zoned search, which `core/tests/cron_props.rs` checks against a brute-force scan of every local
//! minute. This module answers questions about schedules only; it knows nothing of histories.

use cronfence::{JobSpec, Schedule};
use jiff::Timestamp;

/// Every tick of `spec` with `after < tick ≤ upto`, oldest first.
pub(crate) fn ticks(spec: &JobSpec, after: Timestamp, upto: Timestamp) -> Ticks {
    match &spec.schedule {
        Schedule::Every { anchor, interval } => {
            let (anchor, step) = (anchor.as_nanosecond(), interval.get().as_nanos());
            // The first k with anchor + k·step > after, and the last with anchor + k·step ≤ upto.
            let first = (after.as_nanosecond() - anchor).div_euclid(step) + 1;
            let last = (upto.as_nanosecond() - anchor).div_euclid(step);
            Ticks::Every {
                anchor,
                step,
                next: first.max(0),
                last,
            }
        }
        other => Ticks::Other(other.due_ticks(after, upto).collect::<Vec<_>>().into_iter()),
    }
}

/// The first tick of `spec` after `after` (interval schedules by arithmetic, cron schedules by
/// their zoned search).
pub(crate) fn next_after(spec: &JobSpec, after: Timestamp) -> Option<Timestamp> {
    match &spec.schedule {
        Schedule::Every { .. } => ticks(spec, after, Timestamp::MAX).next(),
        other => other.next_tick(after),
    }
}

/// The last tick of `spec` at or before `t`.
pub(crate) fn last_at_or_before(spec: &JobSpec, t: Timestamp) -> Option<Timestamp> {
    match &spec.schedule {
        Schedule::Every { anchor, interval } => {
            let k =
                (t.as_nanosecond() - anchor.as_nanosecond()).div_euclid(interval.get().as_nanos());
            (k >= 0)
                .then(|| anchor.as_nanosecond() + k * interval.get().as_nanos())
                .and_then(|n| Timestamp::from_nanosecond(n).ok())
        }
        other => other.last_tick_at_or_before(t),
    }
}

/// How many ticks of `spec` lie in `(after, upto]`, counting no further than `cap`.
pub(crate) fn count(spec: &JobSpec, after: Timestamp, upto: Timestamp, cap: u64) -> u64 {
    match ticks(spec, after, upto) {
        Ticks::Every { next, last, .. } => (last - next + 1).clamp(0, i128::from(cap)) as u64,
        other => other.take(cap as usize).count() as u64,
    }
}

/// How many ticks of `spec` lie in `(after, upto]`, exactly (interval schedules only need
/// arithmetic; cron schedules are walked).
pub(crate) fn len(spec: &JobSpec, after: Timestamp, upto: Timestamp) -> u128 {
    match ticks(spec, after, upto) {
        Ticks::Every { next, last, .. } => (last - next + 1).max(0) as u128,
        other => other.count() as u128,
    }
}

/// The ticks of one job in a range, oldest first.
pub(crate) enum Ticks {
    /// An interval schedule: tick numbers `next..=last`.
    Every {
        anchor: i128,
        step: i128,
        next: i128,
        last: i128,
    },
    /// A cron schedule's ticks, from its zoned search.
    Other(std::vec::IntoIter<Timestamp>),
}

impl Iterator for Ticks {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        match self {
            Ticks::Every {
                anchor,
                step,
                next,
                last,
            } => {
                while *next <= *last {
                    let k = *next;
                    *next += 1;
                    if let Ok(t) = Timestamp::from_nanosecond(*anchor + k * *step) {
                        return Some(t);
                    }
                }
                None
            }
            Ticks::Other(list) => list.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{at, every_10s};
    use cronfence::Delivery;

    #[test]
    fn interval_ticks_are_half_open_and_never_before_the_anchor() {
        // (−25 s, 30 s] holds ticks 0, 10, 20 and 30 of a job anchored at 0: none before the anchor.
        let spec = every_10s(Delivery::AtMostOnce);
        let got: Vec<_> = ticks(&spec, at(-25), at(30)).collect();
        assert_eq!(got, [at(0), at(10), at(20), at(30)]);
        assert_eq!(len(&spec, at(0), at(30)), 3, "the lower bound is excluded");
        assert_eq!(
            count(&spec, at(-25), at(30), 2),
            2,
            "counting stops at the cap"
        );
        assert_eq!(len(&spec, at(31), at(39)), 0);
    }

    #[test]
    fn a_billion_ticks_are_counted_without_walking_them() {
        // Arithmetic, not iteration: 10^9 ticks of a 10 s job are counted at once.
        let spec = every_10s(Delivery::AtMostOnce);
        assert_eq!(len(&spec, at(0), at(10_000_000_000)), 1_000_000_000);
    }
}

//! Schedules: the exact map from tick numbers to UTC instants.
//!
//! A [`Schedule`] says when a job's ticks are due. `Every { anchor, interval }` puts tick *k* at
//! `anchor + k·interval` for an absolute UTC anchor, computed with integer nanoseconds (no floats,
//! no accumulated drift: tick 10^9 is exactly where it should be). The enum is `non_exhaustive` so
//! cron expressions with time zones can join it. This module knows nothing of clocks, nodes or
//! backends: callers hand it the instants to compare against.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// When a job's ticks are due. Every tick is identified by its scheduled UTC instant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Schedule {
    /// Tick *k* (k ≥ 0) is due at `anchor + k·interval`.
    Every {
        /// The absolute instant of tick 0. Never derive it from a node's start time.
        anchor: Timestamp,
        /// The positive spacing between ticks.
        interval: Interval,
    },
}

/// A positive tick spacing, validated on construction (zero and negative are rejected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "SignedDuration", into = "SignedDuration")]
pub struct Interval(SignedDuration);

impl Interval {
    /// Validates `interval`: it must be strictly positive.
    pub fn new(interval: SignedDuration) -> Result<Self> {
        if interval.is_positive() {
            Ok(Interval(interval))
        } else {
            Err(Error::InvalidInterval { interval })
        }
    }

    /// The interval as a signed duration (always positive).
    pub fn get(self) -> SignedDuration {
        self.0
    }

    fn nanos(self) -> i128 {
        self.0.as_nanos()
    }
}

impl TryFrom<SignedDuration> for Interval {
    type Error = Error;
    fn try_from(value: SignedDuration) -> Result<Self> {
        Interval::new(value)
    }
}

impl From<Interval> for SignedDuration {
    fn from(value: Interval) -> Self {
        value.0
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl Schedule {
    /// An interval schedule; fails with [`Error::InvalidInterval`] unless `interval` is positive.
    ///
    /// ```
    /// use cronfence::Schedule;
    /// let anchor: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    /// let every_10s = Schedule::every(anchor, jiff::SignedDuration::from_secs(10)).unwrap();
    /// assert!(Schedule::every(anchor, jiff::SignedDuration::ZERO).is_err());
    /// # let _ = every_10s;
    /// ```
    pub fn every(anchor: Timestamp, interval: SignedDuration) -> Result<Self> {
        Ok(Schedule::Every {
            anchor,
            interval: Interval::new(interval)?,
        })
    }

    /// The instant of tick number `k`, or `None` past the end of representable time.
    pub fn tick_at(&self, k: u64) -> Option<Timestamp> {
        match self {
            Schedule::Every { anchor, interval } => {
                let nanos = anchor.as_nanosecond() + i128::from(k) * interval.nanos();
                Timestamp::from_nanosecond(nanos).ok()
            }
        }
    }

    /// The number of the last tick due at or before `t`, or `None` if no tick is.
    pub fn tick_number_at_or_before(&self, t: Timestamp) -> Option<u64> {
        match self {
            Schedule::Every { anchor, interval } => {
                let since = t.as_nanosecond() - anchor.as_nanosecond();
                if since < 0 {
                    return None;
                }
                u64::try_from(since / interval.nanos()).ok()
            }
        }
    }

    /// The first tick strictly after `after`, or `None` past the end of representable time.
    pub fn next_tick(&self, after: Timestamp) -> Option<Timestamp> {
        let k = self.first_number_after(after)?;
        self.tick_at(k)
    }

    /// Every tick with `after < instant ≤ up_to`, oldest first, computed lazily and exactly.
    pub fn due_ticks(&self, after: Timestamp, up_to: Timestamp) -> DueTicks {
        let first = self.first_number_after(after);
        let last = self.tick_number_at_or_before(up_to);
        let range = match (first, last) {
            (Some(first), Some(last)) if first <= last => first..last + 1,
            _ => 0..0,
        };
        DueTicks {
            schedule: self.clone(),
            range,
        }
    }

    fn first_number_after(&self, after: Timestamp) -> Option<u64> {
        match self.tick_number_at_or_before(after) {
            Some(k) => k.checked_add(1),
            None => Some(0),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every { anchor, interval } => write!(f, "every {interval} from {anchor}"),
        }
    }
}

/// The ticks due in a range, oldest first; double-ended and exact-sized, so the newest few of a
/// long outage are found without walking the whole range.
#[derive(Clone, Debug)]
pub struct DueTicks {
    schedule: Schedule,
    range: std::ops::Range<u64>,
}

impl Iterator for DueTicks {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        let k = self.range.next()?;
        self.schedule.tick_at(k)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<Timestamp> {
        let k = self.range.nth(n)?;
        self.schedule.tick_at(k)
    }
}

impl DoubleEndedIterator for DueTicks {
    fn next_back(&mut self) -> Option<Timestamp> {
        let k = self.range.next_back()?;
        self.schedule.tick_at(k)
    }
}

impl ExactSizeIterator for DueTicks {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn zero_and_negative_intervals_are_rejected() {
        let anchor = ts("2026-01-01T00:00:00Z");
        assert!(matches!(
            Schedule::every(anchor, SignedDuration::ZERO),
            Err(Error::InvalidInterval { .. })
        ));
        assert!(Schedule::every(anchor, SignedDuration::from_secs(-5)).is_err());
    }

    #[test]
    fn tick_one_billion_lands_exactly() {
        // 1/3 s is not representable in binary floating point; integer math keeps it exact.
        let anchor = ts("2026-01-01T00:00:00Z");
        let s = Schedule::every(anchor, SignedDuration::from_nanos(333_333_333)).unwrap();
        let t = s.tick_at(1_000_000_000).unwrap();
        assert_eq!(
            t.as_nanosecond() - anchor.as_nanosecond(),
            333_333_333 * 1_000_000_000
        );
        assert_eq!(s.tick_number_at_or_before(t), Some(1_000_000_000));
    }

    #[test]
    fn due_ticks_are_half_open_after_exclusive_up_to_inclusive() {
        let s = Schedule::every(ts("2026-01-01T00:00:00Z"), SignedDuration::from_secs(10)).unwrap();
        let due: Vec<_> = s
            .due_ticks(ts("2026-01-01T00:00:10Z"), ts("2026-01-01T00:00:30Z"))
            .collect();
        assert_eq!(
            due,
            vec![ts("2026-01-01T00:00:20Z"), ts("2026-01-01T00:00:30Z")]
        );
    }

    #[test]
    fn nothing_is_due_before_the_anchor() {
        let s = Schedule::every(ts("2026-01-01T00:00:00Z"), SignedDuration::from_secs(10)).unwrap();
        assert_eq!(
            s.due_ticks(ts("2025-01-01T00:00:00Z"), ts("2025-12-31T23:59:59Z"))
                .len(),
            0
        );
        assert_eq!(
            s.next_tick(ts("2025-06-01T00:00:00Z")),
            Some(ts("2026-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn schedule_round_trips_through_json() {
        let s = Schedule::every(ts("2026-01-01T00:00:00Z"), SignedDuration::from_secs(10)).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        let bad = json.replace("PT10S", "PT0S");
        assert!(serde_json::from_str::<Schedule>(&bad).is_err(), "{bad}");
    }
}

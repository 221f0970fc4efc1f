//! Schedules: the exact map from a job's definition to the UTC instants of its ticks.
//!
//! A [`Schedule`] says when a job's ticks are due; every tick is identified by its UTC instant, the
//! same on every node whatever its local zone. `Every { anchor, interval }` puts tick *k* at
//! `anchor + k·interval` for an absolute UTC anchor, computed with integer nanoseconds (no floats,
//! no accumulated drift: tick 10^9 is exactly where it should be). `Cron { expr, tz, dst }` runs a
//! cron expression in an IANA zone under a [`DstPolicy`] (see [`cron`] and [`zoned`]). This module
//! knows nothing of clocks, nodes or backends: callers hand it the instants to compare against.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod civil;
pub mod cron;
mod zoned;

pub use cron::{CronExpr, DstPolicy, FoldPolicy, GapPolicy, Zone};

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
    /// A cron expression evaluated in an IANA time zone: ticks at the instants whose local wall
    /// clock matches, with folds and gaps resolved by `dst` (cadence expressions keep real time).
    Cron {
        /// The expression, e.g. `30 2 * * *` or `*/15 * * * *`.
        expr: CronExpr,
        /// The zone the expression's wall-clock times are read in, e.g. `Europe/Berlin`.
        tz: Zone,
        /// What a fixed local time does in a fold or a gap.
        #[serde(default)]
        dst: DstPolicy,
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

    /// A cron schedule with the default [`DstPolicy`]; fails with [`Error::InvalidCron`] (naming
    /// the bad field and what it allows) or [`Error::UnknownTimeZone`].
    ///
    /// ```
    /// use cronfence::Schedule;
    /// let nightly = Schedule::cron("30 2 * * *", "Europe/Berlin").unwrap();
    /// let after: jiff::Timestamp = "2027-03-27T12:00:00Z".parse().unwrap();
    /// // 02:30 does not exist on 2027-03-28 in Berlin: the run moves to 03:00 CEST (01:00 UTC).
    /// assert_eq!(nightly.next_tick(after).unwrap().to_string(), "2027-03-28T01:00:00Z");
    /// assert!(Schedule::cron("30 2 * * *", "Europe/Berlinn").is_err());
    /// ```
    pub fn cron(expr: &str, tz: &str) -> Result<Self> {
        Self::cron_with_dst(expr, tz, DstPolicy::default())
    }

    /// A cron schedule with an explicit [`DstPolicy`].
    pub fn cron_with_dst(expr: &str, tz: &str, dst: DstPolicy) -> Result<Self> {
        Ok(Schedule::Cron {
            expr: CronExpr::parse(expr)?,
            tz: Zone::get(tz)?,
            dst,
        })
    }

    /// The instant of tick number `k`, or `None` past the end of representable time. Only
    /// interval schedules number their ticks: `None` for cron schedules.
    pub fn tick_at(&self, k: u64) -> Option<Timestamp> {
        match self {
            Schedule::Every { anchor, interval } => {
                let nanos = anchor.as_nanosecond() + i128::from(k) * interval.nanos();
                Timestamp::from_nanosecond(nanos).ok()
            }
            Schedule::Cron { .. } => None,
        }
    }

    /// The number of the last tick due at or before `t`, or `None` if no tick is. Only interval
    /// schedules number their ticks: `None` for cron schedules (use [`Self::last_tick_at_or_before`]).
    pub fn tick_number_at_or_before(&self, t: Timestamp) -> Option<u64> {
        match self {
            Schedule::Every { anchor, interval } => {
                let since = t.as_nanosecond() - anchor.as_nanosecond();
                if since < 0 {
                    return None;
                }
                u64::try_from(since / interval.nanos()).ok()
            }
            Schedule::Cron { .. } => None,
        }
    }

    /// The first tick strictly after `after`, or `None` if there is none.
    pub fn next_tick(&self, after: Timestamp) -> Option<Timestamp> {
        match self.zoned() {
            Some(z) => z.next_after(after),
            None => self.tick_at(self.first_number_after(after)?),
        }
    }

    /// The last tick at or before `t`, or `None` if there is none.
    pub fn last_tick_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        match self.zoned() {
            Some(z) => z.last_upto(t),
            None => self.tick_at(self.tick_number_at_or_before(t)?),
        }
    }

    /// True if the tick at `at` stands for a local time that fell into a DST gap and the job's
    /// policy is [`GapPolicy::Skip`]: the planner abandons it (reason `dst_gap`) instead of running
    /// it. Always false for interval schedules. `at` must be one of this schedule's ticks.
    pub fn skipped_by_dst(&self, at: Timestamp) -> bool {
        self.zoned().is_some_and(|z| z.skipped_in_gap(at))
    }

    /// Every tick with `after < instant ≤ up_to`, oldest first, computed lazily and exactly.
    pub fn due_ticks(&self, after: Timestamp, up_to: Timestamp) -> DueTicks {
        let range = match self {
            Schedule::Every { .. } => {
                let first = self.first_number_after(after);
                let last = self.tick_number_at_or_before(up_to);
                match (first, last) {
                    (Some(first), Some(last)) if first <= last => first..last + 1,
                    _ => 0..0,
                }
            }
            Schedule::Cron { .. } => 0..0,
        };
        DueTicks {
            schedule: self.clone(),
            range,
            after,
            up_to,
        }
    }

    fn zoned(&self) -> Option<zoned::Zoned<'_>> {
        match self {
            Schedule::Every { .. } => None,
            Schedule::Cron { expr, tz, dst } => Some(zoned::Zoned {
                cron: expr.cron(),
                tz: tz.time_zone(),
                dst: *dst,
                cadence: expr.is_cadence(),
            }),
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
            Schedule::Cron { expr, tz, dst } => {
                write!(f, "cron `{expr}` in {tz}")?;
                if *dst != DstPolicy::default() {
                    write!(f, " (fold: {:?}, gap: {:?})", dst.fold, dst.gap)?;
                }
                Ok(())
            }
        }
    }
}

/// The ticks due in a range, oldest first, double-ended, so the newest few of a long outage are
/// found without walking the whole range. For interval schedules it is exact-sized (`len` is
/// O(1)); for cron schedules each step is one search and `len` walks the range.
#[derive(Clone, Debug)]
pub struct DueTicks {
    schedule: Schedule,
    /// Interval schedules: the tick numbers left.
    range: std::ops::Range<u64>,
    /// Cron schedules: ticks left are in `(after, up_to]`.
    after: Timestamp,
    up_to: Timestamp,
}

impl DueTicks {
    /// How many ticks are left (interval: O(1); cron: walks a copy).
    pub fn len(&self) -> usize {
        match self.schedule {
            Schedule::Every { .. } => {
                usize::try_from(self.range.end - self.range.start).unwrap_or(usize::MAX)
            }
            Schedule::Cron { .. } => self.clone().count(),
        }
    }

    /// True when no tick is left.
    pub fn is_empty(&self) -> bool {
        self.clone().next().is_none()
    }
}

impl Iterator for DueTicks {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        if let Schedule::Every { .. } = self.schedule {
            let k = self.range.next()?;
            return self.schedule.tick_at(k);
        }
        let t = self
            .schedule
            .next_tick(self.after)
            .filter(|t| *t <= self.up_to);
        match t {
            Some(t) => self.after = t,
            None => self.after = self.up_to,
        }
        t
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.schedule {
            Schedule::Every { .. } => self.range.size_hint(),
            Schedule::Cron { .. } => (0, None),
        }
    }

    fn nth(&mut self, n: usize) -> Option<Timestamp> {
        if let Schedule::Every { .. } = self.schedule {
            let k = self.range.nth(n)?;
            return self.schedule.tick_at(k);
        }
        for _ in 0..n {
            self.next()?;
        }
        self.next()
    }
}

impl DoubleEndedIterator for DueTicks {
    fn next_back(&mut self) -> Option<Timestamp> {
        if let Schedule::Every { .. } = self.schedule {
            let k = self.range.next_back()?;
            return self.schedule.tick_at(k);
        }
        if self.up_to <= self.after {
            return None;
        }
        let t = self
            .schedule
            .last_tick_at_or_before(self.up_to)
            .filter(|t| *t > self.after);
        self.up_to = match t {
            Some(t) => t - SignedDuration::from_nanos(1),
            None => self.after,
        };
        t
    }
}

#[cfg(test)]
mod cron_tests;

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

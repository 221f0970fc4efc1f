//! Cron ticks in a time zone: wall-clock matches mapped to UTC instants under a DST policy.
//!
//! A zone's timeline is a sequence of *segments*, each with one UTC offset, split at the zone's
//! transitions. Inside a segment wall-clock time and UTC move together, so the next (or last)
//! tick there is the next (or last) wall-clock match croner finds, shifted by the offset. Between
//! segments lies either a **fold** (the clock went back: the next segment repeats wall-clock
//! times) or a **gap** (the clock went forward: some wall-clock times never happen). The
//! [`DstPolicy`] decides what a fixed-local-time expression does there; cadence expressions
//! (a wildcard in the second, minute or hour field) follow real time: every instant whose wall
//! clock matches runs, both passes of a fold included, and nothing runs for a time in a gap.
//! Searching segment by segment costs one croner search plus one or two zone lookups per tick,
//! however far the next tick is. This file owns that mapping; parsing lives in [`super::cron`],
//! croner's adapter in [`super::civil`].

use croner::Cron;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use super::civil::{first_match_from, last_match_upto, matches};
use super::cron::{DstPolicy, FoldPolicy, GapPolicy};

/// Segments walked at most in one search: far more transitions than any zone has before year
/// 5000, where croner stops looking anyway.
const MAX_SEGMENTS: usize = 20_000;

/// One cron schedule's search context.
pub(super) struct Zoned<'a> {
    pub(super) cron: &'a Cron,
    pub(super) tz: &'a TimeZone,
    pub(super) dst: DstPolicy,
    /// A wildcard in the second, minute or hour field: real-time cadence, no DST policy.
    pub(super) cadence: bool,
}

impl Zoned<'_> {
    /// The first tick strictly after `after`.
    pub(super) fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let mut lo = ceil_second(after.checked_add(SignedDuration::from_nanos(1)).ok()?)?;
        for _ in 0..MAX_SEGMENTS {
            let offset = self.tz.to_offset(lo);
            let end = self
                .tz
                .following(lo)
                .find(|t| t.timestamp() > lo)
                .map(|t| (t.timestamp(), t.offset()));
            // `None` here means no match before year 5000: nothing later can be a tick either.
            let found = first_match_from(self.cron, offset.to_datetime(lo))?;
            let at = offset.to_timestamp(found).ok()?;
            match end {
                Some((end, _)) if at >= end => {}
                _ => {
                    if self.counts(found, offset) {
                        return Some(at);
                    }
                    lo = at.checked_add(SignedDuration::from_secs(1)).ok()?;
                    continue;
                }
            }
            let (end, next_offset) = end.expect("matched only when the segment ends");
            // `found` is the first match at or after this segment's start; it lies in the gap
            // before the next segment exactly when it is earlier than that segment's wall clock.
            let in_gap = next_offset > offset && found < next_offset.to_datetime(end);
            if in_gap && self.runs_gap() {
                return Some(end);
            }
            lo = end;
        }
        None
    }

    /// The last tick at or before `upto`.
    pub(super) fn last_upto(&self, upto: Timestamp) -> Option<Timestamp> {
        let mut hi = floor_second(upto)?;
        for _ in 0..MAX_SEGMENTS {
            let offset = self.tz.to_offset(hi);
            let probe = hi.checked_add(SignedDuration::from_nanos(1)).ok()?;
            let start = self
                .tz
                .preceding(probe)
                .find(|t| t.timestamp() <= hi)
                .map(|t| t.timestamp());
            let found = last_match_upto(self.cron, offset.to_datetime(hi))?;
            let at = offset.to_timestamp(found).ok()?;
            match start {
                Some(start) if at < start => {}
                _ => {
                    if self.counts(found, offset) {
                        return Some(at);
                    }
                    hi = at.checked_sub(SignedDuration::from_secs(1)).ok()?;
                    continue;
                }
            }
            let start = start.expect("matched only when the segment starts");
            let before = start.checked_sub(SignedDuration::from_nanos(1)).ok()?;
            let prior_offset = self.tz.to_offset(before);
            // The gap before this segment holds wall-clock times from the prior segment's end to
            // this segment's start; `found` is the last match before this segment's start.
            let in_gap = offset > prior_offset && found >= prior_offset.to_datetime(start);
            if in_gap && self.runs_gap() {
                return Some(start);
            }
            hi = floor_second(before)?;
        }
        None
    }

    /// True if the tick at `at` stands for wall-clock times that fell into a gap and the policy
    /// skips them (the planner reports it instead of running it). Only meaningful for ticks.
    pub(super) fn skipped_in_gap(&self, at: Timestamp) -> bool {
        !self.cadence
            && self.dst.gap == GapPolicy::Skip
            && !matches(self.cron, self.tz.to_offset(at).to_datetime(at))
    }

    /// Whether a fixed-time expression yields a tick for wall-clock matches inside a gap: under
    /// both gap policies it does (run, or skip and report); cadence expressions do not.
    fn runs_gap(&self) -> bool {
        !self.cadence
    }

    /// Whether the match `found`, read with `offset`, is a tick: always, except the second pass
    /// through a fold for a fixed-time expression under [`FoldPolicy::Once`].
    fn counts(&self, found: DateTime, offset: Offset) -> bool {
        if self.cadence || self.dst.fold == FoldPolicy::Both {
            return true;
        }
        match self.tz.to_ambiguous_timestamp(found).offset() {
            AmbiguousOffset::Fold { after, .. } => offset != after,
            _ => true,
        }
    }
}

fn floor_second(t: Timestamp) -> Option<Timestamp> {
    let secs = t.as_nanosecond().div_euclid(1_000_000_000);
    Timestamp::from_second(i64::try_from(secs).ok()?).ok()
}

fn ceil_second(t: Timestamp) -> Option<Timestamp> {
    let secs = -(-t.as_nanosecond()).div_euclid(1_000_000_000);
    Timestamp::from_second(i64::try_from(secs).ok()?).ok()
}

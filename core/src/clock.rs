//! Clocks: where the runner reads wall-clock time, and how it sleeps until a wall-clock instant.
//!
//! The core never reads a clock on its own: the decision core takes `now` as an argument, and the
//! runner reads the [`Clock`] it was given. [`SystemClock`] is the machine's UTC clock (simulated
//! under madsim); the simulator hands each node a clock with its own offset, drift and jumps.
//! Sleeping uses the runtime's monotonic timer, re-reading the wall clock at least every
//! `recheck`, so a clock that jumps or drifts while the runner sleeps is noticed. [`Evidence`]
//! keeps what a node's own readings prove about true time, against a clock that jumps ahead.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

/// How long a clock reading keeps vouching for true time ([`Evidence`]): a clock that jumps
/// ahead for less than this cannot make ticks look missed or late. A clock that has read ahead
/// for longer (or since the node started) looks, to the node alone, like a clock that was behind
/// and got corrected: it is believed. This is the node's part of the clock contract, which the
/// simulator's no-gap checker holds it to.
pub const EVIDENCE_WINDOW: Duration = Duration::from_secs(5);

/// A source of wall-clock time (UTC).
pub trait Clock: Send + Sync {
    /// The current reading.
    fn now(&self) -> Timestamp;
}

/// The machine's UTC clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// How long to sleep before looking at `clock` again on the way to `deadline`: the remaining
/// wall-clock time, capped at `recheck`; zero once the deadline has passed.
pub fn sleep_for(clock: &dyn Clock, deadline: Option<Timestamp>, recheck: Duration) -> Duration {
    let Some(deadline) = deadline else {
        return recheck;
    };
    let remaining = deadline.duration_since(clock.now());
    if remaining.is_negative() || remaining.is_zero() {
        return Duration::ZERO;
    }
    Duration::try_from(remaining).map_or(recheck, |d| d.min(recheck))
}

/// A wall-clock reading with what the node's recent readings say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// What the clock says.
    pub wall: Timestamp,
    /// The earliest instant any reading of the last few seconds, moved on by the monotonic time
    /// since it was taken, points to; never after `wall`. A clock that jumps ahead for less than
    /// that window moves `wall`, not this.
    pub evidence: Timestamp,
    /// How long ago the reading `evidence` vouches from was taken: the oldest reading kept, at
    /// least a window old once the node has read its clock for a window (younger only while it
    /// is the node's first reading). `evidence` is never later than that reading moved on by
    /// this age, so it is the witness a checker can hold the evidence to.
    pub witness_age: Duration,
    /// What the clock said at that reading (the witness's wall value): a checker tells the
    /// node's start reading from any other by it, not by when it was recorded.
    pub witness: Timestamp,
}

impl Reading {
    /// A reading taken as its own evidence (no earlier reading to check it against).
    pub fn trusted(wall: Timestamp) -> Self {
        Reading {
            wall,
            evidence: wall,
            witness_age: Duration::ZERO,
            witness: wall,
        }
    }
}

/// Tracks the evidence behind a node's clock readings, sans IO: the caller passes each wall
/// reading with the monotonic time it was taken at.
///
/// A tick may be *run* when the wall clock says it is due (a clock ahead runs ticks early, which
/// loses nothing), but giving a tick up as missed or late needs the evidence: the earliest any
/// reading of the last `window` says, each moved on by the monotonic time since — counting the
/// newest reading at least `window` old, so the readings looked at always reach a whole window
/// back however sparsely the clock is read. A clock that strobes or jumps ahead for less than the
/// window does not make ticks look missed; a clock that went back and was corrected is followed
/// again once the low reading is more than a window old.
#[derive(Clone, Debug)]
pub struct Evidence {
    window: Duration,
    recent: std::collections::VecDeque<(Timestamp, Duration)>,
}

impl Evidence {
    /// Evidence over readings of the last `window` of monotonic time.
    pub fn new(window: Duration) -> Self {
        Evidence {
            window,
            recent: Default::default(),
        }
    }

    /// Takes in the wall reading `wall` made at monotonic time `mono` (any fixed origin).
    pub fn observe(&mut self, wall: Timestamp, mono: Duration) -> Reading {
        // Keep the newest reading at least a window old: drop one only once the next is too.
        while let Some(&(_, next)) = self.recent.get(1) {
            if mono.saturating_sub(next) < self.window {
                break;
            }
            self.recent.pop_front();
        }
        let moved_on = |&(reading, at): &(Timestamp, Duration)| {
            jiff::SignedDuration::try_from(mono.saturating_sub(at))
                .ok()
                .and_then(|d| reading.checked_add(d).ok())
                .unwrap_or(wall)
        };
        let evidence = self.recent.iter().map(moved_on).fold(wall, Timestamp::min);
        let (witness, witness_age) = self
            .recent
            .front()
            .map_or((wall, Duration::ZERO), |&(reading, at)| {
                (reading, mono.saturating_sub(at))
            });
        self.recent.push_back((wall, mono));
        Reading {
            wall,
            evidence,
            witness_age,
            witness,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_clock_that_jumps_ahead_moves_the_wall_not_the_evidence() {
        // One second after a reading of 0, a reading of an hour is evidence of one second only.
        let mut evidence = Evidence::new(secs(5));
        evidence.observe(at(0), secs(0));
        let reading = evidence.observe(at(3_600), secs(1));
        assert_eq!(reading.wall, at(3_600));
        assert_eq!(reading.evidence, at(1));
    }

    #[test]
    fn a_clock_ahead_for_longer_than_the_window_is_believed_once_its_low_reading_is_that_old() {
        // The reading of 0 is the newest at least a window old until the first jumped reading
        // is too: until then it bounds the evidence, moved on by the time since; then the jump
        // is believed.
        let mut evidence = Evidence::new(secs(5));
        evidence.observe(at(0), secs(0));
        assert_eq!(evidence.observe(at(3_600), secs(8)).evidence, at(8));
        assert_eq!(evidence.observe(at(3_601), secs(9)).evidence, at(9));
        assert_eq!(evidence.observe(at(3_605), secs(13)).evidence, at(3_605));
    }

    #[test]
    fn sparse_readings_still_reach_a_whole_window_back() {
        // Read every 2 s: at 7 s, 4.5 s after a jump an hour ahead, the reading of 2 s (older
        // than the window) still says it is 7 s.
        let mut evidence = Evidence::new(secs(5));
        evidence.observe(at(0), secs(0));
        evidence.observe(at(2), secs(2));
        evidence.observe(at(3_604), secs(4));
        evidence.observe(at(3_606), secs(6));
        assert_eq!(evidence.observe(at(3_607), secs(7)).evidence, at(7));
    }

    #[test]
    fn a_clock_that_went_back_is_followed_again_one_window_after_its_correction() {
        // The low reading at 1 s bounds the evidence until it leaves the window; then the
        // corrected clock is the evidence again.
        let mut evidence = Evidence::new(secs(5));
        evidence.observe(at(0), secs(0));
        evidence.observe(at(-3_599), secs(1));
        assert_eq!(evidence.observe(at(2), secs(2)).evidence, at(-3_598));
        assert_eq!(evidence.observe(at(10), secs(10)).evidence, at(10));
    }

    #[test]
    fn the_first_reading_is_its_own_evidence() {
        // Nothing earlier can contradict it.
        let mut evidence = Evidence::new(secs(5));
        assert_eq!(evidence.observe(at(7), secs(5)), Reading::trusted(at(7)));
    }

    #[test]
    fn the_witness_is_the_newest_reading_at_least_a_window_old_or_the_first() {
        // Readings at 0, 2 and 6 s: at 3 s only the first exists (3 s old); at 8 s the one of
        // 2 s is the newest a window old (6 s), and the evidence never passes it moved on.
        let mut evidence = Evidence::new(secs(5));
        evidence.observe(at(0), secs(0));
        assert_eq!(evidence.observe(at(2), secs(2)).witness_age, secs(2));
        assert_eq!(evidence.observe(at(3_606), secs(6)).witness_age, secs(6));
        let reading = evidence.observe(at(3_608), secs(8));
        assert_eq!(reading.witness_age, secs(6));
        assert!(reading.evidence <= at(2 + 6));
    }
}

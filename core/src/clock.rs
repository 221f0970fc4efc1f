//! Clocks: where the runner reads wall-clock time, and how it sleeps until a wall-clock instant.
//!
//! The core never reads a clock on its own: the decision core takes `now` as an argument, and the
//! runner reads the [`Clock`] it was given. [`SystemClock`] is the machine's UTC clock (simulated
//! under madsim); the simulator hands each node a clock with its own offset, drift and jumps.
//! Sleeping uses the runtime's monotonic timer, re-reading the wall clock at least every
//! `recheck`, so a clock that jumps or drifts while the runner sleeps is noticed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

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

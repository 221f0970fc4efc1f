//! Time in the simulated world: true time, and each node's own (faulty) wall clock.
//!
//! madsim has one global clock, so true wall-clock time is the scenario's start instant plus the
//! simulated time elapsed since the world began ([`WorldTime`]). Each node reads a [`SimClock`]:
//! true time transformed by that node's [`ClockModel`] — a constant offset (step jumps add to
//! it), a drift in parts per million, and a strobe that swings the offset back and forth. The
//! world changes a node's model when it injects or undoes a clock fault; the model survives node
//! crashes, as a hardware clock does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::Clock;
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use crate::fault::FaultKind;

/// True time in the world.
#[derive(Clone, Copy, Debug)]
pub struct WorldTime {
    start: Timestamp,
    epoch: Instant,
}

impl WorldTime {
    /// A world whose true wall clock reads `start` now.
    pub fn new(start: Timestamp) -> Self {
        WorldTime {
            start,
            epoch: Instant::now(),
        }
    }

    /// Simulated time since the world began.
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// True wall-clock time now.
    pub fn now(&self) -> Timestamp {
        self.at(self.elapsed())
    }

    /// True wall-clock time `elapsed` after the world began.
    pub fn at(&self, elapsed: Duration) -> Timestamp {
        let since =
            SignedDuration::try_from(elapsed).expect("simulations last less than centuries");
        self.start + since
    }

    /// The monotonic instant `elapsed` after the world began.
    pub fn instant(&self, elapsed: Duration) -> Instant {
        self.epoch + elapsed
    }
}

/// How one node's clock departs from true time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClockModel {
    /// Constant offset, including every step jump so far.
    pub offset: SignedDuration,
    /// Drift in parts per million, accumulated since `drift_since` (world-elapsed time).
    pub drift_ppm: i64,
    /// When the drift began.
    pub drift_since: Duration,
    /// Strobe: (amplitude, period, since).
    pub strobe: Option<(SignedDuration, SignedDuration, Duration)>,
}

/// A strobe's period in nanoseconds (at least one).
fn strobe_period_ns(period: SignedDuration) -> u128 {
    period.as_nanos().max(1) as u128
}

/// +1 in a strobe's even phases, -1 in its odd ones.
fn strobe_sign(phase: u128) -> i32 {
    if phase % 2 == 0 {
        1
    } else {
        -1
    }
}

impl ClockModel {
    /// The offset from true time at world-elapsed time `elapsed`.
    pub fn offset_at(&self, elapsed: Duration) -> SignedDuration {
        let mut offset = self.offset;
        if self.drift_ppm != 0 {
            let run = elapsed.saturating_sub(self.drift_since).as_nanos() as i128;
            let drift = run * i128::from(self.drift_ppm) / 1_000_000;
            offset += SignedDuration::from_nanos(drift as i64);
        }
        if let Some((amplitude, _, _)) = self.strobe {
            offset += strobe_sign(self.strobe_phase(elapsed)) * amplitude;
        }
        offset
    }

    /// The strobe's phase at `elapsed` (0 without a strobe): even reads `+amplitude`.
    fn strobe_phase(&self, elapsed: Duration) -> u128 {
        self.strobe.map_or(0, |(_, period, since)| {
            elapsed.saturating_sub(since).as_nanos() / strobe_period_ns(period)
        })
    }

    /// The furthest ahead of true time at `to` this model's clock read at any instant of
    /// `[from, to]`: its reading then minus true time at `to`. Within one strobe phase the
    /// reading only grows with time (drift never runs a clock backwards), so the furthest is at
    /// the end of the span's last phase (`to`) or of the one before it, when the span reaches
    /// back into it; earlier phases repeat those two, earlier.
    pub fn furthest_ahead_in(&self, from: Duration, to: Duration) -> SignedDuration {
        let at_to = self.offset_at(to);
        let Some((_, period, since)) = self.strobe else {
            return at_to;
        };
        let into_phase = (to.saturating_sub(since).as_nanos() % strobe_period_ns(period)) as u64;
        let phase_began = to - Duration::from_nanos(into_phase);
        if phase_began <= since || phase_began <= from {
            return at_to;
        }
        let before = phase_began - Duration::from_nanos(1);
        let behind = SignedDuration::try_from(to - before).unwrap_or(SignedDuration::MAX);
        at_to.max(self.offset_at(before) - behind)
    }

    /// Takes in clock fault `kind` starting (`on`) or ending at world-elapsed time `elapsed`.
    /// Other fault kinds leave the model as it is.
    pub fn apply(&mut self, kind: &FaultKind, on: bool, elapsed: Duration) {
        match (kind, on) {
            (FaultKind::ClockOffset { offset }, true) => self.offset += *offset,
            (FaultKind::ClockOffset { offset }, false) => self.offset -= *offset,
            (FaultKind::ClockJump { by }, true) => self.offset += *by,
            (FaultKind::ClockJump { by }, false) => self.offset -= *by,
            (FaultKind::ClockDrift { ppm }, true) => {
                self.drift_ppm = *ppm;
                self.drift_since = elapsed;
            }
            (FaultKind::ClockDrift { .. }, false) => self.drift_ppm = 0,
            (FaultKind::ClockStrobe { amplitude, period }, true) => {
                self.strobe = Some((*amplitude, *period, elapsed))
            }
            (FaultKind::ClockStrobe { .. }, false) => self.strobe = None,
            _ => {}
        }
    }
}

/// A node's clock: true time plus its model's offset.
#[derive(Clone, Debug)]
pub struct SimClock {
    world: WorldTime,
    model: Arc<Mutex<ClockModel>>,
}

impl SimClock {
    /// A clock reading `world` time through `model`.
    pub fn new(world: WorldTime, model: Arc<Mutex<ClockModel>>) -> Self {
        SimClock { world, model }
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.world.elapsed();
        let offset = self.model.lock().expect("clock lock").offset_at(elapsed);
        self.world.at(elapsed) + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_and_strobe_add_to_the_offset() {
        let model = ClockModel {
            offset: SignedDuration::from_secs(30),
            drift_ppm: 1_000,
            drift_since: Duration::from_secs(10),
            strobe: Some((
                SignedDuration::from_secs(5),
                SignedDuration::from_secs(60),
                Duration::ZERO,
            )),
        };
        // 1,000 s of 1,000 ppm drift is 1 s; 1,010 s is strobe phase 16 (even: +5 s), 1,030 s
        // is phase 17 (odd: -5 s).
        assert_eq!(
            model.offset_at(Duration::from_secs(1_010)),
            SignedDuration::from_millis(36_000)
        );
        assert_eq!(
            model.offset_at(Duration::from_secs(1_030)),
            SignedDuration::from_millis(26_020)
        );
    }
}

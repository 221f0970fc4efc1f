//! The end of every drawn world: a fault-free tail long enough for the system to recover and the
//! checkers to judge the recovery, and the checked window around it.
//!
//! After the last fault ends (a delayed write's packets land `delay` after it), the world runs
//! for the tail: one lease TTL (the last stale leadership expires), the runner's longest retry
//! backoff (5 s), one request timeout, the longest period among the jobs that tick often enough
//! to matter (slower jobs are idle paths), and a 5 s margin. The checked window ends with the
//! tail; a cooldown of 5 s plus one request timeout follows, so the window's last ticks can start
//! before the run ends. The warmup is 5 s plus one request timeout (the first registration and
//! election). This module computes; it draws nothing.

use cronfence::Schedule;
use jiff::{SignedDuration, Timestamp};

use super::Size;
use crate::scenario::{job_spec, Scenario};

/// The runner's longest retry backoff (`NodeConfig::retry_max`).
const RETRY_MAX: SignedDuration = SignedDuration::from_secs(5);
/// Slack at the end of the tail, in the warmup and in the cooldown.
const MARGIN: SignedDuration = SignedDuration::from_secs(5);

/// Sets the duration, warmup and cooldown of `s` from its faults, settings and jobs.
pub fn fit(s: &mut Scenario, size: Size) {
    let timeout = s.node.request_timeout;
    let window_end = last_fault_end(s) + tail(s, size);
    s.check.warmup = MARGIN + timeout;
    s.check.cooldown = MARGIN + timeout;
    s.duration = window_end + s.check.cooldown;
}

/// The fault-free time the world keeps after its last fault ends, inside the checked window.
pub fn tail(s: &Scenario, size: Size) -> SignedDuration {
    let cap = SignedDuration::from_millis(size.limits().max_tail_period_ms as i64);
    let horizon = s.start + last_fault_end(s) + cap * 2;
    let longest = s
        .jobs
        .iter()
        .filter_map(|job| {
            let (_, spec) = job_spec(job, s.start, None).expect("drawn jobs are valid");
            period(&spec.schedule, s.start, horizon)
        })
        .filter(|p| *p <= cap)
        .max()
        .unwrap_or(SignedDuration::ZERO);
    s.node.lease_ttl + RETRY_MAX + s.node.request_timeout + longest + MARGIN
}

/// When the last fault stops acting, since the world began.
pub fn last_fault_end(s: &Scenario) -> SignedDuration {
    s.faults
        .iter()
        .map(|f| {
            f.at + f.duration.unwrap_or(SignedDuration::ZERO)
                + f.delay.unwrap_or(SignedDuration::ZERO)
        })
        .max()
        .unwrap_or(SignedDuration::ZERO)
}

/// The longest gap between consecutive ticks from `start` to `horizon` (an interval schedule's
/// interval); `None` when fewer than two ticks fall in between.
fn period(schedule: &Schedule, start: Timestamp, horizon: Timestamp) -> Option<SignedDuration> {
    if let Schedule::Every { interval, .. } = schedule {
        return Some(interval.get());
    }
    let mut previous = schedule.next_tick(start).filter(|t| *t <= horizon)?;
    let mut longest = None;
    for _ in 0..10_000 {
        let Some(next) = schedule.next_tick(previous).filter(|t| *t <= horizon) else {
            break;
        };
        longest = longest.max(Some(next - previous));
        previous = next;
    }
    longest
}

//! When each tick of a batch starts, and which of them a later one replaces: the timing rules of
//! one execution's ticks, without a runtime.
//!
//! A batch is decided on one clock reading (its [`Decided`]). The ticks that reading found due
//! were missed: they run one after another, as catch-up. A batch can also hold ticks that were
//! not due in fact — decided on a clock that read ahead and has come back since. Read again on
//! the clock as it reads now, the decision happened at [`Decided::cutoff`]; a tick after that
//! was claimed ahead of its time, and under overlap `Replace` it behaves as a tick of its own
//! would: it starts no earlier than it is due, and once due it replaces the run going and every
//! tick of the batch before it ([`first_to_start`], [`replaced_at`]). Under `Forbid` the batch
//! runs on, one tick after another (early, if the clock read ahead: that loses nothing).

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use crate::plan::TickRun;

/// When a batch was decided: the clock's reading then, and the monotonic instant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decided {
    /// The wall-clock reading the decision was made on.
    pub(crate) wall: Timestamp,
    /// When, on the monotonic clock.
    pub(crate) at: Instant,
}

impl Decided {
    /// A decision made now, on `wall`.
    pub(crate) fn now(wall: Timestamp) -> Self {
        Decided {
            wall,
            at: Instant::now(),
        }
    }

    /// The newest tick the decision found due, as the clock reading `now` places it: the
    /// decision's own reading, or, if the clock reads less than that plus the time since, the
    /// reading now less the time since (the clock came back: the decision was earlier than it
    /// thought).
    pub(crate) fn cutoff(&self, now: Timestamp) -> Timestamp {
        cutoff(self.wall, now, self.at.elapsed())
    }
}

fn cutoff(decided: Timestamp, now: Timestamp, since: std::time::Duration) -> Timestamp {
    let since = SignedDuration::try_from(since).unwrap_or(SignedDuration::MAX);
    let placed = now.checked_sub(since).unwrap_or(Timestamp::MIN);
    decided.min(placed)
}

/// The index of the tick to start next, from `next` on: under `Replace`, the newest tick that
/// was claimed ahead of its time (after `cutoff`) and is due by `now` replaces every tick before
/// it, which are given up; otherwise `next` itself.
pub(crate) fn first_to_start(
    ticks: &[TickRun],
    next: usize,
    now: Timestamp,
    cutoff: Timestamp,
    replace: bool,
) -> usize {
    if !replace {
        return next;
    }
    let replacing = ticks[next..]
        .iter()
        .rposition(|t| t.at > cutoff && t.at <= now);
    replacing.map_or(next, |offset| next + offset)
}

/// When `following`, the batch's tick after the run about to start, replaces that run: under
/// `Replace`, once it is due, if it was claimed ahead of its time (after `cutoff`). A tick the
/// decision found due already is caught up on: it waits for the run's end.
pub(crate) fn replaced_at(
    following: Option<Timestamp>,
    cutoff: Timestamp,
    replace: bool,
) -> Option<Timestamp> {
    following.filter(|&at| replace && at > cutoff)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: i64) -> Timestamp {
        "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
    }

    fn ticks(secs: &[i64]) -> Vec<TickRun> {
        secs.iter()
            .map(|&s| TickRun {
                at: t(s),
                attempt: 1,
            })
            .collect()
    }

    #[test]
    fn a_clock_that_came_back_places_the_decision_earlier() {
        // Decided at 100 on a clock then 47 s ahead; 10 s later the clock reads 63: the decision
        // was at 53 in its terms. A clock that kept time keeps the decision where it was.
        let since = Duration::from_secs(10);
        assert_eq!(cutoff(t(100), t(63), since), t(53));
        assert_eq!(cutoff(t(100), t(110), since), t(100));
        assert_eq!(cutoff(t(100), t(130), since), t(100), "a clock ahead since");
    }

    #[test]
    fn caught_up_ticks_run_one_after_another_but_a_tick_claimed_ahead_replaces_them_once_due() {
        // Ticks 10..=60 decided at 30 (in the clock's terms now): 10, 20, 30 were missed; 40,
        // 50, 60 were claimed ahead. At 52 the batch is at 20: 50 is due and replaces 20..=40.
        let batch = ticks(&[10, 20, 30, 40, 50, 60]);
        assert_eq!(first_to_start(&batch, 1, t(52), t(30), true), 4);
        assert_eq!(
            first_to_start(&batch, 1, t(35), t(30), true),
            1,
            "nothing ahead due"
        );
        assert_eq!(
            first_to_start(&batch, 1, t(52), t(30), false),
            1,
            "only replace"
        );
        assert_eq!(
            first_to_start(&batch, 1, t(52), t(60), true),
            1,
            "all missed"
        );
    }

    #[test]
    fn only_a_tick_claimed_ahead_replaces_the_run_before_it() {
        // 30 was missed: the run of 20 goes on to its end; 40 was claimed ahead: it replaces
        // the run of 30 when it comes due.
        assert_eq!(replaced_at(Some(t(30)), t(30), true), None);
        assert_eq!(replaced_at(Some(t(40)), t(30), true), Some(t(40)));
        assert_eq!(replaced_at(Some(t(40)), t(30), false), None);
        assert_eq!(replaced_at(None, t(30), true), None);
    }
}

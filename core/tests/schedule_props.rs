//! Property tests of the schedule math: exact, ordered and complete for arbitrary anchors,
//! intervals and ranges. Each property compares against a definition that is obviously right
//! (a brute-force scan or the tick formula itself), so a wrong `due_ticks` cannot pass.

use cronfence::Schedule;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// Anchors across 1900–2200, intervals from 1 ns to 10 days.
fn schedule() -> impl Strategy<Value = (Timestamp, SignedDuration)> {
    let anchor = -2_208_988_800i64..7_258_118_400i64;
    let interval = prop_oneof![
        1i64..1_000,
        1_000i64..10_000_000_000,
        1i64..864_000_000_000_000
    ];
    (anchor, 0u32..1_000_000_000, interval).prop_map(|(secs, nanos, iv)| {
        let anchor = Timestamp::new(secs, nanos as i32).unwrap();
        (anchor, SignedDuration::from_nanos(iv))
    })
}

fn nanos(t: Timestamp) -> i128 {
    t.as_nanosecond()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Tick k's instant maps back to k, and the instant just before it maps to k - 1.
    #[test]
    fn tick_and_instant_round_trip((anchor, interval) in schedule(), k in 0u64..1_000_000_000_000) {
        let s = Schedule::every(anchor, interval).unwrap();
        if let Some(at) = s.tick_at(k) {
            prop_assert_eq!(nanos(at) - nanos(anchor), i128::from(k) * interval.as_nanos());
            prop_assert_eq!(s.tick_number_at_or_before(at), Some(k));
            let before = at - SignedDuration::from_nanos(1);
            prop_assert_eq!(s.tick_number_at_or_before(before), k.checked_sub(1));
            prop_assert_eq!(s.next_tick(before), Some(at));
        }
    }

    /// `due_ticks(after, up_to)` is exactly the set {anchor + k·interval : after < t ≤ up_to},
    /// in increasing order, checked against the formula for every k that could qualify.
    #[test]
    fn due_ticks_are_exactly_the_ticks_in_range(
        (anchor, interval) in schedule(),
        start_offset in -50i64..200,
        width in 0i64..120,
        jitter in 0i64..1_000_000_000,
    ) {
        let s = Schedule::every(anchor, interval).unwrap();
        let iv = interval.as_nanos();
        let after_n = nanos(anchor) + i128::from(start_offset) * iv + i128::from(jitter) % iv;
        let up_to_n = after_n + i128::from(width) * iv + i128::from(jitter) % iv;
        let (Ok(after), Ok(up_to)) = (Timestamp::from_nanosecond(after_n), Timestamp::from_nanosecond(up_to_n)) else {
            return Ok(());
        };
        let got: Vec<i128> = s.due_ticks(after, up_to).map(nanos).collect();
        let expected: Vec<i128> = (0..400i128)
            .map(|k| nanos(anchor) + k * iv)
            .filter(|&t| t > after_n && t <= up_to_n)
            .collect();
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(s.due_ticks(after, up_to).len(), expected.len());
        let mut reversed: Vec<i128> = s.due_ticks(after, up_to).rev().map(nanos).collect();
        reversed.reverse();
        prop_assert_eq!(reversed, expected);
    }

    /// Far from the anchor (up to 10^9 ticks away), the next tick is the formula's, with no drift.
    #[test]
    fn no_drift_after_a_billion_ticks((anchor, interval) in schedule(), k in 0u64..=1_000_000_000) {
        let s = Schedule::every(anchor, interval).unwrap();
        let Some(at) = s.tick_at(k) else { return Ok(()) };
        let probe = at - SignedDuration::from_nanos(1);
        prop_assert_eq!(s.next_tick(probe), Some(at));
        prop_assert_eq!(s.due_ticks(probe, at).collect::<Vec<_>>(), vec![at]);
    }
}

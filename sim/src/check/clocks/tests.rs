use jiff::SignedDuration;

use super::NodeClocks;
use crate::check::testkit::Builder;
use crate::fault::FaultKind;

const MS: u64 = 1_000_000;

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

#[test]
fn a_clock_reads_its_faults_offset_from_the_moment_each_starts_until_it_ends() {
    // An hour ahead from 1 s to 9 s: right before, during and after.
    let ahead = FaultKind::ClockOffset {
        offset: secs(3_600),
    };
    let history = Builder::new()
        .fault(1_000, "node-0", ahead.clone())
        .fault_ended(9_000, "node-0", ahead, 1_000)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(clocks.offset("node-0", 999 * MS), SignedDuration::ZERO);
    assert_eq!(clocks.offset("node-0", 1_000 * MS), secs(3_600));
    assert_eq!(clocks.offset("node-0", 8_999 * MS), secs(3_600));
    assert_eq!(clocks.offset("node-0", 9_000 * MS), SignedDuration::ZERO);
    assert_eq!(clocks.offset("node-1", 5_000 * MS), SignedDuration::ZERO);
}

#[test]
fn a_drifting_clock_and_a_strobe_read_what_their_model_gives_at_that_instant() {
    // 10% fast from 0: 5.5 s ahead at 55 s. A ±10 s strobe every second from 0: ahead in even
    // seconds, behind in odd ones.
    let strobe = FaultKind::ClockStrobe {
        amplitude: secs(10),
        period: SignedDuration::from_secs(1),
    };
    let history = Builder::new()
        .fault(0, "node-0", FaultKind::ClockDrift { ppm: 100_000 })
        .fault(0, "node-1", strobe)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(
        clocks.offset("node-0", 55_000 * MS),
        SignedDuration::from_millis(5_500)
    );
    assert_eq!(clocks.offset("node-1", 2_500 * MS), secs(10));
    assert_eq!(clocks.offset("node-1", 3_500 * MS), secs(-10));
}

#[test]
fn the_furthest_a_clock_read_ahead_over_a_span_counts_every_model_in_it() {
    // A 60 s jump over [1 s, 5 s], seen from 8 s: just before the jump ended the clock read 60 s
    // ahead, 3 s (and 1 ns) before 8 s; nothing ahead before 1 s or after 5 s.
    let jump = FaultKind::ClockJump { by: secs(60) };
    let strobe = FaultKind::ClockStrobe {
        amplitude: secs(10),
        period: SignedDuration::from_secs(1),
    };
    let history = Builder::new()
        .fault(1_000, "node-0", jump.clone())
        .fault_ended(5_000, "node-0", jump, 1_000)
        .fault(0, "node-1", strobe)
        .build();
    let clocks = NodeClocks::new(&history);
    let just_before_end = secs(57) + SignedDuration::from_nanos(-1);
    assert_eq!(
        clocks.furthest_ahead("node-0", 0, 8_000 * MS),
        just_before_end
    );
    assert_eq!(
        clocks.furthest_ahead("node-0", 0, 900 * MS),
        SignedDuration::ZERO
    );
    assert_eq!(
        clocks.furthest_ahead("node-0", 5_000 * MS, 8_000 * MS),
        SignedDuration::ZERO
    );
    // The strobe reads behind in [1.2 s, 1.8 s] (an odd phase), ahead from 2 s; seen from 3.1 s
    // (behind again) it read furthest ahead just before 3 s.
    assert_eq!(
        clocks.furthest_ahead("node-1", 1_200 * MS, 1_800 * MS),
        secs(-10)
    );
    assert_eq!(
        clocks.furthest_ahead("node-1", 1_200 * MS, 2_100 * MS),
        secs(10)
    );
    let reached = secs(10) - SignedDuration::from_millis(100) - SignedDuration::from_nanos(1);
    assert_eq!(
        clocks.furthest_ahead("node-1", 1_200 * MS, 3_100 * MS),
        reached
    );
    assert_eq!(
        clocks.furthest_ahead("node-1", 3_000 * MS, 3_100 * MS),
        secs(-10)
    );
}

#[test]
fn clock_faults_at_one_instant_leave_no_state_in_between_to_read() {
    // A jump of +60 s and one of -60 s applied in the same turn at 1 s: the clock never read
    // ahead, whatever the order the faults were recorded in.
    let ahead = FaultKind::ClockJump { by: secs(60) };
    let back = FaultKind::ClockJump { by: secs(-60) };
    let history = Builder::new()
        .fault(1_000, "node-0", ahead)
        .fault(1_000, "node-0", back)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(
        clocks.furthest_ahead("node-0", 0, 2_000 * MS),
        SignedDuration::ZERO
    );
}

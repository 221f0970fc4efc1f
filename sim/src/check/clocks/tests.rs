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

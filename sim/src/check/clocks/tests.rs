use jiff::SignedDuration;

use super::NodeClocks;
use crate::check::testkit::Builder;
use crate::fault::FaultKind;

const MS: u64 = 1_000_000;

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

fn offset(s: i64) -> FaultKind {
    FaultKind::ClockOffset { offset: secs(s) }
}

#[test]
fn a_lead_held_for_the_whole_window_goes_unnoticed() {
    // An hour ahead from 1 s on: at 10 s the node's last 5 s of readings all read an hour
    // ahead, so nothing it read could tell; at 3 s its reading from before the jump still could.
    let clocks = NodeClocks::new(&Builder::new().fault(1_000, "node-0", offset(3_600)).build());
    assert_eq!(clocks.unnoticed_lead("node-0", 10_000 * MS), secs(3_600));
    assert_eq!(
        clocks.unnoticed_lead("node-0", 3_000 * MS),
        SignedDuration::ZERO
    );
    assert_eq!(
        clocks.unnoticed_lead("node-1", 10_000 * MS),
        SignedDuration::ZERO
    );
}

#[test]
fn a_restart_under_a_lead_starts_the_window_again() {
    // A node restarted at 8 s into a clock an hour ahead since 6 s has nothing older to check
    // it against: at 9 s the lead is unnoticed although it is only 3 s old.
    let history = Builder::new()
        .fault(6_000, "node-0", offset(3_600))
        .fault(7_000, "node-0", FaultKind::Crash)
        .fault_ended(8_000, "node-0", FaultKind::Crash, 7_000)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(clocks.unnoticed_lead("node-0", 9_000 * MS), secs(3_600));
}

#[test]
fn a_clock_behind_or_swinging_within_the_window_leads_by_nothing() {
    // Behind is never a lead; a strobe of ±10 s every second shows its low swing in any 5 s.
    let strobe = FaultKind::ClockStrobe {
        amplitude: secs(10),
        period: SignedDuration::from_secs(1),
    };
    let history = Builder::new()
        .fault(0, "node-0", offset(-60))
        .fault(0, "node-1", strobe)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(
        clocks.unnoticed_lead("node-0", 20_000 * MS),
        SignedDuration::ZERO
    );
    assert_eq!(
        clocks.unnoticed_lead("node-1", 20_000 * MS),
        SignedDuration::ZERO
    );
}

#[test]
fn a_drifting_clock_leads_by_its_lead_at_the_window_start() {
    // 10% fast from 0: at 60 s it reads 6 s ahead, and 5.5 s ahead at the window's start.
    let history = Builder::new()
        .fault(0, "node-0", FaultKind::ClockDrift { ppm: 100_000 })
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(
        clocks.unnoticed_lead("node-0", 60_000 * MS),
        SignedDuration::from_millis(5_500)
    );
}

#[test]
fn a_pause_stretches_the_window_back_over_the_time_asleep() {
    // Paused 100–130 s, its clock jumped an hour ahead at 110 s: at 131 s the node's readings
    // reach back 5 s of waking time, to before the pause, where the clock was right.
    let history = Builder::new()
        .fault(100_000, "node-0", FaultKind::Pause)
        .fault(110_000, "node-0", offset(3_600))
        .fault_ended(130_000, "node-0", FaultKind::Pause, 100_000)
        .build();
    let clocks = NodeClocks::new(&history);
    assert_eq!(
        clocks.unnoticed_lead("node-0", 131_000 * MS),
        SignedDuration::ZERO
    );
    assert_eq!(clocks.unnoticed_lead("node-0", 136_000 * MS), secs(3_600));
}

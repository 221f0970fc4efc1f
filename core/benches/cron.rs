//! Benchmark: next-tick computation for 10,000 cron jobs in mixed zones, beside croner's own
//! zoned iterator.
//!
//! Each job (one of ten expressions × one of eight zones, DST-observing and not) computes its
//! next 20 ticks, chaining each search from the previous tick, starting two hours before its
//! zone's first transition after 2027-03-01 (or at 2027-03-01 in a zone without one), so every
//! DST-observing job crosses a transition. Measured: nanoseconds per `Schedule::next_tick`, and per
//! `croner::Cron::find_next_occurrence` on a jiff 0.2 `Zoned` in the same zone (croner's own
//! zoned search, its default DST behaviour) over the same jobs, in the same run. The two differ
//! by design on fixed multi-value times (see `schedule/cron.rs`), so agreement is printed, not
//! required. No runtime, no I/O.
//!
//! ```text
//! cargo bench -p cronfence --bench cron
//! ```
//!
//! Prints the median of 5 rounds; fails (exit 1) if cronfence takes over 20 µs per computation.

use std::time::Instant;

use croner::parser::{CronParser, Seconds};
use cronfence::Schedule;
use jiff::Timestamp;

const JOBS: usize = 10_000;
const TICKS: usize = 20;
const ROUNDS: usize = 5;

const EXPRS: [&str; 10] = [
    "*/15 * * * *",
    "30 2 * * *",
    "0 9 * * MON-FRI",
    "0 0 1 * *",
    "*/5 9-17 * * MON-FRI",
    "@hourly",
    "0 2,14 * * *",
    "15 0 * * SUN",
    "0 */6 * * *",
    "0 30 1 * * *",
];

const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "UTC",
];

fn job(i: usize) -> (&'static str, &'static str) {
    (
        EXPRS[i % EXPRS.len()],
        ZONES[(i / EXPRS.len()) % ZONES.len()],
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let start: Timestamp = "2027-03-01T00:00:00Z".parse().expect("valid");
    let ours: Vec<(Schedule, Timestamp)> = (0..JOBS)
        .map(|i| {
            let (expr, tz) = job(i);
            let schedule = Schedule::cron(expr, tz).expect("valid");
            let zone = cronfence::schedule::Zone::get(tz).expect("valid");
            let first = zone.time_zone().following(start).next().map_or(start, |t| {
                t.timestamp() - jiff::SignedDuration::from_hours(2)
            });
            (schedule, first)
        })
        .collect();
    let db = jiff02::tz::TimeZoneDatabase::bundled();
    let parser = CronParser::builder().seconds(Seconds::Optional).build();
    let theirs: Vec<(croner::Cron, jiff02::Zoned)> = (0..JOBS)
        .map(|i| {
            let (expr, tz) = job(i);
            let zone = db.get(tz).expect("bundled zone");
            let at = jiff02::Timestamp::from_second(ours[i].1.as_second()).expect("in range");
            (parser.parse(expr).expect("valid"), at.to_zoned(zone))
        })
        .collect();
    let computations = (JOBS * TICKS) as f64;
    let (mut ours_ns, mut theirs_ns) = (Vec::new(), Vec::new());
    let (mut ours_ticks, mut theirs_ticks) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours_ticks.clear();
        let t0 = Instant::now();
        for (s, first) in &ours {
            let mut at = *first;
            for _ in 0..TICKS {
                at = s.next_tick(at).expect("a next tick");
                ours_ticks.push(at.as_second());
            }
        }
        ours_ns.push(t0.elapsed().as_nanos() as f64 / computations);
        theirs_ticks.clear();
        let t0 = Instant::now();
        for (cron, from) in &theirs {
            let mut at = from.clone();
            for _ in 0..TICKS {
                at = cron.find_next_occurrence(&at, false).expect("a next tick");
                theirs_ticks.push(at.timestamp().as_second());
            }
        }
        theirs_ns.push(t0.elapsed().as_nanos() as f64 / computations);
    }
    let agree = ours_ticks
        .iter()
        .zip(&theirs_ticks)
        .filter(|(a, b)| a == b)
        .count();
    let (ours_med, theirs_med) = (median(ours_ns.clone()), median(theirs_ns.clone()));
    println!("{JOBS} cron jobs × {TICKS} next-tick computations, median of {ROUNDS} rounds:");
    println!(
        "  cronfence Schedule::next_tick:              {ours_med:>8.0} ns (rounds {:?})",
        ours_ns.iter().map(|n| n.round()).collect::<Vec<_>>()
    );
    println!(
        "  croner find_next_occurrence (jiff Zoned):   {theirs_med:>8.0} ns (rounds {:?})",
        theirs_ns.iter().map(|n| n.round()).collect::<Vec<_>>()
    );
    println!(
        "  ratio cronfence / croner: {:.2}; same tick in {agree} of {} computations",
        ours_med / theirs_med,
        ours_ticks.len()
    );
    if ours_med > 20_000.0 {
        eprintln!("FAIL: {ours_med:.0} ns per computation exceeds the 20 µs floor");
        std::process::exit(1);
    }
}

//! Benchmark: how fast the simulator runs the reference scenario.
//!
//! Reference: `scenarios/random_faults.toml` stretched to one simulated hour — five nodes, twenty
//! 1-second jobs, TTL 10 s, a random fault about every two minutes — including history recording
//! and every checker. Prints simulated seconds per wall second for single runs (median of the
//! seeds), and seeds per minute for a sweep spread over threads (one per core by default).
//!
//! ```text
//! cargo bench -p cronfence-sim --bench sim_speed            # 3 single runs, a 6-seed sweep
//! cargo bench -p cronfence-sim --bench sim_speed -- 5 12    # 5 single runs, a 12-seed sweep
//! ```
//!
//! Exits 1 if the median is under the floor of 3,000× real time.

use std::path::Path;
use std::time::Instant;

use cronfence_sim::scenario::{self, BackendKind, Scenario};
use cronfence_sim::world;

/// The allocator the `cronfence` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn reference() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/random_faults.toml");
    let mut s = scenario::load(&path)
        .expect("the reference scenario loads")
        .scenario;
    s.duration = jiff::SignedDuration::from_hours(1);
    s
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let singles = args.first().copied().unwrap_or(3);
    let sweep = args.get(1).copied().unwrap_or(6);
    let s = reference();
    let simulated = s.duration.as_secs_f64();

    let mut speeds = Vec::new();
    for seed in 1..=singles {
        let started = Instant::now();
        let run = world::run(&s, BackendKind::Memory, seed);
        let wall = started.elapsed().as_secs_f64();
        let speed = simulated / wall;
        println!(
            "seed {seed}: {simulated:.0} simulated s in {wall:.2} wall s = {speed:.0}x real time ({} records, {} faults, passed: {})",
            run.history.records.len(),
            run.plan.len(),
            run.verdict.passed()
        );
        speeds.push(speed);
    }
    speeds.sort_by(|a, b| a.total_cmp(b));
    let median = speeds[speeds.len() / 2];

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                (1..=sweep)
                    .filter(|seed| seed % threads == t)
                    .map(|seed| {
                        world::run(&s, BackendKind::Memory, 100 + seed)
                            .verdict
                            .passed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let passed: usize = handles
        .into_iter()
        .flat_map(|h| h.join().expect("sweep thread"))
        .filter(|p| *p)
        .count();
    let wall = started.elapsed().as_secs_f64();
    println!("\nsweep: {sweep} seeds on {threads} threads in {wall:.1} s = {:.1} seeds/minute ({passed} passed)", sweep as f64 * 60.0 / wall);
    println!(
        "single-run speed (median of {singles}): {median:.0}x real time (floor 3000x: {:.1}x over)",
        median / 3000.0
    );
    if median < 3000.0 {
        eprintln!("below the floor of 3,000x real time");
        std::process::exit(1);
    }
}

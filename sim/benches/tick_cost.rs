//! Benchmark: whether the simulator's cost per simulated tick stays flat as the jobs grow.
//!
//! One node set (three nodes, the memory backend, no faults) runs 200, 2,000 and then 20,000
//! one-second jobs for one simulated minute each, history recording and every checker included,
//! as `cronfence run` does, on the allocator the `cronfence` binary uses (mimalloc). Each size
//! runs often enough to simulate about as many ticks as the largest (20,000 / jobs times, at
//! least once). Prints, per size, the median run's wall time per simulated tick and the largest
//! peak heap (every live byte, counted by a global allocator), and the ratio of the dearest tick
//! to the cheapest.
//!
//! ```text
//! cargo bench -p cronfence-sim --bench tick_cost
//! cargo bench -p cronfence-sim --bench tick_cost -- 200 2000   # other sizes
//! ```
//!
//! Exits 1 if the dearest size's cost per tick is more than 1.5× the cheapest's (issue 14's
//! floor: a cost per tick that does not grow with the number of jobs).

use std::alloc::{GlobalAlloc, Layout};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cronfence_sim::scenario::{self, BackendKind};
use cronfence_sim::world;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match new_size.checked_sub(layout.size()) {
            Some(more) => grew(more),
            None => {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most the dearest size's cost per tick may be of the cheapest's.
const FLATNESS: f64 = 1.5;

/// `jobs` one-second jobs on three nodes for one simulated minute. Scenario files may define at
/// most 1,000 jobs; the bench sets its count after loading, as `sim_speed` stretches its duration.
fn scenario_of(jobs: usize) -> scenario::Scenario {
    let text = format!(
        "description = \"tick cost bench\"\nnodes = 3\nbackends = [\"memory\"]\n\
         not_on_etcd_sim = \"a bench of the simulator on the memory backend\"\n\
         duration = \"1m\"\nseeds = 1\n\n[[jobs]]\nid = \"job\"\nevery = \"1s\"\ncount = {}\n\n\
         [expect]\noutcome = \"pass\"\n",
        jobs.min(1_000)
    );
    let path = Path::new("tick_cost.toml");
    let mut s = scenario::parse(path, &text).expect("the bench's scenario parses");
    s.jobs[0].count = Some(u32::try_from(jobs).expect("a job count"));
    s
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![200, 2_000, 20_000];
    }
    println!(
        "| jobs | ticks due | runs | median wall | cost per simulated tick | peak heap | passed |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|");
    let mut costs = Vec::new();
    for jobs in sizes {
        let s = scenario_of(jobs);
        // The same number of simulated ticks at every size (a small size's single run is too
        // short to time): the median run's cost per tick, the largest peak.
        let repeats = (20_000 / jobs).max(1);
        let mut runs = Vec::new();
        let mut peak = 0;
        let mut passed = true;
        for _ in 0..repeats {
            PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
            let base = LIVE.load(Ordering::Relaxed);
            let started = Instant::now();
            let run = world::run(&s, BackendKind::Memory, 1);
            runs.push(started.elapsed());
            peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
            passed &= run.verdict.passed();
            drop(run);
        }
        runs.sort();
        let wall = runs[runs.len() / 2];
        // Expected ticks: every job once a second over the minute.
        let ticks = jobs as f64 * s.duration.as_secs_f64();
        let cost = wall.as_secs_f64() * 1e6 / ticks;
        println!(
            "| {jobs} | {ticks:.0} | {repeats} | {:.2} s | {cost:.1} µs | {:.0} MB | {passed} |",
            wall.as_secs_f64(),
            peak as f64 / 1e6,
        );
        costs.push(cost);
    }
    let cheapest = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let dearest = costs.iter().copied().fold(0.0, f64::max);
    let ratio = dearest / cheapest;
    println!("\ndearest / cheapest cost per tick: {ratio:.2} (floor {FLATNESS})");
    if ratio > FLATNESS {
        eprintln!("the cost per tick grows with the jobs: {ratio:.2} > {FLATNESS}");
        std::process::exit(1);
    }
}

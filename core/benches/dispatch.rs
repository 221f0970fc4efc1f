//! Benchmark: 100,000 interval jobs on one leader with the in-memory backend.
//!
//! Measures the core work per dispatched tick — planner poll, claim batch built, claim applied by
//! the memory backend's state machine, planner advanced — and the live heap bytes per registered
//! job (job definitions, backend registry and checkpoints, planner state). No runtime, timers or
//! tasks are involved: this is the part of cronfence whose cost grows with the number of jobs.
//!
//! ```text
//! cargo bench -p cronfence --bench dispatch
//! ```
//!
//! Prints the median of several rounds, and fails (exit 1) if a floor is missed:
//! ≤ 1 µs per tick, ≤ 512 bytes per job.

use std::time::{Duration, Instant};

use cronfence::memory::{MemoryState, Request, Response};
use cronfence::plan::Planner;
use cronfence::{ElectionName, Fence, Job, JobId, Schedule};
use jiff::{SignedDuration, Timestamp};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

const JOBS: usize = 100_000;
const MINUTES: i64 = 5;
const ROUNDS: usize = 5;
/// The floors: core work per dispatched tick, and live heap per registered job.
const FLOOR_NS: f64 = 1_000.0;
const FLOOR_BYTES: f64 = 512.0;

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Every job runs once a minute; anchors are spread over the minute's seconds, so about 1,667
/// jobs are due at each second and are claimed in one batch.
fn jobs() -> Vec<Job> {
    (0..JOBS)
        .map(|i| {
            let anchor = t0() + SignedDuration::from_secs((i % 60) as i64);
            let schedule = Schedule::every(anchor, SignedDuration::from_secs(60)).unwrap();
            Job::new(
                JobId::new(format!("job-{i:06}")).unwrap(),
                schedule,
                |_| async { Ok::<(), std::io::Error>(()) },
            )
        })
        .collect()
}

/// The leader's side (its planner borrows the jobs, as a node's does) and the backend's.
struct World<'j> {
    state: MemoryState,
    planner: Planner<'j>,
    fence: Fence,
}

fn apply(state: &mut MemoryState, now: Duration, request: Request) -> Response {
    state.apply(now, request).response
}

fn build(jobs: &[Job]) -> World<'_> {
    let mut state = MemoryState::new();
    let specs: Vec<_> = jobs
        .iter()
        .map(|j| (j.id.clone(), j.spec.clone()))
        .collect();
    let default = ElectionName::new("default");
    let registered = specs
        .iter()
        .map(|(id, spec)| (id.clone(), spec.clone(), default.clone()))
        .collect();
    apply(
        &mut state,
        Duration::ZERO,
        Request::Register {
            jobs: registered,
            now: t0(),
        },
    );
    let Response::Granted { lease } = apply(
        &mut state,
        Duration::ZERO,
        Request::Grant {
            ttl: Duration::from_secs(3600),
        },
    ) else {
        panic!("lease")
    };
    let election = ElectionName::new("default");
    let campaign = Request::Campaign {
        election: election.clone(),
        lease,
        value: "leader".into(),
        seq: 0,
    };
    let Response::Won { token } = apply(&mut state, Duration::ZERO, campaign) else {
        panic!("won")
    };
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let Response::Checkpoints(checkpoints) = apply(
        &mut state,
        Duration::ZERO,
        Request::Checkpoints { jobs: ids },
    ) else {
        panic!("checkpoints")
    };
    let planner = Planner::new(jobs.iter().map(|j| (&j.id, &j.spec)), checkpoints, t0());
    let fence = Fence {
        election,
        token,
        lease,
        value: "leader".into(),
    };
    World {
        state,
        planner,
        fence,
    }
}

/// Drives the leader second by second for `MINUTES`; returns (ticks dispatched, time taken).
fn dispatch(world: &mut World) -> (usize, Duration) {
    let mut ticks = 0;
    let mut seq = 0;
    let started = Instant::now();
    let mut now = t0();
    let end = t0() + SignedDuration::from_mins(MINUTES);
    while now < end {
        now = world.planner.next_deadline().expect("jobs repeat forever");
        let decisions = world.planner.poll(now);
        let claims: Vec<_> = decisions
            .iter()
            .flat_map(|d| {
                let (id, spec) = world.planner.job(d.job);
                d.claims(id, spec)
            })
            .collect();
        ticks += decisions.iter().map(|d| d.run.len()).sum::<usize>();
        let since = Duration::try_from(now.duration_since(t0())).unwrap();
        let answer = apply(
            &mut world.state,
            since,
            Request::Claim {
                fence: world.fence.clone(),
                claims,
                seq: {
                    seq += 1;
                    seq
                },
            },
        );
        assert_eq!(answer, Response::Done, "claims succeed");
        world.planner.advance(&decisions);
        // Every run begins and finishes before the next second (the commands are instant).
        for d in decisions.iter().filter(|d| !d.run.is_empty()) {
            world.planner.began(d.job);
            world.planner.finished(d.job, true);
        }
    }
    (ticks, started.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("dispatch: bench");
        return;
    }
    // The jobs (ids, specs, commands) count in the memory figure, as on a node.
    let before = counting::live();
    let jobs = jobs();
    let world = build(&jobs);
    let bytes_per_job = (counting::live() - before) as f64 / JOBS as f64;
    drop(world);

    let mut per_tick = Vec::new();
    for round in 0..ROUNDS {
        let mut world = build(&jobs);
        let (ticks, took) = dispatch(&mut world);
        let ns = took.as_nanos() as f64 / ticks as f64;
        println!("round {round}: {ticks} ticks in {took:?}: {ns:.0} ns/tick");
        per_tick.push(ns);
    }
    let ns = median(per_tick);
    println!("\n{JOBS} jobs, {MINUTES} minutes of 1-minute ticks, claims batched per second");
    println!(
        "core work per dispatched tick (median of {ROUNDS}): {ns:.0} ns  (floor {FLOOR_NS} ns: {:.2}x under)",
        FLOOR_NS / ns
    );
    println!(
        "heap per registered job: {bytes_per_job:.0} bytes  (floor {FLOOR_BYTES} bytes: {:.2}x under)",
        FLOOR_BYTES / bytes_per_job
    );
    if ns > FLOOR_NS || bytes_per_job > FLOOR_BYTES {
        eprintln!("a floor was missed");
        std::process::exit(1);
    }
}

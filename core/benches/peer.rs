//! Benchmark: cronfence beside its peer, as a user choosing a scheduler would compare them.
//!
//! In one process, for 1,000 and then 10,000 jobs that each run every second: cronfence's
//! [`Node`] with the in-memory backend, then `tokio-cron-scheduler` (the crate Rust users pick
//! today; cron `* * * * * *`, its defaults) with the same jobs, each for a window of 30 whole
//! seconds on a real multi-threaded tokio runtime of its own. Measured per run: the ticks of the
//! window that did not run (due: jobs × seconds; ran: distinct (job, second) pairs whose command
//! ran), the process's CPU time over the window per tick that ran, and the live heap per job at
//! the window's end (every byte the scheduler holds, counted by a global allocator). A cronfence
//! tick's second is its scheduled instant; a tokio-cron-scheduler run is not told its tick, so its
//! second is the one its run started in. Runs that start up to two seconds after the window
//! still count for it. This measures what a user runs, not cronfence's core alone (that is the
//! `dispatch` bench). Both figures depend on the machine, so it sets no floor on them; it fails
//! (exit 1) only if cronfence runs a tick twice.
//!
//! ```text
//! cargo real-bench -p cronfence --bench peer
//! CRONFENCE_PEER_SECONDS=5 cargo real-bench -p cronfence --bench peer   # a quick look
//! ```
//!
//! The simulator build (`cargo bench`) only says how to run it: the peer needs real tokio.

#[cfg(madsim)]
fn main() {
    println!("the peer bench runs in the real build: `cargo real-bench -p cronfence --bench peer`");
}

#[cfg(not(madsim))]
fn main() {
    real::main();
}

#[cfg(not(madsim))]
#[path = "support/counting.rs"]
mod counting;

#[cfg(not(madsim))]
mod real {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use cronfence::{Job, JobId, MemoryBackend, Node, NodeConfig, RunningNode, Schedule};
    use jiff::{SignedDuration, Timestamp};
    use tokio_cron_scheduler::JobScheduler;

    use super::counting;

    #[global_allocator]
    static ALLOC: counting::Counting = counting::Counting;

    const SIZES: [usize; 2] = [1_000, 10_000];
    /// The issue's window; `CRONFENCE_PEER_SECONDS` shortens it.
    const SECONDS: u32 = 30;
    /// How long after the window's end a run that starts still counts for it.
    const GRACE: Duration = Duration::from_secs(2);

    fn live() -> isize {
        counting::live()
    }

    /// The CPU time the whole process has used (every thread, user and system).
    fn cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "the process CPU clock is readable");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// Which ticks of the window ran: one bit per (job, second), set by the job's command.
    struct Tally {
        /// The window's first second (Unix seconds); `i64::MAX` until the window is set, so
        /// runs before it count for nothing.
        start: AtomicI64,
        seconds: u32,
        words_per_job: usize,
        bits: Vec<AtomicU64>,
        /// Runs in the window, a tick run twice counted twice.
        runs: AtomicU64,
        /// The latest start after its tick's instant, in ms (cronfence only: the peer's runs
        /// are not told their tick).
        latest_ms: AtomicU64,
    }

    impl Tally {
        fn new(jobs: usize, seconds: u32) -> Arc<Self> {
            let words_per_job = (seconds as usize).div_ceil(64);
            Arc::new(Tally {
                start: AtomicI64::new(i64::MAX),
                seconds,
                words_per_job,
                bits: (0..jobs * words_per_job)
                    .map(|_| AtomicU64::new(0))
                    .collect(),
                runs: AtomicU64::new(0),
                latest_ms: AtomicU64::new(0),
            })
        }

        /// Records that `job`'s tick of the whole second `second` (Unix seconds) ran.
        fn ran(&self, job: usize, second: i64) {
            let Some(offset) = second.checked_sub(self.start.load(Ordering::Relaxed)) else {
                return;
            };
            if !(0..self.seconds as i64).contains(&offset) {
                return;
            }
            let offset = offset as usize;
            let word = &self.bits[job * self.words_per_job + offset / 64];
            word.fetch_or(1 << (offset % 64), Ordering::Relaxed);
            self.runs.fetch_add(1, Ordering::Relaxed);
        }

        /// Records that a run of the tick due at `at` started at `now`.
        fn late(&self, at: Timestamp, now: Timestamp) {
            let ms = now.duration_since(at).as_millis().max(0) as u64;
            self.latest_ms.fetch_max(ms, Ordering::Relaxed);
        }

        /// Distinct (job, second) ticks of the window that ran.
        fn distinct(&self) -> u64 {
            let words = self.bits.iter().map(|w| w.load(Ordering::Relaxed));
            words.map(|w| u64::from(w.count_ones())).sum()
        }
    }

    /// The two schedulers compared.
    #[derive(Clone, Copy)]
    enum Scheduler {
        Cronfence,
        TokioCronScheduler,
    }

    /// One scheduler started with its jobs.
    enum Started {
        Cronfence(RunningNode),
        TokioCronScheduler(JobScheduler),
    }

    impl Scheduler {
        fn name(self) -> &'static str {
            match self {
                Scheduler::Cronfence => "cronfence (memory backend)",
                Scheduler::TokioCronScheduler => "tokio-cron-scheduler 0.15",
            }
        }

        /// Starts `jobs` jobs that run every second, each recording its runs in `tally`.
        async fn start(self, jobs: usize, tally: &Arc<Tally>) -> Started {
            match self {
                Scheduler::Cronfence => Started::Cronfence(start_cronfence(jobs, tally).await),
                Scheduler::TokioCronScheduler => {
                    Started::TokioCronScheduler(start_peer(jobs, tally).await)
                }
            }
        }
    }

    impl Started {
        async fn stop(self) {
            match self {
                Started::Cronfence(node) => node.shutdown().await,
                Started::TokioCronScheduler(mut scheduler) => {
                    scheduler.shutdown().await.expect("the peer shuts down")
                }
            }
        }
    }

    async fn start_cronfence(jobs: usize, tally: &Arc<Tally>) -> RunningNode {
        let anchor: Timestamp = "2026-01-01T00:00:00Z".parse().expect("an instant");
        let every_second = Schedule::every(anchor, SignedDuration::from_secs(1)).expect("1 s");
        let mut node = Node::new(NodeConfig::new("bench"), MemoryBackend::new());
        for i in 0..jobs {
            let id = JobId::new(format!("job-{i:05}")).expect("a valid id");
            let tally = tally.clone();
            let job = Job::new(id, every_second.clone(), move |tick| {
                let tally = tally.clone();
                async move {
                    tally.late(tick.scheduled_at, Timestamp::now());
                    tally.ran(i, tick.scheduled_at.as_second());
                    Ok::<(), std::io::Error>(())
                }
            });
            node = node.job(job).expect("distinct ids");
        }
        let mut node = node.start();
        node.ready().await.expect("every job is registered");
        node
    }

    async fn start_peer(jobs: usize, tally: &Arc<Tally>) -> JobScheduler {
        let scheduler = JobScheduler::new().await.expect("the peer starts");
        for i in 0..jobs {
            let tally = tally.clone();
            let job = tokio_cron_scheduler::Job::new_async("* * * * * *", move |_, _| {
                let tally = tally.clone();
                Box::pin(async move { tally.ran(i, Timestamp::now().as_second()) })
            })
            .expect("a valid cron expression");
            scheduler.add(job).await.expect("the peer takes the job");
        }
        scheduler.start().await.expect("the peer starts ticking");
        scheduler
    }

    /// What one scheduler did with one window.
    struct Outcome {
        scheduler: Scheduler,
        jobs: usize,
        due: u64,
        ran: u64,
        runs: u64,
        cpu: Duration,
        heap_per_job: f64,
        setup: Duration,
        latest: Option<Duration>,
    }

    /// Sleeps until the wall clock reads `at`.
    async fn sleep_until(at: Timestamp) {
        let left = at.duration_since(Timestamp::now());
        if let Ok(left) = Duration::try_from(left) {
            tokio::time::sleep(left).await;
        }
    }

    /// Starts `scheduler` with `jobs` jobs on a runtime of its own, lets it run through a window
    /// of `seconds` whole seconds starting at least a second after it is set up, and stops it.
    fn measure(scheduler: Scheduler, jobs: usize, seconds: u32) -> Outcome {
        let tally = Tally::new(jobs, seconds);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let outcome = runtime.block_on(async {
            let heap_before = live();
            let begun = Instant::now();
            let started = scheduler.start(jobs, &tally).await;
            let setup = begun.elapsed();
            let start = Timestamp::from_second(Timestamp::now().as_second() + 2).expect("now");
            tally.start.store(start.as_second(), Ordering::Relaxed);
            sleep_until(start).await;
            let cpu_before = cpu();
            sleep_until(start + SignedDuration::from_secs(seconds.into())).await;
            let cpu = cpu() - cpu_before;
            let heap_per_job = (live() - heap_before) as f64 / jobs as f64;
            tokio::time::sleep(GRACE).await;
            started.stop().await;
            let latest = Duration::from_millis(tally.latest_ms.load(Ordering::Relaxed));
            Outcome {
                scheduler,
                jobs,
                due: jobs as u64 * u64::from(seconds),
                ran: tally.distinct(),
                runs: tally.runs.load(Ordering::Relaxed),
                cpu,
                heap_per_job,
                setup,
                latest: matches!(scheduler, Scheduler::Cronfence).then_some(latest),
            }
        });
        runtime.shutdown_timeout(Duration::from_secs(5));
        outcome
    }

    fn row(o: &Outcome) -> String {
        let missed = o.due - o.ran;
        let cpu_per_tick = o.cpu.as_nanos() as f64 / 1000.0 / o.ran.max(1) as f64;
        format!(
            "| {} | {} | {} | {} ({:.1} %) | {:.1} µs | {:.0} B | {:.2} s |",
            o.scheduler.name(),
            o.jobs,
            o.due,
            missed,
            100.0 * missed as f64 / o.due as f64,
            cpu_per_tick,
            o.heap_per_job,
            o.setup.as_secs_f64(),
        )
    }

    /// What the table cannot show: ticks run twice, and how late cronfence's latest run started.
    fn notes(o: &Outcome) -> Vec<String> {
        let mut notes = Vec::new();
        let name = o.scheduler.name();
        if o.runs > o.ran {
            let twice = o.runs - o.ran;
            notes.push(format!(
                "{name}, {} jobs: {twice} ticks ran more than once",
                o.jobs
            ));
        }
        if let Some(latest) = o.latest {
            let jobs = o.jobs;
            notes.push(format!(
                "{name}, {jobs} jobs: latest start {latest:?} after its tick"
            ));
        }
        notes
    }

    fn seconds() -> u32 {
        match std::env::var("CRONFENCE_PEER_SECONDS") {
            Ok(s) => s
                .parse()
                .expect("CRONFENCE_PEER_SECONDS is a number of seconds"),
            Err(_) => SECONDS,
        }
    }

    pub fn main() {
        if std::env::args().any(|a| a == "--list") {
            println!("peer: bench");
            return;
        }
        let seconds = seconds();
        let mut outcomes = Vec::new();
        for jobs in SIZES {
            for scheduler in [Scheduler::Cronfence, Scheduler::TokioCronScheduler] {
                eprintln!(
                    "{}: {jobs} jobs every second for {seconds} s",
                    scheduler.name()
                );
                outcomes.push(measure(scheduler, jobs, seconds));
            }
        }
        println!(
            "\nEvery job runs every second; a window of {seconds} s; {} cores.\n",
            cores()
        );
        println!("| scheduler | jobs | ticks due | did not run | CPU per tick run | heap per job | setup |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        outcomes.iter().for_each(|o| println!("{}", row(o)));
        println!();
        outcomes
            .iter()
            .flat_map(notes)
            .for_each(|n| println!("{n}"));
        let twice = |o: &Outcome| matches!(o.scheduler, Scheduler::Cronfence) && o.runs > o.ran;
        if outcomes.iter().any(twice) {
            eprintln!("cronfence ran a tick twice: at most once was broken");
            std::process::exit(1);
        }
    }

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

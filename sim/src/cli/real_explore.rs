//! `cronfence explore --backend etcd --endpoints ... --minutes M` in the real build: the
//! simulator's etcd-sim worlds, drawn from seeds, played in real time against the given etcd
//! cluster ([`crate::real::explore`]), a line on stderr as each world finishes, and a run folder
//! (`summary.md`, each failing world's scenario file and history). Exit code 1 if a world failed,
//! 0 otherwise; errors (a missing `--endpoints`, an unreachable cluster, options only the
//! simulator's explorer has) are returned, never panicked.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use cronfence::etcd::{EtcdBackend, EtcdConfig};

use crate::explore::Size;
use crate::real::explore::{self, Event, Plan, Stop};
use crate::real::explore_summary::{self as summary, seconds, DEFAULT_SIZE, NOT_BYTE_FOR_BYTE};

/// Worlds played at once unless `--jobs` says otherwise: real time is mostly waiting.
const DEFAULT_JOBS: usize = 4;

/// The command's arguments.
pub struct Args {
    /// The cluster's client URLs.
    pub endpoints: Vec<String>,
    /// The key prefix (this run's keys go under `<prefix>/<run id>/explore-<seed>`).
    pub prefix: String,
    /// Longest world to play.
    pub max_duration: Duration,
    /// `full` or `small` (default `small`).
    pub size: Option<String>,
    /// Stop after this many worlds.
    pub seeds: Option<u64>,
    /// Stop starting worlds after this many minutes.
    pub minutes: Option<f64>,
    /// The first seed.
    pub first_seed: u64,
    /// Worlds at once (default 4).
    pub jobs: Option<usize>,
    /// The parent of the run folder.
    pub out: PathBuf,
    /// The run folder's name (default `explore-etcd-<UTC time>`).
    pub name: Option<String>,
    /// Options only the simulator's explorer has, given: their names.
    pub simulator_only: Vec<&'static str>,
}

/// Runs the command.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(option) = args.simulator_only.first() {
        anyhow::bail!(
            "{option} is for the simulator's explorer; real time neither shards, shrinks nor \
             keeps a known list (run the simulator's `explore` without a real-build alias)"
        );
    }
    if args.endpoints.is_empty() {
        anyhow::bail!(
            "explore --backend etcd needs --endpoints http://host:2379[,...] of a running cluster"
        );
    }
    let plan = plan(&args)?;
    probe(&plan)?;
    let name = args.name.clone().unwrap_or_else(|| {
        jiff::Timestamp::now()
            .strftime("explore-etcd-%Y%m%d-%H%M%S")
            .to_string()
    });
    let dir = args.out.join(&name);
    eprintln!(
        "exploring etcd {} in real time: worlds of size {} from seed {}, {} at once, {}; worlds \
         longer than {} are skipped",
        plan.endpoints.join(","),
        plan.size,
        plan.first_seed,
        plan.jobs,
        match (args.seeds, args.minutes) {
            (Some(n), _) => format!("{n} worlds"),
            (None, m) => format!(
                "for {} minutes (worlds under way then finish)",
                m.unwrap_or_default()
            ),
        },
        seconds(plan.max_duration)
    );
    let started = Instant::now();
    let explored = explore::explore(&plan, &|event| progress(event, started));
    let took = started.elapsed();
    summary::write_failures(&dir, &plan, &explored)
        .with_context(|| format!("writing {}", dir.display()))?;
    let text = summary::markdown(&name, &dir, &plan, &explored, took);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("summary.md");
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    print!("{text}");
    let failed: Vec<_> = explored.played.iter().filter(|p| !p.passed()).collect();
    for p in &failed {
        eprintln!(
            "seed {} FAILED; replay it: {}\n  ({NOT_BYTE_FOR_BYTE})",
            p.seed,
            summary::replay(&plan, p.seed)
        );
    }
    eprintln!(
        "\n{} worlds played, {} failed, {} skipped; report: {}",
        explored.played.len(),
        failed.len(),
        explored.skipped.len(),
        path.display()
    );
    if explored.played.is_empty() {
        eprintln!("no world ran: every seed drawn was skipped (see --max-duration)");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The plan from the arguments, or what is wrong with them.
fn plan(args: &Args) -> anyhow::Result<Plan> {
    let size = match args.size.as_deref() {
        None => DEFAULT_SIZE,
        Some(s) => {
            Size::parse(s).ok_or_else(|| anyhow::anyhow!("--size `{s}`: use `full` or `small`"))?
        }
    };
    let stop = match (args.seeds, args.minutes) {
        (Some(_), Some(_)) => anyhow::bail!("give --seeds or --minutes, not both"),
        (Some(0), None) => anyhow::bail!("--seeds must be at least 1"),
        (Some(n), None) => Stop::Worlds(n),
        (None, Some(m)) if m > 0.0 && m.is_finite() => {
            Stop::At(Instant::now() + Duration::from_secs_f64(m * 60.0))
        }
        (None, Some(_)) => anyhow::bail!("--minutes must be positive"),
        (None, None) => anyhow::bail!(
            "real time needs a bound: give --minutes M (no world starts after M minutes) or \
             --seeds K (K worlds)"
        ),
    };
    let run_id = jiff::Timestamp::now().as_millisecond();
    Ok(Plan {
        endpoints: args.endpoints.clone(),
        prefix: format!("{}/{run_id}", args.prefix.trim_end_matches('/')),
        size,
        max_duration: args.max_duration,
        first_seed: args.first_seed,
        stop,
        jobs: args.jobs.unwrap_or(DEFAULT_JOBS).max(1),
    })
}

/// Connects to the cluster once (within the client's connect timeout), so an unreachable
/// cluster is an error before any world starts rather than a run of failed worlds.
fn probe(plan: &Plan) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to reach etcd")?;
    let mut config = EtcdConfig::new(plan.endpoints.clone());
    config.prefix = plan.prefix.clone();
    runtime
        .block_on(EtcdBackend::connect(config))
        .map(drop)
        .with_context(|| {
            format!(
                "cannot explore etcd {}: the cluster is not reachable",
                plan.endpoints.join(",")
            )
        })
}

/// A line on stderr for each world that starts, finishes or is skipped.
fn progress(event: Event<'_>, started: Instant) {
    let at = seconds(started.elapsed());
    match event {
        Event::Started(seed, drawn) => eprintln!(
            "[{at}] seed {seed} starts: {}, {}{}, lasts {:#}",
            plural(drawn.scenario.nodes, "node"),
            plural(drawn.scenario.faults.len(), "fault"),
            match drawn.left_out {
                0 => String::new(),
                n => format!(" ({n} left out: real time cannot play them)"),
            },
            drawn.scenario.duration
        ),
        Event::Skipped(s) => eprintln!("[{at}] seed {} skipped: {}", s.seed, s.why),
        Event::Played(p) => eprintln!(
            "[{at}] seed {} done in {}: {}",
            p.seed,
            seconds(p.took),
            summary::verdict(p)
        ),
    }
}

/// `1 node`, `3 nodes`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

//! `cronfence explore`: swarm exploration on all cores. Draws a world per seed and backend, runs
//! it, shrinks each new failure to a small scenario file, writes `<out>/<name>/summary.md`,
//! `summary.json`, `worlds/` (failing worlds as drawn) and `shrunk/`, prints the Markdown
//! summary, and exits 1 on a new failure or a known entry that no longer fails, 2 on errors.
//! `--merge DIR...` merges shards' `summary.json` files instead; `--write-known FILE` writes the
//! known list of what this sweep found (and then exits 0 unless it hit an error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Progress;
use crate::explore::known::{compare, KnownList};
use crate::explore::summary::{self, Summary};
use crate::explore::sweep::{self, Plan, Shard, Stop, World};
use crate::explore::{files, Size};
use crate::scenario::BackendKind;

/// The command's arguments.
pub struct Args {
    /// Backends (default: memory and etcd-sim).
    pub backends: Option<Vec<BackendKind>>,
    /// Seeds per backend (default 100 unless `minutes`).
    pub seeds: Option<u64>,
    /// Keep drawing seeds this long.
    pub minutes: Option<f64>,
    /// The first seed.
    pub first_seed: u64,
    /// `K/N`.
    pub shard: String,
    /// The parent of the run folder.
    pub out: PathBuf,
    /// The run folder's name.
    pub name: Option<String>,
    /// Worker threads.
    pub threads: usize,
    /// The known list to compare with.
    pub known: Option<PathBuf>,
    /// Write the known list of this sweep here.
    pub write_known: Option<PathBuf>,
    /// World size (`full` or `small`; default: the known list's, else `full`).
    pub size: Option<String>,
    /// Most runs to shrink one failure kind.
    pub shrink_runs: usize,
    /// Summaries to merge instead of sweeping.
    pub merge: Vec<PathBuf>,
}

/// Runs the command.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let name = args.name.clone().unwrap_or_else(|| {
        jiff::Timestamp::now()
            .strftime("explore-%Y%m%d-%H%M%S")
            .to_string()
    });
    let dir = args.out.join(&name);
    if !args.merge.is_empty() {
        return merge(&name, &dir, &args.merge);
    }
    let known = args.known.as_deref().map(KnownList::load).transpose()?;
    let size = size(args.size.as_deref(), known.as_ref())?;
    let shard = Shard::parse(&args.shard)
        .ok_or_else(|| anyhow::anyhow!("--shard `{}` is not K/N with 1 <= K <= N", args.shard))?;
    let backends = args
        .backends
        .clone()
        .unwrap_or_else(|| vec![BackendKind::Memory, BackendKind::EtcdSim]);
    let stop = match (args.seeds, args.minutes) {
        (Some(_), Some(_)) => anyhow::bail!("give --seeds or --minutes, not both"),
        (_, Some(m)) if m > 0.0 => Stop::At(Instant::now() + Duration::from_secs_f64(m * 60.0)),
        (_, Some(_)) => anyhow::bail!("--minutes must be positive"),
        (seeds, None) => Stop::Seeds(seeds.unwrap_or(100)),
    };
    let plan = Plan {
        backends,
        first_seed: args.first_seed,
        stop,
        shard,
        size,
        threads: args.threads,
        shrink_runs: args.shrink_runs,
        known: known.clone(),
    };
    quiet_world_panics();
    eprintln!(
        "exploring {} (size {size}, shard {shard}) on {} threads",
        match stop {
            Stop::Seeds(n) => format!("{n} seeds on {} backends", plan.backends.len()),
            Stop::At(_) => format!(
                "for {} minutes (worlds under way then finish, with their shrinking)",
                args.minutes.unwrap_or_default()
            ),
        },
        plan.threads
    );
    let swept = run(&plan, args.minutes);
    files::write(&dir, &swept.worlds, size)
        .with_context(|| format!("writing {}", dir.display()))?;
    let comparison = known.as_ref().map(|k| compare(k, &swept.worlds));
    let known_ref = args.known.as_deref().zip(comparison.as_ref());
    let summary = Summary::new(&name, &dir, &plan, &swept, known_ref);
    write_summary(&dir, &summary)?;
    print!("{}", summary.to_markdown());
    eprintln!(
        "\nexplore report: {}/summary.md (and summary.json)",
        dir.display()
    );
    if let Some(path) = &args.write_known {
        let list = KnownList::regenerate(size, &swept.worlds, known.as_ref());
        std::fs::write(path, list.to_toml())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "known list: {} failures written to {}",
            list.failures.len(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    Ok(exit(&summary))
}

/// The world size: `--size`, else the known list's, else `full`; a known list drawn at another
/// size than `--size` is an error (its seeds would name other worlds).
fn size(given: Option<&str>, known: Option<&KnownList>) -> anyhow::Result<Size> {
    let given = given
        .map(|s| {
            Size::parse(s).ok_or_else(|| anyhow::anyhow!("--size `{s}`: use `full` or `small`"))
        })
        .transpose()?;
    match (given, known) {
        (Some(g), Some(k)) if g != k.size => anyhow::bail!(
            "the known list was drawn at size {}, this sweep at {g}: its seeds would name other worlds; pass --size {}",
            k.size,
            k.size
        ),
        (Some(g), _) => Ok(g),
        (None, Some(k)) => Ok(k.size),
        (None, None) => Ok(Size::Full),
    }
}

/// Sweeps with a progress bar: over worlds for `--seeds`, over seconds for `--minutes`.
fn run(plan: &Plan, minutes: Option<f64>) -> sweep::Swept {
    let started = Instant::now();
    let total = match plan.stop {
        Stop::Seeds(n) => n as usize * plan.backends.len(),
        Stop::At(_) => (minutes.unwrap_or(0.0) * 60.0).ceil() as usize,
    };
    let progress = Progress::new(total, "explore");
    let swept = sweep::sweep(plan, &|world: &World, done| {
        let position = match plan.stop {
            Stop::Seeds(_) => done,
            Stop::At(_) => started.elapsed().as_secs() as usize,
        };
        let last = if world.outcome.passed() {
            "passed"
        } else {
            "FAILED"
        };
        progress.step(
            position,
            format!(
                "{done} worlds; seed {} on {} {last}",
                world.seed, world.backend
            ),
        );
    });
    progress.finish();
    swept
}

fn write_summary(dir: &Path, summary: &Summary) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, text) in [
        ("summary.json", summary.to_json()),
        ("summary.md", summary.to_markdown()),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn merge(name: &str, dir: &Path, parts: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let summaries = parts
        .iter()
        .map(|p| {
            let file = if p.is_dir() {
                p.join("summary.json")
            } else {
                p.clone()
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            serde_json::from_str::<Summary>(&text)
                .with_context(|| format!("{} is not an explore summary", file.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = summary::merge(name, &summaries)?;
    write_summary(dir, &merged)?;
    print!("{}", merged.to_markdown());
    eprintln!(
        "\nmerged report: {}/summary.md (and summary.json)",
        dir.display()
    );
    Ok(exit(&merged))
}

fn exit(summary: &Summary) -> ExitCode {
    if summary.clean() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} new failures, {} known entries no longer fail",
            summary.new_failures(),
            summary.fixed.len()
        );
        ExitCode::FAILURE
    }
}

/// A world's panic is a finding, reported with its message: keep the default panic output for
/// named threads (the main thread, the sweep's workers) and silence it for the unnamed threads
/// each world runs on, so a panicking world and its shrinking do not flood the terminal.
fn quiet_world_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name().is_some() {
            default(info);
        }
    }));
}

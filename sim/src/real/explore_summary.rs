//! The run folder of a real-time explorer run: `summary.md` (the counts, each world's seed,
//! length and verdict, the seeds skipped, and each failure's violations with the commands that
//! replay it) and, per failing world, its scenario file (`worlds/etcd-seed-<seed>.toml`, which
//! also replays its etcd-sim twin in the simulator) and its history
//! (`histories/etcd-seed-<seed>.jsonl`). It only writes what [`super::explore`] found; it judges
//! nothing.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::explore::{Explored, Plan, Played, Stop};
use crate::explore::{toml::to_toml, Size};
use crate::scenario::BackendKind;

/// What real time does not reproduce, said wherever a replay command is given.
pub const NOT_BYTE_FOR_BYTE: &str = "real time does not reproduce a history byte for byte: \
     the seed gives the same world, not the same timing";

/// The default `--max-duration` of `explore --backend etcd`.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(300);

/// The default `--size` of `explore --backend etcd`.
pub const DEFAULT_SIZE: Size = Size::Small;

/// The scenario file of a failing world in the run folder `dir`.
pub fn world_path(dir: &Path, seed: u64) -> PathBuf {
    dir.join("worlds").join(format!("etcd-seed-{seed}.toml"))
}

/// The history of a failing world in the run folder `dir`.
pub fn history_path(dir: &Path, seed: u64) -> PathBuf {
    dir.join("histories")
        .join(format!("etcd-seed-{seed}.jsonl"))
}

/// The command that plays the world of `seed` again in real time against the same cluster.
pub fn replay(plan: &Plan, seed: u64) -> String {
    let mut command = format!(
        "cargo real-run -p cronfence-sim --bin cronfence -- explore --backend etcd --endpoints {}",
        plan.endpoints.join(",")
    );
    if plan.size != DEFAULT_SIZE {
        let _ = write!(command, " --size {}", plan.size);
    }
    if plan.max_duration != DEFAULT_MAX_DURATION {
        let _ = write!(command, " --max-duration {}s", plan.max_duration.as_secs());
    }
    let _ = write!(command, " --first-seed {seed} --seeds 1");
    command
}

/// Writes every failing world's scenario file and history into `dir`.
pub fn write_failures(dir: &Path, plan: &Plan, explored: &Explored) -> std::io::Result<()> {
    for played in explored.played.iter().filter(|p| !p.passed()) {
        let seed = played.seed;
        let path = world_path(dir, seed);
        let kinds: Vec<String> = played.kinds().into_iter().collect();
        let header = format!(
            "Drawn by `cronfence explore --backend etcd` (the etcd-sim world of seed {seed}, size \
             {size}) and played in real time against {endpoints}; showed {kinds}.\n\
             Replay in real time: {replay}\n({NOT_BYTE_FOR_BYTE}.)\n\
             Its etcd-sim twin in the simulator: {twin}",
            size = plan.size,
            endpoints = plan.endpoints.join(","),
            kinds = kinds.join(", "),
            replay = replay(plan, seed),
            twin = crate::suite::replay(&path, BackendKind::EtcdSim, seed),
        );
        write(&path, &to_toml(&played.world.scenario, &header))?;
        if let Ok(run) = &played.run {
            write(&history_path(dir, seed), &run.history.to_jsonl())?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// `summary.md` of a run named `name` in `dir` that took `took`.
pub fn markdown(
    name: &str,
    dir: &Path,
    plan: &Plan,
    explored: &Explored,
    took: Duration,
) -> String {
    let mut out = String::new();
    let played = &explored.played;
    let failed = played.iter().filter(|p| !p.passed()).count();
    let _ = writeln!(out, "# Real-time exploration `{name}`\n");
    let _ = writeln!(
        out,
        "Worlds drawn as `cronfence explore --backend etcd-sim --size {}` draws them, from seed \
         {}, played in real time against etcd `{}`, {} at once, each under \
         `{}/explore-<seed>`, {}; {} in all.\n",
        plan.size,
        plan.first_seed,
        plan.endpoints.join(","),
        plan.jobs,
        plan.prefix,
        match plan.stop {
            Stop::Worlds(n) => format!("until {n} worlds had started"),
            Stop::At(_) => "until the time was out (worlds under way then finished)".into(),
        },
        seconds(took)
    );
    let _ = writeln!(
        out,
        "| worlds played | passed | failed | skipped |\n|---|---|---|---|\n| {} | {} | {failed} | {} |\n",
        played.len(),
        played.len() - failed,
        explored.skipped.len()
    );
    let trimmed = played.iter().filter(|p| p.left_out > 0).count();
    let _ = writeln!(
        out,
        "Worlds longer than {} are skipped; {trimmed} of those played had faults real time cannot \
         play ({}) left out (the table counts the faults played, and those left out after a \
         `+`). A world passes when every guarantee held (expectation `pass`).{}\n",
        seconds(plan.max_duration),
        super::suite::OWN_BACKEND.join(", "),
        if explored.gave_up {
            format!(
                " Drawing stopped after {} seeds in a row were skipped.",
                super::explore::MOST_SKIPS_IN_A_ROW
            )
        } else {
            String::new()
        }
    );
    worlds(&mut out, played);
    if !explored.skipped.is_empty() {
        let _ = writeln!(out, "## Skipped\n");
        for s in &explored.skipped {
            let _ = writeln!(out, "- seed {}: {}", s.seed, s.why);
        }
        out.push('\n');
    }
    for p in played.iter().filter(|p| !p.passed()) {
        failure(&mut out, dir, plan, p);
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

/// The table of worlds played.
fn worlds(out: &mut String, played: &[Played]) {
    let _ = writeln!(
        out,
        "## Worlds\n\n| seed | nodes | jobs | faults | lasts | took | verdict |\n|---|---|---|---|---|---|---|"
    );
    for p in played {
        let s = &p.world.scenario;
        let jobs: u32 = s.jobs.iter().map(|j| j.count.unwrap_or(1)).sum();
        let faults = match p.left_out {
            0 => s.faults.len().to_string(),
            n => format!("{} + {n}", s.faults.len()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {jobs} | {faults} | {:#} | {} | {} |",
            p.seed,
            s.nodes,
            s.duration,
            seconds(p.took),
            verdict(p)
        );
    }
    out.push('\n');
}

/// `pass`, or `FAILED: kinds`.
pub fn verdict(p: &Played) -> String {
    if p.passed() {
        return "pass".into();
    }
    let kinds: Vec<String> = p.kinds().into_iter().collect();
    if kinds.is_empty() {
        "FAILED".into()
    } else {
        format!("FAILED: {}", kinds.join(", "))
    }
}

/// One failing world: its files, the commands that replay it, and its violations.
fn failure(out: &mut String, dir: &Path, plan: &Plan, p: &Played) {
    let world = world_path(dir, p.seed);
    let _ = writeln!(out, "## Seed {}: {}\n", p.seed, verdict(p));
    let _ = writeln!(out, "{}\n", p.world.scenario.description);
    let _ = writeln!(out, "- world: `{}`", world.display());
    if p.run.is_ok() {
        let _ = writeln!(out, "- history: `{}`", history_path(dir, p.seed).display());
    }
    let _ = writeln!(
        out,
        "- replay in real time: `{}` ({NOT_BYTE_FOR_BYTE})",
        replay(plan, p.seed)
    );
    let _ = writeln!(
        out,
        "- its etcd-sim twin: `{}`\n",
        crate::suite::replay(&world, BackendKind::EtcdSim, p.seed)
    );
    match &p.run {
        Err(panic) => {
            let _ = writeln!(out, "The world panicked: {panic}\n");
        }
        Ok(run) => {
            let _ = writeln!(
                out,
                "Violations:\n\n{}",
                crate::expect::list(&run.verdict.violations)
            );
            // The expectation is `pass`: its reason repeats the violations, unless there are none.
            if let (Err(why), true) = (&run.judged, run.verdict.violations.is_empty()) {
                let _ = writeln!(out, "Not as expected: {why}\n");
            }
        }
    }
}

/// `73.2 s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::check::{Checker, Finding, Verdict};
    use crate::history::History;
    use crate::real::explore::{world, Played, Skipped};
    use crate::real::suite::RealRun;
    use crate::scenario::Loaded;

    fn plan() -> Plan {
        Plan {
            endpoints: vec!["http://127.0.0.1:2379".into()],
            prefix: "/cronfence-explore/1".into(),
            size: DEFAULT_SIZE,
            max_duration: DEFAULT_MAX_DURATION,
            first_seed: 2,
            stop: Stop::Worlds(1),
            jobs: 4,
        }
    }

    /// The world of seed 2 as played, failing with one missing tick.
    fn failing() -> Played {
        let drawn = world(2, DEFAULT_SIZE, DEFAULT_MAX_DURATION).expect("seed 2 plays");
        let loaded = Arc::new(Loaded {
            name: "explore-2".into(),
            path: "explore-2.toml".into(),
            scenario: drawn.scenario,
        });
        let missing = Finding {
            checker: Checker::NoGap,
            kind: "missing_tick".into(),
            job: None,
            tick: None,
            nodes: vec!["node-1".into()],
            tokens: Vec::new(),
            records: vec![7],
            detail: "a tick that never happened".into(),
        };
        let run = RealRun {
            loaded: loaded.clone(),
            history: History::default(),
            verdict: Verdict {
                violations: vec![missing],
                ..Verdict::default()
            },
            judged: Err("expected `pass`".into()),
        };
        Played {
            seed: 2,
            world: loaded,
            left_out: 1,
            took: Duration::from_secs(38),
            run: Ok(run),
        }
    }

    #[test]
    fn a_failure_leaves_its_world_history_violations_and_replay_command() {
        // What a user needs to look into a failure: the world (which loads back equal and
        // replays its etcd-sim twin), its history, the violations, and how to play it again,
        // with the warning that real time will not give the same history.
        let dir = std::env::temp_dir().join(format!("cronfence-rx-{}", std::process::id()));
        let explored = Explored {
            played: vec![failing()],
            skipped: vec![Skipped {
                seed: 3,
                why: "lasts too long".into(),
            }],
            gave_up: false,
        };
        let plan = plan();
        write_failures(&dir, &plan, &explored).expect("written");
        let text = markdown("run", &dir, &plan, &explored, Duration::from_secs(40));
        let toml = std::fs::read_to_string(world_path(&dir, 2)).expect("the world's file");
        assert!(history_path(&dir, 2).is_file());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(crate::explore::toml::round_trips(
            &explored.played[0].world.scenario,
            &toml
        ));
        assert!(toml.contains("--backend etcd-sim --seed 2"), "{toml}");
        assert!(text.contains("| 1 | 0 | 1 | 1 |"), "{text}");
        assert!(text.contains("| 2 | ") && text.contains("FAILED: no_gap/missing_tick"));
        assert!(text.contains(" + 1 | "), "the fault left out: {text}");
        assert!(text.contains("- seed 3: lasts too long"), "{text}");
        assert!(text.contains("a tick that never happened"), "{text}");
        assert!(text.contains("--endpoints http://127.0.0.1:2379 --first-seed 2 --seeds 1"));
        assert!(text.contains(NOT_BYTE_FOR_BYTE), "{text}");
    }
}

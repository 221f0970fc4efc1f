//! Swarm exploration (`cronfence explore`): worlds drawn from a seed, run, checked, and shrunk.
//!
//! Hand-written scenarios find the bugs their authors thought of. The explorer draws, per seed,
//! the world itself — nodes, lease TTL, timeouts, election scope, jobs with their schedules and
//! policies, a start time (sometimes just before a DST transition), and which fault kinds are on
//! and how often (swarm testing, after TigerBeetle's VOPR and FoundationDB's simulation) — as a
//! complete [`Scenario`](crate::scenario::Scenario) ([`draw`]), runs it like any scenario file,
//! and shrinks a failing world to a small scenario file that replays the same violation
//! ([`shrink`]). [`sweep`] runs many seeds on all cores; [`known`] holds the committed list of
//! known failures; [`summary`] writes and merges the report. It does not check anything itself
//! (the checkers do) and never changes a world once drawn, except to shrink it.
//!
//! Drawing (dice, draw, jobs, faults, timing, toml) compiles in both builds, so the real build's
//! explorer (`crate::real::explore`) plays the very world the simulator draws from a seed;
//! running, shrinking, sweeping and summing up need the simulator and exist only there.
//!
//! | file | owns |
//! |---|---|
//! | `dice.rs` | the seeded dice every draw uses (one splitmix64 stream per world) |
//! | `draw.rs` | one world from a seed: nodes, settings, start, and the assembly |
//! | `jobs.rs` | the jobs: schedules (intervals, cron in DST zones), policies, the tick budget |
//! | `faults.rs` | the swarm: which fault kinds a world enables, how often, at whom |
//! | `timing.rs` | the fault-free tail and the checked window every world ends with |
//! | `files.rs` | the drawn and shrunk scenario files of a sweep's failures |
//! | `toml.rs` | a scenario printed as a commented scenario file that loads back equal |
//! | `outcome.rs` | running one world, panics included, and naming its violation kinds |
//! | `shrink.rs` | greedy shrinking of a failing world, one accepted step at a time |
//! | `sweep.rs` | many worlds on worker threads, shards, time budgets |
//! | `known.rs` | the known-failure list and the comparison with a sweep |
//! | `summary.rs` | `summary.json` / `summary.md` of a sweep, and merging shards |

mod dice;
mod draw;
mod faults;
#[cfg(madsim)]
pub mod files;
mod jobs;
#[cfg(madsim)]
pub mod known;
#[cfg(madsim)]
mod outcome;
#[cfg(madsim)]
pub mod shrink;
#[cfg(madsim)]
pub mod summary;
#[cfg(madsim)]
pub mod sweep;
mod timing;
pub mod toml;

use serde::{Deserialize, Serialize};

pub use draw::{draw, ETCD_SIM_MAX_NODES, MEMORY_MAX_NODES};
pub use faults::KINDS;
#[cfg(madsim)]
pub use outcome::{observe, Outcome};
pub use timing::{fit, last_fault_end, tail};

/// How big the drawn worlds get: `full` for the command line, `small` for `cargo test` (and the
/// known list it compares with). The same seed draws a different world at each size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// Up to 50 jobs, 30,000 ticks and a 10-minute fault window per world.
    #[default]
    Full,
    /// Up to 25 jobs, 6,000 ticks and a 4-minute fault window per world: `cargo test` runs 200
    /// of them per backend (about 30 s in the debug build on two cores).
    Small,
}

/// The bounds a [`Size`] puts on a world.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Most ticks (all jobs, the whole run) a world may schedule.
    pub max_ticks: u64,
    /// Most jobs (replicas counted).
    pub max_jobs: u32,
    /// Most `[[jobs]]` entries.
    pub max_entries: u64,
    /// Shortest and longest time during which faults start, in ms.
    pub fault_window_ms: (u64, u64),
    /// Most faults.
    pub max_faults: u64,
    /// The longest job period the fault-free tail waits for, in ms; slower jobs are idle paths.
    pub max_tail_period_ms: u64,
}

impl Size {
    /// Parses `full` or `small`.
    pub fn parse(name: &str) -> Option<Size> {
        match name {
            "full" => Some(Size::Full),
            "small" => Some(Size::Small),
            _ => None,
        }
    }

    pub(crate) fn limits(self) -> Limits {
        match self {
            Size::Full => Limits {
                max_ticks: 30_000,
                max_jobs: 50,
                max_entries: 8,
                fault_window_ms: (10_000, 600_000),
                max_faults: 40,
                max_tail_period_ms: 300_000,
            },
            Size::Small => Limits {
                max_ticks: 6_000,
                max_jobs: 25,
                max_entries: 6,
                fault_window_ms: (5_000, 240_000),
                max_faults: 20,
                max_tail_period_ms: 90_000,
            },
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Size::Full => "full",
            Size::Small => "small",
        })
    }
}

/// A panic payload's message (a `&str` or `String` payload), first line only: what a world that
/// panicked reports, in either build's explorer.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    text.lines().next().unwrap_or_default().to_string()
}

//! The budgets a scenario must fit: how big a world, how long a run, how many jobs, ticks, lease
//! renewals, seeds and faults, and how far clocks may be moved — with the arithmetic that
//! estimates each from the file before anything runs.
//!
//! A scenario file is data from anyone; without bounds, `count = 1000000000` asks for a 96 GB
//! allocation and `every = "1ns"` grows a history past all memory before a checker sees it. Each
//! bound is a documented constant (also listed in `scenarios/README.md`), set well above every
//! scenario in `scenarios/` and the explorer's draws. The estimates are upper bounds computed
//! in wide integers that saturate, so no input can overflow them. This module owns the numbers
//! and the refusals that name them; it does not check meaning (that is [`super::validate`]).

use jiff::{SignedDuration, Timestamp};

use super::locate::Refusal;
use super::validate::show;
use super::{JobEntry, Scenario};

/// Most nodes a scenario may have (the explorer draws 1 to 7).
pub const MAX_NODES: usize = 64;
/// Most jobs a scenario may define, `count` replicas included.
pub const MAX_JOBS: u64 = 1_000;
/// Most ticks the jobs may come due over the whole run, summed over jobs (and over nodes for
/// the go-micro model, where every node runs every tick). Measured in the debug build, a tick
/// costs about 2.5 KB of history and checker state and 40 µs: a full budget is ~2.5 GB, ~40 s.
pub const MAX_TICKS: u64 = 1_000_000;
/// Most jobs a spooled scenario (`spooled = true`) may define: its history is on disk, and its
/// checkers hold one shard of jobs at a time. Each shard's file stays open through the run (32
/// jobs a shard: 625 files and about 0.9 GB of zstd streams at this bound, under the usual limit
/// of 1,024 open files).
pub const SPOOLED_MAX_JOBS: u64 = 20_000;
/// Most ticks a spooled scenario's jobs may come due: about 5 records and 1 µs of zstd a tick,
/// so a full budget is ~50 GB of JSON lines spooled as ~5 GB, and hours.
pub const SPOOLED_MAX_TICKS: u64 = 100_000_000;
/// Most lease renewals over the whole run, summed over nodes (each node renews every third of
/// the lease TTL). A month of three nodes on a 10 s lease is 2.3 million: about 4 minutes and
/// 750 MB in the debug build, so a full budget is ~2 minutes and ~350 MB.
pub const MAX_RENEWALS: u64 = 1_000_000;
/// The longest run, and the largest size of any duration in a file: a year and a day, enough for
/// both DST transitions and a leap day, and far from the ends of representable time.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(366 * 24);
/// The earliest `start`.
pub const EARLIEST_START: Timestamp = Timestamp::constant(-2_208_988_800, 0); // 1900-01-01
/// The latest `start`: with the run and the clock faults bounded too, every instant a run
/// computes stays within the years the cron search (croner: 1 to 5000) and jiff support.
pub const LATEST_START: Timestamp = Timestamp::constant(32_503_680_000, 0); // 3000-01-01
/// Most seeds a scenario may list or count.
pub const MAX_SEEDS: u64 = 10_000;
/// Most faults in a run: the explicit ones plus the most the random plan can draw.
pub const MAX_FAULTS: u64 = 1_000;
/// The most all clock faults together may move one clock (offsets, jumps, strobe amplitudes and
/// drift over the run, summed as sizes).
pub const MAX_CLOCK_SHIFT: SignedDuration = MAX_DURATION;
/// The largest clock drift, in parts per million either way (1,000,000: twice as fast, or
/// stopped).
pub const MAX_PPM: i64 = 1_000_000;
/// Most writes one `ambiguous_commit` or `delayed_write` fault may take (`count`).
pub const MAX_FAULT_WRITES: u32 = 1_000_000;
/// The largest clock offset a random `clock_offset` fault draws ([`crate::random`]).
const RANDOM_OFFSET: SignedDuration = SignedDuration::from_secs(60);

/// Refuses a world too big or too long: nodes, duration, start and seeds.
pub(super) fn check_world(s: &Scenario) -> Result<(), Refusal> {
    if s.nodes == 0 || s.nodes > MAX_NODES {
        return Err(Refusal::at(
            "nodes",
            format!("nodes = {} is out of range", s.nodes),
            format!("use 1 to {MAX_NODES} nodes"),
        ));
    }
    if s.duration > MAX_DURATION {
        return Err(Refusal::at(
            "duration",
            format!(
                "duration = \"{}\" is longer than the longest run, {} (366 days)",
                show(s.duration),
                show(MAX_DURATION)
            ),
            "shorten the run; a scenario about a long outage needs only the days around it",
        ));
    }
    if s.start < EARLIEST_START || s.start > LATEST_START {
        return Err(Refusal::at(
            "start",
            format!("start = {} is outside 1900-01-01 .. 3000-01-01", s.start),
            "start the world between the years 1900 and 3000 (default 2027-01-01T00:00:00Z)",
        ));
    }
    let seeds = match &s.seeds {
        super::Seeds::Count(n) => *n,
        super::Seeds::List(list) => list.len() as u64,
    };
    if seeds == 0 || seeds > MAX_SEEDS {
        return Err(Refusal::at(
            "seeds",
            format!("seeds names {seeds} seeds"),
            format!(
                "give a count from 1 to {MAX_SEEDS} (seeds = 5) or a non-empty list (seeds = [1, 2])"
            ),
        ));
    }
    Ok(())
}

/// Refuses more jobs than [`MAX_JOBS`], counting replicas, before any replica is made.
pub(super) fn check_job_count(s: &Scenario) -> Result<(), Refusal> {
    let max_jobs = if s.spooled {
        SPOOLED_MAX_JOBS
    } else {
        MAX_JOBS
    };
    let mut total = 0u64;
    for (i, job) in s.jobs.iter().enumerate() {
        total += u64::from(job.count.unwrap_or(1));
        if total > max_jobs {
            let key = if job.count.is_some() {
                format!("jobs.{i}.count")
            } else {
                format!("jobs.{i}.id")
            };
            return Err(Refusal::at(
                key,
                format!("the [[jobs]] entries up to this one define {total} jobs, more than the budget of {max_jobs} jobs"),
                format!("lower `count` so all entries together define at most {max_jobs} jobs (a `spooled = true` file: {SPOOLED_MAX_JOBS})"),
            ));
        }
    }
    Ok(())
}

/// Ticks an interval job with `every` comes due in `span`: one per interval plus the first.
pub fn interval_ticks(span: SignedDuration, every: SignedDuration) -> u64 {
    let every = every.as_nanos().max(1);
    let ticks = span.as_nanos().max(0) / every + 1;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// An upper bound on the ticks a cron expression comes due in `span`: at most one a second with
/// a seconds field (six fields), else one a minute, plus two for the ends and a DST fold.
pub fn cron_ticks(span: SignedDuration, expr: &str) -> u64 {
    let seconds_field = expr.split_whitespace().count() == 6;
    let finest = SignedDuration::from_secs(if seconds_field { 1 } else { 60 });
    interval_ticks(span, finest).saturating_add(1)
}

/// The ticks one `[[jobs]]` entry (all its replicas) comes due in `span`, at most.
pub fn entry_ticks(job: &JobEntry, span: SignedDuration) -> u64 {
    let per_job = match (job.every, &job.cron) {
        (Some(every), _) => interval_ticks(span, every),
        (None, Some(expr)) => cron_ticks(span, expr.get_ref()),
        (None, None) => 0,
    };
    per_job.saturating_mul(u64::from(job.count.unwrap_or(1)))
}

/// Lease renewals of `nodes` nodes over `duration` with a lease of `ttl` (one every third of it).
pub fn renewals(nodes: usize, duration: SignedDuration, ttl: SignedDuration) -> u64 {
    let period = (ttl.as_nanos() / 3).max(1);
    let per_node = duration.as_nanos().max(0) / period + 1;
    u64::try_from(per_node.saturating_mul(nodes as i128)).unwrap_or(u64::MAX)
}

/// The most faults a random plan with mean spacing `every` draws in `duration` (faults are
/// spaced at least half of `every` apart).
pub fn random_faults(duration: SignedDuration, every: SignedDuration) -> u64 {
    let least_gap = (every.as_nanos() / 2).max(1);
    u64::try_from(duration.as_nanos().max(0) / least_gap).unwrap_or(u64::MAX)
}

/// The most the clock faults of `s` (explicit and random) may move one clock, summed as sizes;
/// drift counts as its rate over the whole run.
pub fn clock_shift(s: &Scenario) -> SignedDuration {
    let size = |d: Option<SignedDuration>| d.map_or(0, |d| d.as_nanos().abs());
    let mut nanos: i128 = 0;
    for f in &s.faults {
        nanos = nanos
            .saturating_add(size(f.offset))
            .saturating_add(size(f.by))
            .saturating_add(size(f.amplitude));
        if let Some(ppm) = f.ppm {
            let drift = s.duration.as_nanos().saturating_mul(i128::from(ppm).abs()) / 1_000_000;
            nanos = nanos.saturating_add(drift);
        }
    }
    if let Some(random) = &s.random {
        if random.kinds.iter().any(|k| k == "clock_offset") && random.every.is_positive() {
            let draws = i128::from(random_faults(s.duration, random.every));
            nanos = nanos.saturating_add(draws.saturating_mul(RANDOM_OFFSET.as_nanos()));
        }
    }
    let secs = i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX);
    SignedDuration::from_secs(secs)
}

/// Refuses a run whose faults, clock shifts, ticks or lease renewals exceed their budgets.
/// Runs after the per-field checks, so every interval is positive and every count bounded.
pub(super) fn check_work(s: &Scenario) -> Result<(), Refusal> {
    check_faults(s)?;
    let shift = clock_shift(s);
    if shift > MAX_CLOCK_SHIFT {
        return Err(Refusal::at(
            "faults",
            format!(
                "the clock faults together may move a clock by {}, more than the budget of {}",
                show(shift),
                show(MAX_CLOCK_SHIFT)
            ),
            "use smaller offsets, jumps, amplitudes or drifts; a clock hours off shows every effect",
        ));
    }
    check_ticks(s, shift)?;
    let ttl = s.node.lease_ttl;
    let renewals = renewals(s.nodes, s.duration, ttl);
    if renewals > MAX_RENEWALS {
        let every = SignedDuration::from_millis((ttl / 3).as_millis() as i64);
        let fits = (ttl / 3 * (MAX_RENEWALS / s.nodes as u64) as i32).as_secs();
        let fits = match fits {
            0..3600 => SignedDuration::from_secs(fits),
            _ => SignedDuration::from_hours(fits / 3600),
        };
        return Err(Refusal::at(
            "duration",
            format!(
                "{} nodes renewing a {} lease every {} for {} make {renewals} lease renewals, more than the budget of {MAX_RENEWALS}",
                s.nodes,
                show(ttl),
                show(every),
                show(s.duration)
            ),
            format!(
                "shorten duration (to about {} with these nodes and lease), use fewer nodes or a longer [node] lease_ttl",
                show(fits)
            ),
        ));
    }
    Ok(())
}

fn check_faults(s: &Scenario) -> Result<(), Refusal> {
    let random = s
        .random
        .as_ref()
        .map_or(0, |r| random_faults(s.duration, r.every));
    let faults = (s.faults.len() as u64).saturating_add(random);
    if faults > MAX_FAULTS {
        let key = if random > 0 { "random.every" } else { "faults" };
        return Err(Refusal::at(
            key,
            format!(
                "{} explicit faults and up to {random} random ones make more than the budget of {MAX_FAULTS} faults",
                s.faults.len()
            ),
            "list fewer [[faults]] or space the random ones further apart ([random] every)",
        ));
    }
    Ok(())
}

fn check_ticks(s: &Scenario, shift: SignedDuration) -> Result<(), Refusal> {
    // A clock ahead or behind makes its node see the ticks of a longer stretch of time.
    let span = s.duration.saturating_add(shift);
    let per_node = if s.go_micro.is_some() {
        s.nodes as u64
    } else {
        1
    };
    let max_ticks = if s.spooled {
        SPOOLED_MAX_TICKS
    } else {
        MAX_TICKS
    };
    let mut total = 0u64;
    for (i, job) in s.jobs.iter().enumerate() {
        let ticks = entry_ticks(job, span).saturating_mul(per_node);
        total = total.saturating_add(ticks);
        if total > max_ticks {
            let key = match (&job.every, job.count) {
                (_, Some(_)) if ticks > max_ticks / 2 => format!("jobs.{i}.count"),
                (Some(_), _) => format!("jobs.{i}.every"),
                (None, _) => format!("jobs.{i}.cron"),
            };
            return Err(Refusal::at(
                key,
                format!(
                    "the jobs up to this one come due up to {total} times in {} (duration plus clock faults), more than the budget of {max_ticks} ticks",
                    show(span)
                ),
                format!(
                    "lengthen `every`, lower `count` or shorten duration so all jobs together tick at most {max_ticks} times"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: SignedDuration = SignedDuration::from_hours(1);

    #[test]
    fn interval_ticks_count_one_per_interval_plus_the_first() {
        // An hour of 1 s ticks is 3,600 intervals and 3,601 instants (both ends included).
        assert_eq!(interval_ticks(HOUR, SignedDuration::from_secs(1)), 3_601);
        assert_eq!(interval_ticks(HOUR, HOUR * 2), 1);
        // One nanosecond over a year is more than u64 can hold only in i128; it saturates.
        let ns = interval_ticks(MAX_DURATION, SignedDuration::from_nanos(1));
        assert_eq!(ns, 31_622_400_000_000_001);
    }

    #[test]
    fn cron_ticks_are_bounded_by_the_finest_field() {
        // Five fields: at most one a minute; six: one a second; plus two for ends and folds.
        assert_eq!(cron_ticks(HOUR, "*/20 * * * *"), 62);
        assert_eq!(cron_ticks(HOUR, "* * * * * *"), 3_602);
        assert_eq!(cron_ticks(HOUR, "@hourly"), 62);
    }

    #[test]
    fn renewals_are_one_per_third_of_the_ttl_per_node() {
        // 3 nodes, 30 s, 3 s TTL: a renewal each second, 31 per node.
        let n = renewals(
            3,
            SignedDuration::from_secs(30),
            SignedDuration::from_secs(3),
        );
        assert_eq!(n, 93);
        // A month of three nodes on a 10 s lease: the measured 2.3 million, over budget.
        let month = renewals(3, HOUR * 720, SignedDuration::from_secs(10));
        assert!(month > MAX_RENEWALS && month < 2_400_000, "{month}");
        // A zero TTL cannot divide by zero.
        assert!(renewals(1, HOUR, SignedDuration::ZERO) > MAX_RENEWALS);
    }

    #[test]
    fn random_faults_are_at_least_half_every_apart() {
        // 20 minutes with a fault every 2 minutes on average: at most one a minute.
        let n = random_faults(HOUR / 3, SignedDuration::from_secs(120));
        assert_eq!(n, 20);
        assert!(random_faults(HOUR, SignedDuration::ZERO) > MAX_FAULTS);
    }

    #[test]
    fn the_constants_keep_every_instant_representable() {
        // The latest start plus the longest run and the largest clock shift is still a valid
        // instant well before croner's year 5000; the earliest minus the shift is after year 1.
        let year = |t: Timestamp| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        assert_eq!(year(LATEST_START + MAX_DURATION + MAX_CLOCK_SHIFT), 3002);
        assert_eq!(year(EARLIEST_START - MAX_CLOCK_SHIFT), 1898);
        assert_eq!(EARLIEST_START.to_string(), "1900-01-01T00:00:00Z");
        assert_eq!(LATEST_START.to_string(), "3000-01-01T00:00:00Z");
    }
}

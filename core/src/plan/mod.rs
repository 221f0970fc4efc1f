//! The sans-IO decision core: given `now`, which ticks to run, drop or skip, and when to look next.
//!
//! A [`Planner`] belongs to one leadership. It is built from the jobs' specs and checkpoints and
//! the instant the leadership began; [`Planner::poll`] takes the leader's clock reading and
//! returns one [`Decision`] per job that has something due, applying the misfire, starting
//! deadline and overlap policies. Nothing changes until the runner has claimed those ticks in the
//! backend and calls [`Planner::advance`]. [`Planner::next_deadline`] says when to poll again.
//! No clocks, tasks or I/O live here, so every policy is tested without a runtime.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::clock::Reading;
use crate::job::{JobId, JobSpec};
use crate::policy::{CatchUp, Delivery, OverlapPolicy};
use crate::store::{Checkpoint, Claim, ClaimKind};
use maybe_at::MaybeAt;

mod maybe_at;
mod rebase;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_early;

/// One tick to run, with its attempt number (1 unless an at-least-once tick runs again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickRun {
    /// The tick's scheduled instant.
    pub at: Timestamp,
    /// The attempt number.
    pub attempt: u32,
}

/// Why a tick was given up without running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbandonReason {
    /// Older than the newest `max` missed ticks under `CatchUp::All { max }`.
    CatchUpLimit,
    /// A newer due tick replaced it under `CatchUp::Latest`.
    Superseded,
    /// Missed under `CatchUp::Skip`.
    MisfireSkipped,
    /// It could not start within the starting deadline.
    DeadlineExceeded,
    /// Claimed, but leadership was lost before it started (the runner reports this).
    LeadershipLost,
    /// Claimed, but a newer tick replaced its execution before it started (overlap `Replace`).
    Replaced,
    /// Claimed, but the node shut down before it started.
    Shutdown,
    /// A cron tick whose local time fell into a DST gap, under `GapPolicy::Skip`.
    DstGap,
}

/// Consecutive ticks of one job given up for one reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abandoned {
    /// The oldest tick of the range.
    pub first: Timestamp,
    /// The newest tick of the range.
    pub last: Timestamp,
    /// How many ticks the range holds.
    pub count: u64,
    /// Why.
    pub reason: AbandonReason,
}

/// What to do about one job at one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The job's index in the planner (the order jobs were given in).
    pub job: usize,
    /// Ticks to run, oldest first (at-least-once re-runs before new ticks).
    pub run: Vec<TickRun>,
    /// Ticks given up by the misfire policy or the starting deadline.
    pub abandon: Vec<Abandoned>,
    /// Ticks skipped because an earlier run is still going (overlap `Forbid`).
    pub skip: Vec<Timestamp>,
    /// Cancel the running execution first (overlap `Replace`).
    pub cancel_running: bool,
    /// The newest tick this decision settles (the job's new cursor).
    cursor: Timestamp,
    /// The job's cursor before this decision.
    prior_cursor: Timestamp,
    /// At-least-once re-runs given up (they must leave the backend's in-flight set).
    retired: Vec<Timestamp>,
}

impl Decision {
    /// True when this decision says what becomes of `tick`: it runs or retires it, or the tick
    /// lies past the job's prior cursor up to its new one (run, skipped, dropped or given up).
    pub fn decides(&self, tick: Timestamp) -> bool {
        self.run.iter().any(|r| r.at == tick)
            || self.retired.contains(&tick)
            || (self.prior_cursor < tick && tick <= self.cursor)
    }

    /// The at-least-once re-runs this decision gives up past their starting deadline (each also
    /// in [`Decision::abandon`], as `DeadlineExceeded`).
    pub fn retired(&self) -> &[Timestamp] {
        &self.retired
    }

    /// The claims that record this decision in the backend, in one batch, oldest tick first.
    ///
    /// Besides the ticks to run, the batch names what it gives up: a drop of the newest tick of
    /// each abandoned range past the prior cursor (and of the new cursor, when no run reaches
    /// it), so the claim itself says which ticks it passes over. Where its answer is lost and
    /// the leadership with it, the node cannot record the abandon without perhaps recording a
    /// false one, but the batch that gave the ticks up still says so wherever it is seen.
    pub fn claims(&self, id: &JobId, spec: &JobSpec) -> Vec<Claim> {
        let mut claims: Vec<Claim> = self
            .run
            .iter()
            .map(|r| Claim {
                job: id.clone(),
                tick: r.at,
                spec_version: spec.version,
                kind: match spec.delivery {
                    Delivery::AtMostOnce => ClaimKind::Run { attempt: r.attempt },
                    Delivery::AtLeastOnce => ClaimKind::RunThenCommit { attempt: r.attempt },
                },
            })
            .collect();
        let drop = |tick| Claim {
            job: id.clone(),
            tick,
            spec_version: spec.version,
            kind: ClaimKind::Drop,
        };
        claims.extend(self.retired.iter().copied().map(drop));
        claims.extend(self.given_up().into_iter().map(drop));
        // Claims are applied in one step whatever their order; oldest first, each drop follows
        // the claims of the ticks before it, so it covers exactly the ticks since them.
        claims.sort_by_key(|c| c.tick);
        claims
    }

    /// The ticks past the prior cursor this decision drops: the newest of each abandoned range,
    /// and the new cursor when no run reaches it (skips, or everything abandoned); never a tick
    /// it runs.
    fn given_up(&self) -> BTreeSet<Timestamp> {
        let newest_run = self.run.iter().map(|r| r.at).max();
        let mut drops: BTreeSet<Timestamp> = self
            .abandon
            .iter()
            .map(|a| a.last)
            .filter(|&last| last > self.prior_cursor)
            .collect();
        if self.cursor > self.prior_cursor && newest_run.is_none_or(|t| t < self.cursor) {
            drops.insert(self.cursor);
        }
        for run in &self.run {
            drops.remove(&run.at);
        }
        drops
    }

    /// True when the ticks to run form one sequential execution (overlap `Forbid`/`Replace`),
    /// false when each runs on its own (overlap `Allow`).
    pub fn sequential(&self, spec: &JobSpec) -> bool {
        spec.overlap != OverlapPolicy::Allow
    }
}

/// One job's state in the planner. Its id and spec are borrowed from the node's own job
/// definitions: a planner per leadership never copies them (at 100,000 jobs a copy was 96 bytes
/// a job).
#[derive(Debug)]
struct PlannedJob<'j> {
    id: &'j JobId,
    spec: &'j JobSpec,
    /// Ticks after this instant have not been claimed.
    cursor: Timestamp,
    /// At-least-once ticks a previous leader claimed but never committed.
    retries: Box<[(Timestamp, u32)]>,
    /// Executions started whose first command has not begun yet (tracked for `Forbid` and
    /// `Replace`).
    pending: u32,
    /// Executions whose command has begun and that have not ended (tracked for `Forbid` and
    /// `Replace`).
    running: u32,
    /// The key this job has in the queue.
    queued_at: MaybeAt,
    /// While no tick of the job was ever claimed: the registration its cursor starts from.
    unclaimed_since: MaybeAt,
}

/// The decision core for one leadership over a set of jobs.
#[derive(Debug)]
pub struct Planner<'j> {
    jobs: Vec<PlannedJob<'j>>,
    queue: BTreeSet<(Timestamp, usize)>,
    leader_since: Timestamp,
    newest_claim: Option<Timestamp>,
    silent_misses: bool,
    /// How far past the evidence a tick due by the wall clock may be run early.
    early_limit: jiff::SignedDuration,
    /// The earliest registration of a job never claimed ([`Planner::rebase`] watches it).
    unclaimed_watch: Option<Timestamp>,
}

impl<'j> Planner<'j> {
    /// A planner for `jobs` (ids and specs, borrowed for the leadership) with their
    /// `checkpoints` (same order), for a leadership that began at `leader_since` on the leader's
    /// clock.
    pub fn new<J>(jobs: J, checkpoints: Vec<Checkpoint>, leader_since: Timestamp) -> Self
    where
        J: IntoIterator<Item = (&'j JobId, &'j JobSpec)>,
        J::IntoIter: ExactSizeIterator,
    {
        let jobs = jobs.into_iter();
        assert_eq!(jobs.len(), checkpoints.len(), "one checkpoint per job");
        let mut planner = Planner {
            jobs: Vec::with_capacity(jobs.len()),
            queue: BTreeSet::new(),
            leader_since,
            newest_claim: None,
            silent_misses: false,
            early_limit: jiff::SignedDuration::from_secs(60),
            unclaimed_watch: None,
        };
        for (idx, ((id, spec), cp)) in jobs.zip(checkpoints).enumerate() {
            debug_assert_eq!(id, &cp.job, "checkpoint order matches job order");
            let before_registration = cp.registered_at - jiff::SignedDuration::from_nanos(1);
            planner.newest_claim = planner.newest_claim.max(cp.last_claimed);
            let mut retries = match spec.delivery {
                Delivery::AtLeastOnce => cp.in_flight,
                Delivery::AtMostOnce => Vec::new(),
            };
            // Oldest first: reruns run in order ([`rerun_early`] takes the oldest).
            retries.sort();
            planner.jobs.push(PlannedJob {
                id,
                spec,
                cursor: cp.last_claimed.unwrap_or(before_registration),
                retries: retries.into_boxed_slice(),
                pending: 0,
                running: 0,
                queued_at: MaybeAt::NONE,
                unclaimed_since: cp.last_claimed.is_none().then_some(cp.registered_at).into(),
            });
            planner.requeue(idx);
        }
        planner.watch_unclaimed();
        planner
    }

    /// Ticks due by the wall clock but later than the evidence ([`Reading`]) run early only up to
    /// `limit` past the evidence (default 60 s, the runner passes its clock lag limit): a clock
    /// that jumped ahead does not claim an hour of ticks at once.
    pub fn with_early_limit(mut self, limit: std::time::Duration) -> Self {
        self.early_limit =
            jiff::SignedDuration::try_from(limit).unwrap_or(jiff::SignedDuration::MAX);
        self
    }

    /// **Test-only:** drop missed ticks silently (no catch-up, no record), a known-bad variant
    /// the simulator's gap checker must catch.
    #[doc(hidden)]
    pub fn without_catch_up(mut self) -> Self {
        self.silent_misses = true;
        self
    }

    /// The number of jobs.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// True when the planner has no jobs.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The id and spec of job `idx`.
    pub fn job(&self, idx: usize) -> (&'j JobId, &'j JobSpec) {
        let job = &self.jobs[idx];
        (job.id, job.spec)
    }

    /// The newest tick any job has claimed (checkpoints included): a leader whose clock reads far
    /// earlier than this has a clock that went backwards.
    pub fn newest_claim(&self) -> Option<Timestamp> {
        self.newest_claim
    }

    /// When the next tick of any job is due (leader's clock), if ever. Jobs waiting for their
    /// execution to begin ([`Planner::began`]) are left out: that news, not a time, wakes them.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.queue
            .iter()
            .find(|&&(_, idx)| !self.waiting(idx))
            .map(|(at, _)| *at)
    }

    /// When the next tick of any job is due after `wall` (leader's clock), if ever: what the
    /// leader waits for besides jobs due by the wall but not yet by the evidence.
    pub fn next_deadline_after(&self, wall: Timestamp) -> Option<Timestamp> {
        self.queue
            .range((wall, usize::MAX)..)
            .find(|&&(at, idx)| at > wall && !self.waiting(idx))
            .map(|(at, _)| *at)
    }

    /// Decisions for every job with something due at `now`, a reading taken as its own evidence;
    /// changes nothing.
    pub fn poll(&self, now: Timestamp) -> Vec<Decision> {
        self.poll_at(Reading::trusted(now))
    }

    /// Decisions for every job with something due by `reading`'s wall clock; changes nothing.
    /// Ticks are given up as missed or late only on the reading's evidence; ticks due by the
    /// wall alone run early (up to the early limit past the evidence), never given up.
    pub fn poll_at(&self, reading: Reading) -> Vec<Decision> {
        self.queue
            .range(..=(reading.wall, usize::MAX))
            .filter(|&&(_, idx)| !self.waiting(idx))
            .filter_map(|&(_, idx)| self.decide(idx, reading))
            .collect()
    }

    /// True when job `idx` (overlap `Forbid`) has an execution started whose command has not
    /// begun: whether a tick due now is skipped depends on a run that is not going yet, so the
    /// decision waits until it begins (skip) or ends (run).
    fn waiting(&self, idx: usize) -> bool {
        let job = &self.jobs[idx];
        job.spec.overlap == OverlapPolicy::Forbid && job.running == 0 && job.pending > 0
    }

    /// Records decisions after their claims succeeded: moves cursors, counts executions started.
    pub fn advance(&mut self, decisions: &[Decision]) {
        for d in decisions {
            let job = &mut self.jobs[d.job];
            job.cursor = job.cursor.max(d.cursor);
            job.unclaimed_since = MaybeAt::NONE;
            self.newest_claim = self.newest_claim.max(Some(job.cursor));
            let settled =
                |at: &Timestamp| d.retired.contains(at) || d.run.iter().any(|r| r.at == *at);
            if job.retries.iter().any(|(at, _)| settled(at)) {
                let left = job.retries.iter().filter(|(at, _)| !settled(at));
                job.retries = left.copied().collect();
            }
            if d.cancel_running {
                job.pending = 0;
                job.running = 0;
            }
            if !d.run.is_empty() && job.spec.overlap != OverlapPolicy::Allow {
                job.pending += 1;
            }
            self.requeue(d.job);
        }
    }

    /// Records that one execution of job `idx` began its first command: from now on a tick that
    /// comes due is one that overlaps a run in progress.
    pub fn began(&mut self, idx: usize) {
        let job = &mut self.jobs[idx];
        if job.spec.overlap != OverlapPolicy::Allow && job.pending > 0 {
            job.pending -= 1;
            job.running += 1;
        }
    }

    /// Records that one execution of job `idx` ended, after its command began (`began`) or
    /// before any did (counted only for `Forbid`/`Replace`).
    pub fn finished(&mut self, idx: usize, began: bool) {
        let job = &mut self.jobs[idx];
        if job.spec.overlap == OverlapPolicy::Allow {
            return;
        }
        let count = if began {
            &mut job.running
        } else {
            &mut job.pending
        };
        *count = count.saturating_sub(1);
        // Reruns held behind the run that ended may be due now.
        self.requeue(idx);
    }

    /// Queues job `idx` at the next instant it needs a poll: its oldest rerun, unless reruns are
    /// held behind a run of the job (overlap `Forbid`, [`Planner::due_retries`]): that run's end,
    /// news and not a time, frees them, so only the job's next new tick (which the run turns
    /// into a skip) is a deadline meanwhile. (A held rerun queued in the past once made the
    /// leader's loop find nothing to do and sleep its whole clock recheck, polling every other
    /// job of the election once a second: explorer world etcd-sim 40845.)
    fn requeue(&mut self, idx: usize) {
        let job = &mut self.jobs[idx];
        if let Some(at) = job.queued_at.take() {
            self.queue.remove(&(at, idx));
        }
        let held = job.spec.overlap == OverlapPolicy::Forbid && job.running + job.pending > 0;
        let next = match job.retries.iter().map(|(t, _)| *t).min() {
            Some(retry) if !held => Some(retry),
            _ => job.spec.schedule.next_tick(job.cursor),
        };
        if let Some(at) = next {
            job.queued_at = Some(at).into();
            self.queue.insert((at, idx));
        }
    }

    fn decide(&self, idx: usize, reading: Reading) -> Option<Decision> {
        let now = reading.evidence;
        let job = &self.jobs[idx];
        let mut d = Decision {
            job: idx,
            run: Vec::new(),
            abandon: Vec::new(),
            skip: Vec::new(),
            cancel_running: false,
            cursor: job.cursor,
            prior_cursor: job.cursor,
            retired: Vec::new(),
        };
        let deadline = job
            .spec
            .misfire
            .starting_deadline
            .map(|d| jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX));
        let late = |t: Timestamp| deadline.is_some_and(|d| now.duration_since(t) > d);
        let mut early = Vec::new();
        for &(at, attempt) in self.due_retries(job, reading) {
            let rerun = TickRun {
                at,
                attempt: attempt + 1,
            };
            if at > now {
                early.push(rerun);
            } else if late(at) {
                d.abandon.push(single(at, AbandonReason::DeadlineExceeded));
                d.retired.push(at);
            } else {
                d.run.push(rerun);
            }
        }
        self.select_due(job, now, &late, &mut d);
        rerun_early(job, early, &mut d);
        self.run_early(job, reading, &mut d);
        if d.run.is_empty() && d.abandon.is_empty() {
            return None;
        }
        apply_overlap(job, &mut d);
        Some(d)
    }

    fn select_due(
        &self,
        job: &PlannedJob,
        now: Timestamp,
        late: &dyn Fn(Timestamp) -> bool,
        d: &mut Decision,
    ) {
        let schedule = &job.spec.schedule;
        let mut due = schedule.due_ticks(job.cursor, now);
        let Some(newest) = due.clone().next_back() else {
            return;
        };
        d.cursor = newest;
        let current = newest >= self.leader_since;
        // How many of the newest due ticks the misfire policy keeps (the current one included).
        let (keep, reason) = match job.spec.misfire.catch_up {
            CatchUp::All { max } => (
                u64::from(current) + u64::from(max),
                AbandonReason::CatchUpLimit,
            ),
            CatchUp::Latest => (1, AbandonReason::Superseded),
            CatchUp::Skip => (u64::from(current), AbandonReason::MisfireSkipped),
        };
        let (keep, reason) = if self.silent_misses {
            (u64::from(current), None)
        } else {
            (keep, Some(reason))
        };
        // Walk back from the newest: bounded by `keep`, however long the outage was.
        let mut kept = Vec::new();
        while (kept.len() as u64) < keep {
            match due.next_back() {
                Some(at) => kept.push(at),
                None => break,
            }
        }
        kept.reverse();
        // What is left of `due` is dropped; only its ends and its size are needed.
        if let (Some(last), Some(reason)) = (due.clone().next_back(), reason) {
            let first = due.clone().next().expect("a last tick means a first");
            d.abandon.push(Abandoned {
                first,
                last,
                count: due.len() as u64,
                reason,
            });
        }
        // Lateness only grows with age, so late ticks are a prefix of the kept ones.
        let mut late_range: Option<Abandoned> = None;
        let mut on_time = false;
        for at in kept {
            if schedule.skipped_by_dst(at) {
                d.abandon.push(single(at, AbandonReason::DstGap));
            } else if !on_time && late(at) {
                let range = late_range.get_or_insert(single(at, AbandonReason::DeadlineExceeded));
                range.last = at;
                range.count += u64::from(range.first != at);
            } else {
                on_time = true;
                d.run.push(TickRun { at, attempt: 1 });
            }
        }
        d.abandon.extend(late_range);
    }
}

impl Planner<'_> {
    /// The in-flight ticks to run again now: each once it is due by the wall clock, not all at
    /// the win. A tick a clock that ran ahead claimed minutes early is not run minutes early
    /// again; and each comes due on its own, so one that comes due during a run of its job
    /// overlaps it like any tick: it replaces the run (`Replace`), runs beside it (`Allow`), or
    /// waits for it to end (`Forbid`: a tick already claimed is owed a run, so it is not
    /// skipped). The wall alone decides, not the evidence: the tick was claimed once already, so
    /// running it is never giving it up, and a witness stale from a clock fault long past must not
    /// hold back a tick a previous leader left behind. But one due by the wall alone runs early
    /// as a new tick does, alone and never replacing a run ([`rerun_early`]).
    fn due_retries<'j>(
        &self,
        job: &'j PlannedJob,
        reading: Reading,
    ) -> impl Iterator<Item = &'j (Timestamp, u32)> {
        let busy = job.spec.overlap == OverlapPolicy::Forbid && job.running + job.pending > 0;
        job.retries
            .iter()
            .filter(move |(at, _)| !busy && *at <= reading.wall)
    }

    /// How far ticks are due by `reading`: its wall clock, but no further than the early limit
    /// past its evidence.
    fn early_until(&self, reading: Reading) -> Timestamp {
        reading.wall.min(
            reading
                .evidence
                .saturating_add(self.early_limit)
                .unwrap_or(reading.wall),
        )
    }

    /// Adds the ticks due by the wall clock but not by the evidence: each runs (early, if the
    /// clock is ahead), oldest first, up to the early limit past the evidence. Unless runs may
    /// overlap, one at a time and only when nothing else runs: a batch of early ticks would queue
    /// behind each other and start late in true time, where ticks that come due during a run
    /// are skipped (`Forbid`) or replace it (`Replace`). And an at-most-once job claims one
    /// early tick per claim, overlap or not: a claim lost with its leadership loses its ticks
    /// (nobody may run a tick claimed at most once), so a clock that jumped ahead must not stake
    /// the whole early limit on one write. (Explorer world memory 170657: a clock 7 minutes
    /// ahead for 199 ms claimed the next 60 s of an `Allow` job in one write; the write landed
    /// after the leadership had ended, and the next leader waited out the minute it had
    /// claimed.)
    fn run_early(&self, job: &PlannedJob, reading: Reading, d: &mut Decision) {
        // A tick not yet due by the evidence never skips or replaces a run going: it waits.
        let one_at_a_time = job.spec.overlap != OverlapPolicy::Allow;
        let one_per_claim = one_at_a_time || job.spec.delivery == Delivery::AtMostOnce;
        if one_at_a_time && (job.running + job.pending > 0 || !d.run.is_empty()) {
            return;
        }
        let until = self.early_until(reading);
        let from = d.cursor.max(job.cursor);
        if until <= from {
            return;
        }
        let schedule = &job.spec.schedule;
        for at in schedule.due_ticks(from, until) {
            if schedule.skipped_by_dst(at) {
                d.abandon.push(single(at, AbandonReason::DstGap));
            } else {
                d.run.push(TickRun { at, attempt: 1 });
            }
            d.cursor = at;
            if one_per_claim && !d.run.is_empty() {
                break;
            }
        }
    }
}

/// Adds the reruns due by the wall clock but not by the evidence (`early`, oldest first) as
/// [`Planner::run_early`] adds new ticks: running a claimed tick early loses nothing, but a
/// batch led by one would start the ticks behind it late in true time, and one due only by a
/// clock that ran ahead must never replace (`Replace`) the job's run going. So unless runs may
/// overlap, the oldest runs alone, and only while nothing else of the job runs or is decided;
/// the others wait for its end ([`Planner::finished`] requeues the job) or for the evidence to
/// reach them. (Explorer worlds memory 82398 and 82402: a leader whose clock had jumped ahead
/// re-ran a previous leadership's ticks in one batch, and a rerun due only by its clock
/// replaced the batch: the ticks behind it given up as replaced, never run.)
fn rerun_early(job: &PlannedJob, early: Vec<TickRun>, d: &mut Decision) {
    if job.spec.overlap == OverlapPolicy::Allow {
        d.run.extend(early);
    } else if job.running + job.pending == 0 && d.run.is_empty() {
        d.run.extend(early.into_iter().next());
    }
}

fn single(at: Timestamp, reason: AbandonReason) -> Abandoned {
    Abandoned {
        first: at,
        last: at,
        count: 1,
        reason,
    }
}

fn apply_overlap(job: &PlannedJob, d: &mut Decision) {
    if job.running + job.pending == 0 || d.run.is_empty() {
        return;
    }
    match job.spec.overlap {
        OverlapPolicy::Allow => {}
        OverlapPolicy::Replace => d.cancel_running = true,
        OverlapPolicy::Forbid => d.skip = d.run.drain(..).map(|r| r.at).collect(),
    }
}

#[cfg(test)]
impl Planner<'static> {
    /// **Tests:** a planner over owned `jobs`, which it keeps for the rest of the test run.
    pub(crate) fn leaking(
        jobs: Vec<(JobId, JobSpec)>,
        checkpoints: Vec<Checkpoint>,
        leader_since: Timestamp,
    ) -> Self {
        let jobs: &'static [(JobId, JobSpec)] = Vec::leak(jobs);
        Planner::new(
            jobs.iter().map(|(id, spec)| (id, spec)),
            checkpoints,
            leader_since,
        )
    }
}

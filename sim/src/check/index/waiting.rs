//! What kept a tick waiting under overlap `Forbid`: a leadership's run of the tick's job going
//! when the tick came due, and the runs that followed it in the order the policy sets (older
//! ticks first), within the same leadership or, once it ended, in the next leadership that owes
//! the tick a rerun. It gathers where those runs stopped and how long the cluster sat idle
//! between them; the liveness checker judges whether the tick then began in time. It does not
//! decide whether a tick was owed at all (the no-gap checker's) nor how runs ended
//! (`ends.rs`).

use cronfence::JobId;
use jiff::{SignedDuration, Timestamp};

use super::{EndKind, Index};

/// A run as a leadership's list holds it: (position it began, its tick, position it ended or
/// `usize::MAX`).
type Run = (usize, Timestamp, usize);

/// A leadership of the job's election: its node and token.
type Leader<'h> = (&'h str, u64);

/// A leadership's run of a job that kept a tick from starting on time under overlap `Forbid`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocking {
    /// Where the runs that kept the tick waiting stop following one another (`usize::MAX`:
    /// one is still going when the history ends).
    pub(crate) busy_until: usize,
    /// How long the cluster sat idle between those runs before `busy_until`: pauses, each
    /// followed by a run of an older tick, which the oldest-first order put ahead of this one.
    pub(crate) idle: SignedDuration,
    /// The tick is one that leadership read in flight and owes a rerun, rather than one it
    /// claimed or dropped: it must run once the runs stop.
    pub(crate) owed: bool,
}

/// The tick kept waiting, the idle time it is allowed, and the leaderships that owe it a rerun.
struct Waiting<'a, 'h> {
    index: &'a Index<'h>,
    job: &'a JobId,
    tick: Timestamp,
    allowance: SignedDuration,
    /// (position of the read, node, token) of each checkpoint read holding the tick in flight.
    owing: &'a [(usize, &'h str, u64)],
}

impl<'h> Index<'h> {
    /// A run of `job` going at true time `tick` (begun by then, ended after it) by a leadership
    /// that sent a claim naming `tick` (to run or drop it), or whose checkpoint read held `tick`
    /// in flight (a rerun it owes): under overlap `Forbid` that leadership's own run kept the
    /// tick from starting on time. A run with no recorded end (cut by a crash) counts for
    /// nothing. The runs that kept it waiting may pause between them for at most `allowance` in
    /// all ([`Waiting::busy_until`]).
    pub(crate) fn running_over(
        &self,
        job: &JobId,
        tick: Timestamp,
        allowance: SignedDuration,
    ) -> Option<Blocking> {
        let owing = self.read_in_flight(&(job.clone(), tick));
        let owes = |node: &str, token: u64| owing.iter().any(|&(_, n, t)| n == node && t == token);
        let named = |node: &'h str, token: u64| {
            let names = |c: &cronfence::Claim| &c.job == job && c.tick == tick;
            self.sent_where(node, token, usize::MAX, names)
                .next()
                .is_some()
        };
        let waiting = Waiting {
            index: self,
            job,
            tick,
            allowance,
            owing: &owing,
        };
        // The first record after `tick`: a recorded end at or past it ends after the tick.
        let after = self.records.partition_point(|r| r.true_time <= tick);
        let leaders = self.leaders_of.get(job).map_or(&[][..], Vec::as_slice);
        leaders.iter().find_map(|&(node, token)| {
            let list = &self.by_leader[&(node, token, job.clone())];
            let owed = owes(node, token);
            // A run with no recorded end counts only for a rerun its leadership owes,
            // and only while it is still going when the history ends (not cut).
            let going = |r: &Run| match (r.2, self.run_stop(node, token, job, r)) {
                (usize::MAX, Some(_)) => false,
                (usize::MAX, None) => owed,
                (end, _) => end >= after,
            };
            // The earliest run begun by the tick and going at it. Runs are in the order
            // they began, and `latest_end` is the running maximum of their recorded ends, so
            // the first whose end reaches past the tick is found by bisection; the few runs
            // with no recorded end are looked at apart.
            let begun = list.runs.partition_point(|r| r.0 < after);
            let first = list.latest_end[..begun].partition_point(|&e| e < after);
            let recorded = (first < begun).then_some(first);
            let cut = list.unended.partition_point(|&k| k < begun);
            let mut unended = list.unended[..cut].iter().copied();
            let unended = unended.find(|&k| going(&list.runs[k]));
            let run = &list.runs[[recorded, unended].into_iter().flatten().min()?];
            (owed || named(node, token)).then(|| {
                let (busy_until, idle) = waiting.busy_until((node, token), run);
                Blocking {
                    busy_until,
                    idle,
                    owed,
                }
            })
        })
    }

    /// Where a run of `node`'s leadership `token` of `job` stopped: its recorded end, else where
    /// its leadership ended (a crash cut it, say); `None`: still going when the history ends.
    fn run_stop(&self, node: &'h str, token: u64, job: &JobId, r: &Run) -> Option<usize> {
        if r.2 != usize::MAX {
            return Some(r.2);
        }
        self.ending(node, job, token, r.0, |e| e.how != EndKind::Paused)
            .map(|e| e.index)
    }
}

impl<'h> Waiting<'_, 'h> {
    /// Where the runs that kept the tick waiting stop, from `leader`'s `run` on (`usize::MAX`:
    /// one is still going when the history ends), and how long the cluster sat idle before
    /// then. A run of `leader` that begins before its previous ones stopped keeps the tick
    /// waiting (overlap `Forbid`). So does one that begins after a pause, if it runs an older
    /// tick (the oldest goes first) and the pauses so far, this one included, add up to no more
    /// than the allowance: the tick was never owed longer than that while nothing older was left
    /// to run. Once `leader` ended, the next leadership that owes the tick a rerun takes over on
    /// the same terms.
    fn busy_until(&self, mut leader: Leader<'h>, run: &Run) -> (usize, SignedDuration) {
        let mut idle = SignedDuration::ZERO;
        let mut first = *run;
        loop {
            let Some(end) = self.follow(leader, &first, &mut idle) else {
                return (usize::MAX, idle);
            };
            let Some((next, r)) = self.successor(leader, &first, end) else {
                return (end, idle);
            };
            let pause = self.index.time(r.0).duration_since(self.index.time(end));
            if !self.ahead(&r, idle + pause) {
                return (end, idle);
            }
            idle += pause;
            (leader, first) = (next, r);
        }
    }

    /// Follows `leader`'s runs from `first` on (see [`Self::busy_until`]), adding its pauses to
    /// `idle`: where they stop keeping the tick waiting, `None` if one is still going when the
    /// history ends.
    fn follow(&self, leader: Leader<'h>, first: &Run, idle: &mut SignedDuration) -> Option<usize> {
        let (index, (node, token)) = (self.index, leader);
        let stop = |r: &Run| index.run_stop(node, token, self.job, r);
        let mut end = stop(first)?;
        let list = index.by_leader.get(&(node, token, self.job.clone()))?;
        for r in &list.runs {
            let (began, free) = (index.time(r.0), index.time(end));
            if began > free {
                let pause = began.duration_since(free);
                if !self.ahead(r, *idle + pause) {
                    break;
                }
                *idle += pause;
            }
            match stop(r) {
                None => return None,
                Some(s) if index.time(s) > index.time(end) => end = s,
                Some(_) => {}
            }
        }
        Some(end)
    }

    /// True when run `r`, begun after the cluster sat idle `idle` in all, still kept the tick
    /// waiting: it ran an older tick, and the tick's allowance was not yet spent.
    fn ahead(&self, r: &Run, idle: SignedDuration) -> bool {
        r.1 < self.tick && idle <= self.allowance
    }

    /// The first run after `end` of another leadership that owes the tick a rerun, if `leader`
    /// (whose run `first` the chain followed) had ended (a pause aside) before that run began.
    fn successor(&self, leader: Leader<'h>, first: &Run, end: usize) -> Option<(Leader<'h>, Run)> {
        let index = self.index;
        let ended = index.ending(leader.0, self.job, leader.1, first.0, |e| {
            e.how != EndKind::Paused
        })?;
        self.owing
            .iter()
            .filter(|&&(_, n, t)| (n, t) != leader)
            .filter_map(|&(_, node, token)| {
                let list = index.by_leader.get(&(node, token, self.job.clone()))?;
                let after = list.runs.iter().find(|r| r.0 > end.max(ended.index))?;
                Some(((node, token), *after))
            })
            .min_by_key(|(_, r)| r.0)
    }
}

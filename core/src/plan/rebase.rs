//! Taking back what a clock that ran ahead wrote into a leadership before the evidence could
//! contradict it: the start of office, and the registration a never-claimed job starts from.
//!
//! A node whose clock is ahead when it starts registers its jobs in the future, and one whose
//! clock is ahead when it wins dates its leadership in the future. Nothing can tell at that
//! moment; a later reading's evidence ([`Reading`]) can. Left alone, the first makes every tick
//! before the future registration never due (nobody ever runs or reports it), and the second
//! makes ticks due after the win look missed. The planner takes both back to what the evidence
//! allows. It never moves anything a claim has fixed: ticks up to a claimed checkpoint stay
//! claimed.

use jiff::SignedDuration;

use super::Planner;
use crate::clock::Reading;

impl Planner<'_> {
    /// Takes back, on `reading`'s evidence, a start of office or a never-claimed job's
    /// registration that lies in the future; `since_win` is the monotonic time since the
    /// leadership was won. Cheap when there is nothing to take back.
    pub fn rebase(&mut self, reading: Reading, since_win: SignedDuration) {
        if let Ok(won) = reading.evidence.checked_sub(since_win) {
            self.leader_since = self.leader_since.min(won);
        }
        if self.unclaimed_watch.is_none_or(|at| at <= reading.evidence) {
            return;
        }
        let cursor = reading.evidence - SignedDuration::from_nanos(1);
        for idx in 0..self.jobs.len() {
            let job = &mut self.jobs[idx];
            if job
                .unclaimed_since
                .get()
                .is_some_and(|at| at > reading.evidence)
            {
                job.cursor = cursor;
                job.unclaimed_since = Some(reading.evidence).into();
                self.requeue(idx);
            }
        }
        self.watch_unclaimed();
    }

    /// Recomputes the earliest registration of a job never claimed.
    pub(super) fn watch_unclaimed(&mut self) {
        self.unclaimed_watch = self
            .jobs
            .iter()
            .filter_map(|j| j.unclaimed_since.get())
            .min();
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::schedule::Schedule;
    use jiff::SignedDuration;

    fn t(secs: i64) -> Timestamp {
        "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
    }

    fn planner(registered_at: i64, last_claimed: Option<i64>, since: i64) -> Planner<'static> {
        let id = JobId::new("job").unwrap();
        let spec = JobSpec::new(Schedule::every(t(0), SignedDuration::from_secs(10)).unwrap());
        let cp = Checkpoint {
            job: id.clone(),
            registered_at: t(registered_at),
            last_claimed: last_claimed.map(t),
            in_flight: Vec::new(),
        };
        Planner::leaking(vec![(id, spec)], vec![cp], t(since))
    }

    fn reading(wall: i64, evidence: i64) -> Reading {
        Reading {
            wall: t(wall),
            evidence: t(evidence),
            witness_age: std::time::Duration::ZERO,
            witness: t(evidence),
        }
    }

    #[test]
    fn a_registration_stamped_by_a_clock_ahead_is_taken_back_to_the_evidence() {
        // Registered "at 3600" by a clock an hour ahead: without the rebase nothing is due before
        // 3610; with it the tick at 20 runs once it is due.
        let mut p = planner(3_600, None, 3_600);
        p.rebase(reading(15, 15), SignedDuration::from_secs(15));
        assert_eq!(p.next_deadline(), Some(t(20)));
        let d = p.poll_at(reading(20, 20));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].run[0].at, t(20));
        assert!(d[0].abandon.is_empty(), "{:?}", d[0].abandon);
    }

    #[test]
    fn a_claimed_checkpoint_is_never_taken_back() {
        // Ticks up to a claim stay claimed, wherever the evidence stands.
        let mut p = planner(0, Some(3_600), 3_600);
        p.rebase(reading(15, 15), SignedDuration::from_secs(15));
        assert_eq!(p.next_deadline(), Some(t(3_610)));
    }

    #[test]
    fn a_start_of_office_in_the_future_is_taken_back() {
        // Won "at 3600" by a clock an hour ahead, 5 s ago by the monotonic clock: the office began
        // at 10 by the evidence, so tick 20 is the current tick, not a missed one.
        let mut p = planner(0, Some(10), 3_600);
        p.rebase(reading(15, 15), SignedDuration::from_secs(5));
        let d = p.poll_at(reading(20, 20));
        assert_eq!(d[0].run.len(), 1);
        assert!(d[0].abandon.is_empty());
    }
}

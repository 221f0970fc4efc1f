//! Leading one election: the loop that turns planner decisions into claims and executions.
//!
//! The leader reads its jobs' checkpoints, builds a [`Planner`] with the clock evidence at its
//! win as the start of office, then repeats: poll the planner, claim everything due in **one** fenced batch,
//! record the outcome, start executions, and sleep until the planner's next deadline (re-reading
//! the clock at least every `clock_recheck`). It stops at once when the leadership is revoked, a
//! claim is fenced out, a newer job definition is registered (read between ticks by a
//! [`SpecWatch`], or a claim is refused for it), the clock reads too far behind, or the node
//! shuts down;
//! it records why, and settles its runs as the [`Lifecycle`] says (drain then cancel on shutdown;
//! otherwise cancel the at-least-once runs and let the at-most-once ones carry on).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::signal;
use tokio::time::Instant;

use super::batch::Decided;
use super::committer::{Committer, WriteTurn};
use super::execution::{Ended, Execution};
use super::supersession::SpecWatch;
use super::NodeCtx;
use crate::clock::{sleep_for, Reading};
use crate::elector::{Fence, Leadership, Revocation};
use crate::error::Error;
use crate::event::{ClockEvidence, FencedOperation, NodeEvent, SkipReason};
use crate::job::{Job, JobId};
use crate::lifecycle::{steps_down_for_clock, Action, EndCause, Input, Lifecycle, RunsAtEnd};
use crate::plan::{AbandonReason, Decision, Planner};
use crate::policy::Delivery;
use crate::store::Checkpoint;
use tokio::sync::OwnedMutexGuard;

/// How a leadership ended, with what the history needs to say about it.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The node is shutting down.
    Shutdown,
    /// The session behind the leadership was lost.
    Revoked(Revocation),
    /// A fenced operation (or the checkpoint read) was refused: someone newer leads.
    Refused(String),
    /// The backend holds a newer spec of one of the jobs (`SpecSuperseded`): the node must leave.
    Superseded(Error),
    /// The leader's clock reads too far before the newest claimed tick.
    ClockBehind {
        /// The newest claimed tick.
        checkpoint: jiff::Timestamp,
    },
}

struct Running {
    id: u64,
    /// Set once the execution has ended.
    done: signal::Receiver<bool>,
    delivery: Delivery,
    cancel: signal::Sender<Option<AbandonReason>>,
    /// Holds it between ticks while a claim that replaces it is unanswered.
    hold: signal::Sender<bool>,
    /// Its first command began (the planner was told).
    began: bool,
}

struct Leader<'a> {
    ctx: &'a Arc<NodeCtx>,
    leadership: Leadership,
    fence: Fence,
    jobs: &'a [Job],
    planner: Planner<'a>,
    running: BTreeMap<usize, Vec<Running>>,
    next_execution: u64,
    ended_tx: mpsc::UnboundedSender<Ended>,
    ended_rx: mpsc::UnboundedReceiver<Ended>,
    began_tx: mpsc::UnboundedSender<(usize, u64)>,
    began_rx: mpsc::UnboundedReceiver<(usize, u64)>,
    /// Known-bad variant `claim_after_run`: claims held until their execution ends.
    deferred: BTreeMap<u64, Vec<crate::store::Claim>>,
    /// The checkpoint this node last stepped down for in this election, if any.
    stepped_down_for: Option<jiff::Timestamp>,
    /// When the leadership was won, on the monotonic clock.
    won_at: Instant,
    /// The ticks held by every claim that failed without an answer since the last answered one
    /// (any of them may have been applied), with the reason to give each up if the leadership
    /// ends first: lost with it, or retired past its starting deadline.
    unanswered: BTreeMap<(usize, jiff::Timestamp), AbandonReason>,
    /// The leadership's group committer, started with its first at-least-once execution.
    committer: Option<Committer>,
    /// The leadership's turn to write, which its claims and its committer take one at a time.
    turn: WriteTurn,
    /// Reads the jobs' registered versions, so a newer definition ends the leadership between
    /// ticks rather than at a due tick's refused claim.
    specs: SpecWatch,
}

/// Leads `leadership` over `jobs` until it ends, records why, settles its runs as `lifecycle`
/// says, and returns the lifecycle's next step (resign, or the leadership is over).
pub(crate) async fn lead(
    ctx: &Arc<NodeCtx>,
    mut leadership: Leadership,
    jobs: &[Job],
    lifecycle: &mut Lifecycle,
    stepped_down_for: Option<jiff::Timestamp>,
) -> Action {
    // The leadership began at the win, not once the checkpoints are in: a tick due meanwhile is
    // not one it missed.
    let since = ctx.read_clock().evidence;
    let won_at = Instant::now();
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let read = ctx.retry("read checkpoints", || ctx.backend.checkpoints(&ids));
    let checkpoints: Vec<Checkpoint> = tokio::select! {
        biased;
        reason = leadership.revoked() => return end_unled(ctx, &leadership, lifecycle, Ending::Revoked(reason)),
        read = read => match read {
            Ok(checkpoints) => checkpoints,
            Err(Error::ShuttingDown) => return end_unled(ctx, &leadership, lifecycle, Ending::Shutdown),
            Err(error) => {
                let ending = Ending::Refused(format!("cannot read checkpoints: {error}"));
                return end_unled(ctx, &leadership, lifecycle, ending);
            }
        },
    };
    ctx.emit(NodeEvent::CheckpointsRead {
        election: leadership.election.clone(),
        token: leadership.token,
        checkpoints: checkpoints.clone(),
    });
    lifecycle.on(Input::Leading);
    let specs = jobs.iter().map(|j| (&j.id, &j.spec));
    let mut planner =
        Planner::new(specs, checkpoints, since).with_early_limit(ctx.config.clock_lag_limit);
    if ctx.config.broken.no_catch_up {
        planner = planner.without_catch_up();
    }
    let (ended_tx, ended_rx) = mpsc::unbounded_channel();
    let (began_tx, began_rx) = mpsc::unbounded_channel();
    let mut leader = Leader {
        ctx,
        fence: leadership.fence(),
        leadership,
        jobs,
        planner,
        running: BTreeMap::new(),
        next_execution: 0,
        ended_tx,
        ended_rx,
        began_tx,
        began_rx,
        deferred: BTreeMap::new(),
        stepped_down_for,
        won_at,
        unanswered: BTreeMap::new(),
        committer: None,
        turn: WriteTurn::default(),
        specs: SpecWatch::start(ctx, jobs),
    };
    let ending = leader.run().await;
    leader.specs.stop();
    let stopped = matches!(ending, Ending::Shutdown);
    let runs = end(ctx, &leader.leadership, lifecycle, ending);
    // A claim that never got an answer may have been applied: the ticks it held are this
    // leadership's, and it has ended without running them (recorded after its end, which
    // explains them: in real time the two records are not at one instant).
    leader.record_unanswered(stopped);
    leader.settle(runs).await;
    lifecycle.on(Input::RunsSettled)
}

/// A leadership that ended before it led: it has no runs to settle.
fn end_unled(
    ctx: &NodeCtx,
    leadership: &Leadership,
    lifecycle: &mut Lifecycle,
    ending: Ending,
) -> Action {
    end(ctx, leadership, lifecycle, ending);
    lifecycle.on(Input::RunsSettled)
}

/// Records how the leadership ended and hands the end to the lifecycle; returns how to settle
/// the runs.
fn end(
    ctx: &NodeCtx,
    leadership: &Leadership,
    lifecycle: &mut Lifecycle,
    ending: Ending,
) -> RunsAtEnd {
    let election = leadership.election.clone();
    let token = leadership.token;
    let revoked = |reason: String| NodeEvent::LeadershipRevoked {
        election: election.clone(),
        token,
        reason,
    };
    let cause = match ending {
        Ending::Shutdown => EndCause::Shutdown,
        Ending::Revoked(reason) => {
            let reason = format!("{reason:?}");
            ctx.emit(revoked(reason.clone()));
            EndCause::SessionLost(reason)
        }
        Ending::Refused(reason) => {
            ctx.emit(revoked(reason));
            EndCause::Fenced
        }
        Ending::Superseded(error) => {
            // Like a rejection at registration: stay out of this election for good, so the nodes
            // carrying the new definition run all of its jobs.
            ctx.reject(error);
            ctx.retire(&election);
            EndCause::Superseded
        }
        Ending::ClockBehind { checkpoint } => {
            ctx.emit(NodeEvent::ClockBehind {
                election: election.clone(),
                checkpoint,
                clock: ctx.clock.now(),
            });
            EndCause::ClockBehind { checkpoint }
        }
    };
    match lifecycle.on(Input::Ended(cause)) {
        Action::SettleRuns(runs) => runs,
        other => unreachable!("a leadership ends once, and its end settles runs: {other:?}"),
    }
}

impl Leader<'_> {
    async fn run(&mut self) -> Ending {
        let mut backoff = self.ctx.backoff();
        // The leadership's turn to write, held from deciding a claim until its answer.
        let mut turn: Option<OwnedMutexGuard<()>> = None;
        loop {
            if self.ctx.stopping() {
                return Ending::Shutdown;
            }
            if let Some(reason) = self.leadership.revocation() {
                return Ending::Revoked(reason);
            }
            if let Some(error) = self.specs.superseded() {
                return Ending::Superseded(error);
            }
            self.take_in_news().await;
            let reading = self.ctx.read_clock();
            if let Some(checkpoint) = self.clock_behind(reading.wall) {
                return Ending::ClockBehind { checkpoint };
            }
            let since_win = jiff::SignedDuration::try_from(self.won_at.elapsed())
                .unwrap_or(jiff::SignedDuration::ZERO);
            self.planner.rebase(reading, since_win);
            let decisions = self.planner.poll_at(reading);
            let mut delay = sleep_for(
                &*self.ctx.clock,
                self.planner.next_deadline(),
                self.ctx.config.clock_recheck,
            );
            if decisions.is_empty() && delay.is_zero() {
                // Due by the wall, but further ahead of the evidence than ticks may run early:
                // the evidence has to catch up first. It moves on with monotonic time, so sleep
                // until it reaches the tick (at most a recheck), not a whole recheck: a tick
                // with a short starting deadline would be given up meanwhile.
                let behind = self
                    .planner
                    .next_deadline()
                    .map(|due| due.duration_since(reading.evidence))
                    .and_then(|gap| std::time::Duration::try_from(gap).ok())
                    .unwrap_or(self.ctx.config.clock_recheck);
                let floor = std::time::Duration::from_millis(1);
                delay = behind.clamp(floor, self.ctx.config.clock_recheck.max(floor));
                // Nor past another job's next tick.
                let others = sleep_for(
                    &*self.ctx.clock,
                    self.planner.next_deadline_after(reading.wall),
                    self.ctx.config.clock_recheck,
                );
                delay = delay.min(others.max(floor));
            }
            if !decisions.is_empty() && turn.is_none() && self.ctx.backend.writes_take_turns() {
                // Claims and commits take turns (`WriteTurn`). Decided while the committer
                // wrote, the claim waits for its turn, then is decided afresh: its record is
                // sent as decided, and a run that ended meanwhile changes what overlap asks.
                match self.turn.clone().try_lock_owned() {
                    Ok(guard) => turn = Some(guard),
                    Err(_) => {
                        turn = Some(tokio::select! {
                            biased;
                            _ = self.ctx.stop_requested() => return Ending::Shutdown,
                            reason = self.leadership.revoked() => return Ending::Revoked(reason),
                            guard = self.turn.clone().lock_owned() => guard,
                        });
                        continue;
                    }
                }
            }
            if !decisions.is_empty() {
                let claimed = self.claim(&decisions, reading).await;
                drop(turn.take());
                match claimed {
                    Ok(()) => {
                        backoff = self.ctx.backoff();
                        continue;
                    }
                    Err(Some(end)) => return end,
                    Err(None) => delay = backoff.next_delay(),
                }
            }
            drop(turn.take());
            tokio::select! {
                biased;
                _ = self.ctx.stop_requested() => return Ending::Shutdown,
                reason = self.leadership.revoked() => return Ending::Revoked(reason),
                error = self.specs.found() => return Ending::Superseded(error),
                Some(ended) = self.ended_rx.recv() => {
                    let id = ended.id;
                    self.ended(ended);
                    self.claim_deferred(id).await;
                }
                Some(began) = self.began_rx.recv() => self.began(began),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// The newest claimed tick, if this node's clock reads more than the limit before it.
    fn clock_behind(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let newest = self.planner.newest_claim()?;
        let limit = self.ctx.config.clock_lag_limit;
        let (led_for, ttl) = (self.won_at.elapsed(), self.ctx.config.lease_ttl);
        // Whether an at-least-once run is going matters only to a repeat step-down: the scan of
        // every run is made only when one could be due.
        let repeat_possible = self.stepped_down_for == Some(newest) && led_for >= ttl;
        let at_stake = repeat_possible
            && self
                .running
                .values()
                .flatten()
                .any(|r| r.delivery == Delivery::AtLeastOnce);
        steps_down_for_clock(
            now,
            newest,
            limit,
            self.stepped_down_for,
            led_for,
            ttl,
            at_stake,
        )
        .then_some(newest)
    }

    /// Claims every decision in one batch and acts on it. `Err(None)`: a transient failure, try
    /// again later; `Err(Some(end))`: leadership is over.
    async fn claim(
        &mut self,
        decisions: &[Decision],
        reading: Reading,
    ) -> Result<(), Option<Ending>> {
        let claims: Vec<_> = decisions
            .iter()
            .flat_map(|d| {
                let (id, spec) = self.planner.job(d.job);
                d.claims(id, spec)
            })
            .collect();
        let ctx = self.ctx;
        // Decided across awaits (news, the write turn): a stop that came meanwhile claims
        // nothing more. Checked with no await before the record of the send, so a claim is
        // never sent once the stop is in force.
        if ctx.stopping() {
            return Err(Some(Ending::Shutdown));
        }
        if ctx.config.broken.claim_after_run {
            self.run_then_claim(decisions);
            return Ok(());
        }
        let decided = Decided {
            wall: reading.wall,
            at: Instant::now(),
        };
        ctx.emit(NodeEvent::ClaimsSent {
            token: self.fence.token,
            claims: claims.clone(),
            evidence: Some(ClockEvidence {
                at: reading.evidence,
                witness_age: reading.witness_age,
                witness: reading.witness,
            }),
        });
        let call = ctx.call("claim ticks", ctx.backend.claim(&self.fence, &claims));
        // The runs this claim replaces begin no further tick until it is answered: once the
        // backend applied it, the newer tick is claimed, and a tick begun before the answer
        // arrives would only be cancelled by it.
        self.hold_replaced(decisions, true);
        // A claim may hang until its timeout; a revocation meanwhile ends leadership at once.
        let answer = tokio::select! {
            biased;
            reason = self.leadership.revoked() => Err(reason),
            result = call => Ok(result),
        };
        let result = match answer {
            Ok(result) => result,
            Err(reason) => {
                self.hold_replaced(decisions, false);
                self.note_unanswered(decisions);
                return Err(Some(Ending::Revoked(reason)));
            }
        };
        if result.is_err() {
            self.hold_replaced(decisions, false);
        }
        match result {
            Ok(()) => {}
            Err(Error::Fenced { .. }) => {
                for d in decisions {
                    for run in &d.run {
                        ctx.emit(NodeEvent::TickFencedOut {
                            job: self.jobs[d.job].id.clone(),
                            tick: run.at,
                            token: self.fence.token,
                            operation: FencedOperation::Claim,
                        });
                    }
                }
                return Err(Some(Ending::Refused(
                    "fenced out by a newer leadership".into(),
                )));
            }
            Err(error @ Error::SpecSuperseded { .. }) => {
                return Err(Some(Ending::Superseded(error)))
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(node = %ctx.config.name, %error, "claim failed; retrying");
                // The backend may have applied it: until a later claim is answered, its ticks
                // may be claimed by this leadership and nobody else.
                self.note_unanswered(decisions);
                return Err(None);
            }
            Err(error) => {
                tracing::error!(node = %ctx.config.name, %error, "claim refused; stepping down");
                return Err(Some(Ending::Refused(format!("claim refused: {error}"))));
            }
        }
        // The answered claim settles the ticks it decides; ticks an unanswered claim held that it
        // does not (planned on a clock that has gone back since, retries it no longer retires,
        // or a job nothing is due for now) may still be held by this leadership and nobody else.
        for d in decisions {
            self.unanswered
                .retain(|&(job, tick), _| job != d.job || !d.decides(tick));
        }
        self.planner.advance(decisions);
        for d in decisions {
            self.record_given_up(d);
            self.record(d);
            self.start(d, decided);
        }
        Ok(())
    }

    /// Holds (or releases) the runs of every job a decision replaces (overlap `Replace`).
    fn hold_replaced(&self, decisions: &[Decision], hold: bool) {
        let replaced = decisions.iter().filter(|d| d.cancel_running);
        for d in replaced {
            for running in self.running.get(&d.job).into_iter().flatten() {
                running.hold.send_replace(hold);
            }
        }
    }

    /// Notes the ticks an unanswered claim holds. Each retry is planned afresh and may give up
    /// ticks an earlier attempt claimed (a drop the backend never applied), so the earlier
    /// attempts' ticks stay noted: the backend may have applied any of them.
    fn note_unanswered(&mut self, decisions: &[Decision]) {
        for d in decisions {
            let lost = d.run.iter().map(|r| (r.at, AbandonReason::LeadershipLost));
            let retired = d
                .retired()
                .iter()
                .map(|&at| (at, AbandonReason::DeadlineExceeded));
            for (tick, reason) in lost.chain(retired) {
                self.unanswered.insert((d.job, tick), reason);
            }
        }
    }

    /// The leadership ended with claims unanswered: the backend may have applied any of them, so
    /// every tick they held may be gone. Say so, so no tick vanishes unexplained (where the
    /// backend is observed, the checker knows whether it applied): the ticks they would have run
    /// as lost with the leadership, and the in-flight ticks they retired past their starting
    /// deadline as such (a run of theirs began under an earlier leadership; nothing else would
    /// say why it never ends). The misfires they gave up are named by the drops riding in the
    /// claims, not recorded: a record of a give-up the backend never applied is false. Where the
    /// node stopped, its ticks are given up for the stop (the leadership ends by it).
    fn record_unanswered(&self, stopped: bool) {
        let token = self.fence.token;
        for (&(job, tick), &reason) in &self.unanswered {
            let reason = match reason {
                AbandonReason::LeadershipLost if stopped => AbandonReason::Shutdown,
                other => other,
            };
            self.ctx.emit(NodeEvent::TicksAbandoned {
                job: self.jobs[job].id.clone(),
                first: tick,
                last: tick,
                count: 1,
                reason,
                token,
            });
        }
    }

    /// Records what a decision gives up: abandoned ranges and overlap skips.
    fn record_given_up(&self, d: &Decision) {
        let job = &self.jobs[d.job].id;
        let token = self.fence.token;
        for &tick in &d.skip {
            self.ctx.emit(NodeEvent::TickSkipped {
                job: job.clone(),
                tick,
                reason: SkipReason::Overlap,
                token,
            });
        }
        for a in &d.abandon {
            self.ctx.emit(NodeEvent::TicksAbandoned {
                job: self.jobs[d.job].id.clone(),
                first: a.first,
                last: a.last,
                count: a.count,
                reason: a.reason,
                token: self.fence.token,
            });
        }
    }

    /// Records the ticks a decision claimed, once the backend confirmed the claim.
    fn record(&self, d: &Decision) {
        let job = &self.jobs[d.job].id;
        let token = self.fence.token;
        for run in &d.run {
            self.ctx.emit(NodeEvent::TickClaimed {
                job: job.clone(),
                tick: run.at,
                token,
                attempt: run.attempt,
            });
        }
    }

    /// Known-bad variant: start the runs now and claim each execution's ticks when it ends.
    fn run_then_claim(&mut self, decisions: &[Decision]) {
        self.planner.advance(decisions);
        for d in decisions {
            let (id, spec) = self.planner.job(d.job);
            let claims = d.claims(id, spec);
            self.record_given_up(d);
            self.record(d);
            match self.start(d, Decided::now(self.ctx.clock.now())).last() {
                Some(execution) => {
                    self.deferred.insert(*execution, claims);
                }
                None => {
                    self.deferred.insert(u64::MAX, claims);
                }
            }
        }
    }

    async fn claim_deferred(&mut self, execution: u64) {
        let mut claims = self.deferred.remove(&execution).unwrap_or_default();
        claims.extend(self.deferred.remove(&u64::MAX).unwrap_or_default());
        if claims.is_empty() {
            return;
        }
        let ctx = self.ctx;
        let _ = ctx
            .call("claim ticks", ctx.backend.claim(&self.fence, &claims))
            .await;
    }

    /// Starts the executions a decision calls for; returns their ids.
    fn start(&mut self, d: &Decision, decided: Decided) -> Vec<u64> {
        let mut started = Vec::new();
        if d.cancel_running {
            for running in self.running.remove(&d.job).unwrap_or_default() {
                running.cancel.send_replace(Some(AbandonReason::Replaced));
            }
        }
        let job = &self.jobs[d.job];
        let batches: Vec<Vec<_>> = if d.sequential(&job.spec) {
            vec![d.run.clone()]
        } else {
            d.run.iter().map(|r| vec![*r]).collect()
        };
        let committer = (job.spec.delivery == Delivery::AtLeastOnce).then(|| self.committer());
        for ticks in batches.into_iter().filter(|t| !t.is_empty()) {
            let (cancel, cancel_rx) = signal::channel(None);
            let (hold, held) = signal::channel(false);
            let (done_tx, done) = signal::channel(false);
            let id = self.next_execution;
            self.next_execution += 1;
            let execution = Execution {
                ctx: self.ctx.clone(),
                job: job.clone(),
                job_idx: d.job,
                id,
                fence: self.fence.clone(),
                ticks,
                decided,
                cancel: cancel_rx,
                held,
                revoked: self.leadership.revocation_signal(),
                proof: self.leadership.proof_signal(),
                committer: committer.clone(),
                began: self.began_tx.clone(),
                ended: self.ended_tx.clone(),
                done: done_tx,
            };
            self.running.entry(d.job).or_default().push(Running {
                id,
                done,
                delivery: job.spec.delivery,
                cancel,
                hold,
                began: false,
            });
            tokio::spawn(execution.run());
            started.push(id);
        }
        started
    }

    /// The leadership's committer, started the first time a run needs it.
    fn committer(&mut self) -> Committer {
        let (ctx, fence, turn) = (self.ctx, &self.fence, &self.turn);
        let revoked = || self.leadership.revocation_signal();
        let start = || Committer::start(ctx.clone(), fence.clone(), revoked(), turn.clone());
        self.committer.get_or_insert_with(start).clone()
    }

    fn ended(&mut self, ended: Ended) {
        if let Some(list) = self.running.get_mut(&ended.job) {
            if let Some(at) = list.iter().position(|r| r.id == ended.id) {
                let running = list.remove(at);
                self.planner.finished(ended.job, running.began);
            }
            if list.is_empty() {
                self.running.remove(&ended.job);
            }
        }
    }

    /// An execution's first command is about to begin: its job now has a run in progress.
    /// Looked up by its job: a search of every job's runs, per run begun, once made a leader of
    /// 10,000 jobs spend a third of its time here.
    fn began(&mut self, (job, execution): (usize, u64)) {
        let mut list = self.running.get_mut(&job).into_iter().flatten();
        if let Some(running) = list.find(|r| r.id == execution && !r.began) {
            running.began = true;
            self.planner.began(job);
        }
    }

    /// Takes in every execution's news that arrived while the loop was busy (claiming), so the
    /// planner decides about overlap from runs as they are now, not as they were.
    async fn take_in_news(&mut self) {
        while let Ok(began) = self.began_rx.try_recv() {
            self.began(began);
        }
        while let Ok(ended) = self.ended_rx.try_recv() {
            let id = ended.id;
            self.ended(ended);
            self.claim_deferred(id).await;
        }
    }

    /// Settles the runs as the lifecycle said: lets every run finish within the drain, then
    /// cancels those it names and waits for them to end. The others carry on once the leader is
    /// gone (their cancel signals close without a reason).
    async fn settle(&mut self, runs: RunsAtEnd) {
        if let Some(grace) = runs.drain {
            let deadline = Instant::now() + grace;
            while !self.running.is_empty() {
                tokio::select! {
                    biased;
                    Some(ended) = self.ended_rx.recv() => self.ended(ended),
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
        }
        // The runs that carry on are handed to the node, whose shutdown drains them.
        for list in self.running.values_mut() {
            let (cancelled, carry_on) = std::mem::take(list)
                .into_iter()
                .partition(|running| runs.cancels(running.delivery));
            *list = cancelled;
            let orphans = carry_on.into_iter().map(|r| (r.cancel, r.done));
            self.ctx
                .orphans
                .lock()
                .expect("orphans lock")
                .extend(orphans);
        }
        self.running.retain(|_, list| !list.is_empty());
        for running in self.running.values().flatten() {
            running.cancel.send_replace(Some(runs.reason));
        }
        while !self.running.is_empty() {
            match self.ended_rx.recv().await {
                Some(ended) => self.ended(ended),
                None => break,
            }
        }
    }
}

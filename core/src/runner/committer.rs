//! Group commit: the one [`Committer`] of a leadership, which sends the commits of its
//! at-least-once runs to the backend together.
//!
//! An execution hands its run's commit to its leadership's committer and waits for the answer.
//! The committer sends everything queued while its previous request was in flight as **one**
//! fenced batch (one `CommitsSent` record), one request at a time, and answers every commit of
//! the batch with the batch's result. A catch-up backlog of hundreds of runs finishing at once
//! thus costs the backend a request or two, not hundreds (whose retries once swamped a
//! simulated etcd until every request timed out and claims of other jobs came too late).
//! What to do with the answer stays the execution's: it retries a transient failure under its
//! own rules and records a commit that cannot land. The committer sends nothing for an execution
//! that stopped waiting (its leadership revoked, or the execution dropped) and nothing once the
//! leadership is revoked, as an execution committing alone would not; it ends once the leader
//! and every execution have let go of it. It owns no decision about runs and no retry. Its
//! requests and the leader's claims take turns ([`WriteTurn`]).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::NodeCtx;
use crate::elector::{Fence, Revocation};
use crate::error::{Error, Result};
use crate::event::NodeEvent;
use crate::signal;
use crate::store::Commit;

/// The most jobs one commit batch touches. A batch is one transaction on etcd, of `2n + 2`
/// operations for `n` jobs, and etcd allows 128 per transaction by default (`--max-txn-ops`);
/// a batch of one job (a backlog of one job's runs) is 4 operations whatever its size.
pub(crate) const BATCH_JOBS: usize = 63;

/// A leadership's turn to write: where the backend asks for it
/// ([`crate::store::TickStore::writes_take_turns`]), its claims and its commits go to the
/// backend one at a time. Both compare the checkpoints they change (etcd's fenced
/// transactions), so sent side by side
/// they only refuse each other: the leader's claims of one explorer world (etcd-sim 81091) lost
/// four compares in a row to its own commits, backed off, and a tick came due late enough to be
/// replaced. The turn is taken before the request is timed, so waiting for it never eats into a
/// request's timeout.
pub(crate) type WriteTurn = Arc<tokio::sync::Mutex<()>>;

/// A leadership's committer: a handle executions share (cloning it is cheap).
#[derive(Clone)]
pub(crate) struct Committer {
    queue: mpsc::UnboundedSender<Waiting>,
}

/// A commit waiting for its batch, and where its answer goes.
struct Waiting {
    commit: Commit,
    answer: oneshot::Sender<Result<()>>,
}

impl Committer {
    /// Starts the committer of the leadership `fence`, which sends nothing once `revoked` says
    /// the leadership is lost.
    pub(crate) fn start(
        ctx: Arc<NodeCtx>,
        fence: Fence,
        revoked: signal::Receiver<Option<Revocation>>,
        turn: WriteTurn,
    ) -> Self {
        let (queue, queued) = mpsc::unbounded_channel();
        let batcher = Batcher {
            ctx,
            fence,
            revoked,
            turn,
            queued,
            waiting: VecDeque::new(),
        };
        tokio::spawn(batcher.run());
        Committer { queue }
    }

    /// Commits `commit` with the next batch; the batch's result. Dropping the future withdraws
    /// the commit if its batch has not been sent yet.
    pub(crate) async fn commit(&self, commit: Commit) -> Result<()> {
        let (answer, answered) = oneshot::channel();
        // The committer outlives every handle, so it is gone only when the node's tasks are.
        let gone = |_| Error::ShuttingDown;
        self.queue.send(Waiting { commit, answer }).map_err(gone)?;
        answered.await.map_err(|_| Error::ShuttingDown)?
    }
}

/// The committer's task: gathers what waits, sends it, answers.
struct Batcher {
    ctx: Arc<NodeCtx>,
    fence: Fence,
    revoked: signal::Receiver<Option<Revocation>>,
    /// The leadership's turn to write, shared with its claims.
    turn: WriteTurn,
    queued: mpsc::UnboundedReceiver<Waiting>,
    /// Commits taken off the queue and not yet sent (those a full batch left over).
    waiting: VecDeque<Waiting>,
}

impl Batcher {
    async fn run(mut self) {
        while let Some(batch) = self.next_batch().await {
            self.send(batch).await;
        }
    }

    /// Waits for a commit, then takes everything queued since, up to [`BATCH_JOBS`] jobs; `None`
    /// once nobody can commit any more.
    async fn next_batch(&mut self) -> Option<Vec<Waiting>> {
        loop {
            if self.waiting.is_empty() {
                let first = self.queued.recv().await?;
                self.waiting.push_back(first);
            }
            while let Ok(more) = self.queued.try_recv() {
                self.waiting.push_back(more);
            }
            // An execution that stopped waiting has recorded its commit as not made: sending it
            // now could make that record false.
            self.waiting.retain(|w| !w.answer.is_closed());
            let batch = take_batch(&mut self.waiting, BATCH_JOBS);
            if !batch.is_empty() {
                return Some(batch);
            }
        }
    }

    /// Sends one batch and hands every commit of it the result; sends nothing, and drops the
    /// batch, once the leadership is revoked (its executions stop waiting then).
    async fn send(&self, batch: Vec<Waiting>) {
        let mut revoked = self.revoked.clone();
        let takes_turns = self.ctx.backend.writes_take_turns();
        let _turn = tokio::select! {
            biased;
            _ = revoked.wait_for(|r| r.is_some()) => return,
            turn = self.turn.lock(), if takes_turns => Some(turn),
            _ = std::future::ready(()), if !takes_turns => None,
        };
        let commits: Vec<Commit> = batch.iter().map(|w| w.commit.clone()).collect();
        self.ctx.emit(NodeEvent::CommitsSent {
            token: self.fence.token,
            commits: commits.clone(),
        });
        let ctx = &self.ctx;
        let call = ctx.call("commit runs", ctx.backend.commit(&self.fence, &commits));
        let result = tokio::select! {
            biased;
            _ = revoked.wait_for(|r| r.is_some()) => return,
            result = call => result,
        };
        for waiting in batch {
            // An execution dropped meanwhile no longer hears it; the others do.
            let _ = waiting.answer.send(result.clone());
        }
    }
}

/// Takes the longest run of commits off the front of `waiting` that touches at most `max_jobs`
/// jobs, in the order they came.
fn take_batch(waiting: &mut VecDeque<Waiting>, max_jobs: usize) -> Vec<Waiting> {
    let mut jobs = BTreeSet::new();
    let mut batch = Vec::new();
    while let Some(next) = waiting.front() {
        if jobs.len() == max_jobs && !jobs.contains(&next.commit.job) {
            break;
        }
        jobs.insert(next.commit.job.clone());
        batch.push(waiting.pop_front().expect("the front was just seen"));
    }
    batch
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::elector::{ElectionName, Elector};
    use crate::job::{JobId, JobSpec};
    use crate::memory::{MemoryBackend, MemoryConfig, MemoryHost, Request, Response};
    use crate::memory::{Transport, TransportError};
    use crate::schedule::Schedule;
    use crate::store::{JobRegistry, RunOutcome};

    /// A memory backend's transport that logs every commit batch and holds it until opened.
    struct Gate {
        host: Arc<MemoryHost>,
        open: signal::Sender<bool>,
        batches: Mutex<Vec<Vec<Commit>>>,
    }

    #[async_trait::async_trait]
    impl Transport for Gate {
        async fn call(&self, request: Request) -> Result<Response, TransportError> {
            if let Request::Commit { commits, .. } = &request {
                self.batches.lock().expect("log").push(commits.clone());
                let _ = self.open.subscribe().wait_for(|open| *open).await;
            }
            self.host.call(request).await
        }
    }

    fn tick(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + second).expect("a valid instant")
    }

    fn commit(second: i64) -> Commit {
        Commit {
            job: JobId::new("a").expect("a valid id"),
            tick: tick(second),
            outcome: RunOutcome::Completed,
        }
    }

    /// A committer of a won leadership over a gated memory backend.
    async fn committer(gate: Arc<Gate>) -> Committer {
        let backend = Arc::new(MemoryBackend::over(gate, MemoryConfig::default()));
        let election = ElectionName::new("default");
        let every = jiff::SignedDuration::from_secs(1);
        let spec = JobSpec::new(Schedule::every(tick(0), every).expect("a schedule"));
        let job = (JobId::new("a").expect("a valid id"), spec, election.clone());
        let registered = backend.register(&[job], tick(0)).await;
        assert!(registered.expect("registered")[0].is_ok());
        let session = backend.open_session(Duration::from_secs(10)).await;
        let session = session.expect("a session");
        let leadership = backend.campaign(&session, &election, "test").await;
        let leadership = leadership.expect("won");
        let ctx = NodeCtx::for_tests(backend, Arc::new(crate::event::NoEvents));
        let committer = Committer::start(
            ctx,
            leadership.fence(),
            leadership.revocation_signal(),
            Default::default(),
        );
        // The session keeps the lease alive as long as the test runs.
        std::mem::forget((session, leadership));
        committer
    }

    #[tokio::test]
    async fn commits_waiting_while_a_batch_is_in_flight_go_together_and_a_dropped_one_not_at_all() {
        // The gate logs each request as sent: three commits queued behind the first make one
        // second request, without the one whose execution was dropped, and the two left get
        // their answers although a waiter beside them vanished.
        let gate = Arc::new(Gate {
            host: MemoryHost::new(),
            open: signal::Sender::new(false),
            batches: Mutex::new(Vec::new()),
        });
        let committer = committer(gate.clone()).await;
        let sent = |n: usize| gate.batches.lock().expect("log").len() == n;
        let first = tokio::spawn({
            let committer = committer.clone();
            async move { committer.commit(commit(1)).await }
        });
        while !sent(1) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let queued: Vec<_> = [2, 3, 4]
            .into_iter()
            .map(|second| {
                let committer = committer.clone();
                tokio::spawn(async move { committer.commit(commit(second)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1)).await;
        queued[1].abort();
        tokio::time::sleep(Duration::from_millis(1)).await;
        gate.open.send_replace(true);
        assert_eq!(first.await.expect("joined"), Ok(()));
        for (i, waiter) in queued.into_iter().enumerate().filter(|(i, _)| *i != 1) {
            assert_eq!(waiter.await.expect("joined"), Ok(()), "waiter {i}");
        }
        let mut batches = gate.batches.lock().expect("log").clone();
        // The waiters queued in whatever order the runtime polled them.
        batches[1].sort_by_key(|c| c.tick);
        assert_eq!(batches, vec![vec![commit(1)], vec![commit(2), commit(4)]]);
    }

    fn waiting(job: &str, second: i64) -> (Waiting, oneshot::Receiver<Result<()>>) {
        let (answer, answered) = oneshot::channel();
        let commit = Commit {
            job: JobId::new(job).expect("a valid id"),
            tick: jiff::Timestamp::from_second(second).expect("a valid instant"),
            outcome: RunOutcome::Completed,
        };
        (Waiting { commit, answer }, answered)
    }

    fn jobs(batch: &[Waiting]) -> Vec<String> {
        batch.iter().map(|w| w.commit.job.to_string()).collect()
    }

    #[test]
    fn a_batch_takes_every_waiting_commit_of_its_jobs_in_order() {
        // Many runs of few jobs fit one batch whatever their number: the etcd transaction grows
        // with the jobs it touches, not with the runs.
        let (mut queue, mut answers) = (VecDeque::new(), Vec::new());
        for (i, job) in ["a", "b", "a", "a", "b"].into_iter().enumerate() {
            let (w, answered) = waiting(job, i as i64);
            queue.push_back(w);
            answers.push(answered);
        }
        let batch = take_batch(&mut queue, 2);
        assert_eq!(jobs(&batch), ["a", "b", "a", "a", "b"]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_batch_stops_at_the_first_commit_of_a_job_past_the_limit() {
        // The third job would make the transaction too large: it and everything after it wait
        // for the next batch, so commits are never reordered past each other.
        let (mut queue, mut answers) = (VecDeque::new(), Vec::new());
        for (i, job) in ["a", "b", "c", "a"].into_iter().enumerate() {
            let (w, answered) = waiting(job, i as i64);
            queue.push_back(w);
            answers.push(answered);
        }
        let batch = take_batch(&mut queue, 2);
        assert_eq!(jobs(&batch), ["a", "b"]);
        assert_eq!(jobs(&Vec::from(queue)), ["c", "a"]);
    }
}

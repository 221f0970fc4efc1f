//! Ambiguous commits injected on the client's side of the backend boundary, for backends the
//! harness cannot reach inside (madsim's simulated etcd, a real etcd server).
//!
//! [`FaultyBackend`] wraps any [`Backend`] and plays the ambiguous commits a [`BackendFaults`]
//! switchboard (shared with the world's injector) owes: the next `count` claims or commits go
//! out and take effect, but their answers are discarded, and the caller sees a timeout once its
//! request timeout has passed. Every other call goes straight to the wrapped backend, so a world
//! without the fault is the same as one without the layer.
//!
//! Stuck writes (`delayed_write`) are not played here either, but inside the etcd backend, which
//! builds each claim's transaction from what it read: [`StuckTxns`] is its
//! [`cronfence::etcd::StuckWrites`] hook, holding the transaction built when the write was made
//! (the in-memory backend's transport holds its requests the same way, [`crate::net`]).
//!
//! Latency is not played here: a whole operation started late would read the backend late too,
//! which no slow network does (an etcd claim reads the checkpoint and then sends a transaction
//! that compares with what it read; on a slow network the transaction arrives late, and its
//! comparison fails). The network slows each request instead: madsim's network on etcd-sim
//! ([`crate::inject`]), each node's proxy on real etcd.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::store::{Checkpoint, Claim, Commit, Registration};
use cronfence::{
    Backend, ElectionName, Elector, Error, Fence, JobId, JobRegistry, JobSpec, LeaderInfo,
    Leadership, Result, Session, TickStore,
};
use jiff::Timestamp;

/// Writes of one node held in the network: (how many more, for how long).
pub type HeldWrites = Arc<Mutex<(u32, Duration)>>;

/// Takes one of the writes `held` still owes, if the fault is on: how long to hold it.
pub fn take_held(held: &HeldWrites) -> Option<Duration> {
    let mut held = held.lock().expect("held lock");
    if held.0 == 0 {
        return None;
    }
    held.0 -= 1;
    Some(held.1)
}

/// A node's stuck-packet fault for the etcd backend's claim and commit transactions.
#[derive(Debug)]
pub struct StuckTxns(pub HeldWrites);

impl cronfence::etcd::StuckWrites for StuckTxns {
    fn hold(&self) -> Option<Duration> {
        take_held(&self.0)
    }
}

/// Backend faults in force.
#[derive(Debug, Default)]
pub struct BackendFaults {
    /// Added to every request before it is served (the memory service only: see the module
    /// docs).
    pub latency: Duration,
    /// While set, requests are dropped unanswered and unapplied (the memory service only: the
    /// etcd worlds cut the backend's links instead).
    pub unresponsive: bool,
    /// The next this-many claims/commits are applied but never answered.
    pub ambiguous_writes: u32,
}

/// A backend whose claims and commits meet the ambiguous commits of a shared [`BackendFaults`].
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    faults: Arc<Mutex<BackendFaults>>,
    request_timeout: Duration,
}

impl FaultyBackend {
    /// `inner` behind `faults`; a caller gives up on a spoilt request after `request_timeout`,
    /// as the wrapped backend's own requests do.
    pub fn new(
        inner: Arc<dyn Backend>,
        faults: Arc<Mutex<BackendFaults>>,
        request_timeout: Duration,
    ) -> Self {
        FaultyBackend {
            inner,
            faults,
            request_timeout,
        }
    }

    /// Whether the next write's answer is lost (it takes one of the ambiguous commits owed).
    fn spoils(&self) -> bool {
        let mut faults = self.faults.lock().expect("faults lock");
        let spoilt = faults.ambiguous_writes > 0;
        if spoilt {
            faults.ambiguous_writes -= 1;
        }
        spoilt
    }

    /// Sends `write` (built over the wrapped backend) on a task of its own, so it takes effect
    /// whatever becomes of the caller, and answers the caller with a timeout once its request
    /// timeout has passed. The write gets that long too, as a client's own does: a request it
    /// sent may still land later (a late packet compares what it read when built), but it
    /// builds no new request once its caller has given up. Left unbounded, a write whose
    /// compare failed read the checkpoints again and rebuilt itself on them, so an older write
    /// could land after a newer one of the same leadership, which no client does (hostile
    /// review of etcd-sim 192577).
    async fn spoilt<F>(
        &self,
        operation: &'static str,
        write: impl FnOnce(Arc<dyn Backend>) -> F,
    ) -> Result<()>
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let (write, timeout) = (write(self.inner.clone()), self.request_timeout);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(timeout, write).await;
        });
        tokio::time::sleep(self.request_timeout).await;
        Err(Error::BackendTimeout {
            backend: self.inner.name(),
            operation,
            after: self.request_timeout,
        })
    }
}

#[async_trait::async_trait]
impl Elector for FaultyBackend {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn open_session(&self, ttl: Duration) -> Result<Session> {
        self.inner.open_session(ttl).await
    }

    async fn close_session(&self, session: &Session) -> Result<()> {
        self.inner.close_session(session).await
    }

    async fn campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<Leadership> {
        self.inner.campaign(session, election, value).await
    }

    async fn resign(&self, leadership: &Leadership) -> Result<()> {
        self.inner.resign(leadership).await
    }

    async fn withdraw(&self, session: &Session, election: &ElectionName) -> Result<()> {
        self.inner.withdraw(session, election).await
    }

    async fn withdraw_predecessors(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<()> {
        self.inner
            .withdraw_predecessors(session, election, value)
            .await
    }

    async fn leader(&self, election: &ElectionName) -> Result<Option<LeaderInfo>> {
        self.inner.leader(election).await
    }

    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<&LeaderInfo>,
    ) -> Result<Option<LeaderInfo>> {
        self.inner.observe(election, seen).await
    }
}

#[async_trait::async_trait]
impl TickStore for FaultyBackend {
    async fn checkpoints(&self, jobs: &[JobId]) -> Result<Vec<Checkpoint>> {
        self.inner.checkpoints(jobs).await
    }

    async fn claim(&self, fence: &Fence, claims: &[Claim]) -> Result<()> {
        if !self.spoils() {
            return self.inner.claim(fence, claims).await;
        }
        let (fence, claims) = (fence.clone(), claims.to_vec());
        self.spoilt("claim", |inner| async move {
            inner.claim(&fence, &claims).await
        })
        .await
    }

    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()> {
        if !self.spoils() {
            return self.inner.commit(fence, commits).await;
        }
        let (fence, commits) = (fence.clone(), commits.to_vec());
        self.spoilt("commit", |inner| async move {
            inner.commit(&fence, &commits).await
        })
        .await
    }

    fn writes_take_turns(&self) -> bool {
        self.inner.writes_take_turns()
    }
}

#[async_trait::async_trait]
impl JobRegistry for FaultyBackend {
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec, ElectionName)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>> {
        self.inner.register(jobs, now).await
    }

    async fn spec_versions(&self, jobs: &[JobId]) -> Result<Vec<u64>> {
        self.inner.spec_versions(jobs).await
    }
}

#[cfg(all(test, madsim))]
mod tests {
    use super::*;
    use cronfence::{ClaimKind, MemoryBackend, Schedule};

    /// A leader of election `e` over an in-memory backend behind `faults` (request timeout
    /// 1 s), job `j` registered: (the faulty client, the plain one, the leader's fence).
    async fn leader(faults: Arc<Mutex<BackendFaults>>) -> (FaultyBackend, Arc<dyn Backend>, Fence) {
        let plain: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let client = FaultyBackend::new(plain.clone(), faults, Duration::from_secs(1));
        let start = Timestamp::UNIX_EPOCH;
        let schedule = Schedule::every(start, jiff::SignedDuration::from_secs(10)).unwrap();
        let election = ElectionName::new("e");
        let job = (
            JobId::new("j").unwrap(),
            JobSpec::new(schedule),
            election.clone(),
        );
        client.register(&[job], start).await.unwrap();
        let session = client.open_session(Duration::from_secs(30)).await.unwrap();
        let leadership = client.campaign(&session, &election, "a").await.unwrap();
        std::mem::forget(session);
        (client, plain, leadership.fence())
    }

    fn claim(secs: i64) -> Claim {
        Claim {
            job: JobId::new("j").unwrap(),
            tick: Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(secs),
            spec_version: 1,
            kind: ClaimKind::Run { attempt: 1 },
        }
    }

    async fn last_claimed(plain: &Arc<dyn Backend>) -> Option<Timestamp> {
        let jobs = [JobId::new("j").unwrap()];
        plain.checkpoints(&jobs).await.unwrap()[0].last_claimed
    }

    #[test]
    fn an_ambiguous_commit_is_applied_and_its_caller_times_out() {
        madsim::runtime::Runtime::new().block_on(async {
            let faults: Arc<Mutex<BackendFaults>> = Default::default();
            let (client, plain, fence) = leader(faults.clone()).await;
            faults.lock().unwrap().ambiguous_writes = 1;
            let sent = tokio::time::Instant::now();
            let answer = client.claim(&fence, &[claim(10)]).await;
            assert!(
                matches!(answer, Err(Error::BackendTimeout { .. })),
                "{answer:?}"
            );
            assert!(sent.elapsed() >= Duration::from_secs(1));
            assert_eq!(last_claimed(&plain).await, Some(claim(10).tick));
            // One write was owed: the next is answered.
            client.claim(&fence, &[claim(20)]).await.unwrap();
        });
    }
}

//! Backend faults injected on the client's side of the backend boundary, for backends the harness
//! cannot reach inside (madsim's simulated etcd, a real etcd server).
//!
//! [`FaultyBackend`] wraps any [`Backend`] and plays the faults of a [`BackendFaults`] switchboard
//! the world shares with its injector:
//! - **latency**: each request waits `latency` before it goes out; a fenced write or registry
//!   request still goes out and takes effect however late, while its caller gives up after its
//!   request timeout (a slow backend, not a lost request);
//! - **ambiguous commits**: the next `count` claims or commits go out and take effect, but their
//!   answers are discarded: the caller sees a timeout once its request timeout has passed.
//!
//! The session's own lease keepalives do not pass through this layer and are not delayed. With
//! no fault in force every call goes straight to the wrapped backend, so a world without these
//! faults is the same as one without the layer.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::store::{Checkpoint, Claim, Commit, Registration};
use cronfence::{
    Backend, ElectionName, Elector, Error, Fence, JobId, JobRegistry, JobSpec, LeaderInfo,
    Leadership, Result, Session, TickStore,
};
use jiff::Timestamp;

/// Backend faults in force.
#[derive(Debug, Default)]
pub struct BackendFaults {
    /// Added to every request before it is served.
    pub latency: Duration,
    /// While set, requests are dropped unanswered and unapplied (the memory service only: the
    /// etcd worlds cut the backend's links instead).
    pub unresponsive: bool,
    /// The next this-many claims/commits are applied but never answered.
    pub ambiguous_writes: u32,
}

/// The faults a request meets: its latency, and whether its answer is lost.
struct Met {
    latency: Duration,
    ambiguous: bool,
}

/// A backend whose requests meet the faults of a shared [`BackendFaults`].
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    faults: Arc<Mutex<BackendFaults>>,
    request_timeout: Duration,
}

impl FaultyBackend {
    /// `inner` behind `faults`; a caller gives up on a slowed or spoilt request after
    /// `request_timeout`, as the wrapped backend's own requests do.
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

    /// The faults the next request meets, or `None` when none is in force; a write takes one of
    /// the ambiguous commits owed.
    fn meet(&self, write: bool) -> Option<Met> {
        let mut faults = self.faults.lock().expect("faults lock");
        let ambiguous = write && faults.ambiguous_writes > 0;
        if ambiguous {
            faults.ambiguous_writes -= 1;
        }
        let latency = faults.latency;
        (ambiguous || !latency.is_zero()).then_some(Met { latency, ambiguous })
    }

    fn timed_out(&self, operation: &'static str) -> Error {
        Error::BackendTimeout {
            backend: self.inner.name(),
            operation,
            after: self.request_timeout,
        }
    }

    /// Sends `request` (built over the wrapped backend) after `met.latency`, on a task of its
    /// own, so it takes effect whenever it arrives; answers the caller within its request
    /// timeout, or never when `met` spoils the answer.
    async fn sent<T, F>(
        &self,
        operation: &'static str,
        met: Met,
        request: impl FnOnce(Arc<dyn Backend>) -> F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let call = request(self.inner.clone());
        let latency = met.latency;
        let in_flight = tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            call.await
        });
        if met.ambiguous {
            tokio::time::sleep(self.request_timeout).await;
            return Err(self.timed_out(operation));
        }
        match tokio::time::timeout(self.request_timeout, in_flight).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(failed)) if failed.is_panic() => panic!("a request to the backend panicked"),
            Ok(Err(_)) | Err(_) => Err(self.timed_out(operation)),
        }
    }

    /// Runs a request that cannot be sent on its own task (it borrows the caller's session)
    /// after `latency`, bounded by the request timeout when `bounded`.
    async fn delayed<T>(
        &self,
        operation: &'static str,
        bounded: bool,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(met) = self.meet(false) else {
            return call.await;
        };
        let late = async move {
            tokio::time::sleep(met.latency).await;
            call.await
        };
        if !bounded {
            return late.await;
        }
        tokio::time::timeout(self.request_timeout, late)
            .await
            .unwrap_or_else(|_| Err(self.timed_out(operation)))
    }
}

#[async_trait::async_trait]
impl Elector for FaultyBackend {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn open_session(&self, ttl: Duration) -> Result<Session> {
        self.delayed("open session", true, self.inner.open_session(ttl))
            .await
    }

    async fn close_session(&self, session: &Session) -> Result<()> {
        let call = self.inner.close_session(session);
        self.delayed("close session", true, call).await
    }

    async fn campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<Leadership> {
        let call = self.inner.campaign(session, election, value);
        self.delayed("campaign", false, call).await
    }

    async fn resign(&self, leadership: &Leadership) -> Result<()> {
        let Some(met) = self.meet(false) else {
            return self.inner.resign(leadership).await;
        };
        let leadership = leadership.clone();
        self.sent("resign", met, |inner| async move {
            inner.resign(&leadership).await
        })
        .await
    }

    async fn withdraw(&self, session: &Session, election: &ElectionName) -> Result<()> {
        let call = self.inner.withdraw(session, election);
        self.delayed("withdraw", true, call).await
    }

    async fn leader(&self, election: &ElectionName) -> Result<Option<LeaderInfo>> {
        self.delayed("leader", true, self.inner.leader(election))
            .await
    }

    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<&LeaderInfo>,
    ) -> Result<Option<LeaderInfo>> {
        let call = self.inner.observe(election, seen);
        self.delayed("observe", false, call).await
    }
}

#[async_trait::async_trait]
impl TickStore for FaultyBackend {
    async fn checkpoints(&self, jobs: &[JobId]) -> Result<Vec<Checkpoint>> {
        self.delayed("read checkpoints", true, self.inner.checkpoints(jobs))
            .await
    }

    async fn claim(&self, fence: &Fence, claims: &[Claim]) -> Result<()> {
        let Some(met) = self.meet(true) else {
            return self.inner.claim(fence, claims).await;
        };
        let (fence, claims) = (fence.clone(), claims.to_vec());
        self.sent("claim", met, |inner| async move {
            inner.claim(&fence, &claims).await
        })
        .await
    }

    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()> {
        let Some(met) = self.meet(true) else {
            return self.inner.commit(fence, commits).await;
        };
        let (fence, commits) = (fence.clone(), commits.to_vec());
        self.sent("commit", met, |inner| async move {
            inner.commit(&fence, &commits).await
        })
        .await
    }
}

#[async_trait::async_trait]
impl JobRegistry for FaultyBackend {
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec, ElectionName)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>> {
        let Some(met) = self.meet(false) else {
            return self.inner.register(jobs, now).await;
        };
        let jobs = jobs.to_vec();
        self.sent("register", met, |inner| async move {
            inner.register(&jobs, now).await
        })
        .await
    }

    async fn spec_versions(&self, jobs: &[JobId]) -> Result<Vec<u64>> {
        self.delayed("read spec versions", true, self.inner.spec_versions(jobs))
            .await
    }
}

#[cfg(test)]
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

    #[test]
    fn a_slow_request_times_out_and_still_lands_late() {
        madsim::runtime::Runtime::new().block_on(async {
            let faults: Arc<Mutex<BackendFaults>> = Default::default();
            let (client, plain, fence) = leader(faults.clone()).await;
            faults.lock().unwrap().latency = Duration::from_secs(3);
            let answer = client.claim(&fence, &[claim(10)]).await;
            assert!(
                matches!(answer, Err(Error::BackendTimeout { .. })),
                "{answer:?}"
            );
            assert_eq!(last_claimed(&plain).await, None);
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert_eq!(last_claimed(&plain).await, Some(claim(10).tick));
            // Under the timeout, a slow request is simply late.
            faults.lock().unwrap().latency = Duration::from_millis(300);
            let sent = tokio::time::Instant::now();
            client.claim(&fence, &[claim(20)]).await.unwrap();
            assert!(sent.elapsed() >= Duration::from_millis(300));
        });
    }
}

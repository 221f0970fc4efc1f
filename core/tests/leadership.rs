//! Leadership behaviours that need time to pass, run in the simulator (deterministic, instant).
//!
//! Each test drives real `Node`s on the in-memory backend and reads the outcome from what the
//! commands executed or what the backend was asked, so the assertions cannot be satisfied by the
//! runner merely claiming to behave. Rerun one with `MADSIM_TEST_SEED=<seed>`.
#![cfg(madsim)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::memory::{MemoryConfig, MemoryHost, Request, Response, Transport, TransportError};
use cronfence::{
    Elector, Error, Job, JobId, MemoryBackend, Node, NodeConfig, NodeEvent, Schedule, TickStore,
};
use jiff::{SignedDuration, Timestamp};

/// A transport to an in-process host that counts claim calls and can be cut off.
struct Wire {
    host: Arc<MemoryHost>,
    cut: AtomicBool,
    claim_batches: Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl Transport for Wire {
    async fn call(&self, request: Request) -> Result<Response, TransportError> {
        if self.cut.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        if let Request::Claim { claims, .. } = &request {
            self.claim_batches.lock().unwrap().push(claims.len());
        }
        Ok(self.host.serve(request).await)
    }
}

fn wire(host: &Arc<MemoryHost>) -> Arc<Wire> {
    Arc::new(Wire {
        host: host.clone(),
        cut: AtomicBool::new(false),
        claim_batches: Default::default(),
    })
}

fn backend(wire: &Arc<Wire>) -> MemoryBackend {
    MemoryBackend::over(wire.clone(), MemoryConfig::default())
}

type Runs = Arc<Mutex<Vec<(String, JobId, Timestamp)>>>;

fn job(id: &str, runs: &Runs, node: &str, version: u64) -> Job {
    let (runs, node) = (runs.clone(), node.to_string());
    let anchor: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let schedule = Schedule::every(anchor, SignedDuration::from_secs(1)).unwrap();
    Job::new(
        JobId::new(id).unwrap(),
        schedule,
        move |tick: cronfence::TickContext| {
            let (runs, node) = (runs.clone(), node.clone());
            async move {
                runs.lock()
                    .unwrap()
                    .push((node, tick.job, tick.scheduled_at));
                Ok::<(), std::io::Error>(())
            }
        },
    )
    .version(version)
}

fn config(name: &str) -> NodeConfig {
    let mut config = NodeConfig::new(name);
    config.lease_ttl = Duration::from_secs(3);
    config
}

#[tokio::test]
async fn ten_thousand_jobs_due_together_are_claimed_in_one_round_trip() {
    // All jobs share an anchor, so at every second 10,000 ticks fall due at once; the backend must
    // see one claim call per second carrying all of them, not 10,000 calls.
    let host = MemoryHost::new();
    let wire = wire(&host);
    let runs: Runs = Default::default();
    let mut node = Node::new(config("a"), backend(&wire));
    for i in 0..10_000 {
        node = node.job(job(&format!("job-{i}"), &runs, "a", 1)).unwrap();
    }
    let mut node = node.start();
    node.ready().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let batches = wire.claim_batches.lock().unwrap().clone();
    assert!(batches.len() >= 5, "{batches:?}");
    assert!(
        batches.iter().all(|&n| n == 10_000),
        "one batch per instant: {batches:?}"
    );
    assert_eq!(runs.lock().unwrap().len(), batches.len() * 10_000);
    node.shutdown().await;
}

#[tokio::test]
async fn a_leader_cut_off_from_the_backend_stops_running_jobs_within_its_ttl() {
    // Once the leader cannot renew its lease it cannot prove leadership: it must stop starting
    // ticks no later than one TTL after its last successful renewal, and say so.
    let host = MemoryHost::new();
    let wire = wire(&host);
    let runs: Runs = Default::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut node = Node::new(config("a"), backend(&wire))
        .events(Arc::new(move |e: &NodeEvent| {
            sink.lock().unwrap().push(e.clone())
        }))
        .job(job("j", &runs, "a", 1))
        .unwrap()
        .start();
    node.ready().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    wire.cut.store(true, Ordering::SeqCst);
    let cut_at = Timestamp::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let last_run = runs.lock().unwrap().last().unwrap().2;
    assert!(
        last_run <= cut_at + SignedDuration::from_secs(3),
        "ran {last_run} after the cut at {cut_at}"
    );
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::LeadershipRevoked { .. })),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, NodeEvent::BackendUnreachable { .. })));
    assert!(matches!(
        node.status().unreachable,
        Some(Error::BackendUnreachable { .. })
    ));
}

#[tokio::test]
async fn a_newer_spec_version_takes_the_job_from_a_running_older_leader() {
    // "a" leads with version 1; "b" deploys version 2. a's next claim is refused as superseded,
    // a steps out of the election, and b runs the job from then on — never both at one tick.
    let host = MemoryHost::new();
    let runs: Runs = Default::default();
    let mut a = Node::new(config("a"), MemoryBackend::with_host(host.clone()))
        .job(job("j", &runs, "a", 1))
        .unwrap()
        .start();
    a.ready().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut b = Node::new(config("b"), MemoryBackend::with_host(host.clone()))
        .job(job("j", &runs, "b", 2))
        .unwrap()
        .start();
    b.ready().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rejected = a.status().rejected;
    assert!(
        matches!(
            rejected.as_slice(),
            [Error::SpecSuperseded {
                registered: 2,
                local: 1,
                ..
            }]
        ),
        "{rejected:?}"
    );
    let runs = runs.lock().unwrap();
    let switched = runs
        .iter()
        .position(|(n, _, _)| n == "b")
        .expect("b took over");
    assert!(
        runs[switched..].iter().all(|(n, _, _)| n == "b"),
        "a ran after b took over: {runs:?}"
    );
    let mut ticks: Vec<_> = runs.iter().map(|r| r.2).collect();
    ticks.dedup();
    assert_eq!(ticks.len(), runs.len(), "no tick ran twice: {runs:?}");
}

#[tokio::test]
async fn a_stale_leadership_is_fenced_out() {
    // Leader one's lease expires and leader two wins; a claim with one's fence must be refused.
    let backend = MemoryBackend::new();
    let election = cronfence::ElectionName::new("g");
    let s1 = backend.open_session(Duration::from_secs(1)).await.unwrap();
    let one = backend.campaign(&s1, &election, "one").await.unwrap();
    drop(s1); // stops the keepalive, like a paused process
    let s2 = backend.open_session(Duration::from_secs(10)).await.unwrap();
    let two = backend.campaign(&s2, &election, "two").await.unwrap();
    assert!(two.token > one.token);
    let error = backend.claim(&one.fence(), &[]).await.unwrap_err();
    assert!(
        matches!(error, Error::Fenced { current: Some(t), .. } if t == two.token),
        "{error:?}"
    );
    backend
        .claim(&two.fence(), &[])
        .await
        .expect("the current leadership may claim");
}

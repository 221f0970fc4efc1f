//! A node whose backend does not answer reports a typed error within the configured bound and
//! keeps retrying — the opposite of go-micro's silent forever-hang with etcd missing.
//!
//! The backend here is a memory-backend client whose transport never delivers anything (a
//! black-holed network) or refuses at once (connection refused). The assertion measures time on
//! the runtime's clock, so it proves the bound, not just that an error eventually appears.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::memory::{MemoryConfig, Request, Response, Transport, TransportError};
use cronfence::{Error, Job, JobId, MemoryBackend, Node, NodeConfig, NodeEvent, Schedule};
use jiff::SignedDuration;
use tokio::time::Instant;

struct BlackHole;

#[async_trait::async_trait]
impl Transport for BlackHole {
    async fn call(&self, _request: Request) -> Result<Response, TransportError> {
        std::future::pending().await
    }
}

struct Refused;

#[async_trait::async_trait]
impl Transport for Refused {
    async fn call(&self, _request: Request) -> Result<Response, TransportError> {
        Err(TransportError("connection refused (127.0.0.1:2379)".into()))
    }
}

fn node(
    transport: Arc<dyn Transport>,
    bound: Duration,
    events: Arc<Mutex<Vec<NodeEvent>>>,
) -> Node {
    let backend = MemoryBackend::over(transport, MemoryConfig::default());
    let mut config = NodeConfig::new("lonely");
    config.unreachable_after = bound;
    config.request_timeout = bound / 4;
    let schedule = Schedule::every(
        "2026-01-01T00:00:00Z".parse().unwrap(),
        SignedDuration::from_secs(1),
    )
    .unwrap();
    let job = Job::new(JobId::new("tick").unwrap(), schedule, |_| async {
        Ok::<(), std::io::Error>(())
    });
    Node::new(config, backend)
        .events(Arc::new(move |e: &NodeEvent| {
            events.lock().unwrap().push(e.clone())
        }))
        .job(job)
        .unwrap()
}

async fn reports_within_bound(transport: Arc<dyn Transport>) {
    let bound = Duration::from_millis(800);
    let events = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut running = node(transport, bound, events.clone()).start();
    let error = tokio::time::timeout(bound * 2, running.ready())
        .await
        .expect("ready() must answer, not hang")
        .expect_err("an unreachable backend is an error");
    let waited = started.elapsed();
    assert!(
        matches!(error, Error::BackendUnreachable { .. }),
        "{error:?}"
    );
    assert!(
        waited >= bound,
        "reported after {waited:?}, before the bound {bound:?}"
    );
    assert!(
        waited < bound + Duration::from_millis(100),
        "reported after {waited:?}, bound {bound:?}"
    );
    assert!(error.to_string().contains("still retrying"), "{error}");
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, NodeEvent::BackendUnreachable { .. })));
    running.shutdown().await;
}

#[tokio::test]
async fn a_black_holed_backend_is_reported_within_the_bound() {
    reports_within_bound(Arc::new(BlackHole)).await;
}

#[tokio::test]
async fn a_refusing_backend_is_reported_within_the_bound() {
    reports_within_bound(Arc::new(Refused)).await;
}

//! A job's registration time is its node's start, not the moment the backend first answered.
//!
//! The registry's registration time is where a never-run job's ticks begin: ticks before it are
//! never caught up on. A node whose backend is down when it starts keeps retrying its
//! registration; the ticks that fall due meanwhile belong to the job as much as later ones, so
//! they must be caught up once it leads (the explorer found them lost without a record). The
//! backend here is an in-process memory host behind a transport that refuses every call until a
//! given instant on the runtime's clock.

use std::sync::Arc;
use std::time::Duration;

use cronfence::memory::{MemoryConfig, MemoryHost, Request, Response, Transport, TransportError};
use cronfence::{Job, JobId, MemoryBackend, Node, NodeConfig, Schedule, TickStore};
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

/// Refuses every call before `until`, then serves them from `host`.
struct DownUntil {
    until: Instant,
    host: Arc<MemoryHost>,
}

#[async_trait::async_trait]
impl Transport for DownUntil {
    async fn call(&self, request: Request) -> Result<Response, TransportError> {
        if Instant::now() < self.until {
            return Err(TransportError("connection refused (backend down)".into()));
        }
        self.host.call(request).await
    }
}

#[tokio::test]
async fn a_job_registered_after_an_outage_is_registered_as_of_its_nodes_start() {
    // The backend is down for the first 3 s; had the node recorded the time registration
    // succeeded, `registered_at` would be at least 3 s after the start reading.
    let host = MemoryHost::new();
    let outage = Duration::from_secs(3);
    let transport = DownUntil {
        until: Instant::now() + outage,
        host: host.clone(),
    };
    let backend = MemoryBackend::over(Arc::new(transport), MemoryConfig::default());
    let id = JobId::new("tick").unwrap();
    let schedule = Schedule::every(
        "2026-01-01T00:00:00Z".parse().unwrap(),
        SignedDuration::from_secs(1),
    )
    .unwrap();
    let job = Job::new(id.clone(), schedule, |_| async {
        Ok::<(), std::io::Error>(())
    });
    let mut config = NodeConfig::new("late");
    config.unreachable_after = Duration::from_secs(30);
    let before_start = Timestamp::now();
    let mut node = Node::new(config, backend).job(job).unwrap().start();
    node.ready()
        .await
        .expect("registered once the backend answers");
    let registered = Timestamp::now();
    assert!(registered.duration_since(before_start) >= SignedDuration::try_from(outage).unwrap());
    let checkpoints = MemoryBackend::with_host(host)
        .checkpoints(std::slice::from_ref(&id))
        .await
        .unwrap();
    let registered_at = checkpoints[0].registered_at;
    assert!(
        registered_at >= before_start
            && registered_at < before_start + SignedDuration::from_millis(100),
        "registered at {registered_at}, the node started at {before_start} and registration \
         succeeded at {registered}"
    );
    node.shutdown().await;
}

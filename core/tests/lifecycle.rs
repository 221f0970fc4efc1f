//! Node lifecycle: stopping must end every task of the node, whichever way it is asked for.

use std::time::Duration;

use cronfence::{Job, JobId, MemoryBackend, Node, NodeConfig, Schedule};
use jiff::SignedDuration;

fn node(name: &str, backend: MemoryBackend) -> Node {
    let schedule = Schedule::every(
        "2020-01-01T00:00:00Z".parse().unwrap(),
        SignedDuration::from_millis(100),
    )
    .unwrap();
    let job = Job::new(JobId::new("noop").unwrap(), schedule, |_| async {
        Ok::<(), std::io::Error>(())
    });
    Node::new(NodeConfig::new(name), backend).job(job).unwrap()
}

#[tokio::test]
async fn dropping_the_handle_stops_the_node_and_frees_the_election() {
    // A dropped handle once made the session loop spin forever; now the node stops, resigns,
    // and another node can win the election straight away.
    let backend = MemoryBackend::new();
    let mut a = node("a", backend.clone()).start();
    a.ready().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut status = a.status_signal();
    drop(a);
    tokio::time::timeout(Duration::from_secs(2), status.wait_for(|s| s.stopped))
        .await
        .expect("the node stops within 2 s")
        .unwrap();
    let election = cronfence::ElectionName::new("default");
    use cronfence::Elector;
    assert_eq!(
        backend.leader(&election).await.unwrap(),
        None,
        "a stopped node leads nothing"
    );
}

#[tokio::test]
async fn shutdown_returns_once_everything_has_stopped() {
    let backend = MemoryBackend::new();
    let mut a = node("a", backend.clone()).start();
    a.ready().await.unwrap();
    let status = a.status_signal();
    tokio::time::timeout(Duration::from_secs(2), a.shutdown())
        .await
        .expect("shutdown is bounded");
    assert!(status.borrow().stopped);
}

//! Job-spec registry behaviours: the cure for go-micro's relative-start-time pitfall.
//!
//! Two nodes that compute a job's anchor from their own start time register different
//! definitions under one id; the second must get `JobSpecMismatch` naming both, never a
//! separate election of its own. A deliberate change goes through a higher spec version.

use std::time::Duration;

use cronfence::{Error, Job, JobId, MemoryBackend, Node, NodeConfig, Schedule};
use jiff::{SignedDuration, Timestamp};

fn job(anchor: &str, version: u64) -> Job {
    let anchor: Timestamp = anchor.parse().unwrap();
    let schedule = Schedule::every(anchor, SignedDuration::from_secs(10)).unwrap();
    Job::new(JobId::new("report").unwrap(), schedule, |_| async {
        Ok::<(), std::io::Error>(())
    })
    .version(version)
}

fn config(name: &str) -> NodeConfig {
    let mut config = NodeConfig::new(name);
    config.unreachable_after = Duration::from_millis(500);
    config.request_timeout = Duration::from_millis(200);
    config
}

#[tokio::test]
async fn anchors_a_minute_apart_are_a_job_spec_mismatch_naming_both() {
    // Node b booted a minute after a and anchored "now + 1 minute": the registry must refuse it.
    let backend = MemoryBackend::new();
    let mut a = Node::new(config("a"), backend.clone())
        .job(job("2026-11-25T10:01:00Z", 1))
        .unwrap()
        .start();
    a.ready().await.expect("the first definition is registered");
    let mut b = Node::new(config("b"), backend.clone())
        .job(job("2026-11-25T10:02:00Z", 1))
        .unwrap()
        .start();
    let error = b
        .ready()
        .await
        .expect_err("a different anchor must be refused");
    let Error::JobSpecMismatch {
        job,
        registered,
        local,
    } = &error
    else {
        panic!("expected JobSpecMismatch, got {error:?}");
    };
    assert_eq!(job.as_str(), "report");
    assert_eq!(registered.schedule, job_schedule("2026-11-25T10:01:00Z"));
    assert_eq!(local.schedule, job_schedule("2026-11-25T10:02:00Z"));
    let message = error.to_string();
    assert!(
        message.contains("10:01:00Z") && message.contains("10:02:00Z"),
        "{message}"
    );
    assert!(b.status().rejected.len() == 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_higher_spec_version_wins_and_the_older_node_is_told() {
    let backend = MemoryBackend::new();
    let mut old = Node::new(config("old"), backend.clone())
        .job(job("2026-11-25T10:00:00Z", 1))
        .unwrap()
        .start();
    old.ready().await.unwrap();
    let mut new = Node::new(config("new"), backend.clone())
        .job(job("2026-11-25T10:00:05Z", 2))
        .unwrap()
        .start();
    new.ready().await.expect("version 2 replaces version 1");
    let mut late = Node::new(config("late"), backend.clone())
        .job(job("2026-11-25T10:00:00Z", 1))
        .unwrap()
        .start();
    let error = late.ready().await.expect_err("version 1 is now outdated");
    assert!(
        matches!(
            error,
            Error::SpecSuperseded {
                registered: 2,
                local: 1,
                ..
            }
        ),
        "{error:?}"
    );
    for node in [old, new, late] {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn the_same_job_twice_on_one_node_is_refused() {
    let node = Node::new(config("a"), MemoryBackend::new())
        .job(job("2026-11-25T10:00:00Z", 1))
        .unwrap();
    let error = node.job(job("2026-11-25T10:00:00Z", 1)).err().unwrap();
    assert!(matches!(error, Error::DuplicateJob { .. }));
}

fn job_schedule(anchor: &str) -> Schedule {
    Schedule::every(anchor.parse().unwrap(), SignedDuration::from_secs(10)).unwrap()
}

#[tokio::test]
async fn a_node_that_puts_a_job_in_another_election_is_refused() {
    // Nodes whose group (or election scope) differs would lead different elections, whose
    // tokens are numbered independently: both could hold token 1 and both claim the job's
    // ticks. The registry keeps the first node's election and refuses the other's.
    let backend = MemoryBackend::new();
    let mut a = Node::new(config("a"), backend.clone())
        .job(job("2026-11-25T10:00:00Z", 1))
        .unwrap()
        .start();
    a.ready().await.unwrap();
    let mut other_group = config("b");
    other_group.group = "reports".into();
    let mut per_job = config("c");
    per_job.scope = cronfence::ElectionScope::PerJob;
    for config in [other_group, per_job] {
        let mut node = Node::new(config, backend.clone())
            .job(job("2026-11-25T10:00:00Z", 1))
            .unwrap()
            .start();
        let error = node.ready().await.expect_err("another election is refused");
        let Error::ElectionMismatch {
            job, registered, ..
        } = &error
        else {
            panic!("expected ElectionMismatch, got {error:?}");
        };
        assert_eq!((job.as_str(), registered.as_str()), ("report", "default"));
        node.shutdown().await;
    }
    a.shutdown().await;
}

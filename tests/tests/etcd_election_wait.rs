//! A waiting candidate, and an observer of the leader, hear of a leader's end from their own
//! watch of the election within a round trip, not from the once-a-second re-read that backs it
//! up, on a real etcd server. (etcd's election service serves every `Observe` from one shared
//! in-process watch stream, which can block for good: with it, candidates on a long-running
//! server learned their turn only from the re-read.) Each test ends the leader a moment after
//! the other side began to wait, so a re-read would come at least 0.9 s later than the watch.
#![cfg(not(madsim))]

use std::time::{Duration, Instant};

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::{ElectionName, Elector};
use cronfence_it::etcd::Cluster;

/// How long after the leader's end its successor must know: far below the re-read (1 s).
const PROMPTLY: Duration = Duration::from_millis(500);

/// How long after the other side began to wait the leader ends.
const WAITING: Duration = Duration::from_millis(100);

async fn backend(cluster: &Cluster, prefix: &str) -> EtcdBackend {
    let mut config = EtcdConfig::new(cluster.endpoints());
    config.prefix = prefix.into();
    config.request_timeout = Duration::from_secs(2);
    EtcdBackend::connect(config).await.expect("connects")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_candidate_wins_within_a_round_trip_of_the_leaders_end() {
    let cluster = Cluster::start(1).unwrap();
    let election = ElectionName::new("wait");
    for round in 0..3 {
        let prefix = format!("/election-wait-{round}");
        let (a, b) = (
            backend(&cluster, &prefix).await,
            backend(&cluster, &prefix).await,
        );
        let leader_session = a.open_session(Duration::from_secs(30)).await.unwrap();
        a.campaign(&leader_session, &election, "node-a")
            .await
            .unwrap();
        let waiting_session = b.open_session(Duration::from_secs(30)).await.unwrap();
        let waiting = {
            let (b, election) = (b.clone(), election.clone());
            tokio::spawn(async move {
                let won = b.campaign(&waiting_session, &election, "node-b").await;
                (won.map(|_| ()), Instant::now())
            })
        };
        tokio::time::sleep(WAITING).await;
        assert!(
            !waiting.is_finished(),
            "round {round}: node-b won beside a leader"
        );
        let ended = Instant::now();
        a.close_session(&leader_session).await.unwrap();
        let (won, at) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("node-b wins once the leader's lease is gone")
            .unwrap();
        won.unwrap();
        let after = at.duration_since(ended);
        assert!(
            after < PROMPTLY,
            "round {round}: node-b won {after:?} after the leader's lease was revoked"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_observer_hears_of_the_leaders_end_within_a_round_trip() {
    let cluster = Cluster::start(1).unwrap();
    let election = ElectionName::new("observed");
    let (a, b) = (
        backend(&cluster, "/election-observe").await,
        backend(&cluster, "/election-observe").await,
    );
    let session = a.open_session(Duration::from_secs(30)).await.unwrap();
    a.campaign(&session, &election, "node-a").await.unwrap();
    let seen = b.leader(&election).await.unwrap().expect("node-a leads");
    assert_eq!(seen.value, "node-a");
    let observing = {
        let (b, election, seen) = (b.clone(), election.clone(), seen.clone());
        tokio::spawn(async move {
            let observed = b.observe(&election, Some(&seen)).await;
            (observed, Instant::now())
        })
    };
    tokio::time::sleep(WAITING).await;
    assert!(
        !observing.is_finished(),
        "the observer returned beside a leader it had seen"
    );
    let ended = Instant::now();
    a.close_session(&session).await.unwrap();
    let (observed, at) = observing.await.unwrap();
    assert_eq!(observed.unwrap(), None, "the election has no leader left");
    let after = at.duration_since(ended);
    assert!(
        after < PROMPTLY,
        "the observer heard {after:?} after the leader's lease was revoked"
    );
}

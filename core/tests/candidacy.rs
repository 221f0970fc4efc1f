//! A node's candidacies end when the node is done with them, not when the backend notices: a
//! candidacy an abandoned campaign left is withdrawn, and a session given up as lost still has
//! its lease revoked, so neither holds up the election until a lease expires.
//!
//! The memory tests drive the backend, or a `Node`, over an in-process host; the etcd tests
//! drive the backend call by call beside madsim's simulated etcd server. Rerun one with
//! `MADSIM_TEST_SEED=<seed>`.
#![cfg(madsim)]

#[path = "support/etcd_sim.rs"]
mod etcd_sim;

use etcd_sim::{etcd, with_etcd};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::memory::{MemoryConfig, MemoryHost, Request, Response, Transport, TransportError};
use cronfence::{ElectionName, Elector, Job, JobId, MemoryBackend, Node, NodeConfig, NodeEvent};
use cronfence::{Schedule, TickContext};
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

fn group() -> ElectionName {
    ElectionName::new("g")
}

/// A transport to an in-process host that applies every renewal of the first lease it grants
/// but never answers one: the holder cannot prove the lease the host keeps renewing.
struct MutedRenewals {
    host: Arc<MemoryHost>,
    first_lease: Mutex<Option<u64>>,
}

#[async_trait::async_trait]
impl Transport for MutedRenewals {
    async fn call(&self, request: Request) -> Result<Response, TransportError> {
        let renewed = match &request {
            Request::KeepAlive { lease } => Some(*lease),
            _ => None,
        };
        let response = self.host.serve(request).await;
        let first = {
            let mut first = self.first_lease.lock().unwrap();
            if let Response::Granted { lease } = &response {
                first.get_or_insert(*lease);
            }
            *first
        };
        if renewed.is_some() && renewed == first {
            return std::future::pending().await;
        }
        Ok(response)
    }
}

fn idle_job() -> Job {
    let anchor: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let schedule = Schedule::every(anchor, SignedDuration::from_secs(1)).unwrap();
    Job::new(JobId::new("j").unwrap(), schedule, |_: TickContext| async {
        Ok::<(), std::io::Error>(())
    })
}

#[tokio::test]
async fn a_node_whose_session_was_given_up_leads_again_without_waiting_for_the_old_lease() {
    // The host applies every renewal of the node's first session and their answers are lost: the
    // node gives that session up as unprovable while the host still holds it, renewed a moment
    // before. Unless the node revokes it, its next session's campaign waits behind its own old
    // leadership for most of a TTL (10 s here); revoked, it leads again within a round trip.
    let transport = Arc::new(MutedRenewals {
        host: MemoryHost::new(),
        first_lease: Mutex::new(None),
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut config = NodeConfig::new("a");
    config.lease_ttl = Duration::from_secs(10);
    let backend = MemoryBackend::over(transport, MemoryConfig::default());
    let mut node = Node::new(config, backend)
        .events(Arc::new(move |e: &NodeEvent| {
            sink.lock().unwrap().push((Instant::now(), e.clone()))
        }))
        .job(idle_job())
        .unwrap()
        .start();
    node.ready().await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let events = events.lock().unwrap();
    let revoked_at = events
        .iter()
        .find(|(_, e)| matches!(e, NodeEvent::LeadershipRevoked { .. }))
        .map(|(at, _)| *at)
        .expect("the first session is given up");
    let won_again_at = events
        .iter()
        .find(|(at, e)| *at > revoked_at && matches!(e, NodeEvent::CampaignWon { .. }))
        .map(|(at, _)| *at)
        .expect("the node leads again");
    assert!(
        won_again_at - revoked_at < Duration::from_secs(1),
        "led again {:?} after the session was given up",
        won_again_at - revoked_at
    );
}

#[tokio::test]
async fn a_win_whose_answer_never_arrived_is_given_up_by_withdrawing() {
    // On the memory backend a campaign holds no place in a queue; what an abandoned one can leave
    // is a win the host granted. Withdrawing gives exactly that up (the other session then wins
    // at once), and a withdraw by a session that holds nothing changes nothing.
    let backend = MemoryBackend::with_host(MemoryHost::new());
    let abandoned = backend.open_session(Duration::from_secs(10)).await.unwrap();
    let other = backend.open_session(Duration::from_secs(10)).await.unwrap();
    backend.campaign(&abandoned, &group(), "a").await.unwrap();
    backend.withdraw(&other, &group()).await.unwrap();
    let leader = backend.leader(&group()).await.unwrap().expect("a leads");
    assert_eq!(
        leader.value, "a",
        "a withdraw by a non-holder gives nothing up"
    );
    backend.withdraw(&abandoned, &group()).await.unwrap();
    assert_eq!(backend.leader(&group()).await.unwrap(), None);
    let b = backend.campaign(&other, &group(), "b").await.unwrap();
    assert!(b.token > leader.token);
}

#[madsim::test]
async fn a_withdrawn_waiting_candidacy_lets_the_next_candidate_lead_at_once() {
    // node-b's campaign is dropped while it waits (its node stops), leaving its key older than
    // node-a's. When node-c resigns, that key is the oldest: node-a must still be waiting a
    // while later, which proves the key holds the election; once node-b withdraws, node-a leads
    // within a second, long before node-b's session would end.
    with_etcd(|| async {
        let (a, b, c) = (etcd().await, etcd().await, etcd().await);
        let c_session = c.open_session(Duration::from_secs(10)).await.unwrap();
        let c_leads = c.campaign(&c_session, &group(), "node-c").await.unwrap();
        let b_session = Arc::new(b.open_session(Duration::from_secs(10)).await.unwrap());
        let (b2, s2) = (b.clone(), b_session.clone());
        let dropped = tokio::spawn(async move { b2.campaign(&s2, &group(), "node-b").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        dropped.abort();
        let a_session = Arc::new(a.open_session(Duration::from_secs(10)).await.unwrap());
        let (a2, s2) = (a.clone(), a_session.clone());
        let a_waits = tokio::spawn(async move { a2.campaign(&s2, &group(), "node-a").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.resign(&c_leads).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!a_waits.is_finished(), "node-b's key holds the election");
        b.withdraw(&b_session, &group()).await.unwrap();
        let a_leads = tokio::time::timeout(Duration::from_secs(1), a_waits)
            .await
            .expect("node-a leads once node-b withdrew")
            .unwrap()
            .unwrap();
        let observed = a.leader(&group()).await.unwrap().expect("node-a leads");
        assert_eq!(
            (observed.value.as_str(), observed.token),
            ("node-a", a_leads.token)
        );
        b.withdraw(&b_session, &group()).await.unwrap();
    })
    .await;
}

#[madsim::test]
async fn closing_a_session_whose_lease_is_already_gone_succeeds() {
    // A node closes even a session it gave up as lost, whose lease the server may already have
    // expired or revoked: "lease not found" means the lease is closed, not that closing failed.
    with_etcd(|| async {
        let backend = etcd().await;
        let session = backend.open_session(Duration::from_secs(10)).await.unwrap();
        backend.close_session(&session).await.unwrap();
        backend.close_session(&session).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_restarted_node_withdraws_what_its_crashed_process_left() {
    // node-a's first process leads and crashes (its session is dropped, never closed: its lease
    // lives on). Its next process withdraws its predecessors and leads at once, with a newer
    // token; another node's leadership is never withdrawn.
    let host = MemoryHost::new();
    let backend = MemoryBackend::with_host(host);
    let crashed = backend.open_session(Duration::from_secs(10)).await.unwrap();
    let first = backend
        .campaign(&crashed, &group(), "node-a")
        .await
        .unwrap();
    let crashed_lease = crashed.lease;
    drop(crashed);
    let other = backend.open_session(Duration::from_secs(10)).await.unwrap();
    backend
        .withdraw_predecessors(&other, &group(), "node-b")
        .await
        .unwrap();
    let leader = backend
        .leader(&group())
        .await
        .unwrap()
        .expect("node-a leads");
    assert_eq!(leader.value, "node-a", "node-b withdraws nothing of node-a");
    let restarted = backend.open_session(Duration::from_secs(10)).await.unwrap();
    assert_ne!(restarted.lease, crashed_lease);
    backend
        .withdraw_predecessors(&restarted, &group(), "node-a")
        .await
        .unwrap();
    assert_eq!(backend.leader(&group()).await.unwrap(), None);
    let again = tokio::time::timeout(
        Duration::from_secs(1),
        backend.campaign(&restarted, &group(), "node-a"),
    )
    .await
    .expect("leads long before the old lease would expire")
    .unwrap();
    assert!(again.token > first.token);
    backend
        .withdraw_predecessors(&restarted, &group(), "node-a")
        .await
        .unwrap();
    let leader = backend
        .leader(&group())
        .await
        .unwrap()
        .expect("node-a leads");
    assert_eq!(
        leader.token, again.token,
        "its own session is never withdrawn"
    );
}

#[madsim::test]
async fn on_etcd_a_restarted_node_withdraws_what_its_crashed_process_left() {
    // node-a's first process leads and crashes, node-b waits behind it. node-a's next process
    // withdraws its predecessor: the dead key goes, node-b leads within a second (not after the
    // 10 s lease), and node-a's new key waits behind node-b, untouched by node-b's own withdraw.
    with_etcd(|| async {
        let (a, b) = (etcd().await, etcd().await);
        let crashed = a.open_session(Duration::from_secs(10)).await.unwrap();
        a.campaign(&crashed, &group(), "node-a").await.unwrap();
        drop(crashed);
        let b_session = Arc::new(b.open_session(Duration::from_secs(10)).await.unwrap());
        b.withdraw_predecessors(&b_session, &group(), "node-b")
            .await
            .unwrap();
        let (b2, s2) = (b.clone(), b_session.clone());
        let b_waits = tokio::spawn(async move { b2.campaign(&s2, &group(), "node-b").await });
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            !b_waits.is_finished(),
            "the crashed process's key holds the election"
        );
        let restarted = a.open_session(Duration::from_secs(10)).await.unwrap();
        a.withdraw_predecessors(&restarted, &group(), "node-a")
            .await
            .unwrap();
        let b_leads = tokio::time::timeout(Duration::from_secs(1), b_waits)
            .await
            .expect("node-b leads once the dead key is withdrawn")
            .unwrap()
            .unwrap();
        let (a2, s2) = (a.clone(), Arc::new(restarted));
        let a_waits = tokio::spawn(async move { a2.campaign(&s2, &group(), "node-a").await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.withdraw_predecessors(&b_session, &group(), "node-b")
            .await
            .unwrap();
        let observed = b.leader(&group()).await.unwrap().expect("node-b leads");
        assert_eq!(
            (observed.value.as_str(), observed.token),
            ("node-b", b_leads.token)
        );
        b.resign(&b_leads).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), a_waits)
            .await
            .expect("node-a's new key stood behind node-b")
            .unwrap()
            .unwrap();
    })
    .await;
}

//! A stuck write on etcd (`delayed_write` through the etcd backend's `StuckWrites` hook) is the
//! transaction built when the write was made, delivered late: its caller times out, nothing is
//! applied meanwhile, and when it lands it compares what its caller had read then — applied if
//! nothing changed, refused (fenced out) once another leadership wrote — as a late packet is.
#![cfg(madsim)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::store::Claim;
use cronfence::{
    ClaimKind, ElectionName, Elector, Error, Fence, JobId, JobRegistry, JobSpec, Schedule, Session,
    TickStore,
};
use cronfence_sim::backend::ETCD_ADDR;
use cronfence_sim::boundary::{HeldWrites, StuckTxns};
use jiff::Timestamp;

fn job() -> JobId {
    JobId::new("j").unwrap()
}

fn claim(secs: i64) -> Claim {
    Claim {
        job: job(),
        tick: Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(secs),
        spec_version: 1,
        kind: ClaimKind::Run { attempt: 1 },
    }
}

/// A client of the simulated etcd whose writes meet `held`.
async fn client(held: HeldWrites) -> EtcdBackend {
    let mut config = EtcdConfig::new([ETCD_ADDR]);
    config.request_timeout = Duration::from_secs(1);
    config.stuck_writes = Some(Arc::new(StuckTxns(held)));
    EtcdBackend::connect(config).await.unwrap()
}

/// Registers job `j` and wins election `e` as `name`: the backend and its fence.
async fn leader(held: HeldWrites, name: &str) -> (EtcdBackend, Fence, Session) {
    let backend = client(held).await;
    let schedule = Schedule::every(Timestamp::UNIX_EPOCH, jiff::SignedDuration::from_secs(10));
    let spec = (
        job(),
        JobSpec::new(schedule.unwrap()),
        ElectionName::new("e"),
    );
    backend
        .register(&[spec], Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let session = backend.open_session(Duration::from_secs(2)).await.unwrap();
    let leadership = backend
        .campaign(&session, &ElectionName::new("e"), name)
        .await
        .unwrap();
    (backend, leadership.fence(), session)
}

async fn last_claimed(backend: &EtcdBackend) -> Option<Timestamp> {
    backend.checkpoints(&[job()]).await.unwrap()[0].last_claimed
}

fn world(test: impl std::future::Future<Output = ()> + Send + 'static) {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, Default::default());
    runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        handle
            .create_node()
            .name("etcd")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 253)))
            .init(|| async {
                let addr: SocketAddr = ETCD_ADDR.parse().unwrap();
                etcd_client::SimServer::builder().serve(addr).await.unwrap();
            })
            .build();
        let node = handle
            .create_node()
            .name("node")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
            .build();
        node.spawn(test).await.unwrap();
    });
}

#[test]
fn a_stuck_claim_lands_late_and_applies_what_it_compared_then() {
    world(async {
        let held: HeldWrites = Arc::new(Mutex::new((0, Duration::ZERO)));
        let (backend, fence, _session) = leader(held.clone(), "a").await;
        *held.lock().unwrap() = (1, Duration::from_secs(5));
        let sent = tokio::time::Instant::now();
        let answer = backend.claim(&fence, &[claim(10)]).await;
        assert!(
            matches!(answer, Err(Error::BackendTimeout { .. })),
            "{answer:?}"
        );
        assert!(sent.elapsed() >= Duration::from_secs(1));
        assert_eq!(last_claimed(&backend).await, None, "nothing landed yet");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            last_claimed(&backend).await,
            Some(claim(10).tick),
            "the held transaction landed"
        );
        assert_eq!(held.lock().unwrap().0, 0, "one write was owed");
    });
}

#[test]
fn a_stuck_claim_landing_after_another_leadership_wrote_is_refused() {
    world(async {
        let held: HeldWrites = Arc::new(Mutex::new((0, Duration::ZERO)));
        let (backend, fence, session) = leader(held.clone(), "a").await;
        *held.lock().unwrap() = (1, Duration::from_secs(8));
        let answer = backend.claim(&fence, &[claim(10)]).await;
        assert!(
            matches!(answer, Err(Error::BackendTimeout { .. })),
            "{answer:?}"
        );
        // The leader's lease expires (its session is dropped unrenewed); another leads and
        // claims a newer tick before the stuck claim lands. Applied, the stuck claim would put
        // back the checkpoint it was built from (last claimed: tick 10); refused, it leaves b's.
        drop(session);
        let quiet = Arc::new(Mutex::new((0, Duration::ZERO)));
        let (other, other_fence, _session) = leader(quiet, "b").await;
        other.claim(&other_fence, &[claim(20)]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(
            last_claimed(&other).await,
            Some(claim(20).tick),
            "the stale claim was refused: its comparisons failed"
        );
    });
}

//! Every way a node can fail to reach etcd ends in a typed error naming the endpoint and the fix,
//! within the connect timeout — never a hang (go-micro's sync.Cron hangs silently). Each test
//! measures the time it waited, so a hang or a late error fails it.
#![cfg(not(madsim))]

use std::time::{Duration, Instant};

use cronfence::etcd::{EtcdBackend, EtcdConfig, TlsFiles};
use cronfence::{Elector, Error};
use cronfence_it::etcd::{etcdctl, Cluster};

fn config(endpoints: Vec<String>) -> EtcdConfig {
    let mut config = EtcdConfig::new(endpoints);
    config.connect_timeout = Duration::from_secs(2);
    config.prefix = "/errors".into();
    config
}

async fn connect_error(config: EtcdConfig) -> (Error, Duration) {
    let started = Instant::now();
    let error = EtcdBackend::connect(config)
        .await
        .expect_err("must not connect");
    (error, started.elapsed())
}

#[tokio::test]
async fn a_stopped_etcd_is_a_clear_error_within_the_connect_timeout() {
    let mut cluster = Cluster::start(1).unwrap();
    let endpoint = cluster.endpoint(0);
    cluster.kill(0);
    let (error, waited) = connect_error(config(vec![endpoint.clone()])).await;
    assert!(waited < Duration::from_secs(4), "took {waited:?}");
    let message = error.to_string();
    assert!(
        matches!(error, Error::BackendUnavailable { .. }),
        "{error:?}"
    );
    assert!(
        message.contains(endpoint.trim_start_matches("http://")),
        "names the endpoint: {message}"
    );
    assert!(
        message.contains("is etcd running"),
        "says what to check: {message}"
    );
}

#[tokio::test]
async fn wrong_credentials_are_rejected_with_a_hint() {
    let cluster = Cluster::start(1).unwrap();
    let endpoints = cluster.endpoints();
    etcdctl(&endpoints, &["user", "add", "root:rootpw"]).unwrap();
    etcdctl(&endpoints, &["auth", "enable"]).unwrap();
    let mut bad = config(endpoints.clone());
    bad.user = Some(("root".into(), "wrong".into()));
    let (error, waited) = connect_error(bad).await;
    assert!(waited < Duration::from_secs(4), "took {waited:?}");
    assert!(matches!(error, Error::BackendRejected { .. }), "{error:?}");
    assert!(
        error.to_string().contains("user name and password"),
        "{error}"
    );
    let mut good = config(endpoints);
    good.user = Some(("root".into(), "rootpw".into()));
    EtcdBackend::connect(good)
        .await
        .expect("the right password connects");
}

#[tokio::test]
async fn tls_against_a_plain_server_is_an_error_not_a_hang() {
    let cluster = Cluster::start(1).unwrap();
    let ca = cluster.dir().join("ca.pem");
    std::fs::write(&ca, include_str!("data/test-ca.pem")).unwrap();
    let mut tls = config(vec![cluster.endpoint(0).replace("http://", "https://")]);
    tls.tls = Some(TlsFiles { ca, identity: None });
    let (error, waited) = connect_error(tls).await;
    assert!(waited < Duration::from_secs(4), "took {waited:?}");
    assert!(
        matches!(
            error,
            Error::BackendRejected { .. } | Error::BackendUnavailable { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_lease_ttl_below_the_servers_minimum_is_refused() {
    // etcd raises TTLs below its minimum (2 s with default raft timing) silently; cronfence
    // refuses instead, because a leader would believe its lease shorter than it is.
    let cluster = Cluster::start(1).unwrap();
    let backend = EtcdBackend::connect(config(cluster.endpoints()))
        .await
        .unwrap();
    let error = backend
        .open_session(Duration::from_secs(1))
        .await
        .expect_err("1 s is below the minimum");
    assert!(
        matches!(error, Error::LeaseTtlTooShort { min, .. } if min == Duration::from_secs(2)),
        "{error:?}"
    );
    assert!(error.to_string().contains("raise `lease_ttl`"), "{error}");
    backend
        .open_session(Duration::from_secs(2))
        .await
        .expect("2 s is accepted");
}

#[tokio::test]
async fn a_node_against_a_stopped_etcd_reports_within_its_bound() {
    // Started with no etcd at all (the seed's hang): connecting fails within the connect timeout
    // with the endpoint named, so the operator sees it at once.
    let endpoint = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let (error, waited) = connect_error(config(vec![endpoint.clone()])).await;
    assert!(waited < Duration::from_secs(4), "took {waited:?}");
    assert!(
        error
            .to_string()
            .contains(endpoint.trim_start_matches("http://")),
        "{error}"
    );
}

#[tokio::test]
async fn a_node_whose_etcd_stops_reports_unreachable_within_its_bound() {
    // Connected while etcd was up, then etcd is killed: the node's registration cannot get
    // through, and `ready()` answers BackendUnreachable at the configured bound — not a hang.
    let mut cluster = Cluster::start(1).unwrap();
    let backend = EtcdBackend::connect(config(cluster.endpoints()))
        .await
        .unwrap();
    cluster.kill(0);
    let mut node_config = cronfence::NodeConfig::new("lonely");
    node_config.unreachable_after = Duration::from_secs(2);
    node_config.request_timeout = Duration::from_millis(500);
    let schedule = cronfence::Schedule::every(
        "2020-01-01T00:00:00Z".parse().unwrap(),
        jiff::SignedDuration::from_secs(1),
    )
    .unwrap();
    let job = cronfence::Job::new(cronfence::JobId::new("j").unwrap(), schedule, |_| async {
        Ok::<(), std::io::Error>(())
    });
    let started = Instant::now();
    let mut node = cronfence::Node::new(node_config, backend)
        .job(job)
        .unwrap()
        .start();
    let error = tokio::time::timeout(Duration::from_secs(5), node.ready())
        .await
        .expect("no hang")
        .expect_err("etcd is down");
    let waited = started.elapsed();
    assert!(
        matches!(error, Error::BackendUnreachable { .. }),
        "{error:?}"
    );
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
        "reported after {waited:?}"
    );
    assert!(
        error.to_string().contains("127.0.0.1"),
        "names the endpoint: {error}"
    );
    node.shutdown().await;
}

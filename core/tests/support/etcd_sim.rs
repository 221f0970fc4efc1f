//! Shared by the etcd tests of the simulator build: a client node beside a fresh simulated etcd
//! server on its own node, and the backend connected to it.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use madsim::runtime::Handle;

/// The simulated etcd server's client address.
pub const ETCD: &str = "10.0.0.253:2379";

/// Runs `body` on a client node next to a fresh simulated etcd server.
pub async fn with_etcd<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handle = Handle::current();
    handle
        .create_node()
        .name("etcd")
        .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 253)))
        .init(|| async {
            let addr: SocketAddr = ETCD.parse().unwrap();
            etcd_client::SimServer::builder().serve(addr).await.unwrap();
        })
        .build();
    let client = handle
        .create_node()
        .name("client")
        .ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        .build();
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.spawn(body()).await.unwrap();
}

/// The etcd backend, connected to the simulated server.
pub async fn etcd() -> EtcdBackend {
    EtcdBackend::connect(EtcdConfig::new([ETCD])).await.unwrap()
}

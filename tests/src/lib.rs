//! # cronfence-it
//!
//! Support for the workspace-level integration tests that run against **real etcd**: a launcher
//! that starts and stops etcd servers on loopback ([`etcd`]), with proxies on their peer URLs to
//! cut a member off ([`peers`]), and, re-exported from
//! `cronfence-sim`, the in-process "real world" of cronfence nodes on their own runtimes that can
//! be crashed, paused, stopped, skewed and partitioned ([`world`]), with the TCP proxy that cuts a
//! node off from etcd each way ([`proxy`]).
//! Everything here is for the real build; in the simulator build the crate is empty.

#![deny(missing_docs)]

#[cfg(not(madsim))]
pub mod etcd;
#[cfg(not(madsim))]
pub mod peers;
/// The real-time world lives in `cronfence-sim` (its CLI runs the real-time suite too).
#[cfg(not(madsim))]
pub mod world {
    pub use cronfence_sim::real::RealWorld;
}
/// The proxy that holds a node's traffic to or from etcd (a partition, each way).
#[cfg(not(madsim))]
pub mod proxy {
    pub use cronfence_sim::real::proxy::Proxy;
}

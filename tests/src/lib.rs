//! # cronfence-it
//!
//! Support for the workspace-level integration tests that run against **real etcd**: a launcher
//! that starts and stops etcd servers on loopback ([`etcd`]), a TCP proxy that can black-hole one
//! node's connection ([`proxy`]), and, re-exported from `cronfence-sim`, the in-process "real
//! world" of cronfence nodes on their own runtimes that can be crashed and paused ([`world`]).
//! Everything here is for the real build; in the simulator build the crate is empty.

#![deny(missing_docs)]

#[cfg(not(madsim))]
pub mod etcd;
#[cfg(not(madsim))]
pub mod proxy;
/// The real-time world lives in `cronfence-sim` (its CLI runs the real-time suite too).
#[cfg(not(madsim))]
pub mod world {
    pub use cronfence_sim::real::RealWorld;
}

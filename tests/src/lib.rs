//! # cronfence-it
//!
//! Support for the workspace-level integration tests that run against **real etcd**: a launcher
//! that starts and stops etcd servers on loopback ([`etcd`]), a TCP proxy that can black-hole one
//! node's connection ([`proxy`]), and an in-process "real world" of cronfence nodes on their own
//! runtimes that can be crashed and paused, recording the same history the simulator records
//! ([`world`]). Everything here is for the real build; in the simulator build the crate is empty.

#![deny(missing_docs)]

#[cfg(not(madsim))]
pub mod etcd;
#[cfg(not(madsim))]
pub mod proxy;
#[cfg(not(madsim))]
pub mod world;

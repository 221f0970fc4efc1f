//! The real build's side of the harness: scenarios against real etcd servers in real time.
//!
//! [`RealWorld`] runs cronfence nodes on their own tokio runtimes against real etcd, crashes,
//! pauses, stops, skews and partitions them and slows or spoils their requests, and records the
//! same history the simulator records, so the same checkers judge it. [`suite`] runs the scenario
//! files a real world can play (at most a few minutes long) against a given cluster, all at once,
//! each under its own key prefix; it is what `cronfence regress --backend etcd --endpoints ...`
//! compares with a baseline. [`explore`] plays the simulator's explorer worlds against a given
//! cluster (`cronfence explore --backend etcd`), and [`explore_summary`] writes its run folder.
//! [`proxy`] holds a node's traffic to or from etcd; [`restart`] kills and restarts an etcd the
//! caller started, and plays member faults on a cluster it started (`members`); [`connect`] lets the world drive any backend, etcd being the default.

pub mod connect;
pub mod explore;
pub mod explore_summary;
mod members;
mod playback;
mod process;
pub mod proxy;
pub mod restart;
pub mod suite;
mod world;

pub use world::RealWorld;

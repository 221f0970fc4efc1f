//! The real build's side of the harness: scenarios against real etcd servers in real time.
//!
//! [`RealWorld`] runs cronfence nodes on their own tokio runtimes against real etcd, crashes and
//! pauses them, and records the same history the simulator records, so the same checkers judge
//! it. [`suite`] runs the scenario files a real world can play (crashes and pauses only, at most a
//! few minutes long) against a given cluster, all at once, each under its own key prefix; it is
//! what `cronfence regress --backend etcd --endpoints ...` compares with a baseline.

pub mod suite;
mod world;

pub use world::RealWorld;

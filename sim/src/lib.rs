//! # cronfence-sim
//!
//! The deterministic simulation harness for cronfence: it runs the real `cronfence` runner on
//! madsim nodes against a backend on its own node, injects faults, records a history and checks
//! the guarantees from it.
//!
//! | module | owns |
//! |---|---|
//! | [`backend`] | the backend node (memory service or simulated etcd) and nodes' clients |
//! | [`boundary`] | backend faults played on the client's side, for backends the harness cannot reach inside |
//! | [`check`] | the checkers: no duplicate, no gap, fencing, timeliness |
//! | [`fault`] | the fault vocabulary |
//! | [`gomicro`] | a model of go-micro v2's `sync.Cron`, for the pitfall scenarios |
//! | [`history`] | the recorded history (JSON lines) |
//! | [`scenario`] | scenario files: format, loading, located errors |
//! | [`clock`] | true time and each node's faulty clock |
//! | [`control`] | each node's deploy control: stopped or running, and its job spec version |
//! | [`net`] | the backend service on its own node, and the transport to it |
//! | [`inject`] | playing faults into the world |
//! | [`local_days`] | runs per local day of cron jobs (DST days) |
//! | [`random`] | random fault plans drawn from a seed |
//! | [`splitmix`] | the seeded generator every draw uses (both builds) |
//! | [`explore`] | swarm exploration: worlds drawn from a seed (both builds), run, shrunk, summed up (simulator) |
//! | [`expect`] | judging a verdict against a scenario's expectation |
//! | [`shrink`] | generated fault plans and their scenario TOML |
//! | `real` | the real build: a real-time world on real etcd, the real-time suite and explorer |
//! | [`takeover`] | how soon a new leadership leads after a leader's stop, crash or pause (`takeover_at_most`) |
//! | [`suite`] | the scenario suite: finding files, expanding cases, running them on all cores |
//! | [`report`] | failover reports: summary table, HTML page, SVG timelines |
//! | [`regress`] | the backend regression check against committed baselines |
//! | [`cli`] | the `cronfence` command line |
//! | [`world`] | one scenario, one backend, one seed: run it, record, check |

#![deny(missing_docs)]

#[cfg(madsim)]
pub mod backend;
pub mod boundary;
pub mod check;
pub mod cli;
pub mod clock;
pub mod control;
pub mod expect;
pub mod explore;
pub mod fault;
pub mod gomicro;
pub mod history;
#[cfg(madsim)]
pub mod inject;
pub mod local_days;
#[cfg(madsim)]
pub mod net;
pub mod random;
#[cfg(not(madsim))]
pub mod real;
pub mod regress;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod sink;
pub mod splitmix;
pub mod spool;
pub mod suite;
pub mod takeover;
#[cfg(madsim)]
pub mod world;

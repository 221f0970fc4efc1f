//! # cronfence
//!
//! Singleton periodic jobs across identical service nodes: every tick of every job runs on exactly
//! one node, elected through a backend, with no duplicate and no gap when nodes crash, pause,
//! lose the network or disagree about the time.
//!
//! A tick is identified by its job and its scheduled UTC instant, the same on every node. The
//! leader claims ticks in the backend with a *fenced* operation that fails once a newer leader
//! exists, so a leader that was paused or cut off cannot claim (or, at least once, commit) a tick
//! after its successor took over.
//!
//! ```
//! use std::time::Duration;
//! use cronfence::{Job, JobId, MemoryBackend, Node, NodeConfig, Schedule};
//!
//! # #[cfg_attr(madsim, madsim::main)]
//! # #[cfg_attr(not(madsim), tokio::main(flavor = "current_thread"))]
//! # async fn main() -> Result<(), cronfence::Error> {
//! let backend = MemoryBackend::new(); // clones share it: one per process is enough
//! let anchor = "2026-01-01T00:00:00Z".parse().unwrap(); // absolute, never "now"
//! let every_second = Schedule::every(anchor, jiff::SignedDuration::from_secs(1))?;
//! let job = Job::new(JobId::new("print")?, every_second, |tick: cronfence::TickContext| async move {
//!     println!("{} ran with token {}", tick.tick, tick.fencing_token);
//!     Ok::<(), std::io::Error>(())
//! });
//! let mut node = Node::new(NodeConfig::new("node-a"), backend).job(job)?.start();
//! node.ready().await?; // the job definition is registered (or a clear error says why not)
//! tokio::time::sleep(Duration::from_millis(2500)).await;
//! node.shutdown().await; // resigns, so another node takes over at once
//! # Ok(())
//! # }
//! ```
//!
//! ## Map of the crate
//!
//! | module | owns |
//! |---|---|
//! | [`schedule`] | `Schedule`: exact tick ↔ instant math; cron expressions in IANA zones with a DST policy |
//! | [`job`] | `JobId`, `JobSpec` (the agreed definition), `Job`, `TickContext` |
//! | [`policy`] | misfire (catch-up), overlap and delivery policies |
//! | [`elector`] | the `Elector` trait, sessions, `Leadership`, fencing tokens |
//! | [`store`] | the `TickStore` and `JobRegistry` traits, checkpoints, claims |
//! | [`plan`] | the sans-IO decision core: what to run at `now`, and when to look next |
//! | [`lifecycle`] | the sans-IO leadership lifecycle: every way a leadership ends, and what that does to its runs |
//! | [`clock`] | the `Clock` the runner reads |
//! | [`event`] | `NodeEvent`s for histories and observers |
//! | [`runner`] | `Node`: registration, sessions, campaigns, leading, executions |
//! | [`memory`] | the in-memory backend (the embedded default) |
//! | [`etcd`] | the etcd backend (simulated etcd under madsim, real etcd otherwise) |
//! | [`error`] | the crate's one error type |

#![deny(missing_docs)]

pub mod clock;
pub mod elector;
pub mod error;
pub mod etcd;
pub mod event;
pub mod job;
mod lease;
pub mod lifecycle;
pub mod memory;
pub mod plan;
pub mod policy;
pub mod runner;
pub mod schedule;
pub mod signal;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use elector::{
    ElectionName, ElectionScope, Elector, Fence, FencingToken, LeaderInfo, Leadership, Revocation,
    Session,
};
pub use error::{Error, Result};
pub use event::{EventSink, NodeEvent};
pub use job::{Job, JobId, JobSpec, TickContext, TickId};
pub use memory::MemoryBackend;
pub use policy::{CatchUp, Delivery, MisfirePolicy, OverlapPolicy};
pub use runner::{Node, NodeConfig, NodeStatus, RunningNode};
pub use schedule::Schedule;
pub use store::{Backend, Checkpoint, Claim, ClaimKind, Commit, JobRegistry, TickStore};

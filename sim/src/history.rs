//! The recorded history of one simulated run: one event per line, in the order things happened.
//!
//! Every record carries the true (simulation) time since the world started, the node it happened
//! on, that node's own wall-clock reading (which faults may skew), and what happened: a
//! [`NodeEvent`] from the real cronfence runner, a fault starting or ending, a state change the
//! backend applied, or a job's command beginning (the ground truth the runner's events are
//! checked against). A history is
//! written as JSON lines and is byte-identical for the same scenario and seed; its hash is what
//! the determinism check compares. This module records and serialises only; checkers read it.

use std::sync::{Arc, Mutex};

use cronfence::store::{Claim, Commit};
use cronfence::{ElectionName, FencingToken, JobId, NodeEvent};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::spool::{Spool, Spooled};

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the history, from 0.
    pub seq: u64,
    /// True time since the world started, in nanoseconds.
    pub t_ns: u64,
    /// True wall-clock time (the scenario's start plus `t_ns`).
    pub true_time: Timestamp,
    /// The node it happened on (`world` for faults that are not a node's).
    pub node: String,
    /// The node's own wall-clock reading, when a node recorded it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock: Option<Timestamp>,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// What a record says happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum What {
    /// Something the cronfence runner did or saw.
    Node(NodeEvent),
    /// A fault began or ended.
    Fault(FaultRecord),
    /// The backend applied a state change (recorded by the simulated backend service, in the
    /// order the backend applied them; absent for backends that cannot be observed inside).
    Backend(BackendRecord),
    /// A job's command recorded something of itself (the world's commands, not the runner): the
    /// ground truth of which runs really began.
    Command(CommandRecord),
}

/// What a job's command recorded of itself: the runner's `tick_started` says a run was meant to
/// begin, this says it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CommandRecord {
    /// The command was polled for the first time: its body began to run.
    CommandBegan {
        /// The job.
        job: JobId,
        /// The tick's scheduled instant.
        tick: Timestamp,
        /// The fencing token the run was handed.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
    /// The command's body returned.
    CommandEnded {
        /// The job.
        job: JobId,
        /// The tick's scheduled instant.
        tick: Timestamp,
        /// The fencing token the run was handed.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
    /// The command was dropped after it began and before its body returned: the runner
    /// cancelled it, or its node's process died (a crash drops its tasks on the executor's next
    /// turn). A run that ends neither way is still running.
    CommandDropped {
        /// The job.
        job: JobId,
        /// The tick's scheduled instant.
        tick: Timestamp,
        /// The fencing token the run was handed.
        token: FencingToken,
        /// The attempt.
        attempt: u32,
    },
}

/// A state change the backend applied, as the simulated backend service saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BackendRecord {
    /// A campaign won: `node` now holds `election` with `token`.
    LeadershipGranted {
        /// The election.
        election: ElectionName,
        /// The new token.
        token: FencingToken,
        /// The winner's campaign value (its node name).
        holder: String,
    },
    /// A claim batch was applied.
    ClaimApplied {
        /// The election named by the fence.
        election: ElectionName,
        /// The fence's token.
        token: FencingToken,
        /// The claimed ticks: (job, tick, kind).
        claims: Vec<Claim>,
    },
    /// A commit batch was applied.
    CommitApplied {
        /// The election named by the fence.
        election: ElectionName,
        /// The fence's token.
        token: FencingToken,
        /// The committed runs.
        commits: Vec<Commit>,
    },
}

/// A fault starting or ending, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FaultRecord {
    /// The fault took effect.
    FaultStarted {
        /// The fault.
        fault: Fault,
    },
    /// The fault was undone (node restarted, resumed, link healed, clock restored).
    FaultEnded {
        /// The fault.
        fault: Fault,
    },
    /// A graceful stop reached the node it is recorded under: its process hands the stop to the
    /// node at this instant (a moment after the stop began, once the process runs; after the
    /// pause, for a paused one). Recorded by the harness, not by the node.
    StopReached,
}

/// A history being recorded; cheap to clone, shared by every node of a world.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    records: Arc<Mutex<Store>>,
}

/// Where a recorder's records go.
enum Store {
    /// All held in memory.
    Held(Vec<Record>),
    /// Spooled to disk by shard, only those naming no job held ([`crate::spool`]).
    Spooled(Box<Spool>),
    /// A spool whose world ended: later records are dropped, as a held history's are.
    Ended(Box<Spool>),
}

impl Default for Store {
    fn default() -> Self {
        Store::Held(Vec::new())
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Held(records) => write!(f, "Held({} records)", records.len()),
            Store::Spooled(spool) | Store::Ended(spool) => {
                write!(f, "Spooled({} records)", spool.len())
            }
        }
    }
}

impl Store {
    /// The records held: all of them, or those naming no job.
    fn held(&self) -> &[Record] {
        match self {
            Store::Held(records) => records,
            Store::Spooled(spool) | Store::Ended(spool) => spool.kept(),
        }
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty recorder that spools to `spool`.
    pub fn spooled(spool: Spool) -> Self {
        Recorder {
            records: Arc::new(Mutex::new(Store::Spooled(Box::new(spool)))),
        }
    }

    /// Appends a record; `seq` is assigned here.
    pub fn push(
        &self,
        t_ns: u64,
        true_time: Timestamp,
        node: &str,
        clock: Option<Timestamp>,
        what: What,
    ) {
        let mut store = self.records.lock().expect("history lock");
        let record = |seq| Record {
            seq,
            t_ns,
            true_time,
            node: node.to_string(),
            clock,
            what,
        };
        match &mut *store {
            Store::Held(records) => {
                let seq = records.len() as u64;
                records.push(record(seq));
            }
            Store::Spooled(spool) => {
                let seq = spool.len();
                spool.push(record(seq));
            }
            Store::Ended(_) => {}
        }
    }

    /// The newest record `pick` accepts, mapped, without copying the history (of a spooled
    /// one, only the records naming no job are searched).
    pub fn find_newest<T>(&self, pick: impl FnMut(&Record) -> Option<T>) -> Option<T> {
        self.records
            .lock()
            .expect("history lock")
            .held()
            .iter()
            .rev()
            .find_map(pick)
    }

    /// The oldest record `pick` accepts, mapped, without copying the history (of a spooled one,
    /// only the records naming no job are searched).
    pub fn find_oldest<T>(&self, pick: impl FnMut(&Record) -> Option<T>) -> Option<T> {
        self.records
            .lock()
            .expect("history lock")
            .held()
            .iter()
            .find_map(pick)
    }

    /// Every record so far, moved out (the recorder is left empty): the end of a world. Of a
    /// spooled recorder, nothing: its spool ends here, and [`Recorder::take_spooled`] gives it.
    pub fn take(&self) -> History {
        let mut store = self.records.lock().expect("history lock");
        let records = match std::mem::take(&mut *store) {
            Store::Held(records) => records,
            Store::Spooled(spool) | Store::Ended(spool) => {
                *store = Store::Ended(spool);
                Vec::new()
            }
        };
        History { records }
    }

    /// The spool, ended, of a spooled recorder (the recorder is left holding an empty history).
    pub fn take_spooled(&self) -> Option<Result<Spooled, String>> {
        let mut store = self.records.lock().expect("history lock");
        match std::mem::take(&mut *store) {
            Store::Spooled(spool) | Store::Ended(spool) => Some(spool.finish()),
            held => {
                *store = held;
                None
            }
        }
    }

    /// How many records so far, and the true time of the newest (for progress).
    pub fn progress(&self) -> (u64, Option<Timestamp>) {
        match &*self.records.lock().expect("history lock") {
            Store::Held(records) => (records.len() as u64, records.last().map(|r| r.true_time)),
            Store::Spooled(spool) | Store::Ended(spool) => (spool.len(), spool.last()),
        }
    }

    /// The records so far (of a spooled recorder, those naming no job).
    pub fn snapshot(&self) -> History {
        History {
            records: self.records.lock().expect("history lock").held().to_vec(),
        }
    }
}

/// A finished history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The records, in order.
    pub records: Vec<Record>,
}

impl History {
    /// The first node that campaigned: it registered the jobs first (a node whose definitions
    /// were refused never campaigns for them), so its election scope is the one the backend
    /// kept.
    pub fn first_campaigner(&self) -> Option<&str> {
        self.records.iter().find_map(|r| match &r.what {
            What::Node(cronfence::NodeEvent::CampaignStarted { .. }) => Some(r.node.as_str()),
            _ => None,
        })
    }

    /// The history as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for record in &self.records {
            out.push_str(&serde_json::to_string(record).expect("records serialise"));
            out.push('\n');
        }
        out
    }

    /// Parses JSON lines written by [`History::to_jsonl`].
    pub fn from_jsonl(text: &str) -> Result<Self, serde_json::Error> {
        let records = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        Ok(History { records })
    }

    /// A stable 64-bit hash of the JSON lines (FNV-1a), for determinism checks.
    pub fn hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.to_jsonl().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// The node events, with their records.
    pub fn node_events(&self) -> impl Iterator<Item = (&Record, &NodeEvent)> {
        self.records.iter().filter_map(|r| match &r.what {
            What::Node(e) => Some((r, e)),
            _ => None,
        })
    }
}

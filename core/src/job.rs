//! Jobs: a stable id, a definition every node must agree on, and the command a tick runs.
//!
//! [`JobSpec`] is the part that is registered in the backend and compared across nodes (schedule
//! and policies, plus an explicit version for deliberate changes). [`Job`] adds the command, which
//! never leaves the node. [`TickContext`] is what a command receives: enough to make its side
//! effects idempotent (the tick id) or fenced (the token).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::elector::FencingToken;
use crate::error::{Error, Result};
use crate::policy::{Delivery, MisfirePolicy, OverlapPolicy};
use crate::schedule::Schedule;

/// A stable, user-chosen job name: 1–128 characters of `[A-Za-z0-9._:-]`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(Arc<str>);

impl JobId {
    /// Validates and wraps `id`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("a job id must not be empty")
        } else if id.len() > 128 {
            Some("a job id must be at most 128 characters")
        } else if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            Some("a job id may use only letters, digits and `._:-`")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidJobId { id, reason }),
            None => Ok(JobId(id.into())),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        JobId::new(value)
    }
}

impl From<JobId> for String {
    fn from(value: JobId) -> Self {
        value.0.to_string()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// The definition of a job that every node must agree on; registered in the backend.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// When ticks are due.
    pub schedule: Schedule,
    /// What happens to missed ticks.
    pub misfire: MisfirePolicy,
    /// What happens when runs overlap.
    pub overlap: OverlapPolicy,
    /// Claim-then-run or run-then-commit.
    pub delivery: Delivery,
    /// Raise it to change the definition on purpose: the newer version wins everywhere.
    pub version: u64,
}

impl JobSpec {
    /// A spec with default policies (catch up on ≤ 100 ticks, forbid overlap, at most once), v1.
    pub fn new(schedule: Schedule) -> Self {
        JobSpec {
            schedule,
            misfire: MisfirePolicy::default(),
            overlap: OverlapPolicy::default(),
            delivery: Delivery::default(),
            version: 1,
        }
    }
}

impl fmt::Display for JobSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; misfire {}; overlap {}; {}; version {}",
            self.schedule, self.misfire, self.overlap, self.delivery, self.version
        )
    }
}

/// A tick's identity: the job and its scheduled UTC instant. The same on every node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TickId {
    /// The job.
    pub job: JobId,
    /// The scheduled instant, in UTC.
    pub at: Timestamp,
}

impl fmt::Display for TickId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.job, self.at)
    }
}

/// What a job's command receives for one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickContext {
    /// The job.
    pub job: JobId,
    /// The tick's identity: use it to make side effects idempotent.
    pub tick: TickId,
    /// The tick's scheduled instant (UTC).
    pub scheduled_at: Timestamp,
    /// The leadership's fencing token: pass it to systems that can reject stale writers.
    pub fencing_token: FencingToken,
    /// 1 for the first run of this tick; higher when an at-least-once tick runs again.
    pub attempt: u32,
}

/// The error a command may return; it is recorded, never retried by cronfence itself.
pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed command future.
pub type CommandFuture =
    Pin<Box<dyn Future<Output = std::result::Result<(), CommandError>> + Send>>;

/// The command a job runs, as stored by the node.
pub type Command = Arc<dyn Fn(TickContext) -> CommandFuture + Send + Sync>;

/// A job: id, agreed definition, and the command this node runs for it.
#[derive(Clone)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The definition registered in the backend.
    pub spec: JobSpec,
    /// The command run for each tick.
    pub command: Command,
}

impl Job {
    /// A job with default policies running `command` on `schedule`.
    pub fn new<F, Fut, E>(id: JobId, schedule: Schedule, command: F) -> Self
    where
        F: Fn(TickContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: Into<CommandError>,
    {
        let command: Command = Arc::new(move |ctx| {
            let fut = command(ctx);
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        Job {
            id,
            spec: JobSpec::new(schedule),
            command,
        }
    }

    /// Replaces the misfire policy.
    pub fn misfire(mut self, policy: MisfirePolicy) -> Self {
        self.spec.misfire = policy;
        self
    }

    /// Replaces the overlap policy.
    pub fn overlap(mut self, policy: OverlapPolicy) -> Self {
        self.spec.overlap = policy;
        self
    }

    /// Replaces the delivery mode.
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.spec.delivery = delivery;
        self
    }

    /// Sets the spec version (default 1).
    pub fn version(mut self, version: u64) -> Self {
        self.spec.version = version;
        self
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_reject_separators_and_empty() {
        assert!(JobId::new("report:daily-1.v2").is_ok());
        assert!(JobId::new("").is_err());
        assert!(JobId::new("a/b").is_err());
        assert!(JobId::new("x".repeat(129)).is_err());
    }

    #[test]
    fn job_spec_display_names_every_field() {
        let anchor: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let spec =
            JobSpec::new(Schedule::every(anchor, jiff::SignedDuration::from_secs(10)).unwrap());
        assert_eq!(
            spec.to_string(),
            "every 10s from 2026-01-01T00:00:00Z; misfire all(max=100); overlap forbid; \
             at-most-once; version 1"
        );
    }
}

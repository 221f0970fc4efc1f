//! The one error type callers of the `cronfence` crate can observe and handle.
//!
//! Every variant carries structured fields and a message that says what went wrong and what to do
//! about it. Panics are reserved for broken invariants (bugs), never for bad input or an unreachable
//! backend. This module owns only the type; the code that raises each variant lives where the
//! condition is detected.

use std::time::Duration;

use crate::elector::{ElectionName, FencingToken};
use crate::job::{JobId, JobSpec};

/// Everything that can go wrong in schedule math, job registration, election and tick storage.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schedule interval was zero or negative.
    #[error("invalid interval {interval}: an interval must be positive (for example `10s`)")]
    InvalidInterval {
        /// The rejected interval, as given.
        interval: jiff::SignedDuration,
    },

    /// A cron expression could not be parsed; `field` names the part that is wrong.
    #[error(
        "invalid cron expression {expr:?}: the {field} is wrong ({problem}); allowed: {allowed}"
    )]
    InvalidCron {
        /// The rejected expression.
        expr: String,
        /// The field at fault, e.g. "hour field `25`", or "expression" for its overall shape.
        field: String,
        /// croner's account of the problem.
        problem: String,
        /// What the field accepts.
        allowed: String,
    },

    /// A time zone name is not in the bundled IANA tz database.
    #[error(
        "unknown time zone {zone:?}: use an IANA name such as \"Europe/Berlin\", \
         \"America/New_York\" or \"UTC\""
    )]
    UnknownTimeZone {
        /// The rejected name.
        zone: String,
    },

    /// A job id was empty, too long or used characters outside `[A-Za-z0-9._:-]`.
    #[error("invalid job id {id:?}: {reason}")]
    InvalidJobId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The same job id was added to one node twice.
    #[error("job `{job}` was added to this node twice; job ids must be unique per node")]
    DuplicateJob {
        /// The repeated id.
        job: JobId,
    },

    /// The backend already holds a different definition for this job id at the same spec version.
    #[error(
        "job `{job}` is registered with a different definition:\n  registered: {registered}\n  \
         this node: {local}\nevery node must use the same definition; to change it on purpose, \
         raise the spec version (a schedule anchored on each node's start time causes exactly this)"
    )]
    JobSpecMismatch {
        /// The job whose definitions differ.
        job: JobId,
        /// The definition the backend holds.
        registered: Box<JobSpec>,
        /// The definition this node tried to register.
        local: Box<JobSpec>,
    },

    /// The backend records this job in another election than the one this node would run it
    /// in (the nodes' `group` or election `scope` differ). Two elections could each grant equal
    /// tokens and both claim the job's ticks, so the registry keeps the first and refuses the rest.
    #[error(
        "job `{job}` runs in election `{registered}` elsewhere, this node would run it in \
         `{local}`: every node must use the same group and election scope for a job; this node \
         will not run it"
    )]
    ElectionMismatch {
        /// The job.
        job: JobId,
        /// The election the backend records for the job.
        registered: ElectionName,
        /// The election this node would run it in.
        local: ElectionName,
    },

    /// The backend holds a newer spec version of this job; this node's copy is out of date.
    #[error(
        "job `{job}` runs at spec version {registered} elsewhere, this node carries version \
         {local}: it no longer runs this job; deploy the new definition to this node"
    )]
    SpecSuperseded {
        /// The job.
        job: JobId,
        /// The version the backend holds.
        registered: u64,
        /// The version this node carries.
        local: u64,
    },

    /// A fenced operation was refused: the caller's fencing token is no longer the current one.
    #[error(
        "fenced out of election `{election}`: token {token} is stale (current: {})",
        current.map(|t| t.to_string()).unwrap_or_else(|| "no leader".into())
    )]
    Fenced {
        /// The election the token belongs to.
        election: ElectionName,
        /// The caller's token.
        token: FencingToken,
        /// The token currently holding the election, if any.
        current: Option<FencingToken>,
    },

    /// A claim named a tick that was already claimed by an earlier leader.
    #[error("tick {tick} of job `{job}` was already claimed (checkpoint at {checkpoint})")]
    AlreadyClaimed {
        /// The job.
        job: JobId,
        /// The tick's scheduled instant.
        tick: jiff::Timestamp,
        /// The job's last claimed tick in the backend.
        checkpoint: jiff::Timestamp,
    },

    /// A job named in a tick-store call was never registered.
    #[error("job `{job}` is not registered with the backend; register it before claiming ticks")]
    UnknownJob {
        /// The job.
        job: JobId,
    },

    /// The lease behind a session no longer exists in the backend (expired or revoked).
    #[error("lease {lease} is gone from the backend (expired or revoked); open a new session")]
    LeaseLost {
        /// The lease id.
        lease: u64,
    },

    /// The requested lease TTL is outside what the backend accepts.
    #[error("lease TTL {ttl:?} is below the backend's minimum {min:?}; raise `lease_ttl`")]
    LeaseTtlTooShort {
        /// The requested TTL.
        ttl: Duration,
        /// The backend's minimum.
        min: Duration,
    },

    /// One backend call did not answer within the request timeout.
    #[error("backend `{backend}` did not answer `{operation}` within {after:?}")]
    BackendTimeout {
        /// Which backend (its name or endpoint).
        backend: String,
        /// The operation that timed out.
        operation: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },

    /// The backend could not be reached (connection refused, partition, transport failure).
    #[error("backend `{backend}` is unreachable during `{operation}`: {reason}")]
    BackendUnavailable {
        /// Which backend (its name or endpoint).
        backend: String,
        /// The operation that failed.
        operation: &'static str,
        /// The transport's explanation.
        reason: String,
    },

    /// The backend refused this client for a reason retrying cannot fix (credentials, TLS, a
    /// malformed endpoint).
    #[error("backend `{backend}` refused `{operation}`: {reason}\n  fix: {hint}")]
    BackendRejected {
        /// Which backend (its endpoint).
        backend: String,
        /// The operation refused.
        operation: &'static str,
        /// What the backend or transport said.
        reason: String,
        /// How to fix it.
        hint: String,
    },

    /// Every call to the backend has failed for longer than the configured bound.
    #[error(
        "backend `{backend}` unreachable for {down_for:?} (bound {bound:?}); still retrying. \
         Last error: {last_error}. Check that the backend is running and reachable from this node"
    )]
    BackendUnreachable {
        /// Which backend.
        backend: String,
        /// How long calls have been failing.
        down_for: Duration,
        /// The configured bound (`NodeConfig::unreachable_after`).
        bound: Duration,
        /// The most recent failure.
        last_error: String,
    },

    /// The node was shut down before the operation finished.
    #[error("the node is shutting down")]
    ShuttingDown,
}

impl Error {
    /// True when retrying the same call later may succeed (timeouts and transport failures).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::BackendTimeout { .. } | Error::BackendUnavailable { .. }
        )
    }
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Faults: what the simulator can do to a node, the network or the backend, and for how long.
//!
//! A [`Fault`] is fully resolved: its target is a node name (a scenario may say `leader` or
//! `follower`; the world resolves that when the fault fires), its start is a time since the world
//! began, and its duration says when it is undone. This module is vocabulary only; the world
//! injects faults ([`crate::world`]) and clocks apply the clock faults ([`crate::clock`]).

use std::fmt;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// Serde for durations as compact friendly strings (`"1.5s"`, `"-1h"`).
pub(crate) mod dur {
    /// A required duration.
    pub mod required {
        pub use jiff::fmt::serde::duration::friendly::compact::required as serialize;

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<jiff::SignedDuration, D::Error> {
            serde::Deserialize::deserialize(d)
        }
    }

    /// An optional duration.
    pub mod optional {
        pub use jiff::fmt::serde::duration::friendly::compact::optional as serialize;

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<jiff::SignedDuration>, D::Error> {
            serde::Deserialize::deserialize(d)
        }
    }
}

/// One fault, resolved to its target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What the fault does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// The node it hits (`backend` for backend faults).
    pub node: String,
    /// When it starts, since the world began.
    #[serde(with = "dur::required")]
    pub at: SignedDuration,
    /// How long until it is undone; `None`: never.
    #[serde(
        with = "dur::optional",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<SignedDuration>,
}

/// A fault as planned: its kind and target as written, not yet resolved (the simulator's
/// injector and the real-time playback each resolve it when it starts).
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// What it does.
    pub kind: FaultKind,
    /// `leader`, `follower`, `first`, `majority`, `all`, `node-N` or `backend`.
    pub target: String,
    /// When it starts, since the world began.
    pub at: std::time::Duration,
    /// How long until it is undone.
    pub duration: Option<std::time::Duration>,
}

/// Which way a partition cuts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Nothing passes either way.
    #[default]
    Both,
    /// The node's requests do not reach the backend.
    ToBackend,
    /// The backend's answers do not reach the node.
    FromBackend,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// The node dies without resigning, losing all in-memory state; restarted after `duration`.
    Crash,
    /// The node shuts down gracefully (running jobs get `shutdown_grace`, then are cancelled;
    /// leaderships are resigned and the session closed) and starts again after `duration`, as a
    /// fresh process with the same configuration and jobs: a deploy.
    Stop {
        /// The job spec version the node defines every job with when it starts again (a rolling
        /// spec upgrade); `None`: the version it had.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upgrade_to: Option<u64>,
    },
    /// Every task of the node stops; resumed after `duration`.
    Pause,
    /// The network between the node and the backend is cut; healed after `duration`.
    Partition {
        /// Which way.
        #[serde(default)]
        direction: Direction,
    },
    /// The node's clock reads `offset` away from true time.
    ClockOffset {
        /// The offset (positive: ahead).
        #[serde(with = "dur::required")]
        offset: SignedDuration,
    },
    /// The node's clock runs `ppm` parts per million fast (negative: slow).
    ClockDrift {
        /// Parts per million.
        ppm: i64,
    },
    /// The node's clock steps by `by` at once (negative: back in time).
    ClockJump {
        /// The step.
        #[serde(with = "dur::required")]
        by: SignedDuration,
    },
    /// The node's clock offset swings between `-amplitude` and `+amplitude` every `period`.
    ClockStrobe {
        /// The swing.
        #[serde(with = "dur::required")]
        amplitude: SignedDuration,
        /// The time between swings.
        #[serde(with = "dur::required")]
        period: SignedDuration,
    },
    /// Every backend request waits `latency` before it is served.
    BackendLatency {
        /// The added latency.
        #[serde(with = "dur::required")]
        latency: SignedDuration,
    },
    /// The backend stops answering; requests are neither applied nor answered.
    BackendTimeout,
    /// The next `count` claims or commits are applied, but their answers are lost.
    AmbiguousCommit {
        /// How many writes.
        count: u32,
    },
    /// The node's next `count` claims or commits are held in the network for `delay`, then
    /// delivered (a stuck packet): the node has long given up on them by then.
    DelayedWrite {
        /// How many writes.
        count: u32,
        /// How long each is held.
        #[serde(with = "dur::required")]
        delay: SignedDuration,
    },
    /// The backend process dies and restarts after `duration` with its state intact (as etcd's
    /// data survives on disk); lease TTLs restart from the moment it is back.
    BackendRestart,
    /// One member of a three-member etcd cluster is killed (SIGKILL) and, after `duration`,
    /// restarted on its data; the other two keep a quorum. Real time only: the simulated
    /// backends are one server.
    MemberCrash {
        /// The member: `leader` (raft's, when the fault starts), `follower`, or its index;
        /// recorded as the index it resolved to.
        member: String,
    },
    /// One member is frozen (SIGSTOP) and, after `duration`, let go (SIGCONT): its connections
    /// stay open and silent, as a stalled server's do.
    MemberPause {
        /// As for [`FaultKind::MemberCrash`].
        member: String,
    },
    /// One member is cut off from its peers, both ways, through the proxies on the peer URLs,
    /// and healed after `duration`: a minority that still takes the nodes' connections.
    MemberIsolate {
        /// As for [`FaultKind::MemberCrash`].
        member: String,
    },
}

impl FaultKind {
    /// True for faults aimed at the backend rather than a node.
    pub fn hits_backend(&self) -> bool {
        matches!(
            self,
            FaultKind::BackendLatency { .. }
                | FaultKind::BackendTimeout
                | FaultKind::AmbiguousCommit { .. }
                | FaultKind::BackendRestart
        ) || self.is_member()
    }

    /// True for faults of one etcd member (a cluster's: real time only).
    pub fn is_member(&self) -> bool {
        matches!(
            self,
            FaultKind::MemberCrash { .. }
                | FaultKind::MemberPause { .. }
                | FaultKind::MemberIsolate { .. }
        )
    }

    /// The member a member fault names.
    pub fn member(&self) -> Option<&str> {
        match self {
            FaultKind::MemberCrash { member }
            | FaultKind::MemberPause { member }
            | FaultKind::MemberIsolate { member } => Some(member),
            _ => None,
        }
    }

    /// The same fault, naming `member` instead.
    pub fn on_member(&self, member: String) -> FaultKind {
        match self {
            FaultKind::MemberCrash { .. } => FaultKind::MemberCrash { member },
            FaultKind::MemberPause { .. } => FaultKind::MemberPause { member },
            FaultKind::MemberIsolate { .. } => FaultKind::MemberIsolate { member },
            other => other.clone(),
        }
    }

    /// True for faults of a node's clock.
    pub fn is_clock(&self) -> bool {
        matches!(
            self,
            FaultKind::ClockOffset { .. }
                | FaultKind::ClockDrift { .. }
                | FaultKind::ClockJump { .. }
                | FaultKind::ClockStrobe { .. }
        )
    }

    /// A short name (`crash`, `clock_offset`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Stop { .. } => "stop",
            FaultKind::Pause => "pause",
            FaultKind::Partition { .. } => "partition",
            FaultKind::ClockOffset { .. } => "clock_offset",
            FaultKind::ClockDrift { .. } => "clock_drift",
            FaultKind::ClockJump { .. } => "clock_jump",
            FaultKind::ClockStrobe { .. } => "clock_strobe",
            FaultKind::BackendLatency { .. } => "backend_latency",
            FaultKind::BackendTimeout => "backend_timeout",
            FaultKind::AmbiguousCommit { .. } => "ambiguous_commit",
            FaultKind::DelayedWrite { .. } => "delayed_write",
            FaultKind::BackendRestart => "backend_restart",
            FaultKind::MemberCrash { .. } => "member_crash",
            FaultKind::MemberPause { .. } => "member_pause",
            FaultKind::MemberIsolate { .. } => "member_isolate",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} at {:#}", self.kind.name(), self.node, self.at)?;
        if let FaultKind::Stop {
            upgrade_to: Some(version),
        } = self.kind
        {
            write!(f, " (upgrading to spec version {version})")?;
        }
        if let Some(d) = self.duration {
            write!(f, " for {d:#}")?;
        }
        Ok(())
    }
}

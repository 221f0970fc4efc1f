//! Job policies: misfire (catch-up), overlap and delivery.
//!
//! These are plain values that describe *what* should happen; the decisions themselves are taken
//! by [`crate::plan`], and carried out by the runner. Models: Kubernetes CronJob
//! (`startingDeadlineSeconds`, `concurrencyPolicy`), Quartz misfire instructions and Temporal's
//! overlap policies.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a new (or late) leader does with ticks that came due while nobody ran them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MisfirePolicy {
    /// Which missed ticks still run.
    pub catch_up: CatchUp,
    /// A tick later than this (against the leader's clock) is abandoned and reported, whatever
    /// `catch_up` says. `None` means no deadline.
    #[serde(with = "opt_duration")]
    pub starting_deadline: Option<Duration>,
}

/// Which missed ticks a leader still runs.
///
/// A tick is *missed* when it was scheduled before the current leader took office, or when a newer
/// tick of the same job is already due (the leader fell behind). The newest due tick scheduled
/// during the current leadership is never missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CatchUp {
    /// Run every missed tick, oldest first, but at most the newest `max` of them; older ones are
    /// abandoned (Kubernetes gives up past 100).
    All {
        /// The most missed ticks one catch-up runs.
        max: u32,
    },
    /// Run only the most recent due tick; every older one is abandoned as superseded.
    Latest,
    /// Run no missed tick; wait for the next one (Quartz "do nothing").
    Skip,
}

impl MisfirePolicy {
    /// Catch up on every missed tick, at most `max` of them.
    pub const fn all(max: u32) -> Self {
        Self {
            catch_up: CatchUp::All { max },
            starting_deadline: None,
        }
    }

    /// Run only the most recent due tick.
    pub const fn latest() -> Self {
        Self {
            catch_up: CatchUp::Latest,
            starting_deadline: None,
        }
    }

    /// Run no missed tick.
    pub const fn skip() -> Self {
        Self {
            catch_up: CatchUp::Skip,
            starting_deadline: None,
        }
    }

    /// Abandon ticks that could not start within `deadline` of their scheduled time.
    pub const fn with_starting_deadline(mut self, deadline: Duration) -> Self {
        self.starting_deadline = Some(deadline);
        self
    }
}

impl Default for MisfirePolicy {
    /// Catch up on at most 100 missed ticks, no starting deadline.
    fn default() -> Self {
        Self::all(100)
    }
}

/// What happens when a tick comes due while an earlier run of the same job is still going.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    /// Skip the new tick and record it as skipped. Catch-up ticks run one after another.
    #[default]
    Forbid,
    /// Start the new tick alongside the running one.
    Allow,
    /// Cancel the running one, then start the new tick.
    Replace,
}

/// When a tick counts as done in the checkpoint, relative to running it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Claim the tick, then run it: a crash mid-run loses that run, never repeats it.
    #[default]
    AtMostOnce,
    /// Run the tick, then commit it: a crash or lost leadership mid-run means it runs again.
    AtLeastOnce,
}

impl fmt::Display for MisfirePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.catch_up {
            CatchUp::All { max } => write!(f, "all(max={max})")?,
            CatchUp::Latest => write!(f, "latest")?,
            CatchUp::Skip => write!(f, "skip")?,
        }
        if let Some(d) = self.starting_deadline {
            write!(f, ", starting deadline {d:?}")?;
        }
        Ok(())
    }
}

impl fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OverlapPolicy::Forbid => "forbid",
            OverlapPolicy::Allow => "allow",
            OverlapPolicy::Replace => "replace",
        })
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::AtMostOnce => "at-most-once",
            Delivery::AtLeastOnce => "at-least-once",
        })
    }
}

/// Serde for `Option<Duration>` as a human-readable string such as `"30s"`.
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => {
                let signed =
                    jiff::SignedDuration::try_from(*d).map_err(serde::ser::Error::custom)?;
                s.serialize_some(&format!("{signed:#}"))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let signed: jiff::SignedDuration = text.parse().map_err(serde::de::Error::custom)?;
        Duration::try_from(signed)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a starting deadline must not be negative"))
    }
}

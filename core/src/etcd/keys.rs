//! The etcd key layout, all under the configured prefix `P`.
//!
//! | key | holds |
//! |---|---|
//! | `P/election/<name>/` | the election's etcd name; the v3 election API adds `/<lease>` per candidate. The trailing `/` keeps one election's keys from being a prefix of another's (`job-1` of `job-10`), which the simulated server's prefix watches would mix up |
//! | `P/jobs/<job>/spec` | the registered job definition (JSON) |
//! | `P/jobs/<job>/checkpoint` | the job's checkpoint (JSON) |
//! | `P/probe` | never written: read once at connect to prove access |

use crate::elector::ElectionName;
use crate::job::JobId;

/// The etcd election name of `name` (what `etcdctl elect` must be given to join it).
pub fn election(prefix: &str, name: &ElectionName) -> String {
    format!("{prefix}/election/{name}/")
}

/// The registered definition of `job`.
pub fn spec(prefix: &str, job: &JobId) -> String {
    format!("{prefix}/jobs/{job}/spec")
}

/// The checkpoint of `job`.
pub fn checkpoint(prefix: &str, job: &JobId) -> String {
    format!("{prefix}/jobs/{job}/checkpoint")
}

/// The key read at connect time.
pub fn probe(prefix: &str) -> String {
    format!("{prefix}/probe")
}

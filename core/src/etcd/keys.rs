//! The etcd key layout, all under the configured prefix `P`.
//!
//! | key | holds |
//! |---|---|
//! | `P/election/<name>/` | the election's etcd name; the v3 election API adds `/<lease>` per candidate. The trailing `/` keeps one election's keys from being a prefix of another's (`job-1` of `job-10`), which the simulated server's prefix watches would mix up |
//! | `P/election/<name>//<lease>` | a candidate's key: the election name, `/`, the session's lease in hex, as etcd's own elections (and `etcdctl elect`) write it |
//! | `P/fence/<name>/<lease>` | the campaign the session `<lease>` runs in election `<name>` (a value unique per campaign, on the session's lease): written before each campaign, so a fenced write of an older leadership of the same session is refused even though the campaign recreates the same leader key with the same value |
//! | `P/jobs/<job>/spec` | the registered job definition (JSON) |
//! | `P/jobs/<job>/checkpoint` | the job's checkpoint (JSON) |
//! | `P/probe` | never written: read once at connect to prove access |

use crate::elector::ElectionName;
use crate::job::JobId;

/// The etcd election name of `name` (what `etcdctl elect` must be given to join it).
pub fn election(prefix: &str, name: &ElectionName) -> String {
    format!("{prefix}/election/{name}/")
}

/// The candidate key of the session with `lease` in election `name`: etcd's
/// `concurrency.Election` key, `<election name>/<lease in hex>`.
pub fn candidate(prefix: &str, name: &ElectionName, lease: u64) -> String {
    format!("{}/{lease:x}", election(prefix, name))
}

/// The fence key of the session with `lease` in election `name`.
pub fn fence(prefix: &str, name: &ElectionName, lease: u64) -> String {
    format!("{prefix}/fence/{name}/{lease:016x}")
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

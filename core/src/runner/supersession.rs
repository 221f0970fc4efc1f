//! Noticing a newer job definition between ticks, not when a tick's claim is refused.
//!
//! During a rolling upgrade a node carrying version 2 registers it while an old-version node
//! leads. The backend refuses that leader's next claim (`SpecSuperseded`), but the refusal comes
//! only when a tick is due, so the handoff to a node that carries the new version lands right on
//! the tick, and a `Skip` job then misses it. A [`SpecWatch`] runs beside the leadership: it
//! reads the registered versions of the election's jobs at the win and then every third of the
//! lease TTL, and reports the first job a newer version supersedes, so the leader ends
//! ([`super::leading`]'s `Ending::Superseded`) between ticks. It only reads: deciding what the
//! end means stays with the lifecycle, and the claim's own check still holds when a tick comes
//! due before the watch has read.

use std::sync::Arc;
use std::time::Duration;

use super::NodeCtx;
use crate::error::Error;
use crate::job::{Job, JobId};
use crate::signal;

/// The watch of one leadership's job definitions; [`SpecWatch::stop`] ends it.
pub(crate) struct SpecWatch {
    superseded: signal::Receiver<Option<Error>>,
    stop: signal::Sender<bool>,
}

impl SpecWatch {
    /// Starts watching the registered versions of `jobs` for `ctx`'s node.
    pub(crate) fn start(ctx: &Arc<NodeCtx>, jobs: &[Job]) -> Self {
        let (found, superseded) = signal::channel(None);
        let (stop, stopped) = signal::channel(false);
        let carried: Vec<(JobId, u64)> = jobs
            .iter()
            .map(|j| (j.id.clone(), j.spec.version))
            .collect();
        let every = probe_interval(ctx.config.lease_ttl);
        tokio::spawn(watch(ctx.clone(), carried, every, found, stopped));
        SpecWatch { superseded, stop }
    }

    /// The refusal the backend would give a claim now, once a read has found one.
    pub(crate) fn superseded(&self) -> Option<Error> {
        self.superseded.borrow()
    }

    /// Resolves with the refusal once a read finds a newer version; never, if the watch stops
    /// without finding one.
    pub(crate) async fn found(&mut self) -> Error {
        match self.superseded.wait_for(Option::is_some).await {
            Ok(found) => found.expect("waited for a found supersession"),
            Err(_) => std::future::pending().await,
        }
    }

    /// Ends the watch: the leadership is over.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// How often a leader reads its jobs' registered versions: as often as it renews its lease, so a
/// newer definition is noticed within about a third of the TTL.
fn probe_interval(lease_ttl: Duration) -> Duration {
    (lease_ttl / 3).max(Duration::from_millis(100))
}

/// Reads the registered versions until one is newer than the node's or the watch is stopped. A
/// read that fails is tried again at the next interval: the claims' own check covers the gap.
async fn watch(
    ctx: Arc<NodeCtx>,
    carried: Vec<(JobId, u64)>,
    every: Duration,
    found: signal::Sender<Option<Error>>,
    mut stopped: signal::Receiver<bool>,
) {
    let ids: Vec<JobId> = carried.iter().map(|(id, _)| id.clone()).collect();
    loop {
        let read = ctx.call("read spec versions", ctx.backend.spec_versions(&ids));
        let read = tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            read = read => read,
        };
        if let Some(error) = read.ok().and_then(|r| superseded_by(&carried, &r)) {
            found.send_replace(Some(error));
            return;
        }
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The first job whose registered version is newer than the one this node carries, as the
/// refusal a claim of it would get.
pub(crate) fn superseded_by(carried: &[(JobId, u64)], registered: &[u64]) -> Option<Error> {
    carried
        .iter()
        .zip(registered)
        .find(|((_, local), registered)| *registered > local)
        .map(|((job, local), &registered)| Error::SpecSuperseded {
            job: job.clone(),
            registered,
            local: *local,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carried(versions: &[u64]) -> Vec<(JobId, u64)> {
        versions
            .iter()
            .enumerate()
            .map(|(i, &v)| (JobId::new(format!("job{i}")).expect("a valid job id"), v))
            .collect()
    }

    #[test]
    fn a_newer_registered_version_supersedes_the_leader() {
        // The second job's registry holds version 2 while the node carries 1: exactly the
        // refusal its next claim would get, naming that job and both versions.
        let found = superseded_by(&carried(&[1, 1]), &[1, 2]);
        assert_eq!(
            found,
            Some(Error::SpecSuperseded {
                job: JobId::new("job1").expect("a valid job id"),
                registered: 2,
                local: 1,
            })
        );
    }

    #[test]
    fn the_same_or_an_older_registered_version_does_not_supersede() {
        // A node that itself upgraded the registry (it carries the newer version) or one that
        // matches it must lead on: only a strictly newer registration ends its leadership.
        assert_eq!(superseded_by(&carried(&[2, 1]), &[1, 1]), None);
        assert_eq!(superseded_by(&carried(&[1]), &[1]), None);
    }

    #[test]
    fn a_leader_reads_versions_as_often_as_it_renews_its_lease() {
        // A third of the TTL: a newer definition is noticed well within one lease, and a tiny
        // TTL does not turn the watch into a busy loop.
        assert_eq!(
            probe_interval(Duration::from_secs(9)),
            Duration::from_secs(3)
        );
        assert_eq!(
            probe_interval(Duration::from_millis(30)),
            Duration::from_millis(100)
        );
    }
}

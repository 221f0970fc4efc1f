//! What a waiting candidate (or an observer of the leader) waits on between its reads of an
//! election: a stream that reports changes to the election's keys.
//!
//! On a real server it is a plain watch of the election's key prefix on the client's own watch
//! stream. It is not the election service's `Observe`: etcd serves every `Observe` (and every
//! server-side campaign) from one in-process watch stream shared by all its clients, and that
//! stream can block for good once one of those watches is cancelled (etcd-io/etcd#20716; seen on
//! etcd 3.4.23 when crashed nodes' observers went away: `etcd_debugging_mvcc_pending_events_total`
//! stuck, every observer silent through its leader's lease expiry, while a plain watch on the same
//! server reported the delete at once). A waiting candidate then learned its turn only from its
//! own periodic re-read. In the simulator, whose etcd has no watch API, it is the election's
//! `Observe`, which there reports the leaders its own campaign call made; the periodic re-read
//! covers the rest.
//!
//! (`doctest` joins `madsim` in the `cfg`s below: rustdoc collects the doc tests without the
//! simulator's `--cfg madsim` while the dependencies are built with it, so only the API both
//! etcd clients have may be named then.)
//!
//! Either way a change is only a reason to read the election again (or, from `Observe`, the
//! leader itself); a stream that breaks is no answer about the election.

use super::EtcdBackend;
use crate::elector::LeaderInfo;

/// A change to an election, as its stream reports it.
pub(super) enum Change {
    /// The stream names the leader: its key, and the leader as [`super::election`] reads it.
    /// (Only the simulator's `Observe` names one.)
    #[cfg_attr(not(any(madsim, doctest)), allow(dead_code))]
    Leader { key: Vec<u8>, leader: LeaderInfo },
    /// The stream says the election has no leader.
    #[cfg_attr(not(any(madsim, doctest)), allow(dead_code))]
    NoLeader,
    /// Something in the election changed: read it again to know what. (Only a real server's
    /// watch says this.)
    #[cfg_attr(any(madsim, doctest), allow(dead_code))]
    Read,
}

/// An open stream of changes to one election.
pub(super) struct Changes {
    #[cfg(not(any(madsim, doctest)))]
    stream: etcd_client::WatchStream,
    #[cfg(any(madsim, doctest))]
    stream: etcd_client::ObserveStream,
}

#[cfg(not(any(madsim, doctest)))]
impl Changes {
    /// Opens a watch of every key of election `name` (its etcd name, a key prefix) and waits
    /// until the server has registered it, so every change after this returns is reported.
    /// `None` when it could not be opened.
    pub(super) async fn open(backend: &EtcdBackend, name: &str) -> Option<Changes> {
        use etcd_client::WatchOptions;
        let mut watches = backend.client().watch_client();
        let options = WatchOptions::new().with_prefix();
        let opened = backend.bounded("watch election", async {
            let mut stream = watches.watch(name, Some(options)).await?;
            let created = stream.message().await?;
            Ok(created.map(|_| stream))
        });
        match opened.await {
            Ok(Some(stream)) => Some(Changes { stream }),
            _ => None,
        }
    }

    /// The next change, or `None` once the stream broke or the server cancelled the watch.
    pub(super) async fn next(&mut self) -> Option<Change> {
        loop {
            let response = self.stream.message().await.ok()??;
            if response.canceled() {
                return None;
            }
            if !response.events().is_empty() {
                return Some(Change::Read);
            }
        }
    }
}

#[cfg(any(madsim, doctest))]
impl Changes {
    /// Opens the election service's `Observe` of election `name`; `None` when it could not be
    /// opened.
    pub(super) async fn open(backend: &EtcdBackend, name: &str) -> Option<Changes> {
        let mut elections = backend.client().election_client();
        let stream = backend
            .bounded("observe leader", elections.observe(name.to_string()))
            .await
            .ok()?;
        Some(Changes { stream })
    }

    /// The next leader `Observe` reports, or `None` once the stream broke.
    pub(super) async fn next(&mut self) -> Option<Change> {
        let response = self.stream.message().await.ok()??;
        Some(match response.kv() {
            Some(kv) => Change::Leader {
                key: kv.key().to_vec(),
                leader: super::election::leader_info(kv),
            },
            None => Change::NoLeader,
        })
    }
}

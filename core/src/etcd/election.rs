//! The etcd backend as an [`Elector`]: the standard v3 election protocol.
//!
//! A campaign puts `<election>/<lease>` with the node's value and waits until it is the oldest
//! key of the election, exactly as `etcdctl elect` does (etcd's own `concurrency.Election`, whose
//! key it writes: the election name, `/`, the lease in hex), so etcd tools see and take part in
//! the same elections. The leader key's create revision is the fencing token: etcd revisions
//! only grow, and an election's leader is always its oldest key, so each new leader's key is
//! younger than every earlier leader's. The leader key is remembered so fenced writes can
//! compare it.
//!
//! The waiting is done here, not in the server's campaign call: madsim's simulated server
//! answers a waiting campaign through a channel of four events and panics (`sender should not
//! drop`) when a fifth event of the election arrives before the campaign reads them, for example
//! when the leases of five crashed candidates expire in the same second. A campaign puts its key
//! itself and waits on the election's changes ([`super::changes`]: a watch of the election's
//! keys on a real server, the election's `Observe` in the simulator, which that server ends
//! rather than panics when it falls behind), so no number of candidates can break it; and the
//! token is the key's create revision as the election shows it, never the store's current
//! revision that server answers a campaign whose key already existed. (A real server's campaign
//! call and `Observe` share one in-process watch stream that can block for good, see
//! [`super::changes`]: one more reason to wait on the client's own watch.)
//!
//! The leader key's value is the node name (what `etcdctl elect -l` shows), the same for every
//! campaign of one session, and a campaign after a resign recreates the very same key: its value
//! cannot tell two leaderships of one session apart. So before each campaign the session's fence
//! key for the election ([`keys::fence`]) gets a value unique to that campaign, and fenced writes
//! compare it too: from the moment a session campaigns again, every older leadership of that
//! session is fenced out, however long its writes keep retrying.

use std::sync::atomic::Ordering;
use std::time::Duration;

use etcd_client::{GetOptions, LeaderKey, PutOptions, ResignOptions};

use super::changes::{Change, Changes};
use super::{keys, EtcdBackend};
use crate::elector::{ElectionName, Elector, FencingToken, LeaderInfo, Leadership, Session};
use crate::error::{Error, Result};

/// How long a waiting campaign pauses after the election's changes stopped coming (their stream
/// broke), before it opens them and reads the election again (a short pause: a broken stream is
/// no reason to take over later).
const OBSERVE_RETRY: Duration = Duration::from_millis(50);

/// How long a waiting campaign trusts the election's changes to report its turn before it reads
/// the election again itself: in the simulator they can stay silent through the change that
/// makes it leader (madsim's simulated server observes the leaders its own campaign call made,
/// not keys put by candidates); on a real server the watch reports it, and this is a backstop.
const REREAD: Duration = Duration::from_secs(1);

#[async_trait::async_trait]
impl Elector for EtcdBackend {
    fn name(&self) -> String {
        self.inner.config.name()
    }

    async fn open_session(&self, ttl: Duration) -> Result<Session> {
        self.grant_session(ttl).await
    }

    async fn close_session(&self, session: &Session) -> Result<()> {
        let mut leases = self.client().lease_client();
        match self
            .bounded("revoke lease", leases.revoke(session.lease as i64))
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::BackendUnavailable { reason, .. }) if reason.contains("lease not found") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<Leadership> {
        let fence = self.new_campaign(session, election, value).await?;
        let candidate = keys::candidate(&self.inner.config.prefix, election, session.lease);
        self.stand(&candidate, value, session).await?;
        let token = self.await_turn(election, &candidate, session).await?;
        self.inner
            .leader_keys
            .lock()
            .expect("leader keys lock")
            .insert(
                (election.clone(), token.0),
                Held {
                    leader_key: candidate.into_bytes(),
                    fence,
                },
            );
        Ok(Leadership::new(
            election.clone(),
            token,
            value.to_string(),
            session,
        ))
    }

    async fn resign(&self, leadership: &Leadership) -> Result<()> {
        let Some(held) = self.held(&leadership.election, leadership.token) else {
            return Ok(());
        };
        let name = keys::election(&self.inner.config.prefix, &leadership.election);
        let leader = LeaderKey::new()
            .with_name(name)
            .with_key(held.leader_key)
            .with_rev(leadership.token.0 as i64)
            .with_lease(leadership.lease as i64);
        let mut elections = self.client().election_client();
        let resigned = elections.resign(Some(ResignOptions::new().with_leader(leader)));
        match self.bounded("resign", resigned).await {
            Ok(_) => Ok(()),
            // The key is already gone: nothing left to resign.
            Err(Error::BackendUnavailable { reason, .. })
                if reason.contains("session expired") || reason.contains("not leader") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the session's candidate key: a waiting candidate's place, or a leader key whose
    /// win was never handed out. A plain delete, like a resign, wakes the candidates behind it.
    async fn withdraw(&self, session: &Session, election: &ElectionName) -> Result<()> {
        let candidate = keys::candidate(&self.inner.config.prefix, election, session.lease);
        let mut kv = self.client().kv_client();
        self.bounded("withdraw", kv.delete(candidate, None)).await?;
        Ok(())
    }

    /// Reads the election and revokes the lease of every key in it with this node's value on
    /// another lease: the whole session goes, its keys in other elections and its fence keys
    /// with it, as when its process closes it. A lease already gone is no error.
    async fn withdraw_predecessors(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<()> {
        let name = keys::election(&self.inner.config.prefix, election);
        let mut kv = self.client().kv_client();
        let read = self
            .bounded(
                "withdraw predecessors",
                kv.get(name, Some(GetOptions::new().with_prefix())),
            )
            .await?;
        let mut left: Vec<i64> = read
            .kvs()
            .iter()
            .filter(|kv| kv.value() == value.as_bytes())
            .map(|kv| kv.lease())
            .filter(|&lease| lease != 0 && lease != session.lease as i64)
            .collect();
        left.sort_unstable();
        left.dedup();
        let mut leases = self.client().lease_client();
        for lease in left {
            match self
                .bounded("withdraw predecessors", leases.revoke(lease))
                .await
            {
                Ok(_) => {}
                Err(Error::BackendUnavailable { reason, .. })
                    if reason.contains("lease not found") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn leader(&self, election: &ElectionName) -> Result<Option<LeaderInfo>> {
        let name = keys::election(&self.inner.config.prefix, election);
        let mut elections = self.client().election_client();
        match self.bounded("read leader", elections.leader(name)).await {
            Ok(response) => Ok(response.kv().map(leader_info)),
            Err(Error::BackendUnavailable { reason, .. }) if reason.contains("no leader") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn observe(
        &self,
        election: &ElectionName,
        seen: Option<&LeaderInfo>,
    ) -> Result<Option<LeaderInfo>> {
        let name = keys::election(&self.inner.config.prefix, election);
        let changes = Changes::open(self, &name).await;
        let current = self.leader(election).await?;
        if current.as_ref() != seen {
            return Ok(current);
        }
        let Some(mut changes) = changes else {
            return Err(Error::BackendUnavailable {
                backend: self.inner.config.name(),
                operation: "observe leader",
                reason: "the election's changes could not be watched".into(),
            });
        };
        let deadline = tokio::time::Instant::now() + self.inner.config.observe_wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let change = match tokio::time::timeout(left, changes.next()).await {
                Err(_) | Ok(None) => return Ok(current),
                Ok(Some(change)) => change,
            };
            let observed = match change {
                Change::Leader { leader, .. } => Some(leader),
                Change::NoLeader => None,
                Change::Read => self.leader(election).await?,
            };
            if observed.as_ref() != seen {
                return Ok(observed);
            }
        }
    }
}

/// The leader an election's oldest key names: its value, and its revision as the token.
pub(super) fn leader_info(kv: &etcd_client::KeyValue) -> LeaderInfo {
    LeaderInfo {
        value: String::from_utf8_lossy(kv.value()).into_owned(),
        token: FencingToken(kv.create_revision() as u64),
    }
}

/// The keys a won leadership's fenced writes compare.
#[derive(Clone, Debug)]
pub(super) struct Held {
    /// The leader key (`<election>/<lease>`), whose value is the node's campaign value.
    pub(super) leader_key: Vec<u8>,
    /// The session's fence key and the value unique to the campaign that won.
    pub(super) fence: (String, String),
}

impl EtcdBackend {
    /// The keys of this client's leadership `token` in `election`, if it won it.
    pub(super) fn held(&self, election: &ElectionName, token: FencingToken) -> Option<Held> {
        self.inner
            .leader_keys
            .lock()
            .expect("leader keys lock")
            .get(&(election.clone(), token.0))
            .cloned()
    }

    /// Enters `session` as a candidate of the election whose key is `candidate`: puts the key
    /// with the node's `value` on the session's lease unless it is there already (left by an
    /// earlier campaign of the session, it keeps its create revision, and so its place). Only an
    /// absent key is written: madsim's simulated server detaches a key from its lease when it is
    /// put again on the same lease (that key would outlive its session), and panics on a put in
    /// a transaction whose lease is gone, so the check is a read, not a transaction. Only this
    /// session writes the key, so nothing else can create it between the read and the put.
    async fn stand(&self, candidate: &str, value: &str, session: &Session) -> Result<()> {
        let mut kv = self.client().kv_client();
        let read = self.bounded("campaign", kv.get(candidate, None)).await?;
        if read.kvs().iter().any(|kv| kv.value() == value.as_bytes()) {
            return Ok(());
        }
        let options = PutOptions::new().with_lease(session.lease as i64);
        self.bounded("campaign", kv.put(candidate, value, Some(options)))
            .await?;
        Ok(())
    }

    /// Waits until `candidate` is the oldest key of `election` and answers its create revision
    /// (the fencing token), or `LeaseLost` when the key is gone (its lease ended meanwhile).
    /// It waits as a server-side campaign would, on one long-lived request: the election's
    /// changes ([`super::changes`]), opened before the election is read, so a change after the
    /// read reaches it, and each change the watch reports is read. A stream that breaks (the
    /// simulated server drops an observer that falls four events behind, as it broke the
    /// server-side campaign) is no answer about the election: it is opened again and the
    /// election read again; an unreachable backend fails that read. A stream silent for
    /// [`REREAD`] is not trusted either: the election is read again meanwhile.
    async fn await_turn(
        &self,
        election: &ElectionName,
        candidate: &str,
        session: &Session,
    ) -> Result<FencingToken> {
        let name = keys::election(&self.inner.config.prefix, election);
        loop {
            let changes = Changes::open(self, &name).await;
            if let Some(token) = self.turn(&name, candidate, session).await? {
                return Ok(token);
            }
            if let Some(mut changes) = changes {
                loop {
                    tokio::select! {
                        biased;
                        change = changes.next() => match change {
                            Some(Change::Leader { key, leader }) => {
                                if key == candidate.as_bytes() {
                                    return Ok(leader.token);
                                }
                                tracing::debug!(candidate, leader = leader.value, "the election reports another leader");
                            }
                            Some(Change::NoLeader) => {}
                            Some(Change::Read) => {
                                if let Some(token) = self.turn(&name, candidate, session).await? {
                                    return Ok(token);
                                }
                            }
                            // A broken stream: open it again, then read again.
                            None => break,
                        },
                        _ = tokio::time::sleep(REREAD) => {
                            if let Some(token) = self.turn(&name, candidate, session).await? {
                                tracing::debug!(candidate, "the re-read, not the election's changes, found the turn");
                                return Ok(token);
                            }
                        }
                    }
                }
            }
            tokio::time::sleep(OBSERVE_RETRY).await;
        }
    }

    /// Reads election `name`: the create revision of `candidate` if it is the oldest key, `None`
    /// if an older one is there, `LeaseLost` if `candidate` is gone.
    async fn turn(
        &self,
        name: &str,
        candidate: &str,
        session: &Session,
    ) -> Result<Option<FencingToken>> {
        let mut kv = self.client().kv_client();
        let read = self
            .bounded(
                "campaign",
                kv.get(name, Some(GetOptions::new().with_prefix())),
            )
            .await?;
        let ours = read
            .kvs()
            .iter()
            .find(|kv| kv.key() == candidate.as_bytes())
            .ok_or(Error::LeaseLost {
                lease: session.lease,
            })?;
        let oldest = read
            .kvs()
            .iter()
            .min_by_key(|kv| kv.create_revision())
            .expect("the election holds at least the candidate's own key");
        let token = FencingToken(ours.create_revision() as u64);
        Ok((oldest.key() == ours.key()).then_some(token))
    }

    /// Marks the start of a new campaign of `session` in `election`: its fence key gets a value
    /// no earlier campaign had, on the session's lease (gone with it).
    async fn new_campaign(
        &self,
        session: &Session,
        election: &ElectionName,
        value: &str,
    ) -> Result<(String, String)> {
        let number = self.inner.campaigns.fetch_add(1, Ordering::Relaxed) + 1;
        let key = keys::fence(&self.inner.config.prefix, election, session.lease);
        let unique = format!("{value}#{number}");
        let options = PutOptions::new().with_lease(session.lease as i64);
        let mut kv = self.client().kv_client();
        self.bounded(
            "campaign",
            kv.put(key.clone(), unique.clone(), Some(options)),
        )
        .await?;
        Ok((key, unique))
    }
}

//! The etcd backend as an [`Elector`]: the standard v3 election protocol.
//!
//! A campaign puts `<election>/<lease>` with the node's value and waits until it is the oldest
//! key of the election, exactly as `etcdctl elect` does, so etcd tools see and take part in the
//! same elections. The leader key's create revision is the fencing token: etcd revisions only
//! grow, and an election's leader is always its oldest key, so each new leader's key is younger
//! than every earlier leader's. The token is read back from the key itself, not taken from the
//! campaign's answer: real etcd answers the key's create revision, but madsim's simulated server
//! answers the store's *current* revision when the candidate's key already existed (a session
//! campaigning again after its campaign call broke, for example when the server restarted), a
//! token newer than the next leader's. The leader key is remembered so fenced writes can
//! compare it.
//!
//! The leader key's value is the node name (what `etcdctl elect -l` shows), the same for every
//! campaign of one session, and a campaign after a resign recreates the very same key: its value
//! cannot tell two leaderships of one session apart. So before each campaign the session's fence
//! key for the election ([`keys::fence`]) gets a value unique to that campaign, and fenced writes
//! compare it too: from the moment a session campaigns again, every older leadership of that
//! session is fenced out, however long its writes keep retrying.

use std::sync::atomic::Ordering;
use std::time::Duration;

use etcd_client::{LeaderKey, PutOptions, ResignOptions};

use super::{keys, EtcdBackend};
use crate::elector::{ElectionName, Elector, FencingToken, LeaderInfo, Leadership, Session};
use crate::error::{Error, Result};

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
        let name = keys::election(&self.inner.config.prefix, election);
        let mut elections = self.client().election_client();
        // No request timeout: a campaign waits server-side until it wins. The runner abandons
        // it when the session is lost or the node stops.
        let won = elections
            .campaign(name, value, session.lease as i64)
            .await
            .map_err(|e| super::classify(&self.inner.config.name(), "campaign", &e))?;
        let key = won
            .leader()
            .cloned()
            .ok_or_else(|| Error::BackendUnavailable {
                backend: self.inner.config.name(),
                operation: "campaign",
                reason: "the server answered a campaign without a leader key".into(),
            })?;
        let token = self.created(key.key(), session).await?;
        self.inner
            .leader_keys
            .lock()
            .expect("leader keys lock")
            .insert(
                (election.clone(), token.0),
                Held {
                    leader_key: key.key().to_vec(),
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
        let current = self.leader(election).await?;
        if current.as_ref() != seen {
            return Ok(current);
        }
        let name = keys::election(&self.inner.config.prefix, election);
        let mut elections = self.client().election_client();
        let mut stream = self
            .bounded("observe leader", elections.observe(name))
            .await?;
        let deadline = tokio::time::Instant::now() + self.inner.config.observe_wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = match tokio::time::timeout(left, stream.message()).await {
                Err(_) => return Ok(current),
                Ok(message) => message.map_err(|e| {
                    super::classify(&self.inner.config.name(), "observe leader", &e)
                })?,
            };
            let Some(response) = message else {
                return Ok(current);
            };
            let observed = response.kv().map(leader_info);
            if observed.as_ref() != seen {
                return Ok(observed);
            }
        }
    }
}

/// The leader an election's oldest key names: its value, and its revision as the token.
fn leader_info(kv: &etcd_client::KeyValue) -> LeaderInfo {
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

    /// The fencing token of a won leadership: the create revision of its leader key, or
    /// `LeaseLost` when the key is already gone (its lease ended right after the win).
    async fn created(&self, leader_key: &[u8], session: &Session) -> Result<FencingToken> {
        let mut kv = self.client().kv_client();
        let read = self
            .bounded("campaign", kv.get(leader_key.to_vec(), None))
            .await?;
        match read.kvs().first() {
            Some(kv) => Ok(FencingToken(kv.create_revision() as u64)),
            None => Err(Error::LeaseLost {
                lease: session.lease,
            }),
        }
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

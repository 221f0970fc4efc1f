//! The etcd backend: elections, checkpoints and the job registry on an etcd v3 cluster.
//!
//! Written once against the `etcd-client` API through `madsim-etcd-client`: in the simulator it
//! talks to madsim's simulated etcd, in a real build to real etcd servers. Only the API subset
//! both implement is used — leases with keepalive, the v3 election API, and transactions whose
//! compares are on **values only** (the simulated server has no revision compares). A leadership's
//! fencing token is its leader key's create revision, read back after the win; fenced writes compare the value of that leader key
//! and of the session's fence key, which holds a value unique to the campaign that won.
//! Everything lives under a configurable key prefix so applications can share a cluster
//! ([`keys`]). Sessions are in [`session`], elections in [`election`], checkpoints and the
//! registry in [`store`], error mapping in [`errors`].

mod changes;
mod election;
mod errors;
pub mod keys;
mod session;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};

use crate::elector::ElectionName;
use crate::error::{Error, Result};
use crate::job::JobId;

pub use errors::classify;
use store::CachedJob;

/// How to reach an etcd cluster.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// `host:port` or `http(s)://host:port` of one or more members.
    pub endpoints: Vec<String>,
    /// Every key cronfence writes starts with this (default `/cronfence`).
    pub prefix: String,
    /// Bound on connecting (default 5 s).
    pub connect_timeout: Duration,
    /// Bound on each request (default 2 s).
    pub request_timeout: Duration,
    /// The longest an `observe` call waits for a change (default 5 s).
    pub observe_wait: Duration,
    /// User name and password, if the cluster has authentication on.
    pub user: Option<(String, String)>,
    /// TLS: CA certificate, and client certificate and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// **Test-only:** a harness's stuck packets ([`StuckWrites`]); `None` (the default) in
    /// production.
    pub stuck_writes: Option<Arc<dyn StuckWrites>>,
}

/// **Test-only:** a harness's stuck-packet fault (`delayed_write`), for a backend it cannot reach
/// inside. Before each claim or commit transaction goes out, [`StuckWrites::hold`] says whether
/// the network holds it and for how long: a held transaction is sent that much later, on a task
/// of its own (it is lost if the node dies first, as the simulator's stuck packets are), and its
/// caller hears nothing and gives up after its request timeout. The transaction is the one built
/// when the write was made, so it compares what its caller had read then, as a late packet does.
pub trait StuckWrites: Send + Sync + std::fmt::Debug {
    /// How long the next claim or commit is held, if it is.
    fn hold(&self) -> Option<Duration>;
}

/// PEM files for TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA certificate that signed the servers' certificates.
    pub ca: PathBuf,
    /// The client certificate and key, for clusters that require client certificates.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl EtcdConfig {
    /// Defaults for the given endpoints.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EtcdConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: "/cronfence".into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(2),
            observe_wait: Duration::from_secs(5),
            user: None,
            tls: None,
            stuck_writes: None,
        }
    }

    fn name(&self) -> String {
        format!("etcd {}", self.endpoints.join(","))
    }
}

/// The etcd backend's client. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct EtcdBackend {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: EtcdConfig,
    /// The leaderships this client won: (election, token) → their keys.
    leader_keys: Mutex<BTreeMap<(ElectionName, u64), election::Held>>,
    /// Campaigns this client started, numbering each one's fence value.
    campaigns: std::sync::atomic::AtomicU64,
    /// What this client last read or wrote for each job.
    jobs: Mutex<BTreeMap<JobId, CachedJob>>,
}

impl EtcdBackend {
    /// Connects within `connect_timeout`, checking the endpoint answers and the credentials are
    /// accepted; every failure is a typed error naming the endpoint and the fix.
    pub async fn connect(config: EtcdConfig) -> Result<Self> {
        if config.endpoints.is_empty() {
            return Err(Error::BackendRejected {
                backend: "etcd".into(),
                operation: "connect",
                reason: "no endpoints given".into(),
                hint: "pass at least one endpoint, e.g. 127.0.0.1:2379".into(),
            });
        }
        let options = connect_options(&config)?;
        let connect = Client::connect(config.endpoints.clone(), Some(options));
        let client = match tokio::time::timeout(config.connect_timeout, connect).await {
            Err(_) => return Err(errors::connect_timeout(&config)),
            Ok(Err(e)) => return Err(errors::connect_failed(&config, &e)),
            Ok(Ok(client)) => client,
        };
        // A cheap authenticated read proves the endpoint is etcd and the credentials work.
        let mut kv = client.kv_client();
        let probe = kv.get(keys::probe(&config.prefix), None);
        match tokio::time::timeout(config.connect_timeout, probe).await {
            Err(_) => return Err(errors::connect_timeout(&config)),
            Ok(Err(e)) => return Err(errors::connect_failed(&config, &e)),
            Ok(Ok(_)) => {}
        }
        Ok(EtcdBackend {
            inner: Arc::new(Inner {
                client,
                config,
                leader_keys: Default::default(),
                campaigns: Default::default(),
                jobs: Default::default(),
            }),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &EtcdConfig {
        &self.inner.config
    }

    fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// Runs one request bounded by the request timeout, mapping failures to [`Error`]s.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = std::result::Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        let config = &self.inner.config;
        match tokio::time::timeout(config.request_timeout, call).await {
            Err(_) => Err(Error::BackendTimeout {
                backend: config.name(),
                operation,
                after: config.request_timeout,
            }),
            Ok(result) => result.map_err(|e| classify(&config.name(), operation, &e)),
        }
    }
}

impl std::fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

#[cfg(not(madsim))]
fn connect_options(config: &EtcdConfig) -> Result<ConnectOptions> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(config.connect_timeout)
        .with_timeout(config.request_timeout);
    if let Some((user, password)) = &config.user {
        options = options.with_user(user.clone(), password.clone());
    }
    if let Some(tls) = &config.tls {
        options = errors::with_tls(options, config, tls)?;
    }
    Ok(options)
}

#[cfg(madsim)]
fn connect_options(config: &EtcdConfig) -> Result<ConnectOptions> {
    let mut options = ConnectOptions::new();
    if let Some((user, password)) = &config.user {
        options = options.with_user(user.clone(), password.clone());
    }
    if config.tls.is_some() {
        return Err(Error::BackendRejected {
            backend: config.name(),
            operation: "connect",
            reason: "the simulated etcd has no TLS".into(),
            hint: "leave TLS off in simulated scenarios".into(),
        });
    }
    Ok(options)
}

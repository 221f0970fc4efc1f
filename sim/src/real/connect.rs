//! How a real-time world's nodes reach the backend under test: any [`Backend`], through a
//! [`Connect`]. The world hands each node's process the addresses it reaches the backend at —
//! its own proxies' when the world has them, so partitions, latency and an unresponsive backend
//! play on any backend that talks TCP to those addresses — and wraps what comes back in the
//! client-side fault layer ([`crate::boundary`]), so ambiguous commits play too. It also hands
//! each node's stuck-packet fault (`delayed_write`) to a backend that can hold its own writes
//! ([`Connect::holds_writes`]); a scenario with stuck writes is refused on one that cannot.
//! [`EtcdConnect`], the default, is the worked example: the etcd backend under the world's key
//! prefix, holding its claim and commit transactions through [`EtcdConfig::stuck_writes`].

use std::sync::Arc;

use cronfence::etcd::{EtcdBackend, EtcdConfig, StuckWrites};
use cronfence::{Backend, NodeConfig, Result};

/// Connects one node's process to the backend under test.
#[async_trait::async_trait]
pub trait Connect: Send + Sync {
    /// A backend for node `config.name`, reached at `endpoints`, keeping its keys under
    /// `prefix` (each scenario has its own); its calls should give up after
    /// `config.request_timeout`. An error is retried every 200 ms, as a node's process would
    /// retry an unreachable backend. `stuck` is the node's stuck-packet fault: a backend that
    /// [`holds_writes`](Connect::holds_writes) asks it before each claim or commit goes out.
    async fn connect(
        &self,
        config: &NodeConfig,
        endpoints: &[String],
        prefix: &str,
        stuck: Arc<dyn StuckWrites>,
    ) -> Result<Arc<dyn Backend>>;

    /// Whether the backends made hold writes as `stuck` says (default: no; scenarios with
    /// `delayed_write` then do not play on it).
    fn holds_writes(&self) -> bool {
        false
    }
}

/// The etcd backend ([`EtcdBackend`]): the real-time world's default.
pub struct EtcdConnect;

#[async_trait::async_trait]
impl Connect for EtcdConnect {
    async fn connect(
        &self,
        config: &NodeConfig,
        endpoints: &[String],
        prefix: &str,
        stuck: Arc<dyn StuckWrites>,
    ) -> Result<Arc<dyn Backend>> {
        let mut etcd = EtcdConfig::new(endpoints.iter().cloned());
        etcd.prefix = prefix.to_string();
        etcd.request_timeout = config.request_timeout;
        etcd.stuck_writes = Some(stuck);
        Ok(Arc::new(EtcdBackend::connect(etcd).await?))
    }

    fn holds_writes(&self) -> bool {
        true
    }
}

//! How a real-time world's nodes reach the backend under test: any [`Backend`], through a
//! [`Connect`]. The world hands each node's process the addresses it reaches the backend at —
//! its own proxies' when the world has them, so partitions, latency and an unresponsive backend
//! play on any backend that talks TCP to those addresses — and wraps what comes back in the
//! client-side fault layer ([`crate::boundary`]), so ambiguous commits play too. [`EtcdConnect`],
//! the default, is the worked example: the etcd backend under the world's key prefix.

use std::sync::Arc;

use cronfence::etcd::{EtcdBackend, EtcdConfig};
use cronfence::{Backend, NodeConfig, Result};

/// Connects one node's process to the backend under test.
#[async_trait::async_trait]
pub trait Connect: Send + Sync {
    /// A backend for node `config.name`, reached at `endpoints`, keeping its keys under
    /// `prefix` (each scenario has its own); its calls should give up after
    /// `config.request_timeout`. An error is retried every 200 ms, as a node's process would
    /// retry an unreachable backend.
    async fn connect(
        &self,
        config: &NodeConfig,
        endpoints: &[String],
        prefix: &str,
    ) -> Result<Arc<dyn Backend>>;
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
    ) -> Result<Arc<dyn Backend>> {
        let mut etcd = EtcdConfig::new(endpoints.iter().cloned());
        etcd.prefix = prefix.to_string();
        etcd.request_timeout = config.request_timeout;
        Ok(Arc::new(EtcdBackend::connect(etcd).await?))
    }
}

//! Mapping etcd client failures to cronfence's [`Error`], with the endpoint and a fix.
//!
//! Transport failures and unavailable members are transient (`BackendUnavailable`: retry);
//! failed authentication, TLS mismatches and malformed endpoints are not (`BackendRejected`,
//! with a hint). The classification reads the client's error text, which is the only part of
//! the error both the real and the simulated client share.

use super::EtcdConfig;
#[cfg(not(madsim))]
use super::TlsFiles;
use crate::error::Error;

/// Classifies a failed request.
pub fn classify(backend: &str, operation: &'static str, error: &etcd_client::Error) -> Error {
    let text = error.to_string();
    let lower = text.to_lowercase();
    let rejected = |hint: &str| Error::BackendRejected {
        backend: backend.to_string(),
        operation,
        reason: text.clone(),
        hint: hint.to_string(),
    };
    if lower.contains("authentication failed")
        || lower.contains("invalid auth token")
        || lower.contains("unauthenticated")
    {
        rejected("check the user name and password (EtcdConfig::user) against the cluster's users")
    } else if lower.contains("too many operations in txn") {
        rejected("a claim or commit batch is one transaction of 2 operations per job plus 2: start etcd with a larger --max-txn-ops (default 128, enough for 63 jobs due at once in one election)")
    } else if lower.contains("permission denied") {
        rejected("grant the user read/write access to the key prefix (etcdctl role grant-permission --prefix)")
    } else if is_tls(&lower) {
        rejected("check the TLS files: the CA must sign the servers' certificates, and https endpoints need TLS set")
    } else if lower.contains("invalid uri")
        || lower.contains("invalid arguments")
        || lower.contains("endpoint error")
    {
        rejected("endpoints look like 127.0.0.1:2379 or https://host:2379")
    } else {
        Error::BackendUnavailable {
            backend: backend.to_string(),
            operation,
            reason: text,
        }
    }
}

fn is_tls(lower: &str) -> bool {
    [
        "tls",
        "certificate",
        "handshake",
        "invalid peer",
        "invalidcontenttype",
        "corrupt message",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Connecting did not finish within the connect timeout.
pub(super) fn connect_timeout(config: &EtcdConfig) -> Error {
    Error::BackendUnavailable {
        backend: config.name(),
        operation: "connect",
        reason: format!(
            "no answer within {:?}; is etcd running at {} and reachable from here? (with TLS on the \
             server, use https:// endpoints and set TLS)",
            config.connect_timeout,
            config.endpoints.join(", ")
        ),
    }
}

/// Connecting failed outright.
pub(super) fn connect_failed(config: &EtcdConfig, error: &etcd_client::Error) -> Error {
    match classify(&config.name(), "connect", error) {
        Error::BackendUnavailable {
            backend, reason, ..
        } => Error::BackendUnavailable {
            backend,
            operation: "connect",
            reason: format!(
                "{reason}; is etcd running at {} and reachable from here?",
                config.endpoints.join(", ")
            ),
        },
        other => other,
    }
}

/// Adds TLS from PEM files to `options`; unreadable files are rejected with their path.
#[cfg(not(madsim))]
pub(super) fn with_tls(
    options: etcd_client::ConnectOptions,
    config: &EtcdConfig,
    tls: &TlsFiles,
) -> Result<etcd_client::ConnectOptions, Error> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| Error::BackendRejected {
            backend: config.name(),
            operation: "connect",
            reason: format!("cannot read {}: {e}", path.display()),
            hint: "point EtcdConfig::tls at readable PEM files".into(),
        })
    };
    let ca = etcd_client::Certificate::from_pem(read(&tls.ca)?);
    let mut tls_options = etcd_client::TlsOptions::new().ca_certificate(ca);
    if let Some((cert, key)) = &tls.identity {
        tls_options =
            tls_options.identity(etcd_client::Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(options.with_tls(tls_options))
}

//! Backend health: bounded calls, capped backoff, and the "unreachable" report.
//!
//! Every backend call the runner makes goes through [`NodeCtx::call`], which bounds it by the
//! request timeout and records success or failure. A watchdog task turns a run of failures that
//! lasts longer than `unreachable_after` into one `BackendUnreachable` error (status, event and
//! `tracing` warning) at exactly that bound — never the seed's silent hang — and into
//! `BackendRecovered` once a call succeeds again. Retries back off exponentially up to a cap.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::NodeCtx;
use crate::error::{Error, Result};
use crate::event::NodeEvent;

/// What the watchdog knows of the backend.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<HealthState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct HealthState {
    down_since: Option<Instant>,
    last_failure: Option<(&'static str, String)>,
    reported: bool,
}

/// Exponential backoff between `initial` and `max`, doubling per failure.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff { next: initial, max }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

impl NodeCtx {
    /// Runs one backend call bounded by the request timeout, recording its health.
    pub(crate) async fn call<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let after = self.config.request_timeout;
        let result = match tokio::time::timeout(after, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::BackendTimeout {
                backend: self.backend.name(),
                operation,
                after,
            }),
        };
        match &result {
            Err(e) if e.is_transient() => self.backend_failed(started, operation, e),
            _ => self.backend_ok(),
        }
        result
    }

    /// Repeats a backend call until it succeeds or fails permanently, backing off between
    /// transient failures. Returns `ShuttingDown` if the node is asked to stop meanwhile.
    pub(crate) async fn retry<T, F, Fut>(&self, operation: &'static str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut backoff = self.backoff();
        loop {
            match self.call(operation, call()).await {
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::debug!(node = %self.config.name, operation, error = %e, ?delay, "backend call failed; retrying");
                    if self.sleep_unless_stopping(delay).await {
                        return Err(Error::ShuttingDown);
                    }
                }
                other => return other,
            }
        }
    }

    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.config.retry_initial, self.config.retry_max)
    }

    fn backend_ok(&self) {
        let recovered = {
            let mut state = self.health.state.lock().expect("health lock");
            let was = state.down_since.take();
            state.last_failure = None;
            let reported = std::mem::take(&mut state.reported);
            was.filter(|_| reported)
        };
        if let Some(since) = recovered {
            self.status.send_modify(|s| s.unreachable = None);
            self.emit(NodeEvent::BackendRecovered {
                down_for: since.elapsed(),
            });
        }
        self.health.changed.notify_one();
    }

    fn backend_failed(&self, started: Instant, operation: &'static str, error: &Error) {
        let mut state = self.health.state.lock().expect("health lock");
        state.down_since.get_or_insert(started);
        state.last_failure = Some((operation, error.to_string()));
        drop(state);
        self.health.changed.notify_one();
    }

    /// The watchdog: reports `BackendUnreachable` once failures outlast the bound.
    pub(crate) async fn watch_health(&self) {
        loop {
            let due = {
                let state = self.health.state.lock().expect("health lock");
                match state.down_since {
                    Some(since) if !state.reported => Some(since + self.config.unreachable_after),
                    _ => None,
                }
            };
            match due {
                Some(due) if Instant::now() >= due => self.report_unreachable(),
                Some(due) => {
                    tokio::select! {
                        biased;
                        _ = self.health.changed.notified() => {}
                        _ = tokio::time::sleep_until(due) => {}
                    }
                }
                None => self.health.changed.notified().await,
            }
        }
    }

    fn report_unreachable(&self) {
        let (down_for, operation, last_error) = {
            let mut state = self.health.state.lock().expect("health lock");
            let Some(since) = state.down_since else {
                return;
            };
            state.reported = true;
            let (op, err) = state.last_failure.clone().unwrap_or(("", String::new()));
            (since.elapsed(), op, err)
        };
        let error = Error::BackendUnreachable {
            backend: self.backend.name(),
            down_for,
            bound: self.config.unreachable_after,
            last_error: last_error.clone(),
        };
        tracing::warn!(node = %self.config.name, %error, "backend unreachable");
        self.status
            .send_modify(|s| s.unreachable = Some(error.clone()));
        self.emit(NodeEvent::BackendUnreachable {
            operation: operation.to_string(),
            error: last_error,
            down_for,
        });
    }
}

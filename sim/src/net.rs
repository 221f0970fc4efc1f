//! The in-memory backend as a service on its own simulated node, and the transport to reach it.
//!
//! [`BackendService`] wraps the real [`MemoryHost`] and answers [`Call`]s over madsim's network,
//! so latency, loss and partitions between a node and the backend are real. It is also where the
//! backend faults are injected (added latency, requests that are never answered, ambiguous commits
//! that are applied but whose answer is lost) and where the backend's own state changes are
//! recorded into the history. [`SimTransport`] is the client side a node's `MemoryBackend` uses.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronfence::memory::{MemoryHost, Request, Response, Transport, TransportError};
use cronfence::FencingToken;
use madsim::net::Endpoint;
use serde::{Deserialize, Serialize};

pub use crate::boundary::BackendFaults;
use crate::clock::WorldTime;
use crate::history::{BackendRecord, Recorder, What};

/// The backend's address in every world.
pub const BACKEND_ADDR: &str = "10.0.0.254:2379";

/// How many requests the backend service takes at once ([`BackendService::serve_forever`]).
const RECEIVERS: usize = 64;

/// One request on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Call(pub Request);

impl madsim::net::rpc::Request for Call {
    type Response = Response;
    const ID: u64 = madsim::net::rpc::hash_str("cronfence.memory.v1");
}

/// The backend service: the memory host, its faults, and the history it records into.
#[derive(Clone)]
pub struct BackendService {
    host: Arc<MemoryHost>,
    faults: Arc<Mutex<BackendFaults>>,
    recorder: Recorder,
    time: WorldTime,
    granted: Arc<Mutex<std::collections::BTreeMap<String, FencingToken>>>,
}

impl BackendService {
    /// A service over `host`, recording into `recorder`.
    pub fn new(host: Arc<MemoryHost>, recorder: Recorder, time: WorldTime) -> Self {
        BackendService {
            host,
            faults: Default::default(),
            recorder,
            time,
            granted: Default::default(),
        }
    }

    /// The faults in force, for the world to change.
    pub fn faults(&self) -> Arc<Mutex<BackendFaults>> {
        self.faults.clone()
    }

    /// Runs the service on the current node until the node dies: binds, and answers calls.
    ///
    /// madsim's RPC handler takes requests one at a time, and each take costs at least a
    /// simulated millisecond, so one handler serves about a thousand requests a second and a
    /// burst queues, unordered, past the nodes' request timeouts: an overload no fault injected
    /// and no checker sees. [`RECEIVERS`] handlers take requests side by side instead, so only
    /// the faults delay an answer.
    pub async fn serve_forever(self) {
        self.host.renew_all_leases();
        let endpoint = Endpoint::bind(BACKEND_ADDR)
            .await
            .expect("the backend address is free on the backend node");
        for _ in 0..RECEIVERS {
            let service = self.clone();
            endpoint.add_rpc_handler(move |Call(request)| {
                let service = service.clone();
                async move { service.serve(request).await }
            });
        }
        std::future::pending::<()>().await;
    }

    async fn serve(&self, request: Request) -> Response {
        let (latency, unresponsive) = {
            let f = self.faults.lock().expect("faults lock");
            (f.latency, f.unresponsive)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if unresponsive {
            return std::future::pending().await;
        }
        let is_write = matches!(request, Request::Claim { .. } | Request::Commit { .. });
        let ambiguous = is_write && {
            let mut f = self.faults.lock().expect("faults lock");
            let hit = f.ambiguous_writes > 0;
            f.ambiguous_writes = f.ambiguous_writes.saturating_sub(1);
            hit
        };
        let record = self.describe(&request);
        let response = self.host.serve(request).await;
        self.record(record, &response);
        if ambiguous {
            // Applied, but the answer is lost: the client can only time out.
            return std::future::pending().await;
        }
        response
    }

    /// What to record if the request succeeds.
    fn describe(&self, request: &Request) -> Option<BackendRecord> {
        match request {
            Request::Campaign {
                election, value, ..
            } => Some(BackendRecord::LeadershipGranted {
                election: election.clone(),
                token: FencingToken(0),
                holder: value.clone(),
            }),
            Request::Claim { fence, claims, .. } => Some(BackendRecord::ClaimApplied {
                election: fence.election.clone(),
                token: fence.token,
                claims: claims.clone(),
            }),
            Request::Commit { fence, commits } => Some(BackendRecord::CommitApplied {
                election: fence.election.clone(),
                token: fence.token,
                commits: commits.clone(),
            }),
            _ => None,
        }
    }

    fn record(&self, record: Option<BackendRecord>, response: &Response) {
        let record = match (record, response) {
            (
                Some(BackendRecord::LeadershipGranted {
                    election, holder, ..
                }),
                Response::Won { token },
            ) => {
                let mut granted = self.granted.lock().expect("granted lock");
                let newest = granted
                    .entry(election.as_str().to_string())
                    .or_insert(FencingToken(0));
                if *token <= *newest {
                    return; // an idempotent re-campaign, not a new grant
                }
                *newest = *token;
                BackendRecord::LeadershipGranted {
                    election,
                    token: *token,
                    holder,
                }
            }
            (
                Some(
                    r @ (BackendRecord::ClaimApplied { .. } | BackendRecord::CommitApplied { .. }),
                ),
                Response::Done,
            ) => r,
            _ => return,
        };
        let elapsed = self.time.elapsed();
        self.recorder.push(
            elapsed.as_nanos() as u64,
            self.time.at(elapsed),
            "backend",
            None,
            What::Backend(record),
        );
    }
}

pub use crate::boundary::HeldWrites;

/// A node's way to the backend service over the simulated network.
pub struct SimTransport {
    server: SocketAddr,
    endpoint: Arc<tokio::sync::OnceCell<Endpoint>>,
    held: HeldWrites,
}

impl SimTransport {
    /// A transport to the backend at [`BACKEND_ADDR`]; `held` is the node's stuck-packet fault.
    pub fn new(held: HeldWrites) -> Self {
        SimTransport {
            server: BACKEND_ADDR.parse().expect("valid address"),
            endpoint: Default::default(),
            held,
        }
    }

    async fn endpoint(&self) -> Result<&Endpoint, TransportError> {
        self.endpoint
            .get_or_try_init(|| Endpoint::bind("0.0.0.0:0"))
            .await
            .map_err(|e| TransportError(format!("cannot bind a client endpoint: {e}")))
    }

    /// Takes one held write, if the fault is active: returns how long to hold it.
    fn hold(&self, request: &Request) -> Option<Duration> {
        if !matches!(request, Request::Claim { .. } | Request::Commit { .. }) {
            return None;
        }
        crate::boundary::take_held(&self.held)
    }
}

#[async_trait::async_trait]
impl Transport for SimTransport {
    async fn call(&self, request: Request) -> Result<Response, TransportError> {
        if let Some(delay) = self.hold(&request) {
            // The packet is stuck: delivered after `delay`, its answer going nowhere.
            let endpoint = self.endpoint().await?.clone();
            let server = self.server;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = endpoint.call(server, Call(request)).await;
            });
            return std::future::pending().await;
        }
        let endpoint = self.endpoint().await?;
        endpoint
            .call(self.server, Call(request))
            .await
            .map_err(|e| TransportError(format!("{}: {e}", self.server)))
    }
}

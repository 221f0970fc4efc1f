//! The etcd backend as a [`TickStore`] and [`JobRegistry`]: fenced transactions on job keys.
//!
//! Every write is one transaction per chunk of at most [`CHUNK`] jobs (etcd allows 128
//! operations per transaction by default). A claim or commit compares, by value only, the
//! leader key of the caller's leadership (gone or different once it lost the lease: fenced out),
//! each job's registered definition (changed by a newer version: superseded) and each job's
//! checkpoint against what this client last read or wrote. When a compare fails the else branch
//! reads those keys back, and the answer says which: `Fenced`, `SpecSuperseded`, or a stale cache
//! that is refreshed and retried — so a retry of a claim whose answer was lost is recognised as
//! already applied. Registration is put-if-absent through `value > ""`, which real and simulated
//! etcd evaluate alike (a missing key compares false).

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse, TxnResponse};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{keys, EtcdBackend};
use crate::elector::Fence;
use crate::error::{Error, Result};
use crate::job::{JobId, JobSpec};
use crate::store::{Checkpoint, Claim, ClaimKind, Commit, JobRegistry, Registration, TickStore};

/// Jobs per transaction.
pub const CHUNK: usize = 60;

/// How often a claim is retried after refreshing a stale cache.
const REFRESHES: usize = 3;

/// A job's checkpoint as stored in etcd.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct StoredCheckpoint {
    registered_at: Option<Timestamp>,
    last_claimed: Option<Timestamp>,
    in_flight: BTreeMap<Timestamp, u32>,
    claimed_by: Option<u64>,
}

impl StoredCheckpoint {
    /// The checkpoint of a job registered at `now` that never ran.
    fn registered(now: Timestamp) -> Self {
        StoredCheckpoint {
            registered_at: Some(now),
            ..Default::default()
        }
    }
}

/// What this client last read or wrote for one job.
#[derive(Clone, Debug)]
pub(super) struct CachedJob {
    spec_json: String,
    checkpoint: StoredCheckpoint,
    checkpoint_json: String,
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("checkpoints and specs serialise")
}

fn gets(response: &TxnResponse) -> Vec<Option<String>> {
    response
        .op_responses()
        .into_iter()
        .map(|op| match op {
            TxnOpResponse::Get(get) => get
                .kvs()
                .first()
                .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
            _ => None,
        })
        .collect()
}

impl EtcdBackend {
    fn prefix(&self) -> &str {
        &self.inner.config.prefix
    }

    fn corrupt(&self, key: &str, what: &str) -> Error {
        Error::BackendUnavailable {
            backend: self.inner.config.name(),
            operation: "decode",
            reason: format!(
                "{key} holds {what} cronfence cannot read; was it written by another tool?"
            ),
        }
    }

    async fn txn(&self, operation: &'static str, txn: Txn) -> Result<TxnResponse> {
        let mut kv = self.client().kv_client();
        self.bounded(operation, kv.txn(txn)).await
    }

    /// Reads the definitions and checkpoints of `jobs` into the cache.
    async fn refresh(&self, jobs: &[JobId]) -> Result<()> {
        for chunk in jobs.chunks(CHUNK) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .flat_map(|j| {
                    [
                        TxnOp::get(keys::spec(self.prefix(), j), None),
                        TxnOp::get(keys::checkpoint(self.prefix(), j), None),
                    ]
                })
                .collect();
            let response = self
                .txn("read checkpoints", Txn::new().and_then(ops))
                .await?;
            let values = gets(&response);
            for (job, pair) in chunk.iter().zip(values.chunks(2)) {
                let (Some(spec_json), Some(cp_json)) = (pair[0].clone(), pair[1].clone()) else {
                    return Err(Error::UnknownJob { job: job.clone() });
                };
                self.cache(job, spec_json, cp_json)?;
            }
        }
        Ok(())
    }

    fn cache(&self, job: &JobId, spec_json: String, checkpoint_json: String) -> Result<()> {
        let key = keys::checkpoint(self.prefix(), job);
        let checkpoint = serde_json::from_str(&checkpoint_json)
            .map_err(|_| self.corrupt(&key, "a checkpoint"))?;
        let cached = CachedJob {
            spec_json,
            checkpoint,
            checkpoint_json,
        };
        self.inner
            .jobs
            .lock()
            .expect("jobs lock")
            .insert(job.clone(), cached);
        Ok(())
    }

    fn cached(&self, job: &JobId) -> Option<CachedJob> {
        self.inner.jobs.lock().expect("jobs lock").get(job).cloned()
    }

    /// Writes new checkpoints for `updates` under `fence`, chunk by chunk.
    async fn fenced_write(
        &self,
        operation: &'static str,
        fence: &Fence,
        updates: &mut (dyn FnMut(&JobId, &StoredCheckpoint) -> Result<Option<StoredCheckpoint>>
                  + Send),
        jobs: &[JobId],
    ) -> Result<()> {
        let leader_key = self
            .leader_key(&fence.election, fence.token)
            .ok_or(Error::Fenced {
                election: fence.election.clone(),
                token: fence.token,
                current: None,
            })?;
        let missing: Vec<JobId> = jobs
            .iter()
            .filter(|j| self.cached(j).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.refresh(&missing).await?;
        }
        for chunk in jobs.chunks(CHUNK) {
            for attempt in 0..=REFRESHES {
                let mut compares = vec![Compare::value(
                    leader_key.clone(),
                    CompareOp::Equal,
                    fence.value.clone(),
                )];
                let mut puts = Vec::new();
                let mut written = Vec::new();
                for job in chunk {
                    let cached = self.cached(job).expect("refreshed above");
                    let Some(next) = updates(job, &cached.checkpoint)? else {
                        continue;
                    };
                    compares.push(Compare::value(
                        keys::spec(self.prefix(), job),
                        CompareOp::Equal,
                        cached.spec_json.clone(),
                    ));
                    compares.push(Compare::value(
                        keys::checkpoint(self.prefix(), job),
                        CompareOp::Equal,
                        cached.checkpoint_json.clone(),
                    ));
                    let next_json = json(&next);
                    puts.push(TxnOp::put(
                        keys::checkpoint(self.prefix(), job),
                        next_json.clone(),
                        None,
                    ));
                    written.push((job.clone(), cached.spec_json, next_json));
                }
                if puts.is_empty() {
                    break;
                }
                let mut reads = vec![TxnOp::get(leader_key.clone(), None)];
                reads.extend(written.iter().flat_map(|(j, _, _)| {
                    [
                        TxnOp::get(keys::spec(self.prefix(), j), None),
                        TxnOp::get(keys::checkpoint(self.prefix(), j), None),
                    ]
                }));
                let response = self
                    .txn(
                        operation,
                        Txn::new().when(compares).and_then(puts).or_else(reads),
                    )
                    .await?;
                if response.succeeded() {
                    for (job, spec_json, cp_json) in written {
                        self.cache(&job, spec_json, cp_json)?;
                    }
                    break;
                }
                self.diagnose(fence, &written, &gets(&response)).await?;
                if attempt == REFRESHES {
                    return Err(Error::BackendUnavailable {
                        backend: self.inner.config.name(),
                        operation,
                        reason: "checkpoints kept changing under a fenced write".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Explains a failed fenced write, or refreshes the cache so it can be retried.
    async fn diagnose(
        &self,
        fence: &Fence,
        written: &[(JobId, String, String)],
        values: &[Option<String>],
    ) -> Result<()> {
        if values.first().cloned().flatten().as_deref() != Some(fence.value.as_str()) {
            let current = crate::elector::Elector::leader(self, &fence.election)
                .await
                .ok()
                .flatten()
                .map(|l| l.token);
            return Err(Error::Fenced {
                election: fence.election.clone(),
                token: fence.token,
                current,
            });
        }
        for ((job, spec_json, _), pair) in written.iter().zip(values[1..].chunks(2)) {
            let (Some(stored_spec), Some(stored_cp)) = (pair[0].clone(), pair[1].clone()) else {
                return Err(Error::UnknownJob { job: job.clone() });
            };
            if &stored_spec != spec_json {
                let key = keys::spec(self.prefix(), job);
                let registered: JobSpec = serde_json::from_str(&stored_spec)
                    .map_err(|_| self.corrupt(&key, "a definition"))?;
                let local: JobSpec = serde_json::from_str(spec_json)
                    .map_err(|_| self.corrupt(&key, "a definition"))?;
                return Err(Error::SpecSuperseded {
                    job: job.clone(),
                    registered: registered.version,
                    local: local.version,
                });
            }
            self.cache(job, stored_spec, stored_cp)?;
        }
        Ok(())
    }
}

/// Applies `claims` of one job to `cp`; `None` if they are already applied (a retried claim).
fn apply_claims(
    job: &JobId,
    cp: &StoredCheckpoint,
    claims: &[&Claim],
    token: u64,
) -> Result<Option<StoredCheckpoint>> {
    let applied = cp.claimed_by == Some(token)
        && claims
            .iter()
            .all(|c| cp.last_claimed.is_some_and(|l| c.tick <= l));
    if applied {
        return Ok(None);
    }
    let mut next = cp.clone();
    for claim in claims {
        if let Some(last) = cp.last_claimed {
            let repeat = cp.in_flight.contains_key(&claim.tick) || cp.claimed_by == Some(token);
            if claim.tick <= last && !repeat {
                return Err(Error::AlreadyClaimed {
                    job: job.clone(),
                    tick: claim.tick,
                    checkpoint: last,
                });
            }
        }
        next.last_claimed = next.last_claimed.max(Some(claim.tick));
        match claim.kind {
            ClaimKind::RunThenCommit { attempt } => {
                next.in_flight.insert(claim.tick, attempt);
            }
            ClaimKind::Run { .. } | ClaimKind::Drop => {
                next.in_flight.remove(&claim.tick);
            }
        }
    }
    next.claimed_by = Some(token);
    Ok(Some(next))
}

#[async_trait::async_trait]
impl TickStore for EtcdBackend {
    async fn checkpoints(&self, jobs: &[JobId]) -> Result<Vec<Checkpoint>> {
        self.refresh(jobs).await?;
        Ok(jobs
            .iter()
            .map(|job| {
                let cp = self.cached(job).expect("refreshed").checkpoint;
                Checkpoint {
                    job: job.clone(),
                    registered_at: cp.registered_at.unwrap_or(Timestamp::UNIX_EPOCH),
                    last_claimed: cp.last_claimed,
                    in_flight: cp.in_flight.into_iter().collect(),
                }
            })
            .collect())
    }

    async fn claim(&self, fence: &Fence, claims: &[Claim]) -> Result<()> {
        let mut by_job: BTreeMap<JobId, Vec<&Claim>> = BTreeMap::new();
        for claim in claims {
            by_job.entry(claim.job.clone()).or_default().push(claim);
        }
        let jobs: Vec<JobId> = by_job.keys().cloned().collect();
        let token = fence.token.0;
        let mut update =
            |job: &JobId, cp: &StoredCheckpoint| apply_claims(job, cp, &by_job[job], token);
        self.fenced_write("claim ticks", fence, &mut update, &jobs)
            .await
    }

    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()> {
        let mut by_job: BTreeMap<JobId, Vec<&Commit>> = BTreeMap::new();
        for commit in commits {
            by_job.entry(commit.job.clone()).or_default().push(commit);
        }
        let jobs: Vec<JobId> = by_job.keys().cloned().collect();
        let mut update = |job: &JobId, cp: &StoredCheckpoint| {
            let mut next = cp.clone();
            for commit in &by_job[job] {
                next.in_flight.remove(&commit.tick);
            }
            Ok((next != *cp).then_some(next))
        };
        self.fenced_write("commit runs", fence, &mut update, &jobs)
            .await
    }
}

#[async_trait::async_trait]
impl JobRegistry for EtcdBackend {
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>> {
        let mut results = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(CHUNK) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|(job, spec)| {
                    let (spec_key, cp_key) = (
                        keys::spec(self.prefix(), job),
                        keys::checkpoint(self.prefix(), job),
                    );
                    let initial = StoredCheckpoint::registered(now);
                    TxnOp::txn(
                        Txn::new()
                            .when(vec![Compare::value(
                                spec_key.clone(),
                                CompareOp::Greater,
                                "",
                            )])
                            .and_then(vec![
                                TxnOp::get(spec_key.clone(), None),
                                TxnOp::get(cp_key.clone(), None),
                            ])
                            .or_else(vec![
                                TxnOp::put(spec_key, json(spec), None),
                                TxnOp::put(cp_key, json(&initial), None),
                            ]),
                    )
                })
                .collect();
            let response = self.txn("register jobs", Txn::new().and_then(ops)).await?;
            for ((job, spec), op) in chunk.iter().zip(response.op_responses()) {
                let TxnOpResponse::Txn(inner) = op else {
                    return Err(self.corrupt("register jobs", "an answer"));
                };
                results.push(self.registered(job, spec, now, &inner).await);
            }
        }
        Ok(results)
    }
}

impl EtcdBackend {
    /// Turns one job's put-if-absent answer into its registration result.
    async fn registered(
        &self,
        job: &JobId,
        spec: &JobSpec,
        now: Timestamp,
        inner: &TxnResponse,
    ) -> Result<Registration> {
        let spec_json = json(spec);
        if !inner.succeeded() {
            let initial = StoredCheckpoint::registered(now);
            self.cache(job, spec_json, json(&initial))?;
            return Ok(Registration::Created);
        }
        let values = gets(inner);
        let (Some(stored_json), Some(cp_json)) = (values[0].clone(), values[1].clone()) else {
            return Err(Error::UnknownJob { job: job.clone() });
        };
        let key = keys::spec(self.prefix(), job);
        let registered: JobSpec =
            serde_json::from_str(&stored_json).map_err(|_| self.corrupt(&key, "a definition"))?;
        if registered == *spec {
            self.cache(job, stored_json, cp_json)?;
            Ok(Registration::Matched)
        } else if spec.version > registered.version {
            let txn = Txn::new()
                .when(vec![Compare::value(
                    key.clone(),
                    CompareOp::Equal,
                    stored_json,
                )])
                .and_then(vec![TxnOp::put(key, spec_json.clone(), None)]);
            if !self.txn("upgrade job", txn).await?.succeeded() {
                return Err(Error::BackendUnavailable {
                    backend: self.inner.config.name(),
                    operation: "upgrade job",
                    reason: "the definition changed during the upgrade; retrying".into(),
                });
            }
            self.cache(job, spec_json, cp_json)?;
            Ok(Registration::Upgraded {
                from: registered.version,
            })
        } else if spec.version == registered.version {
            Err(Error::JobSpecMismatch {
                job: job.clone(),
                registered: Box::new(registered),
                local: Box::new(spec.clone()),
            })
        } else {
            Err(Error::SpecSuperseded {
                job: job.clone(),
                registered: registered.version,
                local: spec.version,
            })
        }
    }
}

//! The etcd backend as a [`TickStore`] and [`JobRegistry`]: fenced transactions on job keys.
//!
//! A claim or commit batch is **one** transaction, all or nothing, whatever its size: it compares,
//! by value only, the leader key and the fence key of the caller's leadership (gone or different
//! once it lost the lease or its session campaigned again: fenced out), for a claim each job's
//! registered definition (a newer version: superseded), and each job's checkpoint against what
//! this client last read or wrote — every job of the batch, also one the batch leaves unchanged,
//! so nothing is taken as done on the word of a cache alone. When a compare fails the else
//! branch reads those keys back: `Fenced`, or a stale cache that is refreshed and retried (then
//! a newer definition is `SpecSuperseded`, and a claim whose answer was lost is recognised as
//! already applied). A batch of `n` jobs needs `2n + 2` operations, so a server must allow that
//! many per transaction (`--max-txn-ops`, 128 by default: 63 jobs due at one instant in one
//! election); a server that refuses is reported as `BackendRejected` naming the flag. Reads and
//! registrations, which need no atomicity across jobs, go in chunks of [`CHUNK`] jobs.
//! Registration is put-if-absent through `value > ""`, which real and simulated etcd evaluate
//! alike (a missing key compares false); the first registration records the job's election in
//! its checkpoint, and claims from another election are refused (`ElectionMismatch`).

use std::collections::BTreeMap;
use std::time::Duration;

use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse, TxnResponse};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::election::Held;
use super::{keys, EtcdBackend};
use crate::elector::{ElectionName, Fence};
use crate::error::{Error, Result};
use crate::job::{JobId, JobSpec};
use crate::store::{Checkpoint, Claim, ClaimKind, Commit, JobRegistry, Registration, TickStore};

/// Jobs per read or registration transaction.
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
    /// The election the job was first registered in (absent in checkpoints written before
    /// elections were recorded: the first claim records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    election: Option<ElectionName>,
    /// How many writes changed it: every write compares the value it read, and a value that
    /// came back to an earlier one (a tick re-opened, then committed) would let a stale copy of
    /// a write made on the earlier value land.
    #[serde(default, skip_serializing_if = "is_zero")]
    writes: u64,
}

fn is_zero(writes: &u64) -> bool {
    *writes == 0
}

impl StoredCheckpoint {
    /// `next` as the write after `self`, or `None` when it changes nothing.
    fn written(&self, mut next: StoredCheckpoint) -> Option<StoredCheckpoint> {
        next.writes = self.writes;
        (next != *self).then(|| {
            next.writes = self.writes + 1;
            next
        })
    }
}

impl StoredCheckpoint {
    /// The checkpoint of a job registered at `now` in `election` that never ran.
    fn registered(now: Timestamp, election: &ElectionName) -> Self {
        StoredCheckpoint {
            registered_at: Some(now),
            election: Some(election.clone()),
            ..Default::default()
        }
    }
}

/// What this client last read or wrote for one job.
#[derive(Clone, Debug)]
pub(super) struct CachedJob {
    spec_json: String,
    /// The version of the definition in `spec_json`.
    spec_version: u64,
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

    /// How long the harness's stuck-packet fault holds the next fenced write, if it does.
    fn held_in_the_network(&self) -> Option<Duration> {
        self.inner.config.stuck_writes.as_ref()?.hold()
    }

    /// Sends `txn` after `delay` on a task of its own, its answer going nowhere, and answers
    /// the caller as a lost request is answered: a timeout, once the request timeout passed.
    async fn stuck(&self, operation: &'static str, txn: Txn, delay: Duration) -> Error {
        let mut kv = self.client().kv_client();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = kv.txn(txn).await;
        });
        let config = &self.inner.config;
        tokio::time::sleep(config.request_timeout).await;
        Error::BackendTimeout {
            backend: config.name(),
            operation,
            after: config.request_timeout,
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
        let spec: JobSpec = serde_json::from_str(&spec_json)
            .map_err(|_| self.corrupt(&keys::spec(self.prefix(), job), "a definition"))?;
        let cached = CachedJob {
            spec_version: spec.version,
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

    /// Writes new checkpoints for `updates` under `fence`, every job in one transaction.
    /// `updates` returns `None` for a job the batch leaves unchanged; its checkpoint is still
    /// compared. Claims (`check_spec`) also compare each job's definition.
    async fn fenced_write(
        &self,
        operation: &'static str,
        fence: &Fence,
        check_spec: bool,
        updates: &mut (dyn FnMut(&JobId, &CachedJob) -> Result<Option<StoredCheckpoint>> + Send),
        jobs: &[JobId],
    ) -> Result<()> {
        let held = self
            .held(&fence.election, fence.token)
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
        for _ in 0..=REFRESHES {
            let batch = self.batch(fence, &held, check_spec, updates, jobs)?;
            if let Some(delay) = self.held_in_the_network() {
                return Err(self.stuck(operation, batch.txn, delay).await);
            }
            let response = self.txn(operation, batch.txn).await?;
            if response.succeeded() {
                for (job, spec_json, cp_json) in batch.written {
                    self.cache(&job, spec_json, cp_json)?;
                }
                return Ok(());
            }
            self.diagnose(fence, &held, &batch.written, &gets(&response))
                .await?;
        }
        Err(Error::BackendUnavailable {
            backend: self.inner.config.name(),
            operation,
            reason: "checkpoints kept changing under a fenced write".into(),
        })
    }

    /// The transaction of one fenced write, from the cache.
    fn batch(
        &self,
        fence: &Fence,
        held: &Held,
        check_spec: bool,
        updates: &mut (dyn FnMut(&JobId, &CachedJob) -> Result<Option<StoredCheckpoint>> + Send),
        jobs: &[JobId],
    ) -> Result<Batch> {
        let (fence_key, fence_value) = held.fence.clone();
        let mut compares = vec![
            Compare::value(
                held.leader_key.clone(),
                CompareOp::Equal,
                fence.value.clone(),
            ),
            Compare::value(fence_key.clone(), CompareOp::Equal, fence_value),
        ];
        let mut reads = vec![
            TxnOp::get(held.leader_key.clone(), None),
            TxnOp::get(fence_key, None),
        ];
        let mut puts = Vec::new();
        let mut written = Vec::new();
        for job in jobs {
            let cached = self.cached(job).expect("refreshed above");
            let (spec_key, cp_key) = (
                keys::spec(self.prefix(), job),
                keys::checkpoint(self.prefix(), job),
            );
            if check_spec {
                let spec = cached.spec_json.clone();
                compares.push(Compare::value(spec_key.clone(), CompareOp::Equal, spec));
            }
            let current = cached.checkpoint_json.clone();
            compares.push(Compare::value(cp_key.clone(), CompareOp::Equal, current));
            reads.push(TxnOp::get(spec_key, None));
            reads.push(TxnOp::get(cp_key.clone(), None));
            let cp_json = match updates(job, &cached)? {
                Some(next) => {
                    let next_json = json(&next);
                    puts.push(TxnOp::put(cp_key, next_json.clone(), None));
                    next_json
                }
                None => cached.checkpoint_json,
            };
            written.push((job.clone(), cached.spec_json, cp_json));
        }
        let txn = Txn::new().when(compares).and_then(puts).or_else(reads);
        Ok(Batch { txn, written })
    }

    /// Explains a failed fenced write as `Fenced`, or refreshes the cache so it can be retried.
    async fn diagnose(
        &self,
        fence: &Fence,
        held: &Held,
        written: &[(JobId, String, String)],
        values: &[Option<String>],
    ) -> Result<()> {
        let leader = values.first().cloned().flatten();
        let campaign = values.get(1).cloned().flatten();
        if leader.as_deref() != Some(fence.value.as_str())
            || campaign.as_deref() != Some(held.fence.1.as_str())
        {
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
        for ((job, _, _), pair) in written.iter().zip(values[2..].chunks(2)) {
            let (Some(stored_spec), Some(stored_cp)) = (pair[0].clone(), pair[1].clone()) else {
                return Err(Error::UnknownJob { job: job.clone() });
            };
            self.cache(job, stored_spec, stored_cp)?;
        }
        Ok(())
    }
}

/// One fenced write's transaction, and what each job's checkpoint is once it succeeds.
struct Batch {
    txn: Txn,
    written: Vec<(JobId, String, String)>,
}

/// Applies `claims` of one job to `cp` under `fence`; `None` if they are already applied (a
/// retried claim). A claim of a newer definition than the registered one, or from another
/// election than the job's, is refused.
fn apply_claims(
    job: &JobId,
    cached: &CachedJob,
    claims: &[&Claim],
    fence: &Fence,
) -> Result<Option<StoredCheckpoint>> {
    let cp = &cached.checkpoint;
    if let Some(oldest) = claims.iter().map(|c| c.spec_version).min() {
        if oldest < cached.spec_version {
            return Err(Error::SpecSuperseded {
                job: job.clone(),
                registered: cached.spec_version,
                local: oldest,
            });
        }
    }
    match &cp.election {
        Some(registered) if *registered != fence.election => {
            return Err(Error::ElectionMismatch {
                job: job.clone(),
                registered: registered.clone(),
                local: fence.election.clone(),
            })
        }
        _ => {}
    }
    let token = fence.token.0;
    let mut next = cp.clone();
    for claim in claims {
        if let Some(last) = cp.last_claimed {
            let tracked = cp.in_flight.contains_key(&claim.tick);
            if claim.tick <= last && !tracked {
                let own = cp.claimed_by == Some(token);
                let reruns = matches!(claim.kind, ClaimKind::RunThenCommit { .. });
                if own && !reruns {
                    // This leadership's own claim of a tick it settled: nothing to change.
                    continue;
                }
                // This leadership's own at-least-once claim of a tick it settled goes on below:
                // a retry planned afresh runs a tick that an earlier claim, whose answer was lost,
                // dropped, and the tick is tracked in flight again. (A copy of an older claim
                // cannot land late: every write compares the checkpoint it read, which a write
                // counter keeps from ever coming back; and a leadership never claims again a tick
                // it ran and committed.)
                if !own {
                    return Err(Error::AlreadyClaimed {
                        job: job.clone(),
                        tick: claim.tick,
                        checkpoint: last,
                    });
                }
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
    next.election = Some(fence.election.clone());
    Ok(cp.written(next))
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
        let mut update =
            |job: &JobId, cached: &CachedJob| apply_claims(job, cached, &by_job[job], fence);
        self.fenced_write("claim ticks", fence, true, &mut update, &jobs)
            .await
    }

    /// A commit compares no definition: the run it records happened under a leadership that is
    /// still current, so a newer definition registered meanwhile does not make it stale (the
    /// in-memory backend agrees). Refusing it would leave the tick in flight to run again.
    async fn commit(&self, fence: &Fence, commits: &[Commit]) -> Result<()> {
        let mut by_job: BTreeMap<JobId, Vec<&Commit>> = BTreeMap::new();
        for commit in commits {
            by_job.entry(commit.job.clone()).or_default().push(commit);
        }
        let jobs: Vec<JobId> = by_job.keys().cloned().collect();
        let mut update = |job: &JobId, cached: &CachedJob| {
            let cp = &cached.checkpoint;
            let mut next = cp.clone();
            for commit in &by_job[job] {
                next.in_flight.remove(&commit.tick);
            }
            Ok(cp.written(next))
        };
        self.fenced_write("commit runs", fence, false, &mut update, &jobs)
            .await
    }

    /// Claims and commits compare every checkpoint they change: side by side they refuse each
    /// other.
    fn writes_take_turns(&self) -> bool {
        true
    }
}

#[async_trait::async_trait]
impl JobRegistry for EtcdBackend {
    async fn register(
        &self,
        jobs: &[(JobId, JobSpec, ElectionName)],
        now: Timestamp,
    ) -> Result<Vec<Result<Registration>>> {
        let mut results = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(CHUNK) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|(job, spec, election)| {
                    let (spec_key, cp_key) = (
                        keys::spec(self.prefix(), job),
                        keys::checkpoint(self.prefix(), job),
                    );
                    let initial = StoredCheckpoint::registered(now, election);
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
            for ((job, spec, election), op) in chunk.iter().zip(response.op_responses()) {
                let TxnOpResponse::Txn(inner) = op else {
                    return Err(self.corrupt("register jobs", "an answer"));
                };
                results.push(self.registered(job, spec, election, now, &inner).await);
            }
        }
        Ok(results)
    }

    /// Reads the definition keys alone, leaving the cache be: a claim under way keeps the
    /// checkpoints it compares against.
    async fn spec_versions(&self, jobs: &[JobId]) -> Result<Vec<u64>> {
        let mut versions = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(CHUNK) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|j| TxnOp::get(keys::spec(self.prefix(), j), None))
                .collect();
            let response = self
                .txn("read spec versions", Txn::new().and_then(ops))
                .await?;
            for (job, value) in chunk.iter().zip(gets(&response)) {
                let Some(spec_json) = value else {
                    return Err(Error::UnknownJob { job: job.clone() });
                };
                let spec: JobSpec = serde_json::from_str(&spec_json)
                    .map_err(|_| self.corrupt(&keys::spec(self.prefix(), job), "a definition"))?;
                versions.push(spec.version);
            }
        }
        Ok(versions)
    }
}

impl EtcdBackend {
    /// Turns one job's put-if-absent answer into its registration result.
    async fn registered(
        &self,
        job: &JobId,
        spec: &JobSpec,
        election: &ElectionName,
        now: Timestamp,
        inner: &TxnResponse,
    ) -> Result<Registration> {
        let spec_json = json(spec);
        if !inner.succeeded() {
            let initial = StoredCheckpoint::registered(now, election);
            self.cache(job, spec_json, json(&initial))?;
            return Ok(Registration::Created);
        }
        let values = gets(inner);
        let (Some(stored_json), Some(cp_json)) = (values[0].clone(), values[1].clone()) else {
            return Err(Error::UnknownJob { job: job.clone() });
        };
        let cp_key = keys::checkpoint(self.prefix(), job);
        let stored_cp: StoredCheckpoint =
            serde_json::from_str(&cp_json).map_err(|_| self.corrupt(&cp_key, "a checkpoint"))?;
        match stored_cp.election {
            Some(registered) if registered != *election => {
                return Err(Error::ElectionMismatch {
                    job: job.clone(),
                    registered,
                    local: election.clone(),
                })
            }
            _ => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FencingToken;

    fn cached(checkpoint: StoredCheckpoint) -> CachedJob {
        CachedJob {
            spec_json: String::new(),
            spec_version: 1,
            checkpoint_json: json(&checkpoint),
            checkpoint,
        }
    }

    #[test]
    fn an_own_at_least_once_claim_of_a_settled_tick_tracks_it_again() {
        // The leadership's drop of the tick was applied but its answer lost; its retry, planned
        // afresh, runs the tick: it is in flight again. Its own at-most-once claim or drop of a
        // settled tick changes nothing; another leadership's is refused.
        let election = ElectionName::new("g");
        let tick: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let settled = StoredCheckpoint {
            last_claimed: Some(tick),
            claimed_by: Some(7),
            election: Some(election.clone()),
            ..Default::default()
        };
        let job = JobId::new("j").unwrap();
        let fence = |token| Fence {
            election: election.clone(),
            token: FencingToken(token),
            lease: 1,
            value: "n".into(),
        };
        let claim = |kind| Claim {
            job: job.clone(),
            tick,
            spec_version: 1,
            kind,
        };
        let rerun = claim(ClaimKind::RunThenCommit { attempt: 1 });
        let next = apply_claims(&job, &cached(settled.clone()), &[&rerun], &fence(7))
            .unwrap()
            .expect("a change");
        assert_eq!(next.in_flight.get(&tick), Some(&1));
        let run = claim(ClaimKind::Run { attempt: 1 });
        let same = apply_claims(&job, &cached(settled.clone()), &[&run], &fence(7)).unwrap();
        assert!(same.is_none());
        let other = apply_claims(&job, &cached(settled.clone()), &[&rerun], &fence(8));
        assert!(matches!(other, Err(Error::AlreadyClaimed { .. })));
        // Committed again, the checkpoint is never the value it was: a stale write compared
        // against that value cannot land.
        let mut committed = next.clone();
        committed.in_flight.clear();
        let committed = next.written(committed).expect("a change");
        assert_ne!(json(&committed), json(&settled));
    }
}

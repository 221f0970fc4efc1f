//! The in-memory backend's state machine: leases, elections, job registry and checkpoints.
//!
//! Pure and synchronous: [`MemoryState::apply`] takes the backend's own monotonic time (`now`,
//! time since the backend started) and a request, and returns the response plus whether any
//! election changed hands. No clocks, tasks or locks live here; [`super::host`] adds those. The
//! maps that are iterated are ordered, so every answer is deterministic; the job registry is only
//! ever looked up by id (each claim looks its job up twice), so it is a hash map with a fixed
//! hasher.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::protocol::{Refusal, RegisterRefusal, Request, Response};
use super::registry::Registry;
use crate::elector::{ElectionName, Fence, FencingToken, LeaderInfo};
use crate::job::{JobId, JobSpec};
use crate::store::{Checkpoint, Claim, ClaimKind, Commit, Registration};

/// The smallest lease TTL the backend grants.
pub const MIN_TTL: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Lease {
    ttl: Duration,
    expires_at: Duration,
}

#[derive(Debug, Clone)]
struct Holder {
    lease: u64,
    value: String,
    token: FencingToken,
    /// The request number of the newest claim this leadership had applied.
    claim_seq: u64,
    /// The request number of the newest campaign of the holder's lease it answered as won: a
    /// resign sent before it is late, and does not end the leadership it won.
    won_seq: u64,
}

#[derive(Debug, Default)]
struct Election {
    holder: Option<Holder>,
    last_token: u64,
}

#[derive(Debug)]
struct JobRecord {
    spec: JobSpec,
    /// The election the job was first registered in: claims from any other are refused, so
    /// `claimed.by` never compares tokens of two elections.
    election: ElectionName,
    registered_at: Timestamp,
    /// The checkpoint, once a tick was claimed.
    claimed: Option<Claimed>,
    in_flight: BTreeMap<Timestamp, u32>,
}

/// A job's checkpoint and who moved it last (set together by every claim).
#[derive(Clone, Copy, Debug)]
struct Claimed {
    /// The newest tick claimed.
    last: Timestamp,
    /// The token of the newest claim: the same leadership may claim a tick at or before the
    /// checkpoint again, so a claim whose answer was lost (an ambiguous commit) can be retried,
    /// and a retry planned afresh may run a tick the lost one dropped (it is tracked in flight
    /// again). A copy of an older claim that lands late is refused whole ([`Refusal::Stale`]):
    /// it cannot re-open a tick committed since.
    by: FencingToken,
}

/// Everything the in-memory backend knows.
#[derive(Debug, Default)]
pub struct MemoryState {
    leases: BTreeMap<u64, Lease>,
    next_lease: u64,
    elections: BTreeMap<ElectionName, Election>,
    /// Per lease and election, the number of the lease's last resign: campaigns numbered before
    /// it were withdrawn by their sender.
    withdrawn: BTreeMap<(u64, ElectionName), u64>,
    jobs: Registry<JobRecord>,
    unfenced: bool,
}

/// The answer to one request, and whether any election's holder changed.
#[derive(Debug)]
pub struct Applied {
    /// The response to send back.
    pub response: Response,
    /// True when some election's holder changed (observers must be woken).
    pub leadership_changed: bool,
}

impl MemoryState {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    /// **Test-only, never for production:** accept claims and commits without checking the fence
    /// or the checkpoint, as a naive store would. It exists so the simulator can show that its
    /// checkers catch a scheduler without fencing.
    #[doc(hidden)]
    pub fn disable_fencing_for_checker_validation(&mut self) {
        self.unfenced = true;
    }

    /// Applies `request` at backend time `now`. `Observe` is answered with the current holder
    /// (the host turns it into a long poll).
    pub fn apply(&mut self, now: Duration, request: Request) -> Applied {
        let mut changed = self.expire(now);
        let response = match request {
            Request::Grant { ttl } => self.grant(now, ttl),
            Request::KeepAlive { lease } => self.keep_alive(now, lease),
            Request::Revoke { lease } => {
                changed |= self.revoke(lease);
                Response::Done
            }
            Request::Campaign {
                election,
                lease,
                value,
                seq,
            } => {
                let (response, won) = self.campaign(election, lease, value, seq);
                changed |= won;
                response
            }
            Request::Resign {
                election,
                lease,
                seq,
            } => {
                changed |= self.resign(election, lease, seq);
                Response::Done
            }
            Request::WithdrawPredecessors {
                election,
                lease,
                value,
            } => {
                changed |= self.withdraw_predecessors(&election, lease, &value);
                Response::Done
            }
            Request::Leader { election } | Request::Observe { election, .. } => {
                Response::Leader(self.leader(&election))
            }
            Request::Register { jobs, now: clock } => self.register(jobs, clock),
            Request::Checkpoints { jobs } => self.checkpoints(&jobs),
            Request::SpecVersions { jobs } => self.spec_versions(&jobs),
            Request::Claim { fence, claims, seq } => self.claim(&fence, &claims, seq),
            Request::Commit { fence, commits } => self.commit(&fence, &commits),
        };
        Applied {
            response,
            leadership_changed: changed,
        }
    }

    /// The holder of `election`.
    pub fn leader(&self, election: &ElectionName) -> Option<LeaderInfo> {
        let holder = self.elections.get(election)?.holder.as_ref()?;
        Some(LeaderInfo {
            value: holder.value.clone(),
            token: holder.token,
        })
    }

    /// When the holder of `election` loses it unless its lease is renewed (backend time).
    pub fn leader_expires_at(&self, election: &ElectionName) -> Option<Duration> {
        let holder = self.elections.get(election)?.holder.as_ref()?;
        self.leases.get(&holder.lease).map(|l| l.expires_at)
    }

    /// Drops leases whose time is up, and the leaderships on them. True if any leadership ended.
    pub fn expire(&mut self, now: Duration) -> bool {
        let expired: Vec<u64> = self
            .leases
            .iter()
            .filter(|(_, l)| l.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut changed = false;
        for lease in expired {
            changed |= self.revoke(lease);
        }
        changed
    }

    /// Keeps leases but restarts their TTL from `now`, as etcd does when it restarts.
    pub fn renew_all(&mut self, now: Duration) {
        for lease in self.leases.values_mut() {
            lease.expires_at = now + lease.ttl;
        }
    }

    fn grant(&mut self, now: Duration, ttl: Duration) -> Response {
        if ttl < MIN_TTL {
            return Response::Refused(Refusal::TtlTooShort { min: MIN_TTL });
        }
        self.next_lease += 1;
        let lease = self.next_lease;
        let expires_at = now + ttl;
        self.leases.insert(lease, Lease { ttl, expires_at });
        Response::Granted { lease }
    }

    fn keep_alive(&mut self, now: Duration, lease: u64) -> Response {
        match self.leases.get_mut(&lease) {
            Some(l) => {
                l.expires_at = now + l.ttl;
                Response::Done
            }
            None => Response::Refused(Refusal::LeaseLost { lease }),
        }
    }

    fn revoke(&mut self, lease: u64) -> bool {
        self.leases.remove(&lease);
        self.withdrawn
            .retain(|(withdrawn, _), _| *withdrawn != lease);
        let mut changed = false;
        for election in self.elections.values_mut() {
            if election.holder.as_ref().is_some_and(|h| h.lease == lease) {
                election.holder = None;
                changed = true;
            }
        }
        changed
    }

    /// Revokes the lease holding `election` under `value` unless it is `lease`; true when the
    /// holder changed. (The host keeps no waiting candidates: only a holder can be left behind.)
    fn withdraw_predecessors(&mut self, election: &ElectionName, lease: u64, value: &str) -> bool {
        let left = self
            .elections
            .get(election)
            .and_then(|e| e.holder.as_ref())
            .filter(|h| h.value == value && h.lease != lease)
            .map(|h| h.lease);
        left.is_some_and(|left| self.revoke(left))
    }

    fn campaign(
        &mut self,
        name: ElectionName,
        lease: u64,
        value: String,
        seq: u64,
    ) -> (Response, bool) {
        if !self.leases.contains_key(&lease) {
            return (Response::Refused(Refusal::LeaseLost { lease }), false);
        }
        let key = (lease, name);
        if self
            .withdrawn
            .get(&key)
            .is_some_and(|&resigned| seq < resigned)
        {
            let election = key.1;
            return (Response::Refused(Refusal::Withdrawn { election }), false);
        }
        let name = key.1;
        let election = self.elections.entry(name).or_default();
        match &mut election.holder {
            Some(h) if h.lease == lease => {
                h.won_seq = h.won_seq.max(seq);
                (Response::Won { token: h.token }, false)
            }
            Some(h) => {
                let leader = LeaderInfo {
                    value: h.value.clone(),
                    token: h.token,
                };
                (Response::Held { leader }, false)
            }
            None => {
                election.last_token += 1;
                let token = FencingToken(election.last_token);
                election.holder = Some(Holder {
                    lease,
                    value,
                    token,
                    claim_seq: 0,
                    won_seq: seq,
                });
                (Response::Won { token }, true)
            }
        }
    }

    /// Gives up `name` if `lease` holds it by a campaign sent before this resign (a resign that
    /// lands late ends no leadership won since); from now on the lease's campaigns for it sent
    /// before this resign are refused, even if it held nothing (a campaign of its may still be on
    /// the way).
    fn resign(&mut self, name: ElectionName, lease: u64, seq: u64) -> bool {
        if self.leases.contains_key(&lease) {
            let resigned = self.withdrawn.entry((lease, name.clone())).or_default();
            *resigned = (*resigned).max(seq);
        }
        match self.elections.get_mut(&name) {
            Some(e)
                if e.holder
                    .as_ref()
                    .is_some_and(|h| h.lease == lease && seq > h.won_seq) =>
            {
                e.holder = None;
                true
            }
            _ => false,
        }
    }

    fn register(&mut self, jobs: Vec<(JobId, JobSpec, ElectionName)>, now: Timestamp) -> Response {
        // Room for the jobs new to the registry at once (every node registers all its jobs).
        let new = jobs.iter().filter(|(id, ..)| self.jobs.get(id).is_none());
        self.jobs.reserve(new.count());
        let results = jobs
            .into_iter()
            .map(|(id, spec, election)| self.register_one(id, spec, election, now))
            .collect();
        Response::Registered(results)
    }

    fn register_one(
        &mut self,
        id: JobId,
        spec: JobSpec,
        election: ElectionName,
        now: Timestamp,
    ) -> Result<Registration, RegisterRefusal> {
        let Some(record) = self.jobs.get_mut(&id) else {
            let record = JobRecord {
                spec,
                election,
                registered_at: now,
                claimed: None,
                in_flight: BTreeMap::new(),
            };
            self.jobs.insert(id, record);
            return Ok(Registration::Created);
        };
        if record.election != election {
            Err(RegisterRefusal::ElectionMismatch {
                registered: record.election.clone(),
            })
        } else if record.spec == spec {
            Ok(Registration::Matched)
        } else if spec.version > record.spec.version {
            let from = record.spec.version;
            record.spec = spec;
            Ok(Registration::Upgraded { from })
        } else if spec.version == record.spec.version {
            Err(RegisterRefusal::Mismatch {
                registered: record.spec.clone(),
            })
        } else {
            Err(RegisterRefusal::Superseded {
                registered: record.spec.version,
            })
        }
    }

    fn spec_versions(&self, jobs: &[JobId]) -> Response {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let Some(r) = self.jobs.get(job) else {
                return Response::Refused(Refusal::UnknownJob { job: job.clone() });
            };
            out.push(r.spec.version);
        }
        Response::SpecVersions(out)
    }

    fn checkpoints(&self, jobs: &[JobId]) -> Response {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let Some(r) = self.jobs.get(job) else {
                return Response::Refused(Refusal::UnknownJob { job: job.clone() });
            };
            out.push(Checkpoint {
                job: job.clone(),
                registered_at: r.registered_at,
                last_claimed: r.claimed.map(|c| c.last),
                in_flight: r.in_flight.iter().map(|(t, a)| (*t, *a)).collect(),
            });
        }
        Response::Checkpoints(out)
    }

    fn check_fence(&self, fence: &Fence) -> Result<(), Refusal> {
        if self.unfenced {
            return Ok(());
        }
        let holder = self
            .elections
            .get(&fence.election)
            .and_then(|e| e.holder.as_ref());
        match holder {
            Some(h) if h.token == fence.token && h.lease == fence.lease => Ok(()),
            other => Err(Refusal::Fenced {
                current: other.map(|h| h.token),
            }),
        }
    }

    /// A claim older than the newest its leadership had applied is a copy its sender gave up on.
    fn check_fresh(&self, fence: &Fence, seq: u64) -> Result<(), Refusal> {
        let holder = self
            .elections
            .get(&fence.election)
            .and_then(|e| e.holder.as_ref());
        match holder {
            Some(h) if h.token == fence.token && seq <= h.claim_seq => Err(Refusal::Stale),
            _ => Ok(()),
        }
    }

    /// The holder of the fence's election, if it is the fence's leadership.
    fn holder_mut(&mut self, fence: &Fence) -> Option<&mut Holder> {
        let election = self.elections.get_mut(&fence.election)?;
        election
            .holder
            .as_mut()
            .filter(|h| h.token == fence.token && h.lease == fence.lease)
    }

    fn check_claim(&self, claim: &Claim, fence: &Fence) -> Result<(), Refusal> {
        let Some(r) = self.jobs.get(&claim.job) else {
            return Err(Refusal::UnknownJob {
                job: claim.job.clone(),
            });
        };
        if self.unfenced {
            return Ok(());
        }
        if r.election != fence.election {
            return Err(Refusal::ElectionMismatch {
                job: claim.job.clone(),
                registered: r.election.clone(),
            });
        }
        let token = fence.token;
        if claim.spec_version < r.spec.version {
            return Err(Refusal::SpecSuperseded {
                job: claim.job.clone(),
                registered: r.spec.version,
                local: claim.spec_version,
            });
        }
        match r.claimed {
            Some(claimed)
                if claim.tick <= claimed.last
                    && !r.in_flight.contains_key(&claim.tick)
                    && claimed.by != token =>
            {
                Err(Refusal::AlreadyClaimed {
                    job: claim.job.clone(),
                    tick: claim.tick,
                    checkpoint: claimed.last,
                })
            }
            _ => Ok(()),
        }
    }

    fn claim(&mut self, fence: &Fence, claims: &[Claim], seq: u64) -> Response {
        let checked = self
            .check_fence(fence)
            .and_then(|()| self.check_fresh(fence, seq))
            .and_then(|()| claims.iter().try_for_each(|c| self.check_claim(c, fence)));
        if let Err(refusal) = checked {
            return Response::Refused(refusal);
        }
        if let Some(holder) = self.holder_mut(fence) {
            holder.claim_seq = seq;
        }
        for claim in claims {
            let r = self.jobs.get_mut(&claim.job).expect("checked above");
            let last = r.claimed.map_or(claim.tick, |c| c.last.max(claim.tick));
            r.claimed = Some(Claimed {
                last,
                by: fence.token,
            });
            match claim.kind {
                ClaimKind::RunThenCommit { attempt } => {
                    r.in_flight.insert(claim.tick, attempt);
                }
                ClaimKind::Run { .. } | ClaimKind::Drop => {
                    r.in_flight.remove(&claim.tick);
                }
            }
        }
        Response::Done
    }

    fn commit(&mut self, fence: &Fence, commits: &[Commit]) -> Response {
        if let Err(refusal) = self.check_fence(fence) {
            return Response::Refused(refusal);
        }
        for commit in commits {
            if let Some(r) = self.jobs.get_mut(&commit.job) {
                r.in_flight.remove(&commit.tick);
            }
        }
        Response::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;

    const S: Duration = Duration::from_secs(1);

    fn won(r: Response) -> FencingToken {
        match r {
            Response::Won { token } => token,
            other => panic!("expected a win, got {other:?}"),
        }
    }

    fn lease(state: &mut MemoryState, now: Duration) -> u64 {
        match state.apply(now, Request::Grant { ttl: 10 * S }).response {
            Response::Granted { lease } => lease,
            other => panic!("{other:?}"),
        }
    }

    fn campaign(state: &mut MemoryState, now: Duration, lease: u64) -> Response {
        let election = ElectionName::new("g");
        let value = format!("n{lease}");
        state
            .apply(
                now,
                Request::Campaign {
                    election,
                    lease,
                    value,
                    seq: 0,
                },
            )
            .response
    }

    #[test]
    fn tokens_strictly_increase_across_expiry() {
        // A second leader after lease expiry must get a larger token, or fencing means nothing.
        let mut st = MemoryState::new();
        let a = lease(&mut st, Duration::ZERO);
        let b = lease(&mut st, Duration::ZERO);
        let t1 = won(campaign(&mut st, S, a));
        assert!(matches!(campaign(&mut st, S, b), Response::Held { .. }));
        st.apply(5 * S, Request::KeepAlive { lease: b });
        let t2 = won(campaign(&mut st, 11 * S, b));
        assert!(t2 > t1, "{t2} must exceed {t1}");
    }

    /// Job `j`, ticking every second from its anchor.
    fn every_second() -> (JobId, Timestamp, JobSpec) {
        let anchor: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let spec =
            JobSpec::new(Schedule::every(anchor, jiff::SignedDuration::from_secs(1)).unwrap());
        (JobId::new("j").unwrap(), anchor, spec)
    }

    #[test]
    fn stale_fence_is_refused_and_claim_is_all_or_nothing() {
        let mut st = MemoryState::new();
        let (job, anchor, spec) = every_second();
        st.apply(
            S,
            Request::Register {
                jobs: vec![(job.clone(), spec, ElectionName::new("g"))],
                now: anchor,
            },
        );
        let a = lease(&mut st, Duration::ZERO);
        let token = won(campaign(&mut st, S, a));
        let fence = Fence {
            election: ElectionName::new("g"),
            token,
            lease: a,
            value: "na".into(),
        };
        let claim = |s: i64, kind| Claim {
            job: job.clone(),
            tick: anchor + jiff::SignedDuration::from_secs(s),
            spec_version: 1,
            kind,
        };
        let ok = st.apply(
            2 * S,
            Request::Claim {
                fence: fence.clone(),
                claims: vec![claim(1, ClaimKind::Run { attempt: 1 })],
                seq: 1,
            },
        );
        assert_eq!(ok.response, Response::Done);
        // The same leadership may repeat its own claim (its first answer may have been lost).
        let again = vec![claim(1, ClaimKind::Run { attempt: 1 })];
        let repeat = st.apply(
            2 * S,
            Request::Claim {
                fence: fence.clone(),
                claims: again,
                seq: 2,
            },
        );
        assert_eq!(repeat.response, Response::Done);
        // After the lease expires the same fence is refused.
        let late = st.apply(
            20 * S,
            Request::Claim {
                fence: fence.clone(),
                claims: vec![claim(2, ClaimKind::Drop)],
                seq: 3,
            },
        );
        assert!(late.leadership_changed);
        // A newer leadership cannot claim the old one's tick, and a batch holding such a tick
        // changes nothing.
        let b = lease(&mut st, 20 * S);
        let token_b = won(campaign(&mut st, 20 * S, b));
        let fence_b = Fence {
            token: token_b,
            lease: b,
            ..fence.clone()
        };
        let batch = vec![
            claim(2, ClaimKind::Drop),
            claim(1, ClaimKind::Run { attempt: 1 }),
        ];
        let refused = st.apply(
            21 * S,
            Request::Claim {
                fence: fence_b.clone(),
                claims: batch,
                seq: 4,
            },
        );
        assert!(matches!(
            refused.response,
            Response::Refused(Refusal::AlreadyClaimed { .. })
        ));
        let fine = st.apply(
            21 * S,
            Request::Claim {
                fence: fence_b,
                claims: vec![claim(2, ClaimKind::Drop)],
                seq: 5,
            },
        );
        assert_eq!(
            fine.response,
            Response::Done,
            "the refused batch left tick 2 unclaimed"
        );
        assert_eq!(
            late.response,
            Response::Refused(Refusal::Fenced { current: None })
        );
    }

    #[test]
    fn a_retry_planned_afresh_tracks_a_tick_its_lost_drop_settled() {
        // The leadership's drop of tick 1 (a skip) was applied but its answer lost; the run going
        // ended meanwhile, so the retry claims tick 1 to run at least once: the tick must be in
        // flight again, or a lost commit leaves it for nobody to run.
        let mut st = MemoryState::new();
        let (job, anchor, spec) = every_second();
        let register = Request::Register {
            jobs: vec![(job.clone(), spec, ElectionName::new("g"))],
            now: anchor,
        };
        st.apply(S, register);
        let a = lease(&mut st, Duration::ZERO);
        let token = won(campaign(&mut st, S, a));
        let fence = Fence {
            election: ElectionName::new("g"),
            token,
            lease: a,
            value: "na".into(),
        };
        let tick = anchor + jiff::SignedDuration::from_secs(1);
        let claim = |kind, seq| Request::Claim {
            fence: fence.clone(),
            claims: vec![Claim {
                job: job.clone(),
                tick,
                spec_version: 1,
                kind,
            }],
            seq,
        };
        let dropped = st.apply(2 * S, claim(ClaimKind::Drop, 1));
        assert_eq!(dropped.response, Response::Done);
        let rerun = st.apply(2 * S, claim(ClaimKind::RunThenCommit { attempt: 1 }, 2));
        assert_eq!(rerun.response, Response::Done);
        let Response::Checkpoints(read) = st
            .apply(2 * S, Request::Checkpoints { jobs: vec![job] })
            .response
        else {
            panic!("checkpoints");
        };
        assert_eq!(read[0].in_flight, vec![(tick, 1)]);
    }

    #[test]
    fn a_repeated_claim_never_reopens_a_committed_tick_nor_crosses_elections() {
        // A copy of a claim stuck in the network lands after its tick was committed: it must
        // change nothing, or the next leader runs the completed tick again (it is older than a
        // claim the leadership had applied since, the commit's own). And a fence of
        // another election, whose tokens are numbered apart, may not claim the job at all.
        let mut st = MemoryState::new();
        let (job, anchor, spec) = every_second();
        let register = |election: &str| Request::Register {
            jobs: vec![(job.clone(), spec.clone(), ElectionName::new(election))],
            now: anchor,
        };
        st.apply(S, register("g"));
        let a = lease(&mut st, Duration::ZERO);
        let token = won(campaign(&mut st, S, a));
        let fence = Fence {
            election: ElectionName::new("g"),
            token,
            lease: a,
            value: "na".into(),
        };
        let tick = anchor + jiff::SignedDuration::from_secs(1);
        let claims = vec![Claim {
            job: job.clone(),
            tick,
            spec_version: 1,
            kind: ClaimKind::RunThenCommit { attempt: 1 },
        }];
        let claim = Request::Claim {
            fence: fence.clone(),
            claims: claims.clone(),
            seq: 6,
        };
        assert_eq!(st.apply(2 * S, claim.clone()).response, Response::Done);
        let commits = vec![Commit {
            job: job.clone(),
            tick,
            outcome: crate::store::RunOutcome::Completed,
        }];
        let commit = Request::Commit {
            fence: fence.clone(),
            commits,
        };
        assert_eq!(st.apply(2 * S, commit).response, Response::Done);
        // The copy carries the first claim's number: refused whole, it changes nothing.
        assert_eq!(
            st.apply(3 * S, claim).response,
            Response::Refused(Refusal::Stale)
        );
        let Response::Checkpoints(read) = st
            .apply(
                3 * S,
                Request::Checkpoints {
                    jobs: vec![job.clone()],
                },
            )
            .response
        else {
            panic!("checkpoints");
        };
        assert!(read[0].in_flight.is_empty(), "{read:?}");
        let Response::Registered(refused) = st.apply(3 * S, register("other")).response else {
            panic!("registration answer");
        };
        assert!(matches!(
            refused[0],
            Err(RegisterRefusal::ElectionMismatch { .. })
        ));
        let b = lease(&mut st, 3 * S);
        let other = ElectionName::new("other");
        let stray = Request::Campaign {
            election: other.clone(),
            lease: b,
            value: "nb".into(),
            seq: 0,
        };
        let stray_token = won(st.apply(3 * S, stray).response);
        let stray_fence = Fence {
            election: other,
            token: stray_token,
            lease: b,
            value: "nb".into(),
        };
        let crossed = st.apply(
            3 * S,
            Request::Claim {
                fence: stray_fence,
                claims,
                seq: 7,
            },
        );
        assert!(matches!(
            crossed.response,
            Response::Refused(Refusal::ElectionMismatch { .. })
        ));
    }
}

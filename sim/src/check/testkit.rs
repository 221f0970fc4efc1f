//! Test support for the checkers: small synthetic histories built record by record.
//!
//! A [`Builder`] appends records at a given millisecond of true time (numbered in order, as the
//! recorder numbers them); helpers build the job definitions and node events the checker tests
//! need. It owns no checking logic and is compiled only for tests.

use std::collections::BTreeMap;

use cronfence::{
    CatchUp, Delivery, ElectionName, FencingToken, JobId, JobSpec, MisfirePolicy, NodeEvent,
    OverlapPolicy, Schedule,
};
use jiff::{SignedDuration, Timestamp};

use super::{CheckInput, Observed};
use crate::fault::{Fault, FaultKind};
use crate::history::{BackendRecord, CommandRecord, FaultRecord, History, Record, What};

/// The instant the synthetic world starts; job schedules are anchored here too.
pub(crate) fn start() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("a valid timestamp")
}

/// The instant `secs` seconds after the world started (a tick of a 10-second job when a
/// multiple of 10).
pub(crate) fn at(secs: i64) -> Timestamp {
    start() + SignedDuration::from_secs(secs)
}

/// A job id.
pub(crate) fn job(name: &str) -> JobId {
    JobId::new(name).expect("a valid job id")
}

/// The test election.
pub(crate) fn election() -> ElectionName {
    ElectionName::new("group")
}

/// A job ticking every 10 s from [`start`], with the given delivery and default other policies.
pub(crate) fn every_10s(delivery: Delivery) -> JobSpec {
    let schedule = Schedule::every(start(), SignedDuration::from_secs(10)).expect("10s > 0");
    let mut spec = JobSpec::new(schedule);
    spec.delivery = delivery;
    spec
}

/// The same with explicit misfire and overlap policies.
pub(crate) fn every_10s_with(
    delivery: Delivery,
    catch_up: CatchUp,
    overlap: OverlapPolicy,
) -> JobSpec {
    let mut spec = every_10s(delivery);
    spec.misfire = MisfirePolicy {
        catch_up,
        starting_deadline: None,
    };
    spec.overlap = overlap;
    spec
}

/// A one-job definition map.
pub(crate) fn jobs(name: &str, spec: JobSpec) -> BTreeMap<JobId, JobSpec> {
    BTreeMap::from([(job(name), spec)])
}

/// The checker input for `history` and `jobs`, checking ticks in `[at(from), at(to)]`.
pub(crate) fn input<'a>(
    history: &'a History,
    jobs: &'a BTreeMap<JobId, JobSpec>,
    from: i64,
    to: i64,
) -> CheckInput<'a> {
    CheckInput {
        history,
        jobs,
        window: (at(from), at(to)),
        world: (at(from.min(0)), at(to + 10)),
        elections: elections(jobs),
        observed: Observed::default(),
        liveness: None,
        history_end: history.records.last().map(|r| r.true_time),
    }
}

/// Every job in the test election (leaked: test inputs live as long as the test).
pub(crate) fn elections(jobs: &BTreeMap<JobId, JobSpec>) -> &'static BTreeMap<JobId, ElectionName> {
    let map = jobs.keys().map(|id| (id.clone(), election())).collect();
    Box::leak(Box::new(map))
}

/// `CommandEnded` of job `name`'s tick at `tick` seconds: the command itself returned.
pub(crate) fn returned(name: &str, tick: i64, token: u64, attempt: u32) -> CommandRecord {
    CommandRecord::CommandEnded {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt,
    }
}

/// `CommandDropped` of job `name`'s tick at `tick` seconds: the command was dropped mid-run.
pub(crate) fn dropped(name: &str, tick: i64, token: u64, attempt: u32) -> CommandRecord {
    CommandRecord::CommandDropped {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt,
    }
}

/// `CommandBegan` of job `name`'s tick at `tick` seconds: the command itself began.
pub(crate) fn began(name: &str, tick: i64, token: u64, attempt: u32) -> CommandRecord {
    CommandRecord::CommandBegan {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt,
    }
}

/// Appends records in order.
#[derive(Clone, Default)]
pub(crate) struct Builder {
    records: Vec<Record>,
}

impl Builder {
    /// An empty history.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn push(mut self, ms: u64, node: &str, what: What) -> Self {
        let t_ns = ms * 1_000_000;
        let true_time = start() + SignedDuration::from_millis(ms as i64);
        self.records.push(Record {
            seq: self.records.len() as u64,
            t_ns,
            true_time,
            node: node.to_string(),
            clock: Some(true_time),
            what,
        });
        self
    }

    /// `node` recorded `event` at `ms` milliseconds of true time.
    pub(crate) fn node(self, ms: u64, node: &str, event: NodeEvent) -> Self {
        self.push(ms, node, What::Node(event))
    }

    /// A fault of `kind` hit `node` at `ms`.
    pub(crate) fn fault(self, ms: u64, node: &str, kind: FaultKind) -> Self {
        let fault = Fault {
            kind,
            node: node.to_string(),
            at: SignedDuration::from_millis(ms as i64),
            duration: None,
        };
        self.push(
            ms,
            "world",
            What::Fault(FaultRecord::FaultStarted { fault }),
        )
    }

    /// A fault of `kind` hit `node` at `ms`, to last `duration_ms`.
    pub(crate) fn fault_for(self, ms: u64, node: &str, kind: FaultKind, duration_ms: u64) -> Self {
        let fault = Fault {
            kind,
            node: node.to_string(),
            at: SignedDuration::from_millis(ms as i64),
            duration: Some(SignedDuration::from_millis(duration_ms as i64)),
        };
        self.push(
            ms,
            "world",
            What::Fault(FaultRecord::FaultStarted { fault }),
        )
    }

    /// `node`'s command recorded `record` at `ms`.
    pub(crate) fn command(self, ms: u64, node: &str, record: CommandRecord) -> Self {
        self.push(ms, node, What::Command(record))
    }

    /// The fault of `kind` that hit `node` at `started_ms` was undone at `ms`.
    pub(crate) fn fault_ended(self, ms: u64, node: &str, kind: FaultKind, started_ms: u64) -> Self {
        let fault = Fault {
            kind,
            node: node.to_string(),
            at: SignedDuration::from_millis(started_ms as i64),
            duration: None,
        };
        self.push(ms, "world", What::Fault(FaultRecord::FaultEnded { fault }))
    }

    /// A graceful stop reached `node` at `ms` (its process handed it over).
    pub(crate) fn stop_reached(self, ms: u64, node: &str) -> Self {
        self.push(ms, node, What::Fault(FaultRecord::StopReached))
    }

    /// The backend applied `record` at `ms`.
    pub(crate) fn backend(self, ms: u64, record: BackendRecord) -> Self {
        self.push(ms, "backend", What::Backend(record))
    }

    /// The finished history.
    pub(crate) fn build(self) -> History {
        History {
            records: self.records,
        }
    }
}

/// `CampaignWon` in the test election.
pub(crate) fn won(token: u64) -> NodeEvent {
    NodeEvent::CampaignWon {
        election: election(),
        token: FencingToken(token),
    }
}

/// `LeadershipRevoked` in the test election.
pub(crate) fn revoked(token: u64) -> NodeEvent {
    NodeEvent::LeadershipRevoked {
        election: election(),
        token: FencingToken(token),
        reason: "session lost".into(),
    }
}

/// `ClaimsSent` by leadership `token` of run claims for `(job, tick seconds)` pairs.
pub(crate) fn sent(token: u64, ticks: &[(&str, i64)]) -> NodeEvent {
    sent_on(token, ticks, None)
}

/// [`sent`], decided on clock `evidence` (at `at` seconds, its witness reading `witness_ms`
/// milliseconds old).
pub(crate) fn sent_on(
    token: u64,
    ticks: &[(&str, i64)],
    evidence: Option<(i64, u64)>,
) -> NodeEvent {
    NodeEvent::ClaimsSent {
        token: FencingToken(token),
        claims: ticks
            .iter()
            .map(|&(name, tick)| cronfence::Claim {
                job: job(name),
                tick: at(tick),
                spec_version: 1,
                kind: cronfence::ClaimKind::Run { attempt: 1 },
            })
            .collect(),
        evidence: evidence.map(|(secs, witness_ms)| cronfence::event::ClockEvidence {
            at: at(secs),
            witness_age: std::time::Duration::from_millis(witness_ms),
            witness: (at(secs))
                - SignedDuration::try_from(std::time::Duration::from_millis(witness_ms))
                    .expect("an age"),
        }),
    }
}

/// `TickClaimed` of job `name`'s tick at `tick` seconds, attempt 1.
pub(crate) fn claimed(name: &str, tick: i64, token: u64) -> NodeEvent {
    NodeEvent::TickClaimed {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt: 1,
    }
}

/// `TickStarted` of job `name`'s tick at `tick` seconds.
pub(crate) fn started(name: &str, tick: i64, token: u64, attempt: u32) -> NodeEvent {
    NodeEvent::TickStarted {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt,
    }
}

/// `TickCompleted` of job `name`'s tick at `tick` seconds.
pub(crate) fn completed(name: &str, tick: i64, token: u64, attempt: u32) -> NodeEvent {
    NodeEvent::TickCompleted {
        job: job(name),
        tick: at(tick),
        token: FencingToken(token),
        attempt,
    }
}

//! Checked in shards, a history gets the verdict it gets in one piece, where a fact of one job
//! bears on another's: a stale batch holding both jobs' claims, a refusal of one job that takes
//! its node out of the election the other job belongs to.

use std::collections::BTreeMap;

use cronfence::store::Claim;
use cronfence::{ClaimKind, Delivery, FencingToken, NodeEvent};

use super::super::testkit::*;
use super::super::{check_in_shards, Verdict};
use crate::history::{BackendRecord, History};

/// Jobs `j` and `k`, both every 10 s in the test election.
fn two_jobs() -> BTreeMap<cronfence::JobId, cronfence::JobSpec> {
    let mut jobs = jobs("j", every_10s(Delivery::AtMostOnce));
    jobs.extend(self::jobs("k", every_10s(Delivery::AtMostOnce)));
    jobs
}

/// The verdict in one piece and in shards of one job, which must be the same.
fn both_ways(history: &History) -> Verdict {
    let jobs = two_jobs();
    let whole = check_in_shards(input(history, &jobs, 0, 60), usize::MAX);
    let sharded = check_in_shards(input(history, &jobs, 0, 60), 1);
    assert_eq!(sharded, whole, "sharded and whole verdicts differ");
    whole
}

#[test]
fn a_stale_batch_holding_two_shards_jobs_is_one_finding() {
    let granted = |token: u64, holder: &str| BackendRecord::LeadershipGranted {
        election: election(),
        token: FencingToken(token),
        holder: holder.into(),
    };
    let claim = |name: &str| Claim {
        job: job(name),
        tick: at(10),
        spec_version: 1,
        kind: ClaimKind::Run { attempt: 1 },
    };
    let history = Builder::new()
        .backend(0, granted(1, "a"))
        .backend(5_000, granted(2, "b"))
        .backend(
            10_000,
            BackendRecord::ClaimApplied {
                election: election(),
                token: FencingToken(1),
                claims: vec![claim("j"), claim("k")],
            },
        )
        .build();
    let verdict = both_ways(&history);
    let stale: Vec<_> = verdict
        .violations
        .iter()
        .filter(|f| f.kind == "stale_claim")
        .collect();
    assert_eq!(stale.len(), 1, "{verdict:#?}");
}

#[test]
fn a_refused_job_ends_the_leadership_in_every_shard() {
    // a leads, claims k's tick, then refuses job j: it leaves the election, and gives k's tick
    // up as lost with the leadership. The shard holding only k must see the refusal too.
    let history = Builder::new()
        .node(0, "a", won(1))
        .node(9_000, "a", sent(1, &[("k", 10)]))
        .node(9_100, "a", claimed("k", 10, 1))
        .node(
            9_500,
            "a",
            NodeEvent::JobRejected {
                job: job("j"),
                error: "superseded".into(),
            },
        )
        .node(
            9_600,
            "a",
            NodeEvent::TicksAbandoned {
                job: job("k"),
                first: at(10),
                last: at(10),
                count: 1,
                reason: cronfence::plan::AbandonReason::LeadershipLost,
                token: FencingToken(1),
            },
        )
        .build();
    both_ways(&history);
}

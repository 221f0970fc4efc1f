//! Tests of an execution's give-ups: what a tick given up before it began leaves in the store.
use std::time::Duration;

use super::*;
use crate::elector::{ElectionName, Elector};
use crate::job::{Job, JobId};
use crate::memory::MemoryBackend;
use crate::schedule::Schedule;
use crate::store::{Claim, ClaimKind, JobRegistry, TickStore};

fn tick(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + second).expect("a valid instant")
}

/// Claims tick 0 of an at-least-once job to run, then gives it up with an execution cancelled
/// for `reason` before it began; the ticks its leadership's store still holds in flight.
async fn given_up_before_it_began(reason: AbandonReason) -> Vec<(jiff::Timestamp, u32)> {
    let backend = Arc::new(MemoryBackend::new());
    let election = ElectionName::new("default");
    let every = jiff::SignedDuration::from_secs(1);
    let schedule = Schedule::every(tick(0), every).expect("a schedule");
    let id = JobId::new("a").expect("a valid id");
    let job = Job::new(id.clone(), schedule, |_| async {
        Ok::<_, std::io::Error>(())
    })
    .delivery(Delivery::AtLeastOnce);
    let registered = backend
        .register(&[(id.clone(), job.spec.clone(), election.clone())], tick(0))
        .await;
    assert!(registered.expect("registered")[0].is_ok());
    let session = backend.open_session(Duration::from_secs(10)).await;
    let session = session.expect("a session");
    let leadership = backend.campaign(&session, &election, "test").await;
    let leadership = leadership.expect("won");
    let claim = Claim {
        job: id.clone(),
        tick: tick(0),
        spec_version: 1,
        kind: ClaimKind::RunThenCommit { attempt: 1 },
    };
    let fence = leadership.fence();
    backend.claim(&fence, &[claim]).await.expect("claimed");
    let ctx = NodeCtx::for_tests(backend.clone(), Arc::new(crate::event::NoEvents));
    let revoked = leadership.revocation_signal();
    let committer = Committer::start(ctx.clone(), fence.clone(), revoked.clone());
    let (began, _) = mpsc::unbounded_channel();
    let (ended, mut execution_ended) = mpsc::unbounded_channel();
    let execution = Execution {
        ctx,
        job,
        job_idx: 0,
        id: 1,
        fence,
        ticks: vec![TickRun {
            at: tick(0),
            attempt: 1,
        }],
        decided: Decided::now(tick(0)),
        cancel: signal::channel(Some(reason)).1,
        held: signal::channel(false).1,
        revoked,
        proof: None,
        committer: Some(committer),
        began,
        ended,
        done: signal::Sender::new(false),
    };
    execution.run().await;
    execution_ended
        .recv()
        .await
        .expect("the execution said it ended");
    // The settling commit goes in the background: give it time to land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let checkpoints = backend.checkpoints(&[id]).await.expect("read");
    std::mem::forget((session, leadership));
    checkpoints[0].in_flight.clone()
}

#[tokio::test]
async fn a_tick_replaced_before_it_began_is_settled_and_one_lost_with_its_leadership_is_not() {
    // Left in flight, a replaced tick would be run again by whichever leadership came next,
    // long after the ticks that replaced it (memory 30759: 66 s late); a tick given up with
    // its leadership, or at shutdown, must stay in flight so it runs again.
    assert_eq!(given_up_before_it_began(AbandonReason::Replaced).await, []);
    for reason in [AbandonReason::LeadershipLost, AbandonReason::Shutdown] {
        let in_flight = given_up_before_it_began(reason).await;
        assert_eq!(in_flight, [(tick(0), 1)], "{reason:?}");
    }
}

//! Tests of an execution's give-ups: what a tick given up before it began leaves in the store.
use std::time::Duration;

use super::*;
use crate::clock::{Clock, SystemClock};
use crate::elector::{ElectionName, Elector};
use crate::job::{Job, JobId, TickContext};
use crate::memory::MemoryBackend;
use crate::schedule::Schedule;
use crate::store::{Claim, ClaimKind, JobRegistry, TickStore};

fn tick(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + second).expect("a valid instant")
}

/// Events recorded in order.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<NodeEvent>>);

impl crate::event::EventSink for Recorded {
    fn record(&self, event: &NodeEvent) {
        self.0.lock().expect("events lock").push(event.clone());
    }
}

/// Claims tick 0 of an at-least-once job to run, then gives it up with an execution cancelled
/// for `reason` before it began; the ticks its leadership's store still holds in flight.
async fn given_up_before_it_began(reason: AbandonReason) -> Vec<(jiff::Timestamp, u32)> {
    let ticks = [tick(0)];
    let run = claimed_and_run(&ticks, Decided::now(tick(0)), Some(reason)).await;
    run.in_flight
}

/// What an execution left behind.
struct Ran {
    in_flight: Vec<(jiff::Timestamp, u32)>,
    events: Vec<NodeEvent>,
    commands: Vec<jiff::Timestamp>,
}

/// Claims `ticks` of an at-least-once job under overlap replace to run, and runs them in one
/// execution decided at `decided`, cancelled for `cancel` from the start.
async fn claimed_and_run(
    ticks: &[jiff::Timestamp],
    decided: Decided,
    cancel: Option<AbandonReason>,
) -> Ran {
    let backend = Arc::new(MemoryBackend::new());
    let election = ElectionName::new("default");
    let every = jiff::SignedDuration::from_secs(1);
    let schedule = Schedule::every(tick(0), every).expect("a schedule");
    let id = JobId::new("a").expect("a valid id");
    let commands = Arc::new(std::sync::Mutex::new(Vec::new()));
    let polled = commands.clone();
    let job = Job::new(id.clone(), schedule, move |tick: TickContext| {
        polled
            .lock()
            .expect("commands lock")
            .push(tick.scheduled_at);
        async { Ok::<_, std::io::Error>(()) }
    })
    .delivery(Delivery::AtLeastOnce)
    .overlap(OverlapPolicy::Replace);
    let registered = backend
        .register(&[(id.clone(), job.spec.clone(), election.clone())], tick(0))
        .await;
    assert!(registered.expect("registered")[0].is_ok());
    let session = backend.open_session(Duration::from_secs(10)).await;
    let session = session.expect("a session");
    let leadership = backend.campaign(&session, &election, "test").await;
    let leadership = leadership.expect("won");
    let claims: Vec<_> = ticks
        .iter()
        .map(|&at| Claim {
            job: id.clone(),
            tick: at,
            spec_version: 1,
            kind: ClaimKind::RunThenCommit { attempt: 1 },
        })
        .collect();
    let fence = leadership.fence();
    backend.claim(&fence, &claims).await.expect("claimed");
    let events = Arc::new(Recorded::default());
    let ctx = NodeCtx::for_tests(backend.clone(), events.clone());
    let revoked = leadership.revocation_signal();
    let committer = Committer::start(
        ctx.clone(),
        fence.clone(),
        revoked.clone(),
        Default::default(),
    );
    let (began, _) = mpsc::unbounded_channel();
    let (ended, mut execution_ended) = mpsc::unbounded_channel();
    let execution = Execution {
        ctx,
        job,
        job_idx: 0,
        id: 1,
        fence,
        ticks: ticks.iter().map(|&at| TickRun { at, attempt: 1 }).collect(),
        decided,
        cancel: signal::channel(cancel).1,
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
    let events = events.0.lock().expect("events lock").clone();
    let commands = commands.lock().expect("commands lock").clone();
    Ran {
        in_flight: checkpoints[0].in_flight.clone(),
        events,
        commands,
    }
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

#[tokio::test]
async fn a_first_tick_a_newer_due_tick_of_its_batch_replaces_is_given_up_not_started() {
    // The batch [now − 3 s, now − 2 s, now − 1 s] was decided on a clock that has come back
    // since: by the clock now, the decision happened at now − 2.5 s, so the two newer ticks were
    // claimed ahead and are due. The newest replaces the others, the first included: those are
    // given up as replaced, never recorded started with a command that would not run (memory
    // 54128: `tick_started` without its command).
    let now = SystemClock.now();
    let ago = |s: i64| now - jiff::SignedDuration::from_secs(s);
    let decided = Decided::now(now - jiff::SignedDuration::from_millis(2_500));
    let ran = claimed_and_run(&[ago(3), ago(2), ago(1)], decided, None).await;
    assert_eq!(ran.commands, [ago(1)]);
    let started: Vec<_> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::TickStarted { tick, .. } => Some(*tick),
            _ => None,
        })
        .collect();
    assert_eq!(started, [ago(1)]);
    let replaced: Vec<_> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::TicksAbandoned { first, reason, .. } => Some((*first, *reason)),
            _ => None,
        })
        .collect();
    let replaced_reason = AbandonReason::Replaced;
    assert_eq!(
        replaced,
        [(ago(3), replaced_reason), (ago(2), replaced_reason)]
    );
    assert_eq!(ran.in_flight, []);
}

//! A model of go-micro v2's `sync.Cron`, the design cronfence started from, run beside cronfence
//! in the same world and recorded in the same history so the checkers can show its pitfalls.
//!
//! Faithful to its source as the seed article reads it: the election id is
//! `"<Time.Unix()>-<Interval in ns>-<command name>"`; every node starts a ticker at boot that waits
//! until `Time` and then fires every `Interval` into a one-slot channel (a follower holds one
//! stale tick, fired the moment it wins); each `Elect` opens a session with etcd's default 60 s
//! TTL; a leader steps down only when it observes another leader; failed elections back off
//! `10^i` ms with no cap and report nothing. It uses cronfence's backends only as an election
//! service (no checkpoint, no fencing). Each run is recorded against the scenario's schedule:
//! its tick is the scheduled instant at or before the moment it fired.

use std::sync::Arc;
use std::time::Duration;

use cronfence::{Backend, Clock, ElectionName, EventSink, JobId, LeaderInfo, NodeEvent, Schedule};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

/// How a go-micro node sets its `Schedule.Time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTime {
    /// `time.Now().Add(d)`: relative to the node's boot (the article's pitfall).
    AfterBoot(SignedDuration),
    /// The zero `time.Time`: every node agrees on the id.
    Zero,
}

/// One go-micro node's cron job.
pub struct GoMicro {
    /// The node's name (its campaign value).
    pub node: String,
    /// The backend used for elections.
    pub backend: Arc<dyn Backend>,
    /// The node's clock.
    pub clock: Arc<dyn Clock>,
    /// Where its events go.
    pub sink: Arc<crate::sink::Sink>,
    /// The job id the history records runs under.
    pub job: JobId,
    /// The scenario's schedule, to name the tick each run belongs to.
    pub reference: Schedule,
    /// `Schedule.Interval`.
    pub interval: Duration,
    /// `Schedule.Time`.
    pub start: StartTime,
    /// `Command.Name`.
    pub command: String,
    /// How long each run takes.
    pub run_time: Duration,
}

/// The go-micro model instead of cronfence on node `node`: one `sync.Cron` job per job with an
/// interval schedule (`jobs`: id, spec, how long each run takes), electing through `backend`;
/// never returns.
pub async fn run_all<'a>(
    node: &str,
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    sink: Arc<crate::sink::Sink>,
    jobs: impl Iterator<Item = (&'a JobId, &'a cronfence::JobSpec, Duration)>,
    settings: &crate::scenario::GoMicroSettings,
) {
    let start = match settings.start_after_boot {
        Some(d) => StartTime::AfterBoot(d),
        None => StartTime::Zero,
    };
    for (id, spec, run_time) in jobs {
        let Schedule::Every { interval, .. } = &spec.schedule else {
            continue;
        };
        let model = GoMicro {
            node: node.to_string(),
            backend: backend.clone(),
            clock: clock.clone(),
            sink: sink.clone(),
            job: id.clone(),
            reference: spec.schedule.clone(),
            interval: interval.get().unsigned_abs(),
            start,
            command: settings.command.clone(),
            run_time,
        };
        tokio::spawn(model.run());
    }
    std::future::pending::<()>().await;
}

/// The session TTL of go-micro's etcd leader (etcd's `concurrency` default).
const SESSION_TTL: Duration = Duration::from_secs(60);

impl GoMicro {
    /// `cron.Schedule(...)`: starts the ticker and the election loop; never returns.
    pub async fn run(self) {
        let time = match self.start {
            StartTime::AfterBoot(d) => Some(self.clock.now() + d),
            StartTime::Zero => None,
        };
        let unix = time.map_or(-62_135_596_800, |t| t.as_second()); // Go's zero time
        let id = format!("{unix}-{}-{}", self.interval.as_nanos(), self.command);
        let (tx, mut ticks) = mpsc::channel::<()>(1);
        tokio::spawn(ticker(self.clock.clone(), time, self.interval, tx));
        let election = ElectionName::new(id);
        let mut failures: u32 = 0;
        loop {
            self.sink.record(&NodeEvent::CampaignStarted {
                election: election.clone(),
            });
            let Ok(session) = self.backend.open_session(SESSION_TTL).await else {
                backoff(&mut failures).await;
                continue;
            };
            let Ok(leadership) = self.backend.campaign(&session, &election, &self.node).await
            else {
                backoff(&mut failures).await;
                continue;
            };
            failures = 0;
            let token = leadership.token;
            self.sink.record(&NodeEvent::CampaignWon {
                election: election.clone(),
                token,
            });
            let me = LeaderInfo {
                value: self.node.clone(),
                token,
            };
            let mut revoked = Box::pin(another_leader(self.backend.clone(), election.clone(), me));
            loop {
                tokio::select! {
                    biased;
                    _ = &mut revoked => break,
                    Some(()) = ticks.recv() => self.execute(token).await,
                }
            }
            self.sink.record(&NodeEvent::LeadershipRevoked {
                election: election.clone(),
                token,
                reason: "another leader observed".into(),
            });
            drop(session);
        }
    }

    async fn execute(&self, token: cronfence::FencingToken) {
        let now = self.clock.now();
        let Some(k) = self.reference.tick_number_at_or_before(now) else {
            return;
        };
        let tick = self
            .reference
            .tick_at(k)
            .expect("a tick at or before now exists");
        let event = |started| {
            if started {
                NodeEvent::TickStarted {
                    job: self.job.clone(),
                    tick,
                    token,
                    attempt: 1,
                }
            } else {
                NodeEvent::TickCompleted {
                    job: self.job.clone(),
                    tick,
                    token,
                    attempt: 1,
                }
            }
        };
        self.sink.record(&event(true));
        let run = self.sink.began(&self.job, tick, token, 1);
        tokio::time::sleep(self.run_time).await;
        run.returned();
        self.sink.record(&event(false));
    }
}

/// `Schedule.Run()`: wait until `time` (if set), then send a tick every `interval`; a tick that
/// finds the one-slot channel full is dropped (Go's ticker drops ticks for slow receivers).
async fn ticker(
    clock: Arc<dyn Clock>,
    time: Option<Timestamp>,
    interval: Duration,
    tx: mpsc::Sender<()>,
) {
    if let Some(time) = time {
        let wait = time.duration_since(clock.now());
        if wait.is_positive() {
            tokio::time::sleep(wait.unsigned_abs()).await;
        }
    }
    let mut next = tokio::time::Instant::now() + interval;
    loop {
        tokio::time::sleep_until(next).await;
        let _ = tx.try_send(());
        next += interval;
    }
}

/// Resolves when the election shows a leader other than `me`; errors and "no leader" are not
/// news to go-micro's observer, so it keeps leading through them.
async fn another_leader(backend: Arc<dyn Backend>, election: ElectionName, me: LeaderInfo) {
    loop {
        match backend.observe(&election, Some(&me)).await {
            Ok(Some(other)) if other != me => return,
            Ok(Some(_)) => {}
            // No leader at all, or no answer: nothing go-micro's observer reacts to.
            Ok(None) | Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// `10^i` milliseconds, no cap (bounded only so the number fits), nothing reported.
async fn backoff(failures: &mut u32) {
    let ms = 10u64.saturating_pow(*failures).min(u64::MAX / 2);
    *failures += 1;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

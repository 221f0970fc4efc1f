//! Where a node's doings go in either world: its events, and its commands' beginnings and ends
//! (returned or dropped), recorded into the history with true time and the node's own clock's
//! reading.

use cronfence::{Clock, EventSink, FencingToken, JobId, NodeEvent};
use jiff::Timestamp;

use crate::clock::{SimClock, WorldTime};
use crate::history::{CommandRecord, FaultRecord, Recorder, What};

/// One node's recorder.
#[derive(Clone)]
pub struct Sink {
    node: String,
    clock: SimClock,
    recorder: Recorder,
    time: WorldTime,
}

impl Sink {
    /// The sink of node `node`, reading its clock `clock`, recording into `recorder` on the
    /// world's time `time`.
    pub fn new(node: &str, clock: SimClock, recorder: Recorder, time: WorldTime) -> Self {
        Sink {
            node: node.to_string(),
            clock,
            recorder,
            time,
        }
    }

    fn push(&self, what: What) {
        let elapsed = self.time.elapsed();
        self.recorder.push(
            elapsed.as_nanos() as u64,
            self.time.at(elapsed),
            &self.node,
            Some(self.clock.now()),
            what,
        );
    }

    /// Records that a graceful stop reached the node (the harness hands it over next).
    pub fn stop_reached(&self) {
        self.push(What::Fault(FaultRecord::StopReached));
    }

    /// Records that a job's command began running `tick`; called from the command itself, on its
    /// first poll. The returned run records the command's end: [`CommandRun::returned`] when its
    /// body returns, or a drop (cancelled, or its process died) if it is dropped before.
    pub fn began(
        &self,
        job: &JobId,
        tick: Timestamp,
        token: FencingToken,
        attempt: u32,
    ) -> CommandRun {
        self.push(What::Command(CommandRecord::CommandBegan {
            job: job.clone(),
            tick,
            token,
            attempt,
        }));
        CommandRun {
            sink: self.clone(),
            job: job.clone(),
            tick,
            token,
            attempt,
            returned: false,
        }
    }
}

/// A command that began and has not ended yet: records how it ends.
pub struct CommandRun {
    sink: Sink,
    job: JobId,
    tick: Timestamp,
    token: FencingToken,
    attempt: u32,
    returned: bool,
}

impl CommandRun {
    /// The command's body returned.
    pub fn returned(mut self) {
        self.returned = true;
        self.sink.push(What::Command(CommandRecord::CommandEnded {
            job: self.job.clone(),
            tick: self.tick,
            token: self.token,
            attempt: self.attempt,
        }));
    }
}

impl Drop for CommandRun {
    fn drop(&mut self) {
        if !self.returned {
            self.sink.push(What::Command(CommandRecord::CommandDropped {
                job: self.job.clone(),
                tick: self.tick,
                token: self.token,
                attempt: self.attempt,
            }));
        }
    }
}

impl EventSink for Sink {
    fn record(&self, event: &NodeEvent) {
        self.push(What::Node(event.clone()));
    }
}

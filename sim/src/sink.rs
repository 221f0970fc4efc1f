//! Where a node's doings go in either world: its events, and its commands' beginnings and ends,
//! recorded into the history with true time and the node's own clock's reading.

use cronfence::{Clock, EventSink, FencingToken, JobId, NodeEvent};
use jiff::Timestamp;

use crate::clock::{SimClock, WorldTime};
use crate::history::{CommandRecord, Recorder, What};

/// One node's recorder.
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

    /// Records that a job's command began (`began`) or returned from running `tick`; called from
    /// the command itself.
    pub fn command(
        &self,
        began: bool,
        job: &JobId,
        tick: Timestamp,
        token: FencingToken,
        attempt: u32,
    ) {
        let job = job.clone();
        self.push(What::Command(if began {
            CommandRecord::CommandBegan {
                job,
                tick,
                token,
                attempt,
            }
        } else {
            CommandRecord::CommandEnded {
                job,
                tick,
                token,
                attempt,
            }
        }));
    }
}

impl EventSink for Sink {
    fn record(&self, event: &NodeEvent) {
        self.push(What::Node(event.clone()));
    }
}

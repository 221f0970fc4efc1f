//! A node's deploy control: whether its process should be running a cronfence node, and which
//! job spec version that node defines: what an operator (systemd, a deploy tool) decides.
//!
//! The simulator's injector and the real-time world write it (a `stop` fault stops the node, its
//! end starts it again, possibly upgraded); the node's process follows it. It is
//! shared outside the madsim node, so it survives a crash and restart of the node: a node
//! restarted while stopped stays stopped, and a node restarted after an upgrade runs the new
//! version, as a restarted process would. It owns no timing and no counting of overlapping
//! faults (the injector's counted switches do that), and never touches the node itself.

use std::sync::Arc;

use cronfence::signal;

/// What the operator wants of one node's process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The process must not run a cronfence node.
    pub stopped: bool,
    /// How many stops were requested so far: a process that started under an older count shuts
    /// down even if it never saw `stopped` set (it was paused through a short stop).
    pub stops: u64,
    /// The spec version every job is defined with; `None`: as the scenario defines it.
    pub version: Option<u64>,
}

/// One node's deploy control; cheap to clone, every clone controls the same node.
#[derive(Clone)]
pub struct NodeControl {
    wanted: Arc<signal::Sender<Wanted>>,
}

impl Default for NodeControl {
    fn default() -> Self {
        NodeControl {
            wanted: Arc::new(signal::Sender::new(Wanted::default())),
        }
    }
}

impl NodeControl {
    /// Asks the process to shut its node down gracefully and stay stopped.
    pub fn stop(&self) {
        self.wanted.send_modify(|w| {
            w.stopped = true;
            w.stops += 1;
        });
    }

    /// Asks the process to start a fresh node.
    pub fn start(&self) {
        self.wanted.send_modify(|w| w.stopped = false);
    }

    /// From the next start on, the node defines every job with spec `version`.
    pub fn upgrade(&self, version: u64) {
        self.wanted.send_modify(|w| w.version = Some(version));
    }

    /// What the process should do, as a signal it can wait on.
    pub fn wanted(&self) -> signal::Receiver<Wanted> {
        self.wanted.subscribe()
    }
}

/// Runs a node whenever `control` wants one: `start` starts a fresh one at the wanted spec
/// version, and a stop shuts it down gracefully (`RunningNode::shutdown`, awaited), `reached`
/// called the instant before (nothing else of the node runs in between; not when the control
/// is gone, which stops the node too). Returns when the control is gone.
pub async fn follow<F, Started>(control: &NodeControl, start: F, reached: impl Fn())
where
    F: Fn(Option<u64>) -> Started,
    Started: std::future::Future<Output = cronfence::RunningNode>,
{
    let mut wanted = control.wanted();
    loop {
        let Ok(begin) = wanted.wait_for(|w| !w.stopped).await else {
            return;
        };
        let running = start(begin.version).await;
        let stop = wanted
            .wait_for(|w| w.stopped || w.stops != begin.stops)
            .await;
        if stop.is_ok() {
            reached();
        }
        running.shutdown().await;
        if stop.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_is_counted_even_when_the_start_follows_before_the_process_looks() {
        // A paused process sees only the final value: the count is what tells it a stop happened.
        let control = NodeControl::default();
        let seen = control.wanted().borrow();
        control.stop();
        control.upgrade(2);
        control.start();
        let now = control.wanted().borrow();
        assert!(!now.stopped);
        assert_ne!(now.stops, seen.stops);
        assert_eq!(now.version, Some(2));
    }
}

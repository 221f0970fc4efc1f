//! Member faults in a real-time world: one member of the etcd cluster the harness started is
//! killed, frozen or cut off from its peers while the other two keep a quorum. The declared
//! member (`leader`: raft's when the fault starts, `follower`, or an index) is resolved when the
//! fault starts and recorded as the index it hit, on the pseudo-node `etcd-<index>`: not the
//! backend as a whole, which stays available, so the liveness checker still owes the nodes a
//! leader while one member is down.

use std::collections::BTreeSet;
use std::time::Duration;

use super::restart::MemberFault;
use super::RealWorld;
use crate::fault::FaultKind;

impl RealWorld {
    /// The member `declared` names now: an index as given, raft's leader as etcd reports it
    /// (asked for up to 10 s), or for `follower` the first member neither raft's leader nor in
    /// `faulted`.
    pub(super) fn member_index(&self, declared: &str, faulted: &BTreeSet<usize>) -> usize {
        let process = self
            .backend
            .as_ref()
            .expect("a scenario with member faults plays only on a cluster the harness started");
        if let Ok(index) = declared.parse::<usize>() {
            return index;
        }
        // Right after an earlier member fault raft may still be electing: ask for a while.
        let mut asked = 0;
        let leader = loop {
            match process.raft_leader() {
                Ok(leader) => break leader,
                Err(e) if asked >= 50 => {
                    panic!("cannot tell which etcd member is raft's leader after 10 s: {e}")
                }
                Err(_) => {
                    asked += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        if declared == "leader" {
            return leader;
        }
        (0..process.members())
            .find(|m| *m != leader && !faulted.contains(m))
            .unwrap_or((leader + 1) % process.members().max(1))
    }

    /// Starts (`on`) or ends `kind` on member `member`, recording it on `etcd-<member>`; the
    /// end of a crash is recorded once the member serves again.
    pub(super) fn member_fault(
        &mut self,
        kind: &FaultKind,
        member: usize,
        on: bool,
        duration: Option<Duration>,
    ) {
        let what = match kind {
            FaultKind::MemberCrash { .. } => MemberFault::Crash,
            FaultKind::MemberPause { .. } => MemberFault::Pause,
            FaultKind::MemberIsolate { .. } => MemberFault::Isolate,
            other => unreachable!("not a member fault: {}", other.name()),
        };
        let node = format!("etcd-{member}");
        let fault = self.fault(kind.on_member(member.to_string()), &node, duration);
        let key = (node, kind.name());
        if on {
            self.member_faults.insert(key.clone(), fault.clone());
            self.record_fault(fault.clone(), true);
        }
        let process = self
            .backend
            .as_mut()
            .expect("a scenario with member faults plays only on a cluster the harness started");
        if let Err(e) = process.member_fault(member, what, on) {
            panic!("member fault {} on etcd-{member}: {e}", kind.name());
        }
        if !on {
            let started = self.member_faults.remove(&key).unwrap_or(fault);
            self.record_fault(started, false);
        }
    }
}

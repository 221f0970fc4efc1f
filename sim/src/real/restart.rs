//! The backend's own process, for a real-time world that may restart it: the `backend_restart`
//! fault kills it (SIGKILL: it keeps only what it had made durable, as etcd does everything it
//! acknowledged) and starts it again on the same data when the fault ends. A cluster the harness
//! started also takes the member faults: one member killed and restarted, frozen (SIGSTOP) and let
//! go, or cut off from its peers. Only a harness that started the backend can do this; a world
//! played against a given cluster refuses these faults ([`super::suite::unplayable`]).

/// What a member fault does to its member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberFault {
    /// Killed (SIGKILL); undone by a restart on its data.
    Crash,
    /// Frozen (SIGSTOP); undone by SIGCONT.
    Pause,
    /// Cut off from its peers both ways; undone by healing the links.
    Isolate,
}

/// A backend the world may kill and start again.
pub trait BackendProcess: Send {
    /// Kills the backend at once.
    fn kill(&mut self);
    /// Starts the killed backend again on its data; returns once it serves requests.
    fn restart(&mut self) -> Result<(), String>;
    /// How many members it has (one: a single server, which takes no member fault).
    fn members(&self) -> usize {
        1
    }
    /// The index of the member raft elected, now.
    fn raft_leader(&self) -> Result<usize, String> {
        Err("a single server has no raft leader to find".into())
    }
    /// Starts (`on`) or undoes `fault` on member `member`; an undone crash returns once the
    /// member serves again.
    fn member_fault(&mut self, member: usize, fault: MemberFault, on: bool) -> Result<(), String> {
        let _ = (member, fault, on);
        Err("a single server takes no member fault".into())
    }
}

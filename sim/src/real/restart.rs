//! The backend's own process, for a real-time world that may restart it: the `backend_restart`
//! fault kills it (SIGKILL: it keeps only what it had made durable, as etcd does everything it
//! acknowledged) and starts it again on the same data when the fault ends. Only a harness that
//! started the backend can do this; a world played against a given cluster refuses the fault
//! ([`super::suite::unplayable`]).

/// A backend the world may kill and start again.
pub trait BackendProcess: Send {
    /// Kills the backend at once.
    fn kill(&mut self);
    /// Starts the killed backend again on its data; returns once it serves requests.
    fn restart(&mut self) -> Result<(), String>;
}

//! The README's example: the seed article's "print every 10 s" job, as one cronfence node.
//! Run it on several nodes against a shared backend and each tick prints on exactly one of them.
//! `tests/readme.rs` checks that the README shows this file's code verbatim.

use cronfence::{Job, JobId, MemoryBackend, Node, NodeConfig, Schedule, TickContext};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let backend = MemoryBackend::new(); // in-process; clones share it
    let anchor = "2026-01-01T00:00:00Z".parse()?; // absolute: identical on every node
    let every_10s = Schedule::every(anchor, jiff::SignedDuration::from_secs(10))?;
    let print = Job::new(
        JobId::new("print")?,
        every_10s,
        |tick: TickContext| async move {
            println!(
                "{} (fencing token {}, attempt {})",
                tick.tick, tick.fencing_token, tick.attempt
            );
            Ok::<(), std::io::Error>(())
        },
    );
    let mut node = Node::new(NodeConfig::new("node-a"), backend)
        .job(print)?
        .start();
    node.ready().await?; // registered, or JobSpecMismatch / BackendUnreachable
    tokio::signal::ctrl_c().await?;
    node.shutdown().await; // finishes running jobs, resigns: a follower takes over at once
    Ok(())
}

//! The `cronfence` binary: parses the command line and hands it to [`cronfence_sim::cli`].
//! `RUST_LOG` controls tracing output on stderr: the simulated nodes' own logs (their errors are
//! mostly the injected faults at work) stay off unless it is set, e.g. `RUST_LOG=info`.

use std::process::ExitCode;

use clap::Parser;
use cronfence_sim::cli::{self, Cli};

/// mimalloc rather than the system's allocator: a simulated world allocates and frees small
/// records, maps and tasks at a high rate, and glibc's malloc grows dearer as the heap grows
/// (`cargo bench -p cronfence-sim --bench tick_cost` measures the difference).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::main(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

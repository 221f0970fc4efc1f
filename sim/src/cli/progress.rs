//! A progress bar for long sweeps: drawn on stderr when it is a terminal, hidden in CI (`CI` set)
//! and when output is piped, so logs stay clean; and the suite run that draws it.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over a known number of runs.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` runs, visible only on an interactive terminal outside CI.
    pub fn new(total: usize, what: &str) -> Progress {
        let visible = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = if visible {
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        Progress { bar }
    }

    /// One more run finished; `message` names it.
    pub fn step(&self, done: usize, message: String) {
        self.bar.set_position(done as u64);
        self.bar.set_message(message);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Runs `cases` on `threads` threads with a progress bar prefixed `what`.
#[cfg(madsim)]
pub fn run_cases(
    cases: Vec<crate::suite::Case>,
    threads: usize,
    what: &str,
) -> Vec<crate::suite::CaseRun> {
    let progress = Progress::new(cases.len(), what);
    let runs = crate::suite::run(cases, threads, &|case, done| {
        progress.step(done, format!("{} on {}", case.loaded.name, case.backend));
    });
    progress.finish();
    runs
}

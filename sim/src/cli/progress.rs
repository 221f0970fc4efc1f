//! Progress for long sweeps: a bar drawn on stderr when it is a terminal; when output is piped
//! (a log file), a plain line at each tenth of the way, so a long run is never silent; nothing in
//! CI (`CI` set), so its logs stay clean. And the suite run that shows it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over a known number of runs.
pub struct Progress {
    bar: ProgressBar,
    /// Piped output outside CI: the lines to print, and the last tenth printed.
    lines: Option<Lines>,
}

struct Lines {
    what: String,
    total: usize,
    tenths: AtomicUsize,
}

impl Progress {
    /// Progress over `total` runs: a bar on an interactive terminal, lines when piped, nothing in
    /// CI.
    pub fn new(total: usize, what: &str) -> Progress {
        let in_ci = std::env::var_os("CI").is_some();
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal && !in_ci {
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
        let lines = (!terminal && !in_ci && total > 0).then(|| Lines {
            what: what.to_string(),
            total,
            tenths: AtomicUsize::new(0),
        });
        Progress { bar, lines }
    }

    /// One more run finished; `message` names it.
    pub fn step(&self, done: usize, message: String) {
        self.bar.set_position(done as u64);
        if let Some(lines) = &self.lines {
            let tenth = (done * 10 / lines.total).min(10);
            if tenth > lines.tenths.fetch_max(tenth, Ordering::Relaxed) {
                let elapsed = self.bar.elapsed().as_secs();
                eprintln!(
                    "{}: {done}/{} ({}%) after {elapsed} s; {message}",
                    lines.what,
                    lines.total,
                    tenth * 10
                );
            }
        }
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

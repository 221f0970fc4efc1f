//! `cronfence report`: the main job. Runs the suite (every scenario file in `scenarios/` on each
//! backend it lists, over its seeds, unless told otherwise), writes `index.html`, `summary.md`
//! and `summary.json` into `<out>/<name>/`, prints the Markdown summary, and exits 1 when a
//! scenario missed its expectation. A scenario file that fails to load is an error: the report
//! still runs and lists the others, the located error is printed, and the exit code is 2. With
//! `--scale`, the scale scenarios run after the suite ([`super::scale`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::report::Report;
use crate::scenario::BackendKind;
use crate::suite;

/// The command's arguments.
pub struct Args {
    /// Scenario files or folders.
    pub scenarios: Vec<PathBuf>,
    /// The parent folder of the run folder.
    pub out: PathBuf,
    /// The run folder's name.
    pub name: Option<String>,
    /// Backends to run on; `None`: every backend each scenario lists.
    pub backends: Option<Vec<BackendKind>>,
    /// Seeds 1..=N instead of each scenario's own.
    pub seeds: Option<u64>,
    /// Worker threads.
    pub threads: usize,
    /// Also the scale scenarios (`scenarios/scale/`), spooled, after the suite.
    pub scale: bool,
}

/// Runs the command.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let found = suite::discover(&args.scenarios)?;
    let cases = suite::cases(&found.scenarios, args.backends.as_deref(), args.seeds);
    if cases.is_empty() && found.failures.is_empty() {
        anyhow::bail!("nothing to run: no scenario lists the chosen backends");
    }
    let name = args.name.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .strftime("run-%Y%m%d-%H%M%S")
            .to_string()
    });
    let dir = args.out.join(name);
    eprintln!(
        "running {} scenario files, {} runs, on {} threads",
        found.scenarios.len(),
        cases.len(),
        args.threads
    );
    let started = Instant::now();
    let runs = super::progress::run_cases(cases, args.threads, "report");
    let report = Report::new(&runs, found.failures);
    let page = report.write(&dir)?;
    print!("{}", report.summary.to_markdown());
    eprintln!(
        "\nreport: {} (and summary.md, summary.json), {} runs in {:.1} s",
        page.display(),
        report.summary.runs,
        started.elapsed().as_secs_f64()
    );
    for failure in &report.summary.load_failures {
        eprintln!("error: {}", failure.error);
    }
    let scale_as_expected = match args.scale {
        true => super::scale::main(None, args.backends.as_deref(), &dir)?,
        false => true,
    };
    if !report.summary.load_failures.is_empty() {
        eprintln!(
            "{} scenario file(s) failed to load (exit code 2)",
            report.summary.load_failures.len()
        );
        return Ok(ExitCode::from(2));
    }
    if !scale_as_expected {
        eprintln!("not as expected: a scale scenario (scale.md)");
        return Ok(ExitCode::FAILURE);
    }
    if report.summary.all_as_expected() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("not as expected: {}", report.summary.unexpected.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

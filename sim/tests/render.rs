//! The report's page in a real browser: headless Chromium renders `index.html` to a screenshot,
//! and the timelines must be visible in its pixels (leadership spans, runs, a violation ring).
//! The legend's swatches are drawn at 80% opacity, so only the timelines have these exact colours.
//!
//! Ignored by default because it needs Chromium; `scripts/test` installs it (`scripts/setup`) and
//! runs `cargo test -p cronfence-sim --test render -- --ignored`. `CHROMIUM_BIN` picks another
//! browser binary.
#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cronfence_sim::report::Report;
use cronfence_sim::suite;

fn page(dir: &Path) -> PathBuf {
    let paths = [
        "../scenarios/gomicro_partition.toml",
        "../scenarios/leader_crash.toml",
    ]
    .map(PathBuf::from);
    let found = suite::discover(&paths).expect("the scenarios load");
    let cases = suite::cases(
        &found.scenarios,
        Some(&[cronfence_sim::scenario::BackendKind::Memory]),
        Some(1),
    );
    let runs = suite::run(cases, 2, &|_, _| {});
    Report::new(&runs, found.failures)
        .write(dir)
        .expect("the report is written")
}

/// Runs Chromium headless to screenshot `page`; fails after two minutes.
fn screenshot(page: &Path, png: &Path, profile: &Path) {
    let browser = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "chromium".into());
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1300,1500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{browser}` ({e}): run scripts/setup, or set CHROMIUM_BIN")
        });
    let started = Instant::now();
    while child.try_wait().expect("chromium's status").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish a screenshot in two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(png.is_file(), "chromium wrote no screenshot");
}

/// Pixels within a small distance of `rgb`.
fn count(pixels: &[u8], channels: usize, rgb: [u8; 3]) -> usize {
    pixels
        .chunks(channels)
        .filter(|p| (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 12))
        .count()
}

#[test]
#[ignore = "needs chromium: scripts/setup installs it; run with --ignored"]
fn the_timelines_are_visible_in_headless_chromium() {
    let dir = std::env::temp_dir().join(format!("cronfence-render-{}", std::process::id()));
    let index = page(&dir.join("report"));
    let png = dir.join("page.png");
    screenshot(&index.canonicalize().unwrap(), &png, &dir.join("profile"));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &pixels[..info.buffer_size()];
    let leadership = count(pixels, channels, [0x3b, 0x6f, 0xb6]);
    let runs = count(pixels, channels, [0x2e, 0x8b, 0x57]);
    let violations = count(pixels, channels, [0xee, 0x00, 0x00]);
    eprintln!(
        "{}x{}: {leadership} leadership, {runs} run, {violations} violation pixels",
        info.width, info.height
    );
    assert!(
        leadership > 2_000,
        "leadership spans are drawn: {leadership} px"
    );
    assert!(runs > 150, "runs are drawn: {runs} px");
    assert!(violations > 50, "violations are ringed: {violations} px");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The failover report: its summaries are snapshot-tested (`summary.md`, `summary.json`), and its
//! page is parsed as HTML and checked for what a reader needs: the summary table, a section per
//! scenario and backend with an SVG timeline whose lanes, leadership spans, runs, faults and
//! violations are drawn, failover tables, replay commands, and nothing fetched from a network.
//!
//! Paths are relative to this crate (where `cargo test` runs), so the snapshots do not depend on
//! the machine. After an intended change: `INSTA_UPDATE=always cargo test -p cronfence-sim --test
//! report`, then review the diff of `tests/snapshots/`.
#![cfg(madsim)]

use std::path::PathBuf;
use std::sync::OnceLock;

use cronfence_sim::report::Report;
use cronfence_sim::suite;
use scraper::{Html, Selector};

/// Three scenarios (one passing with a crash, one go-micro pitfall with violations, a nightly cron
/// job on the autumn DST fold), both backends, seeds 1 and 2: twelve runs, made once for every
/// test here.
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let paths = [
            "../scenarios/leader_crash.toml",
            "../scenarios/gomicro_partition.toml",
            "../scenarios/dst_berlin_autumn_fold.toml",
        ]
        .map(PathBuf::from);
        let found = suite::discover(&paths).expect("the scenarios load");
        let cases = suite::cases(&found.scenarios, None, Some(2));
        let runs = suite::run(cases, 2, &|_, _| {});
        Report::new(&runs, found.failures)
    })
}

fn select<'a>(html: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    html.select(&Selector::parse(css).expect("a valid selector"))
        .collect()
}

#[test]
fn summary_markdown() {
    insta::assert_snapshot!("summary_md", report().summary.to_markdown());
}

#[test]
fn summary_json() {
    insta::assert_snapshot!("summary_json", report().summary.to_json());
}

#[test]
fn the_page_parses_cleanly_and_fetches_nothing() {
    let html = Html::parse_document(&report().html);
    assert!(
        html.errors.is_empty(),
        "HTML parse errors: {:?}",
        html.errors
    );
    for attr in ["src", "href"] {
        for element in select(&html, &format!("[{attr}]")) {
            let value = element.value().attr(attr).unwrap();
            assert!(value.starts_with('#'), "{attr}={value} leaves the page");
        }
    }
    assert!(select(&html, "script, link, img").is_empty());
}

#[test]
fn the_summary_table_has_a_row_per_scenario_and_backend_linking_to_its_section() {
    let html = Html::parse_document(&report().html);
    let rows = select(&html, "table#summary tbody tr");
    assert_eq!(rows.len(), 6);
    for row in rows {
        let link = select_in(row, "a").remove(0);
        let target = link.value().attr("href").unwrap();
        assert_eq!(
            select(&html, &format!("section{target}")).len(),
            1,
            "{target} has a section"
        );
    }
}

fn select_in<'a>(element: scraper::ElementRef<'a>, css: &str) -> Vec<scraper::ElementRef<'a>> {
    element
        .select(&Selector::parse(css).expect("a valid selector"))
        .collect()
}

#[test]
fn every_section_draws_a_timeline_with_a_lane_per_node_and_what_happened() {
    let html = Html::parse_document(&report().html);
    let sections = select(&html, "section.scenario");
    assert_eq!(sections.len(), 6);
    for section in sections {
        let id = section.value().id().unwrap().to_string();
        let svg = select_in(section, "svg.timeline");
        assert_eq!(svg.len(), 1, "{id}: one timeline");
        let lanes: Vec<_> = select_in(svg[0], "g.lane")
            .iter()
            .map(|g| g.value().attr("data-node").unwrap().to_string())
            .collect();
        assert_eq!(lanes, ["node-0", "node-1", "node-2"], "{id}");
        assert!(
            !select_in(svg[0], "rect.leader").is_empty(),
            "{id}: leaders"
        );
        assert!(!select_in(svg[0], "line.run").is_empty(), "{id}: runs");
        let faults = select_in(svg[0], "rect.fault");
        assert!(!faults.is_empty(), "{id}: the crash or partition is shaded");
        assert!(
            !select_in(section, "table.failovers tbody tr").is_empty(),
            "{id}"
        );
    }
}

#[test]
fn violations_are_highlighted_and_listed_with_their_replay_command() {
    let html = Html::parse_document(&report().html);
    let pitfall = select(&html, "section#gomicro_partition--memory").remove(0);
    assert!(!select_in(pitfall, "svg g.violation").is_empty());
    let items = select_in(pitfall, "ul.violations li");
    assert!(!items.is_empty());
    let text: String = items[0].text().collect();
    assert!(
        text.contains("replay: cargo run -p cronfence-sim -- run ../scenarios/gomicro_partition.toml --backend memory --seed 1"),
        "{text}"
    );
    let clean = select(&html, "section#leader_crash--memory").remove(0);
    assert!(select_in(clean, "svg g.violation").is_empty());
}

#[test]
fn the_fold_day_shows_one_run_of_the_nightly_job() {
    let html = Html::parse_document(&report().html);
    for backend in ["memory", "etcd-sim"] {
        let section =
            select(&html, &format!("section#dst_berlin_autumn_fold--{backend}")).remove(0);
        let rows = select_in(section, "table.local-days tbody tr");
        assert_eq!(rows.len(), 1, "{backend}: one local day");
        let cells: Vec<String> = select_in(rows[0], "td")
            .iter()
            .map(|td| td.text().collect())
            .collect();
        assert_eq!(cells[0], "2027-10-31");
        assert!(cells[1].starts_with("autumn fold"), "{cells:?}");
        assert_eq!(
            (cells[2].as_str(), cells[3].as_str()),
            ("1", "1"),
            "{cells:?}"
        );
        assert!(
            cells[4].starts_with("02:30:00 CEST (00:30:00Z)"),
            "{cells:?}"
        );
    }
}

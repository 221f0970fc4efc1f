//! One run's timeline as an inline SVG: a lane per node, true time left to right.
//!
//! Each lane shows, top to bottom, the node's leadership spans (one colour per election, labelled
//! with the fencing token), its executions (a mark per started tick: green completed, red failed,
//! grey cancelled, amber still running at the end) and, when its clock was ever off, the clock's
//! offset from true time as a curve. Crashes, stops, pauses and partitions shade the lane; backend faults
//! shade a lane of their own. Records that show a violation get a red ring and a red rule across
//! every lane. Every mark carries a `<title>`, so a browser shows the details on hover. The lanes
//! are `<g class="lane" data-node="…">`, which is what the report's test looks for.

use std::collections::BTreeMap;
use std::fmt::Write;

use cronfence::NodeEvent;

use crate::check::Verdict;
use crate::fault::{Fault, FaultKind};
use crate::history::{FaultRecord, History, Record, What};

use super::html::escape;

const LEFT: f64 = 90.0;
const WIDTH: f64 = 1000.0;
const LANE: f64 = 54.0;
const TOP: f64 = 24.0;
const PALETTE: [&str; 6] = [
    "#3b6fb6", "#8a5cc2", "#2a9d8f", "#c27c2c", "#b5487a", "#5c7a29",
];

/// What a timeline is drawn from.
pub struct Input<'a> {
    /// The run's history.
    pub history: &'a History,
    /// Its verdict (violations are highlighted).
    pub verdict: &'a Verdict,
    /// The simulated duration, in nanoseconds.
    pub duration_ns: u64,
    /// The node names, in lane order.
    pub nodes: Vec<String>,
}

/// A shaded interval in one lane.
struct Span<'h> {
    from: u64,
    to: u64,
    label: String,
    class: &'static str,
    fill: &'h str,
}

/// The SVG of one run.
pub fn svg(input: &Input<'_>) -> String {
    let records = &input.history.records;
    let end = input.duration_ns.max(1);
    let x = |t: u64| LEFT + (t.min(end) as f64 / end as f64) * WIDTH;
    let lanes: BTreeMap<&str, usize> = input
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let faults = fault_spans(records, end);
    let backend_lane = faults.iter().any(|(n, _)| !lanes.contains_key(n.as_str()));
    let lane_count = input.nodes.len() + usize::from(backend_lane);
    let height = TOP + LANE * lane_count as f64 + 30.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="sans-serif" font-size="11">"#,
        w = LEFT + WIDTH + 20.0,
    );
    axis(&mut out, end, height, x);
    let lane_y =
        |node: &str| TOP + LANE * lanes.get(node).copied().unwrap_or(input.nodes.len()) as f64;
    for (i, node) in input.nodes.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let _ = write!(
            out,
            r#"<g class="lane" data-node="{n}"><rect x="{LEFT}" y="{y}" width="{WIDTH}" height="{h}" fill="{bg}"/><text x="4" y="{ty}">{n}</text>"#,
            n = escape(node),
            h = LANE - 4.0,
            bg = if i % 2 == 0 { "#f6f7f9" } else { "#eef0f3" },
            ty = y + 28.0,
        );
        for (_, span) in faults.iter().filter(|(n, _)| n == node) {
            shade(&mut out, span, y, LANE - 4.0, x);
        }
        leadership(&mut out, records, node, end, y, x);
        executions(&mut out, records, node, y, x);
        clock_curve(&mut out, records, node, y, x);
        out.push_str("</g>");
    }
    if backend_lane {
        let y = TOP + LANE * input.nodes.len() as f64;
        let _ = write!(
            out,
            r##"<g class="lane" data-node="backend"><rect x="{LEFT}" y="{y}" width="{WIDTH}" height="{h}" fill="#f6f7f9"/><text x="4" y="{ty}">backend</text>"##,
            h = LANE - 4.0,
            ty = y + 28.0,
        );
        for (_, span) in faults
            .iter()
            .filter(|(n, _)| !lanes.contains_key(n.as_str()))
        {
            shade(&mut out, span, y, LANE - 4.0, x);
        }
        out.push_str("</g>");
    }
    violations(&mut out, input, height, lane_y, x);
    out.push_str("</svg>");
    out
}

/// The time axis: a rule every "nice" step, labelled in seconds, minutes or hours.
fn axis(out: &mut String, end: u64, height: f64, x: impl Fn(u64) -> f64) {
    const STEPS_S: [u64; 14] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    ];
    let secs = end / 1_000_000_000;
    let step = STEPS_S
        .iter()
        .copied()
        .find(|s| secs / s <= 12)
        .unwrap_or(secs.div_ceil(12).max(1));
    let mut t = 0;
    out.push_str(r##"<g class="axis" stroke="#c8ccd2">"##);
    while t <= secs {
        let px = x(t * 1_000_000_000);
        let label = match step {
            s if s >= 3600 => format!("{}h", t / 3600),
            s if s >= 60 => format!("{}m", t / 60),
            _ => format!("{t}s"),
        };
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{y2}"/><text x="{px:.1}" y="14" text-anchor="middle" stroke="none" fill="#555">{label}</text>"##,
            y2 = height - 24.0,
        );
        t += step;
    }
    out.push_str("</g>");
}

/// Crashes, stops, pauses and partitions of nodes, and backend faults, as spans per target.
fn fault_spans<'h>(records: &'h [Record], end: u64) -> Vec<(String, Span<'h>)> {
    let mut open: Vec<(&Fault, u64)> = Vec::new();
    let mut spans = Vec::new();
    let mut close = |fault: &Fault, from: u64, to: u64| {
        let (class, fill) = match fault.kind {
            FaultKind::Crash => ("fault crash", "#d9534f"),
            FaultKind::Stop { .. } => ("fault stop", "#d9534f"),
            FaultKind::Pause => ("fault pause", "#f0ad4e"),
            FaultKind::Partition { .. } => ("fault partition", "#5bc0de"),
            ref k if k.is_clock() => return,
            _ => ("fault backend", "#9b59b6"),
        };
        spans.push((
            fault.node.clone(),
            Span {
                from,
                to,
                label: fault.to_string(),
                class,
                fill,
            },
        ));
    };
    for record in records {
        match &record.what {
            What::Fault(FaultRecord::FaultStarted { fault }) => open.push((fault, record.t_ns)),
            What::Fault(FaultRecord::FaultEnded { fault }) => {
                if let Some(i) = open.iter().position(|(f, _)| *f == fault) {
                    let (f, from) = open.remove(i);
                    close(f, from, record.t_ns);
                }
            }
            _ => {}
        }
    }
    for (fault, from) in open {
        close(fault, from, end);
    }
    spans
}

fn shade(out: &mut String, span: &Span<'_>, y: f64, h: f64, x: impl Fn(u64) -> f64) {
    let (x1, x2) = (x(span.from), x(span.to));
    let _ = write!(
        out,
        r#"<rect class="{c}" x="{x1:.1}" y="{y}" width="{w:.1}" height="{h}" fill="{f}" fill-opacity="0.28"><title>{t}</title></rect>"#,
        c = span.class,
        w = (x2 - x1).max(2.0),
        f = span.fill,
        t = escape(&span.label),
    );
}

/// Leadership spans of `node`: from each win to its revocation, resignation, step-down or crash.
fn leadership(
    out: &mut String,
    records: &[Record],
    node: &str,
    end: u64,
    y: f64,
    x: impl Fn(u64) -> f64,
) {
    let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
    let mut open: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut spans: Vec<(&str, u64, u64, u64)> = Vec::new();
    for record in records {
        let crashed = matches!(&record.what,
            What::Fault(FaultRecord::FaultStarted { fault })
                if fault.node == node && fault.kind == FaultKind::Crash);
        if crashed {
            for (election, (token, from)) in std::mem::take(&mut open) {
                spans.push((election, token, from, record.t_ns));
            }
            continue;
        }
        if record.node != node {
            continue;
        }
        let What::Node(event) = &record.what else {
            continue;
        };
        match event {
            NodeEvent::CampaignWon { election, token } => {
                let n = colours.len();
                colours
                    .entry(election.as_str())
                    .or_insert(PALETTE[n % PALETTE.len()]);
                open.insert(election.as_str(), (token.0, record.t_ns));
            }
            NodeEvent::LeadershipRevoked { election, .. }
            | NodeEvent::Resigned { election, .. }
            | NodeEvent::ClockBehind { election, .. } => {
                if let Some((token, from)) = open.remove(election.as_str()) {
                    spans.push((election.as_str(), token, from, record.t_ns));
                }
            }
            _ => {}
        }
    }
    spans.extend(open.into_iter().map(|(e, (tok, from))| (e, tok, from, end)));
    let rows = colours.len().max(1) as f64;
    let band = 14.0 / rows;
    let row_of: BTreeMap<&str, usize> = colours.keys().enumerate().map(|(i, e)| (*e, i)).collect();
    for (election, token, from, to) in spans {
        let (x1, x2) = (x(from), x(to));
        let by = y + 3.0 + band * row_of[election] as f64;
        let _ = write!(
            out,
            r#"<rect class="leader" x="{x1:.1}" y="{by:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>leader of {e} with token {token}</title></rect>"#,
            w = (x2 - x1).max(1.0),
            h = (band - 1.0).max(1.0),
            c = colours[election],
            e = escape(election),
        );
        if x2 - x1 > 34.0 && rows == 1.0 {
            let _ = write!(
                out,
                r##"<text x="{tx:.1}" y="{ty:.1}" fill="#fff" font-size="10">#{token}</text>"##,
                tx = x1 + 3.0,
                ty = by + 10.5,
            );
        }
    }
}

/// Beyond this many marks in a lane, marks sharing a pixel column are drawn as one.
const MARKS_EACH: usize = 400;

/// How a run ended, worst last (a merged mark shows the worst).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Completed,
    Cancelled,
    Unfinished,
    Failed,
}

impl Ending {
    fn colour(self) -> &'static str {
        match self {
            Ending::Completed => "#2e8b57",
            Ending::Cancelled => "#7f8c8d",
            Ending::Unfinished => "#e0a100",
            Ending::Failed => "#c0392b",
        }
    }
}

/// A mark per started tick on `node`, coloured by how the run ended.
fn executions(out: &mut String, records: &[Record], node: &str, y: f64, x: impl Fn(u64) -> f64) {
    let mut ended: BTreeMap<(&str, i128, u32), Ending> = BTreeMap::new();
    for record in records.iter().filter(|r| r.node == node) {
        let (job, tick, attempt, ending) = match &record.what {
            What::Node(NodeEvent::TickCompleted {
                job, tick, attempt, ..
            }) => (job, tick, attempt, Ending::Completed),
            What::Node(NodeEvent::TickFailed {
                job, tick, attempt, ..
            }) => (job, tick, attempt, Ending::Failed),
            What::Node(NodeEvent::TickCancelled {
                job, tick, attempt, ..
            }) => (job, tick, attempt, Ending::Cancelled),
            _ => continue,
        };
        ended.insert((job.as_str(), tick.as_nanosecond(), *attempt), ending);
    }
    let mut marks: Vec<(f64, Ending, String)> = Vec::new();
    for record in records.iter().filter(|r| r.node == node) {
        let What::Node(NodeEvent::TickStarted {
            job,
            tick,
            token,
            attempt,
        }) = &record.what
        else {
            continue;
        };
        let ending = ended
            .get(&(job.as_str(), tick.as_nanosecond(), *attempt))
            .copied()
            .unwrap_or(Ending::Unfinished);
        let title = format!("{job} tick {tick} attempt {attempt}, token {}", token.0);
        marks.push((x(record.t_ns), ending, title));
    }
    let (y1, y2) = (y + 19.0, y + 33.0);
    if marks.len() <= MARKS_EACH {
        for (px, ending, title) in marks {
            let _ = write!(
                out,
                r#"<line class="run" x1="{px:.1}" y1="{y1}" x2="{px:.1}" y2="{y2}" stroke="{c}" stroke-width="1.5"><title>{t}</title></line>"#,
                c = ending.colour(),
                t = escape(&title),
            );
        }
        return;
    }
    let mut columns: BTreeMap<i64, (usize, Ending)> = BTreeMap::new();
    for (px, ending, _) in &marks {
        let column = columns.entry(px.floor() as i64).or_insert((0, *ending));
        column.0 += 1;
        column.1 = column.1.max(*ending);
    }
    for (px, (count, ending)) in columns {
        let _ = write!(
            out,
            r#"<line class="run" x1="{px}.5" y1="{y1}" x2="{px}.5" y2="{y2}" stroke="{c}" stroke-width="1"><title>{count} runs started here</title></line>"#,
            c = ending.colour(),
        );
    }
}

/// The node's clock offset from true time, sampled at its records (at most the lowest and highest
/// reading per pixel column), when it was ever off by more than 50 ms.
fn clock_curve(out: &mut String, records: &[Record], node: &str, y: f64, x: impl Fn(u64) -> f64) {
    let mut columns: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.node == node) {
        let Some(clock) = r.clock else { continue };
        let off = (clock.as_nanosecond() - r.true_time.as_nanosecond()) as f64 / 1e6;
        let px = x(r.t_ns);
        let column = columns.entry(px.floor() as i64).or_default();
        match column.len() {
            0 | 1 => column.push((px, off)),
            _ if off < column[0].1 => column[0] = (px, off),
            _ if off > column[1].1 => column[1] = (px, off),
            _ => {}
        }
    }
    let points: Vec<(f64, f64)> = columns.into_values().flatten().collect();
    let peak = points.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    if peak < 50.0 {
        return;
    }
    let mid = y + 42.0;
    let scale = 7.0 / peak;
    let mut path = String::new();
    for (i, (px, off)) in points.iter().enumerate() {
        let _ = write!(
            path,
            "{}{px:.1},{:.1} ",
            if i == 0 { "M" } else { "L" },
            mid - off * scale
        );
    }
    let _ = write!(
        out,
        r##"<g class="clock"><line x1="{LEFT}" y1="{mid}" x2="{x2}" y2="{mid}" stroke="#bbb" stroke-dasharray="2,2"/><path d="{path}" fill="none" stroke="#6c3483" stroke-width="1.2"><title>clock offset, up to ±{p}</title></path><text x="4" y="{ty}" font-size="9" fill="#6c3483">clock ±{p}</text></g>"##,
        x2 = LEFT + WIDTH,
        p = super::summary::secs(peak),
        ty = mid + 4.0,
    );
}

/// At most this many violation records are ringed (the section lists every violation).
const VIOLATIONS_SHOWN: usize = 200;

/// Red rings on the records that show a violation, and a red rule across the lanes at each.
fn violations(
    out: &mut String,
    input: &Input<'_>,
    height: f64,
    lane_y: impl Fn(&str) -> f64,
    x: impl Fn(u64) -> f64,
) {
    let records = &input.history.records;
    let shown = input
        .verdict
        .violations
        .iter()
        .flat_map(|f| f.records.iter().map(move |seq| (f, seq)))
        .take(VIOLATIONS_SHOWN);
    for (finding, seq) in shown {
        {
            let Some(record) = records.get(*seq as usize) else {
                continue;
            };
            let px = x(record.t_ns);
            let _ = write!(
                out,
                r##"<g class="violation"><line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{y2}" stroke="#e00" stroke-width="1" stroke-dasharray="3,2"/><circle cx="{px:.1}" cy="{cy}" r="6" fill="none" stroke="#e00" stroke-width="2"/><title>{k}: {d}</title></g>"##,
                y2 = height - 24.0,
                cy = lane_y(&record.node) + 26.0,
                k = escape(&finding.kind),
                d = escape(&finding.detail),
            );
        }
    }
}

//! `index.html`: the report as one self-contained page (inline CSS and SVG, no script, no
//! network).
//!
//! The page opens with the summary table (a row per scenario and backend, linking to its
//! section); each section describes the scenario, draws the timeline of one seed (the first that
//! did not meet the expectation, else the first), lists that seed's failovers and every seed's
//! violations with the command that replays it. The markup is well-formed (every element closed,
//! every attribute quoted and escaped) so a test can parse it strictly.

use std::fmt::Write;

use crate::check::{Checker, Finding, Verdict};
use crate::history::History;

use super::summary::{secs, Row, Summary};
use super::timeline;

/// One row's section: what to draw and list.
pub struct Section<'a> {
    /// The summary row.
    pub row: &'a Row,
    /// The scenario's description.
    pub description: &'a str,
    /// The seed drawn.
    pub seed: u64,
    /// That seed's history.
    pub history: &'a History,
    /// That seed's verdict.
    pub verdict: &'a Verdict,
    /// The nodes, in lane order.
    pub nodes: Vec<String>,
    /// The simulated duration, in nanoseconds.
    pub duration_ns: u64,
    /// Runs per local day of the drawn seed's cron jobs.
    pub local_days: Vec<crate::local_days::JobDays>,
    /// Every seed's violations, with the replay command of its seed.
    pub violations: Vec<(u64, &'a Finding, String)>,
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;font-size:13px;margin:.6em 0}\
td,th{border:1px solid #ccd;padding:3px 7px;text-align:left}\
th{background:#eef}td.num{text-align:right}\
tr.unexpected td{background:#fdd}.bad{color:#c00;font-weight:bold}.ok{color:#2e7d32}\
section{margin-top:2.2em;border-top:2px solid #ccd;padding-top:.6em}\
code{background:#f3f3f3;padding:1px 4px}.legend span{margin-right:1.2em}\
.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px;opacity:.8}";

/// The whole page.
pub fn page(summary: &Summary, sections: &[Section<'_>]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <title>cronfence failover report</title><style>{STYLE}</style></head><body>\
         <h1>cronfence failover report</h1><p id=\"headline\">{} of {} scenario × backend rows as \
         expected, {} simulated runs.</p>",
        summary.as_expected,
        summary.rows.len(),
        summary.runs
    );
    for failure in &summary.load_failures {
        let _ = write!(
            out,
            "<p class=\"bad\">{} did not load: <code>{}</code></p>",
            escape(&failure.path),
            escape(&failure.error)
        );
    }
    table(&mut out, summary);
    for section in sections {
        write_section(&mut out, section);
    }
    out.push_str("</body></html>\n");
    out
}

fn table(out: &mut String, summary: &Summary) {
    out.push_str(
        "<table id=\"summary\"><thead><tr><th>scenario</th><th>backend</th><th>seeds</th>\
         <th>expected</th><th>result</th><th>no duplicate</th><th>no gap</th><th>fencing</th><th>liveness</th>\
         <th>failovers</th><th>takeover p99</th><th>takeover max</th>\
         <th>first run p99 / max</th><th>lateness max</th>\
         <th>ticks run</th><th>excused</th><th>violated</th></tr></thead><tbody>",
    );
    for row in &summary.rows {
        let checker = |c| match row.violations.get(&c).copied().unwrap_or(0) {
            0 => "<td class=\"ok\">ok</td>".to_string(),
            n => format!("<td class=\"bad\">✗ {n}</td>"),
        };
        let (p99, max) = row
            .takeover_ms
            .map_or(("–".into(), "–".into()), |t| (secs(t.p99), secs(t.max)));
        let first_run = row.first_run_ms.map_or("–".into(), |r| {
            format!("{} / {}", secs(r.p99), secs(r.max))
        });
        let _ = write!(
            out,
            "<tr class=\"{cls}\"><td><a href=\"#{id}\">{s}</a></td><td>{b}</td><td class=\"num\">{n}</td>\
             <td>{e}</td><td>{r}</td>{c1}{c2}{c3}{c4}<td class=\"num\">{f}</td><td class=\"num\">{p99}</td>\
             <td class=\"num\">{max}</td><td class=\"num\">{first_run}</td><td class=\"num\">{l}</td>\
             <td class=\"num\">{t}</td>\
             <td class=\"num\">{x}</td><td class=\"num\">{v}</td></tr>",
            cls = if row.as_expected { "expected" } else { "unexpected" },
            id = anchor(row),
            s = escape(&row.scenario),
            b = row.backend,
            n = row.seeds.len(),
            e = escape(&row.expected),
            r = if row.as_expected {
                "as expected"
            } else {
                "<b class=\"bad\">UNEXPECTED</b>"
            },
            c1 = checker(Checker::NoDuplicate),
            c2 = checker(Checker::NoGap),
            c3 = checker(Checker::Fencing),
            c4 = checker(Checker::Liveness),
            f = row.failovers,
            l = secs(row.lateness_ms.max),
            t = row.ticks_run,
            x = row.excused,
            v = row.violated(),
        );
    }
    out.push_str("</tbody></table>");
}

fn anchor(row: &Row) -> String {
    format!("{}--{}", row.scenario, row.backend)
}

const LEGEND: &str = "<p class=\"legend\">\
<span><i class=\"sw\" style=\"background:#3b6fb6\"></i>leadership (token)</span>\
<span><i class=\"sw\" style=\"background:#2e8b57\"></i>run completed</span>\
<span><i class=\"sw\" style=\"background:#c0392b\"></i>run failed</span>\
<span><i class=\"sw\" style=\"background:#e0a100\"></i>run unfinished</span>\
<span><i class=\"sw\" style=\"background:#d9534f;opacity:.4\"></i>crash or stop</span>\
<span><i class=\"sw\" style=\"background:#f0ad4e;opacity:.4\"></i>pause</span>\
<span><i class=\"sw\" style=\"background:#5bc0de;opacity:.4\"></i>partition</span>\
<span><i class=\"sw\" style=\"background:#9b59b6;opacity:.4\"></i>backend fault</span>\
<span><i class=\"sw\" style=\"background:#6c3483\"></i>clock offset</span>\
<span><i class=\"sw\" style=\"border:2px solid #e00\"></i>violation</span></p>";

fn write_section(out: &mut String, s: &Section<'_>) {
    let row = s.row;
    let _ = write!(
        out,
        "<section id=\"{id}\" class=\"scenario\"><h2>{name} on {b}</h2><p>{d}</p>\
         <p>File <code>{path}</code>; expected <b>{e}</b>; {result}. Timeline of seed {seed} \
         ({records} records):</p>{LEGEND}",
        id = anchor(row),
        name = escape(&row.scenario),
        b = row.backend,
        d = escape(s.description),
        path = escape(&row.path),
        e = escape(&row.expected),
        result = if row.as_expected {
            "every seed as expected".to_string()
        } else {
            format!(
                "<b class=\"bad\">not as expected</b>: {}",
                row.unexpected_seeds
                    .iter()
                    .map(|(seed, why)| format!("seed {seed}: {}", escape(why)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
        seed = s.seed,
        records = s.history.records.len(),
    );
    out.push_str(&timeline::svg(&timeline::Input {
        history: s.history,
        verdict: s.verdict,
        duration_ns: s.duration_ns,
        nodes: s.nodes.clone(),
    }));
    local_days(out, s);
    failovers(out, s);
    violations(out, s);
    out.push_str("</section>");
}

fn failovers(out: &mut String, s: &Section<'_>) {
    let list = &s.verdict.timeliness.failovers;
    if list.is_empty() {
        let _ = write!(out, "<p>No failover in seed {}.</p>", s.seed);
        return;
    }
    let _ = write!(
        out,
        "<table class=\"failovers\"><caption>Failovers in seed {}</caption><thead><tr>\
         <th>election</th><th>old leader</th><th>lost by</th><th>lost at</th>\
         <th>new leader won at</th><th>new leader</th><th>token</th><th>takeover</th>\
         <th>first run at</th><th>first run after loss</th><th>ticks delayed</th></tr></thead>\
         <tbody>",
        s.seed
    );
    for f in list {
        let opt = |v: Option<f64>| v.map_or("–".to_string(), secs);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(f.election.as_str()),
            escape(f.old_leader.as_deref().unwrap_or("–")),
            escape(&f.lost_by),
            secs(f.lost_at_ms),
            secs(f.won_at_ms),
            escape(&f.new_leader),
            f.token,
            secs(f.takeover_ms),
            opt(f.first_start_ms),
            opt(f.first_run_ms),
            f.ticks_delayed,
        );
    }
    out.push_str("</tbody></table>");
}

fn violations(out: &mut String, s: &Section<'_>) {
    if s.violations.is_empty() {
        out.push_str("<p>No violation in any seed.</p>");
        return;
    }
    const SHOWN: usize = 40;
    let _ = write!(
        out,
        "<h3>Violations ({})</h3><ul class=\"violations\">",
        s.violations.len()
    );
    for (seed, f, replay) in s.violations.iter().take(SHOWN) {
        let what = match (&f.job, f.tick) {
            (Some(job), Some(tick)) => format!("{job} @ {tick}: "),
            (Some(job), None) => format!("{job}: "),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<li>seed {seed}, {checker:?} <b>{kind}</b>: {what}{detail} \
             (nodes {nodes}, tokens {tokens:?}, records {records:?})<br/>replay: <code>{replay}</code></li>",
            checker = f.checker,
            kind = escape(&f.kind),
            what = escape(&what),
            detail = escape(&f.detail),
            nodes = escape(&f.nodes.join(", ")),
            tokens = f.tokens,
            records = f.records,
            replay = escape(replay),
        );
    }
    out.push_str("</ul>");
    if s.violations.len() > SHOWN {
        let _ = write!(
            out,
            "<p>… and {} more (see <code>summary.json</code> and the replay commands).</p>",
            s.violations.len() - SHOWN
        );
    }
}

fn local_days(out: &mut String, s: &Section<'_>) {
    for job in &s.local_days {
        let _ = write!(
            out,
            "<table class=\"local-days\"><caption>Runs per local day of {} (<code>{}</code> in {}), \
             seed {}</caption><thead><tr><th>local date</th><th>DST</th><th>ticks due</th>\
             <th>runs</th><th>started (local time, UTC, node)</th></tr></thead><tbody>",
            escape(&job.job),
            escape(&job.expr),
            escape(&job.zone),
            s.seed
        );
        for day in &job.days {
            let mismatch = day.runs.len() != day.expected;
            let _ = write!(
                out,
                "<tr{cls}><td>{date}</td><td>{dst}</td><td class=\"num\">{due}</td>\
                 <td class=\"num\">{runs}</td><td>{list}</td></tr>",
                cls = if mismatch {
                    " class=\"unexpected\""
                } else {
                    ""
                },
                date = day.date,
                dst = escape(day.transition.as_deref().unwrap_or("")),
                due = day.expected,
                runs = day.runs.len(),
                list = escape(&abbreviate(&day.runs)),
            );
        }
        out.push_str("</tbody></table>");
    }
}

/// The runs of a day, the first and last few when there are many.
fn abbreviate(runs: &[crate::local_days::Run]) -> String {
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    if labels.len() <= 6 {
        return labels.join("; ");
    }
    format!(
        "{}; … {} more …; {}",
        labels[..3].join("; "),
        labels.len() - 6,
        labels[labels.len() - 3..].join("; ")
    )
}

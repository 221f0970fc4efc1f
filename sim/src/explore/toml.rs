//! A [`Scenario`] printed as a complete, commented scenario file that loads back equal.
//!
//! [`to_toml`] writes every field the format has (keys at their default are left out, as a
//! person would), durations as whole seconds or milliseconds (`"90s"`, `"1500ms"`), instants as
//! RFC 3339, and comments that say where the file came from, how to replay it, and where the
//! faults end. [`round_trips`] is the property the explorer relies on: parsing the text gives
//! back the same scenario. This module only prints; loading is [`crate::scenario::parse`].

use std::fmt::Write;
use std::path::Path;

use jiff::SignedDuration;
use serde::Serialize;

use crate::scenario::{self, FaultEntry, JobEntry, Scenario, Seeds, Variant};

/// `scenario` as scenario-file text; `header` (any number of lines) opens it as comments.
pub fn to_toml(s: &Scenario, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "{}", format!("# {line}").trim_end());
    }
    top(&mut out, s);
    node(&mut out, s);
    let _ = write!(
        out,
        "\n# Faults end by {}; the world is fault-free from then on, and the checked window\n\
         # runs to {} (then the cooldown).\n[check]\nwarmup = {}\ncooldown = {}\n",
        dur(super::timing::last_fault_end(s)),
        dur(s.duration - s.check.cooldown),
        quoted_dur(s.check.warmup),
        quoted_dur(s.check.cooldown),
    );
    if let (Some(bound), Some(reason)) = (s.check.liveness_bound, &s.check.liveness_reason) {
        let _ = writeln!(
            out,
            "liveness_bound = {}\nliveness_reason = {}",
            quoted_dur(bound),
            quote(reason)
        );
    }
    for job in &s.jobs {
        self::job(&mut out, job);
    }
    for (i, fault) in s.faults.iter().enumerate() {
        self::fault(&mut out, fault, i + 1, s.faults.len());
    }
    extras(&mut out, s);
    expect(&mut out, s);
    out
}

/// True when `text` parses back into exactly `s`.
pub fn round_trips(s: &Scenario, text: &str) -> bool {
    match scenario::parse(Path::new("explored.toml"), text) {
        Ok(parsed) => same(&parsed, s),
        Err(_) => false,
    }
}

/// Field-by-field equality of two scenarios (spans, which only locate errors, aside).
pub fn same(a: &Scenario, b: &Scenario) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

fn top(out: &mut String, s: &Scenario) {
    let _ = writeln!(out, "description = {}", quote(&s.description));
    let _ = writeln!(out, "nodes = {}", s.nodes);
    let backends: Vec<String> = s.backends.iter().map(|b| quote(&b.to_string())).collect();
    let _ = writeln!(out, "backends = [{}]", backends.join(", "));
    if let Some(why) = &s.not_on_etcd_sim {
        let _ = writeln!(out, "not_on_etcd_sim = {}", quote(why));
    }
    let _ = writeln!(out, "duration = {}", quoted_dur(s.duration));
    match &s.seeds {
        Seeds::Count(n) => {
            let _ = writeln!(out, "seeds = {n}");
        }
        Seeds::List(list) => {
            let seeds: Vec<String> = list.iter().map(u64::to_string).collect();
            let _ = writeln!(out, "seeds = [{}]", seeds.join(", "));
        }
    }
    let _ = writeln!(out, "start = {}", quote(&s.start.to_string()));
}

fn node(out: &mut String, s: &Scenario) {
    let n = &s.node;
    let _ = write!(
        out,
        "\n[node]\nlease_ttl = {}\nrequest_timeout = {}\nunreachable_after = {}\nscope = {}\n",
        quoted_dur(n.lease_ttl),
        quoted_dur(n.request_timeout),
        quoted_dur(n.unreachable_after),
        quote(&name(&n.scope)),
    );
    if n.withdraw_predecessors {
        let _ = writeln!(out, "withdraw_predecessors = true");
    }
    if !n.zones.is_empty() {
        let zones: Vec<String> = n.zones.iter().map(|z| quote(z)).collect();
        let _ = writeln!(out, "zones = [{}]", zones.join(", "));
    }
}

fn job(out: &mut String, j: &JobEntry) {
    let _ = write!(out, "\n[[jobs]]\nid = {}\n", quote(&j.id));
    if let Some(every) = j.every {
        let _ = writeln!(out, "every = {}", quoted_dur(every));
    }
    if let Some(anchor) = j.anchor {
        let _ = writeln!(out, "anchor = {}", quote(&anchor.to_string()));
    }
    for (key, value) in [
        ("cron", &j.cron),
        ("tz", &j.tz),
        ("dst_fold", &j.dst_fold),
        ("dst_gap", &j.dst_gap),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{key} = {}", quote(v.get_ref()));
        }
    }
    let _ = writeln!(out, "catch_up = {}", quote(j.catch_up.get_ref()));
    if j.max_catch_up != 100 {
        let _ = writeln!(out, "max_catch_up = {}", j.max_catch_up);
    }
    if let Some(d) = j.starting_deadline {
        let _ = writeln!(out, "starting_deadline = {}", quoted_dur(d));
    }
    let _ = writeln!(out, "overlap = {}", quote(&name(&j.overlap)));
    let _ = writeln!(out, "delivery = {}", quote(&name(&j.delivery)));
    let _ = writeln!(out, "run_time = {}", quoted_dur(j.run_time));
    if let Some(count) = j.count {
        let _ = writeln!(out, "count = {count}");
    }
}

fn fault(out: &mut String, f: &FaultEntry, i: usize, of: usize) {
    let ends = f
        .duration
        .map(|d| format!(", ends at {}", dur(f.at + d)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "\n# fault {i} of {of}{ends}\n[[faults]]\nfault = {}\n",
        quote(f.fault.get_ref())
    );
    if let Some(node) = &f.node {
        let _ = writeln!(out, "node = {}", quote(node.get_ref()));
    }
    let _ = writeln!(out, "at = {}", quoted_dur(f.at));
    let durations = [
        ("duration", f.duration),
        ("offset", f.offset),
        ("by", f.by),
        ("amplitude", f.amplitude),
        ("period", f.period),
        ("latency", f.latency),
        ("delay", f.delay),
    ];
    for (key, value) in durations {
        if let Some(d) = value {
            let _ = writeln!(out, "{key} = {}", quoted_dur(d));
        }
    }
    if let Some(direction) = f.direction {
        let _ = writeln!(out, "direction = {}", quote(&name(&direction)));
    }
    if let Some(ppm) = f.ppm {
        let _ = writeln!(out, "ppm = {ppm}");
    }
    if let Some(count) = f.count {
        let _ = writeln!(out, "count = {count}");
    }
    if let Some(version) = f.upgrade_to {
        let _ = writeln!(out, "upgrade_to = {version}");
    }
}

/// `[random]`, `[variant]` and `[go_micro]`, when the scenario has them.
fn extras(out: &mut String, s: &Scenario) {
    if let Some(r) = &s.random {
        let kinds: Vec<String> = r.kinds.iter().map(|k| quote(k)).collect();
        let _ = write!(
            out,
            "\n[random]\nevery = {}\nkinds = [{}]\nmax_duration = {}\n",
            quoted_dur(r.every),
            kinds.join(", "),
            quoted_dur(r.max_duration)
        );
    }
    let sound = Variant::default();
    let v = &s.variant;
    let switches = |v: &Variant| {
        (
            v.fencing,
            v.catch_up,
            v.claim_before_run,
            v.resign_on_step_down,
        )
    };
    if switches(v) != switches(&sound) {
        let _ = write!(
            out,
            "\n# Test-only: a deliberately broken variant.\n[variant]\nfencing = {}\ncatch_up = {}\nclaim_before_run = {}\nresign_on_step_down = {}\n",
            v.fencing, v.catch_up, v.claim_before_run, v.resign_on_step_down
        );
    }
    if let Some(g) = &s.go_micro {
        out.push_str("\n[go_micro]\n");
        if let Some(d) = g.start_after_boot {
            let _ = writeln!(out, "start_after_boot = {}", quoted_dur(d));
        }
        let _ = writeln!(out, "command = {}", quote(&g.command));
    }
}

fn expect(out: &mut String, s: &Scenario) {
    let e = &s.expect;
    let _ = write!(
        out,
        "\n[expect]\noutcome = {}\n",
        quote(e.outcome.get_ref())
    );
    for (key, list) in [
        ("violations", &e.violations),
        ("records", &e.records),
        ("no_records", &e.no_records),
    ] {
        if !list.is_empty() {
            let items: Vec<String> = list.iter().map(|k| quote(k)).collect();
            let _ = writeln!(out, "{key} = [{}]", items.join(", "));
        }
    }
    if let Some(issue) = &e.known_bug {
        let _ = writeln!(out, "known_bug = {}", quote(issue));
    }
    if let Some(d) = e.takeover_at_most {
        let _ = writeln!(out, "takeover_at_most = {}", quoted_dur(d));
    }
    if let Some(d) = e.lateness_p50_at_least {
        let _ = writeln!(out, "lateness_p50_at_least = {}", quoted_dur(d));
    }
    if e.one_run_per_local_day {
        out.push_str("one_run_per_local_day = true\n");
    }
}

/// The serde name of a unit enum value (`per_job`, `at_least_once`, `to_backend`).
fn name(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("a unit enum serialises as its name")
}

/// A duration in the largest unit that keeps it exact: `"90s"`, `"1500ms"`, `"-30s"`, `"7ns"`.
pub fn dur(d: SignedDuration) -> String {
    let nanos = d.as_nanos();
    if nanos % 1_000_000_000 == 0 {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos % 1_000_000 == 0 {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

fn quoted_dur(d: SignedDuration) -> String {
    quote(&dur(d))
}

/// A TOML basic string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_exactly_in_the_largest_whole_unit() {
        // Each printed form parses back (through the scenario format) to the same duration.
        for (d, text) in [
            (SignedDuration::from_secs(90), "90s"),
            (SignedDuration::from_millis(1_500), "1500ms"),
            (SignedDuration::from_secs(-30), "-30s"),
            (SignedDuration::from_nanos(7), "7ns"),
            (SignedDuration::from_micros(12), "12us"),
        ] {
            assert_eq!(dur(d), text);
            let parsed: SignedDuration = text.parse().expect("friendly duration");
            assert_eq!(parsed, d, "{text}");
        }
    }

    #[test]
    fn quoted_strings_escape_what_toml_requires() {
        // A description with quotes, backslashes and a newline survives a TOML round trip.
        let text = "a \"b\" \\ c\nd\u{1}";
        let doc = format!("x = {}", quote(text));
        let value: toml::Table = toml::from_str(&doc).expect("valid TOML");
        assert_eq!(value["x"].as_str(), Some(text));
    }
}

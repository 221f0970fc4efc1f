//! Cron expressions, IANA time zones and the DST policy: the parts of `Schedule::Cron`.
//!
//! [`CronExpr`] is a validated expression: five fields (`minute hour day-of-month month
//! day-of-week`), six with a leading seconds field, or a macro (`@hourly`, `@daily`, `@weekly`,
//! `@monthly`, `@yearly`/`@annually`); month and weekday names (`JAN`, `MON-FRI`) are accepted.
//! Parsing is croner's; a refusal is turned into [`Error::InvalidCron`], which names the field and
//! what it allows. [`Zone`] is an IANA zone looked up in the tz database **bundled into the
//! binary** (jiff's `tzdb-bundle-always`), never the host's `/usr/share/zoneinfo`, so every node
//! — whatever its local zone or OS — computes the same instants. [`DstPolicy`] is what a
//! fixed-local-time expression does in a fold and in a gap. Both types serialise as plain
//! strings, so a job spec compares equal across nodes exactly when its text does.
//!
//! ## Why croner
//!
//! Evaluated: `croner` 4, `cron` 0.17, and jiff alone. `cron` is chrono-only (cronfence is built
//! on jiff), insists on a seconds field and has no `@`-macro for 5-field use without it. jiff has
//! excellent zone arithmetic but no cron parser, and hand-writing one is what this project must
//! not do. croner parses standard 5-field and optional-seconds expressions, macros and names,
//! follows Vixie/OCPS semantics (day-of-month OR day-of-week), searches forwards and backwards,
//! and — decisive — is generic over a `CronDateTime` trait, so it runs on jiff 1 through a
//! twenty-line adapter (`civil.rs`) with none of its optional backends: its jiff backend targets
//! jiff 0.2, which would mean a second jiff and a second copy of the tz database. croner's own
//! zoned DST handling is sound, but it classifies only single-value times as "fixed" (so
//! `0 2,14 * * *` would run twice in a fold) and has no policy switches, so the zone mapping is
//! ours (`zoned.rs`) and croner answers only wall-clock questions.

use std::fmt;
use std::sync::{Arc, LazyLock};

use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The tz database every node uses: the copy compiled into the binary.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A validated cron expression. Compares, hashes and serialises as the text it was given.
/// One pointer wide: a job's [`crate::Schedule`] is copied into every planner and registry.
#[derive(Clone)]
pub struct CronExpr(Arc<Parsed>);

/// What [`CronExpr`] shares between its copies.
struct Parsed {
    text: Box<str>,
    cron: Cron,
    cadence: bool,
}

impl CronExpr {
    /// Parses `text`; on failure, [`Error::InvalidCron`] names the field and what it allows.
    ///
    /// ```
    /// use cronfence::schedule::CronExpr;
    /// assert!(CronExpr::parse("30 2 * * *").is_ok());
    /// assert!(CronExpr::parse("0 9 * * MON-FRI").is_ok());
    /// let err = CronExpr::parse("0 25 * * *").unwrap_err().to_string();
    /// assert!(err.contains("hour") && err.contains("0-23"), "{err}");
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let parsed = parser().parse(text).map_err(|e| locate(text, &e))?;
        let p = &parsed.pattern;
        let cadence = p.seconds.from_wildcard || p.minutes.from_wildcard || p.hours.from_wildcard;
        Ok(CronExpr(Arc::new(Parsed {
            text: text.into(),
            cron: parsed,
            cadence,
        })))
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// True if the second, minute or hour field is a wildcard (`*`, `*/n`): the expression keeps
    /// its real-time cadence through DST transitions and the [`DstPolicy`] does not apply.
    pub fn is_cadence(&self) -> bool {
        self.0.cadence
    }

    pub(super) fn cron(&self) -> &Cron {
        &self.0.cron
    }
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
}

const FIELDS_5: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
const FIELDS_6: [&str; 6] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
];
const SHAPE: &str = "5 fields `minute hour day-of-month month day-of-week`, 6 with a leading \
                     seconds field, or a macro: @yearly, @annually, @monthly, @weekly, @daily, \
                     @hourly";
const SYNTAX: &str = "`*`, lists `a,b`, ranges `a-b`, steps `*/n` or `a-b/n`";

fn allowed(field: &str) -> String {
    let values = match field {
        "second" | "minute" => "0-59",
        "hour" => "0-23",
        "day-of-month" => "1-31, `L` (last day), `nW` (nearest weekday), `?`",
        "month" => "1-12 or JAN-DEC",
        _ => "0-7 (0 and 7 are Sunday) or SUN-SAT, `d#n` (n-th weekday d), `dL` (last), `?`",
    };
    format!("{values}; {SYNTAX}")
}

/// Finds which field croner refused: each field is parsed alone, the others set to `*`.
fn locate(text: &str, e: &croner::errors::CronError) -> Error {
    let problem = e.to_string();
    let invalid = |field: &str, allowed: String| Error::InvalidCron {
        expr: text.to_string(),
        field: field.to_string(),
        problem: problem.clone(),
        allowed,
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.first().is_some_and(|f| f.starts_with('@')) {
        return invalid("macro", SHAPE.to_string());
    }
    let names: &[&str] = match fields.len() {
        5 => &FIELDS_5,
        6 => &FIELDS_6,
        n => {
            return Error::InvalidCron {
                expr: text.to_string(),
                field: "expression".into(),
                problem: format!("it has {n} fields"),
                allowed: SHAPE.into(),
            }
        }
    };
    for (i, name) in names.iter().enumerate() {
        let probe: Vec<&str> = (0..fields.len())
            .map(|j| if i == j { fields[j] } else { "*" })
            .collect();
        if parser().parse(&probe.join(" ")).is_err() {
            return Error::InvalidCron {
                expr: text.to_string(),
                field: format!("{name} field `{}`", fields[i]),
                problem,
                allowed: allowed(name),
            };
        }
    }
    invalid("expression", SHAPE.to_string())
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}
impl Eq for CronExpr {}
impl std::hash::Hash for CronExpr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.text.hash(state);
    }
}
impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", &*self.0.text)
    }
}
impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}
impl Serialize for CronExpr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.text)
    }
}
impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CronExpr::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone from the bundled tz database. Compares as its canonical name. One
/// pointer wide, as [`CronExpr`] is.
#[derive(Clone)]
pub struct Zone(Arc<Named>);

/// What [`Zone`] shares between its copies.
struct Named {
    name: Box<str>,
    tz: TimeZone,
}

impl Zone {
    /// Looks `name` up (case-insensitively, e.g. `Europe/Berlin`, `UTC`); an unknown name is
    /// [`Error::UnknownTimeZone`].
    pub fn get(name: &str) -> Result<Self> {
        let unknown = || Error::UnknownTimeZone {
            zone: name.to_string(),
        };
        let tz = TZDB.get(name).map_err(|_| unknown())?;
        let canonical = tz.iana_name().ok_or_else(unknown)?.to_string();
        Ok(Zone(Arc::new(Named {
            name: canonical.into(),
            tz,
        })))
    }

    /// The canonical IANA name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The zone, for arithmetic.
    pub fn time_zone(&self) -> &TimeZone {
        &self.0.tz
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}
impl Eq for Zone {}
impl std::hash::Hash for Zone {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}
impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({:?})", &*self.0.name)
    }
}
impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}
impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.name)
    }
}
impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Zone::get(&name).map_err(serde::de::Error::custom)
    }
}

/// What a fixed-local-time expression does when its local time happens twice or not at all.
/// Cadence expressions (see [`CronExpr::is_cadence`]) ignore it and follow real time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DstPolicy {
    /// In a fold (the clock went back).
    pub fold: FoldPolicy,
    /// In a gap (the clock went forward).
    pub gap: GapPolicy,
}

/// A fixed local time that happens twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldPolicy {
    /// Run once, at the first of the two instants (default).
    #[default]
    Once,
    /// Run at both instants.
    Both,
}

/// A fixed local time that does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapPolicy {
    /// Run at the first instant after the gap (default): the tick's id is that instant.
    #[default]
    RunAfterGap,
    /// Do not run; the tick (at the first instant after the gap) is abandoned with reason
    /// `dst_gap`, so it is reported, never silently lost.
    Skip,
}

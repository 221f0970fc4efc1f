//! Property tests of cron schedules: for random 5-field expressions, zones rich in DST history and
//! ranges around transitions, the ticks cronfence computes equal a brute-force scan of every local
//! minute, each resolved through the zone under the documented DST policy. The scan matches
//! fields from the generator's own value sets (not croner's) and resolves folds and gaps with
//! jiff directly, so neither a wrong search nor a wrong mapping can pass.

use std::collections::BTreeSet;

use cronfence::schedule::{DstPolicy, FoldPolicy, GapPolicy};
use cronfence::Schedule;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// Zones rich in DST history, each with a 2027 day (UTC) on which it changes its clocks.
const ZONES: &[(&str, &str)] = &[
    ("Europe/Berlin", "2027-03-28"),
    ("Europe/Berlin", "2027-10-31"),
    ("America/New_York", "2027-03-14"),
    ("America/New_York", "2027-11-07"),
    ("Australia/Lord_Howe", "2027-04-04"), // 30-minute DST
    ("Australia/Lord_Howe", "2027-10-03"),
    ("America/Santiago", "2027-04-04"),
    ("America/Santiago", "2027-09-05"),
    ("Pacific/Chatham", "2027-04-04"),
    ("Pacific/Chatham", "2027-09-26"),
    ("Asia/Kolkata", "2027-03-28"), // no DST
    ("UTC", "2027-10-31"),
];

/// One field: its text and the values it matches.
#[derive(Clone, Debug)]
struct Field {
    text: String,
    values: BTreeSet<u32>,
    wildcard: bool,
}

fn field(min: u32, max: u32) -> impl Strategy<Value = Field> {
    let all = move || (min..=max).collect::<BTreeSet<_>>();
    prop_oneof![
        Just(Field {
            text: "*".into(),
            values: all(),
            wildcard: true
        }),
        (2..=(max - min).max(2)).prop_map(move |n| Field {
            text: format!("*/{n}"),
            values: (min..=max).step_by(n as usize).collect(),
            wildcard: true,
        }),
        (min..=max).prop_map(|v| Field {
            text: v.to_string(),
            values: [v].into(),
            wildcard: false
        }),
        (min..=max, min..=max).prop_map(|(a, b)| Field {
            text: format!("{a},{b}"),
            values: [a, b].into(),
            wildcard: false
        }),
        (min..=max, min..=max).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            Field {
                text: format!("{a}-{b}"),
                values: (a..=b).collect(),
                wildcard: false,
            }
        }),
    ]
}

/// A 5-field expression; at most one of day-of-month and day-of-week is restricted, so the
/// OR-versus-AND question of cron never arises.
#[derive(Clone, Debug)]
struct Expr {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

fn expr() -> impl Strategy<Value = Expr> {
    let star = |min: u32, max: u32| Field {
        text: "*".into(),
        values: (min..=max).collect(),
        wildcard: true,
    };
    let days = prop_oneof![
        field(1, 31).prop_map(move |d| (d, star(0, 6))),
        field(0, 6).prop_map(move |w| (star(1, 31), w)),
    ];
    let month = prop_oneof![3 => Just(star(1, 12)), 1 => field(1, 12)];
    // Hours near the transitions' local times, so folds and gaps are hit often.
    let near = prop::sample::select(vec![0u32, 1, 2, 3, 23]).prop_map(|v| Field {
        text: v.to_string(),
        values: [v].into(),
        wildcard: false,
    });
    let hour = prop_oneof![1 => field(0, 23), 1 => near];
    (field(0, 59), hour, days, month).prop_map(|(minute, hour, (dom, dow), month)| Expr {
        minute,
        hour,
        dom,
        month,
        dow,
    })
}

impl Expr {
    fn text(&self) -> String {
        [&self.minute, &self.hour, &self.dom, &self.month, &self.dow]
            .map(|f| f.text.as_str())
            .join(" ")
    }

    fn matches(&self, c: DateTime) -> bool {
        self.minute.values.contains(&(c.minute() as u32))
            && self.hour.values.contains(&(c.hour() as u32))
            && self.dom.values.contains(&(c.day() as u32))
            && self.month.values.contains(&(c.month() as u32))
            && self
                .dow
                .values
                .contains(&(c.weekday().to_sunday_zero_offset() as u32))
    }

    fn cadence(&self) -> bool {
        self.minute.wildcard || self.hour.wildcard
    }
}

/// The documented policy, applied to every local minute in `[from, to]` (civil, with a day of
/// margin on each side) by brute force.
fn brute_force(
    e: &Expr,
    tz: &TimeZone,
    dst: DstPolicy,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Timestamp> {
    let day = SignedDuration::from_hours(24);
    let mut c = tz.to_offset(from).to_datetime(from - day);
    c = c.with().second(0).subsec_nanosecond(0).build().unwrap();
    let end = tz.to_offset(to).to_datetime(to + day);
    let mut out = BTreeSet::new();
    while c <= end {
        if e.matches(c) {
            match tz.to_ambiguous_timestamp(c).offset() {
                AmbiguousOffset::Unambiguous { offset } => {
                    out.insert(offset.to_timestamp(c).unwrap());
                }
                AmbiguousOffset::Fold { before, after } => {
                    out.insert(before.to_timestamp(c).unwrap());
                    if e.cadence() || dst.fold == FoldPolicy::Both {
                        out.insert(after.to_timestamp(c).unwrap());
                    }
                }
                AmbiguousOffset::Gap { before, .. } => {
                    if !e.cadence() {
                        // The first instant after the gap: the transition itself.
                        let shifted =
                            before.to_timestamp(c).unwrap() + SignedDuration::from_nanos(1);
                        let t = tz.preceding(shifted).next().unwrap().timestamp();
                        out.insert(t);
                    }
                }
            }
        }
        c = c.checked_add(SignedDuration::from_mins(1)).unwrap();
    }
    out.into_iter().filter(|t| *t > from && *t <= to).collect()
}

/// A range in a zone, starting up to a day and a half either side of its transition day.
fn range() -> impl Strategy<Value = (&'static str, Timestamp, Timestamp)> {
    (0..ZONES.len(), -36i64 * 3600..36 * 3600, 0i64..3 * 86_400).prop_map(|(i, shift, len)| {
        let (zone, day) = ZONES[i];
        let base: Timestamp = format!("{day}T00:00:00Z").parse().unwrap();
        let from = base + SignedDuration::from_secs(shift);
        (zone, from, from + SignedDuration::from_secs(len))
    })
}

fn policy() -> impl Strategy<Value = DstPolicy> {
    (any::<bool>(), any::<bool>()).prop_map(|(both, skip)| DstPolicy {
        fold: if both {
            FoldPolicy::Both
        } else {
            FoldPolicy::Once
        },
        gap: if skip {
            GapPolicy::Skip
        } else {
            GapPolicy::RunAfterGap
        },
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// `due_ticks` (forwards and backwards) equals the brute-force minute scan.
    #[test]
    fn cron_ticks_equal_a_brute_force_minute_scan(
        e in expr(),
        dst in policy(),
        (zone, from, to) in range(),
    ) {
        let s = Schedule::cron_with_dst(&e.text(), zone, dst).unwrap();
        let tz = cronfence::schedule::Zone::get(zone).unwrap().time_zone().clone();
        let expected = brute_force(&e, &tz, dst, from, to);
        let got: Vec<Timestamp> = s.due_ticks(from, to).collect();
        prop_assert_eq!(&got, &expected, "`{}` in {}", e.text(), zone);
        let mut back: Vec<Timestamp> = s.due_ticks(from, to).rev().collect();
        back.reverse();
        prop_assert_eq!(&back, &expected, "backwards: `{}` in {}", e.text(), zone);
        // A gap tick is marked skipped exactly when the policy skips and its wall clock does
        // not match (it stands for a time that did not happen).
        for t in &got {
            let c = tz.to_offset(*t).to_datetime(*t);
            let stands_in = !e.cadence() && !e.matches(c);
            prop_assert_eq!(s.skipped_by_dst(*t), stands_in && dst.gap == GapPolicy::Skip);
        }
    }
}

//! Cron schedules across the 2027 DST transitions of Europe/Berlin and America/New_York: each
//! test pins the UTC instants by hand (from the IANA rules), so the zone mapping, not croner, is
//! what is checked; plus errors that name the field, classification and serialisation.

use jiff::{SignedDuration, Timestamp};

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ticks(s: &Schedule, from: &str, to: &str) -> Vec<String> {
    s.due_ticks(ts(from), ts(to))
        .map(|t| t.to_string())
        .collect()
}

#[test]
fn a_nightly_job_runs_once_on_the_spring_gap_day_at_the_end_of_the_gap() {
    // Berlin 2027-03-28: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens.
    let s = Schedule::cron("30 2 * * *", "Europe/Berlin").unwrap();
    assert_eq!(
        ticks(&s, "2027-03-26T12:00:00Z", "2027-03-29T12:00:00Z"),
        [
            "2027-03-27T01:30:00Z", // 02:30 CET
            "2027-03-28T01:00:00Z", // 03:00 CEST, the first instant after the gap
            "2027-03-29T00:30:00Z", // 02:30 CEST
        ]
    );
    assert!(!s.skipped_by_dst(ts("2027-03-28T01:00:00Z")));
}

#[test]
fn a_nightly_job_runs_once_in_the_autumn_fold_unless_told_both() {
    // Berlin 2027-10-31: 03:00 CEST goes back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    let once = Schedule::cron("30 2 * * *", "Europe/Berlin").unwrap();
    assert_eq!(
        ticks(&once, "2027-10-30T12:00:00Z", "2027-11-01T12:00:00Z"),
        ["2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"]
    );
    let dst = DstPolicy {
        fold: FoldPolicy::Both,
        gap: GapPolicy::RunAfterGap,
    };
    let both = Schedule::cron_with_dst("30 2 * * *", "Europe/Berlin", dst).unwrap();
    assert_eq!(
        ticks(&both, "2027-10-30T12:00:00Z", "2027-11-01T12:00:00Z"),
        [
            "2027-10-31T00:30:00Z",
            "2027-10-31T01:30:00Z",
            "2027-11-01T01:30:00Z"
        ]
    );
}

#[test]
fn gap_skip_keeps_the_tick_id_but_marks_it_skipped() {
    let dst = DstPolicy {
        fold: FoldPolicy::Once,
        gap: GapPolicy::Skip,
    };
    let s = Schedule::cron_with_dst("30 2 * * *", "Europe/Berlin", dst).unwrap();
    let gap_day = ts("2027-03-28T01:00:00Z");
    assert_eq!(s.next_tick(ts("2027-03-27T12:00:00Z")), Some(gap_day));
    assert!(s.skipped_by_dst(gap_day), "reported, not run");
    assert!(!s.skipped_by_dst(ts("2027-03-29T00:30:00Z")));
}

#[test]
fn a_fixed_list_of_hours_is_a_fixed_local_time() {
    // `0 2,14` is not a cadence: 02:00 runs once in the fold and after the gap.
    let s = Schedule::cron("0 2,14 * * *", "Europe/Berlin").unwrap();
    assert_eq!(
        ticks(&s, "2027-10-30T23:00:00Z", "2027-10-31T14:00:00Z"),
        ["2027-10-31T00:00:00Z", "2027-10-31T13:00:00Z"]
    );
    assert_eq!(
        ticks(&s, "2027-03-27T23:00:00Z", "2027-03-28T13:00:00Z"),
        ["2027-03-28T01:00:00Z", "2027-03-28T12:00:00Z"]
    );
}

fn assert_cadence(s: &Schedule, from: &str, to: &str, every: i64, count: usize) {
    let all: Vec<Timestamp> = s.due_ticks(ts(from), ts(to)).collect();
    assert_eq!(all.len(), count, "{all:?}");
    for w in all.windows(2) {
        assert_eq!(w[1] - w[0], SignedDuration::from_secs(every), "{w:?}");
    }
}

#[test]
fn every_fifteen_minutes_keeps_real_time_cadence_through_both_transitions() {
    let s = Schedule::cron("*/15 * * * *", "America/New_York").unwrap();
    // 2027-03-14: 02:00 EST jumps to 03:00 EDT (07:00 UTC): a 23-hour local day, 92 ticks.
    assert_cadence(&s, "2027-03-14T04:59:59Z", "2027-03-15T03:59:59Z", 900, 92);
    // 2027-11-07: 02:00 EDT goes back to 01:00 EST (06:00 UTC): a 25-hour day, 100 ticks.
    assert_cadence(&s, "2027-11-07T03:59:59Z", "2027-11-08T04:59:59Z", 900, 100);
}

#[test]
fn an_hourly_macro_keeps_its_cadence_through_the_fold() {
    let s = Schedule::cron("@hourly", "Europe/Berlin").unwrap();
    assert_cadence(&s, "2027-10-30T21:59:59Z", "2027-10-31T03:00:00Z", 3600, 6);
}

#[test]
fn seconds_field_and_named_weekdays_are_understood() {
    let s = Schedule::cron("15 0 9 * * MON-FRI", "UTC").unwrap();
    // 2027-01-01 is a Friday: next run Friday 09:00:15, then Monday.
    assert_eq!(
        ticks(&s, "2027-01-01T00:00:00Z", "2027-01-05T00:00:00Z"),
        ["2027-01-01T09:00:15Z", "2027-01-04T09:00:15Z"]
    );
}

#[test]
fn backward_search_agrees_with_forward_search() {
    for (expr, tz) in [
        ("30 2 * * *", "Europe/Berlin"),
        ("*/15 * * * *", "America/New_York"),
        ("0 2,14 * * *", "Europe/Berlin"),
        ("0 9 * * MON-FRI", "Australia/Lord_Howe"),
    ] {
        let s = Schedule::cron(expr, tz).unwrap();
        for (from, to) in [
            ("2027-03-10T00:00:00Z", "2027-04-10T00:00:00Z"),
            ("2027-10-25T00:00:00Z", "2027-11-10T00:00:00Z"),
        ] {
            let forward: Vec<_> = s.due_ticks(ts(from), ts(to)).collect();
            let mut backward: Vec<_> = s.due_ticks(ts(from), ts(to)).rev().collect();
            backward.reverse();
            assert_eq!(forward, backward, "{expr} in {tz}");
            assert_eq!(s.due_ticks(ts(from), ts(to)).len(), forward.len());
        }
    }
}

#[test]
fn classification_follows_wildcards_in_second_minute_or_hour() {
    for (expr, cadence) in [
        ("30 2 * * *", false),
        ("0 2,14 * * *", false),
        ("*/15 * * * *", true),
        ("0 * * * *", true),
        ("@hourly", true),
        ("@daily", false),
        ("*/10 0 2 * * *", true),
        ("0 9 * * MON-FRI", false),
    ] {
        assert_eq!(
            CronExpr::parse(expr).unwrap().is_cadence(),
            cadence,
            "{expr}"
        );
    }
}

#[test]
fn a_bad_expression_names_the_field_and_what_it_allows() {
    let cases = [
        ("0 25 * * *", "hour field `25`", "0-23"),
        ("61 * * * *", "minute field `61`", "0-59"),
        ("0 9 * * FUNDAY", "day-of-week field `FUNDAY`", "SUN-SAT"),
        ("0 9 * 13 *", "month field `13`", "JAN-DEC"),
        ("0 9 32 * *", "day-of-month field `32`", "1-31"),
        ("* * *", "expression", "5 fields"),
        ("@fortnightly", "macro", "@hourly"),
    ];
    for (expr, field, allowed) in cases {
        match CronExpr::parse(expr) {
            Err(Error::InvalidCron {
                field: f,
                allowed: a,
                ..
            }) => {
                assert_eq!(f, field, "{expr}");
                assert!(a.contains(allowed), "{expr}: {a}");
            }
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn an_unknown_zone_is_a_typed_error() {
    assert!(matches!(
        Schedule::cron("0 9 * * *", "Europe/Atlantis"),
        Err(Error::UnknownTimeZone { .. })
    ));
}

#[test]
fn cron_schedules_serialise_stably_and_compare_by_definition() {
    let s = Schedule::cron("30 2 * * *", "europe/berlin").unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(
        json,
        r#"{"cron":{"expr":"30 2 * * *","tz":"Europe/Berlin","dst":{"fold":"once","gap":"run_after_gap"}}}"#
    );
    assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
    let short = r#"{"cron":{"expr":"30 2 * * *","tz":"Europe/Berlin"}}"#;
    assert_eq!(serde_json::from_str::<Schedule>(short).unwrap(), s);
    let bad = json.replace("30 2", "30 24");
    assert!(serde_json::from_str::<Schedule>(&bad).is_err());
    assert_ne!(s, Schedule::cron("30 2 * * *", "Europe/Paris").unwrap());
}

//! The bridge between croner and jiff 1: local wall-clock times croner can search over.
//!
//! croner searches cron patterns on civil (wall-clock) date-times through its `CronDateTime`
//! trait; its bundled backends are chrono and jiff 0.2, while cronfence is built on jiff 1. This
//! file implements the trait for [`Wall`], a jiff 1 civil date-time with no time zone, so croner
//! only ever answers "which wall-clock second matches next (or last)". Time zones, folds and gaps
//! are not croner's business here: [`super::zoned`] maps wall-clock matches to UTC instants under
//! the job's DST policy.

use std::cmp::Ordering;

use croner::errors::CronError;
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::civil::DateTime;
use jiff::SignedDuration;

/// A local wall-clock date-time, to the second, in no particular zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Wall(pub(super) DateTime);

impl CronDateTime for Wall {
    fn to_civil(&self) -> CivilDateTime {
        let d = self.0;
        // jiff keeps every part in range, so croner's unchecked constructors are sound here.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(i32::from(d.year()), d.month() as u32, d.day() as u32),
            CivilTime::from_parts_unchecked(d.hour() as u32, d.minute() as u32, d.second() as u32),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let dt = DateTime::new(
            year,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        Ok(Resolution::Single(Wall(dt)))
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Wall)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// The first wall-clock second at or after `from` that `cron` matches, if any before year 5000.
pub(super) fn first_match_from(cron: &Cron, from: DateTime) -> Option<DateTime> {
    cron.find_next_occurrence(&Wall(from), true)
        .ok()
        .map(|w| w.0)
}

/// The last wall-clock second at or before `upto` that `cron` matches, if any after year 1.
pub(super) fn last_match_upto(cron: &Cron, upto: DateTime) -> Option<DateTime> {
    cron.find_previous_occurrence(&Wall(upto), true)
        .ok()
        .map(|w| w.0)
}

/// True if `cron` matches the wall-clock second `at`.
pub(super) fn matches(cron: &Cron, at: DateTime) -> bool {
    cron.is_time_matching(&Wall(at)).unwrap_or(false)
}

//! What the cadence decides: which days are open, and when a cycle
//! releases and cuts its candidate.

use jiff::civil::{Date, Weekday};

use crate::config::cadence::{Blocked, CadenceConfig, Day};
use crate::{Error, Result};

impl CadenceConfig {
    /// Checks what the types alone cannot.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the key at fault.
    pub fn validate(&self) -> Result<()> {
        if self.anchor.weekday() != Weekday::Monday {
            return Err(Error::input(format!(
                "cadence.anchor: {} is a {:?}, expected a Monday",
                self.anchor,
                self.anchor.weekday()
            )));
        }
        if self.working_days.is_empty() {
            return Err(Error::input(
                "cadence.working_days: expected at least one day",
            ));
        }
        if Day::weekday(self.rc_day).to_monday_zero_offset()
            > Day::weekday(self.release_day).to_monday_zero_offset()
        {
            return Err(Error::input(format!(
                "cadence.rc_day: {:?} comes after the release day {:?} in the week",
                self.rc_day, self.release_day
            )));
        }
        self.tz().map(|_| ())
    }

    /// The configured time zone.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] for a name the time zone database does
    /// not know.
    pub fn tz(&self) -> Result<jiff::tz::TimeZone> {
        jiff::tz::TimeZone::get(&self.time_zone).map_err(|e| {
            Error::input(format!(
                "cadence.time_zone: unknown time zone `{}`: {e}",
                self.time_zone
            ))
        })
    }

    /// The local date of an instant in the configured time zone.
    ///
    /// # Errors
    ///
    /// As [`CadenceConfig::tz`].
    pub fn date_of(&self, instant: jiff::Timestamp) -> Result<Date> {
        Ok(instant.to_zoned_datetime(self.tz()?).date())
    }

    fn is_working_day(&self, day: Date) -> bool {
        self.working_days
            .iter()
            .any(|d| d.weekday() == day.weekday())
    }

    /// Why nothing can ship on `day`, if it cannot.
    pub fn blocked_reason(&self, day: Date) -> Option<String> {
        if !self.is_working_day(day) {
            return Some(
                format!("{day} is a {:?}, not a working day", day.weekday()).to_lowercase(),
            );
        }
        if let Some(b) = self.non_working_days.iter().find(|b| b.contains(day)) {
            return Some(format!("{day} is a non-working day ({})", b.describe()));
        }
        self.freeze_window(day)
            .map(|b| format!("{day} is in the freeze window {}", b.describe()))
    }

    /// The freeze window `day` is in, if any.
    pub fn freeze_window(&self, day: Date) -> Option<&Blocked> {
        self.freeze_windows.iter().find(|b| b.contains(day))
    }

    /// The latest day on or before `day` that nothing blocks.
    pub(super) fn previous_open_day(&self, day: Date) -> Date {
        let mut d = day;
        // A year without a single open day is a configuration nobody
        // means; stop looking after one.
        for _ in 0..366 {
            if self.blocked_reason(d).is_none() {
                return d;
            }
            match d.yesterday() {
                Ok(prev) => d = prev,
                Err(_) => return day,
            }
        }
        day
    }
}

pub(super) fn add_days(day: Date, days: i64) -> Date {
    day.checked_add(jiff::Span::new().days(days)).unwrap_or(day)
}

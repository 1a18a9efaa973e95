//! Cron schedules read in a time zone: checking a sync's `schedule`, and
//! the windows due since the last run.

use std::str::FromStr;

use croner::errors::CronError;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;

use super::state::shown;
use super::zoned::Zoned;
use crate::sync::config::{LoadedSync, Schedule};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Missed windows are counted up to this many; past it the latest is
/// found by searching backwards.
pub const MISSED_LIMIT: usize = 1000;

/// Checks a sync's `schedule`: the cron expression (when there is one)
/// and the time zone (when one is given). The error names the key and
/// the value.
///
/// # Errors
///
/// Returns `cron: ...` or `timezone: ...` and what is wrong.
pub fn check(schedule: &Schedule) -> std::result::Result<(), String> {
    if let Some(expression) = &schedule.cron {
        parse_cron(expression).map_err(|e| format!("cron: {e}"))?;
    }
    if let Some(zone) = &schedule.timezone {
        TimeZone::get(zone).map_err(|_| format!("timezone: unknown time zone `{zone}`"))?;
    }
    Ok(())
}

/// Parses a cron expression: five fields (minute, hour, day of month,
/// month, day of week), six with seconds first, or a nickname such as
/// `@daily`. A pattern that can never match is refused too.
fn parse_cron(expression: &str) -> std::result::Result<croner::Cron, String> {
    let invalid = |why: String| format!("invalid cron expression `{expression}`: {why}");
    let cron = croner::Cron::from_str(expression).map_err(|e| invalid(tidy(&e)))?;
    let start = Zoned(Timestamp::UNIX_EPOCH.to_zoned_datetime(TimeZone::UTC));
    cron.find_next_occurrence(&start, false)
        .map_err(|_| invalid("it never matches a date".into()))?;
    Ok(cron)
}

/// croner's message, in trainyard's style: lowercase, no final period.
fn tidy(error: &CronError) -> String {
    let text = error.to_string();
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A cron expression and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: croner::Cron,
    tz: TimeZone,
    expression: String,
    zone: String,
}

/// The scheduled times of a cron sync that are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CronWindow {
    /// The first scheduled time after the last run.
    pub first: Timestamp,
    /// The latest scheduled time at or before now: the window run.
    pub latest: Timestamp,
    /// How many scheduled times are due (counted up to
    /// [`MISSED_LIMIT`]); they run once.
    pub missed: usize,
}

impl CronSchedule {
    /// `expression` read in the IANA time zone `zone`.
    ///
    /// # Errors
    ///
    /// Returns what is wrong with the expression or the zone.
    pub fn new(expression: &str, zone: &str) -> std::result::Result<Self, String> {
        Ok(CronSchedule {
            cron: parse_cron(expression)?,
            tz: TimeZone::get(zone).map_err(|_| format!("unknown time zone `{zone}`"))?,
            expression: expression.to_owned(),
            zone: zone.to_owned(),
        })
    }

    /// The schedule of a `cron` sync, in its time zone: the schedule's
    /// `timezone`, else the cadence's.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the sync's file when it has no
    /// valid cron expression or time zone.
    pub fn of(ws: &Workspace, sync: &LoadedSync) -> Result<Self> {
        let schedule = &sync.config.schedule;
        let zone = schedule
            .timezone
            .as_deref()
            .unwrap_or(&ws.config.cadence.time_zone);
        let file = shown(ws, &sync.path);
        let expression = schedule.cron.as_deref().ok_or_else(|| {
            Error::input(format!(
                "{file}: sync_config.schedule.cron: a cron trigger needs a cron expression"
            ))
        })?;
        CronSchedule::new(expression, zone)
            .map_err(|e| Error::input(format!("{file}: sync_config.schedule: {e}")))
    }

    /// The expression.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone's name.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// `instant` on the wall clock of the schedule's time zone.
    pub fn local(&self, instant: Timestamp) -> ZonedDateTime {
        instant.to_zoned_datetime(self.tz.clone())
    }

    /// The first scheduled time after `instant`.
    pub fn next_after(&self, instant: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_next_occurrence(&Zoned(self.local(whole_second(instant))), false)
            .ok()
            .map(|z| z.0.timestamp())
    }

    /// The latest scheduled time at or before `instant`.
    pub fn latest_until(&self, instant: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_previous_occurrence(&Zoned(self.local(whole_second(instant))), true)
            .ok()
            .map(|z| z.0.timestamp())
    }

    /// The windows due at `at` for a sync that last ran for `last` (never,
    /// when `None`): those in `(last, at]`, or the latest at or before `at`
    /// for a sync that never ran. `None` when nothing is due.
    pub fn window(&self, last: Option<Timestamp>, at: Timestamp) -> Option<CronWindow> {
        let first = match last {
            Some(last) => self.next_after(last)?,
            None => self.latest_until(at)?,
        };
        if first > at {
            return None;
        }
        let mut latest = first;
        let mut missed = 1;
        while let Some(next) = self.next_after(latest).filter(|n| *n <= at) {
            latest = next;
            missed += 1;
            if missed >= MISSED_LIMIT {
                if let Some(found) = self.latest_until(at).filter(|f| *f > latest) {
                    latest = found;
                }
                break;
            }
        }
        Some(CronWindow {
            first,
            latest,
            missed,
        })
    }
}

fn whole_second(instant: Timestamp) -> Timestamp {
    Timestamp::from_second(instant.as_second()).unwrap_or(instant)
}

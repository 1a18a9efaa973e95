//! The release calendar: when minors, majors and their release-candidate
//! cuts happen, what phase a day is in, and the spec's `release_calendar`
//! document.
//!
//! All date arithmetic is on civil dates (`jiff::civil::Date`), so a
//! daylight-saving change never shifts a release day; the time zone only
//! decides which date "now" is.

use serde::{Deserialize, Serialize};

use jiff::civil::{Date, Weekday};

use crate::bounded::{CycleWeeks, Month};
use crate::version::{self, Version};
use crate::{Error, Result};

/// A day of the week, as written in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Day {
    /// The jiff weekday.
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }
}

/// A date, or a range of dates, when nothing ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Blocked {
    /// One day.
    Day(#[schemars(with = "String")] Date),
    /// A range, both ends included, with an optional name.
    Range {
        /// The first day.
        #[schemars(with = "String")]
        from: Date,
        /// The last day.
        #[schemars(with = "String")]
        to: Date,
        /// A name shown in the calendar, e.g. `year-end`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

impl Blocked {
    fn contains(&self, day: Date) -> bool {
        match self {
            Blocked::Day(d) => *d == day,
            Blocked::Range { from, to, .. } => *from <= day && day <= *to,
        }
    }

    fn describe(&self) -> String {
        match self {
            Blocked::Day(d) => d.to_string(),
            Blocked::Range { from, to, name } => match name {
                Some(name) => format!("{name} ({from} to {to})"),
                None => format!("{from} to {to}"),
            },
        }
    }
}

/// What happens to a release or RC cut that falls on a blocked day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnBlocked {
    /// Move it to the previous working day.
    PreviousWorkingDay,
    /// Mark the minor release `skipped` (majors always move).
    Skip,
}

/// `cadence:` settings; the defaults are the spec's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CadenceConfig {
    /// The IANA time zone that decides what date "today" is.
    #[serde(deserialize_with = "known_time_zone")]
    pub time_zone: String,
    /// A Monday that starts week 1 (the development sprint) of a minor
    /// release cycle; cycles repeat every `cycle_weeks` from it, forwards
    /// and backwards.
    #[schemars(with = "String")]
    #[serde(deserialize_with = "a_monday")]
    pub anchor: Date,
    /// Weeks per minor release cycle (the spec: two).
    pub cycle_weeks: CycleWeeks,
    /// The release-candidate cut, in the last week of the cycle.
    pub rc_day: Day,
    /// The release, in the last week of the cycle.
    pub release_day: Day,
    /// The months whose last `major_day` is a major release (the spec: the
    /// end of each quarter).
    pub major_months: Vec<Month>,
    /// The weekday of a major release: the last one of its month.
    pub major_day: Day,
    /// Days of the week people work.
    pub working_days: Vec<Day>,
    /// Holidays and other days nothing ships: dates or ranges.
    pub non_working_days: Vec<Blocked>,
    /// Change freezes (e.g. year-end): dates or ranges.
    pub freeze_windows: Vec<Blocked>,
    /// A release or RC cut on a non-working day or in a freeze moves to the
    /// previous working day, or (minors only) is skipped.
    pub on_blocked: OnBlocked,
}

/// The spec's minor release cycle.
const TWO_WEEKS: CycleWeeks = CycleWeeks::constant(2);

/// The spec's major release months: the end of each quarter.
const QUARTER_ENDS: [Month; 4] = [
    Month::constant(3),
    Month::constant(6),
    Month::constant(9),
    Month::constant(12),
];

impl Default for CadenceConfig {
    fn default() -> Self {
        CadenceConfig {
            time_zone: "UTC".into(),
            anchor: jiff::civil::date(2026, 1, 5),
            cycle_weeks: TWO_WEEKS,
            rc_day: Day::Thursday,
            release_day: Day::Friday,
            major_months: QUARTER_ENDS.to_vec(),
            major_day: Day::Friday,
            working_days: vec![
                Day::Monday,
                Day::Tuesday,
                Day::Wednesday,
                Day::Thursday,
                Day::Friday,
            ],
            non_working_days: Vec::new(),
            freeze_windows: Vec::new(),
            on_blocked: OnBlocked::PreviousWorkingDay,
        }
    }
}

/// Reads a time zone name and refuses one the database does not know, so
/// the error points at the value.
fn known_time_zone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    jiff::tz::TimeZone::get(&name)
        .map_err(|_| serde::de::Error::custom(format!("unknown time zone `{name}`")))?;
    Ok(name)
}

/// Reads the anchor date and refuses one that is not a Monday.
fn a_monday<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    let day = Date::deserialize(deserializer)?;
    if day.weekday() != Weekday::Monday {
        return Err(serde::de::Error::custom(format!(
            "expected a Monday, but {day} is a {}",
            format!("{:?}", day.weekday()).to_lowercase()
        )));
    }
    Ok(day)
}

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
        for blocked in self.non_working_days.iter().chain(&self.freeze_windows) {
            if let Blocked::Range { from, to, .. } = blocked
                && from > to
            {
                return Err(Error::input(format!(
                    "cadence: the range {from} to {to} ends before it starts"
                )));
            }
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
    fn previous_open_day(&self, day: Date) -> Date {
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

fn add_days(day: Date, days: i64) -> Date {
    day.checked_add(jiff::Span::new().days(days)).unwrap_or(day)
}

/// One minor release slot of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinorSlot {
    /// Monday of the cycle's first week.
    pub cycle_start: Date,
    /// The release-candidate cut.
    pub rc_date: Date,
    /// The release.
    pub release_date: Date,
    /// Why the slot is skipped, if it is.
    pub skipped: Option<String>,
    /// Why a date moved from its nominal day, if one did.
    pub moved: Option<String>,
}

impl MinorSlot {
    /// The Monday of the stabilization week (the cycle's last week).
    pub fn stabilization_start(&self, cadence: &CadenceConfig) -> Date {
        add_days(self.cycle_start, cadence.cycle_weeks.days() - 7)
    }
}

/// One major release slot of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MajorSlot {
    /// `Q1` to `Q4`.
    pub quarter: String,
    /// The planned release day.
    pub planned_date: Date,
    /// Why the date moved from the last weekday of the month, if it did.
    pub moved: Option<String>,
}

/// The slots of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearPlan {
    /// The year.
    pub year: i16,
    /// Minor slots by release date.
    pub minors: Vec<MinorSlot>,
    /// Major slots by date.
    pub majors: Vec<MajorSlot>,
}

/// Lays out a year's release slots from the cadence. Pure.
///
/// A minor slot belongs to the year of its release date. A major release
/// that falls in a minor's stabilization week folds that minor into it.
pub fn plan_year(cadence: &CadenceConfig, year: i16) -> YearPlan {
    let cycle_days = cadence.cycle_weeks.days();
    let last_week = cycle_days - 7;
    let offset = |d: Day| i64::from(Weekday::Monday.until(d.weekday()));
    let first = jiff::civil::date(year, 1, 1);
    // The first cycle whose release could fall in the year.
    let days_from_anchor = cadence
        .anchor
        .until(first)
        .map_or(0, |s| i64::from(s.get_days()));
    let mut k = days_from_anchor.div_euclid(cycle_days) - 1;
    let mut minors = Vec::new();
    loop {
        let cycle_start = add_days(cadence.anchor, k * cycle_days);
        let nominal_release = add_days(cycle_start, last_week + offset(cadence.release_day));
        let nominal_rc = add_days(cycle_start, last_week + offset(cadence.rc_day));
        k += 1;
        if nominal_release.year() < year {
            continue;
        }
        if nominal_release.year() > year {
            break;
        }
        minors.push(place_minor(
            cadence,
            cycle_start,
            add_days(cycle_start, last_week),
            nominal_rc,
            nominal_release,
        ));
    }
    let mut majors: Vec<MajorSlot> = cadence
        .major_months
        .iter()
        .filter_map(|&month| {
            let month_start = jiff::civil::Date::new(year, month.number(), 1).ok()?;
            let nominal = month_start
                .nth_weekday_of_month(-1, cadence.major_day.weekday())
                .ok()?;
            let planned_date = cadence.previous_open_day(nominal);
            let moved = (planned_date != nominal)
                .then(|| cadence.blocked_reason(nominal).unwrap_or_default());
            Some(MajorSlot {
                quarter: format!("Q{}", (month.get() - 1) / 3 + 1),
                planned_date,
                moved,
            })
        })
        .collect();
    majors.sort_by_key(|m| m.planned_date);
    for major in &majors {
        for minor in minors.iter_mut().filter(|m| m.skipped.is_none()) {
            let start = minor.stabilization_start(cadence);
            let end = add_days(start, 6);
            if start <= major.planned_date && major.planned_date <= end {
                minor.skipped = Some(format!(
                    "folded into the {} major release on {}",
                    major.quarter, major.planned_date
                ));
            }
        }
    }
    YearPlan {
        year,
        minors,
        majors,
    }
}

fn place_minor(
    cadence: &CadenceConfig,
    cycle_start: Date,
    stabilization_start: Date,
    rc: Date,
    release: Date,
) -> MinorSlot {
    let release_blocked = cadence.blocked_reason(release);
    let rc_blocked = cadence.blocked_reason(rc);
    if cadence.on_blocked == OnBlocked::Skip
        && let Some(reason) = release_blocked.clone().or(rc_blocked.clone())
    {
        return MinorSlot {
            cycle_start,
            rc_date: rc,
            release_date: release,
            skipped: Some(reason),
            moved: None,
        };
    }
    let release_date = cadence.previous_open_day(release);
    // The cut stays before the release it leads to.
    let rc_limit = if rc < release_date {
        rc
    } else {
        add_days(release_date, -1)
    };
    let rc_date = cadence.previous_open_day(rc_limit);
    let moved = release_blocked
        .or(rc_blocked)
        .filter(|_| release_date != release || rc_date != rc);
    // A cut or release pushed out of its own stabilization week would land
    // in another cycle: the release is skipped instead.
    if rc_date < stabilization_start {
        return MinorSlot {
            cycle_start,
            rc_date: rc,
            release_date: release,
            skipped: Some(format!(
                "no working day left in its stabilization week: {}",
                moved.unwrap_or_default()
            )),
            moved: None,
        };
    }
    MinorSlot {
        cycle_start,
        rc_date,
        release_date,
        skipped: None,
        moved,
    }
}

/// Where a day stands in the release cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// A change freeze.
    FreezeWindow {
        /// The window.
        window: String,
    },
    /// A release day.
    ReleaseDay {
        /// `minor` or `major`.
        kind: String,
    },
    /// A release-candidate cut day: the feature freeze starts.
    RcCutDay,
    /// The stabilization week before the cut: final PRs and regression
    /// testing.
    Stabilization,
    /// The development sprint.
    DevelopmentSprint,
}

impl Phase {
    /// A short human name.
    pub fn describe(&self) -> String {
        match self {
            Phase::FreezeWindow { window } => format!("freeze window {window}"),
            Phase::ReleaseDay { kind } => format!("{kind} release day"),
            Phase::RcCutDay => "release candidate cut day".into(),
            Phase::Stabilization => "stabilization".into(),
            Phase::DevelopmentSprint => "development sprint".into(),
        }
    }

    /// Whether new features may still land (false from the RC cut on).
    pub fn features_allowed(&self) -> bool {
        matches!(self, Phase::DevelopmentSprint | Phase::Stabilization)
    }
}

/// The phase of `day`.
pub fn phase(cadence: &CadenceConfig, day: Date) -> Phase {
    if let Some(window) = cadence.freeze_window(day) {
        return Phase::FreezeWindow {
            window: window.describe(),
        };
    }
    let plan = plan_year(cadence, day.year());
    if plan.majors.iter().any(|m| m.planned_date == day) {
        return Phase::ReleaseDay {
            kind: "major".into(),
        };
    }
    let active = plan.minors.iter().filter(|m| m.skipped.is_none());
    for minor in active {
        if minor.release_date == day {
            return Phase::ReleaseDay {
                kind: "minor".into(),
            };
        }
        if minor.rc_date == day {
            return Phase::RcCutDay;
        }
    }
    // Stabilization runs from the cycle's last Monday to its release.
    let cycle_days = cadence.cycle_weeks.days();
    let days = cadence
        .anchor
        .until(day)
        .map_or(0, |s| i64::from(s.get_days()));
    let into_cycle = days.rem_euclid(cycle_days);
    if into_cycle >= cycle_days - 7 {
        Phase::Stabilization
    } else {
        Phase::DevelopmentSprint
    }
}

/// `minor_releases` entry of the spec's `release_calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinorRelease {
    /// `X.Y.0`.
    pub version: String,
    /// `YYYY-MM-DD`.
    pub rc_date: String,
    /// `YYYY-MM-DD`.
    pub release_date: String,
    /// `planned`, `rc`, `released` or `skipped`.
    pub status: String,
}

/// `major_releases` entry of the spec's `release_calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MajorRelease {
    /// `X.0.0`.
    pub version: String,
    /// `Q1` to `Q4`.
    pub quarter: String,
    /// `YYYY-MM-DD`.
    pub planned_date: String,
    /// `planned`, `rc`, `released` or `delayed`.
    pub status: String,
}

/// `patch_releases` entry of the spec's `release_calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchRelease {
    /// `X.Y.Z`.
    pub version: String,
    /// `YYYY-MM-DD`.
    pub release_date: String,
    /// Cut from a release branch rather than the main line.
    pub hotfix: bool,
}

/// The spec's `release_calendar`, key for key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseCalendar {
    /// The year.
    pub year: i16,
    /// Minor releases by date.
    pub minor_releases: Vec<MinorRelease>,
    /// Major releases by date.
    pub major_releases: Vec<MajorRelease>,
    /// Patch releases by date.
    pub patch_releases: Vec<PatchRelease>,
}

/// The document: a single `release_calendar` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDocument {
    /// The calendar.
    pub release_calendar: ReleaseCalendar,
}

/// A release that already happened, for projecting versions.
#[derive(Debug, Clone)]
pub struct KnownRelease {
    /// Its version (stable).
    pub version: Version,
    /// Its date.
    pub date: Date,
}

/// The release in effect on a day: what the calendar's upcoming events are
/// projected from.
#[derive(Debug, Clone)]
pub struct InEffect {
    /// The day: events on it and after it are upcoming.
    pub today: Date,
    /// The latest release reachable from `HEAD`.
    pub version: Version,
}

/// Builds the calendar of a plan, projecting versions: each minor bumps
/// the minor version, each major the major version (minor reset), counting
/// from `base` (the release in effect when the year starts). A slot that a
/// real release already filled (the same kind of release, within the
/// slot's cycle) keeps that release's version; a minor slot that passed
/// without a release before the latest real one is `skipped`. Skipped
/// minors show the version the next release takes, and take none
/// themselves.
pub fn calendar_of(
    plan: &YearPlan,
    cadence: &CadenceConfig,
    base: &Version,
    known: &[KnownRelease],
) -> ReleaseCalendar {
    calendar_as_of(plan, cadence, base, known, None)
}

/// [`calendar_of`], with the slots from `now.today` on projected from the
/// release in effect then (`now.version`) instead: the first upcoming minor
/// is the next minor after it, a major the next major. Slots before
/// `now.today` keep what the releases made say. An upcoming slot keeps a
/// release already made only when it was made in the slot's own release
/// window (a minor from its RC cut on, a major in the week before its
/// planned day); one made before that was not that slot's release.
pub fn calendar_as_of(
    plan: &YearPlan,
    cadence: &CadenceConfig,
    base: &Version,
    known: &[KnownRelease],
    now: Option<&InEffect>,
) -> ReleaseCalendar {
    enum Event<'a> {
        Minor(&'a MinorSlot),
        Major(&'a MajorSlot),
    }
    let mut events: Vec<(Date, Event<'_>)> = plan
        .minors
        .iter()
        .map(|m| (m.release_date, Event::Minor(m)))
        .chain(
            plan.majors
                .iter()
                .map(|m| (m.planned_date, Event::Major(m))),
        )
        .collect();
    events.sort_by_key(|(d, _)| *d);
    let cycle_days = cadence.cycle_weeks.days();
    let mut current = version::release_of(base);
    let mut minor_releases = Vec::new();
    let mut major_releases = Vec::new();
    let mut pending_skipped: Vec<usize> = Vec::new();
    let last_known = known.iter().map(|k| k.date).max();
    // Whether `current` has been reset to the release in effect now.
    let mut in_effect_taken = false;
    let mut any_upcoming = false;
    for (date, event) in events {
        let upcoming = now.is_some_and(|n| date >= n.today);
        let window_end = add_days(date, 6);
        let window_start = match (&event, upcoming) {
            (_, false) => add_days(date, 1 - cycle_days),
            (Event::Minor(slot), true) => slot.rc_date,
            (Event::Major(slot), true) => add_days(slot.planned_date, -6),
        }
        .max(add_days(date, 1 - cycle_days));
        let real = |major: bool, current: &Version| {
            known
                .iter()
                .filter(|k| k.date >= window_start && k.date <= window_end)
                .filter(|k| k.version.patch == 0 && (k.version.minor == 0) == major)
                .filter(|k| k.version.cmp_precedence(current).is_gt())
                .min_by(|a, b| a.version.cmp_precedence(&b.version))
                .map(|k| k.version.clone())
        };
        let skipped = matches!(event, Event::Minor(slot) if slot.skipped.is_some());
        let filled = match &event {
            _ if skipped => None,
            Event::Minor(_) => real(false, &current),
            Event::Major(_) => real(true, &current),
        };
        // The first upcoming release that none made yet counts from the
        // release in effect (a skipped minor takes no version: the
        // release after it decides).
        if let Some(n) =
            now.filter(|_| upcoming && !skipped && filled.is_none() && !in_effect_taken)
        {
            current = version::release_of(&n.version);
            in_effect_taken = true;
        }
        any_upcoming |= upcoming;
        match event {
            Event::Minor(slot) if slot.skipped.is_some() => {
                pending_skipped.push(minor_releases.len());
                minor_releases.push(MinorRelease {
                    version: String::new(),
                    rc_date: slot.rc_date.to_string(),
                    release_date: slot.release_date.to_string(),
                    status: "skipped".into(),
                });
            }
            Event::Minor(slot)
                if !upcoming && filled.is_none() && last_known.is_some_and(|k| date < k) =>
            {
                // A slot that passed without a release while later releases
                // were made: it was skipped, and takes no version.
                pending_skipped.push(minor_releases.len());
                minor_releases.push(MinorRelease {
                    version: String::new(),
                    rc_date: slot.rc_date.to_string(),
                    release_date: slot.release_date.to_string(),
                    status: "skipped".into(),
                });
            }
            Event::Minor(slot) => {
                current = filled.unwrap_or_else(|| version::bumped(&current, version::Bump::Minor));
                for i in pending_skipped.drain(..) {
                    minor_releases[i].version = current.to_string();
                }
                minor_releases.push(MinorRelease {
                    version: current.to_string(),
                    rc_date: slot.rc_date.to_string(),
                    release_date: slot.release_date.to_string(),
                    status: "planned".into(),
                });
            }
            Event::Major(slot) => {
                current = filled.unwrap_or_else(|| version::bumped(&current, version::Bump::Major));
                for i in pending_skipped.drain(..) {
                    minor_releases[i].version = current.to_string();
                }
                major_releases.push(MajorRelease {
                    version: current.to_string(),
                    quarter: slot.quarter.clone(),
                    planned_date: slot.planned_date.to_string(),
                    status: "planned".into(),
                });
            }
        }
    }
    // Skipped minors at the end of the year show the next minor.
    if let Some(n) = now.filter(|_| any_upcoming && !in_effect_taken) {
        current = version::release_of(&n.version);
    }
    let tail = version::bumped(&current, version::Bump::Minor).to_string();
    for i in pending_skipped {
        minor_releases[i].version = tail.clone();
    }
    ReleaseCalendar {
        year: plan.year,
        minor_releases,
        major_releases,
        patch_releases: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn default_cadence_for_three_years() {
        let cadence = CadenceConfig::default();
        for year in [2026, 2027, 2028] {
            let plan = plan_year(&cadence, year);
            assert!(plan.minors.len() >= 25, "{year}: {}", plan.minors.len());
            for pair in plan.minors.windows(2) {
                let gap = pair[0]
                    .release_date
                    .until(pair[1].release_date)
                    .unwrap()
                    .get_days();
                assert_eq!(gap, 14, "{year}: {:?}", pair);
            }
            for minor in &plan.minors {
                assert_eq!(minor.release_date.weekday(), Weekday::Friday);
                assert_eq!(minor.rc_date, minor.release_date.yesterday().unwrap());
                assert_eq!(minor.release_date.year(), year);
            }
            assert_eq!(plan.majors.len(), 4);
            for (major, month) in plan.majors.iter().zip([3, 6, 9, 12]) {
                assert_eq!(major.planned_date.weekday(), Weekday::Friday);
                assert_eq!(major.planned_date.month(), month);
                assert!(
                    add_days(major.planned_date, 7).month() != month,
                    "last Friday"
                );
            }
        }
    }

    #[test]
    fn nothing_lands_on_configured_non_working_days() {
        let holidays: Vec<Blocked> = [2026, 2027, 2028]
            .iter()
            .flat_map(|&y| {
                [
                    Blocked::Day(date(y, 12, 25)),
                    Blocked::Day(date(y, 1, 1)),
                    Blocked::Range {
                        from: date(y, 7, 1),
                        to: date(y, 7, 10),
                        name: Some("summer".into()),
                    },
                ]
            })
            .chain([
                Blocked::Day(date(2026, 1, 16)),
                Blocked::Day(date(2027, 3, 26)),
            ])
            .collect();
        for on_blocked in [OnBlocked::PreviousWorkingDay, OnBlocked::Skip] {
            let cadence = CadenceConfig {
                non_working_days: holidays.clone(),
                on_blocked,
                ..CadenceConfig::default()
            };
            for year in [2026, 2027, 2028] {
                let plan = plan_year(&cadence, year);
                for minor in plan.minors.iter().filter(|m| m.skipped.is_none()) {
                    assert!(
                        cadence.blocked_reason(minor.release_date).is_none(),
                        "{minor:?}"
                    );
                    assert!(cadence.blocked_reason(minor.rc_date).is_none(), "{minor:?}");
                    assert!(minor.rc_date < minor.release_date);
                }
                for major in &plan.majors {
                    assert!(
                        cadence.blocked_reason(major.planned_date).is_none(),
                        "{major:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn cycle_lengths_and_months_out_of_bounds_are_refused_where_they_are() {
        let error = |yaml: &str| {
            crate::yaml::parse::<CadenceConfig>(yaml, std::path::Path::new("t.yaml"))
                .expect_err(yaml)
                .to_string()
        };
        assert_eq!(
            error("cycle_weeks: 0\n"),
            "t.yaml:1:14: cycle_weeks: must be between 1 and 52, not 0"
        );
        assert_eq!(
            error("cycle_weeks: 300\n"),
            "t.yaml:1:14: cycle_weeks: must be between 1 and 52, not 300"
        );
        assert_eq!(
            error("major_months: [6, 13]\n"),
            "t.yaml:1:19: major_months[1]: must be between 1 and 12, not 13"
        );
        let weekly: CadenceConfig = crate::yaml::parse(
            "cycle_weeks: 1\nmajor_months: [12]\n",
            std::path::Path::new("t.yaml"),
        )
        .expect("valid");
        let plan = plan_year(&weekly, 2026);
        assert_eq!(plan.majors.len(), 1);
        assert_eq!(plan.majors[0].quarter, "Q4");
        for pair in plan.minors.windows(2) {
            let gap = pair[0]
                .release_date
                .until(pair[1].release_date)
                .unwrap()
                .get_days();
            assert!(
                gap == 7 || pair.iter().any(|m| m.skipped.is_some()),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn a_major_in_a_stabilization_week_folds_the_minor() {
        let plan = plan_year(&CadenceConfig::default(), 2026);
        // 2026-03-27 is the last Friday of March and a minor release day.
        let folded = plan
            .minors
            .iter()
            .find(|m| m.release_date == date(2026, 3, 27))
            .unwrap();
        assert!(
            folded
                .skipped
                .as_deref()
                .unwrap()
                .contains("folded into the Q1 major")
        );
    }

    #[test]
    fn blocked_days_move_or_skip() {
        let mut cadence = CadenceConfig {
            non_working_days: vec![Blocked::Day(date(2026, 1, 16))],
            freeze_windows: vec![Blocked::Range {
                from: date(2026, 12, 21),
                to: date(2027, 1, 1),
                name: Some("year-end".into()),
            }],
            ..CadenceConfig::default()
        };
        let plan = plan_year(&cadence, 2026);
        let moved = plan
            .minors
            .iter()
            .find(|m| m.cycle_start == date(2026, 1, 5))
            .unwrap();
        assert_eq!(moved.release_date, date(2026, 1, 15));
        assert_eq!(moved.rc_date, date(2026, 1, 14));
        assert!(
            plan.minors
                .iter()
                .all(|m| cadence.blocked_reason(m.release_date).is_none())
        );
        cadence.on_blocked = OnBlocked::Skip;
        let plan = plan_year(&cadence, 2026);
        let skipped = plan
            .minors
            .iter()
            .find(|m| m.cycle_start == date(2026, 1, 5))
            .unwrap();
        assert!(
            skipped
                .skipped
                .as_deref()
                .unwrap()
                .contains("non-working day")
        );
        let next_year = plan_year(&cadence, 2027);
        let year_end = next_year
            .minors
            .iter()
            .find(|m| m.release_date == date(2027, 1, 1))
            .unwrap();
        assert!(year_end.skipped.as_deref().unwrap().contains("year-end"));
        // Moving instead would leave the stabilization week: skipped too.
        cadence.on_blocked = OnBlocked::PreviousWorkingDay;
        let next_year = plan_year(&cadence, 2027);
        let year_end = next_year
            .minors
            .iter()
            .find(|m| m.cycle_start == date(2026, 12, 21))
            .unwrap();
        assert!(
            year_end
                .skipped
                .as_deref()
                .unwrap()
                .contains("no working day left"),
            "{year_end:?}"
        );
    }

    #[test]
    fn phases_follow_the_schedule() {
        let cadence = CadenceConfig::default();
        // Cycle from 2026-01-05: sprint week, then stabilization.
        assert_eq!(phase(&cadence, date(2026, 1, 7)), Phase::DevelopmentSprint);
        assert_eq!(phase(&cadence, date(2026, 1, 12)), Phase::Stabilization);
        assert_eq!(phase(&cadence, date(2026, 1, 15)), Phase::RcCutDay);
        assert_eq!(
            phase(&cadence, date(2026, 1, 16)),
            Phase::ReleaseDay {
                kind: "minor".into()
            }
        );
        assert_eq!(
            phase(&cadence, date(2026, 3, 27)),
            Phase::ReleaseDay {
                kind: "major".into()
            }
        );
    }

    #[test]
    fn versions_are_projected_and_real_ones_kept() {
        let cadence = CadenceConfig::default();
        let plan = plan_year(&cadence, 2026);
        let base = version::parse("1.4.2").unwrap();
        let known = [KnownRelease {
            version: version::parse("1.5.0").unwrap(),
            date: date(2026, 1, 16),
        }];
        let cal = calendar_of(&plan, &cadence, &base, &known);
        // 2026-01-02 passed without a release before 1.5.0 came out on
        // 2026-01-16: skipped, showing the version that followed.
        assert_eq!(cal.minor_releases[0].release_date, "2026-01-02");
        assert_eq!(cal.minor_releases[0].status, "skipped");
        assert_eq!(cal.minor_releases[0].version, "1.5.0");
        assert_eq!(cal.minor_releases[1].version, "1.5.0");
        assert_eq!(cal.minor_releases[1].status, "planned");
        assert_eq!(cal.minor_releases[2].version, "1.6.0");
        let q1 = &cal.major_releases[0];
        assert_eq!(q1.version, "2.0.0");
        let folded = cal
            .minor_releases
            .iter()
            .find(|m| m.release_date == "2026-03-27")
            .unwrap();
        assert_eq!(folded.status, "skipped");
        assert_eq!(folded.version, "2.0.0");
    }

    #[test]
    fn upcoming_slots_count_from_the_release_in_effect() {
        let cadence = CadenceConfig::default();
        let plan = plan_year(&cadence, 2027);
        let v = |text: &str| version::parse(text).unwrap();
        let release = |cal: &ReleaseCalendar, day: &str| {
            cal.minor_releases
                .iter()
                .find(|m| m.release_date == day)
                .map(|m| m.version.clone())
                .unwrap()
        };
        // Nothing released this year: 2027-01-01 passed; what comes next
        // is the minor after the release in effect, not the one after the
        // passed slot's projection.
        let now = InEffect {
            today: date(2027, 1, 13),
            version: v("1.1.0"),
        };
        let cal = calendar_as_of(&plan, &cadence, &v("1.1.0"), &[], Some(&now));
        assert_eq!(release(&cal, "2027-01-01"), "1.2.0");
        assert_eq!(release(&cal, "2027-01-15"), "1.2.0");
        assert_eq!(release(&cal, "2027-01-29"), "1.3.0");
        assert_eq!(cal.major_releases[0].version, "2.0.0");
        let without = calendar_of(&plan, &cadence, &v("1.1.0"), &[]);
        assert_eq!(release(&without, "2027-01-15"), "1.3.0");
        // Released today, before the slot's cut: the slot is still ahead,
        // for the next minor.
        let early = [KnownRelease {
            version: v("1.1.0"),
            date: date(2027, 1, 13),
        }];
        let cal = calendar_as_of(&plan, &cadence, &v("1.0.0"), &early, Some(&now));
        assert_eq!(release(&cal, "2027-01-15"), "1.2.0");
        // Once the slot passed, it keeps the release the tags say.
        let later = InEffect {
            today: date(2027, 1, 20),
            version: v("1.1.0"),
        };
        let cal = calendar_as_of(&plan, &cadence, &v("1.0.0"), &early, Some(&later));
        assert_eq!(release(&cal, "2027-01-15"), "1.1.0");
        assert_eq!(release(&cal, "2027-01-29"), "1.2.0");
        // Released on its own release day: that slot is that release.
        let on_time = [KnownRelease {
            version: v("1.1.0"),
            date: date(2027, 1, 15),
        }];
        let today = InEffect {
            today: date(2027, 1, 15),
            version: v("1.1.0"),
        };
        let cal = calendar_as_of(&plan, &cadence, &v("1.0.0"), &on_time, Some(&today));
        assert_eq!(release(&cal, "2027-01-15"), "1.1.0");
        assert_eq!(release(&cal, "2027-01-29"), "1.2.0");
        // A major released in its week is that quarter's major.
        let major = [KnownRelease {
            version: v("2.0.0"),
            date: date(2027, 3, 24),
        }];
        let march = InEffect {
            today: date(2027, 3, 24),
            version: v("2.0.0"),
        };
        let cal = calendar_as_of(&plan, &cadence, &v("1.0.0"), &major, Some(&march));
        assert_eq!(cal.major_releases[0].version, "2.0.0");
        assert_eq!(release(&cal, "2027-04-09"), "2.1.0");
    }
}

//! The release calendar: when minors, majors and their release-candidate
//! cuts happen, what phase a day is in, the spec's `release_calendar`
//! document, and the one projection that gives a year's slots their
//! versions and statuses ([`project`]; [`reconcile`] for a stored plan).
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

/// The keys a range of blocked days has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockedRange {
    from: Date,
    to: Date,
    #[serde(default)]
    name: Option<String>,
}

/// Read strictly, so that a mistyped key of a range (`form:`) or a range
/// that ends before it starts is an error at its line and column, not a
/// window silently dropped.
impl<'de> Deserialize<'de> for Blocked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Blocked;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a date (YYYY-MM-DD) or a range { from, to, name }")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Blocked, E> {
                text.parse::<Date>()
                    .map(Blocked::Day)
                    .map_err(|e| E::custom(format!("`{text}` is not a date (YYYY-MM-DD): {e}")))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Blocked, A::Error> {
                let range =
                    BlockedRange::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if range.from > range.to {
                    return Err(serde::de::Error::custom(format!(
                        "the range {} to {} ends before it starts",
                        range.from, range.to
                    )));
                }
                Ok(Blocked::Range {
                    from: range.from,
                    to: range.to,
                    name: range.name,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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
    /// `X.Y.0`; `null` for a slot that makes no release (`skipped`). The
    /// next release to come carries the version `version next` proposes,
    /// which may be a patch.
    pub version: Option<String>,
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
    /// `X.0.0`; `null` for a slot that passed without a major release
    /// (`delayed`). The next release to come carries the version
    /// `version next` proposes, which may be a minor or a patch.
    pub version: Option<String>,
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

/// A release tag, with the date the projection gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRelease {
    /// Its version (stable).
    pub version: Version,
    /// Its tag.
    pub tag: String,
    /// Its date, in the cadence's time zone.
    pub date: Date,
    /// For a patch release: its commit is not on the current branch's
    /// line (cut from a release branch).
    pub hotfix: bool,
}

/// What the projection knows of the repository on a day.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Today: slots whose release date is today or later are upcoming.
    pub today: Date,
    /// Every stable release tag, of any year, in any order.
    pub releases: Vec<KnownRelease>,
    /// Every pre-release tag's version (`1.6.0-rc.1`).
    pub prereleases: Vec<Version>,
    /// The release in effect: the latest release reachable from `HEAD`.
    pub in_effect: Option<Version>,
    /// The version `version next` proposes, when a release is needed.
    pub next: Option<Version>,
}

/// A year's calendar and the releases that filled its slots.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The spec's `release_calendar`.
    pub calendar: ReleaseCalendar,
    /// The release of every `released` slot, in calendar order.
    pub filled: Vec<KnownRelease>,
}

/// The release window of a slot dated `day`: the release cycle `day` falls
/// in, from its first Monday to the day before the next cycle starts. Only
/// a release dated in its window fills a slot; windows of one kind never
/// overlap, so a release fills one slot at most.
pub fn release_window(cadence: &CadenceConfig, day: Date) -> (Date, Date) {
    let cycle_days = cadence.cycle_weeks.days();
    let days = cadence
        .anchor
        .until(day)
        .map_or(0, |s| i64::from(s.get_days()));
    let start = add_days(cadence.anchor, days.div_euclid(cycle_days) * cycle_days);
    (start, add_days(start, cycle_days - 1))
}

/// The kind of a calendar slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Minor,
    Major,
}

impl Kind {
    /// Whether a release of `v` fills a slot of this kind: `X.Y.0` with
    /// `Y > 0` a minor slot, `X.0.0` a major slot.
    fn fits(self, v: &Version) -> bool {
        v.pre.is_empty() && v.patch == 0 && ((v.minor == 0) == (self == Kind::Major))
    }

    fn bump(self) -> version::Bump {
        match self {
            Kind::Minor => version::Bump::Minor,
            Kind::Major => version::Bump::Major,
        }
    }

    /// The status of a slot that passed without its release.
    fn missed(self) -> &'static str {
        match self {
            Kind::Minor => "skipped",
            Kind::Major => "delayed",
        }
    }
}

/// One slot of a year, in date order.
struct Slot {
    kind: Kind,
    date: Date,
    /// Index into the plan's (or the calendar's) minors or majors.
    index: usize,
    /// Skipped by the cadence (folded into a major, blocked).
    skipped: bool,
}

/// Slots by date; a major before the minor folded into it.
fn slots_of(plan: &YearPlan) -> Vec<Slot> {
    let mut slots: Vec<Slot> = plan
        .minors
        .iter()
        .enumerate()
        .map(|(index, m)| Slot {
            kind: Kind::Minor,
            date: m.release_date,
            index,
            skipped: m.skipped.is_some(),
        })
        .chain(plan.majors.iter().enumerate().map(|(index, m)| Slot {
            kind: Kind::Major,
            date: m.planned_date,
            index,
            skipped: false,
        }))
        .collect();
    slots.sort_by_key(|s| (s.date, s.kind == Kind::Minor));
    slots
}

/// The walk through the slots, from the first year projected on: which
/// releases filled which slot, and the versions given so far.
struct Chain<'a> {
    cadence: &'a CadenceConfig,
    facts: &'a Facts,
    /// Releases by date, then version.
    releases: Vec<&'a KnownRelease>,
    /// Whether a slot took the release of the same index.
    claimed: Vec<bool>,
    /// Whether the first upcoming slot without a release has its version.
    started: bool,
    /// The version later upcoming slots are projected from.
    current: Option<Version>,
    /// The versions upcoming slots were given.
    given: Vec<Version>,
    /// The versions on the slots walked so far, for keeping them in order.
    order: Order,
}

/// The highest version on slots dated before the slot at hand, so that no
/// release fills a slot after one that shows a higher version: the
/// calendar's versions go up with its dates.
#[derive(Default)]
struct Order {
    day: Option<Date>,
    /// The highest version on slots dated before `day`.
    before: Option<Version>,
    /// The highest version on slots dated `day`.
    at: Option<Version>,
}

impl Order {
    fn move_to(&mut self, day: Date) {
        if self.day != Some(day) {
            self.before = higher(self.before.take(), self.at.take());
            self.day = Some(day);
        }
    }

    /// Whether `v` may fill a slot on the day moved to.
    fn allows(&self, v: &Version) -> bool {
        self.before
            .as_ref()
            .is_none_or(|b| v.cmp_precedence(b).is_gt())
    }

    /// A slot on `day` shows `v`.
    fn record(&mut self, day: Date, v: &Version) {
        self.move_to(day);
        self.at = higher(self.at.take(), Some(v.clone()));
    }
}

fn higher(a: Option<Version>, b: Option<Version>) -> Option<Version> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.cmp_precedence(&a).is_gt() { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl<'a> Chain<'a> {
    fn new(cadence: &'a CadenceConfig, facts: &'a Facts) -> Self {
        let mut releases: Vec<&KnownRelease> = facts.releases.iter().collect();
        releases.sort_by(|a, b| {
            a.date
                .cmp(&b.date)
                .then_with(|| a.version.cmp_precedence(&b.version))
        });
        Chain {
            cadence,
            facts,
            claimed: vec![false; releases.len()],
            releases,
            started: false,
            current: None,
            given: Vec::new(),
            order: Order::default(),
        }
    }

    /// The first release of `kind` in the window of a slot on `day` that
    /// no slot took yet, and that is above the versions of earlier slots;
    /// taken by this one.
    fn fill(&mut self, kind: Kind, day: Date) -> Option<&'a KnownRelease> {
        let (from, to) = release_window(self.cadence, day);
        self.order.move_to(day);
        let i = self.releases.iter().enumerate().position(|(i, r)| {
            !self.claimed[i]
                && from <= r.date
                && r.date <= to
                && kind.fits(&r.version)
                && self.order.allows(&r.version)
        })?;
        let release = self.releases[i];
        self.claimed[i] = true;
        self.order.record(day, &release.version);
        // A release made after the projection started moves it on.
        if self.started
            && self
                .current
                .as_ref()
                .is_none_or(|c| release.version.cmp_precedence(c).is_gt())
        {
            self.current = Some(release.version.clone());
        }
        Some(release)
    }

    /// Whether a tag or an earlier slot has `v` already.
    fn taken(&self, v: &Version) -> bool {
        self.releases.iter().any(|r| r.version == *v) || self.given.contains(v)
    }

    /// `v`, bumped by `kind` until no tag nor slot has it.
    fn free(&self, mut v: Version, kind: Kind) -> Version {
        while self.taken(&v) {
            v = version::bumped(&v, kind.bump());
        }
        v
    }

    /// The version of the next upcoming slot without a release: for the
    /// first, `version next`'s when a release is needed, else the next
    /// minor (major) of the release in effect; after it, the next minor
    /// (major) of the slot before.
    fn give(&mut self, kind: Kind) -> Version {
        let v = match (&self.current, self.started) {
            (Some(current), true) => self.free(version::bumped(current, kind.bump()), kind),
            _ => match &self.facts.next {
                Some(next) if !self.taken(next) => next.clone(),
                _ => {
                    let base = self
                        .facts
                        .in_effect
                        .as_ref()
                        .map_or_else(|| Version::new(0, 0, 0), version::release_of);
                    self.free(version::bumped(&base, kind.bump()), kind)
                }
            },
        };
        self.started = true;
        self.current = Some(v.clone());
        self.given.push(v.clone());
        v
    }

    /// A slot on `day` keeps the version `text` (a stored plan's).
    fn keep(&mut self, day: Date, text: Option<&str>) {
        if let Some(v) = text.and_then(|t| version::parse(t).ok()) {
            self.order.record(day, &v);
        }
    }

    /// `rc` when a release candidate of `version` is tagged, else
    /// `planned`.
    fn upcoming_status(&self, version: Option<&str>) -> &'static str {
        let cut = version
            .and_then(|v| version::parse(v).ok())
            .is_some_and(|v| {
                self.facts.prereleases.iter().any(|p| {
                    version::release_of(p) == v
                        && version::channel_of(p).is_some_and(|(c, _)| c == version::Channel::Rc)
                })
            });
        if cut { "rc" } else { "planned" }
    }

    /// The slots of one year.
    fn year(&mut self, year: i16) -> Projection {
        let plan = plan_year(self.cadence, year);
        let today = self.facts.today;
        let mut minor_releases: Vec<MinorRelease> = plan
            .minors
            .iter()
            .map(|m| MinorRelease {
                version: None,
                rc_date: m.rc_date.to_string(),
                release_date: m.release_date.to_string(),
                status: String::new(),
            })
            .collect();
        let mut major_releases: Vec<MajorRelease> = plan
            .majors
            .iter()
            .map(|m| MajorRelease {
                version: None,
                quarter: m.quarter.clone(),
                planned_date: m.planned_date.to_string(),
                status: String::new(),
            })
            .collect();
        let mut filled = Vec::new();
        for slot in slots_of(&plan) {
            let (version, status): (Option<String>, String) =
                if let Some(release) = self.fill(slot.kind, slot.date) {
                    filled.push(release.clone());
                    (Some(release.version.to_string()), "released".into())
                } else if slot.skipped {
                    (None, "skipped".into())
                } else if slot.date < today {
                    (None, slot.kind.missed().into())
                } else {
                    let given = self.give(slot.kind);
                    self.order.record(slot.date, &given);
                    let v = given.to_string();
                    let status = self.upcoming_status(Some(&v)).to_owned();
                    (Some(v), status)
                };
            match slot.kind {
                Kind::Minor => {
                    let entry = &mut minor_releases[slot.index];
                    entry.version = version;
                    entry.status = status;
                }
                Kind::Major => {
                    let entry = &mut major_releases[slot.index];
                    entry.version = version;
                    entry.status = status;
                }
            }
        }
        let mut calendar = ReleaseCalendar {
            year,
            minor_releases,
            major_releases,
            patch_releases: Vec::new(),
        };
        calendar.patch_releases = patches(&calendar, &self.facts.releases);
        Projection { calendar, filled }
    }
}

/// The patch releases (`X.Y.Z`, `Z > 0`) tagged in the calendar's year, by
/// date, but for a version a slot already names.
fn patches(calendar: &ReleaseCalendar, releases: &[KnownRelease]) -> Vec<PatchRelease> {
    let named: Vec<&str> = calendar
        .minor_releases
        .iter()
        .filter_map(|m| m.version.as_deref())
        .chain(
            calendar
                .major_releases
                .iter()
                .filter_map(|m| m.version.as_deref()),
        )
        .collect();
    let mut out: Vec<&KnownRelease> = releases
        .iter()
        .filter(|r| r.date.year() == calendar.year && r.version.patch > 0)
        .filter(|r| !named.contains(&r.version.to_string().as_str()))
        .collect();
    out.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.version.cmp_precedence(&b.version))
    });
    out.into_iter()
        .map(|r| PatchRelease {
            version: r.version.to_string(),
            release_date: r.date.to_string(),
            hotfix: r.hotfix,
        })
        .collect()
}

/// The calendar of `year` as it stands on `facts.today`: the one
/// projection every view of the calendar shows. Pure.
///
/// Slots are taken in date order, and each gets a version and a status:
///
/// - a slot that a release filled is `released` with that release's
///   version, whenever it is. A release fills a slot when it is dated in
///   the slot's [`release_window`] (its release cycle), is of the slot's
///   kind (a minor release `X.Y.0` with `Y > 0` a minor slot, a major
///   release `X.0.0` a major slot) and is above every version on the slots
///   dated before it, so versions go up with the dates. Each release fills
///   one slot at most, the first such release of a window its slot; one of
///   another kind, a second one in a window, or one that would go backwards
///   fills none (patch releases are listed under `patch_releases`);
/// - a minor slot the cadence skips (folded into a major, blocked) and no
///   release filled is `skipped`, with no version (`null`);
/// - a past slot (release date before today) that no release filled is
///   `skipped` (a minor) or `delayed` (a major), with no version: it made
///   none, and it uses none up. A delayed major does not wait with a
///   version of its own; the next major slot takes the next major;
/// - the first upcoming slot (release date today or later) that no release
///   filled carries exactly the version `version next` proposes when a
///   release is needed (`facts.next`), whatever the slot's kind; without
///   one, the next minor (for a major slot, the next major) of the release
///   in effect;
/// - each later upcoming slot takes the next minor (major) of the version
///   before it (or of a later release that filled a slot in between),
///   passing over versions a tag already has;
/// - an upcoming slot is `rc` when an `-rc.N` tag of its version exists,
///   else `planned`.
///
/// So no version appears on two slots, and every version on a slot is a
/// real release or one still to come. A year after today's continues from
/// the years between. Patch releases of the year are listed as tagged.
pub fn project(cadence: &CadenceConfig, year: i16, facts: &Facts) -> Projection {
    let mut chain = Chain::new(cadence, facts);
    for earlier in facts.today.year().min(year)..year {
        chain.year(earlier);
    }
    chain.year(year)
}

/// An explicit plan of `year`: every slot the cadence does not skip takes
/// the next minor (major) of the slot before, the first counting from
/// `from`; all are `planned`, skipped minors `skipped` with no version.
/// No tag is read: `calendar status` reconciles such a plan. Pure.
pub fn plan_from(cadence: &CadenceConfig, year: i16, from: &Version) -> ReleaseCalendar {
    let plan = plan_year(cadence, year);
    let mut current = version::release_of(from);
    let mut minor_releases: Vec<MinorRelease> = plan
        .minors
        .iter()
        .map(|m| MinorRelease {
            version: None,
            rc_date: m.rc_date.to_string(),
            release_date: m.release_date.to_string(),
            status: "skipped".into(),
        })
        .collect();
    let mut major_releases: Vec<MajorRelease> = plan
        .majors
        .iter()
        .map(|m| MajorRelease {
            version: None,
            quarter: m.quarter.clone(),
            planned_date: m.planned_date.to_string(),
            status: "planned".into(),
        })
        .collect();
    for slot in slots_of(&plan).iter().filter(|s| !s.skipped) {
        current = version::bumped(&current, slot.kind.bump());
        let version = Some(current.to_string());
        match slot.kind {
            Kind::Minor => {
                minor_releases[slot.index].version = version;
                minor_releases[slot.index].status = "planned".into();
            }
            Kind::Major => major_releases[slot.index].version = version,
        }
    }
    ReleaseCalendar {
        year,
        minor_releases,
        major_releases,
        patch_releases: Vec::new(),
    }
}

/// A stored calendar's statuses set from the tags, by the rules of
/// [`project`]: each entry is matched to the release window of its date,
/// and an entry a release filled is `released` with that release's version
/// (the real one, whatever the file planned). A past entry no release
/// filled is `skipped` (minor) or `delayed` (major) and loses its version;
/// an upcoming one keeps the file's version and is `rc` when an `-rc.N` tag
/// of it exists, else `planned` (an upcoming minor the file skips stays
/// `skipped`). Entries whose date is not a date are left as they are.
/// Patch releases of the year are listed as tagged. Pure.
pub fn reconcile(cadence: &CadenceConfig, calendar: &ReleaseCalendar, facts: &Facts) -> Projection {
    let mut chain = Chain::new(cadence, facts);
    // The projection is not walked: versions come from the file.
    chain.started = true;
    let mut calendar = calendar.clone();
    let mut slots: Vec<Slot> = calendar
        .minor_releases
        .iter()
        .enumerate()
        .filter_map(|(index, m)| {
            Some(Slot {
                kind: Kind::Minor,
                date: m.release_date.parse().ok()?,
                index,
                skipped: m.status == "skipped",
            })
        })
        .chain(
            calendar
                .major_releases
                .iter()
                .enumerate()
                .filter_map(|(index, m)| {
                    Some(Slot {
                        kind: Kind::Major,
                        date: m.planned_date.parse().ok()?,
                        index,
                        skipped: false,
                    })
                }),
        )
        .collect();
    slots.sort_by_key(|s| (s.date, s.kind == Kind::Minor));
    let mut filled = Vec::new();
    for slot in slots {
        let (version, status) = match slot.kind {
            Kind::Minor => {
                let m = &mut calendar.minor_releases[slot.index];
                (&mut m.version, &mut m.status)
            }
            Kind::Major => {
                let m = &mut calendar.major_releases[slot.index];
                (&mut m.version, &mut m.status)
            }
        };
        if let Some(release) = chain.fill(slot.kind, slot.date) {
            filled.push(release.clone());
            *version = Some(release.version.to_string());
            *status = "released".into();
        } else if slot.date < facts.today {
            *version = None;
            *status = slot.kind.missed().into();
        } else if !slot.skipped {
            *status = chain.upcoming_status(version.as_deref()).into();
            chain.keep(slot.date, version.as_deref());
        }
    }
    calendar.patch_releases = patches(&calendar, &facts.releases);
    Projection { calendar, filled }
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

    fn v(text: &str) -> Version {
        version::parse(text).unwrap()
    }

    fn released(version: &str, day: Date) -> KnownRelease {
        KnownRelease {
            version: v(version),
            tag: format!("v{version}"),
            date: day,
            hotfix: false,
        }
    }

    fn facts(today: Date, releases: Vec<KnownRelease>, next: Option<&str>) -> Facts {
        let in_effect = releases
            .iter()
            .map(|r| r.version.clone())
            .max_by(|a, b| a.cmp_precedence(b));
        Facts {
            today,
            releases,
            prereleases: Vec::new(),
            in_effect,
            next: next.map(v),
        }
    }

    /// (date, version, status) of every minor and major slot, by date.
    fn slots(cal: &ReleaseCalendar) -> Vec<(String, Option<String>, String)> {
        let mut out: Vec<_> = cal
            .minor_releases
            .iter()
            .map(|m| (m.release_date.clone(), m.version.clone(), m.status.clone()))
            .chain(
                cal.major_releases
                    .iter()
                    .map(|m| (m.planned_date.clone(), m.version.clone(), m.status.clone())),
            )
            .collect();
        out.sort();
        out
    }

    fn slot(cal: &ReleaseCalendar, day: &str) -> (Option<String>, String) {
        let all = slots(cal);
        let found: Vec<_> = all
            .iter()
            .filter(|s| s.0 == day && s.2 != "skipped")
            .chain(all.iter().filter(|s| s.0 == day))
            .collect();
        let s = found.first().unwrap_or_else(|| panic!("no slot on {day}"));
        (s.1.clone(), s.2.clone())
    }

    fn some(version: &str, status: &str) -> (Option<String>, String) {
        (Some(version.into()), status.into())
    }

    fn none(status: &str) -> (Option<String>, String) {
        (None, status.into())
    }

    fn assert_no_version_twice(cal: &ReleaseCalendar) {
        let mut versions: Vec<String> = slots(cal).into_iter().filter_map(|s| s.1).collect();
        let count = versions.len();
        versions.sort();
        versions.dedup();
        assert_eq!(versions.len(), count, "{:#?}", slots(cal));
    }

    /// A minor in February, then patches until the autumn, and a fix since:
    /// `version next` says 3.5.42.
    fn patch_train() -> Vec<KnownRelease> {
        let mut releases = vec![
            released("3.4.0", date(2025, 11, 10)),
            released("3.5.0", date(2026, 2, 13)),
        ];
        for n in 1..=41 {
            releases.push(released(
                &format!("3.5.{n}"),
                add_days(date(2026, 2, 16), 6 * n),
            ));
        }
        releases
    }

    #[test]
    fn the_first_upcoming_slot_carries_version_next_whatever_its_kind() {
        let cadence = CadenceConfig::default();
        let today = date(2026, 12, 3);
        let cal = project(&cadence, 2026, &facts(today, patch_train(), Some("3.5.42"))).calendar;
        assert_eq!(slot(&cal, "2026-12-04"), some("3.5.42", "planned"));
        assert_eq!(slot(&cal, "2026-12-18"), some("3.6.0", "planned"));
        assert_eq!(slot(&cal, "2026-12-25"), some("4.0.0", "planned"));
        assert_eq!(slot(&cal, "2026-02-13"), some("3.5.0", "released"));
        // Passed without a release: no version, none used up.
        assert_eq!(slot(&cal, "2026-02-27"), none("skipped"));
        for day in ["2026-03-27", "2026-06-26", "2026-09-25"] {
            assert_eq!(slot(&cal, day), none("delayed"), "{day}");
        }
        assert_no_version_twice(&cal);
        assert_eq!(cal.patch_releases.len(), 41);
        // The next slot a major: it still carries `version next`'s.
        let later = date(2026, 12, 19);
        let cal = project(&cadence, 2026, &facts(later, patch_train(), Some("3.6.0"))).calendar;
        assert_eq!(slot(&cal, "2026-12-25"), some("3.6.0", "planned"));
        let next_year = project(&cadence, 2027, &facts(later, patch_train(), Some("3.6.0")));
        assert_eq!(
            slot(&next_year.calendar, "2027-01-01"),
            some("3.7.0", "planned")
        );
        assert_eq!(
            slot(&next_year.calendar, "2027-03-26"),
            some("4.0.0", "planned")
        );
    }

    #[test]
    fn without_changes_the_next_slot_takes_the_next_minor_or_major() {
        let cadence = CadenceConfig::default();
        let releases = vec![released("1.1.0", date(2026, 11, 20))];
        let cal = project(
            &cadence,
            2026,
            &facts(date(2026, 12, 3), releases.clone(), None),
        );
        assert_eq!(slot(&cal.calendar, "2026-11-20"), some("1.1.0", "released"));
        assert_eq!(slot(&cal.calendar, "2026-12-04"), some("1.2.0", "planned"));
        assert_eq!(slot(&cal.calendar, "2026-12-25"), some("2.0.0", "planned"));
        let cal = project(&cadence, 2026, &facts(date(2026, 12, 19), releases, None));
        assert_eq!(slot(&cal.calendar, "2026-12-25"), some("2.0.0", "planned"));
    }

    #[test]
    fn past_slots_show_what_happened_and_nothing_else() {
        // The demo's history seen on 2026-12-03: 1.0.0 in August, 1.1.0 in
        // September, 1.2.0 in October.
        let cadence = CadenceConfig::default();
        let releases = vec![
            released("1.0.0", date(2026, 8, 5)),
            released("1.1.0", date(2026, 9, 4)),
            released("1.2.0", date(2026, 10, 19)),
        ];
        let projection = project(
            &cadence,
            2026,
            &facts(date(2026, 12, 3), releases, Some("1.3.0")),
        );
        let cal = &projection.calendar;
        // No major in March: 1.0.0 came in August, outside every major's
        // release window.
        assert_eq!(slot(cal, "2026-03-27"), none("delayed"));
        assert_eq!(slot(cal, "2026-06-26"), none("delayed"));
        assert_eq!(slot(cal, "2026-09-25"), none("delayed"));
        assert_eq!(slot(cal, "2026-09-11"), some("1.1.0", "released"));
        assert_eq!(slot(cal, "2026-10-23"), some("1.2.0", "released"));
        assert_eq!(slot(cal, "2026-12-04"), some("1.3.0", "planned"));
        assert_eq!(slot(cal, "2026-12-25"), some("2.0.0", "planned"));
        assert_no_version_twice(cal);
        let filled: Vec<String> = projection.filled.iter().map(|r| r.tag.clone()).collect();
        assert_eq!(filled, ["v1.1.0", "v1.2.0"]);
    }

    #[test]
    fn a_release_fills_the_slot_of_its_cycle_for_good() {
        let cadence = CadenceConfig::default();
        let releases = vec![
            released("1.0.0", date(2026, 12, 1)),
            released("1.1.0", date(2027, 1, 13)),
        ];
        // Made on the Wednesday before the cut, seen that day and a week
        // later: the same slot, the same version.
        for today in [date(2027, 1, 13), date(2027, 1, 20)] {
            let cal = project(&cadence, 2027, &facts(today, releases.clone(), None)).calendar;
            assert_eq!(
                slot(&cal, "2027-01-15"),
                some("1.1.0", "released"),
                "{today}"
            );
            assert_eq!(
                slot(&cal, "2027-01-29"),
                some("1.2.0", "planned"),
                "{today}"
            );
        }
        // A second minor in one cycle fills no slot of its own.
        let mut twice = releases.clone();
        twice.push(released("1.2.0", date(2027, 1, 15)));
        let cal = project(&cadence, 2027, &facts(date(2027, 1, 20), twice, None)).calendar;
        assert_eq!(slot(&cal, "2027-01-15"), some("1.1.0", "released"));
        assert_eq!(slot(&cal, "2027-01-29"), some("1.3.0", "planned"));
        assert_no_version_twice(&cal);
    }

    #[test]
    fn versions_go_up_with_the_dates() {
        // 2025-06-27, the Q2 major, falls in the sprint week of the cycle
        // whose minor releases on 2025-07-04: 1.1.0 came first, then 2.0.0,
        // both in that cycle. The major slot is earlier, so it takes 2.0.0
        // and the minor slot cannot show the lower 1.1.0 after it.
        let cadence = CadenceConfig::default();
        let releases = vec![
            released("1.0.0", date(2025, 6, 2)),
            released("1.1.0", date(2025, 6, 24)),
            released("2.0.0", date(2025, 6, 30)),
        ];
        let cal = project(&cadence, 2025, &facts(date(2025, 12, 1), releases, None)).calendar;
        assert_eq!(slot(&cal, "2025-06-27"), some("2.0.0", "released"));
        assert_eq!(slot(&cal, "2025-07-04"), none("skipped"));
        assert_eq!(slot(&cal, "2025-12-05"), some("2.1.0", "planned"));
    }

    #[test]
    fn majors_fill_major_slots_and_minors_minor_ones() {
        let cadence = CadenceConfig::default();
        let releases = vec![
            released("1.4.0", date(2026, 12, 18)),
            released("2.0.0", date(2027, 3, 24)),
            released("2.1.0", date(2027, 4, 9)),
        ];
        let cal = project(
            &cadence,
            2027,
            &facts(date(2027, 4, 14), releases, Some("2.1.1")),
        );
        let cal = &cal.calendar;
        assert_eq!(slot(cal, "2027-03-26"), some("2.0.0", "released"));
        assert_eq!(slot(cal, "2027-04-09"), some("2.1.0", "released"));
        assert_eq!(slot(cal, "2027-03-12"), none("skipped"));
        assert_eq!(slot(cal, "2027-04-23"), some("2.1.1", "planned"));
        assert_eq!(slot(cal, "2027-05-07"), some("2.2.0", "planned"));
        assert_eq!(slot(cal, "2027-06-25"), some("3.0.0", "planned"));
    }

    #[test]
    fn projected_versions_pass_over_tagged_ones() {
        // 2.0.0 tagged on another line long ago; HEAD is on 1.x.
        let cadence = CadenceConfig::default();
        let mut facts = facts(
            date(2027, 1, 13),
            vec![
                released("2.0.0", date(2025, 5, 1)),
                released("1.5.0", date(2026, 12, 18)),
            ],
            Some("1.6.0"),
        );
        facts.in_effect = Some(v("1.5.0"));
        let cal = project(&cadence, 2027, &facts).calendar;
        assert_eq!(slot(&cal, "2027-01-15"), some("1.6.0", "planned"));
        assert_eq!(slot(&cal, "2027-03-26"), some("3.0.0", "planned"));
        assert_no_version_twice(&cal);
    }

    #[test]
    fn an_rc_tag_makes_an_upcoming_slot_rc() {
        let cadence = CadenceConfig::default();
        let mut facts = facts(
            date(2026, 2, 10),
            vec![released("1.5.0", date(2026, 1, 16))],
            Some("1.7.0"),
        );
        facts.prereleases = vec![v("1.6.0-rc.1"), v("1.7.0-rc.1"), v("1.8.0-beta.1")];
        let cal = project(&cadence, 2026, &facts).calendar;
        // 1.6.0 was cut but never released: the slot passed, skipped.
        assert_eq!(slot(&cal, "2026-01-30"), none("skipped"));
        assert_eq!(slot(&cal, "2026-02-13"), some("1.7.0", "rc"));
        assert_eq!(slot(&cal, "2026-02-27"), some("1.8.0", "planned"));
    }

    #[test]
    fn an_explicit_plan_counts_from_its_version() {
        let cadence = CadenceConfig::default();
        let cal = plan_from(&cadence, 2026, &v("1.4.2"));
        assert_eq!(slot(&cal, "2026-01-02"), some("1.5.0", "planned"));
        assert_eq!(slot(&cal, "2026-01-16"), some("1.6.0", "planned"));
        assert_eq!(slot(&cal, "2026-03-27"), some("2.0.0", "planned"));
        let folded = cal
            .minor_releases
            .iter()
            .find(|m| m.release_date == "2026-03-27")
            .unwrap();
        assert_eq!(
            (folded.version.as_deref(), folded.status.as_str()),
            (None, "skipped")
        );
        assert_eq!(slot(&cal, "2026-04-10"), some("2.1.0", "planned"));
        assert_no_version_twice(&cal);
    }

    #[test]
    fn a_stored_plan_is_reconciled_by_dates() {
        let cadence = CadenceConfig::default();
        let plan = plan_from(&cadence, 2026, &v("1.4.2"));
        // 1.5.0 came out in the cycle of the 2026-01-16 slot, which planned
        // 1.6.0; a 2.0.0 was tagged in May on another line.
        let mut facts = facts(
            date(2026, 2, 10),
            vec![
                released("1.5.0", date(2026, 1, 16)),
                released("2.0.0", date(2025, 5, 1)),
            ],
            Some("1.6.0"),
        );
        facts.prereleases = vec![v("1.8.0-rc.1")];
        let reconciled = reconcile(&cadence, &plan, &facts);
        let cal = &reconciled.calendar;
        assert_eq!(slot(cal, "2026-01-02"), none("skipped"));
        assert_eq!(slot(cal, "2026-01-16"), some("1.5.0", "released"));
        assert_eq!(slot(cal, "2026-01-30"), none("skipped"));
        // Upcoming entries keep the file's versions.
        assert_eq!(slot(cal, "2026-02-13"), some("1.8.0", "rc"));
        assert_eq!(slot(cal, "2026-02-27"), some("1.9.0", "planned"));
        // A tag of the planned version outside the slot's window does not
        // make it released.
        assert_eq!(slot(cal, "2026-03-27"), some("2.0.0", "planned"));
        assert_eq!(reconciled.filled.len(), 1);
        // A user's skip of an upcoming slot stands.
        let mut skipped = plan.clone();
        skipped.minor_releases[4].status = "skipped".into();
        let cal = reconcile(&cadence, &skipped, &facts).calendar;
        assert_eq!(cal.minor_releases[4].status, "skipped");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A linear history: from 1.0.0 on 2025-06-02, each step some days
        /// later with a patch, minor or major bump.
        fn history() -> impl Strategy<Value = Vec<KnownRelease>> {
            proptest::collection::vec((1i64..40, 0u8..10), 0..30).prop_map(|steps| {
                let mut day = date(2025, 6, 2);
                let mut current = v("1.0.0");
                let mut out = vec![released("1.0.0", day)];
                for (gap, kind) in steps {
                    day = add_days(day, gap);
                    let bump = match kind {
                        0..=4 => version::Bump::Patch,
                        5..=8 => version::Bump::Minor,
                        _ => version::Bump::Major,
                    };
                    current = version::bumped(&current, bump);
                    out.push(released(&current.to_string(), day));
                }
                out
            })
        }

        proptest! {
            #[test]
            fn every_view_of_the_projection_agrees(
                history in history(),
                offset in 0i64..900,
                next_bump in 0u8..4,
                year_shift in -1i16..2,
            ) {
                let cadence = CadenceConfig::default();
                let today = add_days(date(2025, 6, 2), offset);
                let known: Vec<KnownRelease> =
                    history.into_iter().filter(|r| r.date <= today).collect();
                let in_effect = known.last().map(|r| r.version.clone());
                let base = in_effect.clone().unwrap_or_else(|| Version::new(0, 0, 0));
                let next = match next_bump {
                    0 => None,
                    1 => Some(version::bumped(&base, version::Bump::Patch)),
                    2 => Some(version::bumped(&base, version::Bump::Minor)),
                    _ => Some(version::bumped(&base, version::Bump::Major)),
                };
                let facts = Facts {
                    today,
                    releases: known.clone(),
                    prereleases: Vec::new(),
                    in_effect: in_effect.clone(),
                    next: next.clone(),
                };
                let year = today.year() + year_shift;
                let cal = project(&cadence, year, &facts).calendar;
                // Reconciling the projection on the same day changes nothing.
                prop_assert_eq!(&reconcile(&cadence, &cal, &facts).calendar, &cal);
                let all = slots(&cal);
                // No version twice.
                let mut versions: Vec<String> = all.iter().filter_map(|s| s.1.clone()).collect();
                let count = versions.len();
                versions.sort();
                versions.dedup();
                prop_assert_eq!(versions.len(), count, "{:#?}", all);
                for (day, version, status) in &all {
                    let day: Date = day.parse().unwrap();
                    let tagged = version
                        .as_ref()
                        .and_then(|text| known.iter().find(|r| r.version.to_string() == *text));
                    match status.as_str() {
                        // Released slots are real tags, made in the slot's
                        // window.
                        "released" => {
                            let release = tagged.expect("a released slot names a tag");
                            let (from, to) = release_window(&cadence, day);
                            prop_assert!(from <= release.date && release.date <= to);
                        }
                        // Slots that made nothing name nothing.
                        "skipped" | "delayed" => prop_assert!(version.is_none()),
                        // Slots to come: a version no tag has, above the
                        // release in effect.
                        _ => {
                            prop_assert!(day >= today);
                            let version = v(version.as_deref().expect("a planned version"));
                            prop_assert!(tagged.is_none(), "{} is tagged", version);
                            if let Some(current) = &in_effect {
                                prop_assert!(version.cmp_precedence(current).is_gt());
                            }
                        }
                    }
                }
                // The first upcoming slot without a release, this year or
                // the next, carries `version next`'s version.
                let mut ahead: Vec<(String, Option<String>, String)> = Vec::new();
                let mut major_days: Vec<String> = Vec::new();
                for y in [today.year(), today.year() + 1] {
                    let cal = project(&cadence, y, &facts).calendar;
                    ahead.extend(slots(&cal));
                    major_days.extend(cal.major_releases.iter().map(|m| m.planned_date.clone()));
                }
                let first = ahead
                    .iter()
                    .find(|s| s.0 >= today.to_string() && (s.2 == "planned" || s.2 == "rc"))
                    .expect("a slot ahead");
                match &next {
                    Some(next) => prop_assert_eq!(first.1.clone(), Some(next.to_string())),
                    None => {
                        let major = major_days.contains(&first.0);
                        let bump = if major { version::Bump::Major } else { version::Bump::Minor };
                        prop_assert_eq!(
                            first.1.clone(),
                            Some(version::bumped(&base, bump).to_string())
                        );
                    }
                }
                // And the document is a valid calendar.
                let text = crate::evidence::render_yaml(&CalendarDocument {
                    release_calendar: cal.clone(),
                })
                .unwrap();
                let report = crate::calendar_validate::validate(
                    &text,
                    std::path::Path::new("projected.yaml"),
                    &cadence,
                )
                .unwrap();
                prop_assert!(report.ok(), "{:?}\n{}", report.problems, text);
            }
        }
    }
}

//! The `cadence` section: cycle length, release weekday, blocked days.

use serde::{Deserialize, Serialize};

use jiff::civil::{Date, Weekday};

use crate::Result;
use crate::bounded::{CycleWeeks, Month};

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
    /// Whether `day` is blocked.
    pub fn contains(&self, day: Date) -> bool {
        match self {
            Blocked::Day(d) => *d == day,
            Blocked::Range { from, to, .. } => *from <= day && day <= *to,
        }
    }

    /// The blocked day or range, as messages name it.
    pub fn describe(&self) -> String {
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

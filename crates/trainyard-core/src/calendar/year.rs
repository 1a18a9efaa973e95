//! A year's release slots and the phase a day is in.

use serde::Serialize;

use jiff::civil::{Date, Weekday};

use super::cadence::add_days;
use super::*;

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

//! The release calendar: when minors, majors and their release-candidate
//! cuts happen, what phase a day is in, the spec's `release_calendar`
//! document, and the one projection that gives a year's slots their
//! versions and statuses ([`project`]; [`reconcile`] for a stored plan).
//!
//! All date arithmetic is on civil dates (`jiff::civil::Date`), so a
//! daylight-saving change never shifts a release day; the time zone only
//! decides which date "now" is.

mod cadence;
mod document;
pub mod ics;
mod projection;
pub mod track;
pub mod validate;
mod year;

#[cfg(test)]
mod tests;

pub use crate::config::cadence::{Blocked, CadenceConfig, Day, OnBlocked};
pub use document::{
    CalendarDocument, Facts, KnownRelease, MajorRelease, MinorRelease, PatchRelease, Projection,
    ReleaseCalendar,
};
pub use projection::{plan_from, project, reconcile, release_window};
pub use year::{MajorSlot, MinorSlot, Phase, YearPlan, phase, plan_year};

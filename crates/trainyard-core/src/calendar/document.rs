//! The spec's `release_calendar` document and the facts a projection reads.

use serde::{Deserialize, Serialize};

use jiff::civil::Date;

use crate::version::Version;

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

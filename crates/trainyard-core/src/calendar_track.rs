//! The release calendar against reality: generating a year's calendar
//! from the cadence and the releases already made, reconciling a calendar
//! with the repository's tags, and finding the next events.

use std::path::PathBuf;

use jiff::civil::Date;
use serde::Serialize;

use crate::calendar::{
    self, CalendarDocument, InEffect, KnownRelease, MinorSlot, PatchRelease, Phase, ReleaseCalendar,
};
use crate::history::{TagScan, VersionTag};
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// A calendar and what shaped it.
#[derive(Debug, Clone, Serialize)]
pub struct CalendarReport {
    /// The spec's `release_calendar` document.
    #[serde(flatten)]
    pub document: CalendarDocument,
    /// Why slots moved or were skipped, by date.
    pub adjustments: Vec<Adjustment>,
    /// Actual release dates, for entries that were released.
    pub actual_dates: Vec<ActualDate>,
}

/// A slot that moved or was skipped, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Adjustment {
    /// The slot's (possibly moved) release date.
    pub release_date: String,
    /// `moved` or `skipped`.
    pub change: String,
    /// Why.
    pub reason: String,
}

/// When a calendar entry was really released (or cut).
#[derive(Debug, Clone, Serialize)]
pub struct ActualDate {
    /// The version.
    pub version: String,
    /// The tag that made it real.
    pub tag: String,
    /// The tag's date.
    pub date: String,
}

/// The repository's stable releases with their dates, and every tag's
/// date, oldest first.
fn dated_tags(ws: &Workspace, tags: &TagScan) -> Result<Vec<(VersionTag, Date)>> {
    let cadence = &ws.config.cadence;
    let tz = cadence.tz()?;
    let mut dated = Vec::with_capacity(tags.versions.len());
    for tag in &tags.versions {
        let seconds = ws.repo.commit_time(tag.id())?;
        let date = jiff::Timestamp::from_second(seconds)
            .map(|t| t.to_zoned_datetime(tz.clone()).date())
            .map_err(|e| Error::Internal(format!("bad commit time on {}: {e}", tag.name)))?;
        dated.push((tag.clone(), date));
    }
    Ok(dated)
}

/// `calendar generate`: the year's calendar, versions projected from the
/// release in effect when the year starts (or `from_version`); slots that
/// releases already filled keep those releases' versions.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a year out of range, and an error when
/// the tags cannot be read.
pub fn generate(
    ws: &Workspace,
    year: i16,
    from_version: Option<&Version>,
) -> Result<CalendarReport> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    project(ws, &tags, year, from_version, None)
}

/// The year's calendar as it looks on `today`: slots before `today` as
/// [`generate`] has them (what the tags say), and the upcoming ones
/// projected from the release in effect now, the latest release tag
/// reachable from `HEAD`, so the next minor is the minor after it and a
/// major the major after it. Without such a release, as [`generate`].
///
/// # Errors
///
/// As [`generate`], and when the history from `HEAD` cannot be read.
pub fn outlook(ws: &Workspace, year: i16, today: Date) -> Result<CalendarReport> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let now = in_effect(ws, &tags)?.map(|version| InEffect { today, version });
    project(ws, &tags, year, None, now.as_ref())
}

/// The latest release reachable from `HEAD`, as `status` finds it: none
/// without a stable tag.
fn in_effect(ws: &Workspace, tags: &TagScan) -> Result<Option<Version>> {
    if !tags.versions.iter().any(|t| version::is_stable(&t.version)) {
        return Ok(None);
    }
    // An unborn branch reaches no release.
    let Ok(head) = ws.repo.resolve("HEAD") else {
        return Ok(None);
    };
    let state = crate::releases::unreleased(&ws.repo, head, tags)?;
    Ok(state.current.map(|t| t.version))
}

fn project(
    ws: &Workspace,
    tags: &TagScan,
    year: i16,
    from_version: Option<&Version>,
    now: Option<&InEffect>,
) -> Result<CalendarReport> {
    if !(1900..=9999).contains(&year) {
        return Err(Error::input(format!(
            "year {year} is out of range: expected 1900 to 9999"
        )));
    }
    let cadence = &ws.config.cadence;
    let dated = dated_tags(ws, tags)?;
    let year_start = jiff::civil::date(year, 1, 1);
    let stable: Vec<&(VersionTag, Date)> = dated
        .iter()
        .filter(|(t, _)| version::is_stable(&t.version))
        .collect();
    let base = match from_version {
        Some(v) => v.clone(),
        None => stable
            .iter()
            .filter(|(_, d)| *d < year_start)
            .map(|(t, _)| t.version.clone())
            .max_by(|a, b| a.cmp_precedence(b))
            .unwrap_or_else(|| Version::new(0, 0, 0)),
    };
    let known: Vec<KnownRelease> = stable
        .iter()
        .filter(|(_, d)| d.year() == year)
        .map(|(t, d)| KnownRelease {
            version: t.version.clone(),
            date: *d,
        })
        .collect();
    let plan = calendar::plan_year(cadence, year);
    let calendar = calendar::calendar_as_of(&plan, cadence, &base, &known, now);
    Ok(CalendarReport {
        document: CalendarDocument {
            release_calendar: calendar,
        },
        adjustments: adjustments(&plan.minors, &plan.majors),
        actual_dates: Vec::new(),
    })
}

fn adjustments(minors: &[MinorSlot], majors: &[calendar::MajorSlot]) -> Vec<Adjustment> {
    let mut out: Vec<Adjustment> = minors
        .iter()
        .filter_map(|m| {
            let (change, reason) = match (&m.skipped, &m.moved) {
                (Some(reason), _) => ("skipped", reason),
                (None, Some(reason)) => ("moved", reason),
                (None, None) => return None,
            };
            Some(Adjustment {
                release_date: m.release_date.to_string(),
                change: change.into(),
                reason: reason.clone(),
            })
        })
        .collect();
    out.extend(majors.iter().filter_map(|m| {
        m.moved.as_ref().map(|reason| Adjustment {
            release_date: m.planned_date.to_string(),
            change: "moved".into(),
            reason: reason.clone(),
        })
    }));
    out.sort_by(|a, b| a.release_date.cmp(&b.release_date));
    out
}

/// Whether the calendar file of `year` holds exactly `text` already (false
/// when there is none).
///
/// # Errors
///
/// Returns an [`Error::Io`] when the file exists but cannot be read.
pub fn file_holds(ws: &Workspace, year: i16, text: &str) -> Result<bool> {
    let path = calendar_path(ws, year);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(bytes == text.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot read", &path, e)),
    }
}

/// The calendar file `generate --write` stores: `release-calendar-YYYY.yaml`
/// at the repository root.
pub fn calendar_path(ws: &Workspace, year: i16) -> PathBuf {
    ws.root.join(format!("release-calendar-{year}.yaml"))
}

/// Reads a calendar file.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the file, line and key when it is not
/// a `release_calendar` document, and an [`Error::Io`] when it cannot be
/// read.
pub fn read(path: &std::path::Path) -> Result<ReleaseCalendar> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let document: CalendarDocument = crate::yaml::parse(&text, path)?;
    Ok(document.release_calendar)
}

/// `calendar status`: the calendar with its statuses taken from the tags.
/// A release tag marks `released`, an `-rc.N` tag `rc`; a planned date
/// that passed without its tag makes a minor `skipped` and a major
/// `delayed`. Patch releases of the year are listed, with `hotfix: true`
/// when their commit is not on the current branch's line.
///
/// # Errors
///
/// As [`generate`].
pub fn status(ws: &Workspace, calendar: &ReleaseCalendar, today: Date) -> Result<CalendarReport> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let dated = dated_tags(ws, &tags)?;
    let find = |version: &str| -> (Option<&(VersionTag, Date)>, bool) {
        let Ok(v) = version::parse(version) else {
            return (None, false);
        };
        let released = dated.iter().find(|(t, _)| t.version == v);
        let rc = dated
            .iter()
            .any(|(t, _)| !version::is_stable(&t.version) && version::release_of(&t.version) == v);
        (released, rc)
    };
    let mut calendar = calendar.clone();
    let mut actual_dates = Vec::new();
    let mut settle = |version: &str, planned: &str, status: &mut String, missed: &str| {
        if status == "skipped" && missed == "skipped" {
            return;
        }
        let (released, rc) = find(version);
        if let Some((tag, date)) = released {
            *status = "released".into();
            actual_dates.push(ActualDate {
                version: version.to_owned(),
                tag: tag.name.clone(),
                date: date.to_string(),
            });
        } else if planned.parse::<Date>().is_ok_and(|d| d < today) {
            *status = missed.into();
        } else if rc {
            *status = "rc".into();
        } else {
            *status = "planned".into();
        }
    };
    for minor in &mut calendar.minor_releases {
        settle(
            &minor.version,
            &minor.release_date,
            &mut minor.status,
            "skipped",
        );
    }
    for major in &mut calendar.major_releases {
        settle(
            &major.version,
            &major.planned_date,
            &mut major.status,
            "delayed",
        );
    }
    let head = ws.repo.resolve("HEAD")?;
    let planned: Vec<String> = calendar
        .minor_releases
        .iter()
        .map(|m| m.version.clone())
        .chain(calendar.major_releases.iter().map(|m| m.version.clone()))
        .collect();
    let mut patches = Vec::new();
    for (tag, date) in &dated {
        let v = &tag.version;
        if date.year() != calendar.year || !version::is_stable(v) || v.patch == 0 {
            continue;
        }
        if planned.contains(&v.to_string()) {
            continue;
        }
        patches.push(PatchRelease {
            version: v.to_string(),
            release_date: date.to_string(),
            hotfix: !ws.repo.is_ancestor(tag.id(), head)?,
        });
    }
    calendar.patch_releases = patches;
    Ok(CalendarReport {
        document: CalendarDocument {
            release_calendar: calendar,
        },
        adjustments: Vec::new(),
        actual_dates,
    })
}

/// An upcoming (or today's) calendar event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `rc_cut`, `minor_release` or `major_release`.
    pub kind: String,
    /// The version it makes.
    pub version: String,
    /// Its date.
    pub date: String,
    /// Days from today (0 = today).
    pub days_until: i32,
}

/// Every event of a calendar, by date, with days from `today`.
pub fn events(calendar: &ReleaseCalendar, today: Date) -> Vec<Event> {
    let days = |d: &str| {
        d.parse::<Date>()
            .ok()
            .and_then(|d| today.until(d).ok())
            .map_or(0, |s| s.get_days())
    };
    let mut out = Vec::new();
    for m in calendar
        .minor_releases
        .iter()
        .filter(|m| m.status != "skipped")
    {
        out.push(Event {
            kind: "rc_cut".into(),
            version: m.version.clone(),
            date: m.rc_date.clone(),
            days_until: days(&m.rc_date),
        });
        out.push(Event {
            kind: "minor_release".into(),
            version: m.version.clone(),
            date: m.release_date.clone(),
            days_until: days(&m.release_date),
        });
    }
    for m in &calendar.major_releases {
        out.push(Event {
            kind: "major_release".into(),
            version: m.version.clone(),
            date: m.planned_date.clone(),
            days_until: days(&m.planned_date),
        });
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.kind.cmp(&b.kind)));
    out
}

/// The status of an event of `calendar`: that of the release it belongs
/// to, found by its kind and date (versions repeat: a skipped minor shows
/// the version of the release after it, a folded one the major's).
pub fn event_status<'a>(calendar: &'a ReleaseCalendar, event: &Event) -> &'a str {
    let active = || {
        calendar
            .minor_releases
            .iter()
            .filter(|m| m.status != "skipped")
    };
    let status = match event.kind.as_str() {
        "rc_cut" => active()
            .find(|m| m.rc_date == event.date)
            .map(|m| m.status.as_str()),
        "minor_release" => active()
            .find(|m| m.release_date == event.date)
            .map(|m| m.status.as_str()),
        _ => calendar
            .major_releases
            .iter()
            .find(|m| m.planned_date == event.date)
            .map(|m| m.status.as_str()),
    };
    status.unwrap_or_default()
}

/// `calendar next`: the next RC cut and the next release from `today` on.
#[derive(Debug, Clone, Serialize)]
pub struct NextEvents {
    /// Today, in the cadence's time zone.
    pub today: String,
    /// Today's phase.
    pub phase: Phase,
    /// The next release-candidate cut.
    pub rc_cut: Option<Event>,
    /// The next release, minor or major.
    pub release: Option<Event>,
}

/// Finds the next RC cut and release, looking into next year when this
/// year has none left; their versions are projected from the release in
/// effect now (see [`outlook`]).
///
/// # Errors
///
/// As [`generate`].
pub fn next(ws: &Workspace, today: Date) -> Result<NextEvents> {
    let mut rc_cut = None;
    let mut release = None;
    for year in [today.year(), today.year() + 1] {
        let report = outlook(ws, year, today)?;
        for event in events(&report.document.release_calendar, today) {
            if event.days_until < 0 {
                continue;
            }
            if event.kind == "rc_cut" {
                rc_cut.get_or_insert(event);
            } else {
                release.get_or_insert(event);
            }
        }
        if rc_cut.is_some() && release.is_some() {
            break;
        }
    }
    Ok(NextEvents {
        today: today.to_string(),
        phase: calendar::phase(&ws.config.cadence, today),
        rc_cut,
        release,
    })
}

/// Reads `--date`: a `YYYY-MM-DD` date, or an RFC 3339 instant converted
/// to its date in the cadence's time zone.
///
/// # Errors
///
/// Returns an [`Error::Input`] quoting the text when it is neither.
pub fn parse_day(ws: &Workspace, text: &str) -> Result<Date> {
    if let Ok(day) = text.parse::<Date>() {
        return Ok(day);
    }
    let instant: jiff::Timestamp = text.parse().map_err(|_| {
        Error::input(format!(
            "invalid date `{text}`: expected YYYY-MM-DD or an RFC 3339 time such as 2026-04-05T09:30:00+12:00"
        ))
    })?;
    ws.config.cadence.date_of(instant)
}

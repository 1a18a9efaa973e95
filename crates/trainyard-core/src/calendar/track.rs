//! The release calendar against reality: the year's calendar projected
//! from the cadence, the tags and `version next` (one projection that every
//! view shares), reconciling a stored calendar with the tags, and finding
//! the next events.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Serialize;

use crate::calendar::{
    self, CalendarDocument, Facts, KnownRelease, MinorSlot, Phase, Projection, ReleaseCalendar,
};
use crate::history::{TagScan, VersionTag};
use crate::version::{self, Version};
use crate::versioning::{self, NextReport, NextRequest};
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

/// Every version tag with its date: its commit's, in the cadence's time
/// zone.
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

/// What the projection needs of the repository on `today`: the dated
/// tags, the release in effect and `version next`'s answer (`known`, when
/// the caller has it already). Patch releases dated in `patch_year` get
/// their `hotfix` flag (whether their commit is off the current branch's
/// line).
fn facts(
    ws: &Workspace,
    today: Date,
    patch_year: Option<i16>,
    known: Option<&NextReport>,
) -> Result<Facts> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let dated = dated_tags(ws, &tags)?;
    // An unborn branch has no release in effect and nothing to release.
    let head = ws.repo.resolve("HEAD").ok();
    let computed;
    let next = match (head, known) {
        (_, Some(known)) => Some(known),
        (Some(_), None) => {
            computed = versioning::next(ws, &NextRequest::default())?;
            Some(&computed)
        }
        (None, None) => None,
    };
    let in_effect = next.and_then(|n| n.current.clone());
    let next = next.and_then(|n| n.next.clone().filter(|_| n.release_needed));
    let mut releases = Vec::new();
    let mut prereleases = Vec::new();
    for (tag, date) in dated {
        if !version::is_stable(&tag.version) {
            prereleases.push(tag.version);
            continue;
        }
        let hotfix = match head {
            Some(head) if tag.version.patch > 0 && Some(date.year()) == patch_year => {
                !ws.repo.is_ancestor(tag.id(), head)?
            }
            _ => false,
        };
        releases.push(KnownRelease {
            version: tag.version,
            tag: tag.name,
            date,
            hotfix,
        });
    }
    Ok(Facts {
        today,
        releases,
        prereleases,
        in_effect,
        next,
    })
}

fn check_year(year: i16) -> Result<()> {
    if (1900..=9999).contains(&year) {
        Ok(())
    } else {
        Err(Error::input(format!(
            "year {year} is out of range: expected 1900 to 9999"
        )))
    }
}

fn report(ws: &Workspace, year: i16, projection: Projection) -> CalendarReport {
    let plan = calendar::plan_year(&ws.config.cadence, year);
    CalendarReport {
        document: CalendarDocument {
            release_calendar: projection.calendar,
        },
        adjustments: adjustments(&plan.minors, &plan.majors),
        actual_dates: actual_dates(&projection.filled),
    }
}

fn actual_dates(filled: &[KnownRelease]) -> Vec<ActualDate> {
    filled
        .iter()
        .map(|r| ActualDate {
            version: r.version.to_string(),
            tag: r.tag.clone(),
            date: r.date.to_string(),
        })
        .collect()
}

/// The year's calendar as it stands on `today`: the one projection that
/// `calendar show`, `next`, `status`, `generate`, `export` and `status`
/// share. Past slots show what the tags say, the first upcoming slot
/// without a release carries `version next`'s version; see
/// [`calendar::project`] for every rule.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a year out of range, and an error when
/// the tags or the history from `HEAD` cannot be read.
pub fn project(ws: &Workspace, year: i16, today: Date) -> Result<CalendarReport> {
    check_year(year)?;
    let facts = facts(ws, today, Some(year), None)?;
    let projection = calendar::project(&ws.config.cadence, year, &facts);
    Ok(report(ws, year, projection))
}

/// `calendar generate`.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// The year.
    pub year: i16,
    /// An explicit plan from this release instead of the projection.
    pub from_version: Option<Version>,
    /// Store the calendar as `release-calendar-YYYY.yaml` and as evidence.
    pub write: bool,
    /// With `write`: change nothing, only say whether writing would.
    pub dry_run: bool,
}

/// What `calendar generate` made, and wrote.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    /// The calendar.
    pub report: CalendarReport,
    /// The document as YAML, as written.
    pub yaml: String,
    /// The calendar file of the year.
    pub path: PathBuf,
    /// The evidence record's path, when the file was written.
    pub evidence: Option<String>,
    /// For a dry run: whether the file already holds exactly `yaml`.
    pub unchanged: Option<bool>,
}

/// `calendar generate`: the year's calendar as [`project`] has it on
/// today, or with `from_version` an explicit plan from that release (see
/// [`calendar::plan_from`]); written to the calendar file and recorded as
/// evidence when asked.
///
/// # Errors
///
/// As [`project`], and the errors of the lock, the file and the evidence
/// store.
pub fn generate(ws: &Workspace, request: &GenerateRequest) -> Result<GenerateReport> {
    let year = request.year;
    let report = match &request.from_version {
        Some(from) => {
            check_year(year)?;
            let calendar = calendar::plan_from(&ws.config.cadence, year, from);
            report(
                ws,
                year,
                Projection {
                    calendar,
                    filled: Vec::new(),
                },
            )
        }
        None => project(ws, year, ws.today()?)?,
    };
    let yaml = crate::evidence::render_yaml(&report.document)?;
    let path = calendar_path(ws, year);
    let mut evidence = None;
    let mut unchanged = None;
    if request.write && request.dry_run {
        unchanged = Some(file_holds(&path, &yaml)?);
    } else if request.write {
        let _lock = ws.lock()?;
        crate::fsutil::write_atomic(&path, yaml.as_bytes())?;
        let name = format!("{year}-{}", ws.stamp());
        let record = ws
            .evidence_store()
            .write_unique("release_calendar", &name, &yaml)?;
        evidence = Some(record.record.path);
    }
    Ok(GenerateReport {
        report,
        yaml,
        path,
        evidence,
        unchanged,
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

/// Whether the file at `path` holds exactly `text` already (false when
/// there is none).
fn file_holds(path: &Path, text: &str) -> Result<bool> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes == text.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot read", path, e)),
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
pub fn read(path: &Path) -> Result<ReleaseCalendar> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let document: CalendarDocument = crate::yaml::parse(&text, path)?;
    Ok(document.release_calendar)
}

/// A stored calendar with its statuses taken from the tags, entries
/// matched by their dates (see [`calendar::reconcile`]): what
/// `calendar status FILE` shows and `release post` writes back.
///
/// # Errors
///
/// Returns an error when the tags or the history cannot be read.
pub fn reconcile(
    ws: &Workspace,
    calendar: &ReleaseCalendar,
    today: Date,
) -> Result<CalendarReport> {
    let facts = facts(ws, today, Some(calendar.year), None)?;
    let projection = calendar::reconcile(&ws.config.cadence, calendar, &facts);
    Ok(CalendarReport {
        document: CalendarDocument {
            release_calendar: projection.calendar,
        },
        adjustments: Vec::new(),
        actual_dates: actual_dates(&projection.filled),
    })
}

/// `calendar status [FILE]`: `file`, else this year's calendar file when
/// there is one, reconciled with the tags ([`reconcile`]); without either,
/// this year's [`project`]ion.
///
/// # Errors
///
/// As [`read`] and [`reconcile`].
pub fn status(ws: &Workspace, file: Option<&Path>, today: Date) -> Result<CalendarReport> {
    let default = calendar_path(ws, today.year());
    let path = file.or_else(|| default.exists().then_some(default.as_path()));
    match path {
        Some(path) => reconcile(ws, &read(path)?, today),
        None => project(ws, today.year(), today),
    }
}

/// An RC cut or a release of the calendar.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `rc_cut`, `minor_release` or `major_release`.
    pub kind: String,
    /// The version it makes; `null` for a major that passed without one.
    pub version: Option<String>,
    /// Its date.
    pub date: String,
    /// Days from today (0 = today, negative for past events).
    pub days_until: i32,
    /// The status of its release: `planned`, `rc`, `released` or
    /// `delayed`.
    pub status: String,
}

/// Every event of a calendar, by date, with days from `today`; skipped
/// minors have none.
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
        for (kind, date) in [("rc_cut", &m.rc_date), ("minor_release", &m.release_date)] {
            out.push(Event {
                kind: kind.into(),
                version: m.version.clone(),
                date: date.clone(),
                days_until: days(date),
                status: m.status.clone(),
            });
        }
    }
    for m in &calendar.major_releases {
        out.push(Event {
            kind: "major_release".into(),
            version: m.version.clone(),
            date: m.planned_date.clone(),
            days_until: days(&m.planned_date),
            status: m.status.clone(),
        });
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.kind.cmp(&b.kind)));
    out
}

/// `calendar show`: a year's events.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    /// The year.
    pub year: i16,
    /// Today, in the cadence's time zone.
    pub today: String,
    /// Every RC cut and release of the year's [`project`]ion, by date.
    pub events: Vec<Event>,
}

/// `calendar show`: the events of `year` as [`project`] has them.
///
/// # Errors
///
/// As [`project`].
pub fn show(ws: &Workspace, year: i16, today: Date) -> Result<ShowReport> {
    let report = project(ws, year, today)?;
    Ok(ShowReport {
        year,
        today: today.to_string(),
        events: events(&report.document.release_calendar, today),
    })
}

/// `calendar next`: the next RC cut and the next release from `today` on.
#[derive(Debug, Clone, Serialize)]
pub struct NextEvents {
    /// Today, in the cadence's time zone.
    pub today: String,
    /// Today's phase.
    pub phase: Phase,
    /// The next release-candidate cut still to make.
    pub rc_cut: Option<Event>,
    /// The next release still to make, minor or major: the first upcoming
    /// slot without a release, which carries `version next`'s version.
    pub release: Option<Event>,
}

/// Finds the next RC cut and release of the [`project`]ion, from today on,
/// looking into next year when this year has none left. Releases already
/// made (a slot `released` today) and cuts already made (`rc`) are not
/// next.
///
/// # Errors
///
/// As [`project`].
pub fn next(ws: &Workspace, today: Date) -> Result<NextEvents> {
    Ok(next_events(ws, &facts(ws, today, None, None)?))
}

/// [`next`], with `version next`'s answer already at hand (`status` has
/// it).
///
/// # Errors
///
/// As [`next`].
pub fn next_given(ws: &Workspace, today: Date, known: &NextReport) -> Result<NextEvents> {
    Ok(next_events(ws, &facts(ws, today, None, Some(known))?))
}

fn next_events(ws: &Workspace, facts: &Facts) -> NextEvents {
    let today = facts.today;
    let mut rc_cut = None;
    let mut release = None;
    for year in [today.year(), today.year() + 1] {
        let projection = calendar::project(&ws.config.cadence, year, facts);
        for event in events(&projection.calendar, today) {
            if event.days_until < 0 || event.status == "released" {
                continue;
            }
            if event.kind == "rc_cut" {
                if event.status != "rc" {
                    rc_cut.get_or_insert(event);
                }
            } else {
                release.get_or_insert(event);
            }
        }
        if rc_cut.is_some() && release.is_some() {
            break;
        }
    }
    NextEvents {
        today: today.to_string(),
        phase: calendar::phase(&ws.config.cadence, today),
        rc_cut,
        release,
    }
}

/// `calendar export --format ics`: the year's [`project`]ion as an
/// iCalendar feed, named after the repository's directory.
///
/// # Errors
///
/// As [`project`].
pub fn export_ics(ws: &Workspace, year: i16) -> Result<String> {
    let report = project(ws, year, ws.today()?)?;
    let project = ws.root.file_name().map_or_else(
        || "project".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(crate::calendar::ics::to_ics(
        &report.document.release_calendar,
        &crate::calendar::ics::IcsOptions {
            project,
            tag_prefix: ws.config.versioning.tag_prefix.clone(),
            stamp: ws.now,
        },
    ))
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

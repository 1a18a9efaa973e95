//! Scheduled syncs: the spec's `schedule` triggers.
//!
//! A `cron` sync is due when one of its scheduled times falls after the
//! window it last ran for and at or before now, read in its time zone (the
//! schedule's `timezone`, else the cadence's): however many windows were
//! missed, it runs once, for the latest. A sync that never ran is due for
//! its latest scheduled time. An `on_release` sync is due for a release it
//! has not run for, unless that version was rolled back. `manual` syncs
//! never are.
//!
//! What ran is kept per sync in
//! `<evidence dir>/sync-state/<sync id>/schedule.json`, written atomically
//! and only once an outcome is settled, so that a crash runs a window again
//! at most once. A sync that needs approval gets one plan per window,
//! recorded as pending; later runs apply it once an approval of it is
//! recorded, or say that it waits. A target another apply holds is
//! reported as busy and tried again on the next run.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use croner::errors::CronError;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use super::config::{LoadedSync, Schedule, Trigger};
use super::engine;
use super::record::{Approval, SyncPlan};
use crate::fsutil::RunLock;
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

/// A zoned time as croner searches it (croner's own support is for an
/// older jiff).
#[derive(Debug, Clone)]
struct Zoned(ZonedDateTime);

fn small(n: i8) -> u32 {
    u32::from(n.unsigned_abs())
}

impl croner::CronDateTime for Zoned {
    fn to_civil(&self) -> croner::CivilDateTime {
        let dt = self.0.datetime();
        croner::CivilDateTime::new(
            croner::CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                small(dt.month()),
                small(dt.day()),
            ),
            croner::CivilTime::from_parts_unchecked(
                small(dt.hour()),
                small(dt.minute()),
                small(dt.second()),
            ),
        )
    }

    fn civil_weekday(&self) -> croner::Weekday {
        croner::Weekday::from_days_from_sunday(small(self.0.weekday().to_sunday_zero_offset()))
    }

    fn resolve_civil(
        &self,
        civil: croner::CivilDateTime,
    ) -> std::result::Result<croner::Resolution<Self>, CronError> {
        let part = |n: u32| i8::try_from(n).map_err(|_| CronError::InvalidDate);
        let datetime = jiff::civil::DateTime::new(
            i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?,
            part(civil.month())?,
            part(civil.day())?,
            part(civil.hour())?,
            part(civil.minute())?,
            part(civil.second())?,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(datetime);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => croner::Resolution::Single(Zoned(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => croner::Resolution::Ambiguous(
                Zoned(
                    ambiguous
                        .clone()
                        .earlier()
                        .map_err(|_| CronError::InvalidTime)?,
                ),
                Zoned(ambiguous.later().map_err(|_| CronError::InvalidTime)?),
            ),
            AmbiguousOffset::Gap { .. } => croner::Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Zoned)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

/// What the scheduler remembers of one sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleState {
    /// The latest cron window whose outcome is settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_window: Option<Timestamp>,
    /// The last release whose outcome is settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_release: Option<String>,
    /// A release whose sync found the target busy: it is tried again on
    /// the next run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owed_release: Option<String>,
    /// A plan made for a window or release that needs approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// A plan the scheduler made and has not settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The plan's full id.
    pub plan_id: String,
    /// When it was made.
    pub planned_at: Timestamp,
    /// The cron window it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Timestamp>,
    /// The release it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

fn evidence_dir(ws: &Workspace) -> PathBuf {
    ws.home.join(&ws.config.evidence.dir)
}

fn state_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    evidence_dir(ws).join("sync-state").join(sync_id)
}

fn shown(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(&ws.home)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The schedule state of a sync (empty when it never ran).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the file when it is unreadable JSON,
/// and [`Error::Io`] when it cannot be read.
pub fn load_state(ws: &Workspace, sync_id: &str) -> Result<ScheduleState> {
    let path = state_dir(ws, sync_id).join("schedule.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::input(format!(
                "{}: {e}: fix or remove it (the sync then counts as never run)",
                shown(ws, &path)
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ScheduleState::default()),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

fn save_state(ws: &Workspace, sync_id: &str, state: &ScheduleState) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(state)
        .map_err(|e| Error::Internal(format!("cannot encode the schedule state: {e}")))?;
    text.push(b'\n');
    crate::fsutil::write_atomic(&state_dir(ws, sync_id).join("schedule.json"), &text)
}

/// A sync that is due, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    /// The sync.
    pub sync_id: String,
    /// Its trigger.
    pub trigger: Trigger,
    /// Why it is due.
    pub why: String,
    /// The cron window it runs for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Timestamp>,
    /// The release it runs for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The plan made earlier that waits for its approval (or application).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_plan: Option<String>,
}

/// Whether an `on_release` sync runs for a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReleaseCall {
    /// It runs.
    Due,
    /// It already ran for this release.
    AlreadyRan,
    /// The release was rolled back.
    Withdrawn,
}

fn same_version(a: &str, b: &str) -> bool {
    a.trim_start_matches('v') == b.trim_start_matches('v')
}

fn release_call(state: &ScheduleState, version: &str, withdrawn: &[String]) -> ReleaseCall {
    if withdrawn.iter().any(|w| same_version(w, version)) {
        ReleaseCall::Withdrawn
    } else if state
        .last_release
        .as_deref()
        .is_some_and(|l| same_version(l, version))
    {
        ReleaseCall::AlreadyRan
    } else {
        ReleaseCall::Due
    }
}

/// Where one sync stands at `at`.
enum Assessment {
    Due(Due),
    Skipped(String),
    NotDue,
}

/// The versions rolled back, read once per call and only when needed.
struct Withdrawn<'a> {
    ws: &'a Workspace,
    versions: Option<Vec<String>>,
}

impl Withdrawn<'_> {
    fn get(&mut self) -> Result<&[String]> {
        if self.versions.is_none() {
            self.versions = Some(crate::ledger::withdrawn(self.ws)?);
        }
        Ok(self.versions.as_deref().unwrap_or_default())
    }
}

fn pending_what(ws: &Workspace, sync: &LoadedSync, pending: &Pending) -> String {
    match (&pending.window, &pending.release) {
        (_, Some(release)) => format!("release {release}"),
        (Some(window), None) => match CronSchedule::of(ws, sync) {
            Ok(schedule) => format!("the window {}", schedule.local(*window)),
            Err(_) => format!("the window {window}"),
        },
        (None, None) => "a scheduled run".into(),
    }
}

fn assess(
    ws: &Workspace,
    sync: &LoadedSync,
    state: &ScheduleState,
    at: Timestamp,
    on_release: Option<&str>,
    withdrawn: &mut Withdrawn<'_>,
) -> Result<Assessment> {
    let c = &sync.config;
    let due = |why: String, window: Option<Timestamp>, release: Option<String>| {
        Assessment::Due(Due {
            sync_id: c.sync_id.clone(),
            trigger: c.schedule.trigger,
            why,
            window,
            release,
            pending_plan: None,
        })
    };
    if let Some(pending) = &state.pending {
        return Ok(Assessment::Due(Due {
            sync_id: c.sync_id.clone(),
            trigger: c.schedule.trigger,
            why: format!(
                "plan {} for {} is pending: the scheduler applies it once approved",
                short(&pending.plan_id),
                pending_what(ws, sync, pending)
            ),
            window: pending.window,
            release: pending.release.clone(),
            pending_plan: Some(pending.plan_id.clone()),
        }));
    }
    match c.schedule.trigger {
        Trigger::Manual => Ok(Assessment::NotDue),
        Trigger::Cron => {
            let schedule = CronSchedule::of(ws, sync)?;
            let Some(window) = schedule.window(state.last_window, at) else {
                return Ok(Assessment::NotDue);
            };
            let since = match (state.last_window, window.missed) {
                (None, _) => ", never run before".to_owned(),
                (Some(_), 1) => String::new(),
                (Some(_), n) if n >= MISSED_LIMIT => {
                    format!(", {n}+ windows missed since the last run: runs once")
                }
                (Some(_), n) => format!(", {n} windows missed since the last run: runs once"),
            };
            Ok(due(
                format!(
                    "cron `{}` ({}): scheduled {}{since}",
                    schedule.expression(),
                    schedule.zone(),
                    schedule.local(window.latest)
                ),
                Some(window.latest),
                None,
            ))
        }
        Trigger::OnRelease => {
            let Some(version) = on_release.or(state.owed_release.as_deref()) else {
                return Ok(Assessment::NotDue);
            };
            Ok(match release_call(state, version, withdrawn.get()?) {
                ReleaseCall::Due => due(
                    format!("on_release: release {version}"),
                    None,
                    Some(version.to_owned()),
                ),
                ReleaseCall::AlreadyRan => {
                    Assessment::Skipped(format!("it already ran for release {version}"))
                }
                ReleaseCall::Withdrawn => Assessment::Skipped(format!(
                    "{version} was rolled back: automation does not deploy it again until a newer release supersedes it"
                )),
            })
        }
    }
}

/// The syncs due at `at`, and why: `cron` syncs with a scheduled time
/// since their last run, `on_release` syncs for the release `on_release`
/// (unless it was rolled back or they already ran for it), and any sync
/// with a plan the scheduler made that waits for approval. Changes
/// nothing.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a malformed sync file or schedule state,
/// and the errors of reading rollbacks and releases.
pub fn due(ws: &Workspace, at: Timestamp, on_release: Option<&str>) -> Result<Vec<Due>> {
    let mut withdrawn = Withdrawn { ws, versions: None };
    let mut out = Vec::new();
    for sync in engine::load_all(ws)? {
        let state = load_state(ws, &sync.config.sync_id)?;
        if let Assessment::Due(due) = assess(ws, &sync, &state, at, on_release, &mut withdrawn)? {
            out.push(due);
        }
    }
    Ok(out)
}

/// What the scheduler did with a due sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Applied (planned, approved and applied, verified).
    Applied,
    /// Nothing to change.
    InSync,
    /// Planned; the plan needs an approval.
    Planned,
    /// A plan made earlier still waits for its approval.
    Waiting,
    /// The plan was rejected.
    Rejected,
    /// The plan expired before it was approved.
    Expired,
    /// Another apply holds the target: tried again on the next run.
    Busy,
    /// Not run (a rolled-back release, or already run for it).
    Skipped,
    /// Planning or applying failed.
    Failed,
}

impl Status {
    /// The status in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::InSync => "in sync",
            Status::Planned => "planned",
            Status::Waiting => "waiting",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Busy => "busy",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    /// Whether the window or release is done with: anything but a plan
    /// that waits and a busy target.
    pub fn is_settled(self) -> bool {
        !matches!(self, Status::Planned | Status::Waiting | Status::Busy)
    }
}

/// One outcome of [`run_due`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueOutcome {
    /// The sync.
    pub sync_id: String,
    /// What happened.
    pub status: Status,
    /// Why the sync was due (or skipped).
    pub why: String,
    /// What happened, in words: counts and log, the plan to approve, the
    /// error.
    pub detail: String,
    /// The plan concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// The sync log written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_ref: Option<String>,
}

impl std::fmt::Display for DueOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {} ({})",
            self.sync_id,
            self.status.as_str(),
            self.detail,
            self.why
        )
    }
}

fn short(plan_id: &str) -> &str {
    &plan_id[..plan_id.len().min(super::record::SHORT_ID_LEN)]
}

/// Runs what is due at `at`: for each due sync that needs no approval,
/// `sync run`; for one that does, a plan per window or release, recorded
/// as pending and applied on a later call once an approval of it is
/// recorded. A window or release is recorded as run only once its outcome
/// is settled.
///
/// # Errors
///
/// Returns the errors of loading the syncs and reading or writing the
/// schedule state; a sync that fails to plan or apply is an outcome.
pub fn run_due(ws: &Workspace, at: Timestamp, on_release: Option<&str>) -> Result<Vec<DueOutcome>> {
    run_selected(ws, at, on_release, None, None, &|| false)
}

/// [`run_due`], asking `stop` before each sync: once it says yes, the
/// syncs not yet run are left due for the next call.
///
/// # Errors
///
/// As [`run_due`].
pub fn run_due_until(
    ws: &Workspace,
    at: Timestamp,
    on_release: Option<&str>,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<DueOutcome>> {
    run_selected(ws, at, on_release, None, None, stop)
}

/// [`run_due`] for the `on_release` syncs only, for the release `version`
/// published at `at` (`release post`).
///
/// # Errors
///
/// As [`run_due`].
pub fn run_on_release(ws: &Workspace, at: Timestamp, version: &str) -> Result<Vec<DueOutcome>> {
    run_selected(
        ws,
        at,
        Some(version),
        Some(Trigger::OnRelease),
        None,
        &|| false,
    )
}

/// Runs one `on_release` sync for `version`: the one a release plan named.
///
/// # Errors
///
/// As [`run_due`].
pub fn run_one_on_release(
    ws: &Workspace,
    at: Timestamp,
    version: &str,
    sync_id: &str,
) -> Result<Vec<DueOutcome>> {
    run_selected(
        ws,
        at,
        Some(version),
        Some(Trigger::OnRelease),
        Some(sync_id),
        &|| false,
    )
}

fn run_selected(
    ws: &Workspace,
    at: Timestamp,
    on_release: Option<&str>,
    only: Option<Trigger>,
    only_sync: Option<&str>,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<DueOutcome>> {
    let mut withdrawn = Withdrawn { ws, versions: None };
    let mut out = Vec::new();
    for sync in engine::load_all(ws)? {
        if stop() {
            break;
        }
        if only_sync.is_some_and(|id| id != sync.config.sync_id) {
            continue;
        }
        let trigger = sync.config.schedule.trigger;
        if only.is_some_and(|t| t != trigger) {
            continue;
        }
        let id = &sync.config.sync_id;
        let dir = state_dir(ws, id);
        if trigger == Trigger::Manual && !dir.join("schedule.json").exists() {
            continue;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        // One scheduler at a time per sync: a second daemon skips it.
        let _guard = match RunLock::acquire(&dir.join("schedule.lock")) {
            Ok(guard) => guard,
            Err(Error::Environment(_)) => {
                out.push(DueOutcome {
                    sync_id: id.clone(),
                    status: Status::Busy,
                    why: "scheduled".into(),
                    detail: "another scheduler is running this sync".into(),
                    plan_id: None,
                    log_ref: None,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut state = load_state(ws, id)?;
        if let Some(pending) = state.pending.clone() {
            let outcome = settle(ws, &sync, &pending)?;
            let settled = outcome.status.is_settled();
            out.push(outcome);
            if !settled {
                continue;
            }
            state.pending = None;
            mark_run(&mut state, pending.window, pending.release.as_deref());
            save_state(ws, id, &state)?;
        }
        match assess(ws, &sync, &state, at, on_release, &mut withdrawn)? {
            Assessment::NotDue => {}
            Assessment::Skipped(why) => out.push(DueOutcome {
                sync_id: id.clone(),
                status: Status::Skipped,
                why: format!("on_release: {why}"),
                detail: "not run".into(),
                plan_id: None,
                log_ref: None,
            }),
            Assessment::Due(due) => {
                let outcome = run_one(ws, &sync, &due, &mut state)?;
                if outcome.status.is_settled() {
                    mark_run(&mut state, due.window, due.release.as_deref());
                } else if outcome.status == Status::Busy
                    && let Some(release) = &due.release
                {
                    state.owed_release = Some(release.clone());
                }
                save_state(ws, id, &state)?;
                out.push(outcome);
            }
        }
    }
    Ok(out)
}

fn mark_run(state: &mut ScheduleState, window: Option<Timestamp>, release: Option<&str>) {
    if let Some(window) = window {
        state.last_window = Some(state.last_window.map_or(window, |l| l.max(window)));
    }
    if let Some(release) = release {
        // A release owed from a busy target is settled too, or superseded.
        state.last_release = Some(release.to_owned());
        state.owed_release = None;
    }
}

/// Runs one due sync; records a new plan as pending in `state`.
fn run_one(
    ws: &Workspace,
    sync: &LoadedSync,
    due: &Due,
    state: &mut ScheduleState,
) -> Result<DueOutcome> {
    let id = &sync.config.sync_id;
    let outcome = |status, detail: String| DueOutcome {
        sync_id: id.clone(),
        status,
        why: due.why.clone(),
        detail,
        plan_id: None,
        log_ref: None,
    };
    if let Some(busy) = target_busy(ws, id) {
        return Ok(outcome(Status::Busy, busy));
    }
    if !sync.config.options.approval_required {
        return Ok(match engine::run(ws, id) {
            Ok((plan, Some(applied))) => DueOutcome {
                plan_id: Some(plan.plan.plan_id.clone()),
                log_ref: Some(applied.log_ref.clone()),
                ..outcome(Status::Applied, applied_detail(&applied))
            },
            Ok((plan, None)) => DueOutcome {
                plan_id: Some(plan.plan.plan_id.clone()),
                ..outcome(Status::InSync, "no changes".into())
            },
            Err(e) if is_busy(&e) => outcome(Status::Busy, e.to_string()),
            Err(e) => outcome(Status::Failed, e.to_string()),
        });
    }
    let report = match engine::plan(ws, id, false) {
        Ok(report) => report,
        Err(e) => return Ok(outcome(Status::Failed, e.to_string())),
    };
    let plan = &report.plan;
    if plan.plan.result.total_changes == 0 {
        return Ok(DueOutcome {
            plan_id: Some(plan.plan_id.clone()),
            ..outcome(Status::InSync, "no changes".into())
        });
    }
    state.pending = Some(Pending {
        plan_id: plan.plan_id.clone(),
        planned_at: ws.now,
        window: due.window,
        release: due.release.clone(),
    });
    Ok(DueOutcome {
        plan_id: Some(plan.plan_id.clone()),
        ..outcome(
            Status::Planned,
            format!(
                "plan {} ({}) needs an approval: run `trainyard sync approve {}`",
                plan.short_id(),
                plan.plan.diff_summary,
                plan.short_id()
            ),
        )
    })
}

/// Settles a pending plan when it can: applies it once approved, and
/// reports a rejection, an expiry or an apply made by hand.
fn settle(ws: &Workspace, sync: &LoadedSync, pending: &Pending) -> Result<DueOutcome> {
    let id = &sync.config.sync_id;
    let short_id = short(&pending.plan_id).to_owned();
    let outcome = |status, detail: String| DueOutcome {
        sync_id: id.clone(),
        status,
        why: format!("plan {short_id} for {}", pending_what(ws, sync, pending)),
        detail,
        plan_id: Some(pending.plan_id.clone()),
        log_ref: None,
    };
    let plan = match engine::find_plan(ws, &pending.plan_id) {
        Ok((plan, _)) => plan,
        Err(e) => return Ok(outcome(Status::Failed, e.to_string())),
    };
    if let Some(log_ref) = engine::applied_log(ws, &plan)? {
        return Ok(DueOutcome {
            log_ref: Some(log_ref.clone()),
            ..outcome(
                Status::Applied,
                format!("applied outside the scheduler (log {log_ref})"),
            )
        });
    }
    let approvals = approvals(ws, &plan)?;
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Ok(outcome(
            Status::Rejected,
            format!(
                "rejected by {}{}",
                rejected.approved_by,
                rejected
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ));
    }
    if approvals.iter().any(|a| a.approved) {
        if let Some(busy) = target_busy(ws, id) {
            return Ok(outcome(Status::Busy, busy));
        }
        return Ok(match engine::apply_plan(ws, &plan.plan_id, None) {
            Ok(applied) => DueOutcome {
                log_ref: Some(applied.log_ref.clone()),
                ..outcome(Status::Applied, applied_detail(&applied))
            },
            Err(e) if is_busy(&e) => outcome(Status::Busy, e.to_string()),
            Err(e) => outcome(Status::Failed, e.to_string()),
        });
    }
    if let Ok(expires) = plan.plan.expires_at.parse::<Timestamp>()
        && ws.expiry_clock() > expires
    {
        return Ok(outcome(
            Status::Expired,
            format!("expired at {expires} without an approval: the next window plans again"),
        ));
    }
    Ok(outcome(
        Status::Waiting,
        format!("still needs an approval: run `trainyard sync approve {short_id}`"),
    ))
}

fn applied_detail(applied: &engine::ApplyReport) -> String {
    let c = &applied.log.execution.changes_applied;
    format!(
        "+{} ~{} -{}, log {}",
        c.added, c.modified, c.deleted, applied.log_ref
    )
}

/// Who holds the sync's target lock, when an apply would be refused by
/// it now.
fn target_busy(ws: &Workspace, sync_id: &str) -> Option<String> {
    let held = engine::target_busy(ws, sync_id).ok().flatten()?;
    Some(format!("{held}; tried again on the next run"))
}

/// Whether an apply was refused because another run holds the target (or
/// left its lock behind).
fn is_busy(error: &Error) -> bool {
    matches!(error, Error::Locked(_))
}

/// The approvals and rejections recorded for `plan`.
fn approvals(ws: &Workspace, plan: &SyncPlan) -> Result<Vec<Approval>> {
    engine::approvals(ws, &plan.plan_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_a_held_lock_by_its_type_not_by_its_words() {
        let info = super::super::lock::LockInfo {
            id: "0123456789abcdef".into(),
            target: "/srv/site".into(),
            owner: "ops@example.org".into(),
            plan_id: "feedface".into(),
            acquired_at: at("2027-01-13T09:55:00Z"),
            expires_at: at("2027-01-13T10:55:00Z"),
            pid: 1,
            action: super::super::lock::LockAction::Apply,
            sync_id: "nightly".into(),
            repository: None,
            journal: None,
        };
        let held = Error::Locked(Box::new(super::super::lock::LockHeld {
            info,
            path: "/srv/.site.trainyard-lock".into(),
            running: true,
            expired: false,
            hint: "try again once it has finished".into(),
        }));
        assert!(is_busy(&held));
        // Other failures that happen to say "is locked by" are not.
        let store = Error::environment(
            "evidence store /repo/.trainyard/evidence is locked by another trainyard run",
        );
        assert!(!is_busy(&store));
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    /// Steps through `[from, to)` every five minutes as a scheduler would,
    /// recording each window run; returns the runs.
    fn simulate(
        schedule: &CronSchedule,
        mut last: Option<Timestamp>,
        from: &str,
        to: &str,
    ) -> Vec<Timestamp> {
        let (mut now, end) = (at(from), at(to));
        let mut runs = Vec::new();
        while now < end {
            if let Some(window) = schedule.window(last, now) {
                runs.push(window.latest);
                last = Some(window.latest);
            }
            now = now
                .checked_add(SignedDuration::from_mins(5))
                .expect("in range");
        }
        runs
    }

    #[test]
    fn a_daily_job_in_the_spring_forward_gap_runs_once_that_day() {
        // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
        let schedule = CronSchedule::new("30 2 * * *", "Europe/Berlin").expect("schedule");
        let saturday = at("2026-03-28T01:30:00Z"); // 02:30 CET
        let runs = simulate(
            &schedule,
            Some(saturday),
            "2026-03-28T02:00:00Z",
            "2026-03-30T01:00:00Z",
        );
        let days: Vec<String> = runs
            .iter()
            .map(|r| schedule.local(*r).date().to_string())
            .collect();
        assert_eq!(days, ["2026-03-29", "2026-03-30"], "{runs:?}");
        // The missing 02:30 runs right after the gap, at 03:00 CEST.
        assert_eq!(runs[0], at("2026-03-29T01:00:00Z"));
        assert_eq!(runs[1], at("2026-03-30T00:30:00Z")); // 02:30 CEST
        // Searching backwards finds the same run.
        let window = schedule.window(None, at("2026-03-29T02:00:00Z"));
        assert_eq!(window.map(|w| w.latest), Some(runs[0]));
    }

    #[test]
    fn a_daily_job_in_the_fall_back_overlap_runs_once_that_day() {
        // Europe/Berlin repeats 02:00-03:00 on 2026-10-25.
        let schedule = CronSchedule::new("30 2 * * *", "Europe/Berlin").expect("schedule");
        let saturday = at("2026-10-24T00:30:00Z"); // 02:30 CEST
        let runs = simulate(
            &schedule,
            Some(saturday),
            "2026-10-24T01:00:00Z",
            "2026-10-26T02:00:00Z",
        );
        let days: Vec<String> = runs
            .iter()
            .map(|r| schedule.local(*r).date().to_string())
            .collect();
        assert_eq!(days, ["2026-10-25", "2026-10-26"], "{runs:?}");
        // The first 02:30 (CEST), not the repeated one (CET).
        assert_eq!(runs[0], at("2026-10-25T00:30:00Z"));
        assert_eq!(runs[1], at("2026-10-26T01:30:00Z")); // 02:30 CET
        // Searching backwards from the repeated hour finds the same run.
        let window = schedule.window(None, at("2026-10-25T01:45:00Z"));
        assert_eq!(window.map(|w| w.latest), Some(runs[0]));
    }

    #[test]
    fn the_time_zone_decides_the_wall_clock() {
        let utc = CronSchedule::new("0 9 * * *", "UTC").expect("utc");
        let tokyo = CronSchedule::new("0 9 * * *", "Asia/Tokyo").expect("tokyo");
        let now = at("2027-01-13T10:00:00Z");
        assert_eq!(utc.latest_until(now), Some(at("2027-01-13T09:00:00Z")));
        assert_eq!(tokyo.latest_until(now), Some(at("2027-01-13T00:00:00Z")));
    }

    #[test]
    fn missed_windows_after_downtime_run_once() {
        let hourly = CronSchedule::new("0 * * * *", "UTC").expect("schedule");
        let last = at("2027-01-10T00:00:00Z");
        let now = at("2027-01-13T10:20:00Z");
        let window = hourly.window(Some(last), now).expect("due");
        assert_eq!(window.first, at("2027-01-10T01:00:00Z"));
        assert_eq!(window.latest, at("2027-01-13T10:00:00Z"));
        assert_eq!(window.missed, 3 * 24 + 10);
        // Once run, nothing more is due until the next hour.
        assert_eq!(hourly.window(Some(window.latest), now), None);
        assert_eq!(
            hourly.window(Some(window.latest), at("2027-01-13T10:59:59Z")),
            None
        );
        assert!(
            hourly
                .window(Some(window.latest), at("2027-01-13T11:00:00Z"))
                .is_some()
        );
        // Every second for a week: counted up to the limit, still once.
        let busy = CronSchedule::new("* * * * * *", "UTC").expect("seconds");
        let window = busy
            .window(Some(at("2027-01-06T10:20:00Z")), now)
            .expect("due");
        assert_eq!(window.missed, MISSED_LIMIT);
        assert_eq!(window.latest, now);
    }

    #[test]
    fn a_sync_that_never_ran_is_due_for_its_latest_window() {
        let daily = CronSchedule::new("0 3 * * *", "UTC").expect("schedule");
        let window = daily.window(None, at("2027-01-13T10:00:00Z")).expect("due");
        assert_eq!(window.latest, at("2027-01-13T03:00:00Z"));
        assert_eq!(window.missed, 1);
    }

    #[test]
    fn on_release_skips_a_withdrawn_version_and_one_already_synced() {
        let state = ScheduleState {
            last_release: Some("1.1.0".into()),
            ..ScheduleState::default()
        };
        let withdrawn = vec!["1.2.0".to_owned()];
        assert_eq!(
            release_call(&state, "1.2.0", &withdrawn),
            ReleaseCall::Withdrawn
        );
        assert_eq!(
            release_call(&state, "v1.2.0", &withdrawn),
            ReleaseCall::Withdrawn
        );
        assert_eq!(
            release_call(&state, "1.1.0", &withdrawn),
            ReleaseCall::AlreadyRan
        );
        assert_eq!(release_call(&state, "1.3.0", &withdrawn), ReleaseCall::Due);
    }

    #[test]
    fn settling_records_the_latest_window_and_the_release() {
        let mut state = ScheduleState {
            last_window: Some(at("2027-01-13T10:00:00Z")),
            owed_release: Some("1.2.0".into()),
            ..ScheduleState::default()
        };
        mark_run(&mut state, Some(at("2027-01-13T09:00:00Z")), Some("1.2.0"));
        assert_eq!(state.last_window, Some(at("2027-01-13T10:00:00Z")));
        assert_eq!(state.last_release.as_deref(), Some("1.2.0"));
        assert_eq!(state.owed_release, None);
    }

    #[test]
    fn schedules_are_checked() {
        let cron = |expression: &str, zone: Option<&str>| {
            check(&Schedule {
                trigger: Trigger::Cron,
                cron: Some(expression.into()),
                timezone: zone.map(str::to_owned),
            })
        };
        assert_eq!(cron("30 2 * * *", Some("Europe/Berlin")), Ok(()));
        assert_eq!(cron("@daily", None), Ok(()));
        let bad = cron("61 2 * * *", None).expect_err("minute 61");
        assert!(
            bad.starts_with("cron: invalid cron expression `61 2 * * *`: "),
            "{bad}"
        );
        assert!(!bad.ends_with('.'), "{bad}");
        let never = cron("0 0 31 2 *", None).expect_err("february 31st");
        assert!(never.contains("never matches"), "{never}");
        assert_eq!(
            cron("0 * * * *", Some("Mars/Olympus")),
            Err("timezone: unknown time zone `Mars/Olympus`".into())
        );
    }

    #[test]
    fn the_state_round_trips() {
        let state = ScheduleState {
            last_window: Some(at("2027-01-13T10:00:00Z")),
            last_release: None,
            owed_release: None,
            pending: Some(Pending {
                plan_id: "ab".repeat(32),
                planned_at: at("2027-01-13T10:00:05Z"),
                window: Some(at("2027-01-13T10:00:00Z")),
                release: None,
            }),
        };
        let text = serde_json::to_string(&state).expect("encode");
        assert!(
            text.contains("\"last_window\":\"2027-01-13T10:00:00Z\""),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<ScheduleState>(&text).expect("decode"),
            state
        );
    }
}

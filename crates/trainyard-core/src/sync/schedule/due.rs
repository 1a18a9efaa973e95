//! Which syncs are due, and why: a cron window since the last run, a
//! release not yet synced, or a plan that waits for its approval.

use jiff::Timestamp;
use serde::Serialize;

use super::cron::{CronSchedule, MISSED_LIMIT};
use super::state::{Pending, ScheduleState, load_state};
use crate::Result;
use crate::plan::short;
use crate::sync::config::{LoadedSync, Trigger};
use crate::sync::engine;
use crate::workspace::Workspace;

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
pub(super) enum ReleaseCall {
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

pub(super) fn release_call(
    state: &ScheduleState,
    version: &str,
    withdrawn: &[String],
) -> ReleaseCall {
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
pub(super) enum Assessment {
    Due(Due),
    Skipped(String),
    NotDue,
}

/// The versions rolled back, read once per call and only when needed.
pub(super) struct Withdrawn<'a> {
    ws: &'a Workspace,
    versions: Option<Vec<String>>,
}

impl<'a> Withdrawn<'a> {
    /// Nothing read yet.
    pub(super) fn new(ws: &'a Workspace) -> Self {
        Withdrawn { ws, versions: None }
    }

    fn get(&mut self) -> Result<&[String]> {
        if self.versions.is_none() {
            self.versions = Some(crate::ledger::withdrawn(self.ws)?);
        }
        Ok(self.versions.as_deref().unwrap_or_default())
    }
}

pub(super) fn pending_what(ws: &Workspace, sync: &LoadedSync, pending: &Pending) -> String {
    match (&pending.window, &pending.release) {
        (_, Some(release)) => format!("release {release}"),
        (Some(window), None) => match CronSchedule::of(ws, sync) {
            Ok(schedule) => format!("the window {}", schedule.local(*window)),
            Err(_) => format!("the window {window}"),
        },
        (None, None) => "a scheduled run".into(),
    }
}

pub(super) fn assess(
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
/// Returns an [`Error::Input`](crate::Error::Input) for a malformed sync file or schedule state,
/// and the errors of reading rollbacks and releases.
pub fn due(ws: &Workspace, at: Timestamp, on_release: Option<&str>) -> Result<Vec<Due>> {
    let mut withdrawn = Withdrawn::new(ws);
    let mut out = Vec::new();
    for sync in engine::load_all(ws)? {
        let state = load_state(ws, &sync.config.sync_id)?;
        if let Assessment::Due(due) = assess(ws, &sync, &state, at, on_release, &mut withdrawn)? {
            out.push(due);
        }
    }
    Ok(out)
}

//! What the scheduler remembers of each sync, in
//! `<evidence dir>/sync-state/<sync id>/schedule.json`, and how a settled
//! window or release is marked as run in it.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::workspace::Workspace;
use crate::{Error, Result};

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

pub(super) fn state_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    evidence_dir(ws).join("sync-state").join(sync_id)
}

pub(super) fn shown(ws: &Workspace, path: &Path) -> String {
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

pub(super) fn save_state(ws: &Workspace, sync_id: &str, state: &ScheduleState) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(state)
        .map_err(|e| Error::Internal(format!("cannot encode the schedule state: {e}")))?;
    text.push(b'\n');
    crate::fsutil::write_atomic(&state_dir(ws, sync_id).join("schedule.json"), &text)
}

/// Marks a window and a release as run, once their outcome is settled.
pub(super) fn mark_run(
    state: &mut ScheduleState,
    window: Option<Timestamp>,
    release: Option<&str>,
) {
    if let Some(window) = window {
        state.last_window = Some(state.last_window.map_or(window, |l| l.max(window)));
    }
    if let Some(release) = release {
        // A release owed from a busy target is settled too, or superseded.
        state.last_release = Some(release.to_owned());
        state.owed_release = None;
    }
}

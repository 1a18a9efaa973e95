//! Running what is due: the entry points (a `sync due` or `sync daemon`
//! pass, `release post`) and the pass over the syncs, one scheduler at a
//! time per sync.

use jiff::Timestamp;

use super::due::{Assessment, Withdrawn, assess};
use super::one_sync::{run_one, settle};
use super::outcome::{DueOutcome, Status};
use super::state::{load_state, mark_run, save_state, state_dir};
use crate::fsutil::RunLock;
use crate::sync::config::Trigger;
use crate::sync::engine;
use crate::workspace::Workspace;
use crate::{Error, Result};

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
    let mut withdrawn = Withdrawn::new(ws);
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

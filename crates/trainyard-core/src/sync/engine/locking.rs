//! The target lock of an apply, and recovering what an interrupted apply
//! left: finishing or undoing it, clearing or breaking the lock.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::identity;
use super::load::find;
use super::logs::{outcomes_dir, settle_one};
use super::sides::state_dir;
use crate::sync::config::LoadedSync;
use crate::sync::{apply, endpoint, journal, lock, outcome};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Whether a sync has an apply that a crash interrupted: an unfinished
/// journal, or its target's lock left by a holder of this repository
/// that is gone.
///
/// # Errors
///
/// Returns an error when its journals or its target's lock cannot be
/// read.
pub fn has_interrupted_apply(ws: &Workspace, id: &str) -> Result<bool> {
    if apply::interrupted(&state_dir(ws, id).join("journal"))?.is_some() {
        return Ok(true);
    }
    let sync = find(ws, id)?;
    let here = repository(ws);
    Ok(
        lock::inspect(&target_spot(ws, &sync)?)?.is_some_and(|found| {
            !found.running && found.info.repository.as_ref().is_none_or(|r| *r == here)
        }),
    )
}

/// How long a target lock protects an apply whose process is gone.
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The lock of a sync's target (see [`lock::spot_for`]).
fn target_spot(ws: &Workspace, sync: &LoadedSync) -> Result<lock::LockSpot> {
    lock::spot_for(&ws.home, &sync.config.target)
}

/// This repository's root, as locks name it.
fn repository(ws: &Workspace) -> PathBuf {
    std::fs::canonicalize(&ws.home).unwrap_or_else(|_| ws.home.clone())
}

fn lock_request(
    ws: &Workspace,
    sync_id: &str,
    action: lock::LockAction,
    plan_id: &str,
    journal: Option<&Path>,
) -> lock::LockRequest {
    lock::LockRequest {
        owner: identity(ws),
        action,
        sync_id: sync_id.to_owned(),
        plan_id: plan_id.to_owned(),
        repository: repository(ws),
        // Absolute: others read it from their own working directory.
        journal: journal.map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())),
    }
}

/// The interrupted apply that the holder of `info`, now gone, left in its
/// journal, if any (an unreadable journal counts as one).
fn left_interrupted(info: &lock::LockInfo) -> Option<String> {
    let dir = info.journal.as_ref()?;
    match apply::interrupted(dir) {
        Ok(found) => found,
        Err(e) => Some(format!("unreadable: {e}")),
    }
}

/// The target lock of an apply. It is released when the apply ends, but
/// left in place (as a holder that is gone) when the apply leaves an
/// unfinished journal, so that no apply of any sync writes the target
/// before `sync recover` has finished or undone it.
pub(super) struct ApplyLock {
    lock: Option<lock::TargetLock>,
    journal_dir: PathBuf,
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        // Dropped unless abandoned: released.
        if let Some(lock) = self.lock.take()
            && matches!(apply::interrupted(&self.journal_dir), Ok(Some(_)))
        {
            lock.abandon();
        }
    }
}

/// Takes the lock of `sync`'s target for applying `plan_id` (journaled in
/// `journal_dir`). The lock of a holder that is gone is taken over once it
/// has expired, but never while the apply it protected awaits recovery.
pub(super) fn lock_for_apply(
    ws: &Workspace,
    sync: &LoadedSync,
    plan_id: &str,
    journal_dir: &Path,
) -> Result<ApplyLock> {
    let request = lock_request(
        ws,
        &sync.config.sync_id,
        lock::LockAction::Apply,
        plan_id,
        endpoint::open(ws, &sync.config.target)
            .writes_in_place()
            .then_some(journal_dir),
    );
    let settled = |info: &lock::LockInfo| left_interrupted(info).is_none();
    let lock = lock::TargetLock::acquire(
        &target_spot(ws, sync)?,
        &request,
        LOCK_TTL,
        ws.expiry_clock(),
        lock::TakeOver::Expired(&settled),
    )?;
    Ok(ApplyLock {
        lock: Some(lock),
        journal_dir: journal_dir.to_path_buf(),
    })
}

/// The refusal an apply of sync `id` would get from its target's lock
/// now, if any: a running holder, or one that is gone and has not been
/// recovered after.
///
/// # Errors
///
/// Returns an error when the sync is unknown or its lock unreadable.
pub fn target_busy(ws: &Workspace, id: &str) -> Result<Option<lock::LockHeld>> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let Some(found) = lock::inspect(&spot)? else {
        return Ok(None);
    };
    let free = !found.running
        && found.info.is_expired(ws.expiry_clock())
        && left_interrupted(&found.info).is_none();
    let request = lock_request(ws, id, lock::LockAction::Apply, "", None);
    Ok((!free).then(|| lock::refusal(&spot, &found, ws.expiry_clock(), &request)))
}

/// What `sync recover` did.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The target recovered.
    pub target: String,
    /// The lock of a holder that was gone, which the recovery cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_lock: Option<lock::LockInfo>,
    /// The applies finished or undone (none when nothing was interrupted).
    pub applies: Vec<RecoveredApply>,
    /// Why there is nothing to recover on this kind of target, when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One apply `sync recover` finished or undid.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveredApply {
    /// The sync whose apply it was.
    pub sync_id: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: apply::RecoveryOutcome,
    /// The `sync_log` written for an apply the recovery completed (or that
    /// had completed without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_ref: Option<String>,
}

/// The latest apply in `journal_dir` whose journal begins with `plan_id`.
fn apply_of_plan(journal_dir: &Path, plan_id: &str) -> Result<Option<String>> {
    journal::latest_where(journal_dir, |events| {
        matches!(
            events.first(),
            Some(journal::Event::Begin { plan_id: p, .. }) if p == plan_id
        )
    })
}

/// `sync recover`: under the target's lock, finishes or undoes an
/// interrupted apply from its journal, and clears the lock of a holder
/// that is gone (after finishing or undoing that holder's apply, whichever
/// sync of this repository it was). An apply it completes, or one that
/// had completed but died before writing its `sync_log`, is logged.
///
/// # Errors
///
/// Returns an [`Error::Locked`] while a running process holds the target
/// (nothing is touched then), or when the lock was left by a holder of
/// another repository (the error names the command to run there); the
/// errors of [`apply::recover`].
pub fn recover(ws: &Workspace, id: &str) -> Result<Recovery> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let here = repository(ws);
    let own = state_dir(ws, id).join("journal");
    let in_place = endpoint::open(ws, &sync.config.target).writes_in_place();
    // The lock names the journal being recovered: the one a gone holder
    // named, else this sync's, so that a recovery killed in turn leaves
    // the next one its way.
    let carried = lock::read_lock(&spot)
        .ok()
        .flatten()
        .and_then(|info| info.journal)
        .unwrap_or_else(|| own.clone());
    let ours = |info: &lock::LockInfo| info.repository.as_ref().is_none_or(|r| *r == here);
    let lock = lock::TargetLock::acquire(
        &spot,
        &lock_request(
            ws,
            id,
            lock::LockAction::Recover,
            "",
            in_place.then_some(carried.as_path()),
        ),
        LOCK_TTL,
        ws.expiry_clock(),
        lock::TakeOver::Gone(&ours),
    )?;
    let cleared = lock.took_over().cloned();
    let mut recovery = Recovery {
        target: spot.target().to_owned(),
        cleared_lock: cleared.clone(),
        applies: Vec::new(),
        note: None,
    };
    if !in_place {
        recovery.note = Some(format!(
            "a {} target is written by requests the server checks (a compare-and-swap push, preconditions): an interrupted apply leaves nothing to finish here; plan again",
            sync.config.target.kind.as_str()
        ));
        lock.release()?;
        return Ok(recovery);
    }
    match recover_journals(ws, id, &own, cleared.as_ref()) {
        Ok(applies) => {
            recovery.applies = applies;
            lock.release()?;
            Ok(recovery)
        }
        Err(e) => {
            // The lock stays, naming the journal, for the next recovery.
            lock.abandon();
            Err(e)
        }
    }
}

/// Finishes or undoes, on sync `id`'s target, the apply the gone holder
/// `cleared` left and this sync's own interrupted apply (journaled in
/// `own`); logs an apply that was completed without its log.
fn recover_journals(
    ws: &Workspace,
    id: &str,
    own: &Path,
    cleared: Option<&lock::LockInfo>,
) -> Result<Vec<RecoveredApply>> {
    let sync = find(ws, id)?;
    let target_root = ws.home.join(&sync.config.target.location);
    let mut recovered = Vec::new();
    // The gone holder's apply first, then any of this sync's own.
    let mut journals: Vec<(String, PathBuf, String)> = Vec::new();
    if let Some(gone) = cleared
        && let Some(dir) = &gone.journal
    {
        let left = match gone.action {
            lock::LockAction::Apply => apply_of_plan(dir, &gone.plan_id)?,
            lock::LockAction::Recover => apply::interrupted(dir)?,
        };
        if let Some(apply_id) = left {
            journals.push((gone.sync_id.clone(), dir.clone(), apply_id));
        }
    }
    if let Some(apply_id) = apply::interrupted(own)?
        && !journals.iter().any(|(_, d, a)| d == own && *a == apply_id)
    {
        journals.push((id.to_owned(), own.to_path_buf(), apply_id));
    }
    for (sync_id, dir, apply_id) in journals {
        let outcome = apply::recover(&target_root, &dir, Some(&apply_id))?;
        // The log the apply owes, now that its target journal is done.
        let owed = outcomes_dir(ws, &sync_id).join(format!("{apply_id}.{}", outcome::EXTENSION));
        let log_ref = settle_one(ws, &sync_id, &owed)?.map(|settled| settled.log_ref);
        recovered.push(RecoveredApply {
            sync_id,
            outcome,
            log_ref,
        });
    }
    Ok(recovered)
}

/// `sync unlock`: breaks the lock of a sync's target, only by naming its
/// id, and only when its holder is gone and left nothing to recover.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the target is not locked or the lock
/// has another id; an [`Error::Locked`] while its holder runs; an
/// [`Error::Environment`] naming `sync recover` when the holder left an
/// interrupted apply; the errors of [`lock::break_lock`].
pub fn unlock(ws: &Workspace, id: &str, lock_id: &str) -> Result<lock::LockInfo> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let request = lock_request(ws, id, lock::LockAction::Recover, "", None);
    let settled = |info: &lock::LockInfo| match left_interrupted(info) {
        None => Ok(()),
        Some(pending) => Err(Error::environment(format!(
            "lock {} of sync target {} was left by {} (process {}, no longer running) with the interrupted apply {pending}; nothing was removed: run `{}`, which finishes or undoes it and clears the lock",
            info.id,
            spot.target(),
            info.owner,
            info.pid,
            lock::recover_command(info, &request.repository)
        ))),
    };
    lock::break_lock(&spot, lock_id, &request, ws.expiry_clock(), &settled)
}

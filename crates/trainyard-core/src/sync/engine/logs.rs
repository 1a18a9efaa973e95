//! Sync logs: recording an apply's log, the logs an interrupted apply
//! still owes, notifications of the outcome, and the history.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::execute::keep_base;
use super::identity;
use super::load::{find, load_all};
use super::plan::{find_plan, plan_contents};
use super::sides::{filters_of, read_side, scan, state_dir};
use crate::Result;
use crate::evidence::EvidenceStore;
use crate::sync::config::LoadedSync;
use crate::sync::model;
use crate::sync::record::{
    ChangesApplied, DryRunResult, ExecutionStatus, LogApproval, LogDryRun, LogExecution,
    LogVerification, SyncLog, SyncPlan,
};
use crate::sync::{apply, endpoint, outcome, tree};
use crate::workspace::Workspace;

/// The sync logs whose record path contains `name_part` (their execution
/// ids hold the sync id and the plan's short id), oldest first.
fn logs(ws: &Workspace, name_part: &str) -> Result<Vec<(SyncLog, String)>> {
    Ok(ws
        .evidence_store()
        .parsed_documents::<SyncLog>(name_part)?
        .into_iter()
        .filter_map(|found| Some((found.document.ok()?, found.record.path)))
        .collect())
}

/// The log of an apply of `plan`, if it was applied: plans are
/// single-use.
///
/// # Errors
///
/// As reading the evidence store, and an
/// [`Error::Input`](crate::Error::Input) naming a log of the plan that was
/// edited since it was recorded.
pub fn applied_log(ws: &Workspace, plan: &SyncPlan) -> Result<Option<String>> {
    // A log is named after the short id of the plan it applied.
    if let Some((_, log_ref)) = trusted_logs(ws, plan.short_id())?
        .into_iter()
        .find(|(log, _)| log.sync_id == plan.plan.sync_id)
    {
        return Ok(Some(log_ref));
    }
    // An apply whose log is still owed counts as applied too.
    Ok(outcome::read_all(&outcomes_dir(ws, &plan.plan.sync_id))?
        .into_iter()
        .find(|owed| owed.log.is_some() && owed.plan_id() == Some(plan.plan_id.as_str()))
        .map(|owed| {
            format!(
                "its log is owed, journaled in {}: `trainyard sync recover {}` records it",
                owed.path.display(),
                plan.plan.sync_id
            )
        }))
}

/// The sync logs of a plan's short id, for deciding whether it was
/// applied: each one checked against the evidence index as it is read.
fn trusted_logs(ws: &Workspace, short_id: &str) -> Result<Vec<(SyncLog, String)>> {
    Ok(ws
        .evidence_store()
        .trusted_documents::<SyncLog>(
            short_id,
            "whether its plan was applied cannot be told from a changed log; restore the recorded document (`trainyard evidence verify` lists what changed)",
        )?
        .into_iter()
        .map(|(log, record)| (log, record.path))
        .collect())
}

/// Where a sync's owed logs are journaled.
pub(super) fn outcomes_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    state_dir(ws, sync_id).join("outcomes")
}

/// Journals `log` as the apply's outcome, then records it under its
/// execution id (the name checked free before the apply): its evidence
/// path. On error the log stays journaled for [`settle_logs`].
pub(super) fn record_log(
    store: &dyn EvidenceStore,
    pending: &mut outcome::Pending,
    log: &SyncLog,
) -> Result<String> {
    pending.finish(log)?;
    write_log(store, log)
}

/// Records `log` under its execution id; a log recorded there already
/// with the same text (by a run that died before it could tell) is it.
fn write_log(store: &dyn EvidenceStore, log: &SyncLog) -> Result<String> {
    let yaml = crate::evidence::document_yaml(log)?;
    match store.write("sync_log", &log.execution_id, &yaml) {
        Ok(written) => Ok(written.record.path),
        Err(e) => match store.show("sync_log", &log.execution_id) {
            Ok(entry) if entry.intact && entry.text == yaml => Ok(entry.record.path),
            _ => Err(e),
        },
    }
}

/// A log an interrupted apply owed, recorded by [`settle_logs`].
#[derive(Debug, Clone, Serialize)]
pub struct SettledLog {
    /// The apply.
    pub execution_id: String,
    /// The log, now recorded.
    pub log_ref: String,
    /// Its status.
    pub status: ExecutionStatus,
}

/// Records the logs a sync's applies still owe (see
/// [`outcome`]): a finished apply's log as it was journaled, and
/// for an apply whose process died, a log made from what the target holds
/// now (each planned change checked against it). An apply still running,
/// or one whose target journal awaits `sync recover`, is left for later.
///
/// # Errors
///
/// Returns an error when the evidence store cannot take a log (busy: the
/// log stays journaled) or a journal cannot be read.
pub fn settle_logs(ws: &Workspace, sync_id: &str) -> Result<Vec<SettledLog>> {
    let mut settled = Vec::new();
    for path in outcome::journals(&outcomes_dir(ws, sync_id))? {
        if let Some(log) = settle_one(ws, sync_id, &path)? {
            settled.push(log);
        }
    }
    Ok(settled)
}

/// Records the log one outcome journal owes, unless its apply still runs
/// or awaits its recovery.
pub(super) fn settle_one(ws: &Workspace, sync_id: &str, path: &Path) -> Result<Option<SettledLog>> {
    let Some((_lock, owed)) = outcome::claim(path)? else {
        return Ok(None);
    };
    let journal = match owed.execution_id() {
        Some(id) => apply::journal_state(&state_dir(ws, sync_id).join("journal"), id)?,
        None => None,
    };
    if journal.is_some_and(|state| !state.is_finished()) {
        // `sync recover` finishes the apply first.
        return Ok(None);
    }
    let log = match owed.log.clone() {
        // Failed past its commit point, then finished by a recovery: the
        // log says what the target holds now, and what went wrong first.
        Some(failed)
            if failed.execution.status != ExecutionStatus::Success
                && journal == Some(crate::sync::journal::JournalState::Committed) =>
        {
            match interrupted_log(ws, sync_id, &owed)? {
                Some(mut log) => {
                    let mut errors = failed.execution.errors;
                    errors.append(&mut log.execution.errors);
                    log.execution.errors = errors;
                    log
                }
                None => return Ok(None),
            }
        }
        Some(log) => log,
        None => match interrupted_log(ws, sync_id, &owed)? {
            Some(log) => log,
            None => return Ok(None),
        },
    };
    let log_ref = write_log(ws.evidence_store().as_ref(), &log)?;
    outcome::remove(path)?;
    Ok(Some(SettledLog {
        execution_id: log.execution_id.clone(),
        log_ref,
        status: log.execution.status,
    }))
}

/// [`settle_logs`] where it is not the command's purpose: a store that
/// cannot take the logs now leaves them journaled for the next command.
pub(super) fn settle_quietly(ws: &Workspace, sync_id: &str) {
    let _ = settle_logs(ws, sync_id);
}

/// The log of an apply whose process died after its `begun`: what the
/// target holds now, change by change. `None` while its target journal
/// is unfinished (`sync recover` finishes it first).
fn interrupted_log(ws: &Workspace, sync_id: &str, owed: &outcome::Owed) -> Result<Option<SyncLog>> {
    let Some(outcome::OutcomeEvent::Begun {
        execution_id,
        plan_id,
        started_at,
        executed_by,
        dry_run,
        approval,
        ..
    }) = owed.begun.clone()
    else {
        // Nothing but a torn first line: the apply never began.
        outcome::remove(&owed.path)?;
        return Ok(None);
    };
    let journal = apply::journal_state(&state_dir(ws, sync_id).join("journal"), &execution_id)?;
    if journal.is_some_and(|state| !state.is_finished()) {
        return Ok(None);
    }
    let sync = find(ws, sync_id)?;
    let (plan, _) = find_plan(ws, &plan_id)?;
    let contents = plan_contents(ws, &plan)?;
    let target = read_side(ws, &sync.config.target)?;
    let (mut applied, mut untouched) = (Vec::new(), 0usize);
    for change in &contents.changes {
        let now = tree::read_entry(&target.root, &change.path).ok();
        match now {
            Some(found) if found.as_ref() == change.after.as_ref() => applied.push(change),
            Some(found) if found.as_ref() == change.before.as_ref() => untouched += 1,
            _ => {}
        }
    }
    let count = |kind| applied.iter().filter(|c| c.kind == kind).count();
    let all = contents.changes.len();
    let status = if applied.len() == all {
        ExecutionStatus::Success
    } else if untouched == all {
        ExecutionStatus::Failed
    } else {
        ExecutionStatus::Partial
    };
    if status == ExecutionStatus::Success
        && endpoint::open(ws, &sync.config.target).writes_in_place()
    {
        // The next plan compares against what this apply left.
        let filters = filters_of(ws, &sync)?;
        let snapshot = scan(ws, sync_id, "target", &target.root, &filters, false)?;
        keep_base(ws, &sync, &target.root, &snapshot)?;
    }
    let now = Workspace::real_now().to_string();
    Ok(Some(SyncLog {
        sync_id: sync_id.to_owned(),
        execution_id,
        executed_at: started_at.clone(),
        executed_by,
        dry_run,
        approval,
        execution: LogExecution {
            started_at,
            completed_at: now.clone(),
            status,
            changes_applied: ChangesApplied {
                added: count(model::ChangeKind::Add),
                modified: count(model::ChangeKind::Modify),
                deleted: count(model::ChangeKind::Delete),
            },
            errors: vec![format!(
                "the apply was interrupted: {} of {all} planned change(s) found in the target at {now}",
                applied.len()
            )],
        },
        verification: LogVerification {
            smoke_tests_passed: false,
            integrity_verified: applied.len() == all,
            notes: Some(format!(
                "logged at {now} for an apply whose run stopped before it could log it: each planned change was checked against the target; the smoke tests did not run"
            )),
        },
    }))
}

/// Tells the sync's `on_success` or `on_failure` targets how it went. A
/// delivery that fails is recorded as evidence (`sync_notification`) and
/// never changes the outcome.
pub(super) fn notify_outcome(
    ws: &Workspace,
    sync: &LoadedSync,
    log: &SyncLog,
    log_ref: &str,
) -> Vec<crate::notify::Delivery> {
    let status = log.execution.status;
    let targets = crate::notify::targets_for(&sync.config.notifications, status);
    if targets.is_empty() {
        return Vec::new();
    }
    let notification = crate::notify::Notification {
        sync_id: log.sync_id.clone(),
        execution_id: log.execution_id.clone(),
        status,
        summary: if log.execution.errors.is_empty() {
            log.dry_run.diff_summary.clone()
        } else {
            log.execution.errors.join("; ")
        },
        log_ref: Some(log_ref.to_owned()),
        counts: log.execution.changes_applied,
        errors: log.execution.errors.clone(),
    };
    let deliveries = crate::notify::send(&ws.config.notify, &ws.home, targets, &notification);
    if deliveries.iter().any(|d| !d.ok) {
        // Best effort: the sync's own log is already written.
        let _ = ws.evidence_store().write_value_unique(
            "sync_notification",
            &log.execution_id,
            &serde_json::json!({ "sync_notification": {
                "sync_id": log.sync_id,
                "execution_id": log.execution_id,
                "log_ref": log_ref,
                "deliveries": deliveries,
            }}),
        );
    }
    deliveries
}

/// Logs a run stopped by pre-sync validation: no dry-run was made,
/// nothing approved or applied.
pub(super) fn log_refusal(ws: &Workspace, sync_id: &str, problems: &[String]) -> Result<String> {
    let now = ws.now.to_string();
    let execution_id = format!("{sync_id}-{}-refused", ws.stamp());
    let log = SyncLog {
        sync_id: sync_id.to_owned(),
        execution_id: execution_id.clone(),
        executed_at: now.clone(),
        executed_by: identity(ws),
        dry_run: LogDryRun {
            executed_at: None,
            result: DryRunResult::default(),
            diff_summary: "no dry-run: pre-sync validation failed".into(),
            diff_ref: None,
        },
        approval: LogApproval {
            approved: false,
            approved_by: None,
            approved_at: None,
            dry_run_ref: None,
        },
        execution: LogExecution {
            started_at: now.clone(),
            completed_at: now,
            status: ExecutionStatus::Failed,
            changes_applied: ChangesApplied::default(),
            errors: problems
                .iter()
                .map(|p| format!("pre-sync validation: {p}"))
                .collect(),
        },
        verification: LogVerification {
            smoke_tests_passed: false,
            integrity_verified: false,
            notes: Some("stopped before the dry-run".into()),
        },
    };
    let record = ws.evidence_store().record_document(&execution_id, &log)?;
    if let Ok(sync) = find(ws, sync_id) {
        let mut refused = log;
        refused.execution.status = ExecutionStatus::Refused;
        notify_outcome(ws, &sync, &refused, &record.record.path);
    }
    Ok(record.record.path)
}

/// `sync log`: the sync logs, oldest first, of one sync or all.
///
/// # Errors
///
/// As reading the evidence store.
pub fn history(ws: &Workspace, id: Option<&str>) -> Result<Vec<(SyncLog, String)>> {
    if let Some(id) = id {
        crate::sync::journal::check_id("sync id", id)?;
    }
    // Logs still owed are recorded first, when the store takes them.
    match id {
        Some(id) => settle_quietly(ws, id),
        None => {
            for sync in load_all(ws)? {
                settle_quietly(ws, &sync.config.sync_id);
            }
        }
    }
    let found: Vec<(SyncLog, String)> = logs(ws, id.unwrap_or(""))?
        .into_iter()
        .filter(|(l, _)| id.is_none_or(|id| l.sync_id == id))
        .collect();
    // A sync no longer configured still has its logs; an id that is
    // neither is a mistake, not an empty history.
    if let Some(id) = id
        && found.is_empty()
    {
        find(ws, id)?;
    }
    Ok(found)
}

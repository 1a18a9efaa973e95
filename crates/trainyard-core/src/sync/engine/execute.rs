//! Applying an approved plan: the checks that it may be applied, the
//! write of the target under its lock, the verification, and the log.

use std::path::Path;

use serde::Serialize;

use super::approved::ApprovedPlan;
use super::identity;
use super::locking::lock_for_apply;
use super::logs::{notify_outcome, outcomes_dir, record_log};
use super::plan::{Scanned, find_plan};
use super::sides::{Side, filters_of, read_sides, save_base, scan, side_record, state_dir};
use crate::evidence::EvidenceStore;
use crate::shell::Shell;
use crate::sync::config::{ConflictStrategy, LoadedSync};
use crate::sync::endpoint::{self, Endpoint, WriteRequest};
use crate::sync::model::{self, Change};
use crate::sync::record::{
    Approval, ChangesApplied, ConflictResolution, DryRunResult, ExecutionStatus, LogApproval,
    LogDryRun, LogExecution, LogVerification, PlanContents, SyncLog, SyncPlan,
};
use crate::sync::snapshot::{self, Snapshot};
use crate::sync::{apply, outcome, tree};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// The log written.
    pub log: SyncLog,
    /// Where.
    pub log_ref: String,
    /// What became of each notification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<crate::notify::Delivery>,
}

/// `sync apply`: applies an approved, fresh, unused plan, verifies it and
/// writes the `sync_log`.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the plan is unapproved, rejected,
/// already applied, expired, blocked by conflicts or `max_delete`, or
/// stale (the source or target changed since: the error shows what changed
/// since); an [`Error::Environment`] when another apply holds the target's
/// lock or an interrupted apply awaits `sync recover`.
pub fn apply_plan(
    ws: &Workspace,
    plan_id: &str,
    automatic: Option<Approval>,
) -> Result<ApplyReport> {
    let (plan, plan_ref) = find_plan(ws, plan_id)?;
    let approved = ApprovedPlan::verify(ws, plan, plan_ref, automatic)?;
    apply_approved(ws, &approved, None)
}

/// Applies an approved plan; with `scanned`, the sides and the change list
/// as the plan has just made them (in `run`), else both sides are read
/// again to prove the plan fresh.
pub(super) fn apply_approved(
    ws: &Workspace,
    approved: &ApprovedPlan,
    scanned: Option<Scanned>,
) -> Result<ApplyReport> {
    let (plan, plan_ref, sync) = (approved.plan(), approved.plan_ref(), approved.sync());
    let (approval, contents) = (approved.approval(), approved.contents());
    let c = &sync.config;
    let short = plan.short_id().to_owned();
    let store = ws.evidence_store();
    let journal_dir = state_dir(ws, &c.sync_id).join("journal");
    let _lock = lock_for_apply(ws, sync, &plan.plan_id, &journal_dir)?;
    if let Some(pending) = apply::interrupted(&journal_dir)? {
        return Err(Error::environment(format!(
            "an interrupted apply ({pending}) of sync {} must be finished first: run `trainyard sync recover {}`",
            c.sync_id, c.sync_id
        )));
    }
    let Scanned {
        source,
        target,
        source_snapshot,
        ..
    } = fresh_sides(ws, sync, plan, scanned)?;
    // A real apply is dated by the real clock, whatever the pinned one
    // says: its log can be neither backdated nor postdated.
    let started = Workspace::real_now();
    let started_at = started.to_string();
    let execution_id = format!(
        "{}-{}-{short}",
        c.sync_id,
        started.strftime("%Y%m%dT%H%M%SZ")
    );
    let overlay = merged_source(ws, &c.sync_id, &source.root, contents)?;
    let source_root = overlay.as_ref().map_or(source.root.as_path(), |o| o.path());
    let target_endpoint = endpoint::open(ws, &c.target);
    let writer = target_endpoint.writer()?;
    let dry_run = dry_run_of(plan);
    let log_approval = log_approval_of(approval, plan_ref);
    // What the log needs is taken before the target is touched: the
    // store must take the log now (held, its index readable, the name
    // free), and the outcome is journaled in the sync's state, so that
    // no target changes without its log, whatever happens next.
    store.check_writable("sync_log", &execution_id)?;
    let pending = outcome::Pending::begin(
        &outcomes_dir(ws, &c.sync_id),
        &outcome::OutcomeEvent::Begun {
            execution_id: execution_id.clone(),
            plan_id: plan.plan_id.clone(),
            plan_ref: plan_ref.to_owned(),
            started_at: started_at.clone(),
            executed_by: identity(ws),
            dry_run: dry_run.clone(),
            approval: log_approval.clone(),
        },
    )?;
    // From here on no error returns early: each one goes into the log.
    let mut errors = Vec::new();
    let executed_by = identity(ws);
    let mut status = writer.write(
        &WriteRequest {
            sync: c,
            plan,
            changes: &contents.changes,
            source_root,
            target: &target,
            journal_dir: &journal_dir,
            apply_id: &execution_id,
            executed_by: &executed_by,
        },
        &mut errors,
    );
    // Integrity: every changed path now reads as what the plan promised.
    // The others were just read (stale check) and the apply never touches
    // them, so the target now is that snapshot with the changes made.
    let integrity_verified = status == ExecutionStatus::Success
        && reads_as_planned(target_endpoint.as_ref(), &target, &contents.changes);
    // The next sync's base is the source as synced: what the target now
    // holds but for the edits its strategy kept (`ours`, `merge`), which
    // the next plan then sees as the target's own.
    let base = integrity_verified.then_some((&source_snapshot, source.root.as_path()));
    if status == ExecutionStatus::Success && !integrity_verified {
        errors.push("the target does not match the plan after the apply".into());
        status = ExecutionStatus::Partial;
    }
    let verification = verification(
        ws,
        sync,
        &target.root,
        status == ExecutionStatus::Success,
        integrity_verified,
        base,
    );
    let log = SyncLog {
        sync_id: c.sync_id.clone(),
        execution_id,
        executed_at: started_at.clone(),
        executed_by: identity(ws),
        dry_run,
        approval: log_approval,
        execution: LogExecution {
            started_at,
            completed_at: Workspace::real_now().to_string(),
            status,
            changes_applied: changes_applied(plan, status),
            errors,
        },
        verification,
    };
    let journal = (!target_endpoint.is_remote()).then_some(journal_dir.as_path());
    record_outcome(ws, sync, store.as_ref(), pending, log, journal)
}

/// The dry-run section of the log of an apply of `plan`.
fn dry_run_of(plan: &SyncPlan) -> LogDryRun {
    LogDryRun {
        executed_at: Some(plan.plan.planned_at.clone()),
        result: plan.plan.result,
        diff_summary: plan.plan.diff_summary.clone(),
        diff_ref: Some(plan.plan.diff_ref.clone()),
    }
}

/// The approval section of the log of an apply under `approval` of the
/// plan recorded at `plan_ref`.
fn log_approval_of(approval: &Approval, plan_ref: &str) -> LogApproval {
    LogApproval {
        approved: approval.approved,
        approved_by: Some(if approval.automatic {
            format!("{} (automatic)", approval.approved_by)
        } else {
            approval.approved_by.clone()
        }),
        approved_at: Some(approval.approved_at.clone()),
        dry_run_ref: Some(plan_ref.to_owned()),
    }
}

/// Both sides as they are now, refused as stale when either changed since
/// `plan` read it: `scanned` when the plan has just read them, else both
/// read again.
fn fresh_sides(
    ws: &Workspace,
    sync: &LoadedSync,
    plan: &SyncPlan,
    scanned: Option<Scanned>,
) -> Result<Scanned> {
    let c = &sync.config;
    let short = plan.short_id();
    // Stale? Read both sides again and compare with what the plan saw.
    let sides = match scanned {
        Some(scanned) => scanned,
        None => {
            let filters = filters_of(ws, sync)?;
            let (source, target) = read_sides(ws, sync, &filters)?;
            Scanned {
                source_snapshot: scan(ws, &c.sync_id, "source", &source.root, &filters, false)?,
                target_snapshot: scan(ws, &c.sync_id, "target", &target.root, &filters, false)?,
                source,
                target,
            }
        }
    };
    let source_now = side_record(&c.source, &sides.source, &sides.source_snapshot);
    let target_now = side_record(&c.target, &sides.target, &sides.target_snapshot);
    if source_now.fingerprint != plan.plan.source.fingerprint
        || target_now.fingerprint != plan.plan.target.fingerprint
        || source_now.revision != plan.plan.source.revision
        || target_now.revision != plan.plan.target.revision
    {
        let now = DryRunResult::of(snapshot::changes(
            &sides.source_snapshot,
            &sides.target_snapshot,
        ));
        let side = if target_now.fingerprint != plan.plan.target.fingerprint
            || target_now.revision != plan.plan.target.revision
        {
            "target"
        } else {
            "source"
        };
        return Err(Error::input(format!(
            "plan {short} is stale: the {side} changed since it was planned; a plan now would be {} to add, {} to modify, {} to delete: run `trainyard sync plan {}`",
            now.files_to_add, now.files_to_modify, now.files_to_delete, c.sync_id
        )));
    }
    Ok(sides)
}

/// The source tree an apply copies from: for a plan with merged paths, an
/// overlay of the changed files with the merge results; `None` when the
/// source itself serves.
fn merged_source(
    ws: &Workspace,
    sync_id: &str,
    source_root: &Path,
    contents: &PlanContents,
) -> Result<Option<tempfile::TempDir>> {
    let merged: Vec<&str> = contents
        .conflicts
        .iter()
        .filter(|c| c.resolution == ConflictResolution::Merge)
        .map(|c| c.path.as_str())
        .collect();
    if merged.is_empty() {
        return Ok(None);
    }
    Ok(Some(merge_overlay(
        &state_dir(ws, sync_id).join("objects"),
        source_root,
        &contents.changes,
        &merged,
    )?))
}

/// Whether every changed path of the target now reads as the plan
/// promised. A remote target is read back from the server.
fn reads_as_planned(target_endpoint: &dyn Endpoint, target: &Side, changes: &[Change]) -> bool {
    let reread = target_endpoint.reread_written();
    let written_root = reread
        .as_ref()
        .map_or(target.root.as_path(), |side| side.root.as_path());
    crate::parallel::map(changes, |change| {
        tree::read_entry(written_root, &change.path)
            .is_ok_and(|found| found.as_ref() == change.after.as_ref())
    })
    .into_iter()
    .all(|ok| ok)
}

/// The smoke tests that fail, each run by `sh` in the target's directory.
fn failed_smoke_tests(commands: &[String], target_root: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    for command in commands {
        let ok = Shell::new(command, target_root)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            failures.push(command.clone());
        }
    }
    failures
}

/// The verification section of an apply's log: the integrity as checked
/// and, after a `succeeded` apply, the smoke tests run in the target and
/// the base of the next sync saved (`base`, the source as synced and its
/// root, when the integrity holds).
fn verification(
    ws: &Workspace,
    sync: &LoadedSync,
    target_root: &Path,
    succeeded: bool,
    integrity_verified: bool,
    base: Option<(&Snapshot, &Path)>,
) -> LogVerification {
    let mut smoke_failures = Vec::new();
    let mut base_error = None;
    if succeeded {
        smoke_failures = failed_smoke_tests(&sync.config.options.smoke_tests, target_root);
        if let Some((snapshot, root)) = base
            && let Err(e) = keep_base(ws, sync, root, snapshot)
        {
            base_error = Some(format!("the base of the next sync was not saved: {e}"));
        }
    }
    let notes: Vec<String> = (!smoke_failures.is_empty())
        .then(|| format!("smoke tests failed: {}", smoke_failures.join("; ")))
        .into_iter()
        .chain(base_error)
        .collect();
    LogVerification {
        smoke_tests_passed: smoke_failures.is_empty(),
        integrity_verified,
        notes: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// What an apply of `plan` that ended with `status` changed: nothing when
/// it failed, else what the plan counted.
fn changes_applied(plan: &SyncPlan, status: ExecutionStatus) -> ChangesApplied {
    if status == ExecutionStatus::Failed {
        ChangesApplied::default()
    } else {
        ChangesApplied {
            added: plan.plan.result.files_to_add,
            modified: plan.plan.result.files_to_modify,
            deleted: plan.plan.result.files_to_delete,
        }
    }
}

/// Saves `snapshot`, the tree under `root` a sync left the target in
/// step with, as the base of the next one, with the content of its text
/// files when conflicts are merged.
pub(super) fn keep_base(
    ws: &Workspace,
    sync: &LoadedSync,
    root: &Path,
    snapshot: &Snapshot,
) -> Result<()> {
    let sync_id = &sync.config.sync_id;
    save_base(ws, sync_id, snapshot)?;
    if sync.config.options.conflict_strategy == ConflictStrategy::Merge {
        keep_base_objects(&state_dir(ws, sync_id).join("objects"), root, snapshot)?;
    }
    Ok(())
}

/// Records the log of an apply that ran, notifies its outcome and returns
/// its report, or the first error it met. With `journal` (a local
/// target's), an apply stopped past its commit point is left for `sync
/// recover`, its log owed.
fn record_outcome(
    ws: &Workspace,
    sync: &LoadedSync,
    store: &dyn EvidenceStore,
    mut pending: outcome::Pending,
    log: SyncLog,
    journal: Option<&Path>,
) -> Result<ApplyReport> {
    let c = &sync.config;
    let status = &log.execution.status;
    // An apply stopped past its commit point is not over: `sync recover`
    // finishes it and records the log of what it then holds.
    if let Some(journal_dir) = journal
        && apply::journal_state(journal_dir, &log.execution_id)?.is_some_and(|s| !s.is_finished())
    {
        pending.finish(&log)?;
        return Err(Error::environment(format!(
            "sync {} {status}: {}; the apply stopped past its commit point: `trainyard sync recover {}` finishes it and records its log (owed in {})",
            c.sync_id,
            log.execution
                .errors
                .first()
                .map_or("interrupted", String::as_str),
            c.sync_id,
            pending.path().display()
        )));
    }
    let log_ref = record_log(store, &mut pending, &log).map_err(|e| {
        Error::environment(format!(
            "sync {} was applied ({} to add, {} to modify, {} to delete: {status}), but its log could not be recorded: {e}; it is kept in {} and `trainyard sync recover {}` records it (as does the next command of this sync)",
            c.sync_id,
            log.execution.changes_applied.added,
            log.execution.changes_applied.modified,
            log.execution.changes_applied.deleted,
            pending.path().display(),
            c.sync_id
        ))
    })?;
    // The log is recorded: the journal goes (a journal left behind is
    // removed by the next settle, which finds its log recorded).
    let _ = pending.done();
    let notifications = notify_outcome(ws, sync, &log, &log_ref);
    if let Some(first) = log.execution.errors.first() {
        return Err(Error::environment(format!(
            "sync {} {status}: {first} (log {log_ref})",
            c.sync_id
        )));
    }
    Ok(ApplyReport {
        log,
        log_ref,
        notifications,
    })
}

/// The largest file whose content is kept as a merge base.
const MERGE_BASE_LIMIT: u64 = 1024 * 1024;

/// Keeps the content of the synced text files, by hash, as the base of the
/// next three-way merge.
fn keep_base_objects(objects: &Path, root: &Path, snapshot: &Snapshot) -> Result<()> {
    for (path, entry) in snapshot.iter() {
        let path = model::SyncPath(path.to_vec());
        if entry.kind != model::EntryKind::File || entry.size > MERGE_BASE_LIMIT {
            continue;
        }
        let object = objects.join(entry.hash.to_hex());
        if object.exists() {
            continue;
        }
        let bytes = std::fs::read(path.under(root))
            .map_err(|e| Error::io("cannot read", path.under(root), e))?;
        if std::str::from_utf8(&bytes).is_ok() {
            crate::fsutil::write_atomic(&object, &bytes)?;
        }
    }
    Ok(())
}

/// A source tree for an apply with merged paths: the changed files, merged
/// ones taken from the stored merge results.
fn merge_overlay(
    objects: &Path,
    source_root: &Path,
    changes: &[Change],
    merged: &[&str],
) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("trainyard-merge-")
        .tempdir()
        .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
    for change in changes {
        let Some(after) = &change.after else { continue };
        let to = change.path.under(dir.path());
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        let from = if merged.contains(&change.path.to_string().as_str()) {
            objects.join(after.hash.to_hex())
        } else {
            change.path.under(source_root)
        };
        if after.kind == model::EntryKind::Symlink {
            let link = std::fs::read_link(&from).map_err(|e| Error::io("cannot read", &from, e))?;
            std::os::unix::fs::symlink(&link, &to)
                .map_err(|e| Error::io("cannot create", &to, e))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io("cannot copy", &from, e))?;
        }
    }
    Ok(dir)
}

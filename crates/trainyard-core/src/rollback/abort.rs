//! `rollback abort`: undoes what a rollback that stopped half-way did,
//! newest action first, back to where it began: the branch to the head
//! the plan recorded, withdrawn release directories out of the backup,
//! config targets from the copies taken before their first change.

use super::plan::{self, CodePlan, RollbackPlan};
use super::procedure::{
    RollbackReport, RollbackState, Status, channel_config, load, report, save, short,
};
use crate::git_cli;
use crate::sync::engine;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Undoes rollback `id`.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown, finished or already aborted
/// rollback, or when something was changed after the rollback's own
/// change (a commit on top of its revert): that is named, and nothing
/// more is undone.
pub fn abort(ws: &Workspace, id: &str) -> Result<RollbackReport> {
    let mut state = load(ws, id)?;
    if state.is_aborted() {
        return Err(Error::input(format!("rollback {id} was already aborted")));
    }
    if state.is_complete() {
        return Err(Error::input(format!(
            "rollback {id} is finished: {} stays withdrawn; release a fix to go forward",
            state.rolled_back_from
        )));
    }
    let (plan, _) = plan::find(ws, &state.plan_id)?;
    let _lock = ws.lock()?;
    let ids: Vec<String> = state
        .actions
        .iter()
        .rev()
        .filter(|a| a.status != Status::Pending)
        .map(|a| a.id.clone())
        .collect();
    let mut undone = Vec::new();
    for action_id in ids {
        let notes = undo(ws, &plan, &state, &action_id).map_err(|e| {
            e.within(
                &format!("rollback {id}: cannot undo {action_id}: "),
                &format!(
                    "; what was undone before stays undone: mend it, then `{}` again",
                    ws.command(&format!("rollback abort {id}"))
                ),
            )
        })?;
        if let Some(record) = state.actions.iter_mut().find(|a| a.id == action_id) {
            record.status = Status::Pending;
            record.notes = notes.clone();
        }
        save(ws, &state)?;
        undone.extend(notes);
    }
    state.aborted_at = Some(ws.now.to_string());
    if let Some(step) = state.steps.iter_mut().find(|s| s.name == "execute") {
        step.status = Status::Pending;
        step.notes = undone;
    }
    save(ws, &state)?;
    Ok(report(
        ws,
        &state,
        Some(format!(
            "nothing: rollback {id} is aborted and undone; {} is in place as before",
            state.rolled_back_from
        )),
    ))
}

fn undo(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    action_id: &str,
) -> Result<Vec<String>> {
    if action_id == "code" {
        let code = plan
            .plan
            .code
            .as_ref()
            .ok_or_else(|| Error::Internal("a code action without a code plan".into()))?;
        return undo_code(ws, state, code);
    }
    if let Some(name) = action_id.strip_prefix("channel:") {
        return undo_channel(ws, plan, state, name);
    }
    if let Some(sync_id) = action_id.strip_prefix("config:") {
        return undo_config(ws, state, sync_id);
    }
    Err(Error::Internal(format!("unknown action {action_id}")))
}

fn undo_code(ws: &Workspace, state: &RollbackState, code: &CodePlan) -> Result<Vec<String>> {
    let branch = code.branch();
    let branch_ref = format!("refs/heads/{branch}");
    let now = git_cli::commit_of(&ws.home, &branch_ref).ok();
    match code {
        CodePlan::DeployBranch { head, target, .. } => {
            if now.as_ref() == head.as_ref() {
                return Ok(vec![format!("{branch} was not moved")]);
            }
            if now.as_ref() != Some(target) {
                return Err(moved_on(branch, target));
            }
            match head {
                Some(head) => {
                    git_cli::run(&ws.home, &["update-ref", &branch_ref, head, target])?;
                    Ok(vec![format!("{branch} back at {}", short(head))])
                }
                None => {
                    git_cli::run(&ws.home, &["update-ref", "-d", &branch_ref, target])?;
                    Ok(vec![format!("{branch} removed again (it did not exist)")])
                }
            }
        }
        CodePlan::Revert { head, .. } | CodePlan::Restore { head, .. } => {
            let Some(now) = now else {
                return Err(Error::input(format!("branch {branch} no longer exists")));
            };
            if &now == head {
                return Ok(vec![format!("{branch} was not changed")]);
            }
            let Some(commit) = state.commit.as_ref().filter(|c| **c == now) else {
                return Err(moved_on(branch, state.commit.as_deref().unwrap_or(head)));
            };
            let checked_out =
                git_cli::run(&ws.home, &["symbolic-ref", "--quiet", "--short", "HEAD"])
                    .is_ok_and(|b| b.trim() == branch);
            if checked_out {
                // Back to the head, keeping local changes that do not
                // touch what the rollback changed.
                git_cli::run(&ws.home, &["reset", "--keep", "--quiet", head]).map_err(|e| {
                    Error::input(format!(
                        "cannot move the checked-out branch {branch} back: {e}; commit or stash local changes"
                    ))
                })?;
            } else {
                git_cli::run(&ws.home, &["update-ref", &branch_ref, head, commit])?;
            }
            Ok(vec![format!(
                "{branch} back at {} (the rollback commit {} dropped)",
                short(head),
                short(commit)
            )])
        }
    }
}

fn moved_on(branch: &str, since: &str) -> Error {
    Error::input(format!(
        "{branch} moved on after the rollback's change {}: revert that change with git (`git revert {}`) instead",
        short(since),
        short(since)
    ))
}

fn undo_channel(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    name: &str,
) -> Result<Vec<String>> {
    let channel = plan
        .plan
        .channels
        .iter()
        .find(|c| c.channel == name)
        .ok_or_else(|| Error::Internal(format!("no channel plan {name}")))?;
    let mut notes = Vec::new();
    if let Some(dir) = &channel.withdraw {
        let kept = state
            .backup_dir
            .join("channels")
            .join(name)
            .join(&plan.plan.rolled_back_from);
        if kept.exists() && !dir.exists() {
            std::fs::rename(&kept, dir).map_err(|e| Error::io("cannot restore", dir, e))?;
            notes.push(format!("{name}: {} published again", dir.display()));
        } else {
            notes.push(format!("{name}: {} was not withdrawn", dir.display()));
        }
    }
    if !channel.republish.is_empty() {
        // The earlier release's files are its own, checked against its
        // evidence: they stay.
        channel_config(ws, name)?;
        notes.push(format!(
            "{name}: the artifacts of {} stay as published",
            plan.plan.rolled_back_to
        ));
    }
    if !channel.actions.is_empty() {
        // A forge or registry keeps no undo of a demotion, yank or
        // deprecation that the tool could replay safely.
        notes.push(format!(
            "{name}: {} stays withdrawn there; undo it on the channel by hand if it should return ({})",
            plan.plan.rolled_back_from,
            channel.actions.join("; ")
        ));
    }
    Ok(notes)
}

fn undo_config(ws: &Workspace, state: &RollbackState, sync_id: &str) -> Result<Vec<String>> {
    if engine::has_interrupted_apply(ws, sync_id)? {
        engine::recover(ws, sync_id)?;
    }
    let backup = state.backup_dir.join("configs").join(sync_id);
    if !backup.is_dir() {
        return Ok(vec![format!(
            "config {sync_id}: not changed (no copy was needed)"
        )]);
    }
    let (planned, applied) = engine::run_from(
        ws,
        sync_id,
        engine::SourceAt {
            root: &backup,
            revision: &format!("backup of {}", state.rollback_id),
        },
        None,
        &state.decided_by,
        &format!("abort of rollback {}", state.rollback_id),
    )?;
    let result = planned.plan.plan.result;
    Ok(vec![format!(
        "config {sync_id}: back as before the rollback ({} added, {} modified, {} deleted{})",
        result.files_to_add,
        result.files_to_modify,
        result.files_to_delete,
        applied
            .map(|a| format!(", log {}", a.log_ref))
            .unwrap_or_default()
    )])
}

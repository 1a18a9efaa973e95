//! The code action: the branch moved back, by a revert or restore commit
//! that carries the rollback's `Rollback-Id:` trailer, or by pointing a
//! deploy branch at the earlier release.

use std::path::Path;

use crate::git_cli;
use crate::rollback::plan::{CodePlan, RevertedCommit, RollbackPlan, RollbackPlanBody};
use crate::states::rollback::RollbackState;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The trailer that marks the rollback's own commit.
fn trailer(state: &RollbackState) -> String {
    format!("Rollback-Id: {}", state.rollback_id)
}

/// EXECUTE, the code action: moves the branch back as the plan says, or
/// finds it moved already by this rollback.
pub(super) fn roll_back_code(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &mut RollbackState,
    code: &CodePlan,
) -> Result<Vec<String>> {
    let home = &ws.home;
    let body = &plan.plan;
    let branch_ref = format!("refs/heads/{}", code.branch());
    let current = git_cli::commit_of(home, &branch_ref).ok();
    match code {
        CodePlan::DeployBranch {
            branch,
            head,
            target,
        } => {
            if current.as_ref() == Some(target) {
                return Ok(vec![format!("{branch} points at {target}")]);
            }
            if current != *head {
                return Err(stale_branch(branch));
            }
            let old = head.clone().unwrap_or_else(|| "0".repeat(40));
            git_cli::run(home, &["update-ref", &branch_ref, target, &old])?;
            state.commit = Some(target.clone());
            Ok(vec![format!(
                "{branch} moved from {} to {target} ({})",
                short(&old),
                body.to_tag
            )])
        }
        CodePlan::Revert { branch, head, .. } | CodePlan::Restore { branch, head, .. } => {
            let current = current.ok_or_else(|| stale_branch(branch))?;
            // Done already (a crash after the branch moved)?
            if &current != head {
                let message = git_cli::run(home, &["log", "-1", "--format=%B", &current])?;
                if message.contains(&trailer(state)) {
                    state.commit = Some(current.clone());
                    return Ok(vec![format!(
                        "{branch} at {} (already rolled back)",
                        short(&current)
                    )]);
                }
                return Err(stale_branch(branch));
            }
            let worktree = git_cli::Worktree::add(home, head)?;
            let dir = worktree.path();
            let (subject, what) = match code {
                CodePlan::Revert { commits, keep, .. } => {
                    revert_commits(dir, body, branch, head, commits, keep)?
                }
                CodePlan::Restore {
                    paths,
                    base,
                    requirements,
                    ..
                } => restore_paths(ws, dir, body, (paths, requirements), base)?,
                CodePlan::DeployBranch { .. } => unreachable!("handled above"),
            };
            let message = format!(
                "{subject}\n\n{}\n\n{}\nRollback-Plan: {}",
                state.trigger.description,
                trailer(state),
                plan.plan_id
            );
            git_cli::run_dated(
                dir,
                &["commit", "--allow-empty", "--quiet", "-m", &message],
                ws.now,
            )?;
            let new = git_cli::commit_of(dir, "HEAD")?;
            move_branch(ws, branch, head, &new)?;
            state.commit = Some(new.clone());
            Ok(vec![format!("{what}: {branch} at {}", short(&new))])
        }
    }
}

/// Reverts the release's `commits` in the worktree `dir` at `head`,
/// trainyard's own files kept as they are there: the rollback commit's
/// subject, and what it does.
fn revert_commits(
    dir: &Path,
    body: &RollbackPlanBody,
    branch: &str,
    head: &str,
    commits: &[RevertedCommit],
    keep: &[String],
) -> Result<(String, String)> {
    for commit in commits {
        revert_one(dir, head, keep, &commit.commit).map_err(|e| {
            Error::environment(format!(
                "reverting {} ({}) on {branch} conflicts with later work: {e}; roll back by hand or with rollback.deploy_branch",
                short(&commit.commit),
                commit.subject
            ))
        })?;
    }
    keep_own_files(dir, head, keep)?;
    Ok((
        format!(
            "revert: roll back {} to {}",
            body.rolled_back_from, body.rolled_back_to
        ),
        format!(
            "{} commit(s) of {} reverted",
            commits.len(),
            body.rolled_back_from
        ),
    ))
}

/// Restores `paths` to their content at `base` in the worktree `dir`
/// (a partial rollback): the rollback commit's subject, and what it does.
fn restore_paths(
    ws: &Workspace,
    dir: &Path,
    body: &RollbackPlanBody,
    (paths, requirements): (&[String], &[String]),
    base: &str,
) -> Result<(String, String)> {
    let to = crate::version::parse(&body.rolled_back_to)?;
    let edits = if requirements.is_empty() {
        if !paths.is_empty() {
            let mut args = vec!["restore", "--source", base, "--staged", "--worktree", "--"];
            args.extend(paths.iter().map(String::as_str));
            git_cli::run(dir, &args)?;
        }
        None
    } else {
        Some(crate::rollback::plan::requirement_edits(
            ws, dir, base, paths, &to,
        )?)
    };
    if let Some(edits) = edits {
        let planned: Vec<String> = edits
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if planned != requirements {
            return Err(Error::input(format!(
                "the requirements on the package changed since the rollback was planned (now {}, planned {}): plan the rollback again",
                planned.join(", "),
                requirements.join(", ")
            )));
        }
        crate::manifest::apply(dir, &edits)?;
        let mut args = vec!["add", "--"];
        args.extend(requirements.iter().map(String::as_str));
        git_cli::run(dir, &args)?;
    }
    // A package's rollback names no component: its tags say what it is.
    let subject = if body.components.is_empty() {
        format!("revert: roll back {} to {}", body.from_tag, body.to_tag)
    } else {
        format!(
            "revert({}): roll back {} from {} to {}",
            body.components.join(","),
            body.components.join(", "),
            body.rolled_back_from,
            body.rolled_back_to
        )
    };
    Ok((
        subject,
        format!(
            "{} path(s) restored to {}",
            paths.len(),
            body.rolled_back_to
        ),
    ))
}

/// Reverts one commit into the index of `dir`. A conflict confined to
/// trainyard's own files is settled their way (as at `head`), since the
/// rollback keeps them anyway; any other conflict is an error.
fn revert_one(dir: &Path, head: &str, keep: &[String], commit: &str) -> Result<()> {
    let Err(error) = git_cli::run(dir, &["revert", "--no-commit", commit]) else {
        return Ok(());
    };
    let unmerged = git_cli::run(dir, &["diff", "--name-only", "--diff-filter=U"])?;
    let unmerged: Vec<&str> = unmerged.lines().filter(|l| !l.is_empty()).collect();
    let ours = |path: &str| {
        keep.iter().any(|k| {
            path == k
                || path
                    .strip_prefix(k.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    if unmerged.is_empty() || !unmerged.iter().all(|p| ours(p)) {
        let _ = git_cli::run(dir, &["revert", "--abort"]);
        return Err(error);
    }
    keep_own_files(dir, head, keep)?;
    // The sequencer forgets the revert; its changes stay staged.
    git_cli::run(dir, &["revert", "--quit"]).map(|_| ())
}

/// Puts trainyard's own files back as they are at `head` after the
/// reverts: a release's commit that added or changed the configuration
/// (or a sync, a note, a record) is rolled back everywhere but there.
fn keep_own_files(dir: &Path, head: &str, keep: &[String]) -> Result<()> {
    for path in keep {
        let at_head = git_cli::run(dir, &["ls-tree", "-r", "--name-only", head, "--", path])?;
        if at_head.trim().is_empty() {
            git_cli::run(
                dir,
                &["rm", "-r", "-q", "-f", "--ignore-unmatch", "--", path],
            )?;
        } else {
            git_cli::run(
                dir,
                &[
                    "restore",
                    "--source",
                    head,
                    "--staged",
                    "--worktree",
                    "--",
                    path,
                ],
            )?;
        }
    }
    Ok(())
}

/// Moves `branch` from `old` to `new` (a child of `old`): fast-forwards
/// the user's checkout when the branch is checked out there (so their
/// files follow, and local changes in the way stop it), else a
/// compare-and-swap of the ref.
fn move_branch(ws: &Workspace, branch: &str, old: &str, new: &str) -> Result<()> {
    let checked_out = git_cli::run(&ws.home, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .is_ok_and(|b| b.trim() == branch);
    if checked_out {
        git_cli::run(&ws.home, &["merge", "--ff-only", "--quiet", new]).map_err(|e| {
            Error::input(format!(
                "cannot move the checked-out branch {branch}: {e}; commit or stash local changes, then `{}`",
                ws.command("rollback resume")
            ))
        })?;
    } else {
        git_cli::run(
            &ws.home,
            &["update-ref", &format!("refs/heads/{branch}"), new, old],
        )?;
    }
    Ok(())
}

fn stale_branch(branch: &str) -> Error {
    Error::input(format!(
        "branch {branch} moved since the rollback was planned: plan the rollback again"
    ))
}

pub(in crate::rollback) fn short(commit: &str) -> &str {
    &commit[..12.min(commit.len())]
}

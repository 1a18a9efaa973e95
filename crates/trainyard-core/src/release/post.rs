//! `release post`: merges the release branch back into the branch the
//! release was started on (so that branch knows the release: its tag is
//! reachable, its changelog and manifests committed), runs the
//! announcements, reconciles a stored release calendar and runs the
//! `on_release` syncs.

use super::{Action, ReleaseState, Step, StepName, StepPlan, current, require, state_path};
use crate::git_cli;
use crate::workspace::Workspace;
use crate::{Error, Result};

pub(super) fn plan(ws: &Workspace) -> Result<StepPlan> {
    let state = current(ws, "post")?;
    require(ws, &state, &[Step::Published], "post", "`release publish`")?;
    let mut actions = Vec::new();
    let mut messages = Vec::new();
    match merge_back(ws, &state)? {
        MergeBack::Merge(action) => actions.push(action),
        MergeBack::Skip(why) => messages.push(why),
    }
    actions.extend(
        ws.config
            .release
            .notify
            .iter()
            .map(|c| Action::Run { command: c.clone() }),
    );
    let today = ws.today()?;
    let calendar_path = crate::calendar::track::calendar_path(ws, today.year());
    if calendar_path.exists() {
        actions.push(Action::WriteFile {
            path: calendar_path,
            why: "statuses reconciled with the tags".into(),
        });
    }
    #[cfg(unix)]
    for due in crate::sync::schedule::due(ws, ws.now, Some(&state.version))? {
        if due.trigger == crate::sync::config::Trigger::OnRelease {
            actions.push(Action::Sync {
                sync_id: due.sync_id,
                why: due.why,
            });
        }
    }
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Posted,
    });
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Post,
        actions,
        messages,
        state,
        candidate: None,
    })
}

enum MergeBack {
    Merge(Action),
    Skip(String),
}

/// Whether and how the release branch comes back: refused before any
/// change when the merge would conflict or local changes are in its way.
fn merge_back(ws: &Workspace, state: &ReleaseState) -> Result<MergeBack> {
    let Some(last) = state.candidate() else {
        return Ok(MergeBack::Skip("no release branch to merge back".into()));
    };
    if !ws.config.release.merge_back {
        return Ok(MergeBack::Skip(format!(
            "release.merge_back is off: bring {} back into its branch through your review",
            last.branch
        )));
    }
    let Some(base) = state.base_branch.clone() else {
        return Ok(MergeBack::Skip(format!(
            "the release was started on a detached HEAD: merge {} back by hand",
            last.branch
        )));
    };
    let home = &ws.home;
    let base_ref = format!("refs/heads/{base}");
    if !git_cli::ref_exists(home, &base_ref) {
        return Err(Error::input(format!(
            "branch {base}, which release {} was started on, no longer exists: set it back, or merge {} by hand and run `{}` again",
            ws.release_name(&state.version),
            last.branch,
            ws.command("release post")
        )));
    }
    let branch_ref = format!("refs/heads/{}", last.branch);
    let merged = git_cli::run(
        home,
        &["merge-base", "--is-ancestor", &branch_ref, &base_ref],
    )
    .is_ok();
    if merged {
        return Ok(MergeBack::Skip(format!(
            "{} is already merged into {base}",
            last.branch
        )));
    }
    let continue_hint = format!(
        "merge it by hand (`git checkout {base} && git merge {}`), resolve and commit, then run `{}` again",
        last.branch,
        ws.command("release post")
    );
    if let Some(conflicts) = merge_conflicts(ws, &base_ref, &branch_ref)? {
        return Err(Error::input(format!(
            "merging {} into {base} conflicts in {}: nothing was changed; {continue_hint}",
            last.branch,
            conflicts.join(", ")
        )));
    }
    let checked_out = git_cli::run(home, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .is_ok_and(|b| b.trim() == base);
    if checked_out {
        let in_the_way = local_changes_in_the_way(ws, &base_ref, &branch_ref)?;
        if !in_the_way.is_empty() {
            return Err(Error::input(format!(
                "local changes to {} in {} would be overwritten by merging {}: nothing was changed; commit, stash or remove them, then run `{}` again",
                in_the_way.join(", "),
                home.display(),
                last.branch,
                ws.command("release post")
            )));
        }
    }
    Ok(MergeBack::Merge(Action::Merge {
        branch: last.branch.clone(),
        into: base.clone(),
        message: format!(
            "chore(release): merge {} into {base}",
            ws.tag_name(&state.version()?)
        ),
    }))
}

/// The files a merge of `theirs` into `ours` would conflict in, when it
/// would (`git merge-tree`, which writes no ref and touches no checkout).
fn merge_conflicts(ws: &Workspace, ours: &str, theirs: &str) -> Result<Option<Vec<String>>> {
    let output = git_cli::output(
        &ws.home,
        &[
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            ours,
            theirs,
        ],
    )
    .map_err(|e| Error::environment(format!("cannot run git merge-tree: {e}")))?;
    match output.status.code() {
        Some(0) => Ok(None),
        Some(1) => {
            let text = String::from_utf8_lossy(&output.stdout);
            // The first line is the tree written; the conflicted files follow.
            let files: Vec<String> = text
                .lines()
                .skip(1)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(Some(files))
        }
        _ => Err(Error::environment(format!(
            "git merge-tree {ours} {theirs} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// Files the merge changes that have local changes (or are untracked) in
/// the checkout.
fn local_changes_in_the_way(ws: &Workspace, ours: &str, theirs: &str) -> Result<Vec<String>> {
    let base = git_cli::run(&ws.home, &["merge-base", ours, theirs])?;
    let changed = git_cli::run(
        &ws.home,
        &["diff", "--name-only", "--no-renames", base.trim(), theirs],
    )?;
    let changed: Vec<&str> = changed.lines().filter(|l| !l.is_empty()).collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    args.extend(changed.iter().copied());
    let status = git_cli::run(&ws.home, &args)?;
    Ok(status
        .lines()
        .filter_map(|l| l.get(3..))
        .map(str::to_owned)
        .collect())
}

//! The files a release commit changes: the manifests, at the version
//! written, and the changelog's section of the release.

use std::path::Path;

use crate::git_cli::{self, Worktree};
use crate::version::Version;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The files a release commit made at `rev` would change: manifests to
/// `written`, and the changelog section of `release`. Reads a temporary
/// checkout of `rev`, so the plan sees exactly what the commit will.
pub(super) fn planned(
    ws: &Workspace,
    rev: &str,
    written: &Version,
    release: &Version,
) -> Result<Vec<String>> {
    let worktree = Worktree::add(&ws.home, rev)?;
    let (files, _) = compute(ws, worktree.path(), written, release)?;
    Ok(files)
}

/// What writing the release files into `root` changes, and how to write
/// it: the changed paths (relative), the manifest plan and the changelog
/// text to write.
fn compute(
    ws: &Workspace,
    root: &Path,
    written: &Version,
    release: &Version,
) -> Result<(Vec<String>, Pending)> {
    let view = ws.view_at(root)?;
    let mut files = Vec::new();
    let specs = view.manifests()?;
    let manifests = if specs.is_empty() {
        None
    } else {
        let plan = crate::monorepo::bump::plan_files(&view, &specs, written)?;
        files.extend(plan.paths().iter().map(|p| p.display().to_string()));
        Some(plan)
    };
    let report = crate::changelog::generate(
        &view,
        &crate::changelog::ChangelogRequest {
            scope: crate::changelog::Scope::Version(release.clone()),
            include_prereleases: false,
        },
    )?;
    let (outcome, text) = crate::changelog::plan_write(&view, &report)?;
    let changelog = if outcome.changed {
        files.push(view.config.changelog.path.display().to_string());
        Some((outcome, text))
    } else {
        None
    };
    Ok((
        files,
        Pending {
            manifests,
            changelog,
        },
    ))
}

struct Pending {
    manifests: Option<crate::manifest::BumpPlan>,
    changelog: Option<(crate::changelog::WriteOutcome, String)>,
}

/// Checks out `branch` in a temporary worktree, writes the manifests and
/// the changelog there, and commits them with the user's git. Refuses when
/// the files it would change are not the `expected` ones the plan named.
pub(super) fn commit(
    ws: &Workspace,
    branch: &str,
    written: &Version,
    release: &Version,
    message: &str,
    expected: &[String],
) -> Result<()> {
    let worktree = Worktree::on_branch(&ws.home, branch)?;
    let (files, pending) = compute(ws, worktree.path(), written, release)?;
    if files != expected {
        return Err(Error::input(format!(
            "the release commit on {branch} would change {} instead of the planned {}: {branch} changed since the plan, run the step again",
            list(&files),
            list(expected)
        )));
    }
    if let Some(plan) = &pending.manifests {
        crate::manifest::apply(worktree.path(), plan)?;
    }
    if let Some((outcome, text)) = &pending.changelog {
        crate::changelog::apply_write(outcome, text)?;
    }
    if !files.is_empty() {
        let mut add = vec!["add", "--"];
        add.extend(files.iter().map(String::as_str));
        git_cli::run(worktree.path(), &add)?;
        git_cli::run_dated(worktree.path(), &["commit", "-q", "-m", message], ws.now)?;
    }
    Ok(())
}

fn list(files: &[String]) -> String {
    if files.is_empty() {
        "nothing".into()
    } else {
        files.join(", ")
    }
}

//! A `git` endpoint: a branch of a repository (a path or a URL), read as a
//! fresh clone and written as one commit pushed with a compare-and-swap.

use super::{Endpoint, ExecutionStatus, Side, WriteRequest, Writer, write_local};
use crate::sync::config;
use crate::workspace::Workspace;
use crate::{Error, Result, git_cli};

pub(super) struct GitEndpoint<'a> {
    pub(super) ws: &'a Workspace,
    pub(super) config: &'a config::Endpoint,
}

impl GitEndpoint<'_> {
    /// The location as git takes it: a URL as is, a path under the
    /// repository.
    fn location(&self) -> String {
        let location = &self.config.location;
        if location.contains("://") || location.contains('@') {
            location.to_owned()
        } else {
            self.ws.home.join(location).display().to_string()
        }
    }

    fn branch(&self) -> String {
        self.config.branch.clone().unwrap_or_else(|| "main".into())
    }
}

impl Endpoint for GitEndpoint<'_> {
    fn read(&self) -> Result<Side> {
        let branch = self.branch();
        let dir = tempfile::Builder::new()
            .prefix("trainyard-sync-")
            .tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let path = dir.path().join("tree");
        git_cli::run(
            &self.ws.home,
            &[
                "clone",
                "--quiet",
                "--no-tags",
                "--single-branch",
                "--branch",
                &branch,
                &self.location(),
                &path.display().to_string(),
            ],
        )
        .map_err(|e| {
            Error::input(format!(
                "cannot read branch {branch} of {}: {e}",
                self.config.location
            ))
        })?;
        let revision = git_cli::commit_of(&path, "HEAD")?;
        Ok(Side {
            root: path,
            revision: Some(revision),
            _clone: Some(dir),
            etags: std::collections::BTreeMap::new(),
        })
    }

    fn check_reachable(&self, may_be_missing: bool) -> Result<()> {
        let branch = self.config.branch.as_deref().unwrap_or("HEAD");
        let out = git_cli::run(
            &self.ws.home,
            &["ls-remote", "--heads", &self.location(), branch],
        )?;
        if out.trim().is_empty() && !may_be_missing {
            return Err(Error::input(format!(
                "branch {branch} not found in {}",
                self.config.location
            )));
        }
        Ok(())
    }

    fn writer(&self) -> Result<Box<dyn Writer + '_>> {
        Ok(Box::new(CloneWriter { endpoint: self }))
    }
}

/// Writes into the clone read for the plan, then commits and pushes it.
struct CloneWriter<'e, 'a> {
    endpoint: &'e GitEndpoint<'a>,
}

impl Writer for CloneWriter<'_, '_> {
    fn write(&self, write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus {
        let status = write_local(write, errors);
        if status != ExecutionStatus::Success {
            return status;
        }
        match commit_and_push(self.endpoint, write) {
            Ok(()) => status,
            Err(e) => {
                errors.push(e.to_string());
                ExecutionStatus::Failed
            }
        }
    }
}

/// One commit with a `Sync-Source-Rev:` trailer, pushed with a
/// compare-and-swap on the revision the plan read.
fn commit_and_push(endpoint: &GitEndpoint<'_>, write: &WriteRequest<'_>) -> Result<()> {
    let (c, plan, target) = (write.sync, write.plan, write.target);
    let branch = endpoint.branch();
    let expected = target
        .revision
        .clone()
        .ok_or_else(|| Error::Internal("a git target without a revision".into()))?;
    git_cli::run(&target.root, &["add", "--all", "--", "."])?;
    let staged = git_cli::run(&target.root, &["diff", "--cached", "--name-only"])?;
    if staged.trim().is_empty() {
        return Ok(());
    }
    let source_rev = plan
        .plan
        .source
        .revision
        .clone()
        .unwrap_or_else(|| format!("fingerprint:{}", plan.plan.source.fingerprint));
    let message = format!(
        "chore(sync): {} from {}\n\n{}\n\nSync-Id: {}\nSync-Plan: {}\nSync-Source-Rev: {source_rev}",
        c.sync_id, c.source.location, plan.plan.diff_summary, c.sync_id, plan.plan_id
    );
    git_cli::run_dated(
        &target.root,
        &[
            "-c",
            &format!("user.email={}", write.executed_by),
            "-c",
            "user.name=trainyard",
            "commit",
            "-q",
            "-m",
            &message,
        ],
        // The commit of a real apply is dated by the real clock.
        Workspace::real_now(),
    )?;
    git_cli::run(
        &target.root,
        &[
            "push",
            "--quiet",
            &format!("--force-with-lease=refs/heads/{branch}:{expected}"),
            &endpoint.location(),
            &format!("HEAD:refs/heads/{branch}"),
        ],
    )
    .map_err(|e| {
        Error::input(format!(
            "the target branch {branch} moved since the plan (compare-and-swap refused): {e}"
        ))
    })?;
    Ok(())
}

//! The user's own `git`, for what must honour their configuration: the
//! state of the working tree today, and later tags, commits and pushes
//! (signing, hooks and credential helpers apply).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Runs `git` in `root` and returns its stdout.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when git cannot be started or fails,
/// quoting its stderr.
pub fn run(root: &Path, args: &[&str]) -> Result<String> {
    run_with_env(root, args, &[])
}

// git_cli owns the runs of git.
#[allow(clippy::disallowed_methods)]
fn run_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| Error::environment(format!("cannot run git: {e}")))?;
    stdout_of(root, args, &output)
}

/// Runs `git` in `root` and returns what it printed and its exit status,
/// whatever the status: for a caller that reads the status itself (`git
/// merge-tree` exits 1 when a merge would conflict).
///
/// # Errors
///
/// When git cannot be started.
// git_cli owns the runs of git.
#[allow(clippy::disallowed_methods)]
pub fn output(root: &Path, args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("git").current_dir(root).args(args).output()
}

/// The stdout of a git run that exited 0, else its stderr as the error.
fn stdout_of(root: &Path, args: &[&str], output: &std::process::Output) -> Result<String> {
    if !output.status.success() {
        return Err(Error::environment(format!(
            "git {} failed in {}: {}",
            args.join(" "),
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `git` in `root` with extra environment variables, writing
/// `input` to its stdin, and returns its stdout: for plumbing that reads
/// stdin (`hash-object --stdin`, `mktree`, `cat-file --batch`).
///
/// # Errors
///
/// As [`run`].
// git_cli owns the runs of git.
#[allow(clippy::disallowed_methods)]
pub fn run_input(root: &Path, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Result<String> {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .current_dir(root)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::environment(format!("cannot run git: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A git that exits early closes its stdin: its status says why.
        let _ = stdin.write_all(input);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Error::environment(format!("cannot run git: {e}")))?;
    stdout_of(root, args, &output)
}

/// Runs `git` in `root` with extra environment variables.
///
/// # Errors
///
/// As [`run`].
pub fn run_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    run_with_env(root, args, env)
}

/// Runs `git` for a commit or tag that trainyard makes, dated `now`: the
/// workspace's clock, so that a pinned clock (`TRAINYARD_NOW`) dates the
/// release commits and tags it makes too.
///
/// # Errors
///
/// As [`run`].
pub fn run_dated(root: &Path, args: &[&str], now: jiff::Timestamp) -> Result<String> {
    let date = format!("@{} +0000", now.as_second());
    run_with_env(
        root,
        args,
        &[("GIT_AUTHOR_DATE", &date), ("GIT_COMMITTER_DATE", &date)],
    )
}

/// The paths among `paths` (relative to `root`) that have uncommitted
/// changes, staged or not.
///
/// # Errors
///
/// As [`run`].
pub fn uncommitted(root: &Path, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    // No optional locks: a status must not refresh (write) the index.
    let mut args: Vec<String> = [
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(root, &refs)?;
    Ok(out
        .split('\0')
        .filter(|entry| entry.len() > 3)
        .map(|entry| PathBuf::from(&entry[3..]))
        .collect())
}

/// A temporary checkout of one revision (`git worktree add --detach`),
/// removed when dropped. Release steps read and build a release commit
/// there, leaving the user's own checkout untouched.
#[derive(Debug)]
pub struct Worktree {
    repo_root: PathBuf,
    dir: tempfile::TempDir,
}

impl Worktree {
    /// Checks out `rev` (detached) in a new temporary directory.
    ///
    /// # Errors
    ///
    /// As [`run`].
    pub fn add(repo_root: &Path, rev: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("trainyard-worktree-")
            .tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let path = dir.path().display().to_string();
        run(
            repo_root,
            &["worktree", "add", "--quiet", "--detach", &path, rev],
        )?;
        Ok(Worktree {
            repo_root: repo_root.to_path_buf(),
            dir,
        })
    }

    /// Checks out `branch` in a new temporary directory, so commits made
    /// there move the branch.
    ///
    /// # Errors
    ///
    /// As [`run`].
    pub fn on_branch(repo_root: &Path, branch: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("trainyard-worktree-")
            .tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let path = dir.path().display().to_string();
        run(repo_root, &["worktree", "add", "--quiet", &path, branch])?;
        Ok(Worktree {
            repo_root: repo_root.to_path_buf(),
            dir,
        })
    }

    /// The checkout's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let path = self.dir.path().display().to_string();
        // Best effort: a leftover registration is pruned by the next
        // `git worktree prune`.
        let _ = run(&self.repo_root, &["worktree", "remove", "--force", &path]);
    }
}

/// Whether a ref (branch, tag) exists locally.
pub fn ref_exists(root: &Path, full_ref: &str) -> bool {
    run(root, &["rev-parse", "--verify", "--quiet", full_ref]).is_ok()
}

/// The commit a revision points to (tags peeled).
///
/// # Errors
///
/// As [`run`].
pub fn commit_of(root: &Path, rev: &str) -> Result<String> {
    Ok(run(
        root,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )?
    .trim()
    .to_owned())
}

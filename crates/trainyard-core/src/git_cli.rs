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
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .map_err(|e| Error::environment(format!("cannot run git: {e}")))?;
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

//! Validation: the plan's paths and changes, and paths inside the target.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::sync::model::{Change, ChangeKind, SyncPath};
use crate::{Error, Result};

/// The components of a path, which [`check_path`] has accepted.
pub(super) fn components(path: &SyncPath) -> Vec<&[u8]> {
    path.0.split(|&b| b == b'/').collect()
}

/// The path of the first `n` components.
pub(super) fn prefix(path: &SyncPath, n: usize) -> SyncPath {
    SyncPath(components(path)[..n].join(&b'/'))
}

/// `dir` (relative to the root, empty for the root) joined with `name`.
pub(super) fn child(dir: &SyncPath, name: &[u8]) -> SyncPath {
    if dir.0.is_empty() {
        SyncPath(name.to_vec())
    } else {
        let mut bytes = dir.0.clone();
        bytes.push(b'/');
        bytes.extend_from_slice(name);
        SyncPath(bytes)
    }
}

/// The parent of a path (empty for a top-level name).
pub(super) fn parent(path: &SyncPath) -> SyncPath {
    match path.0.iter().rposition(|&b| b == b'/') {
        Some(i) => SyncPath(path.0[..i].to_vec()),
        None => SyncPath(Vec::new()),
    }
}

/// Whether `path` lies strictly under `dir`.
pub(super) fn is_under(path: &SyncPath, dir: &SyncPath) -> bool {
    path.0.len() > dir.0.len() && path.0.starts_with(&dir.0) && path.0[dir.0.len()] == b'/'
}

/// The OS path of `rel` under `root` (the root itself for an empty path).
pub(super) fn under(root: &Path, rel: &SyncPath) -> PathBuf {
    if rel.0.is_empty() {
        root.to_path_buf()
    } else {
        rel.under(root)
    }
}

/// Refuses a path that could leave the root: empty, absolute, with empty,
/// `.` or `..` components, or with a NUL byte.
pub(super) fn check_path(path: &SyncPath) -> Result<()> {
    let bad = path.0.is_empty()
        || path.0.contains(&0)
        || path
            .0
            .split(|&b| b == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..");
    if bad {
        return Err(Error::input(format!(
            "the plan holds the unsafe path `{path}`: paths must be relative, without empty, `.` or `..` parts"
        )));
    }
    Ok(())
}

/// Checks the plan's changes on their own.
pub(super) fn validate(changes: &[Change]) -> Result<()> {
    let mut seen = HashSet::new();
    let mut files = HashSet::new();
    for change in changes {
        check_path(&change.path)?;
        if !seen.insert(&change.path) {
            return Err(Error::input(format!(
                "the plan changes `{}` twice",
                change.path
            )));
        }
        let needs_after = change.kind != ChangeKind::Delete;
        let needs_before = change.kind != ChangeKind::Add;
        if needs_after != change.after.is_some() || needs_before != change.before.is_some() {
            return Err(Error::input(format!(
                "the plan's change of `{}` lacks its before or after entry",
                change.path
            )));
        }
        if needs_after {
            files.insert(change.path.clone());
        }
    }
    // No planned file may sit under another planned file.
    for path in &files {
        let depth = components(path).len();
        for n in 1..depth {
            let above = prefix(path, n);
            if files.contains(&above) {
                return Err(Error::input(format!(
                    "the plan puts `{path}` under `{above}`, which it also makes a file"
                )));
            }
        }
    }
    Ok(())
}

/// Creates the target root when missing and returns its canonical path.
pub(super) fn prepare_root(target_root: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(target_root)
        .map_err(|e| Error::io("cannot create target directory", target_root, e))?;
    let root = std::fs::canonicalize(target_root)
        .map_err(|e| Error::io("cannot resolve target directory", target_root, e))?;
    if !root.is_dir() {
        return Err(Error::input(format!(
            "target {} is not a directory",
            target_root.display()
        )));
    }
    Ok(root)
}

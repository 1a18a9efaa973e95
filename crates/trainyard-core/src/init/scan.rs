//! The directories of a working tree, and the workspace patterns
//! (`crates/*`, `packages/**`, `!**/test/**`) that pick packages among them.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::{Error, Result};

/// Directories never looked into: version control's, trainyard's own, and
/// what builds, package managers and virtual environments make.
const SKIPPED_DIRS: &[&str] = &[".git", ".trainyard", "node_modules", "target", ".venv"];

/// How deep below the root a workspace pattern reaches.
const MAX_DEPTH: usize = 6;

/// Every directory under `root` (not `root` itself) down to `MAX_DEPTH`
/// levels, relative to `root`, sorted. Symbolic links are not followed.
///
/// # Errors
///
/// Returns an [`Error::Io`] when a directory cannot be read.
pub(super) fn directories(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    walk(root, Path::new(""), 1, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let full = root.join(dir);
    let entries = std::fs::read_dir(&full).map_err(|e| Error::io("cannot read", &full, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", &full, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot read", entry.path(), e))?;
        let name = entry.file_name();
        if !kind.is_dir() || SKIPPED_DIRS.iter().any(|s| name == *s) {
            continue;
        }
        let rel = dir.join(&name);
        found.push(rel.clone());
        walk(root, &rel, depth + 1, found)?;
    }
    Ok(())
}

/// Workspace patterns: directories to take, and (`!` before a pattern) to
/// leave out.
pub(super) struct Patterns {
    take: GlobSet,
    leave: GlobSet,
    /// Patterns without wildcards, checked directly (they may lie deeper
    /// than the walk reaches).
    literal: Vec<PathBuf>,
}

impl Patterns {
    /// Reads patterns as `origin` (a file name, for error messages) lists
    /// them.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming a pattern that does not parse.
    pub(super) fn new(origin: &str, patterns: &[String]) -> Result<Self> {
        let mut take = GlobSetBuilder::new();
        let mut leave = GlobSetBuilder::new();
        let mut literal = Vec::new();
        for pattern in patterns {
            let (negated, text) = match pattern.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, pattern.as_str()),
            };
            let text = clean(text);
            if text.is_empty() {
                continue;
            }
            if !negated && !text.contains(['*', '?', '[', '{']) {
                literal.push(PathBuf::from(&text));
                continue;
            }
            let glob = glob(&text).map_err(|e| {
                Error::input(format!("{origin}: workspace pattern `{pattern}`: {e}"))
            })?;
            if negated {
                leave.add(glob);
            } else {
                take.add(glob);
            }
        }
        let build = |set: GlobSetBuilder| {
            set.build()
                .map_err(|e| Error::input(format!("{origin}: workspace patterns: {e}")))
        };
        Ok(Patterns {
            take: build(take)?,
            leave: build(leave)?,
            literal,
        })
    }

    /// The directories among `dirs` (and the literal ones that exist under
    /// `root`) that the patterns take and do not leave out, sorted.
    pub(super) fn select(&self, root: &Path, dirs: &[PathBuf]) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = dirs
            .iter()
            .filter(|d| self.take.is_match(d))
            .cloned()
            .chain(
                self.literal
                    .iter()
                    .filter(|d| root.join(d).is_dir())
                    .cloned(),
            )
            .filter(|d| !self.leave.is_match(d))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A pattern as written less a leading `./` and a trailing `/`.
fn clean(text: &str) -> String {
    let mut text = text.trim();
    while let Some(rest) = text.strip_prefix("./") {
        text = rest;
    }
    text.trim_end_matches('/').to_owned()
}

fn glob(text: &str) -> std::result::Result<Glob, globset::Error> {
    GlobBuilder::new(text).literal_separator(true).build()
}

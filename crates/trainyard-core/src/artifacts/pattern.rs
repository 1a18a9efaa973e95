//! The globs of an artifact entry: reading them, refusing the unsafe ones,
//! and finding the files they select.

use std::path::{Path, PathBuf};

use super::{OUT_PREFIX, canonical};
use crate::{Error, Result};

/// A parsed, checked glob of an [`ArtifactConfig`](super::ArtifactConfig).
pub(super) struct Pattern {
    /// Relative to `TRAINYARD_OUT` rather than the worktree.
    pub(super) in_out: bool,
    /// The literal directories before the first wildcard: where to walk.
    base: PathBuf,
    /// The whole pattern is a literal path.
    literal: bool,
    matcher: globset::GlobMatcher,
    text: String,
}

impl Pattern {
    pub(super) fn parse(entry: &str, raw: &str) -> Result<Self> {
        let (in_out, text) = match raw
            .strip_prefix(OUT_PREFIX)
            .or_else(|| raw.strip_prefix("${TRAINYARD_OUT}/"))
        {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let bad =
            |why: &str| Error::input(format!("release.artifacts `{entry}`: glob `{raw}` {why}"));
        if text.is_empty() {
            return Err(bad("is empty"));
        }
        if text.starts_with('/') || text.starts_with('\\') || Path::new(text).is_absolute() {
            return Err(bad(
                "is absolute; write it relative to the worktree or as $TRAINYARD_OUT/...",
            ));
        }
        if text.split(['/', '\\']).any(|c| c == "..") {
            return Err(bad(
                "contains `..`; artifacts must come from inside the worktree",
            ));
        }
        if text.starts_with('$') {
            return Err(bad(
                "uses a variable other than $TRAINYARD_OUT/ at its start",
            ));
        }
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| bad(&format!("is not a valid glob: {}", e.kind())))?;
        let components: Vec<&str> = text
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let is_wild = |c: &str| c.contains(['*', '?', '[', '{', '\\']);
        let literal = !components.iter().any(|c| is_wild(c));
        let mut base = PathBuf::new();
        for c in &components {
            if is_wild(c) {
                break;
            }
            base.push(c);
        }
        Ok(Pattern {
            in_out,
            base,
            literal,
            matcher: glob.compile_matcher(),
            text: components.join("/"),
        })
    }

    /// The regular files under `root` this pattern selects. `skip` (the
    /// collection directory) is never walked.
    pub(super) fn find(&self, root: &Path, root_label: &str, skip: &Path) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        if self.literal {
            let path = root.join(&self.base);
            if std::fs::symlink_metadata(&path).is_ok() {
                let real = self.inside(root, root_label, &path)?;
                if real.is_file() {
                    found.push(real);
                }
            }
            return Ok(found);
        }
        let start = root.join(&self.base);
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(Error::io("cannot list directory", dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot list directory", &dir, e))?;
                let path = entry.path();
                let kind = entry
                    .file_type()
                    .map_err(|e| Error::io("cannot inspect", &path, e))?;
                if kind.is_dir() {
                    if entry.file_name() != ".git" && path != skip {
                        stack.push(path);
                    }
                    continue;
                }
                let Ok(rel) = path.strip_prefix(root) else {
                    continue;
                };
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if !self.matcher.is_match(&rel) {
                    continue;
                }
                // A symbolic link must resolve to a file inside the root;
                // links to directories are not followed.
                let real = self.inside(root, root_label, &path)?;
                if real.is_file() {
                    found.push(real);
                }
            }
        }
        Ok(found)
    }

    /// `path` resolved, refused when it leaves `root`.
    fn inside(&self, root: &Path, root_label: &str, path: &Path) -> Result<PathBuf> {
        let real = canonical(path)?;
        if !real.starts_with(root) {
            return Err(Error::input(format!(
                "glob `{}` selects {}, which resolves to {} outside {root_label}",
                self.text,
                path.display(),
                real.display()
            )));
        }
        Ok(real)
    }
}

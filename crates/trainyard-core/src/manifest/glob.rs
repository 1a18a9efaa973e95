//! Manifest paths with glob patterns (`packages/*/package.json`): each
//! pattern stands for every file it matches, so one spec can name the
//! manifests of many packages that share one version.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use super::{ManifestSpec, RegexManifest};
use crate::{Error, Result};

/// Directories a pattern never reaches into: what a build or a package
/// manager makes, and version control's own.
const SKIPPED_DIRS: &[&str] = &[".git", ".trainyard", "node_modules", "target"];

/// Whether `path` is a pattern rather than one file.
pub(super) fn is_pattern(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '[', '{'])
}

/// `specs` with every pattern replaced by one spec per file it matches
/// under `root`, in path order (a file named by two specs is read once
/// later on, as for any spec).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming a pattern that does not parse or
/// matches no file, and an [`Error::Io`] when a directory cannot be read.
pub(super) fn expand(root: &Path, specs: &[ManifestSpec]) -> Result<Vec<ManifestSpec>> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        if !is_pattern(spec.path()) {
            out.push(spec.clone());
            continue;
        }
        let pattern = spec.path().to_string_lossy().into_owned();
        let matcher = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::input(format!("manifest path `{pattern}`: {e}")))?
            .compile_matcher();
        let mut found = Vec::new();
        walk(root, Path::new(""), &matcher, &mut found)?;
        if found.is_empty() {
            return Err(Error::input(format!(
                "manifest path `{pattern}` matches no file"
            )));
        }
        found.sort();
        out.extend(found.into_iter().map(|path| with_path(spec, path)));
    }
    Ok(out)
}

/// Collects the files under `root/dir` whose path relative to `root`
/// matches. Symbolic links are not followed.
fn walk(root: &Path, dir: &Path, matcher: &GlobMatcher, found: &mut Vec<PathBuf>) -> Result<()> {
    let full = root.join(dir);
    let entries = std::fs::read_dir(&full).map_err(|e| Error::io("cannot read", &full, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", &full, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot read", entry.path(), e))?;
        let rel = dir.join(entry.file_name());
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                walk(root, &rel, matcher, found)?;
            }
        } else if kind.is_file() && matcher.is_match(&rel) {
            found.push(rel);
        }
    }
    Ok(())
}

/// `spec` naming `path` instead of its pattern.
fn with_path(spec: &ManifestSpec, path: PathBuf) -> ManifestSpec {
    match spec {
        ManifestSpec::Cargo { .. } => ManifestSpec::Cargo { path },
        ManifestSpec::Npm { .. } => ManifestSpec::Npm { path },
        ManifestSpec::Pyproject { .. } => ManifestSpec::Pyproject { path },
        ManifestSpec::VersionFile { .. } => ManifestSpec::VersionFile { path },
        ManifestSpec::Regex(r) => ManifestSpec::Regex(RegexManifest { path, ..r.clone() }),
    }
}

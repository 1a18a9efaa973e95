//! Manifests: the files of a repository that carry its version.
//!
//! trainyard reads the version each manifest carries (to report the ones
//! that disagree with a tag) and writes a release version into every one of
//! them with the formatting kept: an edit replaces only the bytes of the
//! version string, so a bump is a one-line diff per value.
//!
//! The work is split into pure computation and effects:
//!
//! - [`detect`] finds the manifests present at a repository root;
//! - [`read_versions`] reports the version each manifest carries;
//! - [`plan_bump`] computes a [`BumpPlan`] (the edits and their diff) and
//!   writes nothing;
//! - [`apply`] writes a plan, after checking that no file changed since.
//!
//! For a monorepo whose packages carry their own versions:
//!
//! - [`declared_names`] gives the package names manifests declare;
//! - [`dependencies_on`] finds the requirements manifests hold on some of
//!   those packages;
//! - [`plan_package_bumps`] computes one plan that moves several packages
//!   to their own versions, rewrites the requirements on them in every
//!   other manifest and keeps `Cargo.lock`, `package-lock.json` and
//!   `pnpm-lock.yaml` in step.
//!
//! Supported kinds ([`ManifestSpec`]): Cargo manifests and workspaces,
//! `package.json`, `pyproject.toml` (PEP 621 and Poetry), a plain `VERSION`
//! file, and any file with a regular expression naming the version.

mod bumps;
mod cargo;
mod dependencies;
mod glob;
mod json;
mod npm;
mod npm_lock;
mod pep440;
mod plain;
mod pnpm_lock;
mod pyproject;
mod requirement;
mod text;

pub use bumps::{PackageBump, plan_package_bumps};
pub use dependencies::{InternalDependency, declared_names, dependencies_on};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_deps;
#[cfg(test)]
mod tests_requirement;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One manifest to read or bump, as named in `versioning.manifests` of the
/// configuration.
///
/// Paths are relative to the repository root; a glob pattern
/// (`packages/*/package.json`) names every file it matches, outside
/// `.git`, `node_modules` and `target`. In YAML:
///
/// ```yaml
/// versioning:
///   manifests:
///     - kind: cargo            # path defaults to Cargo.toml
///     - kind: npm
///       path: web/package.json
///     - kind: npm              # every package, one version
///       path: "packages/*/package.json"
///     - kind: pyproject        # path defaults to pyproject.toml
///     - kind: version_file     # path defaults to VERSION
///     - kind: regex
///       path: src/version.h
///       pattern: '#define VERSION "([^"]+)"'
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ManifestSpec {
    /// A `Cargo.toml`: `package.version`, and for a workspace root also
    /// `workspace.package.version`, every member's `package.version` and the
    /// version requirements of the path dependencies between members.
    Cargo {
        /// The manifest, relative to the repository root.
        #[serde(default = "default_cargo_path", deserialize_with = "checked_path")]
        path: PathBuf,
    },
    /// A `package.json`: its top-level `"version"`.
    Npm {
        /// The manifest, relative to the repository root.
        #[serde(default = "default_npm_path", deserialize_with = "checked_path")]
        path: PathBuf,
    },
    /// A `pyproject.toml`: `[project].version` and `[tool.poetry].version`.
    Pyproject {
        /// The manifest, relative to the repository root.
        #[serde(default = "default_pyproject_path", deserialize_with = "checked_path")]
        path: PathBuf,
    },
    /// A plain file whose whole trimmed content is the version.
    VersionFile {
        /// The file, relative to the repository root.
        #[serde(
            default = "default_version_file_path",
            deserialize_with = "checked_path"
        )]
        path: PathBuf,
    },
    /// Any file, with a regular expression whose capture group holds the
    /// version.
    Regex(RegexManifest),
}

/// A file whose version a regular expression finds.
///
/// The pattern has a group named `version`, or exactly one capture group;
/// every match's group is the version and every one is replaced on a bump.
/// Use `(?m)` for `^`/`$` to match at line boundaries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexManifest {
    /// The file, relative to the repository root.
    #[serde(deserialize_with = "checked_path")]
    pub path: PathBuf,
    /// The regular expression (Rust `regex` syntax).
    #[serde(deserialize_with = "checked_pattern")]
    pub pattern: String,
}

/// Reads a manifest path and refuses one that leaves the repository, so
/// the configuration error points at the path itself.
fn checked_path<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    let path = PathBuf::deserialize(deserializer)?;
    relative_path(&path).map_err(serde::de::Error::custom)?;
    Ok(path)
}

/// Reads a regex manifest's pattern and refuses one that does not compile
/// or has no version group, at the pattern's own line.
fn checked_pattern<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let pattern = String::deserialize(deserializer)?;
    plain::compile_pattern(&pattern).map_err(serde::de::Error::custom)?;
    Ok(pattern)
}

fn default_cargo_path() -> PathBuf {
    PathBuf::from("Cargo.toml")
}

fn default_npm_path() -> PathBuf {
    PathBuf::from("package.json")
}

fn default_pyproject_path() -> PathBuf {
    PathBuf::from("pyproject.toml")
}

fn default_version_file_path() -> PathBuf {
    PathBuf::from("VERSION")
}

impl ManifestSpec {
    /// The kind of manifest this spec names.
    pub fn kind(&self) -> ManifestKind {
        match self {
            ManifestSpec::Cargo { .. } => ManifestKind::Cargo,
            ManifestSpec::Npm { .. } => ManifestKind::Npm,
            ManifestSpec::Pyproject { .. } => ManifestKind::Pyproject,
            ManifestSpec::VersionFile { .. } => ManifestKind::VersionFile,
            ManifestSpec::Regex(_) => ManifestKind::Regex,
        }
    }

    /// The manifest's path, relative to the repository root, as written.
    pub fn path(&self) -> &Path {
        match self {
            ManifestSpec::Cargo { path }
            | ManifestSpec::Npm { path }
            | ManifestSpec::Pyproject { path }
            | ManifestSpec::VersionFile { path } => path,
            ManifestSpec::Regex(r) => &r.path,
        }
    }

    /// The same spec for the file at the same place under `dir`.
    pub fn moved_under(&self, dir: &Path) -> ManifestSpec {
        let path = dir.join(self.path());
        match self {
            ManifestSpec::Cargo { .. } => ManifestSpec::Cargo { path },
            ManifestSpec::Npm { .. } => ManifestSpec::Npm { path },
            ManifestSpec::Pyproject { .. } => ManifestSpec::Pyproject { path },
            ManifestSpec::VersionFile { .. } => ManifestSpec::VersionFile { path },
            ManifestSpec::Regex(r) => ManifestSpec::Regex(RegexManifest {
                path,
                pattern: r.pattern.clone(),
            }),
        }
    }

    /// Checks what can be checked without reading the file: the path is
    /// relative and stays inside the repository, and a regex pattern
    /// compiles and has the one group that holds the version.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Input`] naming the manifest and what is wrong.
    pub fn validate(&self) -> Result<()> {
        relative_path(self.path())?;
        if let ManifestSpec::Regex(r) = self {
            plain::compile(r)?;
        }
        Ok(())
    }
}

/// Validates every spec before any pattern is expanded, so a bad path is
/// refused before the tree is read.
fn validate_all(specs: &[ManifestSpec]) -> Result<()> {
    specs.iter().try_for_each(ManifestSpec::validate)
}

/// The kind of a manifest, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestKind {
    /// `Cargo.toml`.
    Cargo,
    /// `package.json`.
    Npm,
    /// `pyproject.toml`.
    Pyproject,
    /// A plain version file.
    VersionFile,
    /// A file with a regular expression.
    Regex,
}

impl ManifestKind {
    /// The kind's name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestKind::Cargo => "cargo",
            ManifestKind::Npm => "npm",
            ManifestKind::Pyproject => "pyproject",
            ManifestKind::VersionFile => "version_file",
            ManifestKind::Regex => "regex",
        }
    }
}

impl fmt::Display for ManifestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version found (or not) in one place of one manifest.
///
/// One manifest can give several: a Cargo workspace gives one per member
/// and one for `workspace.package.version`; a regex file one per match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestVersion {
    /// The manifest, relative to the repository root.
    pub path: PathBuf,
    /// Its kind.
    pub kind: ManifestKind,
    /// Where in the file: `package.version`, `workspace.package.version`,
    /// `project.version`, `tool.poetry.version`, `version` (package.json
    /// and version files) or `line N` (a regex match).
    pub key: String,
    /// The version as written, or `None` when the manifest carries none
    /// (see `reason`).
    pub version: Option<String>,
    /// Whether the version is inherited (a Cargo member with
    /// `version.workspace = true` carries the workspace's version).
    pub inherited: bool,
    /// Why `version` is `None`, e.g. `dynamic version ([project].dynamic
    /// lists "version")`.
    pub reason: Option<String>,
}

impl ManifestVersion {
    /// Whether this manifest's version is `expected`: `None` when it carries
    /// no version. A version that parses as semver is compared as semver
    /// (so `1.2.3` and ` 1.2.3` agree); anything else as text.
    pub fn agrees_with(&self, expected: &semver::Version) -> Option<bool> {
        let found = self.version.as_deref()?.trim();
        Some(match semver::Version::parse(found) {
            Ok(v) => &v == expected,
            Err(_) => found == expected.to_string(),
        })
    }
}

/// The versions among `versions` that carry a version other than
/// `expected` (those that carry none are not included).
pub fn disagreements<'a>(
    versions: &'a [ManifestVersion],
    expected: &semver::Version,
) -> Vec<&'a ManifestVersion> {
    versions
        .iter()
        .filter(|v| v.agrees_with(expected) == Some(false))
        .collect()
}

/// One file's change: its whole content before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEdit {
    /// The file, relative to the repository root.
    pub path: PathBuf,
    /// The content the plan was computed from.
    pub before: String,
    /// The content to write.
    pub after: String,
}

impl FileEdit {
    /// The edit as a unified diff with `a/` and `b/` headers and three
    /// lines of context.
    pub fn unified_diff(&self) -> String {
        let name = display_path(&self.path);
        similar::TextDiff::from_lines(self.before.as_str(), self.after.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    }
}

/// Something a plan leaves as it is, and why (a dynamic version, a member
/// without a version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanNote {
    /// The manifest concerned, relative to the repository root.
    pub path: PathBuf,
    /// What was left and why, e.g. `dynamic version ([project].dynamic
    /// lists "version"), left as is`.
    pub message: String,
}

/// The edits that write a version into manifests: a value, computed by
/// [`plan_bump`] and written by [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BumpPlan {
    /// The version written.
    pub version: String,
    /// One edit per file that changes, ordered by path. Files already at
    /// the version have none.
    pub edits: Vec<FileEdit>,
    /// What was left as it is, and why.
    pub notes: Vec<PlanNote>,
}

impl BumpPlan {
    /// Whether the plan changes no file.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The files the plan changes, relative to the repository root.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.edits.iter().map(|e| e.path.clone()).collect()
    }

    /// All edits as one unified diff (`a/`/`b/` headers, three lines of
    /// context), in the order of [`BumpPlan::edits`]; empty when the plan
    /// changes nothing.
    pub fn unified_diff(&self) -> String {
        self.edits.iter().map(FileEdit::unified_diff).collect()
    }
}

/// The manifests present at `root` that carry a version, as specs with
/// their default paths, in the order `Cargo.toml`, `package.json`,
/// `pyproject.toml`, `VERSION`.
///
/// A manifest that carries no version (a `package.json` without
/// `"version"`, a `pyproject.toml` whose version is dynamic, an empty
/// `VERSION`) is left out. Used by `trainyard init` and as the default when
/// the configuration names no manifests.
///
/// # Errors
///
/// Returns [`Error::Input`] when a present manifest is malformed (naming
/// the file, line and column) and [`Error::Io`] when one cannot be read.
pub fn detect(root: &Path) -> Result<Vec<ManifestSpec>> {
    let candidates = [
        ManifestSpec::Cargo {
            path: default_cargo_path(),
        },
        ManifestSpec::Npm {
            path: default_npm_path(),
        },
        ManifestSpec::Pyproject {
            path: default_pyproject_path(),
        },
        ManifestSpec::VersionFile {
            path: default_version_file_path(),
        },
    ];
    let mut found = Vec::new();
    for spec in candidates {
        if !root.join(spec.path()).is_file() {
            continue;
        }
        let versions = read_versions(root, std::slice::from_ref(&spec))?;
        if versions.iter().any(|v| v.version.is_some()) {
            found.push(spec);
        }
    }
    Ok(found)
}

/// Reads the versions the manifests carry.
///
/// Returns one [`ManifestVersion`] per place a version is (or should be),
/// in the order of `specs`; a place seen through two specs is reported
/// once. A manifest without a version gives an entry with `version: None`
/// and the reason, not an error.
///
/// # Errors
///
/// Returns [`Error::Input`] when a spec is invalid, a listed manifest does
/// not exist, or a manifest is malformed (naming the file and where), and
/// [`Error::Io`] when a file cannot be read.
pub fn read_versions(root: &Path, specs: &[ManifestSpec]) -> Result<Vec<ManifestVersion>> {
    let mut files = Files::new(root);
    let mut out: Vec<ManifestVersion> = Vec::new();
    validate_all(specs)?;
    for spec in &glob::expand(root, specs)? {
        let path = relative_path(spec.path())?;
        let found = match spec {
            ManifestSpec::Cargo { .. } => cargo::read(&mut files, &path)?,
            ManifestSpec::Npm { .. } => npm::read(&mut files, &path)?,
            ManifestSpec::Pyproject { .. } => pyproject::read(&mut files, &path)?,
            ManifestSpec::VersionFile { .. } => plain::read_version_file(&mut files, &path)?,
            ManifestSpec::Regex(r) => plain::read_regex(&mut files, &path, r)?,
        };
        for v in found {
            if !out.iter().any(|o| o.path == v.path && o.key == v.key) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Computes the edits that write `new_version` into every manifest of
/// `specs`. Writes nothing.
///
/// Each edit replaces only the bytes of a version string (keeping quotes,
/// indentation, key order, line endings and the final newline), so each
/// value changed is a one-line diff. Files already at the version give no
/// edit. Several specs may touch one file; the edit holds all changes.
///
/// # Errors
///
/// Returns [`Error::Input`] when a spec is invalid, a listed manifest does
/// not exist, is malformed, or has no version to replace (e.g.
/// `package.json: no top-level "version" key`), naming the file and where;
/// and [`Error::Io`] when a file cannot be read.
pub fn plan_bump(
    root: &Path,
    specs: &[ManifestSpec],
    new_version: &semver::Version,
) -> Result<BumpPlan> {
    let mut files = Files::new(root);
    let mut notes = Vec::new();
    validate_all(specs)?;
    plan_into(&mut files, root, specs, new_version, &mut notes)?;
    Ok(BumpPlan {
        version: new_version.to_string(),
        edits: files.into_edits(),
        notes,
    })
}

/// Writes `new_version` into every manifest of `specs` (validated), in
/// `files`: the work of [`plan_bump`], shared with
/// [`plan_package_bumps`].
fn plan_into(
    files: &mut Files<'_>,
    root: &Path,
    specs: &[ManifestSpec],
    new_version: &semver::Version,
    notes: &mut Vec<PlanNote>,
) -> Result<()> {
    let new = new_version.to_string();
    for spec in &glob::expand(root, specs)? {
        let path = relative_path(spec.path())?;
        match spec {
            ManifestSpec::Cargo { .. } => cargo::plan(files, &path, new_version, notes)?,
            ManifestSpec::Npm { .. } => npm::plan(files, &path, &new)?,
            ManifestSpec::Pyproject { .. } => pyproject::plan(files, &path, &new, notes)?,
            ManifestSpec::VersionFile { .. } => plain::plan_version_file(files, &path, &new)?,
            ManifestSpec::Regex(r) => plain::plan_regex(files, &path, r, &new)?,
        }
    }
    Ok(())
}

/// Writes a plan: every edit's `after`, each with
/// [`crate::fsutil::write_atomic`].
///
/// Every file is first checked to still hold the plan's `before` bytes;
/// if one does not, nothing is written. Returns the paths written,
/// relative to `root`, in the plan's order.
///
/// # Errors
///
/// Returns [`Error::Input`] naming the first file that changed (or
/// disappeared) since the plan was computed, and [`Error::Io`] when a file
/// cannot be read or written.
pub fn apply(root: &Path, plan: &BumpPlan) -> Result<Vec<PathBuf>> {
    for edit in &plan.edits {
        let rel = relative_path(&edit.path)?;
        let full = root.join(&rel);
        let current = match std::fs::read(&full) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(format!(
                    "{}: removed since the bump was planned; plan again",
                    display_path(&rel)
                )));
            }
            Err(e) => return Err(Error::io("cannot read", full, e)),
        };
        if current != edit.before.as_bytes() {
            return Err(Error::input(format!(
                "{}: changed since the bump was planned; plan again",
                display_path(&rel)
            )));
        }
    }
    let mut written = Vec::with_capacity(plan.edits.len());
    for edit in &plan.edits {
        let rel = relative_path(&edit.path)?;
        crate::fsutil::write_atomic(&root.join(&rel), edit.after.as_bytes())?;
        written.push(rel);
    }
    Ok(written)
}

/// The files a plan reads and edits: each one's content on disk and its
/// content with the edits so far.
pub(crate) struct Files<'a> {
    root: &'a Path,
    entries: BTreeMap<PathBuf, FileState>,
}

struct FileState {
    original: String,
    current: String,
}

impl<'a> Files<'a> {
    fn new(root: &'a Path) -> Self {
        Files {
            root,
            entries: BTreeMap::new(),
        }
    }

    /// Whether `rel` is a file (edited or on disk).
    fn exists(&self, rel: &Path) -> bool {
        self.entries.contains_key(rel) || self.root.join(rel).is_file()
    }

    /// The current content of `rel`, read from disk the first time.
    fn text(&mut self, rel: &Path) -> Result<String> {
        if let Some(state) = self.entries.get(rel) {
            return Ok(state.current.clone());
        }
        let full = self.root.join(rel);
        let bytes = match std::fs::read(&full) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(format!(
                    "{}: manifest not found",
                    display_path(rel)
                )));
            }
            Err(e) => return Err(Error::io("cannot read", full, e)),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::input(format!(
                "{}: not valid UTF-8 (at byte {})",
                display_path(rel),
                e.utf8_error().valid_up_to()
            ))
        })?;
        self.entries.insert(
            rel.to_path_buf(),
            FileState {
                original: text.clone(),
                current: text.clone(),
            },
        );
        Ok(text)
    }

    /// Replaces the current content of `rel`, which must have been read.
    fn set(&mut self, rel: &Path, text: String) -> Result<()> {
        match self.entries.get_mut(rel) {
            Some(state) => {
                state.current = text;
                Ok(())
            }
            None => Err(Error::Internal(format!(
                "{} edited before it was read",
                display_path(rel)
            ))),
        }
    }

    fn into_edits(self) -> Vec<FileEdit> {
        self.entries
            .into_iter()
            .filter(|(_, s)| s.original != s.current)
            .map(|(path, s)| FileEdit {
                path,
                before: s.original,
                after: s.current,
            })
            .collect()
    }
}

/// A path as shown in messages and diffs: with `/` separators.
pub(crate) fn display_path(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Normalizes a relative path lexically (`.` dropped, `..` resolved),
/// refusing an absolute path or one that leaves the repository.
fn relative_path(path: &Path) -> Result<PathBuf> {
    match normalize(path) {
        Some(p) if !p.as_os_str().is_empty() => Ok(p),
        Some(_) => Err(Error::input(format!(
            "manifest path {:?} names no file",
            path.display().to_string()
        ))),
        None => Err(Error::input(format!(
            "manifest path {}: must be relative to the repository root and stay inside it",
            path.display()
        ))),
    }
}

/// Lexical normalization of a relative path; `None` when it is absolute or
/// climbs above its start.
pub(crate) fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

//! Several packages of a monorepo bumped at once, each to its own version,
//! with the requirements on them and the lockfiles kept in step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::dependencies::{self, Ecosystem, Located, Shape};
use super::requirement::{self, Rewrite, normalize_python_name};
use super::text::{Replacement, TomlStr, splice};
use super::{BumpPlan, Files, ManifestSpec, display_path, json, npm_lock, pnpm_lock, validate_all};
use crate::{Error, Result};

/// One package's bump: the manifests that carry its version and the
/// version they get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageBump {
    /// The package's manifests, as in its configuration (globs allowed).
    pub specs: Vec<ManifestSpec>,
    /// Its new version.
    pub version: semver::Version,
}

/// A moved package: its name in an ecosystem and its new version.
type Moved = BTreeMap<(Ecosystem, String), semver::Version>;

/// Computes one plan that moves each of `bumps` to its version and keeps
/// everything that names those packages in step. Writes nothing.
///
/// - Each bump's manifests get its version exactly as [`super::plan_bump`]
///   writes it (a Cargo package's entry in the nearest `Cargo.lock`
///   included).
/// - Every requirement on a bumped package (found by the names its
///   manifests declare, a Cargo workspace root's members included) in the
///   bumped manifests and in `others` (the other packages' manifests and
///   root manifests such as a workspace `Cargo.toml` or `package.json`) is
///   rewritten with its operator kept: `0.2.0` → `0.3.0`, `^0.2` →
///   `^0.3.0`, `workspace:^0.2.0` → `workspace:^0.3.0`, `a>=0.2.0` →
///   `a>=0.3.0`. Requirements naming no version (`workspace:^`, `*`, a
///   path) and ranges that already admit the new version stay.
/// - The nearest `package-lock.json` (lockfileVersion 2 or 3) above a
///   moved npm package gets the package's new version and its dependents'
///   rewritten ranges; the nearest `pnpm-lock.yaml` the rewritten ranges
///   as importers' specifiers.
///
/// Each file changed gets one edit holding all its changes; a file nothing
/// concerns is left byte for byte. The plan's `version` is the bumps'
/// distinct versions in order, joined with `, ` (one version when they
/// share it; empty without bumps).
///
/// # Errors
///
/// As [`super::plan_bump`], and [`Error::Input`] when a requirement on a
/// bumped package does not admit its new version and cannot be rewritten
/// (naming the file, line and key), or a `package-lock.json` to update is
/// of lockfileVersion 1.
pub fn plan_package_bumps(
    root: &Path,
    bumps: &[PackageBump],
    others: &[ManifestSpec],
) -> Result<BumpPlan> {
    let mut files = Files::new(root);
    let mut notes = Vec::new();
    validate_all(others)?;
    let mut moved: Moved = BTreeMap::new();
    let mut npm_moved: Vec<(PathBuf, String)> = Vec::new();
    for bump in bumps {
        validate_all(&bump.specs)?;
        super::plan_into(&mut files, root, &bump.specs, &bump.version, &mut notes)?;
        for (eco, name) in dependencies::names(&mut files, root, &bump.specs, true)? {
            moved.insert(key(eco, &name), bump.version.clone());
        }
        for spec in super::glob::expand(root, &bump.specs)? {
            if let ManifestSpec::Npm { path } = spec {
                npm_moved.push((super::relative_path(&path)?, bump.version.to_string()));
            }
        }
    }
    let wanted = |eco: Ecosystem, name: &str| moved.contains_key(&key(eco, name));
    let mut specs: Vec<ManifestSpec> = bumps.iter().flat_map(|b| b.specs.clone()).collect();
    specs.extend(others.iter().cloned());
    let found = dependencies::locate(&mut files, root, &specs, &wanted)?;
    let mut reps: BTreeMap<PathBuf, Vec<Replacement>> = BTreeMap::new();
    let mut npm_ranges: Vec<(&Located, String)> = Vec::new();
    for dep in &found {
        let new = &moved[&key(dep.ecosystem, &dep.dep.name)];
        let text = files.text(&dep.dep.manifest)?;
        let Some(rewritten) = rewrite(dep, new)? else {
            continue;
        };
        let literal = match &dep.shape {
            Shape::Npm { .. } => {
                npm_ranges.push((dep, rewritten.clone()));
                json::string_literal(&rewritten)
            }
            Shape::Pep508 { full, spec } => {
                let whole = format!("{}{rewritten}{}", &full[..spec.start], &full[spec.end..]);
                toml_literal(&text, dep, full, &whole)
            }
            Shape::Cargo | Shape::Poetry => {
                toml_literal(&text, dep, &dep.dep.requirement, &rewritten)
            }
        };
        reps.entry(dep.dep.manifest.clone())
            .or_default()
            .push(Replacement {
                range: dep.literal.clone(),
                text: literal,
            });
    }
    for (manifest, list) in reps {
        let text = files.text(&manifest)?;
        let after = splice(&text, list)?;
        files.set(&manifest, after)?;
    }
    update_locks(&mut files, &npm_moved, &npm_ranges)?;
    let mut versions: Vec<String> = Vec::new();
    for bump in bumps {
        let v = bump.version.to_string();
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    Ok(BumpPlan {
        version: versions.join(", "),
        edits: files.into_edits(),
        notes,
    })
}

/// The key of `name` in [`Moved`].
fn key(eco: Ecosystem, name: &str) -> (Ecosystem, String) {
    match eco {
        Ecosystem::Python => (eco, normalize_python_name(name)),
        _ => (eco, name.to_owned()),
    }
}

/// The requirement `dep` rewritten for `new`; `None` when it stays.
fn rewrite(dep: &Located, new: &semver::Version) -> Result<Option<String>> {
    let req = &dep.dep.requirement;
    let outcome = match &dep.shape {
        Shape::Cargo => requirement::cargo(req, new),
        Shape::Npm { .. } => requirement::npm(req, new),
        Shape::Pep508 { .. } => requirement::python(req, new),
        Shape::Poetry if ["==", "~=", "!=", ","].iter().any(|op| req.contains(op)) => {
            requirement::python(req, new)
        }
        Shape::Poetry => requirement::npm(req, new),
    };
    match outcome {
        Rewrite::Keep => Ok(None),
        Rewrite::To(text) => Ok(Some(text)),
        Rewrite::Refused => Err(Error::input(format!(
            "{}: line {}: {} requirement {req:?} on {} does not admit {new} and is not a single version to rewrite",
            display_path(&dep.dep.manifest),
            dep.line,
            dep.dep.key,
            dep.dep.name
        ))),
    }
}

/// A TOML literal holding `value` in place of the literal of `dep`, whose
/// string is `old`: written with the same quotes when the literal holds
/// `old` without escapes, else as an escaped basic string.
fn toml_literal(text: &str, dep: &Located, old: &str, value: &str) -> String {
    let raw = &text[dep.literal.clone()];
    let quote = raw.chars().next().map_or(1, char::len_utf8);
    let plain = raw.len() >= 2 * quote && &raw[quote..raw.len() - quote] == old;
    if plain && !value.contains(['"', '\'', '\\', '\n']) {
        let s = TomlStr {
            value: old.to_owned(),
            span: dep.literal.clone(),
        };
        s.replace_with(text, value).text
    } else {
        toml_edit::Value::from(value).to_string()
    }
}

/// The nearest file named `name` in `dir` or above it, and the path of
/// `dir` relative to that file's directory (`/`-separated, `""` for the
/// same directory).
fn nearest(files: &Files<'_>, dir: &Path, name: &str) -> Option<(PathBuf, String)> {
    dir.ancestors().find_map(|d| {
        let candidate = d.join(name);
        files.exists(&candidate).then(|| {
            let rel = dir.strip_prefix(d).unwrap_or(dir);
            (candidate, display_path(rel))
        })
    })
}

/// Updates the npm and pnpm lockfiles for the moved npm packages and the
/// ranges rewritten in `package.json` files.
fn update_locks(
    files: &mut Files<'_>,
    moved: &[(PathBuf, String)],
    ranges: &[(&Located, String)],
) -> Result<()> {
    let mut npm: BTreeMap<PathBuf, Vec<npm_lock::LockValue>> = BTreeMap::new();
    let mut pnpm: BTreeMap<PathBuf, Vec<pnpm_lock::Specifier>> = BTreeMap::new();
    let dir_of = |manifest: &Path| manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    for (manifest, version) in moved {
        if let Some((lock, rel)) = nearest(files, &dir_of(manifest), "package-lock.json") {
            npm.entry(lock)
                .or_default()
                .extend(npm_lock::version_changes(&rel, version));
        }
    }
    for (dep, range) in ranges {
        let Shape::Npm { kind, key } = &dep.shape else {
            continue;
        };
        let dir = dir_of(&dep.dep.manifest);
        if let Some((lock, rel)) = nearest(files, &dir, "package-lock.json") {
            npm.entry(lock)
                .or_default()
                .push(npm_lock::range_change(&rel, kind, key, range));
        }
        if let Some((lock, rel)) = nearest(files, &dir, "pnpm-lock.yaml") {
            pnpm.entry(lock).or_default().push(pnpm_lock::Specifier {
                importer: if rel.is_empty() { ".".to_owned() } else { rel },
                kind: kind.clone(),
                name: key.clone(),
                value: range.clone(),
            });
        }
    }
    for (lock, changes) in npm {
        npm_lock::update(files, &lock, &changes)?;
    }
    for (lock, changes) in pnpm {
        pnpm_lock::update(files, &lock, &changes)?;
    }
    Ok(())
}

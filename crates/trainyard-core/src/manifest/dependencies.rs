//! The packages manifests declare and the requirements they hold on one
//! another: what a monorepo's packages depend on among themselves.
//!
//! Each found requirement keeps the span of the string that holds it, so
//! [`super::plan_package_bumps`] can rewrite it in place.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{Item, TableLike, Value};

use super::requirement::{normalize_python_name, pep508};
use super::text::{TomlStr, line_of, parse_toml, string_at, table};
use super::{Files, ManifestSpec, cargo, display_path, glob, json, relative_path, validate_all};
use crate::{Error, Result};

/// The npm dependency kinds whose ranges name other packages.
pub(super) const NPM_KINDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

/// A requirement one manifest holds on a package of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InternalDependency {
    /// The dependent's manifest, relative to the repository root.
    pub manifest: PathBuf,
    /// Where in it: `dependencies.a`, `workspace.dependencies.a`,
    /// `target.cfg(unix).dev-dependencies.a`, `devDependencies.@x/core`,
    /// `project.dependencies[0]`,
    /// `project.optional-dependencies.test[1]` or
    /// `tool.poetry.dependencies.a`.
    pub key: String,
    /// The name the dependency declares (a renamed Cargo dependency gives
    /// its `package`, an npm alias the aliased package).
    pub name: String,
    /// The requirement as written: `0.2.0`, `^0.2.0`, `workspace:^`,
    /// `>=0.2.0`; for a PEP 508 string, its version specifier only.
    pub requirement: String,
}

/// The ecosystem of a manifest, in which a package name is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ecosystem {
    Cargo,
    Npm,
    Python,
}

/// How a found requirement is written, for its rewriting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shape {
    /// A Cargo requirement string.
    Cargo,
    /// An npm range: the dependency kind and key, for the lockfiles.
    Npm { kind: String, key: String },
    /// A PEP 508 string: the whole string and the span of its specifier in
    /// it.
    Pep508 { full: String, spec: Range<usize> },
    /// A Poetry constraint string.
    Poetry,
}

/// A requirement with where it is written.
#[derive(Debug, Clone)]
pub(super) struct Located {
    pub dep: InternalDependency,
    pub ecosystem: Ecosystem,
    /// The span of the string literal holding the requirement, quotes
    /// included, in the manifest's current text.
    pub literal: Range<usize>,
    /// The 1-based line of the literal.
    pub line: usize,
    pub shape: Shape,
}

/// The package names the manifests of `specs` declare, in order and each
/// once: a Cargo manifest's `package.name` (a workspace root with a
/// `[package]` gives its own name, not its members'), a `package.json`'s
/// `"name"`, a `pyproject.toml`'s `[project].name` and
/// `[tool.poetry].name`. Version files and regex manifests declare none.
/// Glob patterns expand as for [`super::read_versions`].
///
/// # Errors
///
/// Returns [`Error::Input`] when a spec is invalid, a manifest is missing
/// or malformed (naming the file and line), and [`Error::Io`] when a file
/// cannot be read.
pub fn declared_names(root: &Path, specs: &[ManifestSpec]) -> Result<Vec<String>> {
    let mut files = Files::new(root);
    let mut out: Vec<String> = Vec::new();
    for (_, name) in names(&mut files, root, specs, false)? {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The requirements the manifests of `specs` hold on any of `names`: Cargo
/// dependencies with a version (plain, `path` with `version`, renamed with
/// `package`, in `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]`, their `[target.*]` forms and
/// `[workspace.dependencies]`; a Cargo workspace root spec covers its
/// members too), npm `dependencies`, `devDependencies`,
/// `peerDependencies` and `optionalDependencies` (`workspace:` ranges and
/// `npm:` aliases included), and Python `[project].dependencies`,
/// `[project.optional-dependencies]` (names compared as PEP 503 does) and
/// Poetry's dependency tables. In the order of `specs`, each once.
///
/// A Cargo dependency inherited from the workspace (`a.workspace = true`)
/// or without a version carries no requirement and is not listed; its
/// requirement is the one in `[workspace.dependencies]`.
///
/// # Errors
///
/// As [`declared_names`].
pub fn dependencies_on(
    root: &Path,
    specs: &[ManifestSpec],
    names: &[String],
) -> Result<Vec<InternalDependency>> {
    let mut files = Files::new(root);
    let python: Vec<String> = names.iter().map(|n| normalize_python_name(n)).collect();
    let wanted = |eco: Ecosystem, name: &str| match eco {
        Ecosystem::Python => python.contains(&normalize_python_name(name)),
        _ => names.iter().any(|n| n == name),
    };
    Ok(locate(&mut files, root, specs, &wanted)?
        .into_iter()
        .map(|l| l.dep)
        .collect())
}

/// The names the manifests of `specs` declare, with their ecosystem; with
/// `members`, a Cargo workspace root gives its members' too (the packages
/// a bump of it moves).
pub(super) fn names(
    files: &mut Files<'_>,
    root: &Path,
    specs: &[ManifestSpec],
    members: bool,
) -> Result<Vec<(Ecosystem, String)>> {
    validate_all(specs)?;
    let mut out = Vec::new();
    for spec in &glob::expand(root, specs)? {
        let path = relative_path(spec.path())?;
        match spec {
            ManifestSpec::Cargo { .. } => {
                for c in cargo::covered(files, &path)? {
                    if let Some(name) = c.name.filter(|_| c.is_spec || members) {
                        out.push((Ecosystem::Cargo, name));
                    }
                }
            }
            ManifestSpec::Npm { .. } => {
                let text = files.text(&path)?;
                let value = json::parse_checked(&path, &text)?;
                if let Some(name) = value.get("name").and_then(serde_json::Value::as_str) {
                    out.push((Ecosystem::Npm, name.to_owned()));
                }
            }
            ManifestSpec::Pyproject { .. } => {
                let text = files.text(&path)?;
                let doc = parse_toml(&path, &text)?;
                let project = table(doc.as_table(), "project");
                let poetry = table(doc.as_table(), "tool").and_then(|t| table(t, "poetry"));
                for t in [project, poetry].into_iter().flatten() {
                    if let Some(name) = t.get("name").and_then(Item::as_str) {
                        out.push((Ecosystem::Python, name.to_owned()));
                    }
                }
            }
            ManifestSpec::VersionFile { .. } | ManifestSpec::Regex(_) => {}
        }
    }
    Ok(out)
}

/// The requirements in the manifests of `specs` on the packages `wanted`
/// accepts, located in the current texts of `files`; each manifest once.
pub(super) fn locate(
    files: &mut Files<'_>,
    root: &Path,
    specs: &[ManifestSpec],
    wanted: &dyn Fn(Ecosystem, &str) -> bool,
) -> Result<Vec<Located>> {
    validate_all(specs)?;
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for spec in &glob::expand(root, specs)? {
        let path = relative_path(spec.path())?;
        let manifests = match spec {
            ManifestSpec::Cargo { .. } => cargo::covered(files, &path)?
                .into_iter()
                .map(|c| c.manifest)
                .collect(),
            ManifestSpec::Npm { .. } | ManifestSpec::Pyproject { .. } => vec![path],
            ManifestSpec::VersionFile { .. } | ManifestSpec::Regex(_) => Vec::new(),
        };
        for manifest in manifests {
            if seen.contains(&manifest) {
                continue;
            }
            seen.push(manifest.clone());
            let text = files.text(&manifest)?;
            let found = match spec.kind() {
                super::ManifestKind::Cargo => cargo_requirements(&manifest, &text)?,
                super::ManifestKind::Npm => npm_requirements(&manifest, &text)?,
                _ => python_requirements(&manifest, &text)?,
            };
            out.extend(
                found
                    .into_iter()
                    .filter(|l| wanted(l.ecosystem, &l.dep.name)),
            );
        }
    }
    Ok(out)
}

/// A located requirement of `manifest`.
fn located(
    manifest: &Path,
    text: &str,
    ecosystem: Ecosystem,
    key: String,
    name: &str,
    (requirement, literal): (&str, Range<usize>),
    shape: Shape,
) -> Located {
    Located {
        dep: InternalDependency {
            manifest: manifest.to_path_buf(),
            key,
            name: name.to_owned(),
            requirement: requirement.to_owned(),
        },
        ecosystem,
        line: line_of(text, literal.start),
        literal,
        shape,
    }
}

/// The string value `item` holds, with its span; `None` when it is not a
/// string.
fn toml_string(item: &Item) -> Option<TomlStr> {
    match item.as_value()? {
        value @ Value::String(s) => Some(TomlStr {
            value: s.value().clone(),
            span: value.span()?,
        }),
        _ => None,
    }
}

/// Every versioned dependency of a `Cargo.toml`.
fn cargo_requirements(manifest: &Path, text: &str) -> Result<Vec<Located>> {
    let doc = parse_toml(manifest, text)?;
    let root = doc.as_table();
    let mut parents: Vec<(String, &dyn TableLike)> = vec![(String::new(), root)];
    if let Some(targets) = table(root, "target") {
        for (cfg, item) in targets.iter() {
            if let Some(t) = item.as_table_like() {
                parents.push((format!("target.{cfg}."), t));
            }
        }
    }
    if let Some(ws) = table(root, "workspace") {
        parents.push(("workspace.".to_owned(), ws));
    }
    let mut out = Vec::new();
    for (prefix, parent) in parents {
        for kind in cargo::DEPENDENCY_TABLES {
            let Some(deps) = table(parent, kind) else {
                continue;
            };
            for (dep, item) in deps.iter() {
                let key = format!("{prefix}{kind}.{dep}");
                let (name, req) = match item.as_table_like() {
                    Some(spec) => {
                        if spec.contains_key("git") {
                            continue;
                        }
                        let name = match spec.get("package") {
                            Some(p) => p.as_str().map(str::to_owned).ok_or_else(|| {
                                Error::input(format!(
                                    "{}: {key}.package is not a string",
                                    display_path(manifest)
                                ))
                            })?,
                            None => dep.to_owned(),
                        };
                        match string_at(manifest, text, spec, "version", &format!("{key}.version"))?
                        {
                            Some(req) => (name, req),
                            None => continue,
                        }
                    }
                    None => match toml_string(item) {
                        Some(req) => (dep.to_owned(), req),
                        None => continue,
                    },
                };
                out.push(located(
                    manifest,
                    text,
                    Ecosystem::Cargo,
                    key,
                    &name,
                    (&req.value, req.span),
                    Shape::Cargo,
                ));
            }
        }
    }
    Ok(out)
}

/// Every string-valued dependency of a `package.json`.
fn npm_requirements(manifest: &Path, text: &str) -> Result<Vec<Located>> {
    let value = json::parse_checked(manifest, text)?;
    let mut out = Vec::new();
    for kind in NPM_KINDS {
        let Some(object) = value.get(kind) else {
            continue;
        };
        if !object.is_object() {
            return Err(Error::input(format!(
                "{}: \"{kind}\" is not an object",
                display_path(manifest)
            )));
        }
        let span = json::find(text, &[kind]).ok_or_else(|| located_error(manifest, kind))?;
        let members =
            json::members(text, span.start).ok_or_else(|| located_error(manifest, kind))?;
        for (key, span) in members {
            let Some(req) = object.get(&key).and_then(serde_json::Value::as_str) else {
                continue;
            };
            let name = req
                .strip_prefix("npm:")
                .and_then(|alias| alias.get(1..)?.rfind('@').map(|at| &alias[..at + 1]))
                .unwrap_or(&key);
            out.push(located(
                manifest,
                text,
                Ecosystem::Npm,
                format!("{kind}.{key}"),
                name,
                (req, span),
                Shape::Npm {
                    kind: kind.to_owned(),
                    key: key.clone(),
                },
            ));
        }
    }
    Ok(out)
}

fn located_error(manifest: &Path, key: &str) -> Error {
    Error::Internal(format!(
        "{}: cannot locate \"{key}\"",
        display_path(manifest)
    ))
}

/// Every named requirement of a `pyproject.toml`: PEP 621 lists and
/// Poetry tables.
fn python_requirements(manifest: &Path, text: &str) -> Result<Vec<Located>> {
    let doc = parse_toml(manifest, text)?;
    let root = doc.as_table();
    let mut out = Vec::new();
    let mut pep508_list = |key: String, item: &Item| {
        let Some(array) = item.as_array() else {
            return;
        };
        for (i, value) in array.iter().enumerate() {
            let (Value::String(s), Some(span)) = (value, value.span()) else {
                continue;
            };
            let full = s.value();
            let Some((name, spec)) = pep508(full) else {
                continue;
            };
            out.push(located(
                manifest,
                text,
                Ecosystem::Python,
                format!("{key}[{i}]"),
                name,
                (&full[spec.clone()], span),
                Shape::Pep508 {
                    full: full.clone(),
                    spec,
                },
            ));
        }
    };
    if let Some(project) = table(root, "project") {
        if let Some(item) = project.get("dependencies") {
            pep508_list("project.dependencies".to_owned(), item);
        }
        if let Some(groups) = table(project, "optional-dependencies") {
            for (group, item) in groups.iter() {
                pep508_list(format!("project.optional-dependencies.{group}"), item);
            }
        }
    }
    let Some(poetry) = table(root, "tool").and_then(|t| table(t, "poetry")) else {
        return Ok(out);
    };
    let mut tables: Vec<(String, &dyn TableLike)> = Vec::new();
    for kind in ["dependencies", "dev-dependencies"] {
        if let Some(t) = table(poetry, kind) {
            tables.push((format!("tool.poetry.{kind}"), t));
        }
    }
    if let Some(groups) = table(poetry, "group") {
        for (group, item) in groups.iter() {
            if let Some(t) = item.as_table_like().and_then(|g| table(g, "dependencies")) {
                tables.push((format!("tool.poetry.group.{group}.dependencies"), t));
            }
        }
    }
    for (prefix, deps) in tables {
        for (name, item) in deps.iter() {
            let key = format!("{prefix}.{name}");
            let req = match item.as_table_like() {
                Some(spec) => {
                    string_at(manifest, text, spec, "version", &format!("{key}.version"))?
                }
                None => toml_string(item),
            };
            if let Some(req) = req {
                out.push(located(
                    manifest,
                    text,
                    Ecosystem::Python,
                    key,
                    name,
                    (&req.value, req.span),
                    Shape::Poetry,
                ));
            }
        }
    }
    Ok(out)
}

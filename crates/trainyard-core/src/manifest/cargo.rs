//! Cargo manifests and workspaces.
//!
//! A spec naming a package's `Cargo.toml` covers its `package.version`. A
//! spec naming a workspace root covers the whole workspace:
//!
//! - `workspace.package.version`;
//! - the root package's and every member's `package.version` (a member
//!   with `version.workspace = true` needs no edit and is reported as
//!   carrying the workspace's version);
//! - the version requirements of path dependencies on members whose
//!   version is set, in every manifest of the workspace (`[dependencies]`,
//!   `[dev-dependencies]`, `[build-dependencies]`, their `[target.*]`
//!   forms and `[workspace.dependencies]`), keeping the operator.
//!
//! Members come from `workspace.members` (with `*` and `?` wildcards in
//! path components), less `workspace.exclude`, plus the path dependencies
//! inside the workspace directory, as Cargo does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike};

use super::text::{
    Replacement, TomlStr, line_of, not_a_string, parse_toml, splice, string_at, table,
};
use super::{Files, ManifestKind, ManifestVersion, PlanNote, display_path, normalize};
use crate::{Error, Result};

pub(super) const DEPENDENCY_TABLES: [&str; 5] = [
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "dev_dependencies",
    "build_dependencies",
];

/// What `package.version` is.
#[derive(Debug, Clone)]
enum PkgVersion {
    Literal(TomlStr),
    Inherited,
    Absent,
}

/// What trainyard needs of one `Cargo.toml`.
#[derive(Debug, Clone)]
struct CargoToml {
    has_package: bool,
    /// `package.name`, when it is a string.
    name: Option<String>,
    version: PkgVersion,
    workspace: Option<WorkspaceSection>,
    path_deps: Vec<PathDep>,
}

#[derive(Debug, Clone)]
struct WorkspaceSection {
    members: Vec<String>,
    exclude: Vec<String>,
    version: Option<TomlStr>,
}

/// A dependency with both `path` and `version`.
#[derive(Debug, Clone)]
struct PathDep {
    /// Where it is, e.g. `target.'cfg(unix)'.dependencies.foo`.
    key: String,
    path: String,
    req: TomlStr,
}

fn parse(path: &Path, text: &str) -> Result<CargoToml> {
    let doc = parse_toml(path, text)?;
    let root = doc.as_table();
    let package = table(root, "package");
    let version = match package.and_then(|p| p.get("version").map(|item| (p, item))) {
        None => PkgVersion::Absent,
        Some((p, item)) if item.is_str() => {
            match string_at(path, text, p, "version", "package.version")? {
                Some(s) => PkgVersion::Literal(s),
                None => PkgVersion::Absent,
            }
        }
        Some((_, item)) => {
            let inherits = item
                .as_table_like()
                .and_then(|t| t.get("workspace"))
                .and_then(Item::as_bool)
                == Some(true);
            if inherits {
                PkgVersion::Inherited
            } else {
                return Err(not_a_string(path, text, item, "package.version"));
            }
        }
    };
    let workspace = match table(root, "workspace") {
        None => None,
        Some(ws) => Some(WorkspaceSection {
            members: string_list(path, text, ws, "members", "workspace.members")?,
            exclude: string_list(path, text, ws, "exclude", "workspace.exclude")?,
            version: match table(ws, "package") {
                Some(p) => string_at(path, text, p, "version", "workspace.package.version")?,
                None => None,
            },
        }),
    };
    let mut path_deps = Vec::new();
    collect_path_deps(path, text, root, "", &mut path_deps)?;
    if let Some(targets) = table(root, "target") {
        for (cfg, item) in targets.iter() {
            if let Some(t) = item.as_table_like() {
                collect_path_deps(path, text, t, &format!("target.{cfg}."), &mut path_deps)?;
            }
        }
    }
    if let Some(ws) = table(root, "workspace") {
        collect_path_deps(path, text, ws, "workspace.", &mut path_deps)?;
    }
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(Item::as_str)
        .map(str::to_owned);
    Ok(CargoToml {
        has_package: package.is_some(),
        name,
        version,
        workspace,
        path_deps,
    })
}

fn string_list(
    path: &Path,
    text: &str,
    parent: &dyn TableLike,
    key: &str,
    dotted: &str,
) -> Result<Vec<String>> {
    let Some(item) = parent.get(key) else {
        return Ok(Vec::new());
    };
    let strings = item
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect());
    match strings {
        Some(list) => Ok(list),
        None => {
            let line = item
                .as_value()
                .and_then(toml_edit::Value::span)
                .map(|s| format!("line {}: ", line_of(text, s.start)))
                .unwrap_or_default();
            Err(Error::input(format!(
                "{}: {line}{dotted} is not an array of strings",
                display_path(path)
            )))
        }
    }
}

fn collect_path_deps(
    path: &Path,
    text: &str,
    parent: &dyn TableLike,
    prefix: &str,
    out: &mut Vec<PathDep>,
) -> Result<()> {
    for name in DEPENDENCY_TABLES {
        let Some(deps) = table(parent, name) else {
            continue;
        };
        for (dep, item) in deps.iter() {
            let Some(spec) = item.as_table_like() else {
                continue;
            };
            let Some(dep_path) = spec.get("path").and_then(Item::as_str) else {
                continue;
            };
            let key = format!("{prefix}{name}.{dep}");
            if let Some(req) = string_at(path, text, spec, "version", &format!("{key}.version"))? {
                out.push(PathDep {
                    key,
                    path: dep_path.to_owned(),
                    req,
                });
            }
        }
    }
    Ok(())
}

/// A package (or virtual workspace root) of a project.
struct Pkg {
    manifest: PathBuf,
    dir: PathBuf,
    text: String,
    doc: CargoToml,
}

/// A spec's Cargo project: a lone package, or a workspace and its members.
struct Project {
    root: Pkg,
    members: Vec<Pkg>,
    /// The `[workspace]` section of the root, when it is a workspace.
    workspace: Option<WorkspaceSection>,
}

impl Project {
    /// The root (when it is a package) and the members.
    fn packages(&self) -> impl Iterator<Item = &Pkg> {
        std::iter::once(&self.root)
            .filter(|p| p.doc.has_package)
            .chain(&self.members)
    }

    /// Every manifest: the root and the members.
    fn manifests(&self) -> impl Iterator<Item = &Pkg> {
        std::iter::once(&self.root).chain(&self.members)
    }
}

fn load_pkg(files: &mut Files<'_>, manifest: &Path) -> Result<Pkg> {
    let text = files.text(manifest)?;
    let doc = parse(manifest, &text)?;
    let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Pkg {
        manifest: manifest.to_path_buf(),
        dir,
        text,
        doc,
    })
}

fn load(files: &mut Files<'_>, spec_path: &Path) -> Result<Project> {
    let root = load_pkg(files, spec_path)?;
    let Some(ws) = root.doc.workspace.clone() else {
        if !root.doc.has_package {
            return Err(Error::input(format!(
                "{}: neither [package] nor [workspace]",
                display_path(spec_path)
            )));
        }
        return Ok(Project {
            root,
            members: Vec::new(),
            workspace: None,
        });
    };
    let excluded: Vec<PathBuf> = ws
        .exclude
        .iter()
        .filter_map(|e| normalize(&root.dir.join(e)))
        .collect();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::from([root.dir.clone()]);
    let mut queue: Vec<PathBuf> = Vec::new();
    for dir in expand_members(files, &root, &ws.members)? {
        if !excluded.iter().any(|e| dir.starts_with(e)) && seen.insert(dir.clone()) {
            queue.push(dir);
        }
    }
    let mut members = Vec::new();
    let mut next = 0;
    implicit_members(files, &root, &root, &excluded, &mut seen, &mut queue);
    while next < queue.len() {
        let dir = queue[next].clone();
        next += 1;
        let pkg = load_pkg(files, &dir.join("Cargo.toml"))?;
        implicit_members(files, &root, &pkg, &excluded, &mut seen, &mut queue);
        members.push(pkg);
    }
    members.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(Project {
        root,
        members,
        workspace: Some(ws),
    })
}

/// Queues the path dependencies of `pkg` inside the workspace directory
/// as members, as Cargo does.
fn implicit_members(
    files: &Files<'_>,
    root: &Pkg,
    pkg: &Pkg,
    excluded: &[PathBuf],
    seen: &mut BTreeSet<PathBuf>,
    queue: &mut Vec<PathBuf>,
) {
    for dep in &pkg.doc.path_deps {
        let Some(target) = normalize(&pkg.dir.join(&dep.path)) else {
            continue;
        };
        if target.starts_with(&root.dir)
            && !excluded.iter().any(|e| target.starts_with(e))
            && files.exists(&target.join("Cargo.toml"))
            && seen.insert(target.clone())
        {
            queue.push(target);
        }
    }
}

/// The member directories `workspace.members` names, relative to the
/// repository root.
fn expand_members(files: &Files<'_>, root: &Pkg, patterns: &[String]) -> Result<Vec<PathBuf>> {
    let manifest = display_path(&root.manifest);
    let mut out = Vec::new();
    for pattern in patterns {
        let outside = || {
            Error::input(format!(
                "{manifest}: workspace member {pattern:?} lies outside the repository"
            ))
        };
        let mut dirs = vec![root.dir.clone()];
        let mut glob = false;
        for part in pattern.split(['/', '\\']) {
            match part {
                "" | "." => {}
                ".." => {
                    for d in &mut dirs {
                        if !d.pop() {
                            return Err(outside());
                        }
                    }
                }
                _ if part.contains(['*', '?']) => {
                    glob = true;
                    let mut matched = Vec::new();
                    for d in &dirs {
                        matched.extend(
                            list_dirs(files.root, d)?
                                .into_iter()
                                .filter_map(|name| wildcard(part, &name).then(|| d.join(name))),
                        );
                    }
                    dirs = matched;
                }
                _ => {
                    for d in &mut dirs {
                        d.push(part);
                    }
                }
            }
        }
        for dir in dirs {
            let dir = normalize(&dir).ok_or_else(outside)?;
            if files.exists(&dir.join("Cargo.toml")) {
                out.push(dir);
            } else if !glob {
                return Err(Error::input(format!(
                    "{manifest}: workspace member {pattern:?} has no Cargo.toml"
                )));
            }
        }
    }
    Ok(out)
}

/// The names of the subdirectories of `root/dir`, sorted; none when it is
/// not a directory.
fn list_dirs(root: &Path, dir: &Path) -> Result<Vec<String>> {
    let full = root.join(dir);
    let entries = match std::fs::read_dir(&full) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list", full, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot list", full.clone(), e))?;
        if entry.path().is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether `name` matches `pattern`, where `*` is any run of characters
/// and `?` any one character.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The workspace a lone package inheriting its version belongs to: the
/// nearest ancestor `Cargo.toml` with `[workspace]`, and its
/// `workspace.package.version`.
fn ancestor_workspace(
    files: &mut Files<'_>,
    manifest: &Path,
) -> Result<Option<(PathBuf, Option<String>)>> {
    let mut dir = manifest.parent().unwrap_or(Path::new(""));
    while let Some(parent) = dir.parent() {
        let candidate = parent.join("Cargo.toml");
        if files.exists(&candidate) {
            let text = files.text(&candidate)?;
            if let Some(ws) = parse(&candidate, &text)?.workspace {
                return Ok(Some((candidate, ws.version.map(|v| v.value))));
            }
        }
        dir = parent;
    }
    Ok(None)
}

pub(super) fn read(files: &mut Files<'_>, spec_path: &Path) -> Result<Vec<ManifestVersion>> {
    let project = load(files, spec_path)?;
    let entry = |path: &Path, key: &str| ManifestVersion {
        path: path.to_path_buf(),
        kind: ManifestKind::Cargo,
        key: key.to_owned(),
        version: None,
        inherited: false,
        reason: None,
    };
    let mut out = Vec::new();
    if let Some(v) = project.workspace.as_ref().and_then(|w| w.version.as_ref()) {
        out.push(ManifestVersion {
            version: Some(v.value.clone()),
            ..entry(&project.root.manifest, "workspace.package.version")
        });
    }
    let root_manifest = display_path(&project.root.manifest);
    for pkg in project.packages() {
        let e = entry(&pkg.manifest, "package.version");
        out.push(match &pkg.doc.version {
            PkgVersion::Literal(s) => ManifestVersion {
                version: Some(s.value.clone()),
                ..e
            },
            PkgVersion::Absent => ManifestVersion {
                reason: Some("no package.version".to_owned()),
                ..e
            },
            PkgVersion::Inherited => {
                let found = match &project.workspace {
                    Some(ws) => Some((
                        root_manifest.clone(),
                        ws.version.as_ref().map(|v| v.value.clone()),
                    )),
                    None => ancestor_workspace(files, &pkg.manifest)?
                        .map(|(m, v)| (display_path(&m), v)),
                };
                match found {
                    Some((_, Some(version))) => ManifestVersion {
                        version: Some(version),
                        inherited: true,
                        ..e
                    },
                    Some((ws_manifest, None)) => ManifestVersion {
                        inherited: true,
                        reason: Some(format!(
                            "inherits workspace.package.version, which {ws_manifest} does not set"
                        )),
                        ..e
                    },
                    None => ManifestVersion {
                        inherited: true,
                        reason: Some(
                            "inherits workspace.package.version, but no workspace was found"
                                .to_owned(),
                        ),
                        ..e
                    },
                }
            }
        });
    }
    Ok(out)
}

pub(super) fn plan(
    files: &mut Files<'_>,
    spec_path: &Path,
    new: &semver::Version,
    notes: &mut Vec<PlanNote>,
) -> Result<()> {
    let project = load(files, spec_path)?;
    let new_text = new.to_string();
    let mut reps: BTreeMap<PathBuf, Vec<Replacement>> = BTreeMap::new();
    let mut add = |pkg: &Pkg, s: &TomlStr, value: &str| {
        if s.value != value {
            reps.entry(pkg.manifest.clone())
                .or_default()
                .push(s.replace_with(&pkg.text, value));
        }
    };
    let mut targeted = false;
    let ws_version = project.workspace.as_ref().and_then(|w| w.version.as_ref());
    if let Some(v) = ws_version {
        targeted = true;
        add(&project.root, v, &new_text);
    }
    // Directories of the packages whose version becomes `new`.
    let mut bumped: BTreeSet<PathBuf> = BTreeSet::new();
    for pkg in project.packages() {
        match &pkg.doc.version {
            PkgVersion::Literal(s) => {
                targeted = true;
                bumped.insert(pkg.dir.clone());
                add(pkg, s, &new_text);
            }
            PkgVersion::Inherited if project.workspace.is_some() => {
                if ws_version.is_none() {
                    return Err(Error::input(format!(
                        "{}: package.version inherits workspace.package.version, which {} does not set",
                        display_path(&pkg.manifest),
                        display_path(&project.root.manifest)
                    )));
                }
                bumped.insert(pkg.dir.clone());
            }
            PkgVersion::Inherited => {
                targeted = true;
                let from = match ancestor_workspace(files, &pkg.manifest)? {
                    Some((m, _)) => {
                        format!("from {}; list that manifest to bump it", display_path(&m))
                    }
                    None => "but no workspace was found".to_owned(),
                };
                notes.push(PlanNote {
                    path: pkg.manifest.clone(),
                    message: format!(
                        "package.version inherits the workspace version {from}, left as is"
                    ),
                });
            }
            PkgVersion::Absent => notes.push(PlanNote {
                path: pkg.manifest.clone(),
                message: "no package.version, left as is".to_owned(),
            }),
        }
    }
    if !targeted {
        return Err(Error::input(format!(
            "{}: no version to set: no package.version or workspace.package.version",
            display_path(spec_path)
        )));
    }
    if project.workspace.is_some() {
        for pkg in project.manifests() {
            for dep in &pkg.doc.path_deps {
                let Some(target) = normalize(&pkg.dir.join(&dep.path)) else {
                    continue;
                };
                if !bumped.contains(&target) {
                    continue;
                }
                match rewrite_requirement(&dep.req.value, new) {
                    Some(req) => add(pkg, &dep.req, &req),
                    None => {
                        let admits =
                            semver::VersionReq::parse(&dep.req.value).is_ok_and(|r| r.matches(new));
                        if !admits {
                            return Err(Error::input(format!(
                                "{}: line {}: {}.version {:?} does not admit {new} and is not a single version to rewrite",
                                display_path(&pkg.manifest),
                                line_of(&pkg.text, dep.req.span.start),
                                dep.key,
                                dep.req.value
                            )));
                        }
                    }
                }
            }
        }
    }
    for pkg in project.manifests() {
        if let Some(list) = reps.remove(&pkg.manifest) {
            let after = splice(&pkg.text, list)?;
            files.set(&pkg.manifest, after)?;
        }
    }
    let names: BTreeSet<&str> = project
        .packages()
        .filter(|pkg| bumped.contains(&pkg.dir))
        .filter_map(|pkg| pkg.doc.name.as_deref())
        .collect();
    // The lock sits beside the workspace root: the nearest one above.
    let lock = project
        .root
        .dir
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|lock| files.exists(lock));
    match lock {
        Some(lock) => update_lock(files, &lock, &names, &new_text),
        None => Ok(()),
    }
}

/// A manifest a Cargo spec covers: the spec's own, and a workspace's
/// members.
pub(super) struct Covered {
    /// The manifest, relative to the repository root.
    pub manifest: PathBuf,
    /// Its `package.name`, when it is a package with a string name.
    pub name: Option<String>,
    /// Whether it is the spec's own manifest.
    pub is_spec: bool,
}

/// The manifests `spec_path` covers, the spec's own first.
pub(super) fn covered(files: &mut Files<'_>, spec_path: &Path) -> Result<Vec<Covered>> {
    let project = load(files, spec_path)?;
    Ok(project
        .manifests()
        .map(|pkg| Covered {
            manifest: pkg.manifest.clone(),
            name: pkg.doc.name.clone().filter(|_| pkg.doc.has_package),
            is_spec: pkg.manifest == project.root.manifest,
        })
        .collect())
}

/// Sets the version of the packages `names` in the `Cargo.lock` at `lock`:
/// the `[[package]]` entries of that name without a
/// `source` (the workspace's own, not a registry's or git's namesake).
/// Only their `version = "..."` lines change.
fn update_lock(
    files: &mut Files<'_>,
    lock: &Path,
    names: &BTreeSet<&str>,
    new: &str,
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let text = files.text(lock)?;
    let mut out = String::with_capacity(text.len());
    for entry in split_entries(&text) {
        let own = lock_value(entry, "name").is_some_and(|n| names.contains(n))
            && lock_value(entry, "source").is_none();
        if !own {
            out.push_str(entry);
            continue;
        }
        for line in entry.split_inclusive('\n') {
            if lock_value(line, "version").is_some() {
                let ending = if line.ends_with("\r\n") {
                    "\r\n"
                } else if line.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                out.push_str(&format!("version = \"{new}\"{ending}"));
            } else {
                out.push_str(line);
            }
        }
    }
    if out != text {
        files.set(lock, out)?;
    }
    Ok(())
}

/// `text` cut before each `[[package]]` line: the preamble, then one
/// piece per entry.
fn split_entries(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = text
        .match_indices("[[package]]")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .collect();
    starts.insert(0, 0);
    starts.push(text.len());
    starts.dedup();
    starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// The string value of a top-level `key = "value"` line in `entry`.
fn lock_value<'t>(entry: &'t str, key: &str) -> Option<&'t str> {
    entry.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
        rest.trim().strip_prefix('"')?.strip_suffix('"')
    })
}

/// The requirement `req` rewritten to name `new`, keeping its operator
/// (`=`, `^`, `~`, `>=` or none) and spacing; `None` when `req` is not a
/// single such comparator (a range, a wildcard, several comparators).
pub(super) fn rewrite_requirement(req: &str, new: &semver::Version) -> Option<String> {
    let parsed = semver::VersionReq::parse(req).ok()?;
    let [comparator] = parsed.comparators.as_slice() else {
        return None;
    };
    if !matches!(
        comparator.op,
        semver::Op::Exact | semver::Op::Caret | semver::Op::Tilde | semver::Op::GreaterEq
    ) {
        return None;
    }
    let body = req.trim_start();
    let lead = &req[..req.len() - body.len()];
    let op_len = body.find(|c: char| c.is_ascii_digit()).filter(|&i| {
        body[..i]
            .chars()
            .all(|c| matches!(c, '=' | '^' | '~' | '>' | ' ' | '\t'))
    })?;
    let end = body.trim_end().len();
    if body[op_len..end].contains(['*', ',', ' ']) {
        return None;
    }
    Some(format!("{lead}{}{new}{}", &body[..op_len], &body[end..]))
}

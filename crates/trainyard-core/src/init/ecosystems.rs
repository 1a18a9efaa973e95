//! Reading each ecosystem's workspace: Cargo, npm and yarn, pnpm, and
//! Python projects.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml_edit::{Document, Item, TableLike};

use super::scan::Patterns;
use super::{DetectedPackage, Source};
use crate::config::packages::{PackageConfig, TagFormat};
use crate::manifest::ManifestSpec;
use crate::{Error, Result};

/// How deep below the root a Python project is looked for.
const PYTHON_DEPTH: usize = 3;

/// Directories whose Python projects are test data, not packages (a
/// build tool's own tests carry many).
const PYTHON_TEST_DIRS: &[&str] = &["test", "tests", "testdata", "fixtures"];

/// A package found at `dir` with one manifest.
fn package(
    source: Source,
    name: String,
    version: Option<String>,
    dir: &Path,
    manifest: ManifestSpec,
) -> DetectedPackage {
    DetectedPackage {
        source,
        version,
        config: PackageConfig {
            name,
            path: dir.to_path_buf(),
            paths: Vec::new(),
            manifests: Some(vec![manifest]),
            tag_format: TagFormat::per_package(),
            changelog: None,
            scopes: Vec::new(),
        },
    }
}

fn read(root: &Path, rel: &Path) -> Result<String> {
    let full = root.join(rel);
    std::fs::read_to_string(&full).map_err(|e| Error::io("cannot read", full, e))
}

fn toml<'t>(rel: &Path, text: &'t str) -> Result<Document<&'t str>> {
    Document::parse(text)
        .map_err(|e| Error::input(format!("{}: invalid TOML: {}", rel.display(), e.message())))
}

fn json(rel: &Path, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::input(format!("{}: invalid JSON: {e}", rel.display())))
}

fn table<'a>(parent: &'a dyn TableLike, key: &str) -> Option<&'a dyn TableLike> {
    parent.get(key).and_then(Item::as_table_like)
}

fn strings(item: Option<&Item>) -> Vec<String> {
    item.and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a Cargo workspace gives.
#[derive(Default)]
pub(super) struct CargoWorkspace {
    /// Its member packages.
    pub(super) packages: Vec<DetectedPackage>,
    /// The root's own package, when it has one (left to the user: its
    /// manifest also carries the members' versions).
    pub(super) root_package: Option<String>,
    /// The members whose version is the workspace's
    /// (`version.workspace = true`).
    pub(super) inherited: Vec<String>,
}

/// The members of the Cargo workspace whose root is `root/Cargo.toml`.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a manifest that is not TOML or a
/// pattern that does not parse, and an [`Error::Io`] for one that cannot
/// be read.
pub(super) fn cargo(root: &Path, dirs: &[PathBuf]) -> Result<CargoWorkspace> {
    let manifest = Path::new("Cargo.toml");
    if !root.join(manifest).is_file() {
        return Ok(CargoWorkspace::default());
    }
    let text = read(root, manifest)?;
    let doc = toml(manifest, &text)?;
    let Some(workspace) = table(doc.as_table(), "workspace") else {
        return Ok(CargoWorkspace::default());
    };
    let shared_version = table(workspace, "package")
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .map(str::to_owned);
    let root_package = table(doc.as_table(), "package")
        .and_then(|p| p.get("name"))
        .and_then(Item::as_str)
        .map(str::to_owned);
    let members = strings(workspace.get("members"));
    let exclude: Vec<PathBuf> = strings(workspace.get("exclude"))
        .iter()
        .map(|e| PathBuf::from(e.trim_start_matches("./").trim_end_matches('/')))
        .collect();
    let patterns = Patterns::new("Cargo.toml", &members)?;
    let mut found = Vec::new();
    let mut inherited = Vec::new();
    for dir in patterns.select(root, dirs) {
        if exclude.iter().any(|e| dir.starts_with(e)) {
            continue;
        }
        let rel = dir.join("Cargo.toml");
        if !root.join(&rel).is_file() {
            continue;
        }
        let text = read(root, &rel)?;
        let doc = toml(&rel, &text)?;
        let Some(pkg) = table(doc.as_table(), "package") else {
            continue;
        };
        let Some(name) = pkg.get("name").and_then(Item::as_str) else {
            continue;
        };
        let version = match pkg.get("version") {
            Some(item) if item.is_str() => item.as_str().map(str::to_owned),
            Some(item)
                if item
                    .as_table_like()
                    .and_then(|t| t.get("workspace"))
                    .and_then(Item::as_bool)
                    == Some(true) =>
            {
                inherited.push(name.to_owned());
                shared_version.clone()
            }
            _ => None,
        };
        found.push(package(
            Source::Cargo,
            name.to_owned(),
            version,
            &dir,
            ManifestSpec::Cargo { path: rel },
        ));
    }
    Ok(CargoWorkspace {
        packages: found,
        root_package,
        inherited,
    })
}

/// `pnpm-workspace.yaml`: only its `packages:` list matters here.
#[derive(Deserialize)]
struct PnpmWorkspace {
    #[serde(default)]
    packages: Vec<String>,
}

/// The patterns of the JavaScript workspace at `root`: `pnpm-workspace.yaml`
/// when there is one (pnpm reads nothing else), else the `"workspaces"` of
/// the root `package.json` (npm, yarn: a list, or `{ "packages": [...] }`).
///
/// # Errors
///
/// Returns an [`Error::Input`] for a file that does not parse and an
/// [`Error::Io`] for one that cannot be read.
pub(super) fn js_patterns(root: &Path) -> Result<Option<(Source, Vec<String>)>> {
    let pnpm = Path::new("pnpm-workspace.yaml");
    if root.join(pnpm).is_file() {
        let text = read(root, pnpm)?;
        let parsed: PnpmWorkspace = if text.trim().is_empty() {
            PnpmWorkspace {
                packages: Vec::new(),
            }
        } else {
            serde_saphyr::from_str(&text)
                .map_err(|e| Error::input(format!("pnpm-workspace.yaml: {e}")))?
        };
        return Ok(Some((Source::Pnpm, parsed.packages)));
    }
    let manifest = Path::new("package.json");
    if !root.join(manifest).is_file() {
        return Ok(None);
    }
    let value = json(manifest, &read(root, manifest)?)?;
    let list = match value.get("workspaces") {
        Some(serde_json::Value::Array(list)) => list,
        Some(serde_json::Value::Object(map)) => match map.get("packages") {
            Some(serde_json::Value::Array(list)) => list,
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let patterns = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Ok(Some((Source::Npm, patterns)))
}

/// The named packages (a `package.json` with a `"name"`) that the
/// workspace patterns select.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a pattern or a `package.json` that does
/// not parse and an [`Error::Io`] for one that cannot be read.
pub(super) fn js(
    root: &Path,
    dirs: &[PathBuf],
    source: Source,
    patterns: &[String],
) -> Result<Vec<DetectedPackage>> {
    let origin = match source {
        Source::Pnpm => "pnpm-workspace.yaml",
        _ => "package.json",
    };
    let patterns = Patterns::new(origin, patterns)?;
    let mut found = Vec::new();
    for dir in patterns.select(root, dirs) {
        let rel = dir.join("package.json");
        if !root.join(&rel).is_file() {
            continue;
        }
        let value = json(&rel, &read(root, &rel)?)?;
        let Some(name) = value.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let version = value
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        found.push(package(
            source,
            name.to_owned(),
            version,
            &dir,
            ManifestSpec::Npm { path: rel },
        ));
    }
    Ok(found)
}

/// The Python projects below the root (a `pyproject.toml` naming
/// `[project].name` or `[tool.poetry].name`), a few levels deep at most
/// and outside test directories.
/// A file that does not parse is skipped, with a note: it may be a test
/// fixture.
///
/// # Errors
///
/// Returns an [`Error::Io`] for a file that cannot be read.
pub(super) fn python(
    root: &Path,
    dirs: &[PathBuf],
    notes: &mut Vec<String>,
) -> Result<Vec<DetectedPackage>> {
    let mut found = Vec::new();
    for dir in dirs.iter().filter(|d| {
        d.components().count() <= PYTHON_DEPTH
            && !d
                .components()
                .any(|c| PYTHON_TEST_DIRS.iter().any(|t| c.as_os_str() == *t))
    }) {
        let rel = dir.join("pyproject.toml");
        if !root.join(&rel).is_file() {
            continue;
        }
        let text = read(root, &rel)?;
        let doc = match toml(&rel, &text) {
            Ok(doc) => doc,
            Err(e) => {
                notes.push(format!("skipped {e}"));
                continue;
            }
        };
        let project = table(doc.as_table(), "project");
        let poetry = table(doc.as_table(), "tool").and_then(|t| table(t, "poetry"));
        let field = |key: &str| {
            [project, poetry]
                .into_iter()
                .flatten()
                .find_map(|t| t.get(key).and_then(Item::as_str).map(str::to_owned))
        };
        let Some(name) = field("name") else {
            continue;
        };
        found.push(package(
            Source::Python,
            name,
            field("version"),
            dir,
            ManifestSpec::Pyproject { path: rel },
        ));
    }
    Ok(found)
}

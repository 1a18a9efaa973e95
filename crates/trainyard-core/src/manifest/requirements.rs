//! Which packages a manifest declares and which of them it requires:
//! what makes one package of a monorepo depend on another.

use std::path::Path;

use super::{ManifestSpec, glob, relative_path};
use crate::{Error, Result};

/// The package names the manifests declare: a Cargo `package.name`, a
/// `package.json` `name`, a pyproject `project.name` or
/// `tool.poetry.name`.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming a manifest that does not parse, and
/// an [`Error::Io`] when one cannot be read.
pub fn declared_names(root: &Path, specs: &[ManifestSpec]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for spec in &glob::expand(root, specs)? {
        let Some(text) = read(root, spec)? else {
            continue;
        };
        let name = match spec {
            ManifestSpec::Cargo { .. } => toml_doc(spec, &text)?
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_owned),
            ManifestSpec::Pyproject { .. } => {
                let doc = toml_doc(spec, &text)?;
                doc.get("project")
                    .and_then(|p| p.get("name"))
                    .or_else(|| doc.get("tool")?.get("poetry")?.get("name"))
                    .and_then(|n| n.as_str())
                    .map(str::to_owned)
            }
            ManifestSpec::Npm { .. } => json_doc(spec, &text)?
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned),
            _ => None,
        };
        names.extend(name);
    }
    Ok(names)
}

/// The names among `names` that the manifests require: Cargo
/// dependency tables (a renamed entry by its `package`), npm dependency
/// maps, pyproject dependency lists (names compared as PEP 503
/// normalises them).
///
/// # Errors
///
/// As [`declared_names`].
pub fn dependencies_on(
    root: &Path,
    specs: &[ManifestSpec],
    names: &[String],
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for spec in &glob::expand(root, specs)? {
        let Some(text) = read(root, spec)? else {
            continue;
        };
        match spec {
            ManifestSpec::Cargo { .. } => {
                let doc = toml_doc(spec, &text)?;
                for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    let Some(deps) = doc.get(table).and_then(|t| t.as_table_like()) else {
                        continue;
                    };
                    for (key, item) in deps.iter() {
                        let real = item.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                        found.extend(names.iter().filter(|n| *n == real).cloned());
                    }
                }
            }
            ManifestSpec::Npm { .. } => {
                let doc = json_doc(spec, &text)?;
                for table in [
                    "dependencies",
                    "devDependencies",
                    "peerDependencies",
                    "optionalDependencies",
                ] {
                    if let Some(deps) = doc.get(table).and_then(|t| t.as_object()) {
                        found.extend(names.iter().filter(|n| deps.contains_key(*n)).cloned());
                    }
                }
            }
            ManifestSpec::Pyproject { .. } => {
                let doc = toml_doc(spec, &text)?;
                let listed = doc
                    .get("project")
                    .and_then(|p| p.get("dependencies"))
                    .and_then(|d| d.as_array())
                    .into_iter()
                    .flat_map(|a| a.iter().filter_map(|v| v.as_str()));
                for requirement in listed {
                    let name: String = requirement
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                        .collect();
                    found.extend(names.iter().filter(|n| pep503(n) == pep503(&name)).cloned());
                }
            }
            _ => {}
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn pep503(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

fn read(root: &Path, spec: &ManifestSpec) -> Result<Option<String>> {
    let path = root.join(relative_path(spec.path())?);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

fn toml_doc(spec: &ManifestSpec, text: &str) -> Result<toml_edit::DocumentMut> {
    text.parse::<toml_edit::DocumentMut>()
        .map_err(|e| Error::input(format!("{}: {e}", spec.path().display())))
}

fn json_doc(spec: &ManifestSpec, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::input(format!(
            "{}:{}:{}: {e}",
            spec.path().display(),
            e.line(),
            e.column()
        ))
    })
}

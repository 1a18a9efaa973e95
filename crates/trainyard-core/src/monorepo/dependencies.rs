//! Which packages depend on which, read from their manifests: a package
//! depends on another when one of its manifests requires a name another's
//! manifests declare.

use crate::packages::Unit;
use std::path::Path;

use crate::manifest;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The dependency edges between `units`, as (dependent, dependency)
/// indexes; `views` are the units' scoped workspaces, in the same order.
///
/// # Errors
///
/// Returns an error when a manifest cannot be read.
pub fn edges(ws: &Workspace, units: &[Unit], views: &[Workspace]) -> Result<Vec<(usize, usize)>> {
    let specs: Vec<Vec<manifest::ManifestSpec>> = views
        .iter()
        .map(Workspace::manifests)
        .collect::<Result<_>>()?;
    let names: Vec<Vec<String>> = specs
        .iter()
        .map(|s| manifest::declared_names(&ws.root, s))
        .collect::<Result<_>>()?;
    let everyone: Vec<String> = names.iter().flatten().cloned().collect();
    let mut out = Vec::new();
    for (dependent, own) in specs.iter().enumerate() {
        // Each package's manifests are read once, for every other's names.
        let mut required: Vec<String> = manifest::dependencies_on(&ws.root, own, &everyone)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        required.extend(cargo_dependencies(&ws.root, own)?);
        for (dependency, theirs) in names.iter().enumerate() {
            if dependent != dependency && theirs.iter().any(|n| required.contains(n)) {
                out.push((dependent, dependency));
            }
        }
    }
    let _ = units;
    Ok(out)
}

/// Every crate a package's Cargo manifests depend on, with or without a
/// version of their own: `a.workspace = true` and path-only dependencies
/// carry no requirement to rewrite but still make a dependency.
fn cargo_dependencies(root: &Path, specs: &[manifest::ManifestSpec]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for spec in specs
        .iter()
        .filter(|s| s.kind() == manifest::ManifestKind::Cargo)
    {
        let path = root.join(spec.path());
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| Error::input(format!("{}: {e}", spec.path().display())))?;
        for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = doc.get(table).and_then(|t| t.as_table_like()) else {
                continue;
            };
            for (key, item) in deps.iter() {
                let name = item.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                out.push(name.to_owned());
            }
        }
    }
    Ok(out)
}

//! Which packages depend on which, read from their manifests: a package
//! depends on another when one of its manifests requires a name another's
//! manifests declare.

use super::Unit;
use crate::Result;
use crate::manifest;
use crate::workspace::Workspace;

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
    let mut out = Vec::new();
    for (dependent, own) in specs.iter().enumerate() {
        for (dependency, theirs) in names.iter().enumerate() {
            if dependent == dependency || theirs.is_empty() {
                continue;
            }
            if !manifest::dependencies_on(&ws.root, own, theirs)?.is_empty() {
                out.push((dependent, dependency));
            }
        }
    }
    let _ = units;
    Ok(out)
}

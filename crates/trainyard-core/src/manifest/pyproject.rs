//! `pyproject.toml`: `[project].version` (PEP 621) and
//! `[tool.poetry].version`.
//!
//! A version that `[project].dynamic` lists is computed by the build
//! backend: it is reported without a value and a bump leaves it (with a
//! note), unless `[tool.poetry].version` holds it.

use std::path::Path;

use super::text::{Replacement, parse_toml, splice, string_at, table};
use super::{Files, ManifestKind, ManifestVersion, PlanNote, display_path};
use crate::{Error, Result};

const DYNAMIC: &str = "dynamic version ([project].dynamic lists \"version\")";

struct Found {
    project: Option<super::text::TomlStr>,
    poetry: Option<super::text::TomlStr>,
    dynamic: bool,
}

fn find(path: &Path, text: &str) -> Result<Found> {
    let doc = parse_toml(path, text)?;
    let root = doc.as_table();
    let project = table(root, "project");
    let poetry = table(root, "tool").and_then(|t| table(t, "poetry"));
    let dynamic = project
        .and_then(|p| p.get("dynamic"))
        .and_then(|d| d.as_array())
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("version")));
    Ok(Found {
        project: match project {
            Some(p) => string_at(path, text, p, "version", "project.version")?,
            None => None,
        },
        poetry: match poetry {
            Some(p) => string_at(path, text, p, "version", "tool.poetry.version")?,
            None => None,
        },
        dynamic,
    })
}

pub(super) fn read(files: &mut Files<'_>, path: &Path) -> Result<Vec<ManifestVersion>> {
    let text = files.text(path)?;
    let found = find(path, &text)?;
    let entry = |key: &str, version: Option<String>, reason: Option<String>| ManifestVersion {
        path: path.to_path_buf(),
        kind: ManifestKind::Pyproject,
        key: key.to_owned(),
        version,
        inherited: false,
        reason,
    };
    let mut out = Vec::new();
    match (&found.project, found.dynamic) {
        (Some(v), _) => out.push(entry("project.version", Some(v.value.clone()), None)),
        (None, true) => out.push(entry("project.version", None, Some(DYNAMIC.to_owned()))),
        (None, false) => {}
    }
    if let Some(v) = &found.poetry {
        out.push(entry("tool.poetry.version", Some(v.value.clone()), None));
    }
    if out.is_empty() {
        out.push(entry(
            "project.version",
            None,
            Some("no [project].version or [tool.poetry].version".to_owned()),
        ));
    }
    Ok(out)
}

pub(super) fn plan(
    files: &mut Files<'_>,
    path: &Path,
    new: &str,
    notes: &mut Vec<PlanNote>,
) -> Result<()> {
    let text = files.text(path)?;
    let found = find(path, &text)?;
    let reps: Vec<Replacement> = [&found.project, &found.poetry]
        .into_iter()
        .flatten()
        .filter(|s| s.value != new)
        .map(|s| s.replace_with(&text, new))
        .collect();
    if found.project.is_none() && found.dynamic {
        notes.push(PlanNote {
            path: path.to_path_buf(),
            message: format!("{DYNAMIC}, left as is"),
        });
    } else if found.project.is_none() && found.poetry.is_none() {
        return Err(Error::input(format!(
            "{}: no [project].version or [tool.poetry].version",
            display_path(path)
        )));
    }
    let after = splice(&text, reps)?;
    files.set(path, after)
}

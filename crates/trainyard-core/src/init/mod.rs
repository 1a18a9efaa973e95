//! What `trainyard init` finds in a repository before it writes
//! `trainyard.yaml`: the packages of a monorepo and how they are tagged.
//!
//! [`detect_packages`] reads the workspaces a repository declares (a Cargo
//! workspace, npm or yarn `"workspaces"`, `pnpm-workspace.yaml`) and the
//! Python projects below its root, and proposes a `packages:` entry for
//! each; the existing tags decide the tag format, and tags that are one
//! version for all (`v3.4.0`) make the packages one fixed group. Nothing
//! is written: [`crate::config::init_template_with_packages`] renders the
//! proposal.

mod ecosystems;
mod scan;
mod tags;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde::Serialize;

use crate::Result;
use crate::config::packages::{GroupConfig, GroupKind, PackageConfig, TagFormat};
use crate::history::Repo;
use crate::manifest::ManifestSpec;

/// Where a package was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A member of the Cargo workspace of the root `Cargo.toml`.
    Cargo,
    /// A member of the npm or yarn workspaces of the root `package.json`.
    Npm,
    /// A member of the pnpm workspace of `pnpm-workspace.yaml`.
    Pnpm,
    /// A directory below the root with a `pyproject.toml` that names a
    /// project.
    Python,
}

impl Source {
    /// The source's name, as reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cargo => "cargo",
            Source::Npm => "npm",
            Source::Pnpm => "pnpm",
            Source::Python => "python",
        }
    }
}

/// A package found, with the entry proposed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectedPackage {
    /// Where it was found (the first source, when two name one directory).
    pub source: Source,
    /// The version its first manifest carries, as written; `None` when it
    /// carries none.
    pub version: Option<String>,
    /// The proposed `packages:` entry.
    #[serde(flatten)]
    pub config: PackageConfig,
}

/// What [`detect_packages`] found: nothing for a repository that is one
/// package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detected {
    /// The packages, in the order Cargo, JavaScript, Python, each by path.
    pub packages: Vec<DetectedPackage>,
    /// The proposed `groups:`: one fixed group when the tags are one
    /// version for all.
    pub groups: Vec<GroupConfig>,
    /// The tag format most existing tags follow (`{name}-v{version}` when
    /// none does): each package's, or the fixed group's.
    pub tag_format: TagFormat,
    /// How many existing tags follow it.
    pub matching_tags: usize,
    /// The prefix the tags that belong to no package use (the repository's
    /// own releases), for `versioning.tag_prefix`; `None` when there is no
    /// such tag.
    pub tag_prefix: Option<String>,
    /// What the user should know: what was left out and why.
    pub notes: Vec<String>,
}

impl Detected {
    /// Nothing found: the repository is one package.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The proposed `packages:` entries.
    pub fn package_configs(&self) -> Vec<PackageConfig> {
        self.packages.iter().map(|p| p.config.clone()).collect()
    }
}

/// Finds the packages of the repository at `root` (the working tree of
/// `repo`) and proposes their configuration.
///
/// Cargo workspace members (`[workspace] members`, globs allowed, less
/// `exclude`) with a `[package]`; npm and yarn workspaces (`"workspaces"`
/// as a list or `{ "packages": [...] }`) or, instead, pnpm's
/// `pnpm-workspace.yaml` (`!` leaves a pattern out), each member with a
/// `"name"`; and Python projects up to three levels below the root (when
/// a workspace was found too, or there are at least two). Directories of
/// build output, dependencies and virtual environments are not looked
/// into. Two sources naming one directory give one package with both
/// manifests; a name found twice is kept once, with a note.
///
/// # Errors
///
/// Returns an [`Error::Input`](crate::Error::Input) when a workspace file
/// or member manifest does not parse, an
/// [`Error::Io`](crate::Error::Io) when one cannot be read, and an
/// [`Error::Environment`](crate::Error::Environment) when the tags cannot
/// be read.
pub fn detect_packages(root: &Path, repo: &Repo) -> Result<Detected> {
    let mut notes = Vec::new();
    let dirs = scan::directories(root)?;
    let ecosystems::CargoWorkspace {
        packages: cargo,
        root_package,
        inherited,
    } = ecosystems::cargo(root, &dirs)?;
    if let Some(name) = root_package {
        notes.push(format!(
            "the root package `{name}` of the Cargo workspace is left out: its Cargo.toml also carries the members' versions; add it by hand with a manifest of its own"
        ));
    }
    let js = match ecosystems::js_patterns(root)? {
        Some((source, patterns)) => ecosystems::js(root, &dirs, source, &patterns)?,
        None => Vec::new(),
    };
    let python = ecosystems::python(root, &dirs, &mut notes)?;
    let workspace_found = !cargo.is_empty() || !js.is_empty();
    let python = if workspace_found || python.len() >= 2 {
        python
    } else {
        Vec::new()
    };
    let mut packages: Vec<DetectedPackage> = Vec::new();
    for found in cargo.into_iter().chain(js).chain(python) {
        merge(&mut packages, found, &mut notes);
    }
    let tag_names = tag_names(repo)?;
    let names: Vec<&str> = packages.iter().map(|p| p.config.name.as_str()).collect();
    let (tag_format, matching_tags) = tags::choose(&names, &tag_names);
    let tag_prefix = tags::unclaimed_prefix(&tag_format, &names, &tag_names);
    let mut detected = Detected {
        packages,
        groups: Vec::new(),
        tag_format,
        matching_tags,
        tag_prefix,
        notes,
    };
    if detected.packages.is_empty() {
        return Ok(detected);
    }
    if detected.tag_format.as_str().contains("{name}") {
        for package in &mut detected.packages {
            package.config.tag_format = detected.tag_format.clone();
        }
        if !inherited.is_empty() {
            detected.notes.push(format!(
                "{} take{} the workspace's version (version.workspace = true): to release on {} own, give {} a version of {} own",
                inherited.join(", "),
                if inherited.len() == 1 { "s" } else { "" },
                if inherited.len() == 1 { "its" } else { "their" },
                if inherited.len() == 1 { "it" } else { "them" },
                if inherited.len() == 1 { "its" } else { "their" },
            ));
        }
    } else {
        let (group, agree) = fixed_group(root, &detected)?;
        if !agree {
            detected.notes.push(format!(
                "the tags are one version for all, but the packages carry different versions: group `{}` gives them one at its next release",
                group.name
            ));
        }
        detected.groups.push(group);
    }
    Ok(detected)
}

/// Adds `found` to `packages`: as a manifest of the package already at its
/// directory, as nothing (with a note) when its name is taken, or as a new
/// package.
fn merge(packages: &mut Vec<DetectedPackage>, found: DetectedPackage, notes: &mut Vec<String>) {
    if let Some(same) = packages
        .iter_mut()
        .find(|p| p.config.path == found.config.path)
    {
        if let (Some(into), Some(more)) = (&mut same.config.manifests, found.config.manifests) {
            into.extend(more);
        }
        return;
    }
    if let Some(taken) = packages.iter().find(|p| p.config.name == found.config.name) {
        notes.push(format!(
            "{} package `{}` at {} is left out: {} package at {} has the same name",
            found.source.as_str(),
            found.config.name,
            found.config.path.display(),
            taken.source.as_str(),
            taken.config.path.display()
        ));
        return;
    }
    packages.push(found);
}

/// Every tag's name.
fn tag_names(repo: &Repo) -> Result<Vec<String>> {
    let scan = repo.version_tags("")?;
    let mut names: Vec<String> = scan
        .versions
        .into_iter()
        .map(|t| t.name)
        .chain(scan.ignored.into_iter().map(|t| t.name))
        .collect();
    names.sort();
    Ok(names)
}

/// One fixed group of every package, tagged `v{version}`, with the root
/// `package.json` when it carries the packages' version; and whether the
/// packages all carry one version.
fn fixed_group(root: &Path, detected: &Detected) -> Result<(GroupConfig, bool)> {
    let members: Vec<String> = detected
        .packages
        .iter()
        .map(|p| p.config.name.clone())
        .collect();
    let versions: Vec<Option<&str>> = detected
        .packages
        .iter()
        .map(|p| p.version.as_deref())
        .collect();
    let shared = versions
        .first()
        .copied()
        .flatten()
        .filter(|first| versions.iter().all(|v| v == &Some(*first)));
    let root_json = read_root_package_json(root)?;
    let mut manifests = Vec::new();
    if let (Some(shared), Some(json)) = (shared, &root_json)
        && json.get("version").and_then(|v| v.as_str()) == Some(shared)
        && !detected
            .packages
            .iter()
            .any(|p| p.config.path.as_os_str().is_empty())
    {
        manifests.push(ManifestSpec::Npm {
            path: "package.json".into(),
        });
    }
    let root_name = root_json
        .as_ref()
        .and_then(|j| j.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned);
    let dir_name = root.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = [root_name, dir_name, Some("all".to_owned())]
        .into_iter()
        .flatten()
        .find(|n| {
            !n.trim().is_empty()
                && (!n.contains(['/', '\\']) || n.starts_with('@'))
                && !members.contains(n)
        })
        .unwrap_or_else(|| "all-packages".to_owned());
    let group = GroupConfig {
        name,
        kind: GroupKind::Fixed,
        members,
        tag_format: Some(detected.tag_format.clone()),
        changelog: None,
        manifests,
    };
    Ok((group, shared.is_some()))
}

fn read_root_package_json(root: &Path) -> Result<Option<serde_json::Value>> {
    let path = root.join("package.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| crate::Error::io("cannot read", &path, e))?;
    Ok(serde_json::from_str(&text).ok())
}

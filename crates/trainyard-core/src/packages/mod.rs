//! The packages of a monorepo as trainyard releases them: each package on
//! its own, or a fixed group as one. A release unit has its own paths, tags,
//! manifests and changelog; `Workspace::for_package` gives every
//! operation a view of the repository scoped to one, and the `monorepo`
//! module decides every package's version together.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::config::packages::{GroupKind, PackageConfig, TagFormat};
use crate::manifest::ManifestSpec;
use crate::{Error, Result};

pub mod attribution;

pub use attribution::PathScope;

/// What a release unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// One package.
    Package,
    /// A fixed group: its members share one version and one tag.
    FixedGroup,
}

/// Something released on its own: a package, or a fixed group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// Its name: the package's, or the fixed group's.
    pub name: String,
    /// A package or a fixed group.
    pub kind: UnitKind,
    /// The packages it releases: itself, or the group's members.
    pub members: Vec<String>,
    /// The linked group it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_with: Option<String>,
    /// What its release tags start with.
    pub tag_prefix: String,
    /// Its changelog file, relative to the root.
    pub changelog: PathBuf,
    /// The paths whose changes are its own.
    pub paths: Vec<PathBuf>,
    /// Commit scopes that are its own.
    pub scopes: Vec<String>,
    /// In a linked group, every member's paths: their changes decide its
    /// bump.
    #[serde(skip)]
    pub(crate) linked_paths: Vec<PathBuf>,
    /// In a linked group, every member's scopes.
    #[serde(skip)]
    pub(crate) linked_scopes: Vec<String>,
    /// Its manifests as configured; `None` for those found in each
    /// member's directory.
    #[serde(skip)]
    pub(crate) manifests: Option<Vec<ManifestSpec>>,
    /// The members' directories, for manifests found there.
    #[serde(skip)]
    pub(crate) member_dirs: Vec<PathBuf>,
    /// Every member's directory: where its registry packages are.
    #[serde(skip)]
    pub dirs: Vec<PathBuf>,
}

impl Unit {
    /// Its name as one file or directory name (`@x/core` is `x-core`).
    pub fn file_name(&self) -> String {
        crate::config::packages::package_file_name(&self.name)
    }

    /// Whether it is in a linked group.
    pub fn is_linked(&self) -> bool {
        self.linked_with.is_some()
    }

    /// The unit as its linked group sees it: every member's paths and
    /// scopes are its own.
    pub(crate) fn as_linked(&self) -> Unit {
        Unit {
            paths: self.linked_paths.clone(),
            scopes: self.linked_scopes.clone(),
            ..self.clone()
        }
    }
}

/// The release units of a configuration, in configuration order: each
/// package not in a fixed group, then each fixed group.
pub fn units(config: &Config) -> Vec<Unit> {
    let fixed_group_of = |name: &str| {
        config
            .groups
            .iter()
            .find(|g| g.kind == GroupKind::Fixed && g.members.iter().any(|m| m == name))
    };
    let linked_group_of = |name: &str| {
        config
            .groups
            .iter()
            .find(|g| g.kind == GroupKind::Linked && g.members.iter().any(|m| m == name))
            .map(|g| g.name.clone())
    };
    let mut out: Vec<Unit> = config
        .packages
        .iter()
        .filter(|p| fixed_group_of(&p.name).is_none())
        .map(|p| Unit {
            name: p.name.clone(),
            kind: UnitKind::Package,
            members: vec![p.name.clone()],
            linked_with: linked_group_of(&p.name),
            tag_prefix: p.tag_format.prefix_for(&p.name),
            changelog: p
                .changelog
                .clone()
                .unwrap_or_else(|| p.path.join("CHANGELOG.md")),
            paths: own_paths(p),
            scopes: p.scopes.clone(),
            linked_paths: Vec::new(),
            linked_scopes: Vec::new(),
            manifests: p.manifests.clone(),
            member_dirs: vec![p.path.clone()],
            dirs: vec![p.path.clone()],
        })
        .collect();
    for group in config.groups.iter().filter(|g| g.kind == GroupKind::Linked) {
        let members: Vec<&PackageConfig> = config
            .packages
            .iter()
            .filter(|p| group.members.contains(&p.name))
            .collect();
        let paths: Vec<PathBuf> = members.iter().flat_map(|p| own_paths(p)).collect();
        let scopes: Vec<String> = members.iter().flat_map(|p| p.scopes.clone()).collect();
        for unit in out.iter_mut().filter(|u| group.members.contains(&u.name)) {
            unit.linked_paths.clone_from(&paths);
            unit.linked_scopes.clone_from(&scopes);
        }
    }
    for group in config.groups.iter().filter(|g| g.kind == GroupKind::Fixed) {
        let members: Vec<&PackageConfig> = group
            .members
            .iter()
            .filter_map(|m| config.packages.iter().find(|p| &p.name == m))
            .collect();
        let configured = members.iter().all(|p| p.manifests.is_some());
        let mut manifests: Vec<ManifestSpec> = group.manifests.clone();
        let mut member_dirs = Vec::new();
        for member in &members {
            match &member.manifests {
                Some(list) => manifests.extend(list.iter().cloned()),
                None => member_dirs.push(member.path.clone()),
            }
        }
        out.push(Unit {
            name: group.name.clone(),
            kind: UnitKind::FixedGroup,
            members: group.members.clone(),
            linked_with: None,
            tag_prefix: group
                .tag_format
                .clone()
                .unwrap_or_else(TagFormat::plain)
                .prefix_for(&group.name),
            changelog: group
                .changelog
                .clone()
                .unwrap_or_else(|| PathBuf::from("CHANGELOG.md")),
            paths: members.iter().flat_map(|p| own_paths(p)).collect(),
            scopes: members.iter().flat_map(|p| p.scopes.clone()).collect(),
            linked_paths: Vec::new(),
            linked_scopes: Vec::new(),
            manifests: (configured || !group.manifests.is_empty()).then_some(manifests),
            member_dirs,
            dirs: members.iter().map(|p| p.path.clone()).collect(),
        });
    }
    out
}

fn own_paths(package: &PackageConfig) -> Vec<PathBuf> {
    std::iter::once(package.path.clone())
        .chain(package.paths.iter().cloned())
        .collect()
}

/// The unit `name` names: a package, a fixed group, or a member of a
/// fixed group (which releases with its group).
///
/// # Errors
///
/// Returns an [`Error::Input`] listing the names there are when none is
/// `name`, or when the repository has no packages.
pub fn find(config: &Config, name: &str) -> Result<Unit> {
    let all = units(config);
    if all.is_empty() {
        return Err(Error::input(format!(
            "--package {name}: this repository configures no packages (trainyard.yaml `packages:`)"
        )));
    }
    if let Some(unit) = all
        .iter()
        .find(|u| u.name == name)
        .or_else(|| all.iter().find(|u| u.members.iter().any(|m| m == name)))
    {
        return Ok(unit.clone());
    }
    Err(Error::input(format!(
        "--package {name}: no such package or fixed group (there are: {})",
        all.iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The manifests of `unit`: those configured, and those found in each
/// member's directory that configures none, with paths from the root.
///
/// # Errors
///
/// Returns an error when a manifest found in a directory is malformed.
pub fn manifests_of(root: &std::path::Path, unit: &Unit) -> Result<Vec<ManifestSpec>> {
    let mut out = unit.manifests.clone().unwrap_or_default();
    for dir in &unit.member_dirs {
        for found in crate::manifest::detect(&root.join(dir))? {
            out.push(found.moved_under(dir));
        }
    }
    Ok(out)
}

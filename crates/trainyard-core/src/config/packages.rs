//! `packages:` and `groups:`: the packages of a monorepo, each with its own
//! paths, manifests, tags and changelog, and how they version together.

use std::borrow::Cow;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use crate::manifest::ManifestSpec;
use crate::version::Bump;
use crate::{Error, Result};

/// One package of a monorepo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageConfig {
    /// The package's name, as `--package` takes it and `{name}` in a tag
    /// format gives it.
    pub name: String,
    /// Its directory, relative to the repository root: a commit belongs to
    /// the package when it changes something under it.
    pub path: PathBuf,
    /// More files or directories whose changes belong to the package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathBuf>,
    /// The manifests that carry its version (globs allowed); those found in
    /// `path` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ManifestSpec>>,
    /// Its release tags: `{name}-v{version}` by default; `{version}` ends
    /// the format (`{name}@{version}`, `v{version}`).
    #[serde(default = "TagFormat::per_package")]
    pub tag_format: TagFormat,
    /// Its changelog file, relative to the repository root:
    /// `<path>/CHANGELOG.md` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<PathBuf>,
    /// Conventional Commit scopes that belong to the package wherever the
    /// commit changes files (compared without regard to case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// How the members of a group version.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Each member has its own version (as without a group).
    #[default]
    Independent,
    /// All members share one version, one tag and one changelog.
    Fixed,
    /// Members release together with the strongest bump among them, each
    /// on its own version line.
    Linked,
}

impl GroupKind {
    /// The kind's name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Independent => "independent",
            GroupKind::Fixed => "fixed",
            GroupKind::Linked => "linked",
        }
    }
}

/// A group of packages that version together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's name: `--package` takes it for a fixed group, and a
    /// fixed group's tags give it as `{name}`.
    pub name: String,
    /// `independent`, `fixed` or `linked`.
    pub kind: GroupKind,
    /// The packages in the group, by name.
    pub members: Vec<String>,
    /// A fixed group's tags: `v{version}` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_format: Option<TagFormat>,
    /// A fixed group's changelog: `CHANGELOG.md` at the root by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<PathBuf>,
    /// A fixed group's manifests besides its members' (a root
    /// `package.json` that carries the same version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<ManifestSpec>,
}

/// How a monorepo's packages share paths and pass releases on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PackagePathsConfig {
    /// Files or directories whose changes belong to every package (a root
    /// `Cargo.lock`, CI files).
    pub shared: Vec<PathBuf>,
    /// Glob patterns of files whose changes belong to no package
    /// (`**/*.md`, `docs/**`).
    pub ignored: Vec<String>,
    /// The release a package gets when a package it depends on is
    /// released: `patch` by default, `none` for no release.
    pub dependents_bump: Bump,
}

impl Default for PackagePathsConfig {
    fn default() -> Self {
        PackagePathsConfig {
            shared: Vec::new(),
            ignored: Vec::new(),
            dependents_bump: Bump::Patch,
        }
    }
}

/// A tag format: text with `{name}` anywhere and `{version}` at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TagFormat(String);

impl TagFormat {
    const VERSION: &'static str = "{version}";

    /// `{name}-v{version}`, a package's default.
    pub fn per_package() -> Self {
        TagFormat("{name}-v{version}".into())
    }

    /// `v{version}`, a fixed group's default.
    pub fn plain() -> Self {
        TagFormat("v{version}".into())
    }

    /// Reads a format.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when `{version}` does not end it or
    /// appears more than once.
    pub fn parse(text: &str) -> Result<Self> {
        let Some(before) = text.strip_suffix(Self::VERSION) else {
            return Err(Error::input(format!(
                "tag format `{text}` must end with {}: tags are a prefix and then the version",
                Self::VERSION
            )));
        };
        if before.contains(Self::VERSION) {
            return Err(Error::input(format!(
                "tag format `{text}` names {} more than once",
                Self::VERSION
            )));
        }
        Ok(TagFormat(text.to_owned()))
    }

    /// What tags of `name` start with: the format before `{version}`, with
    /// `{name}` filled in.
    pub fn prefix_for(&self, name: &str) -> String {
        self.0
            .strip_suffix(Self::VERSION)
            .unwrap_or(&self.0)
            .replace("{name}", name)
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TagFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TagFormat::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for TagFormat {
    fn schema_name() -> Cow<'static, str> {
        "TagFormat".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A release tag: `{name}` anywhere, `{version}` at the end",
            "pattern": r"\{version\}$"
        })
    }
}

/// Checks names, members and paths across `packages:` and `groups:`. Each
/// message starts with the key at fault.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a duplicate or empty name, a path that
/// leaves the repository, a group member that is no package, or a package
/// in two groups.
pub fn validate(packages: &[PackageConfig], groups: &[GroupConfig]) -> Result<()> {
    let mut names: Vec<&str> = Vec::new();
    for (i, package) in packages.iter().enumerate() {
        let at = format!("packages[{i}]");
        check_name(&at, &package.name, &names)?;
        names.push(&package.name);
        for (key, path) in std::iter::once(("path", &package.path)).chain(
            package
                .paths
                .iter()
                .map(|p| ("paths", p))
                .chain(package.changelog.iter().map(|p| ("changelog", p))),
        ) {
            if crate::manifest::normalize(path).is_none() {
                return Err(Error::input(format!(
                    "{at}.{key}: {} must be relative to the repository root and stay inside it",
                    path.display()
                )));
            }
        }
        if let Some(manifests) = &package.manifests {
            for (j, manifest) in manifests.iter().enumerate() {
                manifest
                    .validate()
                    .map_err(|e| Error::input(format!("{at}.manifests[{j}]: {e}")))?;
            }
        }
    }
    let mut grouped: Vec<(&str, &str)> = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let at = format!("groups[{i}]");
        check_name(&at, &group.name, &names)?;
        names.push(&group.name);
        if group.members.is_empty() {
            return Err(Error::input(format!("{at}.members: a group needs members")));
        }
        for (j, member) in group.members.iter().enumerate() {
            if !packages.iter().any(|p| &p.name == member) {
                return Err(Error::input(format!(
                    "{at}.members[{j}]: `{member}` is not a package (packages: {})",
                    packages
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if let Some((_, other)) = grouped.iter().find(|(m, _)| m == member) {
                return Err(Error::input(format!(
                    "{at}.members[{j}]: `{member}` is already in group `{other}`: a package belongs to one group"
                )));
            }
            grouped.push((member, &group.name));
        }
        if group.kind != GroupKind::Fixed
            && (group.tag_format.is_some()
                || group.changelog.is_some()
                || !group.manifests.is_empty())
        {
            return Err(Error::input(format!(
                "{at}: tag_format, changelog and manifests belong to a fixed group; a {} group's members keep their own",
                group.kind.as_str()
            )));
        }
    }
    Ok(())
}

fn check_name(at: &str, name: &str, taken: &[&str]) -> Result<()> {
    if name.trim().is_empty() || name.contains(['/', '\\']) && !name.starts_with('@') {
        return Err(Error::input(format!(
            "{at}.name: `{name}` is not a package name (no spaces only, no slashes but a scope's)"
        )));
    }
    if taken.contains(&name) {
        return Err(Error::input(format!(
            "{at}.name: `{name}` is used twice: package and group names are unique"
        )));
    }
    let file_name = package_file_name(name);
    if let Some(other) = taken.iter().find(|t| package_file_name(t) == file_name) {
        return Err(Error::input(format!(
            "{at}.name: `{name}` and `{other}` would share the file name `{file_name}` of their documents: rename one"
        )));
    }
    Ok(())
}

/// A package's name as one file or evidence name: `@x/core` is `x-core`;
/// characters a file name should not carry become `-`.
pub(crate) fn package_file_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = kept.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let trimmed = trimmed.trim_end_matches('.');
    if trimmed.is_empty() {
        "package".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_gives_the_prefix_of_its_tags() {
        assert_eq!(TagFormat::per_package().prefix_for("core"), "core-v");
        let scoped = TagFormat::parse("{name}@{version}").unwrap();
        assert_eq!(scoped.prefix_for("@x/core"), "@x/core@");
        assert_eq!(TagFormat::plain().prefix_for("any"), "v");
    }

    #[test]
    fn a_package_file_name_is_an_evidence_name() {
        assert_eq!(package_file_name("@acme/lexer"), "acme-lexer");
        assert_eq!(package_file_name("core"), "core");
        assert_eq!(package_file_name("my pkg."), "my-pkg");
        assert_eq!(package_file_name("@@"), "package");
    }

    #[test]
    fn a_format_ends_with_the_version_once() {
        let err = TagFormat::parse("{version}-{name}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must end with {version}"), "{err}");
        let err = TagFormat::parse("{version}{version}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than once"), "{err}");
    }
}

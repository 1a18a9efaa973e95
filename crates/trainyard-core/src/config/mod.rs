//! `trainyard.yaml`: the repository's configuration.
//!
//! Layers, in order: built-in defaults (the spec's values), then the file.
//! The file is `trainyard.yaml`, found by walking up from the working
//! directory; a missing default file means defaults, while a missing file
//! named with `--config` is an error. Parsing is strict: an unknown key is
//! an error, and every error names the file, line, column and key.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

pub mod cadence;
pub mod changelog;
pub mod checklist;
pub mod gates;
pub mod notify;
pub mod packages;
pub mod release;
pub mod rollback;
pub mod versioning;

use crate::manifest::ManifestSpec;
use crate::version::{self, Bump, Version};
use crate::{Error, Result};
pub use versioning::{BumpPolicy, BumpRule};

/// The file name trainyard looks for.
pub const FILE_NAME: &str = "trainyard.yaml";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "trainyard.yaml")]
pub struct Config {
    /// How versions are found, decided and written.
    pub versioning: VersioningConfig,
    /// Where evidence documents are kept.
    pub evidence: EvidenceConfig,
    /// How the changelog is grouped and written.
    pub changelog: ChangelogConfig,
    /// Where hand-written release notes live and how notes are rendered.
    pub notes: NotesConfig,
    /// When releases happen: the release calendar's cadence.
    pub cadence: cadence::CadenceConfig,
    /// Gates: G-MRG and G-REL by default; a gate named here replaces the
    /// built-in one of the same name.
    pub gates: gates::GatesConfig,
    /// How the pre-release checklist checks RL-01, RL-05 and RL-06.
    pub checklist: checklist::ChecklistConfig,
    /// The release workflow: branches, artifacts, channels, signing,
    /// announcements.
    pub release: release::ReleaseConfig,
    /// Rollbacks: the decision matrix, the branch, components, smoke
    /// tests and notifications.
    pub rollback: rollback::RollbackConfig,
    /// How sync notifications are sent: the SMTP relay of `email:`
    /// targets.
    pub notify: notify::NotifyConfig,
    /// Who decides: roles, the principals holding them and their keys;
    /// with roles, every decision is signed and verified.
    pub identity: crate::identity::IdentityConfig,
    /// Sync configuration files besides those in `.trainyard/syncs/`,
    /// relative to the repository root.
    pub syncs: Vec<PathBuf>,
    /// The packages of a monorepo, each versioned, tagged and released on
    /// its own (or with its group). None: the repository is one package.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<packages::PackageConfig>,
    /// Packages that version together: `fixed` (one version) or `linked`
    /// (one bump).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<packages::GroupConfig>,
    /// Paths that belong to every package or to none, and what a
    /// dependent's release is.
    pub package_paths: packages::PackagePathsConfig,
}

/// `changelog:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChangelogConfig {
    /// The changelog file, relative to the repository root.
    pub path: PathBuf,
    /// The repository's web address (e.g. `https://github.com/o/r`) that
    /// commits, pull requests, issues and sections link to; the `origin`
    /// remote's when not set (links only when its host names a forge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    /// The forge the repository is on (`github`, `gitlab`, `gitea`,
    /// `bitbucket`), for the shapes of links; guessed from the host when
    /// not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forge: Option<changelog::Forge>,
    /// Rules from commit type (and scope) to a Keep a Changelog group, first
    /// match wins; `skip` leaves such commits out. Unmatched: feat -> added,
    /// fix -> fixed, perf/refactor/revert -> changed, deprecate ->
    /// deprecated, remove -> removed, security -> security; other types are
    /// left out. A security fix (type `security`, a `fix` with scope
    /// `security` or naming a CVE id, or a `Security:` footer) always goes
    /// to `security`, a `Deprecated:` footer to `deprecated`.
    pub groups: Vec<changelog::GroupRule>,
}

impl Default for ChangelogConfig {
    fn default() -> Self {
        ChangelogConfig {
            path: PathBuf::from("CHANGELOG.md"),
            repository_url: None,
            forge: None,
            groups: Vec::new(),
        }
    }
}

/// `notes:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NotesConfig {
    /// Hand-written notes, one `<version>.yaml` per release, relative to
    /// the repository root.
    pub dir: PathBuf,
    /// A Jinja-style (minijinja) template for the markdown notes, replacing
    /// the built-in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<PathBuf>,
}

impl Default for NotesConfig {
    fn default() -> Self {
        NotesConfig {
            dir: PathBuf::from(".trainyard/notes"),
            template: None,
        }
    }
}

/// `versioning:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VersioningConfig {
    /// What release tags start with; may be empty (tags like `44.39.2`).
    pub tag_prefix: String,
    /// The first release when the repository has none.
    pub initial_version: ConfigVersion,
    /// Rules from commit type (and scope) to bump; first match wins.
    /// Breaking changes always bump major.
    pub bump_rules: Vec<BumpRule>,
    /// While the major version is 0, a breaking change bumps minor.
    pub zero_major_breaking_is_minor: bool,
    /// The bump of a commit that is not a Conventional Commit.
    pub nonconforming_bump: Bump,
    /// Count merge commits (skipped by default).
    pub include_merges: bool,
    /// The manifests that carry the version. When absent, trainyard uses
    /// the ones it finds at the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ManifestSpec>>,
}

impl Default for VersioningConfig {
    fn default() -> Self {
        VersioningConfig {
            tag_prefix: "v".into(),
            initial_version: ConfigVersion(Version::new(0, 1, 0)),
            bump_rules: Vec::new(),
            zero_major_breaking_is_minor: false,
            nonconforming_bump: Bump::Patch,
            include_merges: false,
            manifests: None,
        }
    }
}

impl VersioningConfig {
    /// The bump policy these settings describe.
    pub fn policy(&self) -> BumpPolicy {
        BumpPolicy {
            rules: self.bump_rules.clone(),
            zero_major_breaking_is_minor: self.zero_major_breaking_is_minor,
            nonconforming: self.nonconforming_bump,
            include_merges: self.include_merges,
        }
    }
}

/// `evidence:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// The evidence directory, relative to the repository root.
    pub dir: PathBuf,
    /// How long a run waits for another run that holds the evidence store
    /// (a write, or `evidence verify`) before it gives up: 0 to 3600
    /// seconds, 30 by default.
    pub lock_wait_seconds: crate::bounded::StoreWait,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            dir: PathBuf::from(".trainyard"),
            lock_wait_seconds: crate::bounded::StoreWait::constant(30),
        }
    }
}

/// A version written in the configuration, checked as it is read so that
/// a bad one is reported at its line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ConfigVersion(pub Version);

impl<'de> Deserialize<'de> for ConfigVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        version::parse(&text)
            .map(ConfigVersion)
            .map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ConfigVersion {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A Semantic Versioning 2.0.0 version, without prefix",
            "pattern": r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
        })
    }
}

/// A configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration, defaults filled in.
    pub config: Config,
    /// The file it was read from, or `None` for built-in defaults.
    pub path: Option<PathBuf>,
}

/// Finds `trainyard.yaml` in `start` or the nearest parent that has one.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Loads the configuration: the file named by `explicit`, or else the one
/// [`discover`] finds from `start`, or else the defaults.
///
/// # Errors
///
/// Returns an [`Error::Input`] when `explicit` does not exist or when the
/// file is not a valid configuration (naming file, line, column and key),
/// and an [`Error::Io`] when it cannot be read.
pub fn load(start: &Path, explicit: Option<&Path>) -> Result<Loaded> {
    let path = match explicit {
        Some(path) if !path.exists() => {
            return Err(Error::input(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        Some(path) => Some(path.to_path_buf()),
        None => discover(start),
    };
    let Some(path) = path else {
        return Ok(Loaded {
            config: Config::default(),
            path: None,
        });
    };
    let text = crate::yaml::read_text(&path, &path)?;
    let config = parse(&text, &path)?;
    Ok(Loaded {
        config,
        path: Some(path),
    })
}

/// Parses configuration text; `origin` names it in error messages.
///
/// # Errors
///
/// Returns an [`Error::Input`] of the form
/// `trainyard.yaml:4:7: versioning.bump_rules[0].bump: unknown variant ...`.
pub fn parse(text: &str, origin: &Path) -> Result<Config> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let config: Config = crate::yaml::parse(text, origin)?;
    config
        .check()
        .map_err(|e| crate::yaml::locate_message(origin, text, &e.to_string()))?;
    Ok(config)
}

impl Config {
    /// Checks what spans more than one key. Each message starts with the
    /// key at fault (`gates.G-REL.checks[1]: ...`), so that [`parse`] can
    /// give its line and column.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the key at fault.
    pub fn check(&self) -> Result<()> {
        self.cadence.validate()?;
        self.gates.validate()?;
        if let Some(forge) = &self.checklist.forge {
            forge.validate()?;
        }
        crate::artifacts::validate(&self.release.artifacts)
            .and_then(|()| crate::channels::validate(&self.release.channels))?;
        self.identity.validate()?;
        packages::validate(&self.packages, &self.groups)?;
        if let Some(manifests) = &self.versioning.manifests {
            for (i, manifest) in manifests.iter().enumerate() {
                manifest
                    .validate()
                    .map_err(|e| Error::input(format!("versioning.manifests[{i}]: {e}")))?;
            }
        }
        Ok(())
    }

    /// The JSON Schema of the configuration file.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
    }
}

/// The commented configuration `trainyard init` writes, listing the
/// manifests found at the repository root.
pub fn init_template(manifests: &[ManifestSpec], tag_prefix: &str) -> String {
    let mut out = String::from(
        "# trainyard configuration. Every key is optional: the defaults are the\n\
         # release spec's values. `trainyard config schema` prints the JSON Schema.\n\
         \n\
         versioning:\n\
         \x20 # Release tags are `<tag_prefix><version>`, e.g. v1.2.0. May be \"\".\n",
    );
    out.push_str(&format!("  tag_prefix: {}\n", yaml_scalar(tag_prefix)));
    out.push_str(
        "  # The first release when the repository has no release tag yet.\n\
         \x20 initial_version: 0.1.0\n\
         \x20 # Commit type (and scope) to bump, first match wins; breaking changes\n\
         \x20 # always bump major. Unmatched: feat -> minor, everything else -> patch.\n\
         \x20 bump_rules: []\n\
         \x20 #  - { type: docs, scope: readme.md, bump: patch }\n\
         \x20 #  - { type: chore, bump: none }\n\
         \x20 # While the major version is 0, a breaking change bumps minor.\n\
         \x20 zero_major_breaking_is_minor: false\n\
         \x20 # The bump of a commit that is not a Conventional Commit.\n\
         \x20 nonconforming_bump: patch\n\
         \x20 # Merge commits are skipped: their changes arrive with the merged commits.\n\
         \x20 include_merges: false\n\
         \x20 # Files that carry the version, updated by `trainyard version bump`.\n",
    );
    if manifests.is_empty() {
        out.push_str(
            "  # None were found; add one, e.g. a file and a regex with a `version` group:\n\
             \x20 manifests: []\n\
             \x20 #  - { kind: regex, path: src/version.h, pattern: '#define VERSION \"(?P<version>[^\"]+)\"' }\n",
        );
    } else {
        out.push_str("  manifests:\n");
        for manifest in manifests {
            out.push_str(&format!(
                "    - {{ kind: {}, path: {} }}\n",
                manifest.kind().as_str(),
                manifest.path().display()
            ));
        }
    }
    out.push_str(
        "\n\
         evidence:\n\
         \x20 # Evidence documents (YAML, hash-chained), relative to the repository root.\n\
         \x20 dir: .trainyard\n\
         \n\
         changelog:\n\
         \x20 path: CHANGELOG.md\n\
         \x20 # Links go to the origin remote's forge; set it to link elsewhere:\n\
         \x20 # repository_url: https://github.com/owner/repo\n\
         \x20 # Commit type (and scope) to Keep a Changelog group, first match wins:\n\
         \x20 # added, changed, deprecated, removed, fixed, security, or skip.\n\
         \x20 groups: []\n\
         \x20 #  - { type: docs, group: changed }\n\
         \n\
         notes:\n\
         \x20 # Hand-written release notes, <version>.yaml, merged over the generated ones.\n\
         \x20 dir: .trainyard/notes\n\
         \x20 # A minijinja template replacing the built-in markdown:\n\
         \x20 # template: release-notes.md.j2\n\
         \n\
         cadence:\n\
         \x20 # The date \"today\" is in this time zone (IANA name).\n\
         \x20 time_zone: UTC\n\
         \x20 # A Monday that starts week 1 (development sprint) of a minor cycle.\n\
         \x20 anchor: 2026-01-05\n\
         \x20 cycle_weeks: 2\n\
         \x20 # In the last week: Monday-Wednesday final PRs, the RC cut, the release.\n\
         \x20 rc_day: thursday\n\
         \x20 release_day: friday\n\
         \x20 # Majors on the last major_day of these months (end of each quarter).\n\
         \x20 major_months: [3, 6, 9, 12]\n\
         \x20 major_day: friday\n\
         \x20 working_days: [monday, tuesday, wednesday, thursday, friday]\n\
         \x20 # Dates or ranges: - 2026-12-25  or  - { from: 2026-12-21, to: 2027-01-01, name: year-end }\n\
         \x20 non_working_days: []\n\
         \x20 freeze_windows: []\n\
         \x20 # previous_working_day, or skip (minors only).\n\
         \x20 on_blocked: previous_working_day\n",
    );
    out
}

/// A string as a YAML scalar: a plain word as it is; anything else (the
/// empty string, YAML's special characters, what would read as a number,
/// a boolean or null) quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_owned()
    } else {
        // A JSON string is a YAML double-quoted scalar.
        serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
    }
}

fn yaml_path(path: &Path) -> String {
    yaml_scalar(&path.to_string_lossy())
}

/// A manifest as a one-line YAML mapping.
fn yaml_manifest(manifest: &ManifestSpec) -> String {
    match manifest {
        ManifestSpec::Regex(r) => format!(
            "{{ kind: regex, path: {}, pattern: {} }}",
            yaml_path(&r.path),
            serde_json::to_string(&r.pattern).unwrap_or_default()
        ),
        other => format!(
            "{{ kind: {}, path: {} }}",
            other.kind().as_str(),
            yaml_path(other.path())
        ),
    }
}

/// A list of strings as a one-line YAML sequence.
fn yaml_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(yaml_scalar).collect();
    format!("[{}]", items.join(", "))
}

/// [`init_template`] followed by the packages and groups of a monorepo, as
/// `trainyard init` proposes them: with none, exactly [`init_template`].
/// [`parse`] reads the packages and groups back as given.
pub fn init_template_with_packages(
    manifests: &[ManifestSpec],
    tag_prefix: &str,
    packages: &[packages::PackageConfig],
    groups: &[packages::GroupConfig],
) -> String {
    let mut out = init_template(manifests, tag_prefix);
    if packages.is_empty() {
        return out;
    }
    out.push_str(
        "\n\
         # The packages of this monorepo, as `trainyard init` found them: each is\n\
         # versioned, tagged and released on its own (or with its group). A commit\n\
         # belongs to a package when it changes a file under its path (or `paths`)\n\
         # or names one of its `scopes`. Its changelog is <path>/CHANGELOG.md.\n\
         packages:\n",
    );
    let in_fixed_group = |name: &str| {
        groups
            .iter()
            .any(|g| g.kind == packages::GroupKind::Fixed && g.members.iter().any(|m| m == name))
    };
    for package in packages {
        out.push_str(&format!("  - name: {}\n", yaml_scalar(&package.name)));
        out.push_str(&format!("    path: {}\n", yaml_path(&package.path)));
        if !package.paths.is_empty() {
            let paths: Vec<String> = package
                .paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            out.push_str(&format!(
                "    paths: {}\n",
                yaml_list(paths.iter().map(String::as_str))
            ));
        }
        if let Some(manifests) = &package.manifests {
            out.push_str("    manifests:\n");
            for manifest in manifests {
                out.push_str(&format!("      - {}\n", yaml_manifest(manifest)));
            }
        }
        // A fixed group's members are tagged as the group is.
        if !(in_fixed_group(&package.name)
            && package.tag_format == packages::TagFormat::per_package())
        {
            out.push_str(&format!(
                "    tag_format: {}\n",
                yaml_scalar(package.tag_format.as_str())
            ));
        }
        if let Some(changelog) = &package.changelog {
            out.push_str(&format!("    changelog: {}\n", yaml_path(changelog)));
        }
        if !package.scopes.is_empty() {
            out.push_str(&format!(
                "    scopes: {}\n",
                yaml_list(package.scopes.iter().map(String::as_str))
            ));
        }
    }
    if groups.is_empty() {
        out.push_str(
            "\n\
             # Packages that version together: `fixed` (one version, one tag, one\n\
             # changelog) or `linked` (released together with the strongest bump).\n\
             groups: []\n\
             #  - { name: core, kind: linked, members: [a, b] }\n",
        );
        return out;
    }
    out.push_str(
        "\n\
         # Packages that version together. A fixed group's members share one version,\n\
         # one tag and one changelog (CHANGELOG.md at the root unless `changelog`).\n\
         groups:\n",
    );
    for group in groups {
        out.push_str(&format!("  - name: {}\n", yaml_scalar(&group.name)));
        out.push_str(&format!("    kind: {}\n", group.kind.as_str()));
        out.push_str("    members:\n");
        for member in &group.members {
            out.push_str(&format!("      - {}\n", yaml_scalar(member)));
        }
        if let Some(format) = &group.tag_format {
            out.push_str(&format!(
                "    tag_format: {}\n",
                yaml_scalar(format.as_str())
            ));
        }
        if let Some(changelog) = &group.changelog {
            out.push_str(&format!("    changelog: {}\n", yaml_path(changelog)));
        }
        if !group.manifests.is_empty() {
            out.push_str("    # Manifests besides the members' that carry the group's version.\n");
            out.push_str("    manifests:\n");
            for manifest in &group.manifests {
                out.push_str(&format!("      - {}\n", yaml_manifest(manifest)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        parse(text, Path::new("trainyard.yaml"))
            .expect_err("invalid config")
            .to_string()
    }

    #[test]
    fn empty_and_missing_sections_mean_defaults() {
        let config = parse("", Path::new("trainyard.yaml")).expect("empty is fine");
        assert_eq!(config, Config::default());
        let config =
            parse("versioning:\n  tag_prefix: \"\"\n", Path::new("t.yaml")).expect("valid");
        assert_eq!(config.versioning.tag_prefix, "");
        assert_eq!(config.versioning.initial_version.0, Version::new(0, 1, 0));
    }

    #[test]
    fn bump_rules_parse() {
        let text = "versioning:\n  bump_rules:\n    - { type: docs, scope: readme.md, bump: patch }\n    - { type: chore, bump: none }\n";
        let config = parse(text, Path::new("trainyard.yaml")).expect("valid");
        assert_eq!(config.versioning.bump_rules.len(), 2);
        assert_eq!(config.versioning.bump_rules[1].bump, Bump::None);
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let cases = [
            "versioning:\n  tag_prefx: v\n",
            "versoning:\n  tag_prefix: v\n",
            "versioning:\n  bump_rules:\n    - { type: docs, bump: huge }\n",
            "versioning:\n  initial_version: 01.0.0\n",
            "versioning:\n  include_merges: [yes\n",
            "versioning:\n  bump_rules:\n    - { type: docs, bump: patch, colour: red }\n",
            "evidence: 3\n",
        ];
        let messages: Vec<String> = cases.iter().map(|c| error_of(c)).collect();
        insta::assert_snapshot!(messages.join("\n"));
    }

    #[test]
    fn numbers_out_of_bounds_name_line_column_and_key() {
        let cases = [
            "rollback:\n  decide_within_minutes: 0\n",
            "rollback:\n  decide_within_minutes: 1441\n",
            "notify:\n  smtp: { host: relay, from: ci@example.org, port: 70000 }\n",
        ];
        let messages: Vec<String> = cases.iter().map(|c| error_of(c)).collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        trainyard.yaml:2:26: rollback.decide_within_minutes: must be between 1 and 1440 (1 day), not 0
        trainyard.yaml:2:26: rollback.decide_within_minutes: must be between 1 and 1440 (1 day), not 1441
        trainyard.yaml:2:52: notify.smtp.port: must be between 1 and 65535, not 70000
        ");
    }

    #[test]
    fn release_errors_name_their_key_once() {
        assert_eq!(
            error_of("release:\n  channels:\n    - { type: command, name: c, run: ' ' }\n"),
            "trainyard.yaml: release.channels `c`: run is empty"
        );
        assert_eq!(
            error_of("release:\n  artifacts:\n    - { name: bin, paths: [] }\n"),
            "trainyard.yaml: release.artifacts `bin`: paths is empty; list the files to ship"
        );
    }

    #[test]
    fn the_template_parses() {
        let text = init_template(&[], "v");
        parse(&text, Path::new("trainyard.yaml")).expect("template is valid");
    }

    #[test]
    fn the_template_with_packages_parses_back_to_them() {
        use packages::{GroupConfig, GroupKind, PackageConfig, TagFormat};
        let package = |name: &str, path: &str| PackageConfig {
            name: name.into(),
            path: path.into(),
            paths: vec!["shared/true".into()],
            manifests: Some(vec![ManifestSpec::Npm {
                path: format!("{path}/package.json").into(),
            }]),
            tag_format: TagFormat::parse("{name}@{version}").expect("format"),
            changelog: Some("docs/CHANGES.md".into()),
            scopes: vec!["null".into(), "1.0".into()],
        };
        let packages = vec![package("@x/core", "packages/core"), package("yes", "no")];
        let text = init_template_with_packages(&[], "", &packages, &[]);
        assert!(text.starts_with(&init_template(&[], "")), "{text}");
        let config = parse(&text, Path::new("trainyard.yaml")).expect("valid");
        assert_eq!(config.packages, packages, "{text}");
        assert!(config.groups.is_empty());
        let groups = vec![GroupConfig {
            name: "all".into(),
            kind: GroupKind::Fixed,
            members: vec!["@x/core".into(), "yes".into()],
            tag_format: Some(TagFormat::plain()),
            changelog: None,
            manifests: vec![ManifestSpec::Npm {
                path: "package.json".into(),
            }],
        }];
        let text = init_template_with_packages(&[], "v", &packages, &groups);
        let config = parse(&text, Path::new("trainyard.yaml")).expect("valid");
        assert_eq!(
            (config.packages, config.groups),
            (packages, groups),
            "{text}"
        );
        assert_eq!(
            init_template_with_packages(&[], "v", &[], &[]),
            init_template(&[], "v")
        );
    }

    #[test]
    fn schema_names_the_sections() {
        let schema = Config::json_schema();
        let properties = &schema["properties"];
        assert!(properties.get("versioning").is_some());
        assert!(properties.get("evidence").is_some());
    }
}

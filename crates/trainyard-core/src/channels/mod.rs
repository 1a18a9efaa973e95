//! Distribution channels: where a release's artifacts are published.
//!
//! Step 4 of the spec's release workflow ("Release Execution") ends with
//! "publish to distribution channels", and the release evidence records
//! `distribution: {channels, published_at}`. Each `release.channels` entry
//! ([`ChannelConfig`]) is one channel:
//!
//! - `directory`: copy the artifacts into `<path>/<version>/`, each file
//!   atomically;
//! - `git_remote`: push the release tag (and optionally the release
//!   branch) with the user's own `git push`;
//! - `http`: `PUT {url}/{version}/{file}` for each artifact, then read it
//!   back and compare the SHA-256;
//! - `command`: a shell command of the user's.
//!
//! [`publish`] is idempotent and resumable: content already published
//! identically is left alone and reported, content that differs is refused
//! (before anything is written) unless the channel says `overwrite: true`.
//! So a run that stopped half way can simply be run again. The caller keeps
//! one [`ChannelReceipt`] per channel and skips channels that have one.
//! [`plan`] says what [`publish`] would do, touching nothing, for
//! `--dry-run`.
//!
//! Refusals and bad configuration are [`Error::Input`]; a failing server,
//! git or command is [`Error::Environment`]. Tokens never appear in
//! messages, receipts or plans.
//!
//! Each kind lives in its own file, its configuration beside what it
//! does; this file holds what they share and dispatches to them.

mod command;
mod directory;
mod forge_release;
mod git_remote;
mod http;
mod registry;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::artifacts::Artifact;
use crate::bounded::Timeout;
use crate::{Error, Result};

pub use command::{CommandChannel, DEFAULT_COMMAND_TIMEOUT_SECONDS};
pub use directory::DirectoryChannel;
pub use forge_release::{ForgeReleaseChannel, OnRollback, ReleaseForge};
pub use git_remote::GitRemoteChannel;
pub use http::HttpChannel;
pub use registry::{CratesChannel, NpmChannel, PypiChannel};

/// One `release.channels` entry, tagged by `type`.
///
/// ```yaml
/// - type: directory
///   name: mirror
///   path: /srv/releases          # relative paths are from the repository root
///   overwrite: false
/// - type: git_remote
///   name: origin
///   remote: origin               # a remote name or URL
///   push_branch: release/1.2     # optional
/// - type: http
///   name: artifacts
///   url: https://artifacts.example.com/app   # PUT {url}/{version}/{file}
///   credentials: env:ARTIFACTS_TOKEN          # optional, sent as a bearer token
///   overwrite: false
/// - type: command
///   name: homebrew
///   run: ./scripts/bump-formula.sh "$TRAINYARD_VERSION"
///   credentials: env:TAP_TOKEN                # optional, as TRAINYARD_TOKEN
///   timeout_seconds: 1800
/// ```
// Read through a flat `RawChannel` rather than as an internally tagged
// enum, which would buffer the entry and lose the line, column and key of
// a bad value inside it; the schema stays the tagged union's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawChannel")]
#[schemars(!try_from)]
pub enum ChannelConfig {
    /// Copy the artifacts into a directory.
    Directory(DirectoryChannel),
    /// Push the release tag (and branch) to a git remote.
    GitRemote(GitRemoteChannel),
    /// Upload the artifacts with HTTP `PUT`.
    Http(HttpChannel),
    /// Run a command of the user's.
    Command(CommandChannel),
    /// A GitHub release.
    Github(ForgeReleaseChannel),
    /// A GitLab release.
    Gitlab(ForgeReleaseChannel),
    /// A Gitea or Forgejo release.
    Gitea(ForgeReleaseChannel),
    /// Crates published with `cargo publish`.
    Crates(CratesChannel),
    /// Packages published with `npm publish`.
    Npm(NpmChannel),
    /// Distributions uploaded to PyPI or another package index.
    Pypi(PypiChannel),
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A channel as written in YAML, before its `type` says which keys apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    #[serde(rename = "type")]
    kind: ChannelKind,
    name: String,
    path: Option<PathBuf>,
    remote: Option<String>,
    push_branch: Option<String>,
    url: Option<String>,
    run: Option<String>,
    credentials: Option<String>,
    overwrite: Option<bool>,
    timeout_seconds: Option<Timeout>,
    api_url: Option<String>,
    repository: Option<String>,
    draft: Option<bool>,
    make_latest: Option<bool>,
    on_rollback: Option<OnRollback>,
    registry: Option<String>,
    index: Option<String>,
    packages: Option<Vec<String>>,
    access: Option<String>,
    dist_tag: Option<String>,
    upload_url: Option<String>,
    index_url: Option<String>,
    dist: Option<PathBuf>,
}

impl TryFrom<RawChannel> for ChannelConfig {
    type Error = Error;

    fn try_from(raw: RawChannel) -> Result<Self> {
        let kind = raw.kind;
        let given = [
            ("path", raw.path.is_some()),
            ("remote", raw.remote.is_some()),
            ("push_branch", raw.push_branch.is_some()),
            ("url", raw.url.is_some()),
            ("run", raw.run.is_some()),
            ("credentials", raw.credentials.is_some()),
            ("overwrite", raw.overwrite.is_some()),
            ("timeout_seconds", raw.timeout_seconds.is_some()),
            ("api_url", raw.api_url.is_some()),
            ("repository", raw.repository.is_some()),
            ("draft", raw.draft.is_some()),
            ("make_latest", raw.make_latest.is_some()),
            ("on_rollback", raw.on_rollback.is_some()),
            ("registry", raw.registry.is_some()),
            ("index", raw.index.is_some()),
            ("packages", raw.packages.is_some()),
            ("access", raw.access.is_some()),
            ("dist_tag", raw.dist_tag.is_some()),
            ("upload_url", raw.upload_url.is_some()),
            ("index_url", raw.index_url.is_some()),
            ("dist", raw.dist.is_some()),
        ];
        let allowed: &[&str] = match kind {
            ChannelKind::Directory => &["path", "overwrite"],
            ChannelKind::GitRemote => &["remote", "push_branch"],
            ChannelKind::Http => &["url", "credentials", "overwrite"],
            ChannelKind::Command => &["run", "credentials", "timeout_seconds"],
            ChannelKind::Github => &[
                "api_url",
                "repository",
                "credentials",
                "draft",
                "make_latest",
                "on_rollback",
            ],
            ChannelKind::Gitlab => &["api_url", "repository", "credentials", "on_rollback"],
            ChannelKind::Gitea => &[
                "api_url",
                "repository",
                "credentials",
                "draft",
                "on_rollback",
            ],
            ChannelKind::Crates => &["registry", "index", "credentials", "packages"],
            ChannelKind::Npm => &["registry", "credentials", "packages", "access", "dist_tag"],
            ChannelKind::Pypi => &["upload_url", "index_url", "credentials", "dist"],
        };
        if let Some((key, _)) = given
            .iter()
            .find(|(key, set)| *set && !allowed.contains(key))
        {
            let mut expected = vec!["type", "name"];
            expected.extend(allowed);
            return Err(Error::input(format!(
                "channel `{}`: `{key}` does not apply to a {kind} channel, expected one of {}",
                raw.name,
                expected.join(", ")
            )));
        }
        let needs = |key: &str| {
            Error::input(format!(
                "channel `{}`: a {kind} channel needs `{key}`",
                raw.name
            ))
        };
        Ok(match kind {
            ChannelKind::Directory => ChannelConfig::Directory(DirectoryChannel {
                path: raw.path.ok_or_else(|| needs("path"))?,
                overwrite: raw.overwrite.unwrap_or(false),
                name: raw.name,
            }),
            ChannelKind::GitRemote => ChannelConfig::GitRemote(GitRemoteChannel {
                remote: raw.remote.ok_or_else(|| needs("remote"))?,
                push_branch: raw.push_branch,
                name: raw.name,
            }),
            ChannelKind::Http => ChannelConfig::Http(HttpChannel {
                url: raw.url.ok_or_else(|| needs("url"))?,
                credentials: raw.credentials,
                overwrite: raw.overwrite.unwrap_or(false),
                name: raw.name,
            }),
            ChannelKind::Command => ChannelConfig::Command(CommandChannel {
                run: raw.run.ok_or_else(|| needs("run"))?,
                credentials: raw.credentials,
                timeout_seconds: raw
                    .timeout_seconds
                    .unwrap_or(DEFAULT_COMMAND_TIMEOUT_SECONDS),
                name: raw.name,
            }),
            ChannelKind::Github | ChannelKind::Gitlab | ChannelKind::Gitea => {
                let forge = match kind {
                    ChannelKind::Github => ReleaseForge::Github,
                    ChannelKind::Gitlab => ReleaseForge::Gitlab,
                    _ => ReleaseForge::Gitea,
                };
                if forge == ReleaseForge::Gitea && raw.api_url.is_none() {
                    return Err(needs("api_url"));
                }
                let channel = ForgeReleaseChannel {
                    name: raw.name,
                    forge,
                    api_url: raw.api_url,
                    repository: raw.repository,
                    credentials: raw.credentials,
                    draft: raw.draft.unwrap_or(false),
                    make_latest: raw.make_latest,
                    on_rollback: raw.on_rollback.unwrap_or_default(),
                };
                match forge {
                    ReleaseForge::Github => ChannelConfig::Github(channel),
                    ReleaseForge::Gitlab => ChannelConfig::Gitlab(channel),
                    ReleaseForge::Gitea => ChannelConfig::Gitea(channel),
                }
            }
            ChannelKind::Crates => ChannelConfig::Crates(CratesChannel {
                name: raw.name,
                registry: raw.registry,
                index: raw.index,
                credentials: raw.credentials,
                packages: raw.packages.unwrap_or_default(),
            }),
            ChannelKind::Npm => ChannelConfig::Npm(NpmChannel {
                name: raw.name,
                registry: raw.registry,
                credentials: raw.credentials,
                packages: raw.packages.unwrap_or_default(),
                access: raw.access,
                dist_tag: raw.dist_tag,
            }),
            ChannelKind::Pypi => ChannelConfig::Pypi(PypiChannel {
                name: raw.name,
                upload_url: raw.upload_url,
                index_url: raw.index_url,
                credentials: raw.credentials,
                dist: raw.dist,
            }),
        })
    }
}

/// The kind of a channel, as recorded in receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// [`DirectoryChannel`].
    Directory,
    /// [`GitRemoteChannel`].
    GitRemote,
    /// [`HttpChannel`].
    Http,
    /// [`CommandChannel`].
    Command,
    /// [`ForgeReleaseChannel`] on GitHub.
    Github,
    /// [`ForgeReleaseChannel`] on GitLab.
    Gitlab,
    /// [`ForgeReleaseChannel`] on Gitea or Forgejo.
    Gitea,
    /// [`CratesChannel`].
    Crates,
    /// [`NpmChannel`].
    Npm,
    /// [`PypiChannel`].
    Pypi,
}

impl ChannelKind {
    /// The `type` value: `directory`, `git_remote`, `http`, `command`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Directory => "directory",
            ChannelKind::GitRemote => "git_remote",
            ChannelKind::Http => "http",
            ChannelKind::Command => "command",
            ChannelKind::Github => "github",
            ChannelKind::Gitlab => "gitlab",
            ChannelKind::Gitea => "gitea",
            ChannelKind::Crates => "crates",
            ChannelKind::Npm => "npm",
            ChannelKind::Pypi => "pypi",
        }
    }
}

impl ChannelKind {
    /// A release on a forge: `github`, `gitlab`, `gitea`.
    pub fn is_forge_release(self) -> bool {
        matches!(
            self,
            ChannelKind::Github | ChannelKind::Gitlab | ChannelKind::Gitea
        )
    }

    /// A package registry: `crates`, `npm`, `pypi`.
    pub fn is_registry(self) -> bool {
        matches!(
            self,
            ChannelKind::Crates | ChannelKind::Npm | ChannelKind::Pypi
        )
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ChannelConfig {
    /// The channel's name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Directory(c) => &c.name,
            ChannelConfig::GitRemote(c) => &c.name,
            ChannelConfig::Http(c) => &c.name,
            ChannelConfig::Command(c) => &c.name,
            ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
                &c.name
            }
            ChannelConfig::Crates(c) => &c.name,
            ChannelConfig::Npm(c) => &c.name,
            ChannelConfig::Pypi(c) => &c.name,
        }
    }

    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Directory(_) => ChannelKind::Directory,
            ChannelConfig::GitRemote(_) => ChannelKind::GitRemote,
            ChannelConfig::Http(_) => ChannelKind::Http,
            ChannelConfig::Command(_) => ChannelKind::Command,
            ChannelConfig::Github(_) => ChannelKind::Github,
            ChannelConfig::Gitlab(_) => ChannelKind::Gitlab,
            ChannelConfig::Gitea(_) => ChannelKind::Gitea,
            ChannelConfig::Crates(_) => ChannelKind::Crates,
            ChannelConfig::Npm(_) => ChannelKind::Npm,
            ChannelConfig::Pypi(_) => ChannelKind::Pypi,
        }
    }

    /// The credential reference the caller resolves into
    /// [`PublishRelease::token`], if the channel has one.
    pub fn credentials(&self) -> Option<&str> {
        match self {
            ChannelConfig::Http(c) => c.credentials.as_deref(),
            ChannelConfig::Command(c) => c.credentials.as_deref(),
            ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
                c.credentials.as_deref()
            }
            ChannelConfig::Crates(c) => c.credentials.as_deref(),
            ChannelConfig::Npm(c) => c.credentials.as_deref(),
            ChannelConfig::Pypi(c) => c.credentials.as_deref(),
            ChannelConfig::Directory(_) | ChannelConfig::GitRemote(_) => None,
        }
    }

    /// The channel's credential resolved (relative to `home`), for
    /// [`PublishRelease::token`].
    ///
    /// # Errors
    ///
    /// As [`crate::credentials::resolve`].
    pub fn token(&self, home: &std::path::Path) -> Result<Option<String>> {
        self.credentials()
            .map(|reference| {
                crate::credentials::resolve(reference, home).map(|s| s.expose().to_owned())
            })
            .transpose()
    }
}

/// Checks channel entries without touching anything: names present and
/// unique, required fields non-empty, HTTP URLs `http(s)://`.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the channel and the field.
pub fn validate(channels: &[ChannelConfig]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for channel in channels {
        let name = channel.name();
        if name.trim().is_empty() {
            return Err(Error::input(
                "release.channels: a channel has an empty name",
            ));
        }
        if !seen.insert(name) {
            return Err(Error::input(format!(
                "release.channels: the name `{name}` is used twice"
            )));
        }
        let empty =
            |field: &str| Error::input(format!("release.channels `{name}`: {field} is empty"));
        match channel {
            ChannelConfig::Directory(c) => {
                if c.path.as_os_str().is_empty() {
                    return Err(empty("path"));
                }
            }
            ChannelConfig::GitRemote(c) => {
                if c.remote.trim().is_empty() {
                    return Err(empty("remote"));
                }
                if c.push_branch
                    .as_deref()
                    .is_some_and(|b| b.trim().is_empty())
                {
                    return Err(empty("push_branch"));
                }
            }
            ChannelConfig::Http(c) => {
                if !(c.url.starts_with("http://") || c.url.starts_with("https://"))
                    || crate::http::host_of(&c.url).is_empty()
                {
                    return Err(Error::input(format!(
                        "release.channels `{name}`: url `{}` is not an http:// or https:// URL",
                        c.url
                    )));
                }
            }
            ChannelConfig::Command(c) => {
                if c.run.trim().is_empty() {
                    return Err(empty("run"));
                }
            }
            ChannelConfig::Github(_)
            | ChannelConfig::Gitlab(_)
            | ChannelConfig::Gitea(_)
            | ChannelConfig::Crates(_)
            | ChannelConfig::Npm(_)
            | ChannelConfig::Pypi(_) => {}
        }
    }
    Ok(())
}

/// What is being published.
#[derive(Clone)]
pub struct PublishRelease {
    /// The version, e.g. `1.2.0`: the directory (or URL segment) the
    /// artifacts go under.
    pub version: String,
    /// The release tag, e.g. `v1.2.0`, which must exist in `repo_root`.
    pub tag: String,
    /// The repository root: git runs there, commands run there, relative
    /// directory channels start there.
    pub repo_root: PathBuf,
    /// The directory holding the artifacts (`TRAINYARD_ARTIFACTS_DIR`).
    pub artifacts_dir: PathBuf,
    /// The files to publish, in order (put `SHA256SUMS` and signatures
    /// last so a mirror never lists sums for files it lacks).
    pub artifacts: Vec<Artifact>,
    /// The channel's resolved credential, if it has one.
    pub token: Option<String>,
    /// The time recorded in the receipt.
    pub published_at: jiff::Timestamp,
    /// The release's name on a forge, e.g. `v1.2.0` or `core v1.2.0`.
    pub title: String,
    /// The rendered release notes (markdown), the forge release's body.
    pub notes: String,
    /// Whether the version is a pre-release (`1.2.0-rc.1`).
    pub prerelease: bool,
    /// In a monorepo, the released package's directories relative to
    /// `repo_root` (a fixed group's members'); empty for the whole
    /// repository.
    pub package_dirs: Vec<PathBuf>,
    /// Whether artifacts are still to be built before publishing: a plan
    /// then names them as "the artifacts built" rather than by file.
    pub artifacts_pending: bool,
}

/// A rolled-back release to withdraw from a channel.
#[derive(Clone)]
pub struct WithdrawRelease {
    /// The rolled-back version.
    pub version: String,
    /// Its tag.
    pub tag: String,
    /// The version rolled back to, back in its place (the latest again).
    pub restored_version: String,
    /// Its tag.
    pub restored_tag: String,
    /// The repository root.
    pub repo_root: PathBuf,
    /// The channel's resolved credential, if it has one.
    pub token: Option<String>,
    /// As [`PublishRelease::package_dirs`].
    pub package_dirs: Vec<PathBuf>,
    /// Why, for a deprecation message (e.g. `rolled back: INC-7`).
    pub reason: String,
}

impl fmt::Debug for WithdrawRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithdrawRelease")
            .field("version", &self.version)
            .field("tag", &self.tag)
            .field("restored_tag", &self.restored_tag)
            .field("repo_root", &self.repo_root)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("package_dirs", &self.package_dirs)
            .field("reason", &self.reason)
            .finish()
    }
}

/// What withdrawing a release from a channel does: the steps the tool
/// takes, and what only a person can do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// One line a step the tool takes (`demote release v1.3.0 …`).
    pub automatic: Vec<String>,
    /// One line a step left to a person.
    pub manual: Vec<String>,
}

impl fmt::Debug for PublishRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishRelease")
            .field("version", &self.version)
            .field("tag", &self.tag)
            .field("repo_root", &self.repo_root)
            .field("artifacts_dir", &self.artifacts_dir)
            .field("artifacts", &self.artifacts)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("published_at", &self.published_at)
            .finish()
    }
}

/// What one channel published: kept by the caller so a resumed release
/// skips the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChannelReceipt {
    /// The channel's name.
    pub channel: String,
    /// The channel's kind.
    pub kind: ChannelKind,
    /// When it was published ([`PublishRelease::published_at`]).
    #[schemars(with = "String")]
    pub published_at: jiff::Timestamp,
    /// What went where, one line each, e.g.
    /// `app.tar.gz -> /srv/releases/1.2.0/app.tar.gz (already there)`.
    pub items: Vec<String>,
}

impl ChannelReceipt {
    /// The web addresses its items name (a forge release's page first).
    pub fn urls(&self) -> Vec<&str> {
        self.items
            .iter()
            .flat_map(|item| item.split_whitespace())
            .map(|word| word.trim_end_matches([',', ';', ')']))
            .filter(|word| word.starts_with("https://") || word.starts_with("http://"))
            .collect()
    }
}

/// Publishes `release` to `channel`. Identical content already there is a
/// success without writing; different content is refused before anything
/// is written, unless the channel allows `overwrite`.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a refusal (a conflicting file, artifact
/// or tag), a missing local tag or branch, or an artifact changed since it
/// was built; an [`Error::Environment`] when git, the server or the
/// command fails; an [`Error::Io`] when a file cannot be read or written.
pub fn publish(channel: &ChannelConfig, release: &PublishRelease) -> Result<ChannelReceipt> {
    let items = match channel {
        ChannelConfig::Directory(c) => directory::publish(c, release)?,
        ChannelConfig::GitRemote(c) => git_remote::publish(c, release)?,
        ChannelConfig::Http(c) => http::publish(c, release)?,
        ChannelConfig::Command(c) => command::publish(c, release)?,
        ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
            forge_release::publish(c, release)?
        }
        ChannelConfig::Crates(c) => registry::crates_publish(c, release)?,
        ChannelConfig::Npm(c) => registry::npm_publish(c, release)?,
        ChannelConfig::Pypi(c) => registry::pypi_publish(c, release)?,
    };
    Ok(ChannelReceipt {
        channel: channel.name().to_owned(),
        kind: channel.kind(),
        published_at: release.published_at,
        items,
    })
}

/// What [`publish`] would do with `channel`, one step a line. Nothing is
/// read or written: conditions (already there, different) are stated as
/// such.
pub fn plan(channel: &ChannelConfig, release: &PublishRelease) -> Vec<String> {
    match channel {
        ChannelConfig::Directory(c) => directory::plan(c, release),
        ChannelConfig::GitRemote(c) => git_remote::plan(c, release),
        ChannelConfig::Http(c) => http::plan(c, release),
        ChannelConfig::Command(c) => command::plan(c, release),
        ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
            forge_release::plan(c, release)
        }
        ChannelConfig::Crates(c) => registry::crates_plan(c, release),
        ChannelConfig::Npm(c) => registry::npm_plan(c, release),
        ChannelConfig::Pypi(c) => registry::pypi_plan(c, release),
    }
}

/// What [`withdraw`] would do with `channel`, touching nothing; `None`
/// for the kinds whose rollback is planned elsewhere (directory, git
/// remote, http, command).
pub fn withdraw_plan(channel: &ChannelConfig, release: &WithdrawRelease) -> Option<Withdrawal> {
    Some(match channel {
        ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
            forge_release::withdraw_plan(c, release)
        }
        ChannelConfig::Crates(c) => registry::crates_withdraw_plan(c, release),
        ChannelConfig::Npm(c) => registry::npm_withdraw_plan(c, release),
        ChannelConfig::Pypi(c) => registry::pypi_withdraw_plan(c, release),
        ChannelConfig::Directory(_)
        | ChannelConfig::GitRemote(_)
        | ChannelConfig::Http(_)
        | ChannelConfig::Command(_) => return None,
    })
}

/// Withdraws a rolled-back release from `channel`, as [`withdraw_plan`]
/// said: idempotent, so a resumed rollback runs it again safely. One line
/// a step taken.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when the forge, registry or command
/// fails, an [`Error::Input`] for a refused token.
pub fn withdraw(channel: &ChannelConfig, release: &WithdrawRelease) -> Result<Vec<String>> {
    match channel {
        ChannelConfig::Github(c) | ChannelConfig::Gitlab(c) | ChannelConfig::Gitea(c) => {
            forge_release::withdraw(c, release)
        }
        ChannelConfig::Crates(c) => registry::crates_withdraw(c, release),
        ChannelConfig::Npm(c) => registry::npm_withdraw(c, release),
        ChannelConfig::Pypi(c) => registry::pypi_withdraw(c, release),
        ChannelConfig::Directory(_)
        | ChannelConfig::GitRemote(_)
        | ChannelConfig::Http(_)
        | ChannelConfig::Command(_) => Ok(Vec::new()),
    }
}

/// The first 12 hex digits of a SHA-256, for messages.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The version as one path segment, refused when it could leave it.
fn version_segment(channel: &str, version: &str) -> Result<()> {
    if version.is_empty()
        || version == "."
        || version == ".."
        || version.contains(['/', '\\', '\0'])
    {
        return Err(Error::input(format!(
            "channel `{channel}`: version `{version}` cannot be used as a directory name"
        )));
    }
    Ok(())
}

/// Refuses an artifact whose bytes are no longer the ones that were built.
fn check_unchanged(channel: &str, artifact: &Artifact, sha: &str) -> Result<()> {
    if sha != artifact.sha256 {
        return Err(Error::input(format!(
            "channel `{channel}`: {} changed since it was built (sha256 {}, built as {}); rebuild the artifacts",
            artifact.path.display(),
            short(sha),
            short(&artifact.sha256)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

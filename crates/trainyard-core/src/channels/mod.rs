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
mod git_remote;
mod http;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::artifacts::Artifact;
use crate::bounded::Timeout;
use crate::{Error, Result};

pub use command::{CommandChannel, DEFAULT_COMMAND_TIMEOUT_SECONDS};
pub use directory::DirectoryChannel;
pub use git_remote::GitRemoteChannel;
pub use http::HttpChannel;

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
        ];
        let allowed: &[&str] = match kind {
            ChannelKind::Directory => &["path", "overwrite"],
            ChannelKind::GitRemote => &["remote", "push_branch"],
            ChannelKind::Http => &["url", "credentials", "overwrite"],
            ChannelKind::Command => &["run", "credentials", "timeout_seconds"],
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
}

impl ChannelKind {
    /// The `type` value: `directory`, `git_remote`, `http`, `command`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Directory => "directory",
            ChannelKind::GitRemote => "git_remote",
            ChannelKind::Http => "http",
            ChannelKind::Command => "command",
        }
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
        }
    }

    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Directory(_) => ChannelKind::Directory,
            ChannelConfig::GitRemote(_) => ChannelKind::GitRemote,
            ChannelConfig::Http(_) => ChannelKind::Http,
            ChannelConfig::Command(_) => ChannelKind::Command,
        }
    }

    /// The credential reference the caller resolves into
    /// [`PublishRelease::token`], if the channel has one.
    pub fn credentials(&self) -> Option<&str> {
        match self {
            ChannelConfig::Http(c) => c.credentials.as_deref(),
            ChannelConfig::Command(c) => c.credentials.as_deref(),
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

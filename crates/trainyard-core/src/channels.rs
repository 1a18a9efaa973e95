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

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifacts::{self, Artifact, ShellCommand};
use crate::bounded::Timeout;
use crate::evidence_anchor::ANCHOR_REF;
use crate::{Error, Result, git_cli};

/// Default time a command channel may take.
pub const DEFAULT_COMMAND_TIMEOUT_SECONDS: Timeout = Timeout::constant(1800);

fn default_command_timeout() -> Timeout {
    DEFAULT_COMMAND_TIMEOUT_SECONDS
}

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

/// `type: directory`: copies the artifacts into `<path>/<version>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The base directory; relative paths are from the repository root.
    pub path: PathBuf,
    /// Replace a file that is already there with different content.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overwrite: bool,
}

/// `type: git_remote`: pushes `refs/tags/<tag>` (and optionally a branch),
/// and the evidence anchor `refs/trainyard/evidence` when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitRemoteChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// A remote name (`origin`) or URL.
    pub remote: String,
    /// A local branch pushed to the same name on the remote before the tag,
    /// e.g. the release branch. The push must be a fast-forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_branch: Option<String>,
}

/// `type: http`: `PUT {url}/{version}/{file}` for each artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The base URL (`http://` or `https://`).
    pub url: String,
    /// A credential reference, resolved by the caller into the token sent
    /// as `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// Replace an artifact that is already there with different content.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overwrite: bool,
}

/// `type: command`: runs `sh -c <run>` in the repository root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The command, with `TRAINYARD_VERSION`, `TRAINYARD_TAG`,
    /// `TRAINYARD_ARTIFACTS_DIR`, `TRAINYARD_ARTIFACTS` (the file names, one
    /// a line) and, with credentials, `TRAINYARD_TOKEN` set. It should be
    /// idempotent: it runs again when a release is resumed before its
    /// receipt was recorded.
    pub run: String,
    /// A credential reference, resolved by the caller into the token given
    /// to the command as `TRAINYARD_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// How long the command may run before it is stopped, in seconds (at
    /// most 7 days).
    #[serde(default = "default_command_timeout")]
    pub timeout_seconds: Timeout,
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
        ChannelConfig::Directory(c) => publish_directory(c, release)?,
        ChannelConfig::GitRemote(c) => publish_git(c, release)?,
        ChannelConfig::Http(c) => publish_http(c, release)?,
        ChannelConfig::Command(c) => publish_command(c, release)?,
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
        ChannelConfig::Directory(c) => {
            let dir = directory_target(c, release);
            let otherwise = if c.overwrite {
                "replaced if different"
            } else {
                "refused if different"
            };
            release
                .artifacts
                .iter()
                .map(|a| {
                    format!(
                        "copy {} (sha256 {}) to {}: kept if already identical, {otherwise}",
                        a.name,
                        short(&a.sha256),
                        dir.join(&a.name).display()
                    )
                })
                .collect()
        }
        ChannelConfig::GitRemote(c) => {
            let mut steps = Vec::new();
            if let Some(branch) = &c.push_branch {
                steps.push(format!(
                    "git push {} refs/heads/{branch}:refs/heads/{branch} (skipped if the remote branch is already there; must fast-forward)",
                    c.remote
                ));
            }
            steps.push(format!(
                "git push {} refs/tags/{tag}:refs/tags/{tag} (skipped if the remote tag is at the same object; refused if at another)",
                c.remote,
                tag = release.tag
            ));
            steps.push(format!(
                "git push {} {ANCHOR_REF}:{ANCHOR_REF} when the evidence is anchored (must fast-forward)",
                c.remote
            ));
            steps
        }
        ChannelConfig::Http(c) => {
            let otherwise = if c.overwrite {
                "replaced if different"
            } else {
                "refused if different"
            };
            let auth = if c.credentials.is_some() {
                " with a bearer token"
            } else {
                ""
            };
            release
                .artifacts
                .iter()
                .map(|a| {
                    format!(
                        "PUT {} ({} bytes, sha256 {}){auth}, then read back and compare: kept if already identical, {otherwise}",
                        artifact_url(&c.url, &release.version, &a.name),
                        a.size,
                        short(&a.sha256)
                    )
                })
                .collect()
        }
        ChannelConfig::Command(c) => vec![format!(
            "run `{}` in {} with TRAINYARD_VERSION={} TRAINYARD_TAG={} TRAINYARD_ARTIFACTS_DIR={}{}",
            c.run,
            release.repo_root.display(),
            release.version,
            release.tag,
            release.artifacts_dir.display(),
            if c.credentials.is_some() {
                " TRAINYARD_TOKEN=<redacted>"
            } else {
                ""
            }
        )],
    }
}

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

fn directory_target(channel: &DirectoryChannel, release: &PublishRelease) -> PathBuf {
    release.repo_root.join(&channel.path).join(&release.version)
}

fn publish_directory(channel: &DirectoryChannel, release: &PublishRelease) -> Result<Vec<String>> {
    version_segment(&channel.name, &release.version)?;
    let dir = directory_target(channel, release);
    enum Action {
        Keep,
        Copy,
        Replace,
    }
    let mut actions = Vec::with_capacity(release.artifacts.len());
    let mut conflicts = Vec::new();
    for artifact in &release.artifacts {
        let target = dir.join(&artifact.name);
        let action = match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Action::Copy,
            Err(e) => return Err(Error::io("cannot inspect", target, e)),
            Ok(meta) if !meta.is_file() => {
                return Err(Error::input(format!(
                    "channel `{}`: {} exists and is not a regular file",
                    channel.name,
                    target.display()
                )));
            }
            Ok(_) => {
                let (_, sha) = artifacts::hash_file(&target)?;
                if sha == artifact.sha256 {
                    Action::Keep
                } else if channel.overwrite {
                    Action::Replace
                } else {
                    conflicts.push(format!(
                        "{} (sha256 {}, the release's is {})",
                        target.display(),
                        short(&sha),
                        short(&artifact.sha256)
                    ));
                    Action::Keep
                }
            }
        };
        actions.push(action);
    }
    if !conflicts.is_empty() {
        return Err(Error::input(format!(
            "channel `{}`: already published with different content: {}; nothing was copied (set overwrite: true to replace)",
            channel.name,
            conflicts.join(", ")
        )));
    }
    let mut items = Vec::with_capacity(actions.len());
    for (artifact, action) in release.artifacts.iter().zip(actions) {
        let target = dir.join(&artifact.name);
        let note = match action {
            Action::Keep => " (already there)",
            Action::Copy => "",
            Action::Replace => " (replaced)",
        };
        if !matches!(action, Action::Keep) {
            copy_checked(&channel.name, artifact, &target)?;
        }
        items.push(format!("{} -> {}{note}", artifact.name, target.display()));
    }
    Ok(items)
}

/// Copies an artifact atomically, refusing (and leaving the target as it
/// was) when its bytes are not the ones that were built.
fn copy_checked(channel: &str, artifact: &Artifact, target: &Path) -> Result<()> {
    let (_, sha) = artifacts::hash_file(&artifact.path)?;
    check_unchanged(channel, artifact, &sha)?;
    let (_, copied) = artifacts::copy_hashing(&artifact.path, target)?;
    check_unchanged(channel, artifact, &copied)
}

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

/// The object id a ref has on a remote, if it exists there.
fn remote_ref(root: &Path, remote: &str, full_ref: &str) -> Result<Option<String>> {
    let out = git_cli::run(root, &["ls-remote", "--refs", remote, full_ref])?;
    Ok(out.lines().find_map(|line| {
        let (oid, name) = line.split_once('\t')?;
        (name.trim() == full_ref).then(|| oid.trim().to_owned())
    }))
}

/// The object id of a local ref (for an annotated tag, the tag object).
fn local_ref(root: &Path, full_ref: &str) -> Option<String> {
    git_cli::run(root, &["rev-parse", "--verify", "--quiet", full_ref])
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn publish_git(channel: &GitRemoteChannel, release: &PublishRelease) -> Result<Vec<String>> {
    let root = &release.repo_root;
    let remote = channel.remote.as_str();
    let tag_ref = format!("refs/tags/{}", release.tag);
    let Some(local_tag) = local_ref(root, &tag_ref) else {
        return Err(Error::input(format!(
            "channel `{}`: tag {} does not exist in {}; tag the release before publishing",
            channel.name,
            release.tag,
            root.display()
        )));
    };
    let mut items = Vec::new();
    if let Some(branch) = &channel.push_branch {
        let branch_ref = format!("refs/heads/{branch}");
        let Some(local_branch) = local_ref(root, &branch_ref) else {
            return Err(Error::input(format!(
                "channel `{}`: branch {branch} (push_branch) does not exist in {}",
                channel.name,
                root.display()
            )));
        };
        if remote_ref(root, remote, &branch_ref)?.as_deref() == Some(local_branch.as_str()) {
            items.push(format!(
                "{branch_ref} -> {remote} (already there at {})",
                short(&local_branch)
            ));
        } else {
            git_cli::run(
                root,
                &[
                    "push",
                    "--quiet",
                    remote,
                    &format!("{branch_ref}:{branch_ref}"),
                ],
            )?;
            items.push(format!(
                "{branch_ref} -> {remote} ({})",
                short(&local_branch)
            ));
        }
    }
    match remote_ref(root, remote, &tag_ref)? {
        Some(oid) if oid == local_tag => {
            items.push(format!(
                "{tag_ref} -> {remote} (already there at {})",
                short(&local_tag)
            ));
        }
        Some(oid) => {
            return Err(Error::input(format!(
                "channel `{}`: tag {} on {remote} is {oid}, not the local {local_tag}; a tag once published is not moved",
                channel.name, release.tag
            )));
        }
        None => {
            git_cli::run(
                root,
                &["push", "--quiet", remote, &format!("{tag_ref}:{tag_ref}")],
            )?;
            match remote_ref(root, remote, &tag_ref)? {
                Some(oid) if oid == local_tag => {}
                other => {
                    return Err(Error::environment(format!(
                        "channel `{}`: after pushing, tag {} on {remote} is {}, expected {local_tag}",
                        channel.name,
                        release.tag,
                        other.as_deref().unwrap_or("missing")
                    )));
                }
            }
            items.push(format!("{tag_ref} -> {remote} ({})", short(&local_tag)));
        }
    }
    if let Some(item) = push_anchor(channel, root)? {
        items.push(item);
    }
    Ok(items)
}

/// Pushes the evidence anchor ([`ANCHOR_REF`]) to the channel's remote,
/// never forced, when the repository has one: a copy of the anchored heads
/// that `trainyard evidence verify --against` checks the store against.
fn push_anchor(channel: &GitRemoteChannel, root: &Path) -> Result<Option<String>> {
    let remote = channel.remote.as_str();
    let Some(local) = local_ref(root, ANCHOR_REF) else {
        return Ok(None);
    };
    match remote_ref(root, remote, ANCHOR_REF)? {
        Some(oid) if oid == local => {
            return Ok(Some(format!(
                "{ANCHOR_REF} -> {remote} (already there at {})",
                short(&local)
            )));
        }
        Some(oid) => {
            // A fast-forward only: the remote's anchor must be in ours.
            let contained = git_cli::run(root, &["merge-base", &local, &oid])
                .is_ok_and(|base| base.trim() == oid);
            if !contained {
                return Err(Error::input(format!(
                    "channel `{}`: {ANCHOR_REF} on {remote} is {oid}, which the local {local} does not contain; an evidence anchor is never force-pushed (check with `trainyard evidence verify --against {remote}`)",
                    channel.name
                )));
            }
        }
        None => {}
    }
    git_cli::run(
        root,
        &[
            "push",
            "--quiet",
            remote,
            &format!("{ANCHOR_REF}:{ANCHOR_REF}"),
        ],
    )?;
    Ok(Some(format!(
        "{ANCHOR_REF} -> {remote} ({})",
        short(&local)
    )))
}

fn publish_command(channel: &CommandChannel, release: &PublishRelease) -> Result<Vec<String>> {
    let mut env = artifacts::release_env(&release.version, &release.tag);
    env.push((
        "TRAINYARD_ARTIFACTS_DIR".to_owned(),
        release.artifacts_dir.display().to_string(),
    ));
    env.push((
        "TRAINYARD_ARTIFACTS".to_owned(),
        release
            .artifacts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    ));
    if let Some(token) = &release.token {
        env.push(("TRAINYARD_TOKEN".to_owned(), token.clone()));
    }
    let stdout = artifacts::run_shell(&ShellCommand {
        what: format!("the command of channel `{}`", channel.name),
        command: &channel.run,
        dir: &release.repo_root,
        env: &env,
        timeout: channel.timeout_seconds.duration(),
    })?;
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    Ok(vec![match last {
        Some(line) => format!("ran `{}`: {}", channel.run, line.trim()),
        None => format!("ran `{}`", channel.run),
    }])
}

// ---------------------------------------------------------------- http

/// `{base}/{version}/{file}`, each segment percent-encoded.
fn artifact_url(base: &str, version: &str, file: &str) -> String {
    format!(
        "{}/{}/{}",
        base.trim_end_matches('/'),
        encode_segment(version),
        encode_segment(file)
    )
}

fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The host of a URL, without user info or port.
/// What is at an artifact's URL.
enum Remote {
    Absent,
    Same,
    Different(String),
}

/// The release channel's view of an HTTP server.
struct HttpClient {
    http: crate::http::Client,
}

use crate::http::{Response, drain};

impl HttpClient {
    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        self.http.auth(request)
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        request: impl FnMut() -> std::result::Result<Response, ureq::Error>,
    ) -> Result<Response> {
        self.http.send(method, url, request)
    }

    fn unexpected(&self, method: &str, url: &str, response: &Response) -> Error {
        self.http.unexpected(method, url, response)
    }

    fn remote(&self, url: &str, artifact: &Artifact) -> Result<Remote> {
        let response = self.send("HEAD", url, || self.auth(self.http.agent.head(url)).call())?;
        match response.status().as_u16() {
            404 | 410 => return Ok(Remote::Absent),
            200..=299 => {
                let length = response
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if let Some(length) = length
                    && length != artifact.size
                {
                    return Ok(Remote::Different(format!(
                        "{length} bytes, the release's is {}",
                        artifact.size
                    )));
                }
            }
            // Some servers do not answer HEAD; GET decides.
            405 | 501 => {}
            _ => return Err(self.unexpected("HEAD", url, &response)),
        }
        match self.remote_sha256(url)? {
            None => Ok(Remote::Absent),
            Some(sha) if sha == artifact.sha256 => Ok(Remote::Same),
            Some(sha) => Ok(Remote::Different(format!(
                "sha256 {}, the release's is {}",
                short(&sha),
                short(&artifact.sha256)
            ))),
        }
    }

    /// The SHA-256 of what a GET of `url` returns, None on 404/410.
    fn remote_sha256(&self, url: &str) -> Result<Option<String>> {
        let mut response = self.send("GET", url, || self.auth(self.http.agent.get(url)).call())?;
        match response.status().as_u16() {
            404 | 410 => Ok(None),
            200..=299 => {
                let mut reader = response.body_mut().as_reader();
                let (_, sha) = artifacts::hash_reader(&mut reader).map_err(|e| {
                    Error::environment(format!("{}: cannot read GET {url}: {e}", self.http.label()))
                })?;
                Ok(Some(sha))
            }
            _ => Err(self.unexpected("GET", url, &response)),
        }
    }

    fn put(&self, url: &str, artifact: &Artifact) -> Result<()> {
        let mut response = self.send("PUT", url, || {
            let file = File::open(&artifact.path).map_err(ureq::Error::Io)?;
            self.auth(self.http.agent.put(url))
                .header("Content-Type", "application/octet-stream")
                .send(file)
        })?;
        if !response.status().is_success() {
            return Err(self.unexpected("PUT", url, &response));
        }
        drain(&mut response);
        Ok(())
    }
}

fn publish_http(channel: &HttpChannel, release: &PublishRelease) -> Result<Vec<String>> {
    version_segment(&channel.name, &release.version)?;
    let client = HttpClient {
        http: crate::http::Client::new(
            format!("channel `{}`", channel.name),
            &channel.url,
            release.token.as_deref(),
        ),
    };

    // First look at everything, so a refusal uploads nothing.
    let mut states = Vec::with_capacity(release.artifacts.len());
    let mut conflicts = Vec::new();
    for artifact in &release.artifacts {
        let (_, sha) = artifacts::hash_file(&artifact.path)?;
        check_unchanged(&channel.name, artifact, &sha)?;
        let url = artifact_url(&channel.url, &release.version, &artifact.name);
        let state = client.remote(&url, artifact)?;
        if let Remote::Different(how) = &state
            && !channel.overwrite
        {
            conflicts.push(format!("{url} ({how})"));
        }
        states.push((url, state));
    }
    if !conflicts.is_empty() {
        return Err(Error::input(format!(
            "channel `{}`: already published with different content: {}; nothing was uploaded (set overwrite: true to replace)",
            channel.name,
            conflicts.join(", ")
        )));
    }
    let mut items = Vec::with_capacity(states.len());
    for (artifact, (url, state)) in release.artifacts.iter().zip(states) {
        let note = match state {
            Remote::Same => {
                items.push(format!("{} -> {url} (already there)", artifact.name));
                continue;
            }
            Remote::Absent => "",
            Remote::Different(_) => " (replaced)",
        };
        client.put(&url, artifact)?;
        match client.remote_sha256(&url)? {
            Some(sha) if sha == artifact.sha256 => {}
            other => {
                return Err(Error::environment(format!(
                    "channel `{}`: after uploading, {url} has {} instead of sha256 {}",
                    channel.name,
                    other.map_or_else(|| "nothing".to_owned(), |s| format!("sha256 {s}")),
                    artifact.sha256
                )));
            }
        }
        items.push(format!("{} -> {url}{note}", artifact.name));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn read_bytes(path: &Path) -> Vec<u8> {
        std::fs::read(path).expect("read")
    }

    const AT: &str = "2026-04-20T10:00:00Z";

    fn timestamp() -> jiff::Timestamp {
        AT.parse().expect("timestamp")
    }

    /// Artifacts `a.tar.gz` and `b.zip` in a fresh directory.
    fn artifacts_in(dir: &Path) -> Vec<Artifact> {
        std::fs::write(dir.join("a.tar.gz"), b"archive a").expect("write");
        std::fs::write(dir.join("b.zip"), b"zip b, a little longer").expect("write");
        ["a.tar.gz", "b.zip"]
            .iter()
            .map(|n| Artifact::from_file(&dir.join(n)).expect("describe"))
            .collect()
    }

    fn release(root: &Path, dist: &Path) -> PublishRelease {
        PublishRelease {
            version: "1.2.0".to_owned(),
            tag: "v1.2.0".to_owned(),
            repo_root: root.to_path_buf(),
            artifacts_dir: dist.to_path_buf(),
            artifacts: artifacts_in(dist),
            token: None,
            published_at: timestamp(),
        }
    }

    /// Every file under `dir` with its bytes, for before/after comparisons.
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    out.insert(path.clone(), Vec::new());
                    stack.push(path);
                } else {
                    out.insert(path.clone(), read_bytes(&path));
                }
            }
        }
        out
    }

    fn tree_hash(dir: &Path) -> String {
        let mut bytes = Vec::new();
        for (path, content) in snapshot(dir) {
            bytes.extend(path.display().to_string().as_bytes());
            bytes.push(0);
            bytes.extend(crate::evidence::sha256_hex(&content).as_bytes());
            bytes.push(b'\n');
        }
        crate::evidence::sha256_hex(&bytes)
    }

    #[test]
    fn directory_channel_is_idempotent_and_refuses_conflicts() {
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let rel = release(root.path(), dist.path());
        let channel = ChannelConfig::Directory(DirectoryChannel {
            name: "mirror".to_owned(),
            path: PathBuf::from("public/releases"),
            overwrite: false,
        });
        let target = root.path().join("public/releases/1.2.0");

        let first = publish(&channel, &rel).expect("first publish");
        assert_eq!(first.channel, "mirror");
        assert_eq!(first.kind, ChannelKind::Directory);
        assert_eq!(first.published_at, timestamp());
        assert_eq!(
            first.items,
            vec![
                format!("a.tar.gz -> {}", target.join("a.tar.gz").display()),
                format!("b.zip -> {}", target.join("b.zip").display()),
            ]
        );
        assert_eq!(read_bytes(&target.join("a.tar.gz")), b"archive a");

        let before = tree_hash(root.path());
        let second = publish(&channel, &rel).expect("second publish");
        assert_eq!(tree_hash(root.path()), before, "second publish wrote");
        assert!(
            second.items.iter().all(|i| i.ends_with("(already there)")),
            "{second:?}"
        );

        // A different file of the same name is refused, nothing is copied.
        std::fs::write(target.join("b.zip"), b"something else").expect("write");
        std::fs::remove_file(target.join("a.tar.gz")).expect("remove");
        let before = tree_hash(root.path());
        let err = publish(&channel, &rel).expect_err("conflict");
        assert!(
            err.to_string()
                .contains("already published with different content"),
            "{err}"
        );
        assert!(err.to_string().contains("b.zip"), "{err}");
        assert_eq!(tree_hash(root.path()), before, "refused publish wrote");

        // Unless the channel allows overwriting.
        let ChannelConfig::Directory(mut overwrite) = channel.clone() else {
            unreachable!()
        };
        overwrite.overwrite = true;
        let receipt =
            publish(&ChannelConfig::Directory(overwrite), &rel).expect("overwrite publish");
        assert!(receipt.items[1].ends_with("(replaced)"), "{receipt:?}");
        assert_eq!(read_bytes(&target.join("b.zip")), b"zip b, a little longer");
        assert_eq!(read_bytes(&target.join("a.tar.gz")), b"archive a");
    }

    #[test]
    fn an_artifact_changed_since_the_build_is_not_published() {
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let rel = release(root.path(), dist.path());
        std::fs::write(dist.path().join("b.zip"), b"tampered").expect("write");
        let channel = ChannelConfig::Directory(DirectoryChannel {
            name: "mirror".to_owned(),
            path: PathBuf::from("out"),
            overwrite: false,
        });
        let err = publish(&channel, &rel).expect_err("changed");
        assert!(
            err.to_string().contains("changed since it was built"),
            "{err}"
        );
        assert!(!root.path().join("out/1.2.0/b.zip").exists());
    }

    #[test]
    fn plan_has_no_side_effects() {
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let mut rel = release(root.path(), dist.path());
        rel.token = Some("s3cret".to_owned());
        std::fs::create_dir_all(root.path().join("mirror/1.2.0")).expect("mkdir");
        std::fs::write(root.path().join("mirror/1.2.0/b.zip"), b"old").expect("write");
        let channels = [
            ChannelConfig::Directory(DirectoryChannel {
                name: "mirror".to_owned(),
                path: PathBuf::from("mirror"),
                overwrite: false,
            }),
            ChannelConfig::GitRemote(GitRemoteChannel {
                name: "origin".to_owned(),
                remote: "origin".to_owned(),
                push_branch: Some("release/1.2".to_owned()),
            }),
            ChannelConfig::Http(HttpChannel {
                name: "store".to_owned(),
                // Nothing listens here; plan must not try.
                url: "http://127.0.0.1:9/base/".to_owned(),
                credentials: Some("env:TOKEN".to_owned()),
                overwrite: false,
            }),
            ChannelConfig::Command(CommandChannel {
                name: "notify".to_owned(),
                run: "touch ran".to_owned(),
                credentials: Some("env:TOKEN".to_owned()),
                timeout_seconds: Timeout::constant(10),
            }),
        ];
        let before_root = tree_hash(root.path());
        let before_dist = tree_hash(dist.path());
        let plans: Vec<Vec<String>> = channels.iter().map(|c| plan(c, &rel)).collect();
        assert_eq!(tree_hash(root.path()), before_root);
        assert_eq!(tree_hash(dist.path()), before_dist);

        let a = &rel.artifacts[0];
        assert_eq!(
            plans[0][0],
            format!(
                "copy a.tar.gz (sha256 {}) to {}: kept if already identical, refused if different",
                &a.sha256[..12],
                root.path().join("mirror/1.2.0/a.tar.gz").display()
            )
        );
        assert_eq!(plans[1].len(), 3);
        assert!(plans[1][1].starts_with("git push origin refs/tags/v1.2.0:refs/tags/v1.2.0"));
        assert!(plans[1][2].starts_with(
            "git push origin refs/trainyard/evidence:refs/trainyard/evidence when the evidence is anchored"
        ));
        assert!(
            plans[2][0].starts_with("PUT http://127.0.0.1:9/base/1.2.0/a.tar.gz (9 bytes"),
            "{}",
            plans[2][0]
        );
        assert!(plans[3][0].contains("TRAINYARD_TOKEN=<redacted>"));
        for step in plans.iter().flatten() {
            assert!(!step.contains("s3cret"), "{step}");
        }
        assert!(!format!("{rel:?}").contains("s3cret"));
    }

    #[test]
    fn command_channel_gets_the_release_environment() {
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let mut rel = release(root.path(), dist.path());
        rel.token = Some("tok".to_owned());
        let channel = ChannelConfig::Command(CommandChannel {
            name: "notify".to_owned(),
            run: "printf '%s %s %s %s|%s' \"$TRAINYARD_VERSION\" \"$TRAINYARD_TAG\" \"$TRAINYARD_ARTIFACTS_DIR\" \"$TRAINYARD_TOKEN\" \"$TRAINYARD_ARTIFACTS\" > seen.txt; echo announced"
                .to_owned(),
            credentials: Some("env:T".to_owned()),
            timeout_seconds: Timeout::constant(30),
        });
        let receipt = publish(&channel, &rel).expect("publish");
        assert_eq!(receipt.kind, ChannelKind::Command);
        assert_eq!(receipt.items.len(), 1);
        assert!(receipt.items[0].ends_with(": announced"), "{receipt:?}");
        assert_eq!(
            std::fs::read_to_string(root.path().join("seen.txt")).expect("read"),
            format!("1.2.0 v1.2.0 {} tok|a.tar.gz\nb.zip", dist.path().display())
        );

        let failing = ChannelConfig::Command(CommandChannel {
            name: "broken".to_owned(),
            run: "echo upload refused >&2; exit 7".to_owned(),
            credentials: None,
            timeout_seconds: Timeout::constant(30),
        });
        let err = publish(&failing, &rel).expect_err("fails");
        assert!(err.to_string().contains("exit 7"), "{err}");
        assert!(err.to_string().contains("upload refused"), "{err}");
    }

    // ------------------------------------------------------------ git

    use crate::test_git::git;

    #[test]
    fn git_remote_channel_pushes_the_tag_once_and_refuses_a_moved_tag() {
        let home = tempfile::tempdir().expect("tempdir");
        let bare = tempfile::tempdir().expect("tempdir");
        let work = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        git(bare.path(), home.path(), &["init", "--quiet", "--bare"]);
        let w = work.path();
        git(w, home.path(), &["init", "--quiet"]);
        // Local settings, so the git that publish runs sees them too.
        for (key, value) in [
            ("user.name", "Release Bot"),
            ("user.email", "bot@example.com"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("push.gpgsign", "false"),
        ] {
            git(w, home.path(), &["config", key, value]);
        }
        std::fs::write(w.join("README"), "one\n").expect("write");
        git(w, home.path(), &["add", "README"]);
        git(w, home.path(), &["commit", "--quiet", "-m", "feat: one"]);
        git(w, home.path(), &["branch", "release/1.2"]);
        git(w, home.path(), &["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
        let remote_url = bare.path().display().to_string();
        git(w, home.path(), &["remote", "add", "origin", &remote_url]);

        let rel = release(w, dist.path());
        let channel = ChannelConfig::GitRemote(GitRemoteChannel {
            name: "origin".to_owned(),
            remote: "origin".to_owned(),
            push_branch: Some("release/1.2".to_owned()),
        });
        let tag_object = git(w, home.path(), &["rev-parse", "refs/tags/v1.2.0"]);

        let first = publish(&channel, &rel).expect("first publish");
        assert_eq!(first.kind, ChannelKind::GitRemote);
        assert_eq!(
            git(bare.path(), home.path(), &["rev-parse", "refs/tags/v1.2.0"]),
            tag_object
        );
        assert_eq!(
            git(
                bare.path(),
                home.path(),
                &["rev-parse", "refs/heads/release/1.2"]
            ),
            git(w, home.path(), &["rev-parse", "HEAD"])
        );
        assert_eq!(
            first.items,
            vec![
                format!(
                    "refs/heads/release/1.2 -> origin ({})",
                    &git(w, home.path(), &["rev-parse", "HEAD"])[..12]
                ),
                format!("refs/tags/v1.2.0 -> origin ({})", &tag_object[..12]),
            ]
        );

        let second = publish(&channel, &rel).expect("re-push");
        assert!(
            second
                .items
                .iter()
                .all(|i| i.contains("(already there at ")),
            "{second:?}"
        );

        // The evidence anchor goes along, once there is one, and only
        // forward.
        let head = git(w, home.path(), &["rev-parse", "HEAD"]);
        git(w, home.path(), &["update-ref", ANCHOR_REF, &head]);
        let third = publish(&channel, &rel).expect("anchor push");
        assert_eq!(
            third.items.last(),
            Some(&format!("{ANCHOR_REF} -> origin ({})", &head[..12]))
        );
        assert_eq!(
            git(bare.path(), home.path(), &["rev-parse", ANCHOR_REF]),
            head
        );
        let orphan = git(
            w,
            home.path(),
            &["commit-tree", "HEAD^{tree}", "-m", "forged anchor"],
        );
        git(w, home.path(), &["update-ref", ANCHOR_REF, &orphan]);
        let err = publish(&channel, &rel).expect_err("a rewritten anchor");
        assert!(err.to_string().contains("is never force-pushed"), "{err}");
        assert_eq!(
            git(bare.path(), home.path(), &["rev-parse", ANCHOR_REF]),
            head
        );
        git(w, home.path(), &["update-ref", ANCHOR_REF, &head]);

        // Move the tag locally to another commit: the remote one stays.
        std::fs::write(w.join("README"), "two\n").expect("write");
        git(w, home.path(), &["commit", "--quiet", "-am", "fix: two"]);
        git(
            w,
            home.path(),
            &["tag", "-f", "-a", "v1.2.0", "-m", "moved"],
        );
        let plain = ChannelConfig::GitRemote(GitRemoteChannel {
            name: "origin".to_owned(),
            remote: remote_url.clone(),
            push_branch: None,
        });
        let err = publish(&plain, &rel).expect_err("moved tag");
        assert!(
            err.to_string()
                .contains("a tag once published is not moved"),
            "{err}"
        );
        assert_eq!(
            git(bare.path(), home.path(), &["rev-parse", "refs/tags/v1.2.0"]),
            tag_object
        );

        let mut missing = rel.clone();
        missing.tag = "v9.9.9".to_owned();
        let err = publish(&plain, &missing).expect_err("no tag");
        assert!(
            err.to_string().contains("tag v9.9.9 does not exist"),
            "{err}"
        );
    }

    // ------------------------------------------------------------ http

    #[derive(Default)]
    struct Store {
        files: HashMap<String, Vec<u8>>,
        /// Answer the next this-many PUTs with 500.
        fail_puts: usize,
        /// `METHOD path` of every request.
        log: Vec<String>,
        authorization: Vec<Option<String>>,
    }

    /// An HTTP/1.1 server on loopback storing PUT bodies in memory; one
    /// request per connection. It stops when dropped, and after at most
    /// 200 connections in any case.
    struct TestServer {
        base: String,
        store: Arc<Mutex<Store>>,
        stop: Arc<AtomicBool>,
        addr: std::net::SocketAddr,
    }

    impl TestServer {
        fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            let store = Arc::new(Mutex::new(Store::default()));
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st) = (Arc::clone(&store), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming().take(200) {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let _ = serve(stream, &s);
                    }
                }
            });
            TestServer {
                base: format!("http://{addr}/store"),
                store,
                stop,
                addr,
            }
        }

        fn store(&self) -> std::sync::MutexGuard<'_, Store> {
            self.store.lock().expect("lock")
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr);
        }
    }

    fn serve(stream: TcpStream, store: &Mutex<Store>) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut length = 0usize;
        let mut authorization = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        let (status, payload, head_length) = {
            let mut store = store.lock().expect("lock");
            store.log.push(format!("{method} {path}"));
            store.authorization.push(authorization);
            match method.as_str() {
                "PUT" if store.fail_puts > 0 => {
                    store.fail_puts -= 1;
                    ("500 Internal Server Error", b"try again".to_vec(), None)
                }
                "PUT" => {
                    store.files.insert(path, body);
                    ("201 Created", Vec::new(), None)
                }
                "GET" => match store.files.get(&path) {
                    Some(bytes) => ("200 OK", bytes.clone(), None),
                    None => ("404 Not Found", b"no such file".to_vec(), None),
                },
                "HEAD" => match store.files.get(&path) {
                    Some(bytes) => ("200 OK", Vec::new(), Some(bytes.len())),
                    None => ("404 Not Found", Vec::new(), Some(0)),
                },
                _ => ("405 Method Not Allowed", Vec::new(), None),
            }
        };
        let mut out = stream;
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            head_length.unwrap_or(payload.len())
        )?;
        out.write_all(&payload)?;
        out.flush()
    }

    #[test]
    fn http_channel_uploads_retries_and_verifies() {
        let server = TestServer::start();
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let mut rel = release(root.path(), dist.path());
        rel.token = Some("s3cret".to_owned());
        let channel = ChannelConfig::Http(HttpChannel {
            name: "store".to_owned(),
            url: format!("{}/", server.base),
            credentials: Some("env:STORE_TOKEN".to_owned()),
            overwrite: false,
        });
        server.store().fail_puts = 1;

        let receipt = publish(&channel, &rel).expect("publish");
        assert_eq!(receipt.kind, ChannelKind::Http);
        assert_eq!(
            receipt.items,
            vec![
                format!("a.tar.gz -> {}/1.2.0/a.tar.gz", server.base),
                format!("b.zip -> {}/1.2.0/b.zip", server.base),
            ]
        );
        {
            let store = server.store();
            assert_eq!(store.files["/store/1.2.0/a.tar.gz"], b"archive a");
            assert_eq!(store.files["/store/1.2.0/b.zip"], b"zip b, a little longer");
            let puts = store.log.iter().filter(|l| l.starts_with("PUT ")).count();
            assert_eq!(puts, 3, "one 500 then two uploads: {:?}", store.log);
            assert!(
                store
                    .authorization
                    .iter()
                    .all(|a| a.as_deref() == Some("Bearer s3cret")),
                "{:?}",
                store.authorization
            );
        }

        // Again: nothing is uploaded.
        let before = server.store().log.len();
        let again = publish(&channel, &rel).expect("re-publish");
        assert!(
            again.items.iter().all(|i| i.ends_with("(already there)")),
            "{again:?}"
        );
        assert!(
            server.store().log[before..]
                .iter()
                .all(|l| !l.starts_with("PUT ")),
            "{:?}",
            server.store().log
        );
    }

    #[test]
    fn http_channel_refuses_a_different_existing_artifact() {
        let server = TestServer::start();
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let rel = release(root.path(), dist.path());
        {
            let mut store = server.store();
            // Same size as b.zip, different bytes: HEAD cannot tell.
            store.files.insert(
                "/store/1.2.0/b.zip".to_owned(),
                b"zip B, a little longer".to_vec(),
            );
            // Different size: HEAD tells.
            store
                .files
                .insert("/store/1.2.0/a.tar.gz".to_owned(), b"old".to_vec());
        }
        let channel = ChannelConfig::Http(HttpChannel {
            name: "store".to_owned(),
            url: server.base.clone(),
            credentials: None,
            overwrite: false,
        });
        let err = publish(&channel, &rel).expect_err("conflict");
        let text = err.to_string();
        assert!(
            text.contains("already published with different content"),
            "{text}"
        );
        assert!(
            text.contains("a.tar.gz (3 bytes, the release's is 9)"),
            "{text}"
        );
        assert!(text.contains("b.zip (sha256 "), "{text}");
        assert!(
            server.store().log.iter().all(|l| !l.starts_with("PUT ")),
            "{:?}",
            server.store().log
        );

        let ChannelConfig::Http(mut overwrite) = channel else {
            unreachable!()
        };
        overwrite.overwrite = true;
        let receipt = publish(&ChannelConfig::Http(overwrite), &rel).expect("overwrite");
        assert!(
            receipt.items.iter().all(|i| i.ends_with("(replaced)")),
            "{receipt:?}"
        );
        assert_eq!(
            server.store().files["/store/1.2.0/b.zip"],
            b"zip b, a little longer"
        );
    }

    #[test]
    fn http_channel_gives_up_on_a_server_that_keeps_failing() {
        let server = TestServer::start();
        let root = tempfile::tempdir().expect("tempdir");
        let dist = tempfile::tempdir().expect("tempdir");
        let mut rel = release(root.path(), dist.path());
        rel.artifacts.truncate(1);
        server.store().fail_puts = 10;
        let channel = ChannelConfig::Http(HttpChannel {
            name: "store".to_owned(),
            url: server.base.clone(),
            credentials: None,
            overwrite: false,
        });
        let err = publish(&channel, &rel).expect_err("gives up");
        assert!(
            err.to_string()
                .contains("answered HTTP 500 after 4 attempts"),
            "{err}"
        );
        assert_eq!(server.store().fail_puts, 6);
    }

    #[test]
    fn a_bad_key_of_a_channel_is_reported_at_its_line_and_column() {
        let error = |yaml: &str| {
            crate::yaml::parse::<Vec<ChannelConfig>>(yaml, Path::new("c.yaml"))
                .expect_err(yaml)
                .to_string()
        };
        let cases = [
            "- type: command\n  name: c\n  run: x\n  timeout_seconds: 18446744073709551615\n",
            "- type: command\n  name: c\n  run: x\n  timeout_seconds: 0\n",
            "- type: directory\n  name: m\n  path: x\n  overwrite: maybe\n",
            "- type: directory\n  name: m\n  path: x\n  colour: red\n",
            "- type: directory\n  name: m\n  path: x\n  push_branch: main\n",
            "- type: git_remote\n  name: o\n",
            "- type: ftp\n  name: m\n",
            "- name: m\n  path: x\n",
        ];
        let messages: Vec<String> = cases.iter().map(|c| error(c)).collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        c.yaml:4:20: [0].timeout_seconds: must be between 1 and 604800 (7 days), not 18446744073709551615
        c.yaml:4:20: [0].timeout_seconds: must be between 1 and 604800 (7 days), not 0
        c.yaml:4:14: [0].overwrite: invalid boolean
        c.yaml:4:3: [0].colour: unknown field `colour`, expected one of type, name, path, remote, push_branch, url, run, credentials, overwrite, timeout_seconds
        c.yaml:1:3: [0]: channel `m`: `push_branch` does not apply to a directory channel, expected one of type, name, path, overwrite
        c.yaml:1:3: [0]: channel `o`: a git_remote channel needs `remote`
        c.yaml:1:9: [0].type: unknown variant `ftp`, expected one of directory, git_remote, http, command
        c.yaml:2:3: [0]: missing field `type`
        ");
    }

    #[test]
    fn channels_read_back_what_they_write() {
        let channels = vec![
            ChannelConfig::Directory(DirectoryChannel {
                name: "mirror".to_owned(),
                path: PathBuf::from("/srv"),
                overwrite: true,
            }),
            ChannelConfig::GitRemote(GitRemoteChannel {
                name: "origin".to_owned(),
                remote: "origin".to_owned(),
                push_branch: None,
            }),
            ChannelConfig::Http(HttpChannel {
                name: "store".to_owned(),
                url: "https://example.com/app".to_owned(),
                credentials: Some("env:T".to_owned()),
                overwrite: false,
            }),
            ChannelConfig::Command(CommandChannel {
                name: "tap".to_owned(),
                run: "./tap.sh".to_owned(),
                credentials: None,
                timeout_seconds: Timeout::constant(90),
            }),
        ];
        let json = serde_json::to_value(&channels).expect("json");
        assert_eq!(json[0]["type"], "directory");
        assert_eq!(json[3]["timeout_seconds"], 90);
        let back: Vec<ChannelConfig> = serde_json::from_value(json).expect("back");
        assert_eq!(back, channels);
    }

    #[test]
    fn channel_yaml_shapes_and_validation() {
        let yaml = r#"
- type: directory
  name: mirror
  path: /srv/releases
- type: git_remote
  name: origin
  remote: origin
  push_branch: release/1.2
- type: http
  name: store
  url: https://artifacts.example.com/app
  credentials: env:TOKEN
  overwrite: true
- type: command
  name: notify
  run: ./announce.sh
"#;
        let channels: Vec<ChannelConfig> = serde_saphyr::from_str(yaml).expect("parse");
        assert_eq!(channels.len(), 4);
        assert_eq!(channels[1].kind(), ChannelKind::GitRemote);
        assert_eq!(channels[2].credentials(), Some("env:TOKEN"));
        let ChannelConfig::Command(command) = &channels[3] else {
            unreachable!()
        };
        assert_eq!(command.timeout_seconds, DEFAULT_COMMAND_TIMEOUT_SECONDS);
        validate(&channels).expect("valid");

        let unknown = "- type: directory\n  name: m\n  path: x\n  colour: red\n";
        assert!(serde_saphyr::from_str::<Vec<ChannelConfig>>(unknown).is_err());
        let bad_type = "- type: ftp\n  name: m\n";
        assert!(serde_saphyr::from_str::<Vec<ChannelConfig>>(bad_type).is_err());

        let mut twice = channels.clone();
        twice.push(channels[0].clone());
        assert!(
            validate(&twice)
                .expect_err("dup")
                .to_string()
                .contains("used twice")
        );
        let bad_url = ChannelConfig::Http(HttpChannel {
            name: "x".to_owned(),
            url: "ftp://host/x".to_owned(),
            credentials: None,
            overwrite: false,
        });
        assert!(validate(&[bad_url]).is_err());

        let receipt = ChannelReceipt {
            channel: "mirror".to_owned(),
            kind: ChannelKind::GitRemote,
            published_at: timestamp(),
            items: vec!["x".to_owned()],
        };
        let json = serde_json::to_string(&receipt).expect("json");
        assert_eq!(
            json,
            r#"{"channel":"mirror","kind":"git_remote","published_at":"2026-04-20T10:00:00Z","items":["x"]}"#
        );
        assert_eq!(
            serde_json::from_str::<ChannelReceipt>(&json).expect("back"),
            receipt
        );
    }

    #[test]
    fn urls_are_encoded_and_hosts_recognised() {
        use crate::http::{host_of, is_loopback};
        assert_eq!(
            artifact_url("https://h/base/", "1.0.0+build.1", "my file.tgz"),
            "https://h/base/1.0.0%2Bbuild.1/my%20file.tgz"
        );
        assert_eq!(host_of("http://user:pw@127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(host_of("http://[::1]:80/"), "::1");
        assert!(is_loopback("localhost") && is_loopback("::1") && !is_loopback("example.com"));
    }
}

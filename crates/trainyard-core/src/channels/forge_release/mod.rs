//! The forge release channels, `github`, `gitlab` and `gitea` (Forgejo
//! too): the release for the tag created or updated with the rendered
//! notes, marked a pre-release from the version, and the artifacts
//! uploaded (`SHA256SUMS`, signatures and provenance among them).
//!
//! Idempotent and resumable: the release is found by its tag before one
//! is created, and only the assets it lacks are uploaded, so a run that
//! stopped at the second asset uploads that one on the next run.

mod api;
mod gitea;
mod github;
mod gitlab;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::{PublishRelease, WithdrawRelease, Withdrawal, check_unchanged, is_false, short};
use crate::artifacts::{self, Artifact};
use crate::{Error, Result};
use api::Api;

/// Which forge a release channel talks to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseForge {
    /// GitHub or GitHub Enterprise Server.
    #[default]
    Github,
    /// GitLab, gitlab.com or self-managed.
    Gitlab,
    /// Gitea or Forgejo.
    Gitea,
}

/// What a rollback does to the rolled-back release's forge release.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OnRollback {
    /// Keep it, marked a pre-release (GitHub, Gitea) or renamed as
    /// withdrawn (GitLab), and no longer the latest.
    #[default]
    Demote,
    /// Delete the release (the tag stays).
    Delete,
}

/// `type: github | gitlab | gitea`: a release on the forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgeReleaseChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// Which forge.
    #[serde(skip)]
    pub forge: ReleaseForge,
    /// The API's base URL (GitHub Enterprise, self-hosted GitLab or
    /// Gitea); the public service's by default (Gitea has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// `owner/name` (GitLab: `group/subgroup/name`); by default read from
    /// the `origin` remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// A credential reference for the API token, e.g. `env:GITHUB_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// Create the release as a draft (GitHub, Gitea).
    #[serde(default, skip_serializing_if = "is_false")]
    pub draft: bool,
    /// GitHub's `make_latest`; by default a stable release is the latest
    /// and a pre-release is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make_latest: Option<bool>,
    /// What a rollback does with the release.
    #[serde(default)]
    pub on_rollback: OnRollback,
}

impl ReleaseForge {
    fn as_str(self) -> &'static str {
        match self {
            ReleaseForge::Github => "github",
            ReleaseForge::Gitlab => "gitlab",
            ReleaseForge::Gitea => "gitea",
        }
    }
}

/// A release as the forge holds it.
#[derive(Debug, Clone)]
struct Remote {
    /// GitHub's and Gitea's numeric id; GitLab's tag.
    id: String,
    name: String,
    body: String,
    prerelease: bool,
    /// Where people see it.
    url: String,
    /// GitHub's upload URL, without its `{?name,label}` template.
    upload_url: Option<String>,
}

/// An asset (GitLab: a release link) already on the release.
#[derive(Debug, Clone)]
struct Asset {
    name: String,
    size: Option<u64>,
    /// The SHA-256, when the forge tells it.
    sha256: Option<String>,
    /// Where its bytes can be read back with the token (GitLab's generic
    /// package files), to compare them when the forge tells neither.
    readable_at: Option<String>,
}

/// Suffix given to the name of a demoted release.
const WITHDRAWN: &str = " (withdrawn)";

fn json_str(value: &serde_json::Value, key: &str) -> String {
    match value.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The repository to name in plans: configured, from `origin`, or said so.
fn plan_repository(channel: &ForgeReleaseChannel, repo_root: &std::path::Path) -> String {
    api::repository(channel, repo_root)
        .unwrap_or_else(|| "the `origin` remote's repository".to_owned())
}

/// GitHub's `make_latest`: configured, else a stable release is the
/// latest and a pre-release is not.
fn make_latest(channel: &ForgeReleaseChannel, release: &PublishRelease) -> bool {
    channel.make_latest.unwrap_or(!release.prerelease)
}

/// The generic package GitLab artifacts go to: the released package's
/// directory name in a monorepo, else the repository's name.
fn package_name(repo: &str, package_dirs: &[std::path::PathBuf]) -> String {
    package_dirs
        .first()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_owned())
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &ForgeReleaseChannel, release: &PublishRelease) -> Vec<String> {
    let forge = channel.forge;
    let repo = plan_repository(channel, &release.repo_root);
    let mut flags = Vec::new();
    if release.prerelease && forge != ReleaseForge::Gitlab {
        flags.push("pre-release");
    }
    if channel.draft && forge != ReleaseForge::Gitlab {
        flags.push("draft");
    }
    if forge == ReleaseForge::Github && make_latest(channel, release) {
        flags.push("the latest");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", flags.join(", "))
    };
    let mut lines = vec![format!(
        "create or update the {} release {} of {repo} at {}{flags}: body of {} bytes",
        forge.as_str(),
        release.tag,
        api::base_url(channel),
        release.notes.len()
    )];
    let target = match forge {
        ReleaseForge::Gitlab => format!(
            " to the generic package `{}` {} and link it",
            package_name(&repo, &release.package_dirs),
            release.version
        ),
        _ => String::new(),
    };
    if release.artifacts_pending {
        lines.push(format!(
            "upload each artifact built and SHA256SUMS (and its signature when signing){target}, each unless already there"
        ));
    }
    lines.extend(release.artifacts.iter().map(|a| {
        format!(
            "upload {} ({} bytes, sha256 {}){target} unless already there",
            a.name,
            a.size,
            short(&a.sha256)
        )
    }));
    lines
}

/// Creates or updates the release for the tag and uploads the assets it
/// lacks.
pub(super) fn publish(
    channel: &ForgeReleaseChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    // The files are checked before anything is asked of the forge.
    for artifact in &release.artifacts {
        let (_, sha) = artifacts::hash_file(&artifact.path)?;
        check_unchanged(&channel.name, artifact, &sha)?;
    }
    let api = Api::new(channel, release.token.as_deref(), &release.repo_root)?;
    let mut items = Vec::new();
    let remote = match find(&api, &release.tag)? {
        None => {
            let remote = create(&api, release)?;
            items.push(format!("release {} created: {}", release.tag, remote.url));
            remote
        }
        Some(remote) => {
            let differs = remote.name != release.title
                || remote.body != release.notes
                || (channel.forge != ReleaseForge::Gitlab
                    && remote.prerelease != release.prerelease);
            if differs {
                let remote = update(&api, &remote, release)?;
                items.push(format!("release {} updated: {}", release.tag, remote.url));
                remote
            } else {
                items.push(format!(
                    "release {} already there: {}",
                    release.tag, remote.url
                ));
                remote
            }
        }
    };

    // Every asset is compared before any is uploaded, so a refusal
    // uploads nothing.
    let existing = assets(&api, &remote)?;
    let mut missing = Vec::new();
    let mut conflicts = Vec::new();
    for artifact in &release.artifacts {
        match existing.iter().find(|a| a.name == artifact.name) {
            None => missing.push(artifact),
            Some(asset) => {
                if let Some(how) = difference(&api, asset, artifact)? {
                    conflicts.push(format!("{} ({how})", artifact.name));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::input(format!(
            "channel `{}`: the {} release {} already has different {}; nothing was uploaded: delete those assets on the forge, or publish the artifacts that were uploaded",
            channel.name,
            channel.forge.as_str(),
            release.tag,
            conflicts.join(", ")
        )));
    }
    for artifact in &release.artifacts {
        if !missing.iter().any(|m| m.name == artifact.name) {
            items.push(format!("{} already there", artifact.name));
            continue;
        }
        upload(&api, &remote, release, artifact).map_err(|e| match e {
            Error::Environment(_) => e.within(
                "",
                &format!(
                    "; {} was not uploaded: run again to upload the assets still missing",
                    artifact.name
                ),
            ),
            other => other,
        })?;
        items.push(format!(
            "{} uploaded ({} bytes)",
            artifact.name, artifact.size
        ));
    }
    Ok(items)
}

/// How an asset on the forge differs from the artifact, if it does.
fn difference(api: &Api<'_>, asset: &Asset, artifact: &Artifact) -> Result<Option<String>> {
    if let Some(size) = asset.size
        && size != artifact.size
    {
        return Ok(Some(format!(
            "{size} bytes, the release's is {}",
            artifact.size
        )));
    }
    let sha = match (&asset.sha256, &asset.readable_at) {
        (Some(sha), _) => Some(sha.clone()),
        (None, Some(url)) => gitlab::remote_sha256(api, url)?,
        (None, None) => None,
    };
    Ok(match sha {
        Some(sha) if sha != artifact.sha256 => Some(format!(
            "sha256 {}, the release's is {}",
            short(&sha),
            short(&artifact.sha256)
        )),
        _ => None,
    })
}

fn find(api: &Api<'_>, tag: &str) -> Result<Option<Remote>> {
    match api.channel.forge {
        ReleaseForge::Github => github::find(api, tag),
        ReleaseForge::Gitlab => gitlab::find(api, tag),
        ReleaseForge::Gitea => gitea::find(api, tag),
    }
}

fn create(api: &Api<'_>, release: &PublishRelease) -> Result<Remote> {
    match api.channel.forge {
        ReleaseForge::Github => github::create(api, release),
        ReleaseForge::Gitlab => gitlab::create(api, release),
        ReleaseForge::Gitea => gitea::create(api, release),
    }
}

fn update(api: &Api<'_>, remote: &Remote, release: &PublishRelease) -> Result<Remote> {
    match api.channel.forge {
        ReleaseForge::Github => github::update(api, remote, release),
        ReleaseForge::Gitlab => gitlab::update(api, remote, release),
        ReleaseForge::Gitea => gitea::update(api, remote, release),
    }
}

fn assets(api: &Api<'_>, remote: &Remote) -> Result<Vec<Asset>> {
    match api.channel.forge {
        ReleaseForge::Github => github::assets(api, remote),
        ReleaseForge::Gitlab => gitlab::assets(api, remote),
        ReleaseForge::Gitea => gitea::assets(api, remote),
    }
}

fn upload(
    api: &Api<'_>,
    remote: &Remote,
    release: &PublishRelease,
    artifact: &Artifact,
) -> Result<()> {
    match api.channel.forge {
        ReleaseForge::Github => github::upload(api, remote, artifact),
        ReleaseForge::Gitlab => gitlab::upload(api, remote, release, artifact),
        ReleaseForge::Gitea => gitea::upload(api, remote, artifact),
    }
}

/// What [`withdraw`] would do.
pub(super) fn withdraw_plan(
    channel: &ForgeReleaseChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let forge = channel.forge.as_str();
    let repo = plan_repository(channel, &release.repo_root);
    let tag = &release.tag;
    let mut automatic = Vec::new();
    let mut manual = vec![format!(
        "the tag {tag} stays: a published tag is never moved or deleted"
    )];
    match (channel.on_rollback, channel.forge) {
        (OnRollback::Delete, _) => {
            automatic.push(format!(
                "delete the {forge} release {tag} of {repo} (the tag stays), unless already deleted"
            ));
            if channel.forge == ReleaseForge::Gitlab {
                manual.push(format!(
                    "the generic package files of {} stay in the package registry: delete them by hand if they must go",
                    release.version
                ));
            }
        }
        (OnRollback::Demote, ReleaseForge::Github) => {
            automatic.push(format!(
                "demote the github release {tag} of {repo}: a pre-release, not the latest, its name ending `{WITHDRAWN}`, unless already demoted"
            ));
            if !release.restored_tag.is_empty() {
                automatic.push(format!(
                    "make the github release {} the latest again, if it exists and is not already",
                    release.restored_tag
                ));
            }
        }
        (OnRollback::Demote, ReleaseForge::Gitea) => automatic.push(format!(
            "demote the gitea release {tag} of {repo}: a pre-release, its name ending `{WITHDRAWN}`, unless already demoted"
        )),
        (OnRollback::Demote, ReleaseForge::Gitlab) => automatic.push(format!(
            "rename the gitlab release {tag} of {repo} to end `{WITHDRAWN}` and begin its description with `{}`, unless already done",
            release.reason
        )),
    }
    Withdrawal { automatic, manual }
}

/// Demotes or deletes the release of a rolled-back version.
pub(super) fn withdraw(
    channel: &ForgeReleaseChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let api = Api::new(channel, release.token.as_deref(), &release.repo_root)?;
    let forge = channel.forge;
    let tag = &release.tag;
    let Some(remote) = find(&api, tag)? else {
        return Ok(vec![match channel.on_rollback {
            OnRollback::Delete => format!("release {tag} already deleted"),
            OnRollback::Demote => format!("no {} release {tag}: nothing to demote", forge.as_str()),
        }]);
    };
    let mut items = Vec::new();
    match channel.on_rollback {
        OnRollback::Delete => {
            match forge {
                ReleaseForge::Github => github::delete(&api, &remote)?,
                ReleaseForge::Gitlab => gitlab::delete(&api, &remote)?,
                ReleaseForge::Gitea => gitea::delete(&api, &remote)?,
            }
            items.push(format!("release {tag} deleted (the tag stays)"));
        }
        OnRollback::Demote => {
            let done = remote.name.ends_with(WITHDRAWN)
                && (forge == ReleaseForge::Gitlab || remote.prerelease);
            if done {
                items.push(format!("release {tag} already demoted"));
            } else {
                let name = format!("{}{WITHDRAWN}", remote.name.trim_end_matches(WITHDRAWN));
                match forge {
                    ReleaseForge::Github => github::demote(&api, &remote, &name)?,
                    ReleaseForge::Gitlab => gitlab::demote(&api, &remote, &name, &release.reason)?,
                    ReleaseForge::Gitea => gitea::demote(&api, &remote, &name)?,
                }
                items.push(format!("release {tag} demoted as `{name}`"));
            }
            if forge == ReleaseForge::Github
                && !release.restored_tag.is_empty()
                && release.restored_tag != *tag
            {
                items.extend(github::restore_latest(&api, &release.restored_tag)?);
            }
        }
    }
    Ok(items)
}

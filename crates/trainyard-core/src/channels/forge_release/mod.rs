//! The forge release channels, `github`, `gitlab` and `gitea` (Forgejo
//! too): the release for the tag created or updated with the rendered
//! notes, marked a pre-release from the version, and the artifacts
//! uploaded (`SHA256SUMS`, signatures and provenance among them).
//!
//! Idempotent and resumable: the release is found by its tag before one
//! is created, and only the assets it lacks are uploaded, so a run that
//! stopped at the second asset uploads that one on the next run.

use serde::{Deserialize, Serialize};

use super::{PublishRelease, WithdrawRelease, is_false};
use crate::{Error, Result};

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

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &ForgeReleaseChannel, release: &PublishRelease) -> Vec<String> {
    let _ = (channel, release);
    Vec::new()
}

/// Creates or updates the release for the tag and uploads the assets it
/// lacks.
pub(super) fn publish(
    channel: &ForgeReleaseChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal(
        "forge release channels are not built yet".into(),
    ))
}

/// What [`withdraw`] would do.
pub(super) fn withdraw_plan(
    channel: &ForgeReleaseChannel,
    release: &WithdrawRelease,
) -> super::Withdrawal {
    let _ = (channel, release);
    super::Withdrawal::default()
}

/// Demotes or deletes the release of a rolled-back version.
pub(super) fn withdraw(
    channel: &ForgeReleaseChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal(
        "forge release channels are not built yet".into(),
    ))
}

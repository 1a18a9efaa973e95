//! `release:` in `trainyard.yaml`: branches, artifacts, channels, signing
//! and what `release post` does.

use serde::{Deserialize, Serialize};

use crate::{artifacts, channels};

/// `release:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseConfig {
    /// Release branches are `<branch_prefix>v1.3.0-rc.1`.
    pub branch_prefix: String,
    /// Artifacts to build at the release tag.
    pub artifacts: Vec<artifacts::ArtifactConfig>,
    /// Where releases are published.
    pub channels: Vec<channels::ChannelConfig>,
    /// A minisign key to sign `SHA256SUMS` with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<artifacts::SigningConfig>,
    /// Commands run by `release post` (announcements), with
    /// `TRAINYARD_VERSION` and `TRAINYARD_TAG` set.
    pub notify: Vec<String>,
    /// `release post` merges the release branch back into the branch the
    /// release was started on, with the user's git, so the tag is
    /// reachable there and the changelog and manifests are committed.
    /// Turn it off when releases come back through pull requests.
    pub merge_back: bool,
    /// Sign the release and candidate tags with the user's git (`git tag
    /// -s`, with git's own signing setup); tags are signed too when git's
    /// `tag.gpgSign` is set.
    pub sign_tags: bool,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            branch_prefix: "release/".into(),
            artifacts: Vec::new(),
            channels: Vec::new(),
            signing: None,
            notify: Vec::new(),
            merge_back: true,
            sign_tags: false,
        }
    }
}

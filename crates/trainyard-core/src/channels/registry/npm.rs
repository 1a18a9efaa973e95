//! The `npm` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use crate::{Error, Result};

/// `type: npm`: the release's packages published with `npm publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NpmChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The registry URL; the public npm registry by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// A credential reference for the registry token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The package directories to publish; by default the package's own
    /// in a monorepo, else the root or the workspace members at the
    /// release's version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// `npm publish --access`: `public` or `restricted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// The dist-tag; by default `latest`, or the pre-release's
    /// identifier (`next` for `rc`, `beta`, `alpha`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist_tag: Option<String>,
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(in crate::channels) fn plan(channel: &NpmChannel, release: &PublishRelease) -> Vec<String> {
    let _ = (channel, release);
    Vec::new()
}

/// Publishes what the registry does not have yet.
pub(in crate::channels) fn publish(
    channel: &NpmChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal("the npm channel is not built yet".into()))
}

/// What [`withdraw`] would do.
pub(in crate::channels) fn withdraw_plan(
    channel: &NpmChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let _ = (channel, release);
    Withdrawal::default()
}

/// Withdraws a rolled-back version.
pub(in crate::channels) fn withdraw(
    channel: &NpmChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal("the npm channel is not built yet".into()))
}

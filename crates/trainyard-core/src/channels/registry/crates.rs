//! The `crates` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use crate::{Error, Result};

/// `type: crates`: the crates of the release published with `cargo publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CratesChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The registry's name in cargo's configuration; crates.io by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The registry's index URL (`sparse+https://…`), instead of a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// A credential reference for the registry token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The crates to publish; by default every publishable workspace
    /// member at the release's version (a package's own in a monorepo).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(in crate::channels) fn plan(channel: &CratesChannel, release: &PublishRelease) -> Vec<String> {
    let _ = (channel, release);
    Vec::new()
}

/// Publishes what the registry does not have yet.
pub(in crate::channels) fn publish(
    channel: &CratesChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal(
        "the crates channel is not built yet".into(),
    ))
}

/// What [`withdraw`] would do.
pub(in crate::channels) fn withdraw_plan(
    channel: &CratesChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let _ = (channel, release);
    Withdrawal::default()
}

/// Withdraws a rolled-back version.
pub(in crate::channels) fn withdraw(
    channel: &CratesChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal(
        "the crates channel is not built yet".into(),
    ))
}

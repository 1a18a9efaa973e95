//! The `pypi` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use crate::{Error, Result};

/// `type: pypi`: the built sdist and wheels uploaded to a package index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PypiChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The upload API; PyPI's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// The JSON API asked whether a version is there; PyPI's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_url: Option<String>,
    /// A credential reference for the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The directory of the built distributions, relative to the
    /// repository root (or the package's directory); `dist` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist: Option<std::path::PathBuf>,
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(in crate::channels) fn plan(channel: &PypiChannel, release: &PublishRelease) -> Vec<String> {
    let _ = (channel, release);
    Vec::new()
}

/// Publishes what the registry does not have yet.
pub(in crate::channels) fn publish(
    channel: &PypiChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal("the pypi channel is not built yet".into()))
}

/// What [`withdraw`] would do.
pub(in crate::channels) fn withdraw_plan(
    channel: &PypiChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let _ = (channel, release);
    Withdrawal::default()
}

/// Withdraws a rolled-back version.
pub(in crate::channels) fn withdraw(
    channel: &PypiChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Err(Error::Internal("the pypi channel is not built yet".into()))
}

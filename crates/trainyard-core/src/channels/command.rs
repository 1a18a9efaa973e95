//! The `command` channel: a shell command of the user's, given the release
//! in its environment.

use serde::{Deserialize, Serialize};

use super::PublishRelease;
use crate::Result;
use crate::artifacts;
use crate::bounded::Timeout;
use crate::shell::{self, ShellCommand};

/// Default time a command channel may take.
pub const DEFAULT_COMMAND_TIMEOUT_SECONDS: Timeout = Timeout::constant(1800);

fn default_command_timeout() -> Timeout {
    DEFAULT_COMMAND_TIMEOUT_SECONDS
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

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &CommandChannel, release: &PublishRelease) -> Vec<String> {
    vec![format!(
        "run `{}` in {} with TRAINYARD_VERSION={} TRAINYARD_TAG={} TRAINYARD_ARTIFACTS_DIR={}{}",
        channel.run,
        release.repo_root.display(),
        release.version,
        release.tag,
        release.artifacts_dir.display(),
        if channel.credentials.is_some() {
            " TRAINYARD_TOKEN=<redacted>"
        } else {
            ""
        }
    )]
}

/// Runs the command with the release's environment and reports the last
/// line it printed.
pub(super) fn publish(channel: &CommandChannel, release: &PublishRelease) -> Result<Vec<String>> {
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
    let stdout = shell::run_shell(&ShellCommand {
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

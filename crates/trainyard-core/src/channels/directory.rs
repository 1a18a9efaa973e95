//! The `directory` channel: copies the artifacts into `<path>/<version>/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{PublishRelease, check_unchanged, is_false, short, version_segment};
use crate::artifacts::{self, Artifact};
use crate::{Error, Result};

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

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &DirectoryChannel, release: &PublishRelease) -> Vec<String> {
    let dir = directory_target(channel, release);
    let otherwise = if channel.overwrite {
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

fn directory_target(channel: &DirectoryChannel, release: &PublishRelease) -> PathBuf {
    release.repo_root.join(&channel.path).join(&release.version)
}

/// Copies each artifact into the channel's directory, keeping identical
/// files and refusing (before copying anything) files that differ.
pub(super) fn publish(channel: &DirectoryChannel, release: &PublishRelease) -> Result<Vec<String>> {
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

//! The `git_remote` channel: pushes the release tag, optionally the
//! release branch, and the evidence anchor.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{PublishRelease, short};
use crate::evidence_anchor::ANCHOR_REF;
use crate::{Error, Result, git_cli};

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

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &GitRemoteChannel, release: &PublishRelease) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some(branch) = &channel.push_branch {
        steps.push(format!(
            "git push {} refs/heads/{branch}:refs/heads/{branch} (skipped if the remote branch is already there; must fast-forward)",
            channel.remote
        ));
    }
    steps.push(format!(
        "git push {} refs/tags/{tag}:refs/tags/{tag} (skipped if the remote tag is at the same object; refused if at another)",
        channel.remote,
        tag = release.tag
    ));
    steps.push(format!(
        "git push {} {ANCHOR_REF}:{ANCHOR_REF} when the evidence is anchored (must fast-forward)",
        channel.remote
    ));
    steps
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

/// Pushes the branch (when asked) and the tag, each only when the remote
/// lacks it, refusing a tag that would move.
pub(super) fn publish(channel: &GitRemoteChannel, release: &PublishRelease) -> Result<Vec<String>> {
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

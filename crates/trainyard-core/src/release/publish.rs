//! `release publish`: tags `vX.Y.Z` (after writing the version into the
//! manifests on the release branch), builds the artifacts and
//! `SHA256SUMS`, publishes to every channel that has no receipt yet, and
//! writes the release evidence and SLSA provenance once all are done.

use std::path::PathBuf;

use super::{Action, Step, StepName, StepPlan, current, files, require, state_dir, state_path};
use crate::artifacts::Artifact;
use crate::channels;
use crate::git_cli;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Where the artifacts of `version` are built.
pub(super) fn artifacts_dir(ws: &Workspace, version: &str) -> PathBuf {
    state_dir(ws).join(version).join("artifacts")
}

/// The release handed to a channel, its notes (`notes`) rendered.
pub(super) fn release_for(
    ws: &Workspace,
    version: &str,
    tag: &str,
    artifacts: &[Artifact],
    token: Option<String>,
    notes: String,
) -> channels::PublishRelease {
    channels::PublishRelease {
        version: version.to_owned(),
        tag: tag.to_owned(),
        repo_root: ws.home.clone(),
        artifacts_dir: artifacts_dir(ws, version),
        artifacts: artifacts.to_vec(),
        token,
        published_at: ws.now,
        title: tag.to_owned(),
        notes,
        prerelease: crate::version::parse(version).is_ok_and(|v| !v.pre.is_empty()),
        package_dirs: ws.package_dirs(),
        artifacts_pending: artifacts.is_empty() && !ws.config.release.artifacts.is_empty(),
    }
}

/// The release notes of `version` as a forge release's body: the notes
/// as `notes` renders them.
///
/// # Errors
///
/// As [`crate::notes::generate`] and [`crate::notes::markdown`].
pub(super) fn notes_markdown(ws: &Workspace, version: &str) -> Result<String> {
    let version = crate::version::parse(version)?;
    let notes = crate::notes::generate(
        ws,
        &crate::notes::NotesRequest {
            version: Some(version),
            provenance: crate::notes::Provenance::default(),
        },
    )?;
    crate::notes::markdown(ws, &notes.notes)
}

pub(super) fn plan(ws: &Workspace) -> Result<StepPlan> {
    let state = current(ws, "publish")?;
    require(
        ws,
        &state,
        &[Step::Validated],
        "publish",
        "a passing `release validate`",
    )?;
    let version = state.version()?;
    let last = state
        .candidate()
        .cloned()
        .ok_or_else(|| Error::Internal("a validated release without a candidate".into()))?;
    let tag = ws.tag_name(&version);
    let mut actions = Vec::new();
    let mut messages = Vec::new();
    let tagged = git_cli::ref_exists(&ws.home, &format!("refs/tags/{tag}"));
    if tagged {
        // Only a tag this release made (at its branch's tip) is taken as
        // done; any other tag of the version is someone else's release.
        let at = git_cli::commit_of(&ws.home, &tag)?;
        let tip = git_cli::commit_of(&ws.home, &format!("refs/heads/{}", last.branch))?;
        if state.publication.tag.is_none() && at != tip {
            return Err(Error::input(format!(
                "tag {tag} already exists at {} and was not made by this release (its branch {} is at {}): a released version is never reused; abort this release with `{}`",
                &at[..10],
                last.branch,
                &tip[..10],
                ws.command("release abort")
            )));
        }
    } else {
        let files = files::planned(
            ws,
            &format!("refs/heads/{}", last.branch),
            &version,
            &version,
        )?;
        // Without manifests to write, the tag goes on the candidate itself.
        if !files.is_empty() {
            actions.push(Action::Commit {
                branch: last.branch.clone(),
                message: format!("chore(release): {tag}"),
                files,
                version: version.to_string(),
                changelog: version.to_string(),
            });
        }
        actions.push(Action::Tag {
            tag: tag.clone(),
            at: last.branch.clone(),
            message: format!("Release {tag}"),
        });
    }
    if state.publication.artifacts.is_empty() && !ws.config.release.artifacts.is_empty() {
        actions.push(Action::BuildArtifacts {
            at: tag.clone(),
            dir: artifacts_dir(ws, &state.version),
        });
    }
    if ws.config.release.artifacts.is_empty() {
        messages
            .push("no artifacts configured (release.artifacts): only the tag is released".into());
    }
    if ws.config.release.channels.is_empty() {
        messages.push(format!(
            "no channels configured (release.channels): {tag} stays in this repository; push it yourself, or add a channel"
        ));
    }
    // A forge release's body is the notes; the plan says how long.
    let notes = if ws
        .config
        .release
        .channels
        .iter()
        .any(|c| c.kind().is_forge_release())
    {
        notes_markdown(ws, &state.version).unwrap_or_default()
    } else {
        String::new()
    };
    for channel in &ws.config.release.channels {
        let name = channel.name().to_owned();
        if state.publication.channels.contains_key(&name) {
            messages.push(format!("{name}: already published, skipped"));
            continue;
        }
        actions.push(Action::Publish {
            steps: channels::plan(
                channel,
                &release_for(
                    ws,
                    &state.version,
                    &tag,
                    &state.publication.artifacts,
                    None,
                    notes.clone(),
                ),
            ),
            channel: name,
        });
    }
    actions.push(Action::WriteEvidence {
        documents: vec![
            "release_evidence".into(),
            "slsa_provenance".into(),
            "release_notes".into(),
        ],
    });
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Published,
    });
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Publish,
        actions,
        messages,
        state,
        candidate: None,
    })
}

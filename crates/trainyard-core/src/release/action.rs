//! The actions a release step is made of. A plan lists them; the executor
//! carries out exactly those, in order.

use std::path::PathBuf;

use serde::Serialize;

use super::Step;

/// One effect of a step, shown by `--dry-run` and carried out otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Record the release state.
    WriteState {
        /// The state file.
        path: PathBuf,
        /// The step it moves to (when the step's checks pass).
        step: Step,
    },
    /// Create a branch.
    CreateBranch {
        /// Its name.
        branch: String,
        /// At this commit.
        at: String,
    },
    /// Commit file changes on a branch (in a temporary worktree): the
    /// manifests at `version`, the changelog's section of `changelog`.
    Commit {
        /// The branch.
        branch: String,
        /// The message.
        message: String,
        /// The files changed.
        files: Vec<String>,
        /// The version written into the manifests.
        version: String,
        /// The release whose changelog section is written.
        changelog: String,
    },
    /// Create an annotated tag with the user's git (signed when git is
    /// configured to sign tags).
    Tag {
        /// Its name.
        tag: String,
        /// At this branch or commit.
        at: String,
        /// The tag's message.
        message: String,
    },
    /// Run a gate and record its result.
    RunGate {
        /// The gate.
        gate: String,
        /// At this tag or commit.
        at: String,
    },
    /// Run the checklist and the review check, and record the validation.
    Validate {
        /// At this tag or commit.
        at: String,
    },
    /// Build the configured artifacts and `SHA256SUMS`.
    BuildArtifacts {
        /// At this tag.
        at: String,
        /// Into this directory.
        dir: PathBuf,
    },
    /// Publish to a channel.
    Publish {
        /// The channel.
        channel: String,
        /// What it does.
        steps: Vec<String>,
    },
    /// Write the release evidence and the SLSA provenance.
    WriteEvidence {
        /// The documents.
        documents: Vec<String>,
    },
    /// Merge a release branch back into the branch the release started on,
    /// with the user's git.
    Merge {
        /// The release branch.
        branch: String,
        /// The branch it is merged into.
        into: String,
        /// The merge commit's message (unused on a fast-forward).
        message: String,
    },
    /// Rewrite a file.
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Run a command.
    Run {
        /// The command.
        command: String,
    },
    /// Run an `on_release` sync (applied, or planned for approval).
    Sync {
        /// The sync.
        sync_id: String,
        /// Why it is due.
        why: String,
    },
    /// Delete a local branch.
    DeleteBranch {
        /// Its name.
        branch: String,
    },
    /// Delete a local tag.
    DeleteTag {
        /// Its name.
        tag: String,
    },
}

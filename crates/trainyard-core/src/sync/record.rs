//! The documents a sync leaves: the sealed plan, the approval bound to it,
//! and the spec's `sync_log`, key for key.
//!
//! A plan of any size stays a small YAML document: its change list (every
//! change with its entries before and after, and every conflict) and its
//! full diff are evidence bodies (see [`crate::evidence`]), named in the
//! plan by their SHA-256, so that the plan's id seals them too. The change
//! list is JSON lines, one [`ContentsLine`] a line, in path order.

pub use crate::notify::ChangesApplied;
/// How an apply ended (`sync_log.execution.status`), as notifications
/// tell it.
pub use crate::notify::Status as ExecutionStatus;
use serde::{Deserialize, Serialize};

use super::model::Change;

/// The spec's dry-run counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DryRunResult {
    /// Paths the sync adds.
    pub files_to_add: usize,
    /// Paths it modifies.
    pub files_to_modify: usize,
    /// Paths it deletes.
    pub files_to_delete: usize,
    /// All of them.
    pub total_changes: usize,
}

impl DryRunResult {
    /// Counts a change list.
    pub fn of<C: std::borrow::Borrow<Change>>(changes: impl IntoIterator<Item = C>) -> Self {
        let mut result = DryRunResult::default();
        for change in changes {
            match change.borrow().kind {
                super::model::ChangeKind::Add => result.files_to_add += 1,
                super::model::ChangeKind::Modify => result.files_to_modify += 1,
                super::model::ChangeKind::Delete => result.files_to_delete += 1,
            }
            result.total_changes += 1;
        }
        result
    }
}

/// One side of a plan as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideRecord {
    /// `file` or `git`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The location.
    pub location: String,
    /// The branch, for git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The commit read, for git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The fingerprint of the filtered tree as read (also for an empty or
    /// missing one).
    pub fingerprint: String,
    /// How many files the filtered tree held.
    pub files: usize,
    /// Each document's ETag when read (`api`): the precondition of its
    /// write.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub etags: std::collections::BTreeMap<String, String>,
}

/// A path changed on both sides since the last sync, and what the plan
/// does about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The path (escaped).
    pub path: String,
    /// What the plan does about it.
    pub resolution: ConflictResolution,
    /// Details: the merge's conflict hunks, or why it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a plan does about a conflict: the sync's `conflict_strategy` as
/// it worked out for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictResolution {
    /// Unresolved: the plan cannot be applied.
    Fail,
    /// The source's side wins.
    Theirs,
    /// The target's side is kept.
    Ours,
    /// Both sides' edits merged cleanly.
    Merge,
}

impl ConflictResolution {
    /// The name used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictResolution::Fail => "fail",
            ConflictResolution::Theirs => "theirs",
            ConflictResolution::Ours => "ours",
            ConflictResolution::Merge => "merge",
        }
    }
}

impl std::fmt::Display for ConflictResolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sealed body of a plan; its id is the BLAKE3 of its canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    /// The sync.
    pub sync_id: String,
    /// BLAKE3 of the sync configuration file as planned.
    pub config_hash: String,
    /// When (RFC 3339).
    pub planned_at: String,
    /// Who.
    pub planned_by: String,
    /// Until when it may be applied (RFC 3339).
    pub expires_at: String,
    /// The source as read.
    pub source: SideRecord,
    /// The target as read.
    pub target: SideRecord,
    /// The counts (DR-03).
    pub result: DryRunResult,
    /// Whether the deletions exceed `max_delete` (an approval must
    /// override).
    pub exceeds_max_delete: bool,
    /// A short human summary of the diff.
    pub diff_summary: String,
    /// The evidence path of the change list: every change with its
    /// entries before and after, and every conflict with the last sync's
    /// base and its resolution (a body, see [`PlanContents`]).
    pub changes_ref: String,
    /// SHA-256 of the change list.
    pub changes_sha256: String,
    /// The evidence path of the full diff (a body).
    pub diff_ref: String,
    /// SHA-256 of the full diff's text.
    pub diff_sha256: String,
}

/// What a plan changes: the content of its change list.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PlanContents {
    /// Every change, in path order, with hashes before and after.
    pub changes: Vec<Change>,
    /// Conflicts with the last sync's base, and their resolution.
    pub conflicts: Vec<Conflict>,
}

/// One line of a plan's change list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentsLine<C, K> {
    /// A change.
    Change(C),
    /// A conflict.
    Conflict(K),
}

/// A sealed sync plan: the body and the id derived from it.
pub type SyncPlan = crate::plan::Sealed<PlanBody>;

/// The approval of a plan (DR-06): it names the plan and repeats what the
/// approver saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The plan's full id.
    pub plan_id: String,
    /// The sync.
    pub sync_id: String,
    /// Approved, or rejected.
    pub approved: bool,
    /// Who.
    pub approved_by: String,
    /// In which role, when the config names a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// When.
    pub approved_at: String,
    /// Why (rejections need one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The plan's counts, repeated.
    pub result: DryRunResult,
    /// The source revision or fingerprint the plan read.
    pub source_revision: String,
    /// The target fingerprint the plan read.
    pub target_fingerprint: String,
    /// Allows a plan whose deletions exceed `max_delete`.
    #[serde(default)]
    pub override_max_delete: bool,
    /// Recorded by `sync run` for a sync that needs no approval.
    #[serde(default)]
    pub automatic: bool,
    /// The approver's signature over the rest, in team mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::identity::Signature>,
}

impl crate::evidence::Document for SyncPlan {
    const KIND: &'static str = "sync_plan";
}

impl crate::evidence::Document for Approval {
    const KIND: &'static str = "sync_approval";
}

impl crate::evidence::Document for SyncLog {
    const KIND: &'static str = "sync_log";
}

impl crate::plan::Decision for Approval {
    fn plan_id(&self) -> &str {
        &self.plan_id
    }
    fn approved(&self) -> bool {
        self.approved
    }
    fn decided_by(&self) -> &str {
        &self.approved_by
    }
    fn decided_at(&self) -> &str {
        &self.approved_at
    }
}

/// The spec's `sync_log`, key for key: every key is always there, `null`
/// when there is nothing to put in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncLog {
    /// The sync.
    pub sync_id: String,
    /// This execution.
    pub execution_id: String,
    /// When it ran.
    pub executed_at: String,
    /// Who ran it.
    pub executed_by: String,
    /// The dry-run it applied.
    pub dry_run: LogDryRun,
    /// The approval it carried.
    pub approval: LogApproval,
    /// What happened.
    pub execution: LogExecution,
    /// The checks afterwards.
    pub verification: LogVerification,
}

/// `sync_log.dry_run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogDryRun {
    /// When the plan was made (`null` when no dry-run was made).
    pub executed_at: Option<String>,
    /// Its counts.
    pub result: DryRunResult,
    /// Its summary.
    pub diff_summary: String,
    /// Its full diff (`null` when no dry-run was made).
    pub diff_ref: Option<String>,
}

/// `sync_log.approval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogApproval {
    /// Whether it was approved.
    pub approved: bool,
    /// By whom (`null` when nobody approved).
    pub approved_by: Option<String>,
    /// When (`null` when nobody approved).
    pub approved_at: Option<String>,
    /// The plan's evidence path (`null` when no dry-run was made).
    pub dry_run_ref: Option<String>,
}

/// `sync_log.execution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogExecution {
    /// When the apply started.
    pub started_at: String,
    /// When it ended.
    pub completed_at: String,
    /// How it ended.
    pub status: ExecutionStatus,
    /// What was applied.
    pub changes_applied: ChangesApplied,
    /// What went wrong.
    pub errors: Vec<String>,
}

/// `sync_log.verification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogVerification {
    /// Whether every smoke test passed (true when none are configured).
    pub smoke_tests_passed: bool,
    /// Whether every changed path hashes to what the plan promised.
    pub integrity_verified: bool,
    /// Details (`null` when there is nothing to say).
    #[serde(default)]
    pub notes: Option<String>,
}

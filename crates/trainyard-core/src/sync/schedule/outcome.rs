//! What the scheduler did with a due sync: its [`Status`], and the
//! [`DueOutcome`] reported for it.

use serde::Serialize;

/// What the scheduler did with a due sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Applied (planned, approved and applied, verified).
    Applied,
    /// Nothing to change.
    InSync,
    /// Planned; the plan needs an approval.
    Planned,
    /// A plan made earlier still waits for its approval.
    Waiting,
    /// The plan was rejected.
    Rejected,
    /// The plan expired before it was approved.
    Expired,
    /// Another apply holds the target: tried again on the next run.
    Busy,
    /// Not run (a rolled-back release, or already run for it).
    Skipped,
    /// Planning or applying failed.
    Failed,
}

impl Status {
    /// The status in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::InSync => "in sync",
            Status::Planned => "planned",
            Status::Waiting => "waiting",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Busy => "busy",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    /// Whether the window or release is done with: anything but a plan
    /// that waits and a busy target.
    pub fn is_settled(self) -> bool {
        !matches!(self, Status::Planned | Status::Waiting | Status::Busy)
    }
}

/// One outcome of [`run_due`](super::run_due).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueOutcome {
    /// The sync.
    pub sync_id: String,
    /// What happened.
    pub status: Status,
    /// Why the sync was due (or skipped).
    pub why: String,
    /// What happened, in words: counts and log, the plan to approve, the
    /// error.
    pub detail: String,
    /// The plan concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// The sync log written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_ref: Option<String>,
}

impl std::fmt::Display for DueOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {} ({})",
            self.sync_id,
            self.status.as_str(),
            self.detail,
            self.why
        )
    }
}

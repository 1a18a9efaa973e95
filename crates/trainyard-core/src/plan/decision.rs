//! The decisions recorded on a plan: approvals and rejections, what every
//! one of them has, and the rules every plan's decisions keep.

use super::sealed::short;
use crate::evidence::{Document, EvidenceStore};
use crate::{Error, Result};

/// `sync approve` and `rollback approve`: what to record.
#[derive(Debug, Clone, Default)]
pub struct ApproveRequest {
    /// The plan id (or a prefix).
    pub plan_id: String,
    /// Who approves (default: git's user.email).
    pub by: Option<String>,
    /// In which role.
    pub role: Option<String>,
    /// Reject instead.
    pub reject: bool,
    /// Why (required to reject).
    pub reason: Option<String>,
    /// Allow deletions beyond `max_delete` (a sync's plans only).
    pub override_max_delete: bool,
}

/// A recorded approval or rejection of a plan.
pub trait Decision {
    /// The full id of the plan it decides on.
    fn plan_id(&self) -> &str;
    /// Approved, or rejected.
    fn approved(&self) -> bool;
    /// Who decided.
    fn decided_by(&self) -> &str;
    /// When (RFC 3339).
    fn decided_at(&self) -> &str;
}

/// The decisions of kind `A` recorded on the plan `plan_id`, oldest first,
/// each with its evidence path and each checked against the evidence
/// index as it is read: a decision edited by hand is refused with
/// `remedy`.
///
/// # Errors
///
/// As reading the evidence store, and an [`Error::Input`] for an edited
/// document.
pub fn recorded_decisions<A: Decision + Document>(
    store: &dyn EvidenceStore,
    plan_id: &str,
    remedy: &str,
) -> Result<Vec<(A, String)>> {
    // Decisions are named after the plan's short id: only those are read.
    Ok(store
        .trusted_documents::<A>(short(plan_id), remedy)?
        .into_iter()
        .map(|(decision, record)| (decision, record.path))
        .filter(|(decision, _)| decision.plan_id() == plan_id)
        .collect())
}

/// A rejection says why.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a rejection without a reason.
pub fn require_reason(request: &ApproveRequest) -> Result<()> {
    if request.reject
        && request
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(Error::input("a rejection needs --reason"));
    }
    Ok(())
}

/// The refusal of a second decision on a plan `previous` already decided;
/// `plan` names the plan (`plan 0123…`, `rollback plan 0123…`).
pub fn already_decided(plan: &str, previous: &impl Decision) -> Error {
    Error::input(format!(
        "{plan} was already {} by {} at {}",
        if previous.approved() {
            "approved"
        } else {
            "rejected"
        },
        previous.decided_by(),
        previous.decided_at(),
    ))
}

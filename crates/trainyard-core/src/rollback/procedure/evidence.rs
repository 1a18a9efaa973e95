//! DOCUMENT and CLOSE: the spec's `rollback_evidence`, written at the end
//! of the procedure and again by `rollback document`.

use serde::{Deserialize, Serialize};

use super::approval::{approval_for, approvals};
use super::report::{RollbackReport, report};
use crate::rollback::Kind;
use crate::rollback::decision::Severity;
use crate::states::rollback::{FollowUp, RollbackState, load, save};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The spec's `rollback_evidence`, key for key: every key is always
/// there, `null` when there is nothing to put in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollbackEvidence {
    /// The rollback's id.
    pub rollback_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// What triggered it.
    pub trigger: EvidenceTrigger,
    /// From and to.
    pub versions: EvidenceVersions,
    /// Who and when.
    pub execution: EvidenceExecution,
    /// What was verified.
    pub verification: EvidenceVerification,
    /// What follows.
    pub follow_up: EvidenceFollowUp,
}

/// `trigger:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceTrigger {
    /// The issue.
    pub issue_id: String,
    /// Its severity.
    pub severity: Severity,
    /// What happened.
    pub description: String,
    /// When it was detected.
    pub detected_at: String,
    /// By whom.
    pub detected_by: String,
}

/// `versions:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceVersions {
    /// From.
    pub rolled_back_from: String,
    /// To.
    pub rolled_back_to: String,
}

/// `execution:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceExecution {
    /// When decided.
    pub decided_at: String,
    /// The approver (post-hoc until recorded).
    pub decided_by: String,
    /// When executed (`null` before the rollback's changes were made).
    pub executed_at: Option<String>,
    /// By whom.
    pub executed_by: String,
    /// Measured minutes of execution and verification.
    pub duration_minutes: f64,
}

/// `verification:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceVerification {
    /// `pass` or `fail`.
    pub smoke_tests: String,
    /// Whether the issue is gone.
    pub issue_resolved: bool,
    /// New issues.
    pub new_issues: Vec<String>,
}

/// `follow_up:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceFollowUp {
    /// The root cause.
    pub root_cause: String,
    /// Prevention actions.
    pub prevention: Vec<String>,
    /// A post-mortem document (`null` until one is named).
    #[serde(default)]
    pub post_mortem_ref: Option<String>,
}

impl crate::evidence::Document for RollbackEvidence {
    const KIND: &'static str = "rollback_evidence";
}

/// A rollback's evidence under another kind than its own (a rehearsal's).
#[derive(Serialize, Deserialize)]
pub(crate) struct EvidenceDocument {
    pub(crate) rollback_evidence: RollbackEvidence,
}

/// The evidence of `state`.
pub fn evidence_of(state: &RollbackState) -> RollbackEvidence {
    let verification = state.verification.clone().unwrap_or_default();
    RollbackEvidence {
        rollback_id: state.rollback_id.clone(),
        kind: state.kind,
        trigger: EvidenceTrigger {
            issue_id: state.trigger.issue_id.clone(),
            severity: state.trigger.severity,
            description: state.trigger.description.clone(),
            detected_at: state.trigger.detected_at.clone(),
            detected_by: state.trigger.detected_by.clone(),
        },
        versions: EvidenceVersions {
            rolled_back_from: state.rolled_back_from.clone(),
            rolled_back_to: state.rolled_back_to.clone(),
        },
        execution: EvidenceExecution {
            decided_at: state.decided_at.clone(),
            decided_by: match &state.approved_by {
                Some(by) => by.clone(),
                None if state.post_hoc => {
                    format!("{} (post-hoc approval pending)", state.decided_by)
                }
                None => state.decided_by.clone(),
            },
            executed_at: state.executed_at.clone(),
            executed_by: state.executed_by.clone(),
            duration_minutes: state.duration_minutes(),
        },
        verification: EvidenceVerification {
            smoke_tests: verification.smoke_tests,
            issue_resolved: verification.issue_resolved,
            new_issues: verification.new_issues,
        },
        follow_up: EvidenceFollowUp {
            root_cause: state
                .follow_up
                .root_cause
                .clone()
                .unwrap_or_else(|| "pending: `trainyard rollback document`".into()),
            prevention: state.follow_up.prevention.clone(),
            post_mortem_ref: state.follow_up.post_mortem_ref.clone(),
        },
    }
}

/// Records the evidence of `state`, under the rollback's id: the path
/// of the document written.
pub(super) fn write_evidence(ws: &Workspace, state: &RollbackState) -> Result<String> {
    let record = ws
        .evidence_store()
        .record_document(&state.rollback_id, &evidence_of(state))?;
    Ok(record.record.path)
}

/// `rollback document`: what to add.
#[derive(Debug, Clone, Default)]
pub struct DocumentRequest {
    /// The rollback.
    pub rollback_id: String,
    /// The root cause.
    pub root_cause: String,
    /// Prevention actions.
    pub prevention: Vec<String>,
    /// A post-mortem document.
    pub post_mortem_ref: Option<String>,
}

/// `rollback document`: records the root cause and prevention, and writes
/// the evidence again with them (the store keeps both versions).
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown rollback, one not finished,
/// or an empty root cause.
pub fn document(ws: &Workspace, request: &DocumentRequest) -> Result<RollbackReport> {
    let mut state = load(ws, &request.rollback_id)?;
    if request.root_cause.trim().is_empty() {
        return Err(Error::input("--root-cause must not be empty"));
    }
    if !state.is_complete() {
        return Err(Error::input(format!(
            "rollback {} has not finished: `{}` first",
            state.rollback_id,
            ws.command(&format!("rollback resume {}", state.rollback_id))
        )));
    }
    let _lock = ws.lock()?;
    state.follow_up = FollowUp {
        root_cause: Some(request.root_cause.clone()),
        prevention: request.prevention.clone(),
        post_mortem_ref: request.post_mortem_ref.clone(),
    };
    // A post-hoc approval recorded since counts now.
    if state.approved_by.is_none() {
        state.approved_by = approval_for(ws, &approvals(ws, &state.plan_id)?, &state.approval)?;
    }
    let path = write_evidence(ws, &state)?;
    state.evidence.push(path);
    save(ws, &state)?;
    Ok(report(ws, &state, None))
}

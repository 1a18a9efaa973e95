//! Approving or rejecting a plan, and the decisions recorded for one.

use super::identity;
use super::load::find;
use super::logs::settle_quietly;
use super::plan::find_plan;
use crate::evidence::EvidenceStore;
use crate::plan::{ApproveRequest, already_decided, recorded_decisions, require_reason};
use crate::sync::record::{Approval, SyncPlan};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The approvals and rejections recorded for a plan (by its full id).
///
/// # Errors
///
/// As reading the evidence store.
pub fn approvals(ws: &Workspace, plan_id: &str) -> Result<Vec<Approval>> {
    approvals_of(ws.evidence_store().as_ref(), plan_id)
}

/// The approvals and rejections of a plan, each checked against the
/// evidence index as it is read: an approval edited by hand is refused.
fn approvals_of(store: &dyn EvidenceStore, plan_id: &str) -> Result<Vec<Approval>> {
    Ok(recorded_approvals(store, plan_id)?
        .into_iter()
        .map(|(approval, _)| approval)
        .collect())
}

/// [`approvals_of`], each with its evidence path.
pub(super) fn recorded_approvals(
    store: &dyn EvidenceStore,
    plan_id: &str,
) -> Result<Vec<(Approval, String)>> {
    recorded_decisions(
        store,
        plan_id,
        "a decision that was changed is never trusted; restore the recorded document (`trainyard evidence verify` lists what changed), or plan again and decide on the new plan",
    )
}

/// An approval of `plan` by `by`, repeating what the plan saw (DR-06).
pub(super) fn approval_of(plan: &SyncPlan, by: String, now: jiff::Timestamp) -> Approval {
    Approval {
        plan_id: plan.plan_id.clone(),
        sync_id: plan.plan.sync_id.clone(),
        approved: true,
        approved_by: by,
        role: None,
        approved_at: now.to_string(),
        reason: None,
        result: plan.plan.result,
        source_revision: plan
            .plan
            .source
            .revision
            .clone()
            .unwrap_or_else(|| plan.plan.source.fingerprint.clone()),
        target_fingerprint: plan.plan.target.fingerprint.clone(),
        override_max_delete: false,
        automatic: false,
        signature: None,
    }
}

/// `sync approve`: records an approval (or rejection) that names the plan
/// and repeats its counts, source revision and target fingerprint (DR-06).
///
/// # Errors
///
/// Returns an [`Error::Input`] when the plan is unknown or already decided,
/// when the approver is not the configured one, or when a rejection has
/// no reason.
pub fn approve(ws: &Workspace, request: &ApproveRequest) -> Result<Approval> {
    let (plan, _) = find_plan(ws, &request.plan_id)?;
    let sync = find(ws, &plan.plan.sync_id)?;
    settle_quietly(ws, &sync.config.sync_id);
    let store = ws.evidence_store();
    if let Some(previous) = approvals_of(store.as_ref(), &plan.plan_id)?.first() {
        return Err(already_decided(
            &format!("plan {}", plan.short_id()),
            previous,
        ));
    }
    require_reason(request)?;
    let decided = |by: String| Approval {
        approved: !request.reject,
        role: request.role.clone(),
        reason: request.reason.clone(),
        override_max_delete: request.override_max_delete,
        ..approval_of(&plan, by, ws.now)
    };
    let approval = match ws.team()? {
        // Team mode: the key says who approves, and the roles whether
        // they may.
        Some(team) => crate::sync::decision::sign(
            ws,
            &team,
            &plan,
            &sync.config,
            request.by.as_deref(),
            decided(String::new()),
        )?,
        None => {
            let by = request.by.clone().unwrap_or_else(|| identity(ws));
            if let Some(approver) = &sync.config.options.approver
                && approver != &by
                && request.role.as_deref() != Some(approver.as_str())
            {
                return Err(Error::input(format!(
                    "sync {} is approved by `{approver}`: {by} is not `{approver}` (pass --role {approver} when acting in that role)",
                    sync.config.sync_id
                )));
            }
            decided(by)
        }
    };
    store.record_document(
        &format!("{}-{}", plan.plan.sync_id, plan.short_id()),
        &approval,
    )?;
    Ok(approval)
}

//! Decisions and approvals: the decision the person who starts a
//! rollback signs, and the approvals (or rejections) of a plan that
//! `rollback approve` records.

use serde::{Deserialize, Serialize};

use super::start::StartRequest;
use crate::identity::Signature;
use crate::plan::{ApproveRequest, Decision, already_decided, recorded_decisions, require_reason};
use crate::rollback::decision::{self, Action};
use crate::rollback::plan::{self, RollbackPlan};
use crate::states::rollback::RollbackState;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What the person who starts a rollback decides, and signs in team
/// mode: this plan, for this trigger, with the matrix's action.
#[derive(Debug, Clone, Serialize)]
struct RollbackDecision {
    plan_id: String,
    severity: String,
    impact: String,
    action: String,
    decided_at: String,
}

/// In team mode, checks that the rollback's decision is signed by whom
/// `decided_by` names, as it was made.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the rollback when it is unsigned or
/// its signature does not hold.
pub(super) fn check_decision(ws: &Workspace, state: &RollbackState) -> Result<()> {
    let Some(team) = ws.team()? else {
        return Ok(());
    };
    let what = format!(
        "rollback {}: its decision by {}",
        state.rollback_id, state.decided_by
    );
    let Some(signature) = &state.decision_signature else {
        return Err(Error::input(format!(
            "{what} is not signed, and decisions are signed in this repository (identity.roles): abort it and start again"
        )));
    };
    let decision = RollbackDecision {
        plan_id: state.plan_id.clone(),
        severity: decision::name(state.trigger.severity).to_owned(),
        impact: decision::name(state.trigger.impact).to_owned(),
        action: state.action.as_str().to_owned(),
        decided_at: state.decided_at.clone(),
    };
    let verified = team
        .verify(&decision, signature)
        .map_err(|e| e.within(&format!("{what}: "), ""))?;
    if verified.label() != state.decided_by {
        return Err(Error::input(format!(
            "{what} is signed by {}",
            verified.label()
        )));
    }
    Ok(())
}

/// Who decides to carry `plan` out with the matrix's `action`, and in
/// team mode their signature of the decision, made now.
pub(super) fn decided_by(
    ws: &Workspace,
    plan: &RollbackPlan,
    request: &StartRequest,
    action: Action,
) -> Result<(String, Option<Signature>)> {
    match ws.team()? {
        // The decision is signed by whoever makes it, named with the key.
        Some(team) => {
            let decision = RollbackDecision {
                plan_id: plan.plan_id.clone(),
                severity: decision::name(request.severity).to_owned(),
                impact: decision::name(request.impact).to_owned(),
                action: action.as_str().to_owned(),
                decided_at: ws.now.to_string(),
            };
            let signature = team.sign_with(&ws.signing_key()?, request.by.as_deref(), &decision)?;
            let label = crate::identity::Verified {
                principal: signature.principal.clone(),
                key: signature.key.clone(),
            }
            .label();
            Ok((label, Some(signature)))
        }
        None => Ok((
            request
                .by
                .clone()
                .or_else(|| ws.git_email())
                .unwrap_or_else(|| "unknown".into()),
            None,
        )),
    }
}

/// A recorded decision on a rollback plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanApproval {
    /// The plan's id.
    pub plan_id: String,
    /// Approved, or rejected.
    pub approved: bool,
    /// Who.
    pub approved_by: String,
    /// In which role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// When.
    pub approved_at: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The approver's signature over the rest, in team mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::identity::Signature>,
}

impl Decision for PlanApproval {
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

impl crate::evidence::Document for PlanApproval {
    const KIND: &'static str = "rollback_approval";
}

/// `rollback approve`: records an approval (or a rejection) of a plan.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown plan, a plan already decided,
/// or a rejection without a reason.
pub fn approve(ws: &Workspace, request: &ApproveRequest) -> Result<PlanApproval> {
    let (plan, _) = plan::find(ws, &request.plan_id)?;
    let team = ws.team()?;
    // In team mode the approval that counts is the one by a holder of the
    // role the matrix asks for, so others may have approved before; a
    // rejection is final either way.
    if let Some(previous) = approvals(ws, &plan.plan_id)?
        .iter()
        .find(|a| team.is_none() || !a.approved)
    {
        return Err(already_decided(
            &format!("rollback plan {}", plan.short_id()),
            previous,
        ));
    }
    require_reason(request)?;
    let mut approval = PlanApproval {
        plan_id: plan.plan_id.clone(),
        approved: !request.reject,
        approved_by: request
            .by
            .clone()
            .or_else(|| ws.git_email())
            .unwrap_or_else(|| "unknown".into()),
        role: request.role.clone(),
        approved_at: ws.now.to_string(),
        reason: request.reason.clone(),
        signature: None,
    };
    if let Some(team) = &team {
        // The key says who decides; the role claimed must be theirs.
        let key = ws.signing_key()?;
        approval.approved_by = team.principal_of(&key, request.by.as_deref())?;
        if let Some(role) = &approval.role {
            team.require(
                &approval.approved_by,
                role,
                &format!("rollback plan {}: the role claimed", plan.short_id()),
            )?;
        }
        approval.signature = Some(team.sign_as(&key, approval.approved_by.clone(), &approval)?);
    }
    ws.evidence_store().record_document(
        &format!(
            "{}-{}",
            ws.scoped_name(&plan.plan.rolled_back_from),
            plan.short_id()
        ),
        &approval,
    )?;
    Ok(approval)
}

/// The decisions recorded on a rollback plan, each checked against the
/// evidence index as it is read: a decision edited by hand is refused.
pub(super) fn approvals(ws: &Workspace, plan_id: &str) -> Result<Vec<PlanApproval>> {
    Ok(recorded_decisions(
        ws.evidence_store().as_ref(),
        plan_id,
        "a decision that was changed is never trusted; restore the recorded document (`trainyard evidence verify` lists what changed), or plan the rollback again and decide on the new plan",
    )?
    .into_iter()
    .map(|(approval, _)| approval)
    .collect())
}

/// Who gave the approval that satisfies `role`: by that person, or in
/// that role. In team mode each approval's signature is checked, and only
/// a principal who holds `role` satisfies it (named with the key).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming an approval that is unsigned or
/// whose signature does not hold, in team mode.
pub(super) fn approval_for(
    ws: &Workspace,
    approvals: &[PlanApproval],
    role: &str,
) -> Result<Option<String>> {
    let Some(team) = ws.team()? else {
        return Ok(approvals
            .iter()
            .find(|a| a.approved && (a.approved_by == role || a.role.as_deref() == Some(role)))
            .map(|a| a.approved_by.clone()));
    };
    for approval in approvals.iter().filter(|a| a.approved) {
        let what = format!(
            "the approval of rollback plan {} by {}",
            crate::plan::short(&approval.plan_id),
            approval.approved_by
        );
        let mut unsigned = approval.clone();
        unsigned.signature = None;
        let verified = team.check_signed(
            &unsigned,
            approval.signature.as_ref(),
            &approval.approved_by,
            &what,
            "approve the plan again with a signing key",
        )?;
        if team.holds(&verified.principal, role) {
            return Ok(Some(verified.label()));
        }
    }
    Ok(None)
}

/// A rollback plan cleared to be carried out: the decision to roll back
/// holds (signed by whom it names, in team mode), and the plan is approved
/// by the role the matrix asks for, or the matrix lets that approval come
/// after. Its one constructor is that check, so the execution, which takes
/// one, cannot run without it.
pub(super) struct Cleared<'p> {
    plan: &'p RollbackPlan,
}

impl<'p> Cleared<'p> {
    /// Checks that `state`'s rollback of `plan` may be carried out now.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the decision that does not hold,
    /// or the approval still missing.
    pub(super) fn check(
        ws: &Workspace,
        plan: &'p RollbackPlan,
        state: &RollbackState,
    ) -> Result<Self> {
        check_decision(ws, state)?;
        if state.approved_by.is_none() && !state.post_hoc {
            return Err(Error::input(format!(
                "rollback plan {} is not approved by {}, and nothing is carried out before: `{}`",
                plan.short_id(),
                state.approval,
                ws.command(&format!(
                    "rollback approve {} --role \"{}\"",
                    plan.short_id(),
                    state.approval
                ))
            )));
        }
        Ok(Cleared { plan })
    }

    /// The plan.
    pub(super) fn plan(&self) -> &'p RollbackPlan {
        self.plan
    }
}

//! Unattended syncs: a plan applied at once, approved automatically or
//! by the caller.

use super::approve::approval_of;
use super::approved::ApprovedPlan;
use super::execute::{ApplyReport, apply_approved};
use super::identity;
use super::load::{find, validate};
use super::logs::log_refusal;
use super::plan::{PlanReport, Planned, SourceAt, plan_scanned};
use crate::sync::record::Approval;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Plans the sync from `source` and applies the plan at once, approved by
/// `approved_by` (the rollback's approver); the record of that approval is
/// written. Nothing is applied when the target already matches. With
/// `expected_target`, a target read with another fingerprint (changed
/// since the caller's own plan) is refused as stale.
///
/// # Errors
///
/// As [`plan`](super::plan) and [`apply_plan`](super::apply_plan), and an
/// [`Error::Input`] for a stale target.
pub fn run_from(
    ws: &Workspace,
    id: &str,
    source: SourceAt<'_>,
    expected_target: Option<&str>,
    approved_by: &str,
    reason: &str,
) -> Result<(PlanReport, Option<ApplyReport>)> {
    let Planned {
        report: planned,
        scanned,
    } = plan_scanned(ws, id, false, Some(source))?;
    if planned.plan.plan.result.total_changes == 0 {
        return Ok((planned, None));
    }
    if let Some(expected) = expected_target
        && planned.plan.plan.target.fingerprint != expected
    {
        return Err(Error::input(format!(
            "stale target: sync {id}'s target changed since the rollback was planned"
        )));
    }
    let approval = Approval {
        reason: Some(reason.to_owned()),
        ..approval_of(&planned.plan, approved_by.to_owned(), ws.now)
    };
    ws.evidence_store()
        .record_document(&format!("{id}-{}", planned.plan.short_id()), &approval)?;
    let approved = ApprovedPlan::verify(
        ws,
        planned.plan.clone(),
        planned.plan_ref.clone(),
        Some(approval),
    )?;
    let applied = apply_approved(ws, &approved, Some(scanned))?;
    Ok((planned, Some(applied)))
}

/// `sync run`: validation, plan, an automatic approval recorded as such,
/// apply and verification, for syncs that do not require approval.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the sync requires approval or fails
/// validation, and the errors of plan and apply.
pub fn run(ws: &Workspace, id: &str) -> Result<(PlanReport, Option<ApplyReport>)> {
    let sync = find(ws, id)?;
    if sync.config.options.approval_required {
        return Err(Error::input(format!(
            "sync {id} requires approval: run `trainyard sync plan {id}`, then approve and apply the plan"
        )));
    }
    if let Some(v) = validate(ws, Some(id))?
        .into_iter()
        .find(|v| !v.problems.is_empty())
    {
        let log_ref = log_refusal(ws, &sync.config.sync_id, &v.problems)?;
        return Err(Error::input(format!(
            "sync {id} fails pre-sync validation: {} (log {log_ref})",
            v.problems.join("; ")
        )));
    }
    let Planned {
        report: planned,
        scanned,
    } = plan_scanned(ws, id, false, None)?;
    if planned.plan.plan.result.total_changes == 0 {
        return Ok((planned, None));
    }
    let automatic = Approval {
        reason: Some("automatic: the sync does not require approval".into()),
        automatic: true,
        ..approval_of(&planned.plan, identity(ws), ws.now)
    };
    let store = ws.evidence_store();
    store.record_document(&format!("{id}-{}", planned.plan.short_id()), &automatic)?;
    let approved = ApprovedPlan::verify(
        ws,
        planned.plan.clone(),
        planned.plan_ref.clone(),
        Some(automatic),
    )?;
    let applied = apply_approved(ws, &approved, Some(scanned))?;
    Ok((planned, Some(applied)))
}

//! Running one due sync: applied at once when it needs no approval, else
//! planned and left pending; a pending plan is settled once it is
//! approved, rejected or expired.

use jiff::Timestamp;

use super::due::{Due, pending_what};
use super::outcome::{DueOutcome, Status};
use super::state::{Pending, ScheduleState};
use crate::plan::short;
use crate::sync::config::LoadedSync;
use crate::sync::engine;
use crate::sync::record::{Approval, SyncPlan};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Runs one due sync; records a new plan as pending in `state`.
pub(super) fn run_one(
    ws: &Workspace,
    sync: &LoadedSync,
    due: &Due,
    state: &mut ScheduleState,
) -> Result<DueOutcome> {
    let id = &sync.config.sync_id;
    let outcome = |status, detail: String| DueOutcome {
        sync_id: id.clone(),
        status,
        why: due.why.clone(),
        detail,
        plan_id: None,
        log_ref: None,
    };
    if let Some(busy) = target_busy(ws, id) {
        return Ok(outcome(Status::Busy, busy));
    }
    if !sync.config.options.approval_required {
        return Ok(match engine::run(ws, id) {
            Ok((plan, Some(applied))) => DueOutcome {
                plan_id: Some(plan.plan.plan_id.clone()),
                log_ref: Some(applied.log_ref.clone()),
                ..outcome(Status::Applied, applied_detail(&applied))
            },
            Ok((plan, None)) => DueOutcome {
                plan_id: Some(plan.plan.plan_id.clone()),
                ..outcome(Status::InSync, "no changes".into())
            },
            Err(e) if is_busy(&e) => outcome(Status::Busy, e.to_string()),
            Err(e) => outcome(Status::Failed, e.to_string()),
        });
    }
    let report = match engine::plan(ws, id, false) {
        Ok(report) => report,
        Err(e) => return Ok(outcome(Status::Failed, e.to_string())),
    };
    let plan = &report.plan;
    if plan.plan.result.total_changes == 0 {
        return Ok(DueOutcome {
            plan_id: Some(plan.plan_id.clone()),
            ..outcome(Status::InSync, "no changes".into())
        });
    }
    state.pending = Some(Pending {
        plan_id: plan.plan_id.clone(),
        planned_at: ws.now,
        window: due.window,
        release: due.release.clone(),
    });
    Ok(DueOutcome {
        plan_id: Some(plan.plan_id.clone()),
        ..outcome(
            Status::Planned,
            format!(
                "plan {} ({}) needs an approval: run `trainyard sync approve {}`",
                plan.short_id(),
                plan.plan.diff_summary,
                plan.short_id()
            ),
        )
    })
}

/// Settles a pending plan when it can: applies it once approved, and
/// reports a rejection, an expiry or an apply made by hand.
pub(super) fn settle(ws: &Workspace, sync: &LoadedSync, pending: &Pending) -> Result<DueOutcome> {
    let id = &sync.config.sync_id;
    let short_id = short(&pending.plan_id).to_owned();
    let outcome = |status, detail: String| DueOutcome {
        sync_id: id.clone(),
        status,
        why: format!("plan {short_id} for {}", pending_what(ws, sync, pending)),
        detail,
        plan_id: Some(pending.plan_id.clone()),
        log_ref: None,
    };
    let plan = match engine::find_plan(ws, &pending.plan_id) {
        Ok((plan, _)) => plan,
        Err(e) => return Ok(outcome(Status::Failed, e.to_string())),
    };
    if let Some(log_ref) = engine::applied_log(ws, &plan)? {
        return Ok(DueOutcome {
            log_ref: Some(log_ref.clone()),
            ..outcome(
                Status::Applied,
                format!("applied outside the scheduler (log {log_ref})"),
            )
        });
    }
    let approvals = approvals(ws, &plan)?;
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Ok(outcome(
            Status::Rejected,
            format!(
                "rejected by {}{}",
                rejected.approved_by,
                rejected
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ));
    }
    if approvals.iter().any(|a| a.approved) {
        if let Some(busy) = target_busy(ws, id) {
            return Ok(outcome(Status::Busy, busy));
        }
        return Ok(match engine::apply_plan(ws, &plan.plan_id, None) {
            Ok(applied) => DueOutcome {
                log_ref: Some(applied.log_ref.clone()),
                ..outcome(Status::Applied, applied_detail(&applied))
            },
            Err(e) if is_busy(&e) => outcome(Status::Busy, e.to_string()),
            Err(e) => outcome(Status::Failed, e.to_string()),
        });
    }
    if let Ok(expires) = plan.plan.expires_at.parse::<Timestamp>()
        && ws.expiry_clock() > expires
    {
        return Ok(outcome(
            Status::Expired,
            format!("expired at {expires} without an approval: the next window plans again"),
        ));
    }
    Ok(outcome(
        Status::Waiting,
        format!("still needs an approval: run `trainyard sync approve {short_id}`"),
    ))
}

fn applied_detail(applied: &engine::ApplyReport) -> String {
    let c = &applied.log.execution.changes_applied;
    format!(
        "+{} ~{} -{}, log {}",
        c.added, c.modified, c.deleted, applied.log_ref
    )
}

/// Who holds the sync's target lock, when an apply would be refused by
/// it now.
fn target_busy(ws: &Workspace, sync_id: &str) -> Option<String> {
    let held = engine::target_busy(ws, sync_id).ok().flatten()?;
    Some(format!("{held}; tried again on the next run"))
}

/// Whether an apply was refused because another run holds the target (or
/// left its lock behind).
pub(super) fn is_busy(error: &Error) -> bool {
    matches!(error, Error::Locked(_))
}

/// The approvals and rejections recorded for `plan`.
fn approvals(ws: &Workspace, plan: &SyncPlan) -> Result<Vec<Approval>> {
    engine::approvals(ws, &plan.plan_id)
}

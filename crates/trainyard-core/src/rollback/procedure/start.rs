//! `rollback start`: the matrix's decision on the trigger, the procedure
//! it calls for (DETECT and DECIDE, or ASSESS), and the first state.

use super::approval::{approval_for, approvals, decided_by};
use super::report::{RollbackReport, report};
use super::resume::advance;
use crate::rollback::Kind;
use crate::rollback::decision::{self, Action, Assessment, Impact, Severity};
use crate::rollback::plan::{self, RollbackPlan};
use crate::states::rollback::{
    ActionRecord, FollowUp, RollbackState, Status, StepRecord, Trigger, all, save, state_dir,
};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What `rollback start` is given.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The rollback plan (id or prefix).
    pub plan_id: String,
    /// The issue that triggered it.
    pub issue_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its user impact.
    pub impact: Impact,
    /// What happened.
    pub description: String,
    /// When it was detected (default: now).
    pub detected_at: Option<jiff::Timestamp>,
    /// Who detected it (default: the person running the rollback).
    pub detected_by: Option<String>,
    /// Who decides and runs it (default: git's user.email).
    pub by: Option<String>,
    /// A command that passes once the original issue is gone.
    pub check: Option<String>,
}

/// The steps of each procedure.
const RB_IMM: [&str; 6] = [
    "detect",
    "decide",
    "execute",
    "verify",
    "communicate",
    "document",
];
const RB_PLN: [&str; 6] = ["assess", "approve", "prepare", "execute", "verify", "close"];

/// `rollback start`: decides (with the matrix), then runs the procedure as
/// far as it goes: to its end, or to a wait for an approval.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown or rejected plan, a rollback
/// type the matrix does not allow for the severity and impact, or a plan
/// already carried out; the errors of each step otherwise (the state then
/// records where it stopped, and `rollback resume` goes on).
pub fn start(ws: &Workspace, request: &StartRequest) -> Result<RollbackReport> {
    let (plan, plan_ref) = plan::find(ws, &request.plan_id)?;
    let _lock = ws.lock()?;
    let mut state = begin(ws, &plan, plan_ref, request)?;
    save(ws, &state)?;
    let id = state.rollback_id.clone();
    advance(ws, &plan, &mut state)
        .map_err(|e| e.within(&format!("rollback {id}: "), &state.how_to_continue()))
}

/// `rollback start --dry-run`: the rollback as `start` would begin it (the
/// matrix's decision, the procedure, the approval it waits for, the
/// actions its execution would carry out), recorded nowhere.
///
/// # Errors
///
/// As [`start`], before anything is done.
pub fn preview(ws: &Workspace, request: &StartRequest) -> Result<RollbackReport> {
    let (plan, plan_ref) = plan::find(ws, &request.plan_id)?;
    let state = begin(ws, &plan, plan_ref, request)?;
    let waiting = match (state.post_hoc, &state.approved_by) {
        (_, Some(by)) => format!("nothing (dry run): approved by {by}"),
        (true, None) => "nothing (dry run): the approval may come after".into(),
        (false, None) => format!(
            "nothing (dry run); it would wait for the approval of {} before any action",
            state.approval
        ),
    };
    Ok(report(ws, &state, Some(waiting)))
}

/// The rollback's first state: the matrix's decision on the trigger,
/// the procedure, and the actions of its execution, in the order the
/// plan lists them. Checks that the plan may be carried out.
fn begin(
    ws: &Workspace,
    plan: &RollbackPlan,
    plan_ref: String,
    request: &StartRequest,
) -> Result<RollbackState> {
    refuse_if_under_way(ws, plan)?;
    let approvals = approvals(ws, &plan.plan_id)?;
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Err(Error::input(format!(
            "rollback plan {} was rejected by {}: it can never be carried out",
            plan.short_id(),
            rejected.approved_by
        )));
    }
    let assessment = crate::rollback::assess(ws, request.severity, request.impact)?;
    let immediate = plan.plan.kind == Kind::Immediate
        || (matches!(plan.plan.kind, Kind::Partial | Kind::Config)
            && assessment.action.allows(true));
    refuse_if_not_allowed(plan, request, &assessment)?;
    let (by, decision_signature) = decided_by(ws, plan, request, assessment.action)?;
    let rollback_id = format!(
        "rb-{}-{}",
        ws.scoped_name(&plan.plan.rolled_back_from.replace('+', "_")),
        ws.stamp()
    );
    let procedure = if immediate { "RB-IMM" } else { "RB-PLN" };
    let steps = if immediate { RB_IMM } else { RB_PLN };
    let detected_at = request.detected_at.unwrap_or(ws.now);
    let actions = planned_actions(plan);
    let mut state = RollbackState {
        backup_dir: state_dir(ws).join(&rollback_id).join("backup"),
        rollback_id,
        plan_id: plan.plan_id.clone(),
        plan_ref,
        kind: plan.plan.kind,
        procedure: procedure.into(),
        rolled_back_from: plan.plan.rolled_back_from.clone(),
        rolled_back_to: plan.plan.rolled_back_to.clone(),
        trigger: Trigger {
            issue_id: request.issue_id.clone(),
            severity: request.severity,
            impact: request.impact,
            description: request.description.clone(),
            detected_at: detected_at.to_string(),
            detected_by: request.detected_by.clone().unwrap_or_else(|| by.clone()),
        },
        action: assessment.action,
        approval: assessment.approval.clone(),
        post_hoc: assessment.post_hoc,
        approved_by: approval_for(ws, &approvals, &assessment.approval)?,
        check: request.check.clone(),
        steps: pending_steps(&steps),
        actions,
        signoffs: Vec::new(),
        decided_by: by.clone(),
        decided_at: ws.now.to_string(),
        decision_signature,
        executed_at: None,
        executed_by: by,
        completed_at: None,
        elapsed_seconds: 0.0,
        commit: None,
        verification: None,
        notified: false,
        follow_up: FollowUp::default(),
        evidence: Vec::new(),
        aborted_at: None,
    };
    record_trigger(ws, &mut state);
    record_decision(ws, &mut state, &assessment, immediate, detected_at);
    Ok(state)
}

/// Refuses a plan that another rollback, not aborted, carries out.
fn refuse_if_under_way(ws: &Workspace, plan: &RollbackPlan) -> Result<()> {
    if let Some(existing) = all(ws)?
        .into_iter()
        .find(|s| s.plan_id == plan.plan_id && !s.is_aborted())
    {
        return Err(Error::input(format!(
            "rollback plan {} is already being carried out as {}: run `{}`",
            plan.short_id(),
            existing.rollback_id,
            ws.command(&format!("rollback resume {}", existing.rollback_id))
        )));
    }
    Ok(())
}

/// Refuses a rollback of the plan's type where the matrix's action does
/// not allow it.
fn refuse_if_not_allowed(
    plan: &RollbackPlan,
    request: &StartRequest,
    assessment: &Assessment,
) -> Result<()> {
    if !assessment.action.allows(plan.plan.kind == Kind::Immediate) {
        return Err(Error::input(format!(
            "the decision matrix says `{}` for {} severity and {} impact: a{} {} rollback is not allowed{}",
            assessment.action.as_str(),
            decision::name(request.severity),
            decision::name(request.impact),
            if plan.plan.kind == Kind::Immediate {
                "n"
            } else {
                ""
            },
            plan.plan.kind.as_str(),
            if assessment.action == Action::FixForward {
                ": fix forward instead"
            } else {
                ": plan a planned rollback"
            }
        )));
    }
    Ok(())
}

/// The actions of the execution, in the order the plan lists them: the
/// code, each channel with something to withdraw or publish, each config.
fn planned_actions(plan: &RollbackPlan) -> Vec<ActionRecord> {
    let mut actions = Vec::new();
    if plan.plan.code.is_some() {
        actions.push(action("code"));
    }
    for channel in &plan.plan.channels {
        if channel.withdraw.is_some()
            || !channel.republish.is_empty()
            || !channel.actions.is_empty()
        {
            actions.push(action(&format!("channel:{}", channel.channel)));
        }
    }
    for config in &plan.plan.configs {
        actions.push(action(&format!("config:{}", config.sync_id)));
    }
    actions
}

fn action(id: &str) -> ActionRecord {
    ActionRecord {
        id: id.to_owned(),
        status: Status::Pending,
        notes: Vec::new(),
    }
}

/// The procedure's steps, none reached yet.
fn pending_steps(names: &[&str]) -> Vec<StepRecord> {
    names
        .iter()
        .map(|name| StepRecord {
            name: (*name).into(),
            status: Status::Pending,
            at: None,
            notes: Vec::new(),
        })
        .collect()
}

/// DETECT / ASSESS: the trigger is on record.
fn record_trigger(ws: &Workspace, state: &mut RollbackState) {
    let note = format!(
        "{} ({} severity, {} impact): {}",
        state.trigger.issue_id,
        decision::name(state.trigger.severity),
        decision::name(state.trigger.impact),
        state.trigger.description
    );
    let now = ws.now.to_string();
    let first = &mut state.steps[0];
    first.status = Status::Done;
    first.at = Some(now);
    first.notes.push(note);
}

/// DECIDE: the matrix's answer, within the time RB-IMM allows. RB-PLN's
/// assess step holds the decision too. Either way the decision is done
/// only once its approval is recorded, unless it may come after.
fn record_decision(
    ws: &Workspace,
    state: &mut RollbackState,
    assessment: &Assessment,
    immediate: bool,
    detected_at: jiff::Timestamp,
) {
    let mut notes = assessment.because.clone();
    if immediate {
        let limit = ws.config.rollback.decide_within_minutes;
        let took = (ws.now.as_second() - detected_at.as_second()).max(0) / 60;
        notes.push(if took <= i64::try_from(limit.get()).unwrap_or(i64::MAX) {
            format!("decided {took} minute(s) after detection, within the {limit}-minute target")
        } else {
            format!("decided {took} minutes after detection, beyond the {limit}-minute target")
        });
        if state.post_hoc {
            notes.push(format!(
                "approval post-hoc: record it with `{}`",
                ws.command("rollback approve")
            ));
        }
        state.step_mut("decide").notes.extend(notes);
    } else {
        state.steps[0].notes.extend(notes);
    }
}

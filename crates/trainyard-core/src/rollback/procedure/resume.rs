//! `rollback resume`, and the run of the pending steps that `start` and
//! `resume` share.

use std::time::Instant;

use super::approval::{Cleared, approval_for, approvals, check_decision};
use super::communicate::communicate;
use super::evidence::write_evidence;
use super::execute::execute;
use super::prepare::prepare;
use super::report::{RollbackReport, report};
use super::verify::verify;
use crate::rollback::plan::{self, RollbackPlan};
use crate::states::rollback::{RollbackState, Status, finish_step, load, save};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// `rollback resume`: goes on from where a rollback stopped (an approval
/// now recorded, a failure mended, a crash).
///
/// # Errors
///
/// As [`start`](super::start).
pub fn resume(ws: &Workspace, id: &str) -> Result<RollbackReport> {
    let mut state = load(ws, id)?;
    if state.is_aborted() {
        return Err(Error::input(format!(
            "rollback {id} was aborted: plan a new one with `{}`",
            ws.command(&format!("rollback plan --to {}", state.rolled_back_to))
        )));
    }
    let (plan, _) = plan::find(ws, &state.plan_id)?;
    let _lock = ws.lock()?;
    check_decision(ws, &state)?;
    if state.approved_by.is_none() {
        state.approved_by = approval_for(ws, &approvals(ws, &plan.plan_id)?, &state.approval)?;
    }
    advance(ws, &plan, &mut state)
        .map_err(|e| e.within(&format!("rollback {id}: "), &state.how_to_continue()))
}

/// Runs the pending steps in order until the end or a wait.
pub(super) fn advance(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &mut RollbackState,
) -> Result<RollbackReport> {
    let names: Vec<String> = state.steps.iter().map(|s| s.name.clone()).collect();
    for name in names {
        let status = state
            .steps
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.status);
        if status == Some(Status::Done) {
            continue;
        }
        let result = match run_step(ws, plan, state, &name)? {
            StepRun::Ran(result) => result,
            StepRun::Stopped(waiting_for) => return Ok(report(ws, state, Some(waiting_for))),
        };
        if let Err(error) = result {
            let step = state.step_mut(&name);
            step.status = Status::Failed;
            step.at = Some(ws.now.to_string());
            step.notes.push(error.to_string());
            save(ws, state)?;
            return Err(error);
        }
    }
    Ok(report(ws, state, None))
}

/// What running one step came to.
enum StepRun {
    /// The step ran: done, or failed with this error (the step is then
    /// marked failed).
    Ran(Result<()>),
    /// The procedure stops at the step, recorded, waiting for this.
    Stopped(String),
}

/// Runs step `name`. An error returned here stops the procedure without
/// marking the step failed.
fn run_step(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &mut RollbackState,
    name: &str,
) -> Result<StepRun> {
    match name {
        // RB-IMM decides with its approval, unless the matrix lets the
        // approval come after: no action runs before it.
        "decide" => match (&state.approved_by, state.post_hoc) {
            (Some(by), _) => {
                let note = format!("approved by {by} ({})", state.approval);
                Ok(StepRun::Ran(finish_step(ws, state, "decide", vec![note])))
            }
            (None, true) => Ok(StepRun::Ran(finish_step(ws, state, "decide", Vec::new()))),
            (None, false) => {
                let role = state.approval.clone();
                let waiting_for = format!(
                    "approval by {role} before any action: `{}`, then `{}`",
                    ws.command(&format!(
                        "rollback approve {} --by <who> --role \"{role}\"",
                        plan.short_id()
                    )),
                    ws.command(&format!("rollback resume {}", state.rollback_id))
                );
                wait_at(ws, state, "decide", waiting_for)
            }
        },
        "approve" => match &state.approved_by {
            Some(by) => {
                let note = format!("approved by {by} ({})", state.approval);
                Ok(StepRun::Ran(finish_step(ws, state, "approve", vec![note])))
            }
            None => {
                let role = state.approval.clone();
                let waiting_for = format!(
                    "approval by {role}: `{}`, then `{}`",
                    ws.command(&format!(
                        "rollback approve {} --by <who> --role \"{role}\"",
                        plan.short_id()
                    )),
                    ws.command(&format!("rollback resume {}", state.rollback_id))
                );
                wait_at(ws, state, "approve", waiting_for)
            }
        },
        "prepare" => Ok(StepRun::Ran(prepare(ws, plan, state))),
        "execute" => execute_step(ws, plan, state),
        "verify" => verify_step(ws, plan, state),
        "communicate" => Ok(StepRun::Ran(communicate(ws, state))),
        "document" | "close" => close_step(ws, state, name),
        _ => Ok(StepRun::Ran(Ok(()))),
    }
}

/// Marks step `name` waiting, and stops there.
fn wait_at(
    ws: &Workspace,
    state: &mut RollbackState,
    name: &str,
    waiting_for: String,
) -> Result<StepRun> {
    let step = state.step_mut(name);
    step.status = Status::Waiting;
    step.at = Some(ws.now.to_string());
    save(ws, state)?;
    Ok(StepRun::Stopped(waiting_for))
}

/// EXECUTE, its time measured and added to the rollback's.
fn execute_step(ws: &Workspace, plan: &RollbackPlan, state: &mut RollbackState) -> Result<StepRun> {
    let started = Instant::now();
    if state.executed_at.is_none() {
        state.executed_at = Some(ws.now.to_string());
    }
    let result = Cleared::check(ws, plan, state).and_then(|cleared| execute(ws, &cleared, state));
    state.elapsed_seconds += started.elapsed().as_secs_f64();
    save(ws, state)?;
    Ok(StepRun::Ran(result.and_then(|notes| {
        finish_step(ws, state, "execute", notes)
    })))
}

/// VERIFY, its time measured and added to the rollback's. A verification
/// that does not pass stops the procedure at the step, failed.
fn verify_step(ws: &Workspace, plan: &RollbackPlan, state: &mut RollbackState) -> Result<StepRun> {
    let started = Instant::now();
    let verification = verify(ws, plan, state)?;
    state.elapsed_seconds += started.elapsed().as_secs_f64();
    let notes = verification.details.clone();
    let passed = verification.states_match && verification.smoke_tests == "pass";
    state.verification = Some(verification);
    if passed {
        return Ok(StepRun::Ran(finish_step(ws, state, "verify", notes)));
    }
    let step = state.step_mut("verify");
    step.status = Status::Failed;
    step.at = Some(ws.now.to_string());
    step.notes = notes;
    save(ws, state)?;
    Ok(StepRun::Stopped(format!(
        "a passing verification: mend what it found, then `{}`",
        ws.command(&format!("rollback resume {}", state.rollback_id))
    )))
}

/// DOCUMENT or CLOSE: the procedure ends, its evidence written.
fn close_step(ws: &Workspace, state: &mut RollbackState, name: &str) -> Result<StepRun> {
    state.completed_at = Some(jiff::Timestamp::now().max(ws.now).to_string());
    let path = write_evidence(ws, state)?;
    state.evidence.push(path.clone());
    Ok(StepRun::Ran(finish_step(
        ws,
        state,
        name,
        vec![format!("evidence {path}")],
    )))
}

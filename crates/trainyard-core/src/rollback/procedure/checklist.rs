//! The spec's rollback checklist: rows the tool checks from the state, and
//! rows people sign off with `rollback signoff`.

use serde::{Deserialize, Serialize};

use super::report::{RollbackReport, report};
use super::state::{RollbackState, Signoff, Status, load, save};
use crate::rollback::decision;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// One row of the spec's rollback checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistRow {
    /// `pre`, `during` or `post`.
    pub phase: String,
    /// The key a sign-off names.
    pub key: String,
    /// The spec's wording.
    pub item: String,
    /// `pass`, `fail`, `pending` or `n/a`.
    pub status: String,
    /// Checked by the tool (`auto`) or signed off by a person (`manual`).
    pub check: String,
    /// Why.
    pub detail: String,
}

/// `rollback signoff`: a person confirms a manual checklist row.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown rollback or a row that is
/// not signed off by people.
pub fn signoff(ws: &Workspace, id: &str, key: &str, by: Option<&str>) -> Result<RollbackReport> {
    let mut state = load(ws, id)?;
    let manual: Vec<ChecklistRow> = checklist(&state)
        .into_iter()
        .filter(|r| r.check == "manual")
        .collect();
    if !manual.iter().any(|r| r.key == key) {
        let keys: Vec<&str> = manual.iter().map(|r| r.key.as_str()).collect();
        return Err(Error::input(format!(
            "`{key}` is not a manual checklist item of rollback {id}: use one of {}",
            keys.join(", ")
        )));
    }
    let _lock = ws.lock()?;
    let by = by
        .map(str::to_owned)
        .or_else(|| ws.git_email())
        .unwrap_or_else(|| "unknown".into());
    state.signoffs.retain(|s| s.key != key);
    state.signoffs.push(Signoff {
        key: key.to_owned(),
        by,
        at: ws.now.to_string(),
    });
    if key == "issue-resolved"
        && let Some(v) = state.verification.as_mut()
    {
        v.issue_resolved = true;
    }
    save(ws, &state)?;
    Ok(report(&state, None))
}

/// The spec's rollback checklist for `state`: automatic rows checked from
/// the state, manual rows from sign-offs.
pub fn checklist(state: &RollbackState) -> Vec<ChecklistRow> {
    let step_done = |name: &str| {
        state
            .steps
            .iter()
            .any(|s| s.name == name && s.status == Status::Done)
    };
    let signed = |key: &str| state.signoffs.iter().find(|s| s.key == key);
    let verification = state.verification.as_ref();
    let mut rows = Vec::new();
    let mut auto = |phase: &str, key: &str, item: &str, pass: Option<bool>, detail: String| {
        rows.push(ChecklistRow {
            phase: phase.into(),
            key: key.into(),
            item: item.into(),
            status: match pass {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "pending",
            }
            .into(),
            check: "auto".into(),
            detail,
        });
    };
    auto(
        "pre",
        "issue-documented",
        "Issue documented with severity",
        Some(!state.trigger.issue_id.is_empty()),
        format!(
            "{} ({})",
            state.trigger.issue_id,
            decision::name(state.trigger.severity)
        ),
    );
    auto(
        "pre",
        "decision-approved",
        "Rollback decision approved",
        match (&state.approved_by, state.post_hoc) {
            (Some(_), _) => Some(true),
            (None, true) => None,
            (None, false) => Some(false),
        },
        match &state.approved_by {
            Some(by) => format!("approved by {by}"),
            None if state.post_hoc => "post-hoc approval pending".into(),
            None => format!("waiting for {}", state.approval),
        },
    );
    auto(
        "pre",
        "previous-available",
        "Previous version identified and available",
        Some(true),
        format!("{} (tag and recorded artifacts)", state.rolled_back_to),
    );
    auto(
        "pre",
        "backup-created",
        "Backup of current state created",
        (step_done("prepare") || step_done("execute")).then_some(true),
        format!(
            "branch head in the plan; withdrawn files and config targets in {}",
            state.backup_dir.display()
        ),
    );
    let executed = step_done("execute");
    let failed_action = state.actions.iter().find(|a| a.status == Status::Failed);
    auto(
        "during",
        "command-executed",
        "Rollback command executed",
        executed.then_some(true),
        format!("{} action(s)", state.actions.len()),
    );
    auto(
        "during",
        "progress-monitored",
        "Progress monitored",
        Some(true),
        "every action journaled before and after its effect".into(),
    );
    auto(
        "during",
        "no-unexpected-errors",
        "No unexpected errors",
        if failed_action.is_some() {
            Some(false)
        } else {
            executed.then_some(true)
        },
        failed_action.map_or_else(|| "none".into(), |a| format!("{} failed", a.id)),
    );
    auto(
        "during",
        "artifacts-reverted",
        "Artifacts reverted correctly",
        verification.map(|v| v.states_match),
        verification.map_or_else(|| "not verified yet".into(), |v| v.details.join("; ")),
    );
    auto(
        "post",
        "smoke-tests",
        "Smoke tests pass",
        verification.map(|v| v.smoke_tests == "pass"),
        verification.map_or_else(|| "not run yet".into(), |v| v.smoke_tests.clone()),
    );
    auto(
        "post",
        "evidence-captured",
        "Evidence captured",
        (!state.evidence.is_empty()).then_some(true),
        state
            .evidence
            .last()
            .cloned()
            .unwrap_or_else(|| "not written yet".into()),
    );
    auto(
        "post",
        "root-cause",
        "Root cause documented",
        state.follow_up.root_cause.as_ref().map(|_| true),
        state
            .follow_up
            .root_cause
            .clone()
            .unwrap_or_else(|| "`trainyard rollback document`".into()),
    );
    let mut manual = |phase: &str, key: &str, item: &str, auto_pass: bool, na: bool| {
        let (status, detail) = if na {
            ("n/a".to_owned(), "an immediate rollback".to_owned())
        } else if auto_pass {
            ("pass".to_owned(), "the notify commands passed".to_owned())
        } else if let Some(s) = signed(key) {
            ("pass".to_owned(), format!("signed off by {}", s.by))
        } else {
            (
                "pending".to_owned(),
                format!(
                    "`trainyard rollback signoff {} --item {key}`",
                    state.rollback_id
                ),
            )
        };
        rows.push(ChecklistRow {
            phase: phase.into(),
            key: key.into(),
            item: item.into(),
            status,
            check: "manual".into(),
            detail,
        });
    };
    manual(
        "pre",
        "stakeholders-notified",
        "Stakeholders notified",
        state.notified,
        false,
    );
    manual(
        "pre",
        "window-scheduled",
        "Rollback window scheduled (if planned)",
        false,
        state.procedure == "RB-IMM",
    );
    manual(
        "post",
        "no-new-issues",
        "No new issues introduced",
        false,
        false,
    );
    manual(
        "post",
        "stakeholders-updated",
        "Stakeholders updated",
        state.notified,
        false,
    );
    if state.check.is_none() {
        manual(
            "post",
            "issue-resolved",
            "Original issue resolved",
            false,
            false,
        );
    } else {
        let v = verification.map(|v| v.issue_resolved);
        rows.push(ChecklistRow {
            phase: "post".into(),
            key: "issue-resolved".into(),
            item: "Original issue resolved".into(),
            status: match v {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "pending",
            }
            .into(),
            check: "auto".into(),
            detail: state.check.clone().unwrap_or_default(),
        });
    }
    let order = |phase: &str| match phase {
        "pre" => 0,
        "during" => 1,
        _ => 2,
    };
    rows.sort_by_key(|r| order(&r.phase));
    rows
}

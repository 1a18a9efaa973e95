//! The spec's rollback checklist: rows the tool checks from the state, and
//! rows people sign off with `rollback signoff`.

use serde::{Deserialize, Serialize};

use super::report::{RollbackReport, report};
use crate::rollback::decision;
use crate::states::rollback::{RollbackState, Signoff, Status, load, save};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// When in a rollback a checklist row is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the rollback.
    Pre,
    /// During it.
    During,
    /// After it.
    Post,
}

impl Phase {
    /// `pre`, `during` or `post`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::During => "during",
            Phase::Post => "post",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a checklist row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowStatus {
    /// It holds.
    #[serde(rename = "pass")]
    Pass,
    /// It does not.
    #[serde(rename = "fail")]
    Fail,
    /// Not known yet, or not signed off yet.
    #[serde(rename = "pending")]
    Pending,
    /// It does not apply to this rollback.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl RowStatus {
    /// `pass`, `fail`, `pending` or `n/a`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pass => "pass",
            RowStatus::Fail => "fail",
            RowStatus::Pending => "pending",
            RowStatus::NotApplicable => "n/a",
        }
    }
}

/// Who checks a checklist row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckedBy {
    /// The tool, from the rollback's state.
    Auto,
    /// A person, by a sign-off.
    Manual,
}

/// One row of the spec's rollback checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistRow {
    /// When it is checked.
    pub phase: Phase,
    /// The key a sign-off names.
    pub key: String,
    /// The spec's wording.
    pub item: String,
    /// Where it stands.
    pub status: RowStatus,
    /// Checked by the tool or signed off by a person.
    pub check: CheckedBy,
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
    let manual: Vec<ChecklistRow> = checklist(ws, &state)
        .into_iter()
        .filter(|r| r.check == CheckedBy::Manual)
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
    Ok(report(ws, &state, None))
}

/// The spec's rollback checklist for `state`: automatic rows checked from
/// the state, manual rows from sign-offs.
pub fn checklist(ws: &Workspace, state: &RollbackState) -> Vec<ChecklistRow> {
    let mut rows = before_rows(state);
    rows.extend(during_rows(state));
    rows.extend(after_rows(ws, state));
    rows.extend(signed_rows(ws, state));
    rows.push(issue_resolved_row(ws, state));
    // A stable sort: within a phase, rows keep the order above.
    rows.sort_by_key(|r| r.phase);
    rows
}

/// A row the tool checks: passed, failed, or not known yet (`None`).
fn auto_row(
    phase: Phase,
    key: &str,
    item: &str,
    pass: Option<bool>,
    detail: String,
) -> ChecklistRow {
    ChecklistRow {
        phase,
        key: key.into(),
        item: item.into(),
        status: match pass {
            Some(true) => RowStatus::Pass,
            Some(false) => RowStatus::Fail,
            None => RowStatus::Pending,
        },
        check: CheckedBy::Auto,
        detail,
    }
}

/// A row people sign off: passed when the tool did it (`auto_pass`) or
/// someone signed it off, `n/a` where it does not apply.
fn manual_row(
    ws: &Workspace,
    state: &RollbackState,
    phase: Phase,
    key: &str,
    item: &str,
    auto_pass: bool,
    na: bool,
) -> ChecklistRow {
    let (status, detail) = if na {
        (RowStatus::NotApplicable, "an immediate rollback".to_owned())
    } else if auto_pass {
        (RowStatus::Pass, "the notify commands passed".to_owned())
    } else if let Some(s) = state.signoffs.iter().find(|s| s.key == key) {
        (RowStatus::Pass, format!("signed off by {}", s.by))
    } else {
        (
            RowStatus::Pending,
            format!(
                "`{}`",
                ws.command(&format!(
                    "rollback signoff {} --item {key}",
                    state.rollback_id
                ))
            ),
        )
    };
    ChecklistRow {
        phase,
        key: key.into(),
        item: item.into(),
        status,
        check: CheckedBy::Manual,
        detail,
    }
}

fn step_done(state: &RollbackState, name: &str) -> bool {
    state
        .steps
        .iter()
        .any(|s| s.name == name && s.status == Status::Done)
}

/// The automatic rows before the rollback.
fn before_rows(state: &RollbackState) -> Vec<ChecklistRow> {
    vec![
        auto_row(
            Phase::Pre,
            "issue-documented",
            "Issue documented with severity",
            Some(!state.trigger.issue_id.is_empty()),
            format!(
                "{} ({})",
                state.trigger.issue_id,
                decision::name(state.trigger.severity)
            ),
        ),
        auto_row(
            Phase::Pre,
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
        ),
        auto_row(
            Phase::Pre,
            "previous-available",
            "Previous version identified and available",
            Some(true),
            format!("{} (tag and recorded artifacts)", state.rolled_back_to),
        ),
        auto_row(
            Phase::Pre,
            "backup-created",
            "Backup of current state created",
            (step_done(state, "prepare") || step_done(state, "execute")).then_some(true),
            format!(
                "branch head in the plan; withdrawn files and config targets in {}",
                state.backup_dir.display()
            ),
        ),
    ]
}

/// The automatic rows of the execution.
fn during_rows(state: &RollbackState) -> Vec<ChecklistRow> {
    let executed = step_done(state, "execute");
    let failed_action = state.actions.iter().find(|a| a.status == Status::Failed);
    let verification = state.verification.as_ref();
    vec![
        auto_row(
            Phase::During,
            "command-executed",
            "Rollback command executed",
            executed.then_some(true),
            format!("{} action(s)", state.actions.len()),
        ),
        auto_row(
            Phase::During,
            "progress-monitored",
            "Progress monitored",
            Some(true),
            "every action journaled before and after its effect".into(),
        ),
        auto_row(
            Phase::During,
            "no-unexpected-errors",
            "No unexpected errors",
            if failed_action.is_some() {
                Some(false)
            } else {
                executed.then_some(true)
            },
            failed_action.map_or_else(|| "none".into(), |a| format!("{} failed", a.id)),
        ),
        auto_row(
            Phase::During,
            "artifacts-reverted",
            "Artifacts reverted correctly",
            verification.map(|v| v.states_match),
            verification.map_or_else(|| "not verified yet".into(), |v| v.details.join("; ")),
        ),
    ]
}

/// The automatic rows after the rollback, but for the original issue's.
fn after_rows(ws: &Workspace, state: &RollbackState) -> Vec<ChecklistRow> {
    let verification = state.verification.as_ref();
    vec![
        auto_row(
            Phase::Post,
            "smoke-tests",
            "Smoke tests pass",
            verification.map(|v| v.smoke_tests == "pass"),
            verification.map_or_else(|| "not run yet".into(), |v| v.smoke_tests.clone()),
        ),
        auto_row(
            Phase::Post,
            "evidence-captured",
            "Evidence captured",
            (!state.evidence.is_empty()).then_some(true),
            state
                .evidence
                .last()
                .cloned()
                .unwrap_or_else(|| "not written yet".into()),
        ),
        auto_row(
            Phase::Post,
            "root-cause",
            "Root cause documented",
            state.follow_up.root_cause.as_ref().map(|_| true),
            state.follow_up.root_cause.clone().unwrap_or_else(|| {
                format!(
                    "`{}`",
                    ws.command(&format!(
                        "rollback document {} --root-cause TEXT",
                        state.rollback_id
                    ))
                )
            }),
        ),
    ]
}

/// The rows people sign off (the notify commands pass some of them).
fn signed_rows(ws: &Workspace, state: &RollbackState) -> Vec<ChecklistRow> {
    vec![
        manual_row(
            ws,
            state,
            Phase::Pre,
            "stakeholders-notified",
            "Stakeholders notified",
            state.notified,
            false,
        ),
        manual_row(
            ws,
            state,
            Phase::Pre,
            "window-scheduled",
            "Rollback window scheduled (if planned)",
            false,
            state.procedure == "RB-IMM",
        ),
        manual_row(
            ws,
            state,
            Phase::Post,
            "no-new-issues",
            "No new issues introduced",
            false,
            false,
        ),
        manual_row(
            ws,
            state,
            Phase::Post,
            "stakeholders-updated",
            "Stakeholders updated",
            state.notified,
            false,
        ),
    ]
}

/// Whether the original issue is gone: checked by the rollback's check
/// command when it has one, signed off by a person otherwise.
fn issue_resolved_row(ws: &Workspace, state: &RollbackState) -> ChecklistRow {
    if state.check.is_none() {
        manual_row(
            ws,
            state,
            Phase::Post,
            "issue-resolved",
            "Original issue resolved",
            false,
            false,
        )
    } else {
        auto_row(
            Phase::Post,
            "issue-resolved",
            "Original issue resolved",
            state.verification.as_ref().map(|v| v.issue_resolved),
            state.check.clone().unwrap_or_default(),
        )
    }
}

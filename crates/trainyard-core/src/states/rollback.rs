//! The rollback's state, persisted in `.trainyard/rollbacks/<id>.yaml`
//! after every step, and the directory that holds it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::rollback::{Action, Impact, Kind, Severity};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not reached.
    Pending,
    /// Waiting for something outside the tool (an approval).
    Waiting,
    /// Begun, not finished (an action, between its start and its end).
    Started,
    /// Done.
    Done,
    /// Failed.
    Failed,
}

/// One step of the procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's name (`detect`, `decide`, ...).
    pub name: String,
    /// Where it stands.
    pub status: Status,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// What it found or did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One journaled action of the execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// `code`, `channel:<name>` or `config:<sync id>`.
    pub id: String,
    /// Where it stands.
    pub status: Status,
    /// What it did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A person's sign-off of a manual checklist row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signoff {
    /// The row's key.
    pub key: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: String,
}

/// The trigger, as the spec's evidence names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// The issue.
    pub issue_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its impact.
    pub impact: Impact,
    /// What happened.
    pub description: String,
    /// When it was detected.
    pub detected_at: String,
    /// By whom.
    pub detected_by: String,
}

/// What the verification found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Verification {
    /// `pass` or `fail`.
    pub smoke_tests: String,
    /// Whether the original issue is gone (its check passed, or a person
    /// signed it off).
    pub issue_resolved: bool,
    /// Problems the verification found.
    pub new_issues: Vec<String>,
    /// Whether the branch, channels and config targets match the earlier
    /// release.
    pub states_match: bool,
    /// What was checked.
    pub details: Vec<String>,
}

/// The follow-up, filled by `rollback document`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FollowUp {
    /// The root cause.
    pub root_cause: Option<String>,
    /// Prevention actions.
    pub prevention: Vec<String>,
    /// A post-mortem document.
    pub post_mortem_ref: Option<String>,
}

/// A rollback as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackState {
    /// The rollback's id.
    pub rollback_id: String,
    /// The plan carried out.
    pub plan_id: String,
    /// Where the plan is recorded.
    pub plan_ref: String,
    /// The rollback type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// `RB-IMM` or `RB-PLN`.
    pub procedure: String,
    /// The release rolled back.
    pub rolled_back_from: String,
    /// The release gone back to.
    pub rolled_back_to: String,
    /// Why.
    pub trigger: Trigger,
    /// What the decision matrix says.
    pub action: Action,
    /// Who approves (a role, or post-hoc).
    pub approval: String,
    /// Whether the approval may come after the rollback.
    pub post_hoc: bool,
    /// The recorded approval, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// A command that passes once the original issue is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The procedure's steps.
    pub steps: Vec<StepRecord>,
    /// The execution's journal.
    pub actions: Vec<ActionRecord>,
    /// Manual checklist sign-offs.
    #[serde(default)]
    pub signoffs: Vec<Signoff>,
    /// Who decided.
    pub decided_by: String,
    /// When.
    pub decided_at: String,
    /// The decider's signature of the decision, in team mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_signature: Option<crate::identity::Signature>,
    /// When the execution began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<String>,
    /// Who ran it.
    pub executed_by: String,
    /// When the procedure ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Seconds spent executing and verifying, measured (summed over
    /// resumed runs).
    pub elapsed_seconds: f64,
    /// The rollback's commit on the branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Where the state before the rollback is kept.
    pub backup_dir: PathBuf,
    /// The verification, once run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Stakeholders notified (the notify commands all passed).
    #[serde(default)]
    pub notified: bool,
    /// The follow-up.
    #[serde(default)]
    pub follow_up: FollowUp,
    /// The evidence documents written.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// When `rollback abort` undid it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_at: Option<String>,
}

impl RollbackState {
    /// Whether every step is done.
    pub fn is_complete(&self) -> bool {
        self.aborted_at.is_none() && self.steps.iter().all(|s| s.status == Status::Done)
    }

    /// Whether its execution ran to its end (and was not undone since):
    /// the release it rolled back is withdrawn.
    pub fn has_executed(&self) -> bool {
        self.aborted_at.is_none()
            && self
                .steps
                .iter()
                .any(|s| s.name == "execute" && s.status == Status::Done)
    }

    /// Whether `rollback abort` undid it.
    pub fn is_aborted(&self) -> bool {
        self.aborted_at.is_some()
    }

    /// The command that goes on with it, and the one that undoes it, for
    /// error messages.
    pub(crate) fn how_to_continue(&self) -> String {
        format!(
            ": mend it, then `trainyard rollback resume {id}`; or undo what it did with `trainyard rollback abort {id}`",
            id = self.rollback_id
        )
    }

    /// The measured duration in minutes, two decimals.
    pub fn duration_minutes(&self) -> f64 {
        (self.elapsed_seconds / 60.0 * 100.0).round() / 100.0
    }

    pub(crate) fn step_mut(&mut self, name: &str) -> &mut StepRecord {
        let index = self
            .steps
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step `{name}` in {}", self.procedure));
        &mut self.steps[index]
    }

    pub(crate) fn action_mut(&mut self, id: &str) -> Option<&mut ActionRecord> {
        self.actions.iter_mut().find(|a| a.id == id)
    }
}

/// The directory of rollback states.
pub fn state_dir(ws: &Workspace) -> PathBuf {
    let all = ws.home.join(&ws.config.evidence.dir).join("rollbacks");
    match &ws.package {
        Some(unit) => all.join(unit.file_name()),
        None => all,
    }
}

fn state_path(ws: &Workspace, id: &str) -> PathBuf {
    state_dir(ws).join(format!("{id}.yaml"))
}

/// Writes `state` to its file, replacing the file atomically.
pub(crate) fn save(ws: &Workspace, state: &RollbackState) -> Result<()> {
    let text = crate::evidence::render_yaml(state)?;
    crate::fsutil::write_atomic(&state_path(ws, &state.rollback_id), text.as_bytes())
}

/// Every rollback recorded, oldest first.
///
/// # Errors
///
/// Returns an error when a state file cannot be read or parsed.
pub fn all(ws: &Workspace) -> Result<Vec<RollbackState>> {
    let mut states: Vec<RollbackState> = crate::yaml::parse_dir(&state_dir(ws))?;
    states.sort_by(|a, b| a.decided_at.cmp(&b.decided_at));
    Ok(states)
}

/// Loads one rollback by id.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown id.
pub fn load(ws: &Workspace, id: &str) -> Result<RollbackState> {
    crate::fsutil::check_id("rollback id", id)?;
    let path = state_path(ws, id);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Error::input(format!(
            "no rollback {id}: `trainyard rollback status` lists them"
        ))
    })?;
    crate::yaml::parse(&text, &path)
}

/// Marks step `name` done, with `notes`, and saves the state.
pub(crate) fn finish_step(
    ws: &Workspace,
    state: &mut RollbackState,
    name: &str,
    notes: Vec<String>,
) -> Result<()> {
    let now = ws.now.to_string();
    let step = state.step_mut(name);
    step.status = Status::Done;
    step.at = Some(now);
    step.notes.extend(notes);
    save(ws, state)
}

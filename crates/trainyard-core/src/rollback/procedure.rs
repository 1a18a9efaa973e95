//! Carrying a rollback out: the spec's RB-IMM (detect, decide, execute,
//! verify, communicate, document) or RB-PLN (assess, approve, prepare,
//! execute, verify, close), as a state machine persisted in
//! `.trainyard/rollbacks/<id>.yaml` after every step.
//!
//! The execution is journaled there too: each action (the branch, each
//! channel, each config sync) is marked `started` before its effect and
//! `done` after it, and every action can tell from the world whether its
//! effect happened (the branch holds a commit with this rollback's
//! `Rollback-Id:` trailer, the withdrawn directory is in the backup, the
//! config target has the rolled-back fingerprint). So a run killed at any
//! point is finished by `rollback resume`, never done twice.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Kind;
use super::decision::{self, Action, Impact, Severity};
use super::plan::{self, ChannelPlan, CodePlan, RollbackPlan};
use crate::channels::{self, ChannelConfig};
use crate::git_cli;
use crate::sync::engine;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Kills the process (SIGKILL) right after the named action's effect, before it
/// is marked done (tests of the recovery).
pub const CRASH_AFTER_ENV: &str = "TRAINYARD_ROLLBACK_CRASH_AFTER";

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
    pub(super) fn how_to_continue(&self) -> String {
        format!(
            ": mend it, then `trainyard rollback resume {id}`; or undo what it did with `trainyard rollback abort {id}`",
            id = self.rollback_id
        )
    }

    /// The measured duration in minutes, two decimals.
    pub fn duration_minutes(&self) -> f64 {
        (self.elapsed_seconds / 60.0 * 100.0).round() / 100.0
    }

    fn step_mut(&mut self, name: &str) -> &mut StepRecord {
        let index = self
            .steps
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step `{name}` in {}", self.procedure));
        &mut self.steps[index]
    }

    fn action_mut(&mut self, id: &str) -> Option<&mut ActionRecord> {
        self.actions.iter_mut().find(|a| a.id == id)
    }
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

/// What a `rollback start` or `resume` did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The state now.
    #[serde(flatten)]
    pub state: RollbackState,
    /// The checklist now.
    pub checklist: Vec<ChecklistRow>,
    /// Why the procedure stopped before its end, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

impl RollbackReport {
    /// Whether the rollback ended and its verification passed.
    pub fn succeeded(&self) -> bool {
        self.state.is_complete()
            && self
                .state
                .verification
                .as_ref()
                .is_some_and(|v| v.states_match && v.smoke_tests == "pass")
    }
}

/// The directory of rollback states.
pub fn state_dir(ws: &Workspace) -> PathBuf {
    ws.home.join(&ws.config.evidence.dir).join("rollbacks")
}

fn state_path(ws: &Workspace, id: &str) -> PathBuf {
    state_dir(ws).join(format!("{id}.yaml"))
}

pub(super) fn save(ws: &Workspace, state: &RollbackState) -> Result<()> {
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
    crate::sync::journal::check_id("rollback id", id)?;
    let path = state_path(ws, id);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Error::input(format!(
            "no rollback {id}: `trainyard rollback status` lists them"
        ))
    })?;
    crate::yaml::parse(&text, &path)
}

/// `rollback approve`: what to record.
#[derive(Debug, Clone, Default)]
pub struct ApproveRequest {
    /// The plan (id or prefix).
    pub plan_id: String,
    /// Who.
    pub by: Option<String>,
    /// In which role.
    pub role: Option<String>,
    /// Reject instead.
    pub reject: bool,
    /// Why.
    pub reason: Option<String>,
}

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
fn check_decision(ws: &Workspace, state: &RollbackState) -> Result<()> {
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

#[derive(Serialize, Deserialize)]
struct ApprovalDocument {
    rollback_approval: PlanApproval,
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
        return Err(Error::input(format!(
            "rollback plan {} was already {} by {}",
            plan.short_id(),
            if previous.approved {
                "approved"
            } else {
                "rejected"
            },
            previous.approved_by
        )));
    }
    if request.reject
        && request
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(Error::input("a rejection needs --reason"));
    }
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
    ws.evidence_store().write_value_unique(
        "rollback_approval",
        &format!("{}-{}", plan.plan.rolled_back_from, plan.short_id()),
        &ApprovalDocument {
            rollback_approval: approval.clone(),
        },
    )?;
    Ok(approval)
}

/// The decisions recorded on a rollback plan, each checked against the
/// evidence index as it is read: a decision edited by hand is refused.
fn approvals(ws: &Workspace, plan_id: &str) -> Result<Vec<PlanApproval>> {
    let mut out = Vec::new();
    for (document, _) in ws.evidence_store().trusted::<ApprovalDocument>(
        "rollback_approval",
        &plan_id[..16.min(plan_id.len())],
        "a decision that was changed is never trusted; restore the recorded document (`trainyard evidence verify` lists what changed), or plan the rollback again and decide on the new plan",
    )? {
        let approval = document.rollback_approval;
        if approval.plan_id == plan_id {
            out.push(approval);
        }
    }
    Ok(out)
}

/// Who gave the approval that satisfies `role`: by that person, or in
/// that role. In team mode each approval's signature is checked, and only
/// a principal who holds `role` satisfies it (named with the key).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming an approval that is unsigned or
/// whose signature does not hold, in team mode.
fn approval_for(ws: &Workspace, approvals: &[PlanApproval], role: &str) -> Result<Option<String>> {
    let Some(team) = ws.team()? else {
        return Ok(approvals
            .iter()
            .find(|a| a.approved && (a.approved_by == role || a.role.as_deref() == Some(role)))
            .map(|a| a.approved_by.clone()));
    };
    for approval in approvals.iter().filter(|a| a.approved) {
        let what = format!(
            "the approval of rollback plan {} by {}",
            &approval.plan_id[..16.min(approval.plan_id.len())],
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
    Ok(report(&state, Some(waiting)))
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
    if let Some(existing) = all(ws)?
        .into_iter()
        .find(|s| s.plan_id == plan.plan_id && !s.is_aborted())
    {
        return Err(Error::input(format!(
            "rollback plan {} is already being carried out as {}: run `trainyard rollback resume {}`",
            plan.short_id(),
            existing.rollback_id,
            existing.rollback_id
        )));
    }
    let approvals = approvals(ws, &plan.plan_id)?;
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Err(Error::input(format!(
            "rollback plan {} was rejected by {}: it can never be carried out",
            plan.short_id(),
            rejected.approved_by
        )));
    }
    let assessment = super::assess(ws, request.severity, request.impact)?;
    let immediate = plan.plan.kind == Kind::Immediate
        || (matches!(plan.plan.kind, Kind::Partial | Kind::Config)
            && assessment.action.allows(true));
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
    let mut decision_signature = None;
    let by = match ws.team()? {
        // The decision is signed by whoever makes it, named with the key.
        Some(team) => {
            let decision = RollbackDecision {
                plan_id: plan.plan_id.clone(),
                severity: decision::name(request.severity).to_owned(),
                impact: decision::name(request.impact).to_owned(),
                action: assessment.action.as_str().to_owned(),
                decided_at: ws.now.to_string(),
            };
            let signature = team.sign_with(&ws.signing_key()?, request.by.as_deref(), &decision)?;
            let label = crate::identity::Verified {
                principal: signature.principal.clone(),
                key: signature.key.clone(),
            }
            .label();
            decision_signature = Some(signature);
            label
        }
        None => request
            .by
            .clone()
            .or_else(|| ws.git_email())
            .unwrap_or_else(|| "unknown".into()),
    };
    let rollback_id = format!(
        "rb-{}-{}",
        plan.plan.rolled_back_from.replace('+', "_"),
        ws.stamp()
    );
    let procedure = if immediate { "RB-IMM" } else { "RB-PLN" };
    let steps = if immediate { RB_IMM } else { RB_PLN };
    let detected_at = request.detected_at.unwrap_or(ws.now);
    let mut actions = Vec::new();
    if plan.plan.code.is_some() {
        actions.push(action("code"));
    }
    for channel in &plan.plan.channels {
        if channel.withdraw.is_some() || !channel.republish.is_empty() {
            actions.push(action(&format!("channel:{}", channel.channel)));
        }
    }
    for config in &plan.plan.configs {
        actions.push(action(&format!("config:{}", config.sync_id)));
    }
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
        steps: steps
            .iter()
            .map(|name| StepRecord {
                name: (*name).into(),
                status: Status::Pending,
                at: None,
                notes: Vec::new(),
            })
            .collect(),
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
    // DETECT / ASSESS: the trigger is on record.
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
    // DECIDE: the matrix's answer, within the time RB-IMM allows. RB-PLN's
    // assess step holds the decision too. Either way the decision is done
    // only once its approval is recorded, unless it may come after.
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
            notes.push("approval post-hoc: record it with `trainyard rollback approve`".into());
        }
        state.step_mut("decide").notes.extend(notes);
    } else {
        state.steps[0].notes.extend(notes);
    }
    Ok(state)
}

fn action(id: &str) -> ActionRecord {
    ActionRecord {
        id: id.to_owned(),
        status: Status::Pending,
        notes: Vec::new(),
    }
}

pub(super) fn finish_step(
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

/// `rollback resume`: goes on from where a rollback stopped (an approval
/// now recorded, a failure mended, a crash).
///
/// # Errors
///
/// As [`start`].
pub fn resume(ws: &Workspace, id: &str) -> Result<RollbackReport> {
    let mut state = load(ws, id)?;
    if state.is_aborted() {
        return Err(Error::input(format!(
            "rollback {id} was aborted: plan a new one with `trainyard rollback plan --to {}`",
            state.rolled_back_to
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
fn advance(
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
        let result = match name.as_str() {
            // RB-IMM decides with its approval, unless the matrix lets the
            // approval come after: no action runs before it.
            "decide" => match (&state.approved_by, state.post_hoc) {
                (Some(by), _) => {
                    let note = format!("approved by {by} ({})", state.approval);
                    finish_step(ws, state, "decide", vec![note])
                }
                (None, true) => finish_step(ws, state, "decide", Vec::new()),
                (None, false) => {
                    let role = state.approval.clone();
                    let step = state.step_mut("decide");
                    step.status = Status::Waiting;
                    step.at = Some(ws.now.to_string());
                    save(ws, state)?;
                    return Ok(report(
                        state,
                        Some(format!(
                            "approval by {role} before any action: `trainyard rollback approve {} --by <who> --role \"{role}\"`, then `trainyard rollback resume {}`",
                            plan.short_id(),
                            state.rollback_id
                        )),
                    ));
                }
            },
            "approve" => match &state.approved_by {
                Some(by) => {
                    let note = format!("approved by {by} ({})", state.approval);
                    finish_step(ws, state, "approve", vec![note])
                }
                None => {
                    let role = state.approval.clone();
                    let step = state.step_mut("approve");
                    step.status = Status::Waiting;
                    step.at = Some(ws.now.to_string());
                    save(ws, state)?;
                    return Ok(report(
                        state,
                        Some(format!(
                            "approval by {role}: `trainyard rollback approve {} --by <who> --role \"{role}\"`, then `trainyard rollback resume {}`",
                            plan.short_id(),
                            state.rollback_id
                        )),
                    ));
                }
            },
            "prepare" => prepare(ws, plan, state),
            "execute" => {
                let started = Instant::now();
                if state.executed_at.is_none() {
                    state.executed_at = Some(ws.now.to_string());
                }
                let result = execute(ws, plan, state);
                state.elapsed_seconds += started.elapsed().as_secs_f64();
                save(ws, state)?;
                result.and_then(|notes| finish_step(ws, state, "execute", notes))
            }
            "verify" => {
                let started = Instant::now();
                let verification = verify(ws, plan, state)?;
                state.elapsed_seconds += started.elapsed().as_secs_f64();
                let notes = verification.details.clone();
                let passed = verification.states_match && verification.smoke_tests == "pass";
                state.verification = Some(verification);
                if passed {
                    finish_step(ws, state, "verify", notes)
                } else {
                    let step = state.step_mut("verify");
                    step.status = Status::Failed;
                    step.at = Some(ws.now.to_string());
                    step.notes = notes;
                    save(ws, state)?;
                    return Ok(report(
                        state,
                        Some("a passing verification: mend what it found, then `trainyard rollback resume`".into()),
                    ));
                }
            }
            "communicate" => communicate(ws, state),
            "document" | "close" => {
                state.completed_at = Some(jiff::Timestamp::now().max(ws.now).to_string());
                let path = write_evidence(ws, state)?;
                state.evidence.push(path.clone());
                finish_step(ws, state, &name, vec![format!("evidence {path}")])
            }
            _ => Ok(()),
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
    Ok(report(state, None))
}

pub(super) fn report(state: &RollbackState, waiting_for: Option<String>) -> RollbackReport {
    RollbackReport {
        checklist: checklist(state),
        state: state.clone(),
        waiting_for,
    }
}

/// PREPARE: notes what is kept, so the state before the rollback can be
/// restored: the branch head is in the plan, withdrawn channel
/// directories are moved (not deleted) into the backup, and config targets
/// are copied there.
fn prepare(ws: &Workspace, plan: &RollbackPlan, state: &mut RollbackState) -> Result<()> {
    let mut notes = Vec::new();
    if let Some(code) = &plan.plan.code {
        notes.push(format!(
            "branch {} backed up as its head in the plan",
            code.branch()
        ));
    }
    for config in &plan.plan.configs {
        let sync = engine::find(ws, &config.sync_id)?;
        let target = ws.home.join(&sync.config.target.location);
        let backup = state.backup_dir.join("configs").join(&config.sync_id);
        if target.is_dir() && !backup.exists() {
            copy_tree(&target, &backup)?;
        }
        notes.push(format!(
            "config target of {} copied to {}",
            config.sync_id,
            backup.display()
        ));
    }
    for channel in &plan.plan.channels {
        if let Some(dir) = &channel.withdraw {
            notes.push(format!(
                "{} will be moved into the backup, not deleted",
                dir.display()
            ));
        }
    }
    finish_step(ws, state, "prepare", notes)
}

/// Copies a directory tree (files, symlinks as links).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("cannot create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io("cannot read", from, e))? {
        let entry = entry.map_err(|e| Error::io("cannot read", from, e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot inspect", &source, e))?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link =
                std::fs::read_link(&source).map_err(|e| Error::io("cannot read", &source, e))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(|e| Error::io("cannot create", &target, e))?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| Error::io("cannot copy", &source, e))?;
        }
    }
    Ok(())
}

fn crash_point(id: &str) {
    if std::env::var(CRASH_AFTER_ENV).is_ok_and(|v| v == id) {
        crate::fsutil::kill_self();
    }
}

/// EXECUTE: every action not done yet, each journaled before and after.
fn execute(ws: &Workspace, plan: &RollbackPlan, state: &mut RollbackState) -> Result<Vec<String>> {
    let ids: Vec<String> = state.actions.iter().map(|a| a.id.clone()).collect();
    let mut notes = Vec::new();
    for id in ids {
        let record = state
            .action_mut(&id)
            .ok_or_else(|| Error::Internal(format!("no action {id}")))?;
        if record.status == Status::Done {
            continue;
        }
        let resumed = record.status == Status::Started;
        record.status = Status::Started;
        save(ws, state)?;
        let done = if id == "code" {
            let code = plan
                .plan
                .code
                .as_ref()
                .ok_or_else(|| Error::Internal("a code action without a code plan".into()))?;
            roll_back_code(ws, plan, state, code)?
        } else if let Some(name) = id.strip_prefix("channel:") {
            let channel = plan
                .plan
                .channels
                .iter()
                .find(|c| c.channel == name)
                .ok_or_else(|| Error::Internal(format!("no channel plan {name}")))?;
            roll_back_channel(ws, plan, state, channel)?
        } else if let Some(sync_id) = id.strip_prefix("config:") {
            roll_back_config(ws, plan, state, sync_id, resumed)?
        } else {
            return Err(Error::Internal(format!("unknown action {id}")));
        };
        crash_point(&id);
        if let Some(record) = state.action_mut(&id) {
            record.status = Status::Done;
            record.notes.clone_from(&done);
        }
        save(ws, state)?;
        notes.extend(done);
    }
    Ok(notes)
}

/// The trailer that marks the rollback's own commit.
fn trailer(state: &RollbackState) -> String {
    format!("Rollback-Id: {}", state.rollback_id)
}

fn roll_back_code(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &mut RollbackState,
    code: &CodePlan,
) -> Result<Vec<String>> {
    let home = &ws.home;
    let body = &plan.plan;
    let branch_ref = format!("refs/heads/{}", code.branch());
    let current = git_cli::commit_of(home, &branch_ref).ok();
    match code {
        CodePlan::DeployBranch {
            branch,
            head,
            target,
        } => {
            if current.as_ref() == Some(target) {
                return Ok(vec![format!("{branch} points at {target}")]);
            }
            if current != *head {
                return Err(stale_branch(branch));
            }
            let old = head.clone().unwrap_or_else(|| "0".repeat(40));
            git_cli::run(home, &["update-ref", &branch_ref, target, &old])?;
            state.commit = Some(target.clone());
            Ok(vec![format!(
                "{branch} moved from {} to {target} ({})",
                short(&old),
                body.to_tag
            )])
        }
        CodePlan::Revert { branch, head, .. } | CodePlan::Restore { branch, head, .. } => {
            let current = current.ok_or_else(|| stale_branch(branch))?;
            // Done already (a crash after the branch moved)?
            if &current != head {
                let message = git_cli::run(home, &["log", "-1", "--format=%B", &current])?;
                if message.contains(&trailer(state)) {
                    state.commit = Some(current.clone());
                    return Ok(vec![format!(
                        "{branch} at {} (already rolled back)",
                        short(&current)
                    )]);
                }
                return Err(stale_branch(branch));
            }
            let worktree = git_cli::Worktree::add(home, head)?;
            let dir = worktree.path();
            let (subject, what) = match code {
                CodePlan::Revert { commits, keep, .. } => {
                    for commit in commits {
                        revert_one(dir, head, keep, &commit.commit).map_err(|e| {
                            Error::environment(format!(
                                "reverting {} ({}) on {branch} conflicts with later work: {e}; roll back by hand or with rollback.deploy_branch",
                                short(&commit.commit),
                                commit.subject
                            ))
                        })?;
                    }
                    keep_own_files(dir, head, keep)?;
                    (
                        format!(
                            "revert: roll back {} to {}",
                            body.rolled_back_from, body.rolled_back_to
                        ),
                        format!(
                            "{} commit(s) of {} reverted",
                            commits.len(),
                            body.rolled_back_from
                        ),
                    )
                }
                CodePlan::Restore { paths, base, .. } => {
                    if !paths.is_empty() {
                        let mut args =
                            vec!["restore", "--source", base, "--staged", "--worktree", "--"];
                        args.extend(paths.iter().map(String::as_str));
                        git_cli::run(dir, &args)?;
                    }
                    (
                        format!(
                            "revert({}): roll back {} from {} to {}",
                            body.components.join(","),
                            body.components.join(", "),
                            body.rolled_back_from,
                            body.rolled_back_to
                        ),
                        format!(
                            "{} path(s) restored to {}",
                            paths.len(),
                            body.rolled_back_to
                        ),
                    )
                }
                CodePlan::DeployBranch { .. } => unreachable!("handled above"),
            };
            let message = format!(
                "{subject}\n\n{}\n\n{}\nRollback-Plan: {}",
                state.trigger.description,
                trailer(state),
                plan.plan_id
            );
            git_cli::run_dated(
                dir,
                &["commit", "--allow-empty", "--quiet", "-m", &message],
                ws.now,
            )?;
            let new = git_cli::commit_of(dir, "HEAD")?;
            move_branch(ws, branch, head, &new)?;
            state.commit = Some(new.clone());
            Ok(vec![format!("{what}: {branch} at {}", short(&new))])
        }
    }
}

/// Reverts one commit into the index of `dir`. A conflict confined to
/// trainyard's own files is settled their way (as at `head`), since the
/// rollback keeps them anyway; any other conflict is an error.
fn revert_one(dir: &Path, head: &str, keep: &[String], commit: &str) -> Result<()> {
    let Err(error) = git_cli::run(dir, &["revert", "--no-commit", commit]) else {
        return Ok(());
    };
    let unmerged = git_cli::run(dir, &["diff", "--name-only", "--diff-filter=U"])?;
    let unmerged: Vec<&str> = unmerged.lines().filter(|l| !l.is_empty()).collect();
    let ours = |path: &str| {
        keep.iter().any(|k| {
            path == k
                || path
                    .strip_prefix(k.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    if unmerged.is_empty() || !unmerged.iter().all(|p| ours(p)) {
        let _ = git_cli::run(dir, &["revert", "--abort"]);
        return Err(error);
    }
    keep_own_files(dir, head, keep)?;
    // The sequencer forgets the revert; its changes stay staged.
    git_cli::run(dir, &["revert", "--quit"]).map(|_| ())
}

/// Puts trainyard's own files back as they are at `head` after the
/// reverts: a release's commit that added or changed the configuration
/// (or a sync, a note, a record) is rolled back everywhere but there.
fn keep_own_files(dir: &Path, head: &str, keep: &[String]) -> Result<()> {
    for path in keep {
        let at_head = git_cli::run(dir, &["ls-tree", "-r", "--name-only", head, "--", path])?;
        if at_head.trim().is_empty() {
            git_cli::run(
                dir,
                &["rm", "-r", "-q", "-f", "--ignore-unmatch", "--", path],
            )?;
        } else {
            git_cli::run(
                dir,
                &[
                    "restore",
                    "--source",
                    head,
                    "--staged",
                    "--worktree",
                    "--",
                    path,
                ],
            )?;
        }
    }
    Ok(())
}

/// Moves `branch` from `old` to `new` (a child of `old`): fast-forwards
/// the user's checkout when the branch is checked out there (so their
/// files follow, and local changes in the way stop it), else a
/// compare-and-swap of the ref.
pub(super) fn move_branch(ws: &Workspace, branch: &str, old: &str, new: &str) -> Result<()> {
    let checked_out = git_cli::run(&ws.home, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .is_ok_and(|b| b.trim() == branch);
    if checked_out {
        git_cli::run(&ws.home, &["merge", "--ff-only", "--quiet", new]).map_err(|e| {
            Error::input(format!(
                "cannot move the checked-out branch {branch}: {e}; commit or stash local changes, then `trainyard rollback resume`"
            ))
        })?;
    } else {
        git_cli::run(
            &ws.home,
            &["update-ref", &format!("refs/heads/{branch}"), new, old],
        )?;
    }
    Ok(())
}

fn stale_branch(branch: &str) -> Error {
    Error::input(format!(
        "branch {branch} moved since the rollback was planned: plan the rollback again"
    ))
}

pub(super) fn short(commit: &str) -> &str {
    &commit[..12.min(commit.len())]
}

pub(super) fn channel_config<'a>(ws: &'a Workspace, name: &str) -> Result<&'a ChannelConfig> {
    ws.config
        .release
        .channels
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            Error::input(format!(
                "channel `{name}` of the rollback plan is no longer configured"
            ))
        })
}

fn roll_back_channel(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    channel: &ChannelPlan,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if let Some(dir) = &channel.withdraw {
        let kept = state
            .backup_dir
            .join("channels")
            .join(&channel.channel)
            .join(&plan.plan.rolled_back_from);
        if dir.exists() {
            if let Some(parent) = kept.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("cannot create", parent, e))?;
            }
            std::fs::rename(dir, &kept).map_err(|e| Error::io("cannot withdraw", dir, e))?;
        }
        notes.push(format!(
            "{}: {} withdrawn (kept in {})",
            channel.channel,
            dir.display(),
            kept.display()
        ));
    }
    if !channel.republish.is_empty() {
        let config = channel_config(ws, &channel.channel)?;
        let mut artifacts = Vec::new();
        for restored in &channel.republish {
            let artifact = crate::artifacts::Artifact::from_file(&restored.path)?;
            if artifact.sha256 != restored.sha256 {
                return Err(Error::input(format!(
                    "{} of {} has sha256 {}, not the {} its release recorded: it cannot be published again",
                    restored.path.display(),
                    plan.plan.rolled_back_to,
                    short(&artifact.sha256),
                    short(&restored.sha256)
                )));
            }
            artifacts.push(artifact);
        }
        let artifacts_dir = channel
            .republish
            .first()
            .and_then(|a| a.path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let token = match config.credentials() {
            Some(reference) => Some(
                crate::credentials::resolve(reference, &ws.home)?
                    .expose()
                    .to_owned(),
            ),
            None => None,
        };
        let receipt = channels::publish(
            config,
            &channels::PublishRelease {
                version: plan.plan.rolled_back_to.clone(),
                tag: plan.plan.to_tag.clone(),
                repo_root: ws.home.clone(),
                artifacts_dir,
                artifacts,
                token,
                published_at: ws.now,
            },
        )?;
        notes.extend(
            receipt
                .items
                .into_iter()
                .map(|item| format!("{}: {item}", channel.channel)),
        );
    }
    notes.extend(
        channel
            .manual
            .iter()
            .map(|m| format!("{}: {m}", channel.channel)),
    );
    Ok(notes)
}

fn roll_back_config(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    sync_id: &str,
    resumed: bool,
) -> Result<Vec<String>> {
    let config = plan
        .plan
        .configs
        .iter()
        .find(|c| c.sync_id == sync_id)
        .ok_or_else(|| Error::Internal(format!("no config plan {sync_id}")))?;
    if resumed && engine::has_interrupted_apply(ws, sync_id)? {
        engine::recover(ws, sync_id)?;
    }
    if engine::target_fingerprint(ws, sync_id)? == config.rolled_back_fingerprint {
        return Ok(vec![format!(
            "config {sync_id}: the target holds {}'s state",
            plan.plan.rolled_back_to
        )]);
    }
    // Kept before the first change, so `rollback abort` can put it back.
    let sync = engine::find(ws, sync_id)?;
    let target = ws.home.join(&sync.config.target.location);
    let backup = state.backup_dir.join("configs").join(sync_id);
    if target.is_dir() && !backup.exists() {
        copy_tree(&target, &backup)?;
    }
    let tree = plan::ReleaseTree::at(ws, &plan.plan.to_tag)?;
    let root = tree.root().join(&config.source_path);
    let (planned, applied) = engine::run_from(
        ws,
        sync_id,
        engine::SourceAt {
            root: &root,
            revision: &plan.plan.to_commit,
        },
        Some(&config.target_fingerprint),
        &state.decided_by,
        &format!(
            "rollback {} of {} to {}",
            state.rollback_id, plan.plan.rolled_back_from, plan.plan.rolled_back_to
        ),
    )?;
    let result = planned.plan.plan.result;
    Ok(vec![format!(
        "config {sync_id}: {} added, {} modified, {} deleted{}",
        result.files_to_add,
        result.files_to_modify,
        result.files_to_delete,
        applied
            .map(|a| format!(" (log {})", a.log_ref))
            .unwrap_or_default()
    )])
}

fn run_commands(ws: &Workspace, commands: &[String], env: &[(&str, &str)]) -> (bool, Vec<String>) {
    let mut notes = Vec::new();
    let mut ok = true;
    for command in commands {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&ws.home)
            .envs(env.iter().copied())
            .status();
        match status {
            Ok(s) if s.success() => notes.push(format!("`{command}` passed")),
            Ok(s) => {
                ok = false;
                notes.push(format!(
                    "`{command}` exited with {}",
                    s.code().unwrap_or(-1)
                ));
            }
            Err(e) => {
                ok = false;
                notes.push(format!("`{command}` could not run: {e}"));
            }
        }
    }
    (ok, notes)
}

/// VERIFY: smoke tests, the original issue's check, and every target as
/// the earlier release left it.
fn verify(ws: &Workspace, plan: &RollbackPlan, state: &RollbackState) -> Result<Verification> {
    let body = &plan.plan;
    let mut details = Vec::new();
    let mut new_issues = Vec::new();
    let env = [("TRAINYARD_VERSION", body.rolled_back_to.as_str())];
    let (smoke_ok, smoke_notes) = run_commands(ws, &ws.config.rollback.smoke_tests, &env);
    if ws.config.rollback.smoke_tests.is_empty() {
        details.push("no smoke tests configured (rollback.smoke_tests)".into());
    }
    details.extend(smoke_notes.iter().map(|n| format!("smoke test {n}")));
    if !smoke_ok {
        new_issues.extend(
            smoke_notes
                .iter()
                .filter(|n| !n.ends_with("passed"))
                .cloned(),
        );
    }
    let issue_resolved = match &state.check {
        Some(check) => {
            let (ok, notes) = run_commands(ws, std::slice::from_ref(check), &env);
            details.extend(notes.into_iter().map(|n| format!("issue check {n}")));
            ok
        }
        None => state.signoffs.iter().any(|s| s.key == "issue-resolved"),
    };
    let mut states_match = true;
    let mut mismatch = |what: String, details: &mut Vec<String>| {
        states_match = false;
        details.push(what.clone());
        new_issues.push(what);
    };
    if let Some(code) = &body.code {
        let branch = code.branch();
        match code {
            CodePlan::DeployBranch { target, .. } => {
                let now = git_cli::commit_of(&ws.home, &format!("refs/heads/{branch}")).ok();
                if now.as_ref() == Some(target) {
                    details.push(format!("{branch} points at {}", body.to_tag));
                } else {
                    mismatch(
                        format!("{branch} does not point at {}", body.to_tag),
                        &mut details,
                    );
                }
            }
            CodePlan::Revert { paths, base, .. } | CodePlan::Restore { paths, base, .. } => {
                let mut args = vec!["diff", "--name-only", base.as_str(), branch, "--"];
                args.extend(paths.iter().map(String::as_str));
                let differing = if paths.is_empty() {
                    String::new()
                } else {
                    git_cli::run(&ws.home, &args)?
                };
                if differing.trim().is_empty() {
                    details.push(format!(
                        "{branch}: the {} path(s) the release changed hold their {} content",
                        paths.len(),
                        body.rolled_back_to
                    ));
                } else {
                    let list: Vec<&str> = differing.lines().collect();
                    mismatch(
                        format!(
                            "{branch}: {} differ from {}: {}",
                            list.len(),
                            body.rolled_back_to,
                            list.join(", ")
                        ),
                        &mut details,
                    );
                }
            }
        }
    }
    for channel in &body.channels {
        if let Some(dir) = &channel.withdraw {
            if dir.exists() {
                mismatch(
                    format!("{}: {} is still there", channel.channel, dir.display()),
                    &mut details,
                );
            } else {
                details.push(format!(
                    "{}: {} withdrawn",
                    channel.channel, body.rolled_back_from
                ));
            }
        }
        if let Ok(ChannelConfig::Directory(c)) = channel_config(ws, &channel.channel) {
            let dir = ws.home.join(&c.path).join(&body.rolled_back_to);
            for artifact in &channel.republish {
                let path = dir.join(&artifact.name);
                match crate::artifacts::Artifact::from_file(&path) {
                    Ok(found) if found.sha256 == artifact.sha256 => {}
                    _ => mismatch(
                        format!(
                            "{}: {} does not hold the recorded sha256 {}",
                            channel.channel,
                            path.display(),
                            short(&artifact.sha256)
                        ),
                        &mut details,
                    ),
                }
            }
            if !channel.republish.is_empty() {
                details.push(format!(
                    "{}: {} artifact(s) of {} match the release evidence",
                    channel.channel,
                    channel.republish.len(),
                    body.rolled_back_to
                ));
            }
        }
    }
    for config in &body.configs {
        let now = engine::target_fingerprint(ws, &config.sync_id)?;
        if now == config.rolled_back_fingerprint {
            details.push(format!(
                "config {}: the target matches {}",
                config.sync_id, body.rolled_back_to
            ));
        } else {
            mismatch(
                format!(
                    "config {}: the target does not match {}",
                    config.sync_id, body.rolled_back_to
                ),
                &mut details,
            );
        }
    }
    Ok(Verification {
        smoke_tests: if smoke_ok { "pass" } else { "fail" }.into(),
        issue_resolved,
        new_issues,
        states_match,
        details,
    })
}

/// COMMUNICATE: the notify commands, with the rollback in the environment.
fn communicate(ws: &Workspace, state: &mut RollbackState) -> Result<()> {
    let commands = ws.config.rollback.notify.clone();
    let env = [
        ("TRAINYARD_ROLLBACK_ID", state.rollback_id.as_str()),
        ("TRAINYARD_ROLLBACK_FROM", state.rolled_back_from.as_str()),
        ("TRAINYARD_ROLLBACK_TO", state.rolled_back_to.as_str()),
    ];
    let (ok, mut notes) = run_commands(ws, &commands, &env);
    state.notified = ok && !commands.is_empty();
    if commands.is_empty() {
        notes.push("no notify commands configured: sign off `stakeholders-notified` and `stakeholders-updated`".into());
    }
    finish_step(ws, state, "communicate", notes)
}

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

fn write_evidence(ws: &Workspace, state: &RollbackState) -> Result<String> {
    let record = ws.evidence_store().write_value_unique(
        "rollback_evidence",
        &state.rollback_id,
        &EvidenceDocument {
            rollback_evidence: evidence_of(state),
        },
    )?;
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
            "rollback {} has not finished: `trainyard rollback resume {}` first",
            state.rollback_id, state.rollback_id
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
    Ok(report(&state, None))
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

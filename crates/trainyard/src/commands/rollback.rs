//! `trainyard rollback ...`: assess, plan, approve, start, resume,
//! signoff, document, rehearse, status.

use serde::Serialize;
use trainyard_core::Error;
use trainyard_core::rollback::decision::{Assessment, Impact, Severity};
use trainyard_core::rollback::plan::{self, CodePlan, PlanRequest};
use trainyard_core::rollback::procedure::{
    self, DocumentRequest, PlanApproval, RollbackReport, RollbackState, StartRequest, Status,
};
use trainyard_core::rollback::rehearse::RehearsalReport;
use trainyard_core::rollback::{self, Kind, rehearse};

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::{ImpactArg, RollbackCommand, RollbackKindArg, SeverityArg};
use crate::printer::{Block, Printer, paint, style};
use crate::render::{HumanOut, Render};

fn severity(arg: SeverityArg) -> Severity {
    match arg {
        SeverityArg::Critical => Severity::Critical,
        SeverityArg::High => Severity::High,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::Low => Severity::Low,
    }
}

fn impact(arg: ImpactArg) -> Impact {
    match arg {
        ImpactArg::Widespread => Impact::Widespread,
        ImpactArg::Significant => Impact::Significant,
        ImpactArg::Limited => Impact::Limited,
        ImpactArg::Minimal => Impact::Minimal,
    }
}

fn kind(arg: RollbackKindArg) -> Kind {
    match arg {
        RollbackKindArg::Immediate => Kind::Immediate,
        RollbackKindArg::Planned => Kind::Planned,
        RollbackKindArg::Partial => Kind::Partial,
        RollbackKindArg::Config => Kind::Config,
    }
}

pub fn run(ctx: &Context<'_>, command: &RollbackCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let p = ctx.printer;
    match command {
        RollbackCommand::Assess {
            severity: s,
            impact: i,
        } => {
            let assessment = rollback::assess(&ws, severity(*s), impact(*i))?;
            p.render(&Assessed(&assessment))?;
            Ok(Exit::Success)
        }
        RollbackCommand::Plan {
            to,
            from,
            kind: k,
            components,
        } => {
            let report = plan::plan(
                &ws,
                &PlanRequest {
                    to: to.clone(),
                    from: from.clone(),
                    kind: kind(*k),
                    components: components.clone(),
                },
            )?;
            p.render(&Planned(&report))?;
            Ok(if report.plan.is_empty() {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        RollbackCommand::Approve(decision) => {
            let approval = procedure::approve(&ws, &decision.request())?;
            p.render(&Decided(&approval))?;
            super::unverified_notice(ctx, &ws)?;
            Ok(Exit::Success)
        }
        RollbackCommand::Start {
            plan_id,
            issue,
            severity: s,
            impact: i,
            description,
            detected_at,
            detected_by,
            by,
            check,
            dry_run,
        } => {
            let detected_at = match detected_at {
                Some(text) => Some(text.parse::<jiff::Timestamp>().map_err(|e| {
                    Error::input(format!(
                        "invalid --detected-at `{text}`: {e} (use RFC 3339, e.g. 2027-01-13T10:00:00Z)"
                    ))
                })?),
                None => None,
            };
            let request = StartRequest {
                plan_id: plan_id.clone(),
                issue_id: issue.clone(),
                severity: severity(*s),
                impact: impact(*i),
                description: description.clone(),
                detected_at,
                detected_by: detected_by.clone(),
                by: by.clone(),
                check: check.clone(),
            };
            let report = if *dry_run {
                procedure::preview(&ws, &request)?
            } else {
                procedure::start(&ws, &request)?
            };
            let exit = show(p, &report)?;
            super::unverified_notice(ctx, &ws)?;
            Ok(exit)
        }
        RollbackCommand::Resume { id } => {
            let exit = show(p, &procedure::resume(&ws, id)?)?;
            super::unverified_notice(ctx, &ws)?;
            Ok(exit)
        }
        RollbackCommand::Abort { id } => {
            show(p, &rollback::abort::abort(&ws, id)?)?;
            Ok(Exit::Success)
        }
        RollbackCommand::Signoff { id, item, by } => {
            show(p, &procedure::signoff(&ws, id, item, by.as_deref())?)
        }
        RollbackCommand::Document {
            id,
            root_cause,
            prevention,
            post_mortem,
        } => {
            let report = procedure::document(
                &ws,
                &DocumentRequest {
                    rollback_id: id.clone(),
                    root_cause: root_cause.clone(),
                    prevention: prevention.clone(),
                    post_mortem_ref: post_mortem.clone(),
                },
            )?;
            show(p, &report)
        }
        RollbackCommand::Rehearse { version, to } => {
            let report = rehearse::rehearse(&ws, version, to.as_deref())?;
            p.render(&Rehearsed(&report))?;
            Ok(if report.passed {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        RollbackCommand::Status { id } => match id {
            Some(id) => {
                let state = procedure::load(&ws, id)?;
                let report = RollbackReport {
                    checklist: procedure::checklist(&state),
                    state,
                    waiting_for: None,
                };
                show(p, &report)
            }
            None => {
                let all = procedure::all(&ws)?;
                p.render(&Rollbacks(&all))?;
                Ok(Exit::Success)
            }
        },
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Waiting => "waiting",
        Status::Started => "started",
        Status::Done => "done",
        Status::Failed => "failed",
    }
}

fn render_plan(report: &plan::PlanReport) -> String {
    let body = &report.plan.plan;
    let mut out = format!(
        "{} rollback of {} ({}) to {} ({})\n",
        body.kind.as_str(),
        body.rolled_back_from,
        body.from_tag,
        body.rolled_back_to,
        body.to_tag
    );
    match &body.code {
        Some(CodePlan::Revert {
            branch, commits, ..
        }) => {
            out.push_str(&format!(
                "branch {branch}: one commit reverting {} commit(s)\n",
                commits.len()
            ));
            for c in commits {
                out.push_str(&format!("  revert {} {}\n", &c.commit[..12], c.subject));
            }
        }
        Some(CodePlan::Restore { branch, paths, .. }) => {
            out.push_str(&format!(
                "branch {branch}: one commit restoring {} path(s) to {}\n",
                paths.len(),
                body.rolled_back_to
            ));
            for path in paths {
                out.push_str(&format!("  restore {path}\n"));
            }
        }
        Some(CodePlan::DeployBranch {
            branch,
            head,
            target,
        }) => out.push_str(&format!(
            "branch {branch}: {} -> {} ({})\n",
            head.as_deref().map_or("(new)", |h| &h[..12]),
            &target[..12],
            body.to_tag
        )),
        None => {}
    }
    for channel in &body.channels {
        if let Some(dir) = &channel.withdraw {
            out.push_str(&format!(
                "channel {}: withdraw {}\n",
                channel.channel,
                dir.display()
            ));
        }
        for artifact in &channel.republish {
            out.push_str(&format!(
                "channel {}: ensure {} {} (sha256 {})\n",
                channel.channel,
                body.rolled_back_to,
                artifact.name,
                &artifact.sha256[..12]
            ));
        }
        for manual in &channel.manual {
            out.push_str(&format!("channel {}: {manual}\n", channel.channel));
        }
    }
    for config in &body.configs {
        out.push_str(&format!(
            "config {}: {} to add, {} to modify, {} to delete (sync plan {})\n",
            config.sync_id,
            config.files_to_add,
            config.files_to_modify,
            config.files_to_delete,
            &config.sync_plan_id[..16]
        ));
    }
    out
}

/// The exit of a command that prints a rollback's progress: 1 unless it
/// succeeded.
fn show(p: &Printer, report: &RollbackReport) -> CmdResult {
    p.render(&Progress(report))?;
    Ok(if report.succeeded() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `rollback assess`: the action and approval the decision matrix gives.
#[derive(Serialize)]
#[serde(transparent)]
struct Assessed<'a>(&'a Assessment);

impl Render for Assessed<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let assessment = self.0;
        let mut block = Block::default();
        block.row("rollback", assessment.action.as_str());
        block.row(
            "approval",
            if assessment.post_hoc {
                format!("{} (the rollback may run first)", assessment.approval)
            } else {
                assessment.approval.clone()
            },
        );
        for reason in &assessment.because {
            block.row("because", reason.clone());
        }
        Ok(out.data(&block.render())?)
    }
}

/// `rollback plan`: the plan's actions on stdout, its id and the next
/// command on stderr.
#[derive(Serialize)]
#[serde(transparent)]
struct Planned<'a>(&'a plan::PlanReport);

impl Render for Planned<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        out.data(&render_plan(report))?;
        let mut block = Block::default();
        block.row(
            "plan",
            format!("{} ({})", report.plan.plan_id, report.plan_ref),
        );
        block.row(
            "next",
            format!(
                "trainyard rollback start {} --issue ID --severity S --impact I --description TEXT",
                report.plan.short_id()
            ),
        );
        Ok(out.status(&block.render())?)
    }
}

/// `rollback approve`: the decision recorded on a plan.
#[derive(Serialize)]
#[serde(transparent)]
struct Decided<'a>(&'a PlanApproval);

impl Render for Decided<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let approval = self.0;
        Ok(out.data(&format!(
            "{} rollback plan {} by {}{}\n",
            if approval.approved {
                paint(style::GOOD, "approved:")
            } else {
                paint(style::BAD, "rejected:")
            },
            &approval.plan_id[..16],
            approval.approved_by,
            approval
                .role
                .as_ref()
                .map(|r| format!(" as {r}"))
                .unwrap_or_default()
        ))?)
    }
}

/// `rollback rehearse`: the rehearsal's result and its evidence.
#[derive(Serialize)]
#[serde(transparent)]
struct Rehearsed<'a>(&'a RehearsalReport);

impl Render for Rehearsed<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let mut block = Block::default();
        block.row(
            "rehearsed",
            format!("rollback of {} to {}", report.from, report.to),
        );
        for detail in &report.details {
            block.row("", detail.clone());
        }
        block.row(
            "result",
            if report.passed {
                paint(style::GOOD, "pass")
            } else {
                paint(style::BAD, "fail")
            },
        );
        block.row("evidence", report.evidence.clone());
        Ok(out.data(&block.render())?)
    }
}

/// `rollback status` without an id: every rollback, one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct Rollbacks<'a>(&'a [RollbackState]);

impl Render for Rollbacks<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for s in self.0 {
            let at = s
                .steps
                .iter()
                .find(|step| step.status != Status::Done)
                .map_or("complete".to_owned(), |step| {
                    format!("{} {}", step.name, status_name(step.status))
                });
            text.push_str(&format!(
                "{:<36} {:<9} {} -> {}  {}\n",
                s.rollback_id,
                s.kind.as_str(),
                s.rolled_back_from,
                s.rolled_back_to,
                at
            ));
        }
        Ok(out.data(&text)?)
    }
}

/// A rollback's progress: its steps, actions and checklist.
#[derive(Serialize)]
#[serde(transparent)]
struct Progress<'a>(&'a RollbackReport);

impl Render for Progress<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let s = &report.state;
        let mut block = Block::default();
        block.row(
            "rollback",
            format!(
                "{} ({} {}, {} -> {})",
                s.rollback_id,
                s.procedure,
                s.kind.as_str(),
                s.rolled_back_from,
                s.rolled_back_to
            ),
        );
        for step in &s.steps {
            let mark = match step.status {
                Status::Done => paint(style::GOOD, "done"),
                Status::Failed => paint(style::BAD, "failed"),
                Status::Waiting => paint(style::WARN, "waiting"),
                other => status_name(other).to_owned(),
            };
            block.row(&step.name, mark);
            for note in &step.notes {
                block.row("", note.clone());
            }
        }
        for (i, action) in s.actions.iter().enumerate() {
            let mark = match action.status {
                Status::Done => paint(style::GOOD, "done"),
                Status::Failed => paint(style::BAD, "failed"),
                other => status_name(other).to_owned(),
            };
            block.row(
                if i == 0 { "actions" } else { "" },
                format!("{} {mark}", action.id),
            );
        }
        if let Some(at) = &s.aborted_at {
            block.row("aborted", format!("at {at}: every action undone"));
        }
        for row in &report.checklist {
            let mark = match row.status.as_str() {
                "pass" => paint(style::GOOD, "pass"),
                "fail" => paint(style::BAD, "fail"),
                other => other.to_owned(),
            };
            block.row(
                &format!("{}:{}", row.phase, row.key),
                format!("{mark}  {} ({})", row.item, row.detail),
            );
        }
        if let Some(waiting) = &report.waiting_for {
            block.row("waiting", paint(style::WARN, waiting));
        }
        Ok(out.data(&block.render())?)
    }
}

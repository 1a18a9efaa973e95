//! `trainyard rollback ...`: assess, plan, approve, start, resume,
//! signoff, document, rehearse, status; a file per verb, the clap
//! arguments turned into core requests here.

mod approve;
mod assess;
mod plan;
mod progress;
mod rehearse;
mod start;
mod status;

use trainyard_core::rollback::Kind;
use trainyard_core::rollback::decision::{Impact, Severity};
use trainyard_core::rollback::plan::PlanRequest;
use trainyard_core::rollback::procedure::{DocumentRequest, StartRequest};

use super::{CmdResult, Context};
use crate::cli::{ImpactArg, RollbackCommand, RollbackKindArg, SeverityArg};

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
    let ws = ctx.unit_workspace("rollback")?;
    match command {
        RollbackCommand::Assess {
            severity: s,
            impact: i,
        } => assess::run(ctx, &ws, severity(*s), impact(*i)),
        RollbackCommand::Plan {
            to,
            from,
            kind: k,
            components,
        } => plan::run(
            ctx,
            &ws,
            &PlanRequest {
                to: to.clone(),
                from: from.clone(),
                kind: kind(*k),
                components: components.clone(),
            },
        ),
        RollbackCommand::Approve(decision) => approve::run(ctx, &ws, &decision.request()),
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
            let request = StartRequest {
                plan_id: plan_id.clone(),
                issue_id: issue.clone(),
                severity: severity(*s),
                impact: impact(*i),
                description: description.clone(),
                detected_at: start::detected_at(detected_at.as_deref())?,
                detected_by: detected_by.clone(),
                by: by.clone(),
                check: check.clone(),
            };
            start::run(ctx, &ws, &request, *dry_run)
        }
        RollbackCommand::Resume { id } => progress::resume(ctx, &ws, id),
        RollbackCommand::Abort { id } => progress::abort(ctx, &ws, id),
        RollbackCommand::Signoff { id, item, by } => {
            progress::signoff(ctx, &ws, id, item, by.as_deref())
        }
        RollbackCommand::Document {
            id,
            root_cause,
            prevention,
            post_mortem,
        } => progress::document(
            ctx,
            &ws,
            &DocumentRequest {
                rollback_id: id.clone(),
                root_cause: root_cause.clone(),
                prevention: prevention.clone(),
                post_mortem_ref: post_mortem.clone(),
            },
        ),
        RollbackCommand::Rehearse { version, to } => {
            rehearse::run(ctx, &ws, version, to.as_deref())
        }
        RollbackCommand::Status { id } => status::run(ctx, &ws, id.as_deref()),
    }
}

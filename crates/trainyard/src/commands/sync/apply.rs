//! `trainyard sync apply`: an approved plan carried out.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::github;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, plan_id: &str) -> CmdResult {
    let report = engine::apply_plan(ws, plan_id, None)?;
    github::publish(
        ctx.printer,
        &format!("sync apply {}", report.log.sync_id),
        &[("changes", applied_changes(&report).to_string())],
    );
    ctx.printer.render(&Applied(&report))?;
    if !report
        .log
        .approval
        .approved_by
        .as_deref()
        .unwrap_or_default()
        .ends_with("(automatic)")
    {
        crate::commands::unverified_notice(ctx, ws)?;
    }
    Ok(verified(&report))
}

/// How many paths an apply added, modified and deleted.
pub(super) fn applied_changes(report: &engine::ApplyReport) -> usize {
    let applied = &report.log.execution.changes_applied;
    applied.added + applied.modified + applied.deleted
}

/// Exit 1 when the smoke tests failed: the changes are applied, but a
/// check did not pass.
pub(super) fn verified(report: &engine::ApplyReport) -> Exit {
    if report.log.verification.smoke_tests_passed {
        Exit::Success
    } else {
        Exit::Failure
    }
}

/// `sync apply`, and `sync run` when it applied: what changed, who
/// approved it, what was verified and who was told.
#[derive(Serialize)]
#[serde(transparent)]
pub(super) struct Applied<'a>(pub(super) &'a engine::ApplyReport);

impl Render for Applied<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let log = &report.log;
        let mut block = Block::default();
        block.row(
            "applied",
            format!(
                "+{} ~{} -{} to {}",
                log.execution.changes_applied.added,
                log.execution.changes_applied.modified,
                log.execution.changes_applied.deleted,
                log.sync_id
            ),
        );
        if let Some(by) = &log.approval.approved_by {
            block.row("approved", by.clone());
        }
        block.row(
            "verified",
            format!(
                "integrity {}, smoke tests {}",
                log.verification.integrity_verified, log.verification.smoke_tests_passed
            ),
        );
        block.row("log", report.log_ref.clone());
        for delivery in &report.notifications {
            block.row(
                "notified",
                if delivery.ok {
                    format!("{}: {}", delivery.target, delivery.message)
                } else {
                    format!(
                        "{} {}: {}",
                        paint(style::WARN, "failed"),
                        delivery.target,
                        delivery.message
                    )
                },
            );
        }
        Ok(out.status(&block.render())?)
    }
}

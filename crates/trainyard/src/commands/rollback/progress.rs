//! A rollback's progress, and the verbs that move one on and print it:
//! `rollback resume`, `abort`, `signoff` and `document`.

use serde::Serialize;
use trainyard_core::rollback;
use trainyard_core::rollback::procedure::{self, DocumentRequest, RollbackReport, Status};
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{Block, Printer, paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn resume(ctx: &Context<'_>, ws: &Workspace, id: &str) -> CmdResult {
    let exit = show(ctx.printer, &procedure::resume(ws, id)?)?;
    crate::commands::unverified_notice(ctx, ws)?;
    Ok(exit)
}

pub(super) fn abort(ctx: &Context<'_>, ws: &Workspace, id: &str) -> CmdResult {
    show(ctx.printer, &rollback::abort::abort(ws, id)?)?;
    Ok(Exit::Success)
}

pub(super) fn signoff(
    ctx: &Context<'_>,
    ws: &Workspace,
    id: &str,
    item: &str,
    by: Option<&str>,
) -> CmdResult {
    show(ctx.printer, &procedure::signoff(ws, id, item, by)?)
}

pub(super) fn document(ctx: &Context<'_>, ws: &Workspace, request: &DocumentRequest) -> CmdResult {
    show(ctx.printer, &procedure::document(ws, request)?)
}

/// The exit of a command that prints a rollback's progress: 1 unless it
/// succeeded.
pub(super) fn show(p: &Printer, report: &RollbackReport) -> CmdResult {
    p.render(&Progress(report))?;
    Ok(if report.succeeded() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

pub(super) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Waiting => "waiting",
        Status::Started => "started",
        Status::Done => "done",
        Status::Failed => "failed",
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

//! `trainyard rollback rehearse`: a rollback carried out in a scratch copy.

use serde::Serialize;
use trainyard_core::rollback::rehearse::{self, RehearsalReport};
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, version: &str, to: Option<&str>) -> CmdResult {
    let report = rehearse::rehearse(ws, version, to)?;
    ctx.printer.render(&Rehearsed(&report))?;
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::Failure
    })
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

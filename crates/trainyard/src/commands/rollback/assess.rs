//! `trainyard rollback assess`: what the decision matrix says to do.

use serde::Serialize;
use trainyard_core::rollback;
use trainyard_core::rollback::decision::{Assessment, Impact, Severity};
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::Block;
use crate::render::{HumanOut, Render};

pub(super) fn run(
    ctx: &Context<'_>,
    ws: &Workspace,
    severity: Severity,
    impact: Impact,
) -> CmdResult {
    let assessment = rollback::assess(ws, severity, impact)?;
    ctx.printer.render(&Assessed(&assessment))?;
    Ok(Exit::Success)
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

//! `trainyard rollback approve`: a decision recorded on a rollback plan.

use serde::Serialize;
use trainyard_core::rollback::procedure::{self, ApproveRequest, PlanApproval};
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, request: &ApproveRequest) -> CmdResult {
    let approval = procedure::approve(ws, request)?;
    ctx.printer.render(&Decided(&approval))?;
    crate::commands::unverified_notice(ctx, ws)?;
    Ok(Exit::Success)
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

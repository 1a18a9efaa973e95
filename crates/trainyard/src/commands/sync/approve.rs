//! `trainyard sync approve`: a decision recorded on a plan.

use serde::Serialize;
use trainyard_core::sync::engine::{self, ApproveRequest};
use trainyard_core::sync::record::Approval;
use trainyard_core::versioning::Workspace;

use crate::cli::DecisionArgs;
use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(
    ctx: &Context<'_>,
    ws: &Workspace,
    decision: &DecisionArgs,
    override_max_delete: bool,
) -> CmdResult {
    let _lock = ws.lock()?;
    let approval = engine::approve(
        ws,
        &ApproveRequest {
            override_max_delete,
            ..decision.request()
        },
    )?;
    ctx.printer.render(&Decided(&approval))?;
    crate::commands::unverified_notice(ctx, ws)?;
    Ok(Exit::Success)
}

/// `sync approve`: the decision recorded on a plan.
#[derive(Serialize)]
#[serde(transparent)]
struct Decided<'a>(&'a Approval);

impl Render for Decided<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let approval = self.0;
        let verb = if approval.approved {
            paint(style::GOOD, "approved:")
        } else {
            paint(style::BAD, "rejected:")
        };
        Ok(out.status(&format!(
            "{verb} plan {} of {} by {} ({} changes){}\n",
            &approval.plan_id[..16],
            approval.sync_id,
            approval.approved_by,
            approval.result.total_changes,
            approval
                .signature
                .as_ref()
                .map(|s| format!(", signed with key {}", s.key))
                .unwrap_or_default()
        ))?)
    }
}

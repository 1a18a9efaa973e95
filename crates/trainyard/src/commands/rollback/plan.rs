//! `trainyard rollback plan`: the sealed plan of a rollback.

use serde::Serialize;
use trainyard_core::rollback::plan::{self, CodePlan, PlanRequest};
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::Block;
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, request: &PlanRequest) -> CmdResult {
    let report = plan::plan(ws, request)?;
    let next = ws.command(&format!(
        "rollback start {} --issue ID --severity S --impact I --description TEXT",
        report.plan.short_id()
    ));
    ctx.printer.render(&Planned {
        report: &report,
        next,
    })?;
    Ok(if report.plan.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `rollback plan`: the plan's actions on stdout, its id and the next
/// command on stderr.
#[derive(Serialize)]
struct Planned<'a> {
    #[serde(flatten)]
    report: &'a plan::PlanReport,
    /// The command that carries the plan out.
    #[serde(skip)]
    next: String,
}

impl Render for Planned<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.report;
        out.data(&render_plan(report))?;
        let mut block = Block::default();
        block.row(
            "plan",
            format!("{} ({})", report.plan.plan_id, report.plan_ref),
        );
        block.row("next", self.next.clone());
        Ok(out.status(&block.render())?)
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
        Some(CodePlan::Restore {
            branch,
            paths,
            requirements,
            ..
        }) => {
            out.push_str(&format!(
                "branch {branch}: one commit restoring {} path(s) to {}\n",
                paths.len(),
                body.rolled_back_to
            ));
            for path in paths {
                out.push_str(&format!("  restore {path}\n"));
            }
            for path in requirements {
                out.push_str(&format!(
                    "  rewrite {path} (requirements back to {})\n",
                    body.rolled_back_to
                ));
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
        for action in &channel.actions {
            out.push_str(&format!("channel {}: {action}\n", channel.channel));
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

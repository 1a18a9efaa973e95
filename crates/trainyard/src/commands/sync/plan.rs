//! `trainyard sync plan`: the sealed plan of what an apply would change.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::github;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: &str, exact: bool) -> CmdResult {
    let p = ctx.printer;
    let report = engine::plan(ws, id, exact)?;
    let plan = &report.plan.plan;
    github::publish(
        p,
        &format!("sync plan {id}"),
        &[
            ("plan_id", report.plan.plan_id.clone()),
            ("changes", plan.result.total_changes.to_string()),
        ],
    );
    p.render(&Planned {
        ws,
        report: &report,
    })?;
    Ok(if plan.result.total_changes == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `sync plan`: the recorded diff on stdout, the plan's summary on stderr.
struct Planned<'a> {
    /// Where the diff is read back from.
    ws: &'a Workspace,
    report: &'a engine::PlanReport,
}

impl Serialize for Planned<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        engine::PlanJson::new(self.ws, self.report).serialize(serializer)
    }
}

impl Render for Planned<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.report;
        let plan = &report.plan.plan;
        // The diff as recorded: written as it is read back, however
        // large.
        engine::write_diff(self.ws, &report.plan, &mut out.data_writer())?;
        let mut block = Block::default();
        block.row(
            "plan",
            format!("{} ({})", report.plan.plan_id, report.plan_ref),
        );
        block.row("changes", plan.diff_summary.clone());
        for conflict in &report.conflicts {
            block.row(
                "conflict",
                format!(
                    "{}: {}{}",
                    conflict.path,
                    conflict.resolution.as_str(),
                    conflict
                        .detail
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            );
        }
        if plan.exceeds_max_delete {
            block.row(
                "max_delete",
                paint(
                    style::WARN,
                    "exceeded: the approval must pass --override-max-delete",
                ),
            );
        }
        if plan.result.total_changes > 0 {
            block.row(
                "next",
                format!("trainyard sync approve {}", report.plan.short_id()),
            );
        }
        Ok(out.status(&block.render())?)
    }
}

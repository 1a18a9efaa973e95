//! `trainyard gate run|list`.

use trainyard_core::gate::{self, GateRequest};

use super::{CmdResult, Context, Exit};
use crate::cli::GateCommand;
use crate::printer::{Block, paint, style};

pub fn run(ctx: &Context<'_>, command: &GateCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    match command {
        GateCommand::List => {
            let gates = gate::configured(&ws.config.gates);
            if ctx.printer.json() {
                ctx.printer.write_json(&gates)?;
            } else {
                let mut out = String::new();
                for (name, config) in &gates {
                    let checks: Vec<String> =
                        config.checks.iter().map(|c| c.name().to_owned()).collect();
                    out.push_str(&format!("{name}: {}\n", checks.join(", ")));
                }
                ctx.printer.data(&out)?;
            }
            Ok(Exit::Success)
        }
        GateCommand::Run { name } => {
            let in_progress = trainyard_core::release::in_progress(&ws)?;
            let request = GateRequest {
                name: name.clone(),
                commit: None,
                version: in_progress.as_ref().and_then(|s| s.version().ok()),
                freeze_point: in_progress.and_then(|s| s.freeze_commit),
                workdir: None,
            };
            let result = gate::run(&ws, &request)?;
            let record = {
                let _lock = ws.lock()?;
                gate::record(&ws, &result)?
            };
            if ctx.printer.json() {
                ctx.printer.write_json(&result)?;
            } else {
                let mut out = String::new();
                for check in &result.checks {
                    let status = match check.status.as_str() {
                        "passed" => paint(style::GOOD, "passed"),
                        "skipped" => paint(style::DIM, "skipped"),
                        other => paint(style::BAD, other),
                    };
                    out.push_str(&format!(
                        "{:<24} {status} ({} ms)\n",
                        check.name, check.duration_ms
                    ));
                }
                ctx.printer.data(&out)?;
                let mut block = Block::default();
                block.row(
                    "gate",
                    format!("{} on {}", result.gate, &result.commit[..10]),
                );
                block.row("success_rate", format!("{}", result.success_rate));
                block.row("rework_rate", format!("{}", result.rework_rate));
                block.row("all_tasks_passed", result.all_tasks_passed.to_string());
                for reason in &result.reasons {
                    block.row("failed", reason.clone());
                }
                block.row("evidence", record.record.path.clone());
                block.row(
                    "result",
                    if result.passed {
                        paint(style::GOOD, "passed")
                    } else {
                        paint(style::BAD, "failed")
                    },
                );
                ctx.printer.status(&block.render())?;
            }
            Ok(if result.passed {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
    }
}

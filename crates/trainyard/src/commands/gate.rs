//! `trainyard gate run|list`.

use std::collections::BTreeMap;

use serde::Serialize;
use trainyard_core::config::gates::GateConfig;
use trainyard_core::gate::{self, GateRequest, GateResult};

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::GateCommand;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &GateCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    match command {
        GateCommand::List => {
            let gates = gate::configured(&ws.config.gates);
            ctx.printer.render(&Gates(&gates))?;
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
            ctx.printer.render(&GateRun {
                result: &result,
                evidence: &record.record.path,
            })?;
            Ok(if result.passed {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
    }
}

/// `gate list`: each gate and its checks.
#[derive(Serialize)]
#[serde(transparent)]
struct Gates<'a>(&'a BTreeMap<String, GateConfig>);

impl Render for Gates<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for (name, config) in self.0 {
            let checks: Vec<String> = config.checks.iter().map(|c| c.name().to_owned()).collect();
            text.push_str(&format!("{name}: {}\n", checks.join(", ")));
        }
        Ok(out.data(&text)?)
    }
}

/// `gate run`: each check's outcome on stdout, the gate's result and
/// where it was recorded on stderr.
#[derive(Serialize)]
#[serde(transparent)]
struct GateRun<'a> {
    result: &'a GateResult,
    /// The path of the evidence recorded.
    #[serde(skip)]
    evidence: &'a str,
}

impl Render for GateRun<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let result = self.result;
        let mut text = String::new();
        for check in &result.checks {
            let status = match check.status.as_str() {
                "passed" => paint(style::GOOD, "passed"),
                "skipped" => paint(style::DIM, "skipped"),
                other => paint(style::BAD, other),
            };
            text.push_str(&format!(
                "{:<24} {status} ({} ms)\n",
                check.name, check.duration_ms
            ));
        }
        out.data(&text)?;
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
        block.row("evidence", self.evidence);
        block.row(
            "result",
            if result.passed {
                paint(style::GOOD, "passed")
            } else {
                paint(style::BAD, "failed")
            },
        );
        Ok(out.status(&block.render())?)
    }
}

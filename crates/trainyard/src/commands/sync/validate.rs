//! `trainyard sync validate`: each sync configuration checked.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: Option<&str>) -> CmdResult {
    let results = engine::validate(ws, id)?;
    let ok = results.iter().all(|r| r.problems.is_empty());
    ctx.printer.render(&Validations(&results))?;
    Ok(if ok { Exit::Success } else { Exit::Failure })
}

/// `sync validate`: each sync configuration, valid or with its problems.
#[derive(Serialize)]
#[serde(transparent)]
struct Validations<'a>(&'a [engine::Validation]);

impl Render for Validations<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for r in self.0 {
            if r.problems.is_empty() {
                text.push_str(&format!(
                    "{} {} ({})\n",
                    paint(style::GOOD, "valid:"),
                    r.sync_id,
                    r.file
                ));
            }
            for problem in &r.problems {
                text.push_str(&format!(
                    "{} {} ({}): {problem}\n",
                    paint(style::BAD, "invalid:"),
                    r.sync_id,
                    r.file
                ));
            }
        }
        Ok(out.data(&text)?)
    }
}

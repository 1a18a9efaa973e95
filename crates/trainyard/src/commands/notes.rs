//! `trainyard notes`: release notes in the spec's template and schema.

use trainyard_core::evidence::render_yaml;
use trainyard_core::notes::{self, NotesRequest, Provenance};
use trainyard_core::version;

use super::{CmdResult, Context, Exit};
use crate::cli::{NotesArgs, NotesFormat};
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, args: &NotesArgs) -> CmdResult {
    let ws = ctx.workspace()?;
    let version = args
        .version
        .as_deref()
        .map(|v| version::parse(v.strip_prefix('v').unwrap_or(v)))
        .transpose()?;
    let request = NotesRequest {
        version,
        provenance: Provenance {
            commit: args.commit.clone(),
            build_id: args.build_id.clone(),
            signed_by: args.signed_by.clone(),
        },
    };
    let report = notes::generate(&ws, &request)?;
    if ctx.printer.json() {
        ctx.printer.write_json(&report)?;
    } else {
        let text = match args.format {
            NotesFormat::Markdown => notes::markdown(&ws, &report.notes)?,
            NotesFormat::Yaml => render_yaml(&report.notes)?,
            NotesFormat::Json => {
                let mut text = serde_json::to_string_pretty(&report.notes)
                    .map_err(|e| trainyard_core::Error::Internal(e.to_string()))?;
                text.push('\n');
                text
            }
        };
        ctx.printer.data(&text)?;
        let mut status = String::new();
        for problem in &report.problems {
            status.push_str(&format!(
                "{} {} ({})\n",
                paint(style::WARN, "incomplete:"),
                problem.message,
                &problem.commit[..problem.commit.len().min(10)]
            ));
        }
        ctx.printer.status(&status)?;
    }
    Ok(if args.check && !report.problems.is_empty() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

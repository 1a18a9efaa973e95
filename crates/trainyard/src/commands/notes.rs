//! `trainyard notes`: release notes in the spec's template and schema.

use serde::Serialize;
use trainyard_core::evidence::render_yaml;
use trainyard_core::notes::{self, NotesReport, NotesRequest, Provenance};
use trainyard_core::version;
use trainyard_core::versioning::Workspace;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::{NotesArgs, NotesFormat};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, args: &NotesArgs) -> CmdResult {
    let ws = ctx.unit_workspace("notes")?;
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
    ctx.printer.render(&Notes {
        report: &report,
        ws: &ws,
        format: args.format,
    })?;
    Ok(if args.check && !report.problems.is_empty() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// The notes in the format asked for on stdout, what they lack on stderr.
/// `--json` is the whole report whatever `--format` says.
#[derive(Serialize)]
#[serde(transparent)]
struct Notes<'a> {
    report: &'a NotesReport,
    /// For the Markdown template's settings.
    #[serde(skip)]
    ws: &'a Workspace,
    #[serde(skip)]
    format: NotesFormat,
}

impl Render for Notes<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.report;
        let text = match self.format {
            NotesFormat::Markdown => notes::markdown(self.ws, &report.notes)?,
            NotesFormat::Yaml => render_yaml(&report.notes)?,
            NotesFormat::Json => {
                let mut text = serde_json::to_string_pretty(&report.notes)
                    .map_err(|e| trainyard_core::Error::Internal(e.to_string()))?;
                text.push('\n');
                text
            }
        };
        out.data(&text)?;
        let mut status = String::new();
        for problem in &report.problems {
            status.push_str(&format!(
                "{} {} ({})\n",
                paint(style::WARN, "incomplete:"),
                problem.message,
                &problem.commit[..problem.commit.len().min(10)]
            ));
        }
        Ok(out.status(&status)?)
    }
}

//! `trainyard check`: the pre-release checklist as the spec's table.

use serde::Serialize;
use trainyard_core::checklist::{self, ChecklistReport, Status};
use trainyard_core::version;

use super::{CliError, CmdResult, Context, Exit};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, version_arg: Option<&str>) -> CmdResult {
    let ws = ctx.unit_workspace("check")?;
    let version = version_arg
        .map(|text| version::parse(text.strip_prefix('v').unwrap_or(text)))
        .transpose()?;
    let report = checklist::check(&ws, version)?;
    ctx.printer.render(&Checklist {
        report: &report,
        release: ws.release_name(&report.version),
    })?;
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The checklist as the spec's table, and the verdict.
#[derive(Serialize)]
struct Checklist<'a> {
    #[serde(flatten)]
    report: &'a ChecklistReport,
    /// The release as messages name it (`core 1.2.0` in a package view).
    #[serde(skip)]
    release: String,
}

impl Render for Checklist<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.data(&table(self.report, &self.release))?)
    }
}

fn table(report: &ChecklistReport, release: &str) -> String {
    let mut out = format!(
        "Pre-release checklist for {} ({}) at {}\n\n",
        release,
        report.release_type,
        &report.commit[..report.commit.len().min(10)]
    );
    out.push_str(&format!(
        "{}\n",
        paint(
            style::LABEL,
            format!(
                "{:<5}  {:<21}  {:<27}  {:<10}  {:<6}  {}",
                "ID", "Check", "Validation", "Required", "Status", "Reason"
            )
        )
    ));
    for item in &report.items {
        let status = match item.status {
            Status::Pass => paint(style::GOOD, format!("{:<6}", "pass")),
            Status::Fail if item.required_here => paint(style::BAD, format!("{:<6}", "fail")),
            Status::Fail => paint(style::WARN, format!("{:<6}", "fail")),
            Status::Na => format!("{:<6}", "na"),
        };
        out.push_str(&format!(
            "{:<5}  {:<21}  {:<27}  {:<10}  {status}  {}\n",
            item.id, item.check, item.validation, item.required, item.reason
        ));
    }
    out.push('\n');
    out.push_str(&if report.passed {
        paint(style::GOOD, "every required item passes\n")
    } else {
        paint(
            style::BAD,
            "a required item fails: the release is blocked\n",
        )
    });
    out
}

//! `trainyard check`: the pre-release checklist as the spec's table.

use trainyard_core::checklist::{self, ChecklistReport, ChecklistRequest, Status};
use trainyard_core::version::{self, Bump};
use trainyard_core::{release, versioning};

use super::{CmdResult, Context, Exit};
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, version_arg: Option<&str>) -> CmdResult {
    let ws = ctx.workspace()?;
    let next = versioning::next(&ws, &versioning::NextRequest::default())?;
    let in_progress = release::in_progress(&ws)?;
    let (version, kind, branches) = match (version_arg, &in_progress) {
        (Some(text), _) => {
            let v = version::parse(text.strip_prefix('v').unwrap_or(text))?;
            let kind = kind_between(next.current.as_ref(), &v);
            (v, kind, Vec::new())
        }
        (None, Some(state)) => {
            let v = state.version()?;
            let kind = kind_between(next.current.as_ref(), &v);
            (
                v,
                kind,
                state.rcs.iter().map(|r| r.branch.clone()).collect(),
            )
        }
        (None, None) => (next.next.clone(), next.bump, Vec::new()),
    };
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let previous = tags.previous_release(&version).cloned();
    let report = checklist::run(
        &ws,
        &ChecklistRequest {
            version,
            kind,
            commit: ws.repo.head()?.commit,
            previous,
            release_branches: branches,
        },
    )?;
    if ctx.printer.json() {
        ctx.printer.write_json(&report)?;
    } else {
        ctx.printer.data(&render(&report))?;
    }
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn kind_between(current: Option<&version::Version>, next: &version::Version) -> Bump {
    match current {
        Some(c) if c.major != next.major => Bump::Major,
        Some(c) if c.minor != next.minor => Bump::Minor,
        Some(_) => Bump::Patch,
        None => Bump::Minor,
    }
}

fn render(report: &ChecklistReport) -> String {
    let mut out = format!(
        "Pre-release checklist for {} ({}) at {}\n\n",
        report.version,
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

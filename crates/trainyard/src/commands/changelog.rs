//! `trainyard changelog`: Keep a Changelog sections from history.

use trainyard_core::changelog::{self, ChangelogRequest, Scope};
use trainyard_core::version;

use super::{CmdResult, Context, Exit};
use crate::cli::ChangelogArgs;
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, args: &ChangelogArgs) -> CmdResult {
    let ws = ctx.workspace()?;
    if let Some(text) = &args.check {
        let wanted = version::parse(text.strip_prefix('v').unwrap_or(text))?;
        let present = changelog::has_section(&ws, &wanted)?;
        let path = ws.config.changelog.path.display().to_string();
        if ctx.printer.json() {
            ctx.printer.write_json(&serde_json::json!({
                "path": path, "version": wanted.to_string(), "present": present
            }))?;
        } else if present {
            ctx.printer.status(&format!(
                "{} {path} has a section for {wanted}\n",
                paint(style::GOOD, "ok:")
            ))?;
        } else {
            ctx.printer.status(&format!(
                "{} {path} has no section for {wanted}\n",
                paint(style::BAD, "missing:")
            ))?;
        }
        return Ok(if present {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    let scope = match (&args.version, args.all) {
        (Some(text), _) => Scope::Version(version::parse(text.strip_prefix('v').unwrap_or(text))?),
        (None, true) => Scope::All,
        (None, false) => Scope::Unreleased,
    };
    let report = changelog::generate(
        &ws,
        &ChangelogRequest {
            scope,
            include_prereleases: args.include_prereleases,
        },
    )?;
    if args.write {
        // One writer at a time: the file is read, merged and replaced.
        let _lock = if args.dry_run { None } else { Some(ws.lock()?) };
        let (outcome, text) = changelog::plan_write(&ws, &report)?;
        if !args.dry_run {
            changelog::apply_write(&outcome, &text)?;
        }
        if ctx.printer.json() {
            ctx.printer.write_json(&serde_json::json!({
                "written": outcome.changed && !args.dry_run,
                "outcome": outcome,
            }))?;
        } else {
            ctx.printer.data(&outcome.diff)?;
            let verb = match (outcome.changed, args.dry_run) {
                (false, _) => paint(style::GOOD, "unchanged:"),
                (true, true) => paint(style::WARN, "dry-run:"),
                (true, false) => paint(style::GOOD, "updated:"),
            };
            ctx.printer.status(&format!(
                "{verb} {} (sections: {})\n",
                outcome.path.display(),
                outcome.sections.join(", ")
            ))?;
        }
        return Ok(if args.dry_run && outcome.changed {
            Exit::Failure
        } else {
            Exit::Success
        });
    }
    if ctx.printer.json() {
        ctx.printer.write_json(&report)?;
    } else if args.all {
        ctx.printer
            .data(&changelog::render_document(&report.releases))?;
    } else {
        let text: String = report
            .releases
            .iter()
            .map(changelog::render_release)
            .collect();
        ctx.printer.data(&text)?;
    }
    Ok(Exit::Success)
}

//! `trainyard changelog`: Keep a Changelog sections from history.

use serde::Serialize;
use trainyard_core::changelog::{self, ChangelogReport, ChangelogRequest, Scope, WriteOutcome};
use trainyard_core::version;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::ChangelogArgs;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, args: &ChangelogArgs) -> CmdResult {
    let ws = ctx.unit_workspace("changelog")?;
    if let Some(text) = &args.check {
        let wanted = version::parse(text.strip_prefix('v').unwrap_or(text))?;
        let present = changelog::has_section(&ws, &wanted)?;
        let path = ws.config.changelog.path.display().to_string();
        ctx.printer.render(&SectionCheck {
            path,
            version: wanted.to_string(),
            present,
        })?;
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
        ctx.printer.render(&Written {
            written: outcome.changed && !args.dry_run,
            outcome: &outcome,
            dry_run: args.dry_run,
        })?;
        return Ok(if args.dry_run && outcome.changed {
            Exit::Failure
        } else {
            Exit::Success
        });
    }
    ctx.printer.render(&Sections {
        report: &report,
        whole_document: args.all,
    })?;
    Ok(Exit::Success)
}

/// `changelog --check`: whether the changelog has a version's section.
#[derive(Serialize)]
struct SectionCheck {
    path: String,
    version: String,
    present: bool,
}

impl Render for SectionCheck {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let (path, version) = (&self.path, &self.version);
        if self.present {
            out.status(&format!(
                "{} {path} has a section for {version}\n",
                paint(style::GOOD, "ok:")
            ))?;
        } else {
            out.status(&format!(
                "{} {path} has no section for {version}\n",
                paint(style::BAD, "missing:")
            ))?;
        }
        Ok(())
    }
}

/// `changelog --write`: the diff of the file, and what became of it.
#[derive(Serialize)]
struct Written<'a> {
    written: bool,
    outcome: &'a WriteOutcome,
    #[serde(skip)]
    dry_run: bool,
}

impl Render for Written<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let outcome = self.outcome;
        out.data(&outcome.diff)?;
        let verb = match (outcome.changed, self.dry_run) {
            (false, _) => paint(style::GOOD, "unchanged:"),
            (true, true) => paint(style::WARN, "dry-run:"),
            (true, false) => paint(style::GOOD, "updated:"),
        };
        Ok(out.status(&format!(
            "{verb} {} (sections: {})\n",
            outcome.path.display(),
            outcome.sections.join(", ")
        ))?)
    }
}

/// `changelog`: the sections as Markdown, the whole document with `--all`.
#[derive(Serialize)]
#[serde(transparent)]
struct Sections<'a> {
    report: &'a ChangelogReport,
    #[serde(skip)]
    whole_document: bool,
}

impl Render for Sections<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let releases = &self.report.releases;
        let text = if self.whole_document {
            changelog::render_document(releases)
        } else {
            releases.iter().map(changelog::render_release).collect()
        };
        Ok(out.data(&text)?)
    }
}

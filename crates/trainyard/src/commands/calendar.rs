//! `trainyard calendar ...`: the release calendar.

use std::path::Path;

use serde::Serialize;
use trainyard_core::calendar::track::{
    self, CalendarReport, GenerateReport, GenerateRequest, NextEvents, ShowReport,
};
use trainyard_core::calendar::validate::ValidationReport;
use trainyard_core::calendar::{self, Phase};
use trainyard_core::evidence::render_yaml;
use trainyard_core::{Error, version};

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::{CalendarCommand, ExportFormat};
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &CalendarCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let today = ws.today()?;
    match command {
        CalendarCommand::Generate {
            year,
            from_version,
            write,
            dry_run,
        } => {
            let from_version = from_version
                .as_deref()
                .map(|v| version::parse(v.strip_prefix('v').unwrap_or(v)))
                .transpose()?;
            let generated = track::generate(
                &ws,
                &GenerateRequest {
                    year: *year,
                    from_version,
                    write: *write,
                    dry_run: *dry_run,
                },
            )?;
            if let Some(evidence) = &generated.evidence {
                ctx.printer.status(&format!(
                    "{} {} (evidence {evidence})\n",
                    paint(style::GOOD, "wrote"),
                    generated.path.display(),
                ))?;
            }
            ctx.printer.render(&Generated(&generated))?;
            // A dry run fails only when writing would change the file.
            let Some(unchanged) = generated.unchanged else {
                return Ok(Exit::Success);
            };
            Ok(if unchanged {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        CalendarCommand::Status { file } => {
            let file = file.as_ref().map(|f| ctx.cwd.join(f));
            let report = track::status(&ws, file.as_deref(), today)?;
            ctx.printer.render(&Tracked(&report))?;
            Ok(Exit::Success)
        }
        CalendarCommand::Show { year } => {
            let shown = track::show(&ws, year.unwrap_or(today.year()), today)?;
            ctx.printer.render(&Shown(&shown))?;
            Ok(Exit::Success)
        }
        CalendarCommand::Next => {
            let next = track::next(&ws, today)?;
            ctx.printer.render(&Upcoming(&next))?;
            Ok(Exit::Success)
        }
        CalendarCommand::Phase { date } => {
            let day = match date {
                Some(text) => track::parse_day(&ws, text)?,
                None => today,
            };
            let phase = calendar::phase(&ws.config.cadence, day);
            ctx.printer.render(&DayPhase {
                date: day.to_string(),
                features_allowed: phase.features_allowed(),
                phase,
            })?;
            Ok(Exit::Success)
        }
        CalendarCommand::Validate { file } => {
            let path = ctx.cwd.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            let report =
                trainyard_core::calendar::validate::validate(&text, file, &ws.config.cadence)?;
            ctx.printer.render(&Validated {
                file,
                report: &report,
            })?;
            Ok(if report.ok() {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        CalendarCommand::Export { year, format } => {
            match format {
                ExportFormat::Ics => {
                    ctx.printer.data(&track::export_ics(&ws, *year)?)?;
                }
            }
            Ok(Exit::Success)
        }
    }
}

/// `calendar generate`: the calendar's YAML on stdout; on stderr the
/// adjustments made and, for a dry run, whether the file would change.
struct Generated<'a>(&'a GenerateReport);

impl Serialize for Generated<'_> {
    // The calendar alone: the YAML and the file are for people.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.report.serialize(serializer)
    }
}

impl Render for Generated<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let generated = self.0;
        out.data(&generated.yaml)?;
        let mut block = Block::default();
        for a in &generated.report.adjustments {
            block.row(&a.change, format!("{}: {}", a.release_date, a.reason));
        }
        out.status(&block.render())?;
        if let Some(unchanged) = generated.unchanged {
            let verdict = if unchanged {
                paint(style::GOOD, "unchanged:")
            } else {
                paint(style::WARN, "dry-run:")
            };
            out.status(&format!("{verdict} {}\n", generated.path.display()))?;
        }
        Ok(())
    }
}

/// `calendar status`: the calendar file as YAML, and the releases made.
#[derive(Serialize)]
#[serde(transparent)]
struct Tracked<'a>(&'a CalendarReport);

impl Render for Tracked<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        out.data(&render_yaml(&report.document)?)?;
        let mut block = Block::default();
        for actual in &report.actual_dates {
            block.row(
                "released",
                format!("{} as {} on {}", actual.version, actual.tag, actual.date),
            );
        }
        Ok(out.status(&block.render())?)
    }
}

/// `calendar show`: the year's events as a table.
#[derive(Serialize)]
#[serde(transparent)]
struct Shown<'a>(&'a ShowReport);

impl Render for Shown<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let shown = self.0;
        let mut text = format!(
            "{}\n",
            paint(
                style::LABEL,
                format!(
                    "{:<10}  {:<13}  {:<10}  {:>5}  {}",
                    "date", "event", "version", "days", "status"
                )
            )
        );
        for event in &shown.events {
            let days = if event.days_until == 0 {
                "today".to_owned()
            } else {
                event.days_until.to_string()
            };
            text.push_str(&format!(
                "{:<10}  {:<13}  {:<10}  {:>5}  {}\n",
                event.date,
                event.kind.replace('_', " "),
                event.version.as_deref().unwrap_or("-"),
                days,
                event.status
            ));
        }
        Ok(out.data(&text)?)
    }
}

/// `calendar next`: today's phase and the next rc cut and release.
#[derive(Serialize)]
#[serde(transparent)]
struct Upcoming<'a>(&'a NextEvents);

impl Render for Upcoming<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let next = self.0;
        let mut block = Block::default();
        block.row(
            "today",
            format!("{} ({})", next.today, next.phase.describe()),
        );
        if let Some(e) = &next.rc_cut {
            block.row(
                "rc cut",
                format!(
                    "{} for {} (in {} days)",
                    e.date,
                    e.version.as_deref().unwrap_or("-"),
                    e.days_until
                ),
            );
        }
        if let Some(e) = &next.release {
            block.row(
                "release",
                format!(
                    "{} {} {} (in {} days)",
                    e.kind.replace('_', " "),
                    e.version.as_deref().unwrap_or("-"),
                    e.date,
                    e.days_until
                ),
            );
        }
        Ok(out.data(&block.render())?)
    }
}

/// `calendar phase`: where a day stands in the release cycle.
#[derive(Serialize)]
struct DayPhase {
    date: String,
    phase: Phase,
    features_allowed: bool,
}

impl Render for DayPhase {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.data(&format!("{}: {}\n", self.date, self.phase.describe()))?)
    }
}

/// `calendar validate`: each problem as `file:line:column: message`, and
/// the verdict.
#[derive(Serialize)]
#[serde(transparent)]
struct Validated<'a> {
    #[serde(skip)]
    file: &'a Path,
    report: &'a ValidationReport,
}

impl Render for Validated<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let (file, report) = (self.file, self.report);
        let mut text = String::new();
        for problem in &report.problems {
            text.push_str(&format!("{}:{problem}\n", file.display()));
        }
        out.data(&text)?;
        let verdict = if report.ok() {
            paint(style::GOOD, "valid:")
        } else {
            paint(style::BAD, "invalid:")
        };
        Ok(out.status(&format!(
            "{verdict} {} ({} problem(s))\n",
            file.display(),
            report.problems.len()
        ))?)
    }
}

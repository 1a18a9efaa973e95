//! `trainyard calendar ...`: the release calendar.

use trainyard_core::calendar;
use trainyard_core::calendar_track::{self, CalendarReport};
use trainyard_core::evidence::render_yaml;
use trainyard_core::{Error, fsutil, version};

use super::{CmdResult, Context, Exit};
use crate::cli::{CalendarCommand, ExportFormat};
use crate::printer::{Block, paint, style};

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
            let from = from_version
                .as_deref()
                .map(|v| version::parse(v.strip_prefix('v').unwrap_or(v)))
                .transpose()?;
            let report = calendar_track::generate(&ws, *year, from.as_ref())?;
            let yaml = render_yaml(&report.document)?;
            if *write && !*dry_run {
                let _lock = ws.lock()?;
                let path = calendar_track::calendar_path(&ws, *year);
                fsutil::write_atomic(&path, yaml.as_bytes())?;
                let name = format!("{year}-{}", ws.stamp());
                let record = ws
                    .evidence_store()
                    .write_unique("release_calendar", &name, &yaml)?;
                ctx.printer.status(&format!(
                    "{} {} (evidence {})\n",
                    paint(style::GOOD, "wrote"),
                    path.display(),
                    record.record.path
                ))?;
            }
            if ctx.printer.json() {
                ctx.printer.write_json(&report)?;
            } else {
                ctx.printer.data(&yaml)?;
                render_adjustments(ctx, &report)?;
            }
            if !*dry_run {
                return Ok(Exit::Success);
            }
            // A dry run fails only when writing would change the file.
            let path = calendar_track::calendar_path(&ws, *year);
            let unchanged = calendar_track::file_holds(&ws, *year, &yaml)?;
            if !ctx.printer.json() {
                let verdict = if unchanged {
                    paint(style::GOOD, "unchanged:")
                } else {
                    paint(style::WARN, "dry-run:")
                };
                ctx.printer
                    .status(&format!("{verdict} {}\n", path.display()))?;
            }
            Ok(if unchanged {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        CalendarCommand::Status { file } => {
            let path = file.clone().map(|f| ctx.cwd.join(f)).or_else(|| {
                let default = calendar_track::calendar_path(&ws, today.year());
                default.exists().then_some(default)
            });
            let planned = match &path {
                Some(path) => calendar_track::read(path)?,
                None => {
                    calendar_track::generate(&ws, today.year(), None)?
                        .document
                        .release_calendar
                }
            };
            let report = calendar_track::status(&ws, &planned, today)?;
            if ctx.printer.json() {
                ctx.printer.write_json(&report)?;
            } else {
                ctx.printer.data(&render_yaml(&report.document)?)?;
                let mut block = Block::default();
                for actual in &report.actual_dates {
                    block.row(
                        "released",
                        format!("{} as {} on {}", actual.version, actual.tag, actual.date),
                    );
                }
                ctx.printer.status(&block.render())?;
            }
            Ok(Exit::Success)
        }
        CalendarCommand::Show { year } => {
            let year = year.unwrap_or(today.year());
            let outlook = calendar_track::outlook(&ws, year, today)?;
            let report = calendar_track::status(&ws, &outlook.document.release_calendar, today)?;
            let events = calendar_track::events(&report.document.release_calendar, today);
            if ctx.printer.json() {
                ctx.printer.write_json(&serde_json::json!({ "year": year, "today": today.to_string(), "events": events }))?;
                return Ok(Exit::Success);
            }
            let mut out = format!(
                "{}\n",
                paint(
                    style::LABEL,
                    format!(
                        "{:<10}  {:<13}  {:<10}  {:>5}  {}",
                        "date", "event", "version", "days", "status"
                    )
                )
            );
            let cal = &report.document.release_calendar;
            for event in &events {
                let status = calendar_track::event_status(cal, event);
                let days = if event.days_until == 0 {
                    "today".to_owned()
                } else {
                    event.days_until.to_string()
                };
                out.push_str(&format!(
                    "{:<10}  {:<13}  {:<10}  {:>5}  {status}\n",
                    event.date,
                    event.kind.replace('_', " "),
                    event.version,
                    days
                ));
            }
            ctx.printer.data(&out)?;
            Ok(Exit::Success)
        }
        CalendarCommand::Next => {
            let next = calendar_track::next(&ws, today)?;
            if ctx.printer.json() {
                ctx.printer.write_json(&next)?;
            } else {
                let mut block = Block::default();
                block.row(
                    "today",
                    format!("{} ({})", next.today, next.phase.describe()),
                );
                if let Some(e) = &next.rc_cut {
                    block.row(
                        "rc cut",
                        format!("{} for {} (in {} days)", e.date, e.version, e.days_until),
                    );
                }
                if let Some(e) = &next.release {
                    block.row(
                        "release",
                        format!(
                            "{} {} {} (in {} days)",
                            e.kind.replace('_', " "),
                            e.version,
                            e.date,
                            e.days_until
                        ),
                    );
                }
                ctx.printer.data(&block.render())?;
            }
            Ok(Exit::Success)
        }
        CalendarCommand::Phase { date } => {
            let day = match date {
                Some(text) => calendar_track::parse_day(&ws, text)?,
                None => today,
            };
            let phase = calendar::phase(&ws.config.cadence, day);
            if ctx.printer.json() {
                ctx.printer.write_json(&serde_json::json!({
                    "date": day.to_string(),
                    "phase": phase,
                    "features_allowed": phase.features_allowed(),
                }))?;
            } else {
                ctx.printer
                    .data(&format!("{day}: {}\n", phase.describe()))?;
            }
            Ok(Exit::Success)
        }
        CalendarCommand::Validate { file } => {
            let path = ctx.cwd.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            let report =
                trainyard_core::calendar_validate::validate(&text, file, &ws.config.cadence)?;
            if ctx.printer.json() {
                ctx.printer.write_json(&report)?;
            } else {
                let mut out = String::new();
                for problem in &report.problems {
                    out.push_str(&format!("{}:{problem}\n", file.display()));
                }
                ctx.printer.data(&out)?;
                let verdict = if report.ok() {
                    paint(style::GOOD, "valid:")
                } else {
                    paint(style::BAD, "invalid:")
                };
                ctx.printer.status(&format!(
                    "{verdict} {} ({} problem(s))\n",
                    file.display(),
                    report.problems.len()
                ))?;
            }
            Ok(if report.ok() {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        CalendarCommand::Export { year, format } => {
            let generated = calendar_track::generate(&ws, *year, None)?;
            let report = calendar_track::status(&ws, &generated.document.release_calendar, today)?;
            match format {
                ExportFormat::Ics => {
                    let project = ws.root.file_name().map_or_else(
                        || "project".to_owned(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    let text = trainyard_core::calendar_ics::to_ics(
                        &report.document.release_calendar,
                        &trainyard_core::calendar_ics::IcsOptions {
                            project,
                            tag_prefix: ws.config.versioning.tag_prefix.clone(),
                            stamp: ws.now,
                        },
                    );
                    ctx.printer.data(&text)?;
                }
            }
            Ok(Exit::Success)
        }
    }
}

fn render_adjustments(ctx: &Context<'_>, report: &CalendarReport) -> std::io::Result<()> {
    let mut block = Block::default();
    for a in &report.adjustments {
        block.row(&a.change, format!("{}: {}", a.release_date, a.reason));
    }
    ctx.printer.status(&block.render())
}

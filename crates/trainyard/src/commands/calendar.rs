//! `trainyard calendar ...`: the release calendar.

use trainyard_core::calendar;
use trainyard_core::calendar::track::{self, CalendarReport, GenerateRequest};
use trainyard_core::evidence::render_yaml;
use trainyard_core::{Error, version};

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
            if ctx.printer.json() {
                ctx.printer.write_json(&generated.report)?;
            } else {
                ctx.printer.data(&generated.yaml)?;
                render_adjustments(ctx, &generated.report)?;
            }
            // A dry run fails only when writing would change the file.
            let Some(unchanged) = generated.unchanged else {
                return Ok(Exit::Success);
            };
            if !ctx.printer.json() {
                let verdict = if unchanged {
                    paint(style::GOOD, "unchanged:")
                } else {
                    paint(style::WARN, "dry-run:")
                };
                ctx.printer
                    .status(&format!("{verdict} {}\n", generated.path.display()))?;
            }
            Ok(if unchanged {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        CalendarCommand::Status { file } => {
            let file = file.as_ref().map(|f| ctx.cwd.join(f));
            let report = track::status(&ws, file.as_deref(), today)?;
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
            let shown = track::show(&ws, year.unwrap_or(today.year()), today)?;
            if ctx.printer.json() {
                ctx.printer.write_json(&shown)?;
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
            for event in &shown.events {
                let days = if event.days_until == 0 {
                    "today".to_owned()
                } else {
                    event.days_until.to_string()
                };
                out.push_str(&format!(
                    "{:<10}  {:<13}  {:<10}  {:>5}  {}\n",
                    event.date,
                    event.kind.replace('_', " "),
                    event.version.as_deref().unwrap_or("-"),
                    days,
                    event.status
                ));
            }
            ctx.printer.data(&out)?;
            Ok(Exit::Success)
        }
        CalendarCommand::Next => {
            let next = track::next(&ws, today)?;
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
                ctx.printer.data(&block.render())?;
            }
            Ok(Exit::Success)
        }
        CalendarCommand::Phase { date } => {
            let day = match date {
                Some(text) => track::parse_day(&ws, text)?,
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
                trainyard_core::calendar::validate::validate(&text, file, &ws.config.cadence)?;
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
            match format {
                ExportFormat::Ics => {
                    ctx.printer.data(&track::export_ics(&ws, *year)?)?;
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

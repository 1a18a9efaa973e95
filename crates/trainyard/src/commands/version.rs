//! `trainyard version ...`: next, bump, history, validate, compare, sort.

use std::cmp::Ordering;
use std::io::BufRead;

use serde::Serialize;
use trainyard_core::Error;
use trainyard_core::version::{self, Bump, Channel};
use trainyard_core::versioning::{self, BumpRequest, BumpTarget, NextRequest};

use super::status::{next_summary, render_deciding};
use super::{CliError, CmdResult, Context, Exit};
use crate::cli::{BumpArgs, HistoryArgs, NextArgs, VersionCommand};
use crate::github;
use crate::printer::{Block, paint, style};

pub fn run(ctx: &Context<'_>, command: &VersionCommand) -> CmdResult {
    match command {
        VersionCommand::Next(args) => next(ctx, args),
        VersionCommand::Bump(args) => bump(ctx, args),
        VersionCommand::History(args) => history(ctx, args),
        VersionCommand::Validate { versions } => validate(ctx, versions),
        VersionCommand::Compare { a, b } => compare(ctx, a, b),
        VersionCommand::Sort => sort(ctx),
    }
}

fn channel(text: Option<&str>) -> Result<Option<Channel>, Error> {
    text.map(Channel::parse).transpose()
}

fn next(ctx: &Context<'_>, args: &NextArgs) -> CmdResult {
    let ws = ctx.workspace()?;
    let request = NextRequest {
        rev: args.rev.clone(),
        channel: channel(args.pre.as_deref())?,
        build: args.build.clone(),
    };
    let report = versioning::next(&ws, &request)?;
    // Without a release to make there is no version to hand on: a job
    // that tags `$(trainyard version next)` must not tag an old one.
    let mut outputs = vec![("release_needed", report.release_needed.to_string())];
    if let Some(next) = &report.next {
        outputs.push(("version", next.to_string()));
    }
    github::publish(ctx.printer, "version next", &outputs);
    if ctx.printer.json() {
        ctx.printer.write_json(&report)?;
        return Ok(Exit::Success);
    }
    // The version alone on stdout, for `$(trainyard version next)`; the
    // reasons on stderr.
    if let Some(next) = &report.next {
        ctx.printer.data(&format!("{next}\n"))?;
    }
    let mut block = Block::default();
    let since = report
        .latest_tag
        .as_deref()
        .unwrap_or("the start of history");
    block.row(
        "next",
        format!(
            "{} from {} commit(s) since {since}",
            next_summary(&report),
            report.commits.len()
        ),
    );
    render_deciding(&mut block, &report);
    if report.urgent {
        block.row(
            "urgent",
            paint(style::WARN, "a security fix is among the changes"),
        );
    }
    if report.nonconforming > 0 {
        block.row(
            "note",
            format!("{} commit(s) are not conventional", report.nonconforming),
        );
    }
    for note in &report.notes {
        block.row("note", note.clone());
    }
    ctx.printer.status(&block.render())?;
    Ok(Exit::Success)
}

fn bump(ctx: &Context<'_>, args: &BumpArgs) -> CmdResult {
    let target = if args.major {
        BumpTarget::Part(Bump::Major)
    } else if args.minor {
        BumpTarget::Part(Bump::Minor)
    } else if args.patch {
        BumpTarget::Part(Bump::Patch)
    } else if let Some(pre) = &args.pre {
        BumpTarget::Pre(Channel::parse(pre)?)
    } else if let Some(set) = &args.set {
        BumpTarget::Set(version::parse(set)?)
    } else {
        BumpTarget::Auto
    };
    let ws = ctx.workspace()?;
    // Plan and apply under one lock, so a concurrent run cannot slip in
    // between; a dry run changes nothing and needs none.
    let _lock = if args.dry_run { None } else { Some(ws.lock()?) };
    let report = versioning::plan_bump(
        &ws,
        &BumpRequest {
            target,
            allow_dirty: args.allow_dirty,
        },
    )?;
    let diff = report.plan.unified_diff();
    if args.dry_run {
        // What would be written is still worth a workflow's knowing.
        github::publish(
            ctx.printer,
            "version bump --dry-run",
            &[("version", report.version.to_string())],
        );
        if ctx.printer.json() {
            ctx.printer.write_json(&BumpOutput {
                applied: false,
                report: &report,
                evidence: None,
            })?;
        } else {
            ctx.printer.data(&diff)?;
            ctx.printer.status(&format!(
                "{} would write {} into {} file(s); dry run, nothing changed\n",
                paint(style::WARN, "dry-run:"),
                report.version,
                report.plan.edits.len()
            ))?;
        }
        // Like `diff`: 1 when changes are pending.
        return Ok(if report.plan.is_empty() {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    let applied = versioning::apply_bump(&ws, &report)?;
    github::publish(
        ctx.printer,
        "version bump",
        &[("version", report.version.to_string())],
    );
    if ctx.printer.json() {
        ctx.printer.write_json(&BumpOutput {
            applied: true,
            report: &report,
            evidence: applied.evidence,
        })?;
    } else {
        ctx.printer.data(&diff)?;
        ctx.printer.status(&format!(
            "{} {} in {} file(s)\n",
            paint(style::GOOD, "bumped:"),
            report.version,
            report.plan.edits.len()
        ))?;
    }
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct BumpOutput<'a> {
    applied: bool,
    #[serde(flatten)]
    report: &'a versioning::BumpReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
}

fn history(ctx: &Context<'_>, args: &HistoryArgs) -> CmdResult {
    let ws = ctx.workspace()?;
    let report = versioning::history(&ws, args.rev.as_deref())?;
    if ctx.printer.json() {
        ctx.printer.write_json(&report)?;
    } else {
        let width = report
            .releases
            .iter()
            .map(|r| r.tag.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let mut out = format!(
            "{}\n",
            paint(
                style::LABEL,
                format!(
                    "{:<width$}  {:<7}  {:>7}  {}",
                    "tag", "bump", "commits", "check"
                )
            )
        );
        for release in &report.releases {
            let check = if release.matches {
                paint(style::GOOD, "ok")
            } else {
                paint(style::BAD, format!("expected {}", release.expected))
            };
            let urgent = if release.urgent { "  security" } else { "" };
            out.push_str(&format!(
                "{:<width$}  {:<7}  {:>7}  {check}{urgent}\n",
                release.tag, release.bump, release.commits
            ));
        }
        ctx.printer.data(&out)?;
        ctx.printer.status(&format!(
            "{} releases, {} commits classified, {} unreleased, {} mismatch(es)\n",
            report.releases.len(),
            report.commits,
            report.unreleased,
            report.mismatches
        ))?;
    }
    Ok(if args.check && report.mismatches > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

#[derive(Serialize)]
struct Validity {
    version: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn validate(ctx: &Context<'_>, versions: &[String]) -> CmdResult {
    let results: Vec<Validity> = versions
        .iter()
        .map(|v| {
            let reason = version::invalid_reason(v);
            Validity {
                version: v.clone(),
                valid: reason.is_none(),
                reason,
            }
        })
        .collect();
    if ctx.printer.json() {
        ctx.printer.write_json(&results)?;
    } else {
        let mut out = String::new();
        for r in &results {
            match &r.reason {
                None => out.push_str(&format!("{}: {}\n", r.version, paint(style::GOOD, "valid"))),
                Some(reason) => out.push_str(&format!(
                    "{}: {} {reason}\n",
                    r.version,
                    paint(style::BAD, "invalid:")
                )),
            }
        }
        ctx.printer.data(&out)?;
    }
    Ok(if results.iter().all(|r| r.valid) {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn compare(ctx: &Context<'_>, a: &str, b: &str) -> CmdResult {
    let (va, vb) = (version::parse(a)?, version::parse(b)?);
    let sign = match version::cmp_precedence(&va, &vb) {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    };
    if ctx.printer.json() {
        ctx.printer
            .write_json(&serde_json::json!({ "a": a, "b": b, "order": sign }))?;
    } else {
        ctx.printer.data(&format!("{sign}\n"))?;
    }
    Ok(Exit::Success)
}

fn sort(ctx: &Context<'_>) -> CmdResult {
    let stdin = std::io::stdin();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| Error::io("cannot read", "standard input", e))?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match version::parse(text) {
            Ok(v) => valid.push((v, text.to_owned())),
            Err(e) => invalid.push(format!("line {}: {e}", n + 1)),
        }
    }
    // Stable: versions of equal precedence keep their input order.
    valid.sort_by(|a, b| version::cmp_precedence(&a.0, &b.0));
    let sorted: Vec<&str> = valid.iter().map(|(_, t)| t.as_str()).collect();
    if ctx.printer.json() {
        ctx.printer
            .write_json(&serde_json::json!({ "sorted": sorted, "invalid": invalid }))?;
    } else {
        let mut out = String::new();
        for text in &sorted {
            out.push_str(text);
            out.push('\n');
        }
        ctx.printer.data(&out)?;
    }
    if invalid.is_empty() {
        return Ok(Exit::Success);
    }
    Err(CliError::Core(Error::input(invalid.join("\n       "))))
}

//! `trainyard version ...`: next, bump, history, validate, compare, sort.

use std::cmp::Ordering;
use std::io::BufRead;

use serde::Serialize;
use trainyard_core::Error;
use trainyard_core::version::{self, Bump, Channel};
use trainyard_core::versioning::{
    self, BumpRequest, BumpTarget, HistoryReport, NextReport, NextRequest,
};

use super::status::{next_summary, render_deciding};
use super::{CliError, CmdResult, Context, Exit};
use crate::cli::{BumpArgs, HistoryArgs, NextArgs, VersionCommand};
use crate::github;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

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
        at_least: None,
    };
    if ws.package.is_none() && !ws.config.packages.is_empty() {
        let all = trainyard_core::monorepo::plan::next_all(&ws, &request)?;
        ctx.printer.render(&super::packages::Table(&all))?;
        return Ok(Exit::Success);
    }
    let report = trainyard_core::monorepo::plan::next_of(&ws, &request)?;
    // Without a release to make there is no version to hand on: a job
    // that tags `$(trainyard version next)` must not tag an old one.
    let mut outputs = vec![("release_needed", report.release_needed.to_string())];
    if let Some(next) = &report.next {
        outputs.push(("version", next.to_string()));
    }
    github::publish(ctx.printer, "version next", &outputs);
    ctx.printer.render(&Next(&report))?;
    Ok(Exit::Success)
}

/// `version next`: the version alone on stdout, for
/// `$(trainyard version next)`; the reasons on stderr.
#[derive(Serialize)]
#[serde(transparent)]
struct Next<'a>(&'a NextReport);

impl Render for Next<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        if let Some(next) = &report.next {
            out.data(&format!("{next}\n"))?;
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
                next_summary(report),
                report.commits.len()
            ),
        );
        render_deciding(&mut block, report);
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
        Ok(out.status(&block.render())?)
    }
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
    let request = BumpRequest {
        target,
        allow_dirty: args.allow_dirty,
    };
    if ws.package.is_none() && !ws.config.packages.is_empty() {
        return bump_all(ctx, &ws, &request, args.dry_run);
    }
    let report = trainyard_core::monorepo::bump::plan_one(&ws, &request)?;
    let diff = report.plan.unified_diff();
    if args.dry_run {
        // What would be written is still worth a workflow's knowing.
        github::publish(
            ctx.printer,
            "version bump --dry-run",
            &[("version", report.version.to_string())],
        );
        ctx.printer.render(&BumpOutput {
            applied: false,
            report: &report,
            evidence: None,
            diff: &diff,
        })?;
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
    ctx.printer.render(&BumpOutput {
        applied: true,
        report: &report,
        evidence: applied.evidence,
        diff: &diff,
    })?;
    Ok(Exit::Success)
}

/// `version bump` in a monorepo without `--package`: every package due.
fn bump_all(
    ctx: &Context<'_>,
    ws: &trainyard_core::workspace::Workspace,
    request: &BumpRequest,
    dry_run: bool,
) -> CmdResult {
    use trainyard_core::monorepo::bump;
    let planned = bump::plan_all(ws, request)?;
    let diff = planned.plan.unified_diff();
    let evidence = if dry_run {
        Vec::new()
    } else {
        bump::apply_all(ws, &planned)?
    };
    ctx.printer.render(&MonorepoBumpOutput {
        applied: !dry_run,
        report: &planned,
        evidence,
        diff: &diff,
    })?;
    Ok(if dry_run && !planned.plan.is_empty() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// `version bump` of every due package: the diff on stdout, each
/// package's version on stderr.
#[derive(Serialize)]
struct MonorepoBumpOutput<'a> {
    applied: bool,
    #[serde(flatten)]
    report: &'a trainyard_core::monorepo::bump::MonorepoBump,
    evidence: Vec<String>,
    #[serde(skip)]
    diff: &'a str,
}

impl Render for MonorepoBumpOutput<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        out.data(self.diff)?;
        let mut text = String::new();
        for p in &self.report.packages {
            let from = p
                .current
                .as_ref()
                .map_or_else(|| "unreleased".to_owned(), ToString::to_string);
            text.push_str(&format!(
                "  {}  {from} -> {} ({})\n",
                p.package, p.version, p.tag
            ));
        }
        let head = if self.applied {
            paint(style::GOOD, "bumped:")
        } else {
            paint(style::WARN, "dry-run:")
        };
        out.status(&format!(
            "{head} {} package(s) in {} file(s){}\n{text}",
            self.report.packages.len(),
            self.report.plan.edits.len(),
            if self.applied {
                ""
            } else {
                "; dry run, nothing changed"
            }
        ))?;
        Ok(())
    }
}

/// `version bump`: the diff of the files on stdout, what was (or would
/// be) written on stderr.
#[derive(Serialize)]
struct BumpOutput<'a> {
    applied: bool,
    #[serde(flatten)]
    report: &'a versioning::BumpReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
    #[serde(skip)]
    diff: &'a str,
}

impl Render for BumpOutput<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.report;
        out.data(self.diff)?;
        if self.applied {
            out.status(&format!(
                "{} {} in {} file(s)\n",
                paint(style::GOOD, "bumped:"),
                report.version,
                report.plan.edits.len()
            ))?;
        } else {
            out.status(&format!(
                "{} would write {} into {} file(s); dry run, nothing changed\n",
                paint(style::WARN, "dry-run:"),
                report.version,
                report.plan.edits.len()
            ))?;
        }
        Ok(())
    }
}

fn history(ctx: &Context<'_>, args: &HistoryArgs) -> CmdResult {
    let ws = ctx.workspace()?;
    if ws.package.is_none() && !ws.config.packages.is_empty() {
        let all = trainyard_core::monorepo::history::history_all(&ws, args.rev.as_deref())?;
        let mismatches: usize = all.packages.iter().map(|p| p.history.mismatches).sum();
        ctx.printer.render(&PackageReleases(&all))?;
        return Ok(if args.check && mismatches > 0 {
            Exit::Failure
        } else {
            Exit::Success
        });
    }
    let report = versioning::history(&ws, args.rev.as_deref())?;
    ctx.printer.render(&Releases(&report))?;
    Ok(if args.check && report.mismatches > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// `version history`: each release's bump checked against its commits.
#[derive(Serialize)]
#[serde(transparent)]
struct Releases<'a>(&'a HistoryReport);

impl Render for Releases<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let width = report
            .releases
            .iter()
            .map(|r| r.tag.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let mut text = format!(
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
            text.push_str(&format!(
                "{:<width$}  {:<7}  {:>7}  {check}{urgent}\n",
                release.tag, release.bump, release.commits
            ));
        }
        out.data(&text)?;
        Ok(out.status(&format!(
            "{} releases, {} commits classified, {} unreleased, {} mismatch(es)\n",
            report.releases.len(),
            report.commits,
            report.unreleased,
            report.mismatches
        ))?)
    }
}

/// `version history` of every package: one section per package.
#[derive(Serialize)]
#[serde(transparent)]
struct PackageReleases<'a>(&'a trainyard_core::monorepo::history::PackagesHistory);

impl Render for PackageReleases<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        for (i, package) in self.0.packages.iter().enumerate() {
            let separator = if i == 0 { "" } else { "\n" };
            out.data(&format!(
                "{separator}{}\n",
                paint(style::LABEL, &package.package)
            ))?;
            Releases(&package.history).human(out)?;
        }
        Ok(())
    }
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
    ctx.printer.render(&Validities(&results))?;
    Ok(if results.iter().all(|r| r.valid) {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `version validate`: each version, valid or why not.
#[derive(Serialize)]
#[serde(transparent)]
struct Validities<'a>(&'a [Validity]);

impl Render for Validities<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for r in self.0 {
            match &r.reason {
                None => text.push_str(&format!("{}: {}\n", r.version, paint(style::GOOD, "valid"))),
                Some(reason) => text.push_str(&format!(
                    "{}: {} {reason}\n",
                    r.version,
                    paint(style::BAD, "invalid:")
                )),
            }
        }
        Ok(out.data(&text)?)
    }
}

fn compare(ctx: &Context<'_>, a: &str, b: &str) -> CmdResult {
    let (va, vb) = (version::parse(a)?, version::parse(b)?);
    let sign = match version::cmp_precedence(&va, &vb) {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    };
    ctx.printer.render(&Comparison { a, b, order: sign })?;
    Ok(Exit::Success)
}

/// `version compare`: `<`, `=` or `>`.
#[derive(Serialize)]
struct Comparison<'a> {
    a: &'a str,
    b: &'a str,
    order: &'static str,
}

impl Render for Comparison<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.data(&format!("{}\n", self.order))?)
    }
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
    ctx.printer.render(&Sorted {
        sorted,
        invalid: &invalid,
    })?;
    if invalid.is_empty() {
        return Ok(Exit::Success);
    }
    Err(CliError::Core(Error::input(invalid.join("\n       "))))
}

/// `version sort`: the valid versions in precedence order, one a line;
/// the invalid ones are the command's error.
#[derive(Serialize)]
struct Sorted<'a> {
    sorted: Vec<&'a str>,
    invalid: &'a [String],
}

impl Render for Sorted<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for version in &self.sorted {
            text.push_str(version);
            text.push('\n');
        }
        Ok(out.data(&text)?)
    }
}

//! `trainyard release ...`: the release workflow.

use serde::Serialize;
use trainyard_core::Error;
use trainyard_core::release::{self, Action, StepReport, StepRequest};
use trainyard_core::states::release::ReleaseState;
use trainyard_core::version::Bump;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::ReleaseCommand;
use crate::github;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &ReleaseCommand) -> CmdResult {
    let ws = ctx.unit_workspace("release")?;
    let (request, dry_run) = match command {
        ReleaseCommand::Start {
            kind,
            force,
            dry_run,
        } => {
            let kind = match kind.as_deref() {
                None => None,
                Some("patch") => Some(Bump::Patch),
                Some("minor") => Some(Bump::Minor),
                Some("major") => Some(Bump::Major),
                Some(other) => {
                    return Err(Error::input(format!(
                        "invalid release kind `{other}`: expected patch, minor or major"
                    ))
                    .into());
                }
            };
            (
                StepRequest::Start {
                    kind,
                    force: *force,
                },
                *dry_run,
            )
        }
        ReleaseCommand::Rc { from, dry_run } => (StepRequest::Rc { from: from.clone() }, *dry_run),
        ReleaseCommand::Validate { dry_run } => (StepRequest::Validate, *dry_run),
        ReleaseCommand::Publish { dry_run } => (StepRequest::Publish, *dry_run),
        ReleaseCommand::Post { dry_run } => (StepRequest::Post, *dry_run),
        ReleaseCommand::Abort { dry_run } => (StepRequest::Abort, *dry_run),
        ReleaseCommand::Status => return status(ctx, &ws),
    };
    let plan = release::plan(&ws, &request)?;
    let report = if dry_run {
        plan.dry_run()
    } else {
        release::execute(&ws, plan)?
    };
    if matches!(command, ReleaseCommand::Publish { .. }) {
        // Released only when the tag and every channel are done; a dry
        // run or a blocked publication says false.
        let released = report.applied && report.passed;
        // In the configuration's order: the first forge's release page.
        let receipts: Vec<_> = ws
            .config
            .release
            .channels
            .iter()
            .filter_map(|c| report.state.publication.channels.get(c.name()))
            .collect();
        let release_url = receipts
            .iter()
            .filter(|r| r.kind.is_forge_release())
            .find_map(|r| r.urls().first().map(|u| (*u).to_owned()))
            .unwrap_or_default();
        let packages: Vec<String> = receipts
            .iter()
            .filter(|r| r.kind.is_registry())
            .flat_map(|r| r.items.iter().map(move |i| format!("{}: {i}", r.channel)))
            .collect();
        github::publish(
            ctx.printer,
            "release publish",
            &[
                ("version", report.version.clone()),
                ("released", released.to_string()),
                ("release_url", release_url),
                ("packages", packages.join("; ")),
            ],
        );
    }
    let what = match &ws.package {
        Some(unit) => format!("{} {}", unit.name, report.version),
        None => report.version.to_string(),
    };
    ctx.printer.render(&Step(&report, what))?;
    if report.applied
        && matches!(
            command,
            ReleaseCommand::Validate { .. } | ReleaseCommand::Publish { .. }
        )
    {
        // Both rest on the sign-offs.
        super::unverified_notice(ctx, &ws)?;
    }
    Ok(
        if !report.applied && !report.actions.is_empty() || !report.passed {
            Exit::Failure
        } else {
            Exit::Success
        },
    )
}

/// A release step: its actions on stdout, its messages and verdict on
/// stderr.
#[derive(Serialize)]
#[serde(transparent)]
struct Step<'a>(&'a StepReport, #[serde(skip)] String);

impl Render for Step<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let mut text = String::new();
        for action in &report.actions {
            text.push_str(&format!("{}\n", describe(action)));
        }
        out.data(&text)?;
        let mut block = Block::default();
        for message in &report.messages {
            block.row(
                if report.passed { "note" } else { "failed" },
                message.clone(),
            );
        }
        let verdict = match (report.applied, report.passed) {
            (false, _) => format!("{} nothing changed", paint(style::WARN, "dry-run:")),
            (true, true) => format!(
                "{} release {} is {}",
                paint(style::GOOD, "done:"),
                self.1,
                report.state.step.as_str()
            ),
            (true, false) => format!(
                "{} release {} is {}",
                paint(style::BAD, "blocked:"),
                self.1,
                report.state.step.as_str()
            ),
        };
        block.row(&report.step, verdict);
        Ok(out.status(&block.render())?)
    }
}

fn describe(action: &Action) -> String {
    match action {
        Action::WriteState { path, step } => format!(
            "record the release as {} in {}",
            step.as_str(),
            path.display()
        ),
        Action::CreateBranch { branch, at } => {
            format!("create branch {branch} at {}", &at[..at.len().min(10)])
        }
        Action::Commit {
            branch,
            message,
            files,
            ..
        } => {
            if files.is_empty() {
                format!("commit nothing on {branch} (manifests and changelog already current)")
            } else {
                format!("commit \"{message}\" on {branch}: {}", files.join(", "))
            }
        }
        Action::Tag { tag, at, .. } => {
            format!("tag {tag} at {at} (annotated, signed when git signs tags)")
        }
        Action::RunGate { gate, at } => format!("run gate {gate} on {at} and record the result"),
        Action::Validate { at } => format!("run the checklist and the two-layer review on {at}"),
        Action::BuildArtifacts { at, dir } => format!(
            "build the artifacts of {at} into {} with SHA256SUMS",
            dir.display()
        ),
        // Before the build, a directory channel has no files to name yet.
        Action::Publish { channel, steps } if steps.is_empty() => {
            format!("publish to {channel}: the artifacts, once built")
        }
        Action::Publish { channel, steps } => format!("publish to {channel}: {}", steps.join("; ")),
        Action::WriteEvidence { documents } => format!("write evidence: {}", documents.join(", ")),
        Action::WriteFile { path, why } => format!("rewrite {}: {why}", path.display()),
        Action::Run { command } => format!("run `{command}`"),
        Action::Sync { sync_id, why } => format!("run on_release sync {sync_id} ({why})"),
        Action::Merge { branch, into, .. } => {
            format!("merge {branch} into {into} with git (no change when it would conflict)")
        }
        Action::DeleteBranch { branch } => format!("delete branch {branch}"),
        Action::DeleteTag { tag } => format!("delete tag {tag}"),
    }
}

fn status(ctx: &Context<'_>, ws: &trainyard_core::workspace::Workspace) -> CmdResult {
    let states = release::all(ws)?;
    ctx.printer.render(&Releases(&states))?;
    Ok(Exit::Success)
}

/// `release status`: every release, one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct Releases<'a>(&'a [ReleaseState]);

impl Render for Releases<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let states = self.0;
        let mut text = String::new();
        for state in states {
            let rc = state
                .rcs
                .last()
                .map(|r| r.tag.clone())
                .unwrap_or_else(|| "-".into());
            let channels: Vec<&String> = state.publication.channels.keys().collect();
            text.push_str(&format!(
                "{:<10} {:<6} {:<10} last rc {:<16} published to {}\n",
                state.version,
                state.kind,
                state.step.as_str(),
                rc,
                if channels.is_empty() {
                    "-".to_owned()
                } else {
                    channels
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        if states.is_empty() {
            text.push_str("no release started: run `trainyard release start patch|minor|major`\n");
        }
        Ok(out.data(&text)?)
    }
}

//! `trainyard status`: where this repository stands in its release cycle.

use serde::Serialize;
use trainyard_core::status::{self, StatusReport};
use trainyard_core::versioning::NextReport;

use super::{CliError, CmdResult, Context, Exit};
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>) -> CmdResult {
    let ws = ctx.workspace()?;
    if ws.package.is_none() && !ws.config.packages.is_empty() {
        let all = trainyard_core::monorepo::plan::next_all(&ws, &Default::default())?;
        ctx.printer.render(&super::packages::Table(&all))?;
        return Ok(Exit::Success);
    }
    let report = status::status(&ws)?;
    ctx.printer.render(&Standing(&report))?;
    Ok(Exit::Success)
}

/// Where the repository stands, as one aligned block.
#[derive(Serialize)]
#[serde(transparent)]
struct Standing<'a>(&'a StatusReport);

impl Render for Standing<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.data(&render(self.0))?)
    }
}

fn render(report: &StatusReport) -> String {
    let next = &report.next;
    let mut block = Block::default();
    block.row("repository", report.root.display().to_string());
    let config = match &report.config {
        Some(path) => path.display().to_string(),
        None => "defaults (no trainyard.yaml)".into(),
    };
    block.row("config", config);
    let head = match &report.head.branch {
        Some(branch) => format!("{branch} at {}", &report.head.commit[..10]),
        None => format!("detached at {}", &report.head.commit[..10]),
    };
    block.row("head", head);
    let mut current = match (&next.current_tag, &next.current) {
        (Some(tag), Some(_)) => tag.clone(),
        _ if next.latest.is_some() => "none in effect".into(),
        _ => "none (no release tag yet)".into(),
    };
    if !next.withdrawn.is_empty() {
        let withdrawn: Vec<String> = next.withdrawn.iter().map(ToString::to_string).collect();
        current.push_str(&format!(
            " ({} withdrawn by a rollback)",
            withdrawn.join(", ")
        ));
    }
    block.row("current", current);
    if let Some(under_way) = &next.in_progress {
        block.row(
            "in progress",
            format!("release {} ({})", under_way.version, under_way.standing),
        );
    }
    if let Some(open) = &next.open_prerelease {
        block.row("pre-release", format!("{open} (open line)"));
    }
    block.row("unreleased", unreleased_summary(report));
    block.row("next", next_summary(next));
    render_deciding(&mut block, next);
    if next.urgent {
        let security: Vec<_> = next.commits.iter().filter(|c| c.security).collect();
        block.row(
            "urgent",
            paint(
                style::WARN,
                format!("{} security fix(es): release soon", security.len()),
            ),
        );
        for commit in security.iter().take(5) {
            block.row(
                "",
                format!(
                    "{} {}",
                    paint(style::DIM, commit.short_id()),
                    commit.summary
                ),
            );
        }
    }
    let mut first = true;
    for manifest in &report.manifests {
        let version = manifest
            .version
            .clone()
            .unwrap_or_else(|| format!("none ({})", manifest.reason.clone().unwrap_or_default()));
        let differs = report
            .disagreeing_manifests
            .iter()
            .any(|d| d.path == manifest.path && d.key == manifest.key);
        let inherited = if manifest.inherited {
            " (inherited)"
        } else {
            ""
        };
        let mark = if differs {
            paint(style::WARN, " differs from the current release")
        } else {
            String::new()
        };
        block.row(
            if first { "manifests" } else { "" },
            format!(
                "{} {} {version}{inherited}{mark}",
                manifest.path.display(),
                manifest.key
            ),
        );
        first = false;
    }
    if report.manifests.is_empty() {
        block.row("manifests", "none found");
    }
    let cal = &report.calendar;
    block.row("phase", format!("{} ({})", cal.phase.describe(), cal.today));
    if let Some(e) = &cal.rc_cut {
        block.row(
            "next rc cut",
            format!(
                "{} for {} (in {} days)",
                e.date,
                e.version.as_deref().unwrap_or("-"),
                e.days_until
            ),
        );
    }
    if let Some(e) = &cal.release {
        block.row(
            "next release",
            format!(
                "{} {} (in {} days)",
                e.date,
                e.version.as_deref().unwrap_or("-"),
                e.days_until
            ),
        );
    }
    for (i, note) in next.notes.iter().enumerate() {
        block.row(if i == 0 { "notes" } else { "" }, note.clone());
    }
    block.render()
}

fn unreleased_summary(report: &StatusReport) -> String {
    let total = report.next.commits.len();
    if total == 0 {
        return "no commits since the current release".into();
    }
    let parts: Vec<String> = report
        .changes_by_type
        .iter()
        .map(|(kind, n)| {
            if kind == "other" {
                format!("{n} not conventional")
            } else {
                format!("{n} {kind}")
            }
        })
        .collect();
    format!(
        "{total} commit{}: {}",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// `1.3.0 (minor, tag v1.3.0)` or `no release needed`.
pub fn next_summary(next: &NextReport) -> String {
    match (&next.next, &next.next_tag) {
        (Some(version), Some(tag)) if next.release_needed => {
            format!("{} ({}, tag {tag})", paint(style::GOOD, version), next.bump,)
        }
        _ => "no release needed".into(),
    }
}

/// The commits that decided the bump, a few of them.
pub fn render_deciding(block: &mut Block, next: &NextReport) {
    const SHOWN: usize = 5;
    for reason in &next.because {
        block.row("because", reason.clone());
    }
    for (i, commit) in next.deciding.iter().take(SHOWN).enumerate() {
        block.row(
            if i == 0 { "because" } else { "" },
            format!(
                "{} {} ({})",
                paint(style::DIM, commit.short_id()),
                commit.summary,
                commit.reason.describe()
            ),
        );
    }
    if next.deciding.len() > SHOWN {
        block.row("", format!("and {} more", next.deciding.len() - SHOWN));
    }
}

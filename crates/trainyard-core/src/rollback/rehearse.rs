//! `rollback rehearse`: an immediate rollback carried out on scratch
//! copies (a clone of the repository with its `.trainyard` state, copies
//! of the directory channels and of the config sync targets), verified,
//! and recorded in the real evidence store as a `rollback_rehearsal`:
//! what checklist item RL-07 asks of a major release.
//!
//! Nothing outside the scratch directory is written but that record:
//! channels other than directories (git remotes, HTTP, commands) are left
//! out of the rehearsal, and so are the notify commands.

use std::path::Path;

use serde::Serialize;

use super::Kind;
use super::decision::{Impact, Severity};
use super::plan::{self, PlanRequest};
use super::procedure::{self, StartRequest};
use crate::channels::ChannelConfig;
use crate::checklist::REHEARSAL_KIND;
use crate::git_cli;
use crate::history::Repo;
use crate::release;
use crate::sync::config::SyncConfig;
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What a rehearsal found.
#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    /// The release rolled back.
    pub from: String,
    /// The release gone back to.
    pub to: String,
    /// Whether the rollback ran and its verification passed.
    pub passed: bool,
    /// What was done and checked.
    pub details: Vec<String>,
    /// The `rollback_rehearsal` record.
    pub evidence: String,
}

/// Rehearses rolling `version` back to `to` (default: the release before
/// it). `version` may be the release in progress: its latest candidate
/// stands in for the release.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown version or one without an
/// earlier release, and the errors of the scratch rollback's setup.
pub fn rehearse(ws: &Workspace, version: &str, to: Option<&str>) -> Result<RehearsalReport> {
    let from = version::parse(version)?;
    let from_tag = ws.tag_name(&from);
    let from_rev = if git_cli::ref_exists(&ws.home, &format!("refs/tags/{from_tag}")) {
        from_tag.clone()
    } else {
        release::all(ws)?
            .into_iter()
            .find(|s| s.version == from.to_string())
            .and_then(|s| s.rcs.last().map(|rc| rc.commit.clone()))
            .ok_or_else(|| {
                Error::input(format!(
                    "{} has no tag and no release candidate: cut one (`{}`) to rehearse its rollback",
                    ws.release_name(&from),
                    ws.command("release rc")
                ))
            })?
    };
    let to = match to {
        Some(v) => version::parse(v)?,
        None => previous_release(ws, &from)?,
    };
    let scratch = tempfile::Builder::new()
        .prefix("trainyard-rehearsal-")
        .tempdir()
        .map_err(|e| Error::environment(format!("cannot create a scratch directory: {e}")))?;
    let mut details = Vec::new();
    let scratch_ws = scratch_workspace(ws, scratch.path(), &mut details)?;
    if !git_cli::ref_exists(&scratch_ws.home, &format!("refs/tags/{from_tag}")) {
        git_cli::run(&scratch_ws.home, &["tag", &from_tag, &from_rev])?;
        details.push(format!(
            "{from} is not tagged yet: its latest candidate ({}) stands in for it",
            &from_rev[..12.min(from_rev.len())]
        ));
    }
    let outcome = plan::plan(
        &scratch_ws,
        &PlanRequest {
            to: to.to_string(),
            from: Some(from.to_string()),
            kind: Kind::Immediate,
            components: Vec::new(),
        },
    )
    .and_then(|planned| {
        procedure::start(
            &scratch_ws,
            &StartRequest {
                plan_id: planned.plan.plan_id,
                issue_id: format!("rehearsal-{from}"),
                severity: Severity::Critical,
                impact: Impact::Widespread,
                description: format!("rollback rehearsal of {from} to {to}"),
                detected_at: None,
                detected_by: None,
                by: None,
                check: None,
            },
        )
    });
    let (passed, evidence) = match outcome {
        Ok(report) => {
            details.extend(
                report
                    .state
                    .steps
                    .iter()
                    .flat_map(|s| s.notes.iter().map(move |n| format!("{}: {n}", s.name))),
            );
            (report.succeeded(), procedure::evidence_of(&report.state))
        }
        Err(error) => {
            details.push(format!("the rollback failed: {error}"));
            let state = failed_state(ws, &from, &to, &error.to_string());
            (false, state)
        }
    };
    let record = ws.evidence_store().write_value_unique(
        REHEARSAL_KIND,
        &format!("{}-{}", ws.scoped_name(&from.to_string()), ws.stamp()),
        &procedure::EvidenceDocument {
            rollback_evidence: evidence,
        },
    )?;
    Ok(RehearsalReport {
        from: from.to_string(),
        to: to.to_string(),
        passed,
        details,
        evidence: record.record.path,
    })
}

/// The newest stable release tag older than `from`.
fn previous_release(ws: &Workspace, from: &Version) -> Result<Version> {
    let prefix = &ws.config.versioning.tag_prefix;
    git_cli::run(&ws.home, &["tag", "--list"])?
        .lines()
        .filter_map(|tag| tag.strip_prefix(prefix.as_str()))
        .filter_map(|v| version::parse(v).ok())
        .filter(|v| v.pre.is_empty() && v.cmp_precedence(from) == std::cmp::Ordering::Less)
        .max_by(|a, b| a.cmp_precedence(b))
        .ok_or_else(|| {
            Error::input(format!(
                "no release before {from} to roll back to: name one with --to"
            ))
        })
}

/// A clone of the repository with a copy of its `.trainyard` state, its
/// directory channels and config sync targets redirected into `scratch`.
fn scratch_workspace(
    ws: &Workspace,
    scratch: &Path,
    details: &mut Vec<String>,
) -> Result<Workspace> {
    let repo = scratch.join("repo");
    git_cli::run(
        scratch,
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            &ws.home.display().to_string(),
            &repo.display().to_string(),
        ],
    )?;
    let state = ws.home.join(&ws.config.evidence.dir);
    if state.is_dir() {
        copy_dir(&state, &repo.join(&ws.config.evidence.dir))?;
    }
    let mut config = ws.config.clone();
    config.rollback.notify.clear();
    let mut channels = Vec::new();
    for channel in &config.release.channels {
        match channel {
            ChannelConfig::Directory(c) => {
                let real = ws.home.join(&c.path);
                let copy = scratch.join("channels").join(&c.name);
                if real.is_dir() {
                    copy_dir(&real, &copy)?;
                } else {
                    std::fs::create_dir_all(&copy)
                        .map_err(|e| Error::io("cannot create", &copy, e))?;
                }
                let mut redirected = c.clone();
                redirected.path = copy;
                channels.push(ChannelConfig::Directory(redirected));
                details.push(format!("channel {}: rehearsed on a copy", c.name));
            }
            other => details.push(format!(
                "channel {}: left out ({} channels are not rehearsed)",
                other.name(),
                other.kind().as_str()
            )),
        }
    }
    config.release.channels = channels;
    let scratch_ws = Workspace {
        repo: Repo::discover(&repo)?,
        root: repo.clone(),
        home: repo.clone(),
        config,
        config_path: None,
        now: ws.now,
        clock_pinned: ws.clock_pinned,
        store_wait_notice: ws.store_wait_notice.clone(),
        package: ws.package.clone(),
        origin: ws.origin.clone(),
    };
    for (sync_id, _) in plan::config_syncs(ws)? {
        let sync = crate::sync::engine::find(ws, &sync_id)?;
        let real = ws.home.join(&sync.config.target.location);
        let copy = scratch.join("targets").join(&sync_id);
        if real.is_dir() {
            copy_dir(&real, &copy)?;
        }
        // The sync file in the clone's state now names the copy.
        let file = sync
            .path
            .strip_prefix(&ws.home)
            .map(|rel| repo.join(rel))
            .map_err(|_| {
                Error::input(format!(
                    "config sync {sync_id} is defined outside the repository ({}): it cannot be rehearsed",
                    sync.path.display()
                ))
            })?;
        let mut redirected: SyncConfig = sync.config.clone();
        redirected.target.location = copy.display().to_string();
        let text = crate::evidence::render_yaml(&serde_json::json!({ "sync_config": redirected }))?;
        crate::fsutil::write_atomic(&file, text.as_bytes())?;
        details.push(format!(
            "config {sync_id}: rehearsed on a copy of its target"
        ));
    }
    Ok(scratch_ws)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    procedure::copy_tree(from, to)
}

/// Evidence of a rehearsal that could not run.
fn failed_state(
    ws: &Workspace,
    from: &Version,
    to: &Version,
    error: &str,
) -> procedure::RollbackEvidence {
    let now = ws.now.to_string();
    let by = ws.git_email().unwrap_or_else(|| "unknown".into());
    procedure::RollbackEvidence {
        rollback_id: format!("rehearsal-{from}-{}", ws.stamp()),
        kind: Kind::Immediate,
        trigger: procedure::EvidenceTrigger {
            issue_id: format!("rehearsal-{from}"),
            severity: Severity::Critical,
            description: format!("rollback rehearsal of {from} to {to}"),
            detected_at: now.clone(),
            detected_by: by.clone(),
        },
        versions: procedure::EvidenceVersions {
            rolled_back_from: from.to_string(),
            rolled_back_to: to.to_string(),
        },
        execution: procedure::EvidenceExecution {
            decided_at: now.clone(),
            decided_by: by.clone(),
            executed_at: Some(now),
            executed_by: by,
            duration_minutes: 0.0,
        },
        verification: procedure::EvidenceVerification {
            smoke_tests: "fail".into(),
            issue_resolved: false,
            new_issues: vec![error.to_owned()],
        },
        follow_up: procedure::EvidenceFollowUp {
            root_cause: "the rehearsal could not run".into(),
            prevention: Vec::new(),
            post_mortem_ref: None,
        },
    }
}

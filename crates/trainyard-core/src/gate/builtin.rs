//! The built-in checks: what trainyard can tell about a checkout and its
//! history without running the user's commands.

use std::fmt::Write as _;
use std::path::Path;

use gix::ObjectId;

use super::{Builtin, CheckStatus};
use crate::history::RawCommit;
use crate::version::Version;
use crate::workspace::Workspace;
use crate::{Error, ErrorKind, Result, changelog, git_cli, manifest};

/// How many offending items a built-in lists in its output.
const MAX_LISTED: usize = 200;

/// What the built-ins see.
pub(super) struct Context<'a> {
    /// The workspace (configuration, repository, history).
    pub ws: &'a Workspace,
    /// The top of the checkout the gate runs in.
    pub checkout_root: &'a Path,
    /// The commit the gate runs on.
    pub commit: ObjectId,
    /// The release range, newest first.
    pub range: &'a [RawCommit],
    /// The version being released, if known.
    pub version: Option<&'a Version>,
    /// The release's freeze point, if any.
    pub freeze_point: Option<&'a str>,
}

/// A built-in's finding.
#[derive(Debug)]
pub(super) struct Verdict {
    pub status: CheckStatus,
    pub detail: String,
    pub output: String,
}

impl Verdict {
    fn new(status: CheckStatus, detail: impl Into<String>, output: String) -> Self {
        Verdict {
            status,
            detail: detail.into(),
            output,
        }
    }

    fn skipped(why: &str) -> Self {
        Verdict::new(
            CheckStatus::Skipped,
            format!("skipped: {why}"),
            String::new(),
        )
    }
}

/// Runs one built-in.
///
/// # Errors
///
/// Environment failures (git cannot run, the history cannot be read) and
/// a freeze point that does not resolve; a check that finds a problem
/// returns a failed verdict instead.
pub(super) fn run(builtin: Builtin, context: &Context<'_>) -> Result<Verdict> {
    match builtin {
        Builtin::CleanTree => clean_tree(context),
        Builtin::ConventionalCommits => Ok(conventional_commits(context.range)),
        Builtin::FeatureFreeze => feature_freeze(context),
        Builtin::ChangelogSection => changelog_section(context),
        Builtin::ManifestsAtVersion => manifests_at_version(context),
    }
}

/// Lists at most [`MAX_LISTED`] lines, saying how many more there were.
fn listing(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines.iter().take(MAX_LISTED) {
        out.push_str(line);
        out.push('\n');
    }
    if lines.len() > MAX_LISTED {
        let _ = writeln!(out, "... and {} more", lines.len() - MAX_LISTED);
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}

/// No uncommitted changes to tracked files. The evidence store's own files
/// (`<evidence dir>/evidence/`, `<evidence dir>/lock`) do not count: a gate
/// records its result there.
fn clean_tree(context: &Context<'_>) -> Result<Verdict> {
    let mut args: Vec<String> = [
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let evidence_dir = &context.ws.config.evidence.dir;
    if evidence_dir.is_relative() {
        let dir = evidence_dir.to_string_lossy().replace('\\', "/");
        let dir = dir.trim_end_matches('/');
        args.push(format!(":(exclude){dir}/evidence"));
        args.push(format!(":(exclude){dir}/lock"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = git_cli::run(context.checkout_root, &refs)?;
    let changed: Vec<String> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if changed.is_empty() {
        Ok(Verdict::new(
            CheckStatus::Passed,
            "no uncommitted changes to tracked files",
            String::new(),
        ))
    } else {
        Ok(Verdict::new(
            CheckStatus::Failed,
            format!(
                "{} with uncommitted changes",
                plural(changed.len(), "tracked file", "tracked files")
            ),
            listing(&changed),
        ))
    }
}

/// Every non-merge commit of the range is a Conventional Commit or a
/// revert made by `git revert` (`This reverts commit <id>.`).
fn conventional_commits(range: &[RawCommit]) -> Verdict {
    let mut counted = 0;
    let mut offenders = Vec::new();
    for raw in range {
        if raw.parents.len() > 1 {
            continue;
        }
        counted += 1;
        let commit = raw.parse();
        if commit.conventional.is_none() && commit.reverts.is_none() {
            offenders.push(format!(
                "{} {}: {}",
                short(&raw.id),
                commit.summary,
                commit
                    .nonconforming
                    .as_deref()
                    .unwrap_or("not conventional")
            ));
        }
    }
    if offenders.is_empty() {
        let detail = if counted == 0 {
            "no commits in the release range".to_owned()
        } else {
            format!(
                "{} in the release range, all conventional",
                plural(counted, "commit", "commits")
            )
        };
        Verdict::new(CheckStatus::Passed, detail, String::new())
    } else {
        Verdict::new(
            CheckStatus::Failed,
            format!(
                "{} of {counted} commits in the release range {} not conventional",
                offenders.len(),
                if offenders.len() == 1 { "is" } else { "are" }
            ),
            listing(&offenders),
        )
    }
}

/// No `feat` commit and no breaking change after the freeze point.
fn feature_freeze(context: &Context<'_>) -> Result<Verdict> {
    let Some(freeze) = context.freeze_point else {
        return Ok(Verdict::skipped("no freeze point given"));
    };
    let repo = &context.ws.repo;
    let freeze_id = repo
        .resolve(freeze)
        .map_err(|e| Error::input(format!("feature_freeze: the freeze point: {e}")))?;
    let freeze_short = short(&freeze_id);
    if !repo.is_ancestor(freeze_id, context.commit)? {
        return Ok(Verdict::new(
            CheckStatus::Failed,
            format!(
                "the freeze point {freeze_short} is not an ancestor of {}",
                short(&context.commit)
            ),
            String::new(),
        ));
    }
    let after = repo.walk(context.commit, &[freeze_id])?;
    let mut counted = 0;
    let mut offenders = Vec::new();
    for raw in &after {
        if raw.parents.len() > 1 {
            continue;
        }
        counted += 1;
        let commit = raw.parse();
        if let Some(c) = &commit.conventional {
            let what = match (c.kind == "feat", c.breaking) {
                (_, true) => "breaking change",
                (true, false) => "feature",
                (false, false) => continue,
            };
            offenders.push(format!("{} {} ({what})", short(&raw.id), commit.summary));
        }
    }
    if offenders.is_empty() {
        Ok(Verdict::new(
            CheckStatus::Passed,
            format!(
                "no feature or breaking change in {} after the freeze at {freeze_short}",
                plural(counted, "commit", "commits")
            ),
            String::new(),
        ))
    } else {
        Ok(Verdict::new(
            CheckStatus::Failed,
            format!(
                "{} after the freeze at {freeze_short}",
                plural(
                    offenders.len(),
                    "feature or breaking change",
                    "features or breaking changes"
                )
            ),
            listing(&offenders),
        ))
    }
}

/// The changelog has a section for the version.
fn changelog_section(context: &Context<'_>) -> Result<Verdict> {
    let Some(version) = context.version else {
        return Ok(Verdict::skipped("no version given"));
    };
    let relative = &context.ws.config.changelog.path;
    let path = context.checkout_root.join(relative);
    let name = relative.display();
    match std::fs::read_to_string(&path) {
        Ok(text) if changelog::file::has_section(&text, &version.to_string()) => Ok(Verdict::new(
            CheckStatus::Passed,
            format!("{name} has a section for {version}"),
            String::new(),
        )),
        Ok(_) => Ok(Verdict::new(
            CheckStatus::Failed,
            format!("{name} has no section for {version}"),
            String::new(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Verdict::new(
            CheckStatus::Failed,
            format!("{name} does not exist"),
            String::new(),
        )),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Every manifest that carries a version carries this one.
fn manifests_at_version(context: &Context<'_>) -> Result<Verdict> {
    let Some(version) = context.version else {
        return Ok(Verdict::skipped("no version given"));
    };
    let root = context.checkout_root;
    let malformed = |e: Error| -> Result<Verdict> {
        match e.kind() {
            ErrorKind::Input => Ok(Verdict::new(
                CheckStatus::Failed,
                e.to_string(),
                String::new(),
            )),
            _ => Err(e),
        }
    };
    let specs = match &context.ws.config.versioning.manifests {
        Some(list) => list.clone(),
        None => match manifest::detect(root) {
            Ok(found) => found,
            Err(e) => return malformed(e),
        },
    };
    if specs.is_empty() {
        return Ok(Verdict::skipped("no manifests carry a version"));
    }
    let found = match manifest::read_versions(root, &specs) {
        Ok(found) => found,
        Err(e) => return malformed(e),
    };
    let wanted = version.to_string();
    let mut lines = Vec::new();
    let mut wrong = 0;
    let mut right = 0;
    for place in &found {
        let at = format!("{} {}", place.path.display(), place.key);
        match &place.version {
            Some(v) if v == &wanted => {
                right += 1;
                lines.push(format!("{at}: {v}"));
            }
            Some(v) => {
                wrong += 1;
                lines.push(format!("{at}: {v}, expected {wanted}"));
            }
            None => lines.push(format!(
                "{at}: no version ({})",
                place.reason.as_deref().unwrap_or(if place.inherited {
                    "inherited"
                } else {
                    "not found"
                })
            )),
        }
    }
    let status = if wrong > 0 {
        CheckStatus::Failed
    } else {
        CheckStatus::Passed
    };
    let detail = if wrong > 0 {
        format!(
            "{} not at {wanted}",
            plural(wrong, "manifest version is", "manifest versions are")
        )
    } else {
        format!(
            "{} at {wanted}",
            plural(right, "manifest version", "manifest versions")
        )
    };
    if right + wrong == 0 {
        let mut skipped = Verdict::skipped("no manifest carries a version");
        skipped.output = listing(&lines);
        return Ok(skipped);
    }
    Ok(Verdict::new(status, detail, listing(&lines)))
}

//! The pre-release checklist, RL-01 to RL-08, as the spec's table. Every
//! item is a real validation of the repository, the evidence store or the
//! forge; a required item that fails blocks the release.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::config::checklist::ChecklistConfig;
use crate::evidence::Lookup;
use crate::history::VersionTag;
use crate::shell::Shell;
use crate::signoff::{self, Item};
pub use crate::states::release::{ChecklistItem, Status};
use crate::version::{self, Bump, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The checklist of one release.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistReport {
    /// The version checked.
    pub version: String,
    /// `major`, `minor` or `patch`.
    pub release_type: String,
    /// The commit checked.
    pub commit: String,
    /// The rows, RL-01 to RL-08.
    pub items: Vec<ChecklistItem>,
    /// Whether every required item passed.
    pub passed: bool,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct ChecklistRequest {
    /// The version being released.
    pub version: Version,
    /// Major, minor or patch.
    pub kind: Bump,
    /// The commit being released (full id).
    pub commit: String,
    /// The previous release, if any.
    pub previous: Option<VersionTag>,
    /// Base branches that belong to this release (release/v1.3.0-rc.1).
    pub release_branches: Vec<String>,
}

const TABLE: [(&str, &str, &str, &str); 8] = [
    ("RL-01", "All PRs merged", "No open PRs for release", "Yes"),
    ("RL-02", "Gates pass", "G-REL gate passes", "Yes"),
    ("RL-03", "Changelog updated", "CHANGELOG.md current", "Yes"),
    ("RL-04", "Version bumped", "Version in manifest", "Yes"),
    (
        "RL-05",
        "Documentation updated",
        "Docs match release",
        "Yes",
    ),
    (
        "RL-06",
        "Security review",
        "No known vulnerabilities",
        "Yes",
    ),
    (
        "RL-07",
        "Rollback tested",
        "Rollback procedure verified",
        "Major only",
    ),
    (
        "RL-08",
        "Release notes drafted",
        "Notes ready for review",
        "Yes",
    ),
];

/// The gate a release of this kind must pass: G-MRG for patches, G-REL
/// otherwise.
pub fn gate_for(kind: Bump) -> &'static str {
    if kind == Bump::Patch || kind == Bump::None {
        "G-MRG"
    } else {
        "G-REL"
    }
}

/// Runs the checklist. `ws.root` is the checkout whose files are checked
/// (a worktree at the release commit during `release validate`).
///
/// # Errors
///
/// Returns an error only when the checks themselves cannot run (the
/// evidence store is unreadable); a failing check is a `fail` row.
pub fn run(ws: &Workspace, request: &ChecklistRequest) -> Result<ChecklistReport> {
    // A sign-off approves the commit it was given on: the release's.
    let signoffs = signoff::on_commit(signoff::list(ws, &request.version)?, &request.commit);
    let mut items = Vec::with_capacity(8);
    for (id, check, validation, required) in TABLE {
        let required_here = required == "Yes" || request.kind == Bump::Major;
        let (status, reason) = match id {
            "RL-01" => rl01(ws, request),
            "RL-02" => rl02(ws, request),
            "RL-03" => rl03(ws, request),
            "RL-04" => rl04(ws, request),
            "RL-05" => rl05(ws, request),
            "RL-06" => rl06(ws, request, &signoffs),
            "RL-07" => rl07(ws, request),
            _ => rl08(ws, request, &signoffs),
        }
        .unwrap_or_else(|e| (Status::Fail, e.to_string()));
        items.push(ChecklistItem {
            id: id.into(),
            check: check.into(),
            validation: if id == "RL-02" {
                format!("{} gate passes", gate_for(request.kind))
            } else {
                validation.into()
            },
            required: required.into(),
            required_here,
            status,
            reason,
        });
    }
    let passed = items
        .iter()
        .all(|i| !i.required_here || i.status != Status::Fail);
    Ok(ChecklistReport {
        version: request.version.to_string(),
        release_type: kind_name(request.kind).into(),
        commit: request.commit.clone(),
        items,
        passed,
    })
}

/// `trainyard check`: the checklist of the release in progress, on its
/// latest candidate (in a temporary checkout of it), or of `version`, or
/// of the next version, on `HEAD`.
///
/// # Errors
///
/// Returns an [`Error::Input`] when there is nothing to check (no release
/// in progress, nothing to release and no version named), and the errors
/// of [`run`].
pub fn check(ws: &Workspace, version: Option<Version>) -> Result<ChecklistReport> {
    let next = crate::monorepo::plan::next_of(ws, &crate::versioning::NextRequest::default())?;
    let in_progress = crate::states::release::in_progress(ws)?
        .filter(|s| version.as_ref().is_none_or(|v| s.version == v.to_string()));
    let kind_of = |v: &Version| match next.latest.as_ref() {
        Some(c) if c.major != v.major => Bump::Major,
        Some(c) if c.minor != v.minor => Bump::Minor,
        Some(_) => Bump::Patch,
        None => Bump::Minor,
    };
    let (version, kind, branches, candidate) = match (version, &in_progress) {
        (_, Some(state)) => (
            state.version()?,
            state.bump(),
            state.rcs.iter().map(|r| r.branch.clone()).collect(),
            state.candidate().map(|c| c.commit.clone()),
        ),
        (Some(v), None) => {
            let kind = kind_of(&v);
            (v, kind, Vec::new(), None)
        }
        (None, None) => match &next.next {
            Some(v) => (v.clone(), next.bump, Vec::new(), None),
            None => {
                return Err(Error::input(
                    "nothing to release and no release in progress: name the version to check with --version",
                ));
            }
        },
    };
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let previous = tags.previous_release(&version).cloned();
    let request = ChecklistRequest {
        version,
        kind,
        commit: match &candidate {
            Some(commit) => commit.clone(),
            None => ws.repo.head()?.commit,
        },
        previous,
        release_branches: branches,
    };
    match candidate {
        // The candidate's files, not the working tree's: what is released.
        Some(commit) => {
            let worktree = crate::git_cli::Worktree::add(&ws.home, &commit)?;
            run(&ws.view_at(worktree.path())?, &request)
        }
        None => run(ws, &request),
    }
}

/// `major`, `minor` or `patch`.
pub fn kind_name(kind: Bump) -> &'static str {
    match kind {
        Bump::Major => "major",
        Bump::Minor => "minor",
        _ => "patch",
    }
}

type Outcome = Result<(Status, String)>;

fn rl01(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    let config = &ws.config.checklist;
    if let Some(forge) = &config.forge {
        let selector = crate::forge::ReleaseSelector {
            version: request.version.to_string(),
            tag_prefix: ws.config.versioning.tag_prefix.clone(),
            branches: request.release_branches.clone(),
        };
        let open = crate::forge::open_pull_requests(forge, &selector, &ws.home)?;
        if open.is_empty() {
            return Ok((
                Status::Pass,
                format!(
                    "no open pull requests for {} on {}",
                    request.version, forge.repository
                ),
            ));
        }
        let list: Vec<String> = open
            .iter()
            .map(|p| format!("#{} {}", p.number, p.title))
            .collect();
        return Ok((
            Status::Fail,
            format!("{} open: {}", list.len(), list.join("; ")),
        ));
    }
    if config.branch_patterns.is_empty() {
        return Ok((
            Status::Pass,
            "no forge and no branch patterns configured: nothing is pending".into(),
        ));
    }
    let unmerged =
        crate::forge::unmerged_branches(&ws.root, &config.branch_patterns, &request.commit)?;
    if unmerged.is_empty() {
        Ok((
            Status::Pass,
            format!(
                "no unmerged branches matching {}",
                config.branch_patterns.join(", ")
            ),
        ))
    } else {
        Ok((
            Status::Fail,
            format!("unmerged branches: {}", unmerged.join(", ")),
        ))
    }
}

fn rl02(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    let gate = gate_for(request.kind);
    let short = &request.commit[..request.commit.len().min(10)];
    match crate::gate::latest_result(ws, gate, &request.commit)? {
        Some(result) if result.passed => Ok((
            Status::Pass,
            format!(
                "{gate} passed on {short} (success_rate {}, rework_rate {})",
                result.success_rate, result.rework_rate
            ),
        )),
        Some(result) => Ok((
            Status::Fail,
            format!("{gate} failed on {short}: {}", result.reasons.join("; ")),
        )),
        None => Ok((
            Status::Fail,
            format!("no {gate} result recorded for {short}: run `trainyard gate run {gate}`"),
        )),
    }
}

fn rl03(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    let path = ws.root.join(&ws.config.changelog.path);
    let name = ws.config.changelog.path.display();
    match std::fs::read_to_string(&path) {
        Ok(text) if crate::changelog::file::has_section(&text, &request.version.to_string()) => {
            Ok((
                Status::Pass,
                format!("{name} has a section for {}", request.version),
            ))
        }
        Ok(_) => Ok((
            Status::Fail,
            format!(
                "{name} has no section for {}: run `trainyard changelog --version {} --write`",
                request.version, request.version
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((Status::Fail, format!("{name} does not exist")))
        }
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

fn rl04(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    let specs = ws.manifests()?;
    if specs.is_empty() {
        return Ok((
            Status::Na,
            "no manifests found or configured: the tag carries the version".into(),
        ));
    }
    let found = crate::manifest::read_versions(&ws.root, &specs)?;
    let wrong: Vec<String> = found
        .iter()
        .filter_map(|m| {
            let text = m.version.as_deref()?;
            let carries = version::parse(text.trim())
                .is_ok_and(|v| version::release_of(&v) == request.version);
            (!carries).then(|| format!("{} {} is {text}", m.path.display(), m.key))
        })
        .collect();
    if wrong.is_empty() {
        Ok((
            Status::Pass,
            format!(
                "{} manifest value(s) carry {}",
                found.len(),
                request.version
            ),
        ))
    } else {
        Ok((Status::Fail, wrong.join("; ")))
    }
}

fn rl05(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    let paths = &ws.config.checklist.docs_paths;
    let present: Vec<&String> = paths.iter().filter(|p| ws.root.join(p).exists()).collect();
    if present.is_empty() {
        return Ok((
            Status::Na,
            format!(
                "none of the documentation paths exist: {}",
                paths.join(", ")
            ),
        ));
    }
    let version = request.version.to_string();
    if let Some(previous) = &request.previous {
        let mut args = vec![
            "diff".to_owned(),
            "--name-only".into(),
            format!("{}..{}", previous.commit, request.commit),
            "--".into(),
        ];
        args.extend(present.iter().map(|p| (*p).clone()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let changed = crate::git_cli::run(&ws.root, &refs)?;
        let changed: Vec<&str> = changed.lines().filter(|l| !l.is_empty()).collect();
        if !changed.is_empty() {
            return Ok((
                Status::Pass,
                format!("changed since {}: {}", previous.name, changed.join(", ")),
            ));
        }
    }
    if let Some(file) = mentions(&ws.root, &present, &version) {
        return Ok((
            Status::Pass,
            format!("{} mentions {version}", file.display()),
        ));
    }
    match &request.previous {
        Some(previous) => Ok((
            Status::Fail,
            format!(
                "{} unchanged since {} and no mention of {version}",
                present
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                previous.name
            ),
        )),
        None => Ok((
            Status::Pass,
            "first release: the documentation is new".into(),
        )),
    }
}

/// The first file under `paths` (files or directories) that contains
/// `needle`.
fn mentions(root: &Path, paths: &[&String], needle: &str) -> Option<PathBuf> {
    let mut stack: Vec<PathBuf> = paths.iter().map(|p| root.join(p)).collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
            return Some(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    None
}

fn rl06(ws: &Workspace, request: &ChecklistRequest, signoffs: &[signoff::Signoff]) -> Outcome {
    if let Some(s) = signoff::has(signoffs, Item::Security) {
        return Ok((
            Status::Pass,
            format!("security sign-off by {} at {}", s.by, s.signed_at),
        ));
    }
    let Some(command) = &ws.config.checklist.security_audit else {
        return Ok((
            Status::Fail,
            format!(
                "no security audit configured (checklist.security_audit) and no security sign-off: run `{}`",
                ws.command(&format!("signoff {} --item RL-06", request.version))
            ),
        ));
    };
    let output = Shell::new(command, &ws.root).output().map_err(|e| {
        Error::environment(format!("cannot run the security audit `{command}`: {e}"))
    })?;
    if output.status.success() {
        Ok((Status::Pass, format!("`{command}` passed")))
    } else {
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Ok((
            Status::Fail,
            format!(
                "`{command}` exited with {}: {last}",
                output.status.code().unwrap_or(-1)
            ),
        ))
    }
}

/// What RL-07 reads of a rollback rehearsal's evidence.
#[derive(Debug, Deserialize)]
struct RehearsalDocument {
    rollback_evidence: RehearsalEvidence,
}

#[derive(Debug, Deserialize)]
struct RehearsalEvidence {
    versions: RehearsalVersions,
    verification: RehearsalVerification,
}

#[derive(Debug, Deserialize)]
struct RehearsalVersions {
    rolled_back_from: String,
}

#[derive(Debug, Deserialize)]
struct RehearsalVerification {
    smoke_tests: String,
    #[serde(default)]
    new_issues: Vec<String>,
}

/// The evidence kind of a rollback rehearsal.
pub const REHEARSAL_KIND: &str = "rollback_rehearsal";

fn rl07(ws: &Workspace, request: &ChecklistRequest) -> Outcome {
    if request.kind != Bump::Major {
        return Ok((
            Status::Na,
            format!("{} is not a major release", request.version),
        ));
    }
    if request.previous.is_none() {
        return Ok((
            Status::Na,
            format!(
                "{} is the first release: there is no earlier one to roll back to",
                request.version
            ),
        ));
    }
    let store = ws.evidence_store();
    let version = request.version.to_string();
    for record in store.list(Some(REHEARSAL_KIND))?.iter().rev() {
        let entry = store.get(&Lookup::Seq(record.seq))?;
        let Ok(document) =
            crate::yaml::parse::<RehearsalDocument>(&entry.text, Path::new(&record.path))
        else {
            continue;
        };
        let evidence = document.rollback_evidence;
        if evidence.versions.rolled_back_from.trim_start_matches('v') == version
            && evidence.verification.smoke_tests == "pass"
            && evidence.verification.new_issues.is_empty()
        {
            return Ok((
                Status::Pass,
                format!("rollback rehearsal {} passed", record.path),
            ));
        }
    }
    Ok((
        Status::Fail,
        format!(
            "no successful rollback rehearsal recorded for {version}: rehearse the rollback before a major release"
        ),
    ))
}

fn rl08(ws: &Workspace, request: &ChecklistRequest, signoffs: &[signoff::Signoff]) -> Outcome {
    let report = crate::notes::generate(
        ws,
        &crate::notes::NotesRequest {
            version: Some(request.version.clone()),
            provenance: crate::notes::Provenance::default(),
        },
    )?;
    if !report.problems.is_empty() {
        let list: Vec<String> = report.problems.iter().map(|p| p.message.clone()).collect();
        return Ok((
            Status::Fail,
            format!("the notes are incomplete: {}", list.join("; ")),
        ));
    }
    match signoff::has(signoffs, Item::Notes) {
        Some(s) => Ok((
            Status::Pass,
            format!("notes complete, signed off by {}", s.by),
        )),
        None => Ok((
            Status::Fail,
            format!(
                "the notes are not signed off: run `{}`",
                ws.command(&format!("signoff {} --item RL-08", request.version))
            ),
        )),
    }
}

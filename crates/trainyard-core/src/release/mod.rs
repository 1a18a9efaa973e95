//! The release workflow of the spec's "Release Process", as a persisted
//! state machine per version:
//!
//! ```text
//! start -> rc (repeatable) -> validate -> publish (resumable) -> post
//!                    \______________ abort ______________/
//! ```
//!
//! Each step is planned first: the plan is a list of [`Action`]s, shown as
//! it is for `--dry-run` and carried out otherwise. A step run out of order
//! is refused with the step that must come first. The state lives in
//! `.trainyard/releases/<version>.yaml`, rewritten atomically after every
//! change, so a killed step resumes where it stopped; publication records a
//! receipt per channel, so a re-run publishes only what is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::artifacts::{self, Artifact};
use crate::channels::{self, ChannelReceipt};
use crate::checklist::{self, ChecklistItem, ChecklistRequest};
use crate::gate::{self, GateRequest};
use crate::git_cli::{self, Worktree};
use crate::history::VersionTag;
use crate::signoff;
use crate::version::{self, Bump, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// `release:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseConfig {
    /// Release branches are `<branch_prefix>v1.3.0-rc.1`.
    pub branch_prefix: String,
    /// Artifacts to build at the release tag.
    pub artifacts: Vec<artifacts::ArtifactConfig>,
    /// Where releases are published.
    pub channels: Vec<channels::ChannelConfig>,
    /// A minisign key to sign `SHA256SUMS` with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<artifacts::SigningConfig>,
    /// Commands run by `release post` (announcements), with
    /// `TRAINYARD_VERSION` and `TRAINYARD_TAG` set.
    pub notify: Vec<String>,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            branch_prefix: "release/".into(),
            artifacts: Vec::new(),
            channels: Vec::new(),
            signing: None,
            notify: Vec::new(),
        }
    }
}

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Started: version decided, feature freeze declared.
    Started,
    /// At least one release candidate cut.
    Rc,
    /// Gates, checklist and review passed.
    Validated,
    /// Tagged and published to every channel.
    Published,
    /// Announced; the changelog's Unreleased section reset.
    Posted,
    /// Abandoned.
    Aborted,
}

impl Step {
    /// The step's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Started => "started",
            Step::Rc => "rc",
            Step::Validated => "validated",
            Step::Published => "published",
            Step::Posted => "posted",
            Step::Aborted => "aborted",
        }
    }
}

/// A release candidate cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcCut {
    /// The candidate number.
    pub n: u64,
    /// The release branch.
    pub branch: String,
    /// The candidate's tag.
    pub tag: String,
    /// The tagged commit.
    pub commit: String,
    /// When it was cut.
    pub cut_at: String,
    /// Whether the regression gate passed on it.
    pub gate_passed: Option<bool>,
}

/// The validation part of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The commit validated (the latest candidate's).
    pub commit: String,
    /// The gate run.
    pub gate: String,
    /// Whether it passed, and its figures.
    pub gate_passed: bool,
    /// Percent of checks that passed.
    pub success_rate: f64,
    /// Percent of rework commits.
    pub rework_rate: f64,
    /// Every check passed.
    pub all_tasks_passed: bool,
    /// The checklist rows.
    pub checklist: Vec<ChecklistItem>,
    /// The two reviewers, when both layers are signed.
    pub reviewers: Option<(String, String)>,
    /// What failed.
    pub failures: Vec<String>,
    /// When.
    pub validated_at: String,
}

/// The publication part of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Publication {
    /// The release tag.
    pub tag: Option<String>,
    /// The tagged commit.
    pub commit: Option<String>,
    /// The artifacts built.
    pub artifacts: Vec<Artifact>,
    /// The artifacts directory.
    pub artifacts_dir: Option<PathBuf>,
    /// One receipt per channel published, by channel name.
    pub channels: BTreeMap<String, ChannelReceipt>,
    /// The last channel failure, if the run stopped on one.
    pub last_error: Option<String>,
    /// When the last channel was published.
    pub published_at: Option<String>,
    /// The evidence documents written.
    pub evidence: Vec<String>,
}

/// Everything known about one release, persisted between steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseState {
    /// The version.
    pub version: String,
    /// `major`, `minor` or `patch`.
    pub kind: String,
    /// The current step.
    pub step: Step,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: String,
    /// The commit HEAD was on at the start: the feature freeze point for
    /// minors and majors.
    pub freeze_commit: Option<String>,
    /// The previous release's tag.
    pub previous_tag: Option<String>,
    /// Release candidates, in order.
    pub rcs: Vec<RcCut>,
    /// The validation, once run.
    pub validation: Option<Validation>,
    /// The publication, once begun.
    pub publication: Publication,
    /// When it was posted.
    pub posted_at: Option<String>,
}

impl ReleaseState {
    /// The release version.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Internal`] for a state file with a bad version.
    pub fn version(&self) -> Result<Version> {
        version::parse(&self.version).map_err(|e| Error::Internal(e.to_string()))
    }

    fn bump(&self) -> Bump {
        match self.kind.as_str() {
            "major" => Bump::Major,
            "minor" => Bump::Minor,
            _ => Bump::Patch,
        }
    }
}

/// One effect of a step, shown by `--dry-run` and carried out otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Record the release state.
    WriteState {
        /// The state file.
        path: PathBuf,
        /// The step it moves to.
        step: Step,
    },
    /// Create a branch.
    CreateBranch {
        /// Its name.
        branch: String,
        /// At this commit.
        at: String,
    },
    /// Commit file changes on a branch (in a temporary worktree).
    Commit {
        /// The branch.
        branch: String,
        /// The message.
        message: String,
        /// The files changed.
        files: Vec<String>,
    },
    /// Create an annotated tag with the user's git (signed when git is
    /// configured to sign tags).
    Tag {
        /// Its name.
        tag: String,
        /// At this branch or commit.
        at: String,
    },
    /// Run a gate and record its result.
    RunGate {
        /// The gate.
        gate: String,
        /// At this branch or commit.
        at: String,
    },
    /// Run the checklist and the review check, and record the validation.
    Validate {
        /// At this commit.
        at: String,
    },
    /// Build the configured artifacts and `SHA256SUMS`.
    BuildArtifacts {
        /// At this tag.
        at: String,
        /// Into this directory.
        dir: PathBuf,
    },
    /// Publish to a channel.
    Publish {
        /// The channel.
        channel: String,
        /// What it does.
        steps: Vec<String>,
    },
    /// Write the release evidence and the SLSA provenance.
    WriteEvidence {
        /// The documents.
        documents: Vec<String>,
    },
    /// Rewrite a file.
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Run a command.
    Run {
        /// The command.
        command: String,
    },
    /// Run an `on_release` sync (applied, or planned for approval).
    Sync {
        /// The sync.
        sync_id: String,
        /// Why it is due.
        why: String,
    },
    /// Delete a local branch.
    DeleteBranch {
        /// Its name.
        branch: String,
    },
    /// Delete a local tag.
    DeleteTag {
        /// Its name.
        tag: String,
    },
}

/// What a step did, or (with `--dry-run`) would do.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The version.
    pub version: String,
    /// The step run.
    pub step: String,
    /// Whether anything was changed (false for `--dry-run`).
    pub applied: bool,
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// Whether the step's checks passed (validate, publish).
    pub passed: bool,
    /// What failed, or what could not be undone (abort).
    pub messages: Vec<String>,
    /// The state after the step.
    pub state: ReleaseState,
}

/// The directory holding release state files.
pub fn state_dir(ws: &Workspace) -> PathBuf {
    ws.home.join(&ws.config.evidence.dir).join("releases")
}

fn state_path(ws: &Workspace, version: &str) -> PathBuf {
    state_dir(ws).join(format!("{version}.yaml"))
}

fn save(ws: &Workspace, state: &ReleaseState) -> Result<()> {
    let text = crate::evidence::render_yaml(state)?;
    crate::fsutil::write_atomic(&state_path(ws, &state.version), text.as_bytes())
}

/// Every release state recorded, oldest version first.
///
/// # Errors
///
/// Returns an error when a state file cannot be read or parsed.
pub fn all(ws: &Workspace) -> Result<Vec<ReleaseState>> {
    let mut states: Vec<ReleaseState> = crate::yaml::parse_dir(&state_dir(ws))?;
    states.sort_by(|a, b| {
        let (va, vb) = (version::parse(&a.version), version::parse(&b.version));
        match (va, vb) {
            (Ok(a), Ok(b)) => a.cmp_precedence(&b),
            _ => a.version.cmp(&b.version),
        }
    });
    Ok(states)
}

/// The release in progress (not posted or aborted), if any.
///
/// # Errors
///
/// As [`all`].
pub fn in_progress(ws: &Workspace) -> Result<Option<ReleaseState>> {
    Ok(all(ws)?
        .into_iter()
        .rfind(|s| !matches!(s.step, Step::Posted | Step::Aborted)))
}

fn current(ws: &Workspace, step: &str) -> Result<ReleaseState> {
    in_progress(ws)?.ok_or_else(|| {
        Error::input(format!(
            "no release in progress: run `trainyard release start patch|minor|major` before `release {step}`"
        ))
    })
}

fn require(state: &ReleaseState, allowed: &[Step], step: &str, first: &str) -> Result<()> {
    if allowed.contains(&state.step) {
        return Ok(());
    }
    if allowed.iter().all(|a| *a < state.step) && state.step != Step::Aborted {
        return Err(Error::input(format!(
            "release {} is already {}: `release {step}` is done; the next step is `release {}`",
            state.version,
            state.step.as_str(),
            next_step(state.step)
        )));
    }
    Err(Error::input(format!(
        "release {} is {}: `release {step}` needs {first} first",
        state.version,
        state.step.as_str(),
    )))
}

fn identity(ws: &Workspace) -> String {
    ws.git_email().unwrap_or_else(|| "unknown".into())
}

fn tag_name(ws: &Workspace, version: &Version) -> String {
    ws.tag_name(version)
}

/// `release start`: decides the version and declares the feature freeze.
///
/// # Errors
///
/// Returns an [`Error::Input`] when a release is already in progress, and
/// the errors of reading history.
pub fn start(ws: &Workspace, kind: Bump, dry_run: bool) -> Result<StepReport> {
    if let Some(existing) = in_progress(ws)? {
        return Err(Error::input(format!(
            "release {} is already in progress ({}): finish it with `trainyard release {}` or `trainyard release abort`",
            existing.version,
            existing.step.as_str(),
            next_step(existing.step)
        )));
    }
    let next = crate::versioning::next(ws, &crate::versioning::NextRequest::default())?;
    let version = match &next.current {
        Some(current) => version::bumped(current, kind),
        None => version::release_of(&ws.config.versioning.initial_version.0),
    };
    let head = ws.repo.head()?.commit;
    let state = ReleaseState {
        version: version.to_string(),
        kind: checklist::kind_name(kind).into(),
        step: Step::Started,
        started_by: identity(ws),
        started_at: ws.now.to_string(),
        freeze_commit: (kind != Bump::Patch).then(|| head.clone()),
        previous_tag: next.current_tag.clone(),
        rcs: Vec::new(),
        validation: None,
        publication: Publication::default(),
        posted_at: None,
    };
    let mut messages = Vec::new();
    if next.bump > kind && next.current.is_some() {
        messages.push(format!(
            "the unreleased commits call for a {} release, but a {} was started",
            next.bump,
            checklist::kind_name(kind)
        ));
    }
    if kind != Bump::Patch {
        messages.push(format!(
            "feature freeze declared at {}: from now on a feat commit on the release branch fails the freeze check",
            &head[..10]
        ));
    }
    let actions = vec![Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Started,
    }];
    if !dry_run {
        save(ws, &state)?;
    }
    Ok(StepReport {
        version: state.version.clone(),
        step: "start".into(),
        applied: !dry_run,
        actions,
        passed: true,
        messages,
        state,
    })
}

fn next_step(step: Step) -> &'static str {
    match step {
        Step::Started => "rc",
        Step::Rc => "validate",
        Step::Validated => "publish",
        Step::Published => "post",
        Step::Posted | Step::Aborted => "start",
    }
}

/// `release rc`: cuts `release/vX.Y.Z-rc.N` from a commit, writes the
/// release candidate's version into the manifests and the release's
/// section into the changelog on that branch, tags `vX.Y.Z-rc.N`, and runs
/// the regression gate on it.
///
/// # Errors
///
/// Returns an [`Error::Input`] when no release is in progress or it is
/// past validation, and the errors of git and the gate.
pub fn rc(ws: &Workspace, from: Option<&str>, dry_run: bool) -> Result<StepReport> {
    let mut state = current(ws, "rc")?;
    require(
        &state,
        &[Step::Started, Step::Rc, Step::Validated],
        "rc",
        "`release start`",
    )?;
    let version = state.version()?;
    let from_commit = git_cli::commit_of(&ws.root, from.unwrap_or("HEAD"))?;
    let tagged = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let n = state
        .rcs
        .iter()
        .map(|r| r.n)
        .chain(tagged.versions.iter().filter_map(|t| {
            (version::release_of(&t.version) == version)
                .then(|| version::channel_of(&t.version))
                .flatten()
                .filter(|(c, _)| *c == version::Channel::Rc)
                .map(|(_, n)| n)
        }))
        .max()
        .unwrap_or(0)
        + 1;
    let rc_version = version::with_prerelease(&version, version::Channel::Rc, n);
    let tag = tag_name(ws, &rc_version);
    let branch = format!("{}{tag}", ws.config.release.branch_prefix);
    let gate_name = checklist::gate_for(state.bump()).to_owned();
    let message = format!("chore(release): {tag}");
    let mut actions = vec![
        Action::CreateBranch {
            branch: branch.clone(),
            at: from_commit.clone(),
        },
        Action::Commit {
            branch: branch.clone(),
            message: message.clone(),
            files: release_files(ws, &ws.root, &rc_version, &version)?,
        },
        Action::Tag {
            tag: tag.clone(),
            at: branch.clone(),
        },
        Action::RunGate {
            gate: gate_name.clone(),
            at: tag.clone(),
        },
        Action::WriteState {
            path: state_path(ws, &state.version),
            step: Step::Rc,
        },
    ];
    if dry_run {
        return Ok(report(&state, "rc", false, actions, true, Vec::new()));
    }
    let _lock = ws.lock()?;
    if git_cli::ref_exists(&ws.root, &format!("refs/heads/{branch}")) {
        return Err(Error::input(format!("branch {branch} already exists")));
    }
    git_cli::run(&ws.root, &["branch", &branch, &from_commit])?;
    let files = commit_release_files(ws, &branch, &rc_version, &version, &message)?;
    if let Some(Action::Commit { files: planned, .. }) = actions.get_mut(1) {
        *planned = files;
    }
    git_cli::run_dated(
        &ws.root,
        &[
            "tag",
            "-a",
            &tag,
            "-m",
            &format!("Release candidate {tag}"),
            &branch,
        ],
        ws.now,
    )?;
    let commit = git_cli::commit_of(&ws.root, &tag)?;
    state.rcs.push(RcCut {
        n,
        branch: branch.clone(),
        tag: tag.clone(),
        commit: commit.clone(),
        cut_at: ws.now.to_string(),
        gate_passed: None,
    });
    state.step = Step::Rc;
    state.validation = None;
    save(ws, &state)?;
    let result = run_gate(ws, &state, &gate_name, &commit)?;
    if let Some(last) = state.rcs.last_mut() {
        last.gate_passed = Some(result.passed);
    }
    save(ws, &state)?;
    let messages = if result.passed {
        vec![format!("{gate_name} passed on {tag}")]
    } else {
        result
            .reasons
            .iter()
            .map(|r| format!("{gate_name}: {r}"))
            .collect()
    };
    Ok(report(&state, "rc", true, actions, result.passed, messages))
}

fn report(
    state: &ReleaseState,
    step: &str,
    applied: bool,
    actions: Vec<Action>,
    passed: bool,
    messages: Vec<String>,
) -> StepReport {
    StepReport {
        version: state.version.clone(),
        step: step.into(),
        applied,
        actions,
        passed,
        messages,
        state: state.clone(),
    }
}

/// The files a release commit changes: manifests to `written`, and the
/// changelog section of `release`.
fn release_files(
    ws: &Workspace,
    root: &std::path::Path,
    written: &Version,
    release: &Version,
) -> Result<Vec<String>> {
    let view = ws.view_at(root)?;
    let mut files: Vec<String> = match view.manifests() {
        Ok(specs) if !specs.is_empty() => crate::manifest::plan_bump(root, &specs, written)?
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let (outcome, _) = changelog_update(&view, release)?;
    if outcome.changed {
        files.push(ws.config.changelog.path.display().to_string());
    }
    Ok(files)
}

fn changelog_update(
    view: &Workspace,
    release: &Version,
) -> Result<(crate::changelog::WriteOutcome, String)> {
    let report = crate::changelog::generate(
        view,
        &crate::changelog::ChangelogRequest {
            scope: crate::changelog::Scope::Version(release.clone()),
            include_prereleases: false,
        },
    )?;
    crate::changelog::plan_write(view, &report)
}

/// Checks out `branch` in a temporary worktree, writes the manifests and
/// the changelog there, and commits them with the user's git. Returns the
/// files committed (none when everything was already in place).
fn commit_release_files(
    ws: &Workspace,
    branch: &str,
    written: &Version,
    release: &Version,
    message: &str,
) -> Result<Vec<String>> {
    let worktree = Worktree::on_branch(&ws.home, branch)?;
    let view = ws.view_at(worktree.path())?;
    let mut files = Vec::new();
    let specs = view.manifests()?;
    if !specs.is_empty() {
        let plan = crate::manifest::plan_bump(worktree.path(), &specs, written)?;
        crate::manifest::apply(worktree.path(), &plan)?;
        files.extend(plan.paths().iter().map(|p| p.display().to_string()));
    }
    let (outcome, text) = changelog_update(&view, release)?;
    if outcome.changed {
        crate::changelog::apply_write(&outcome, &text)?;
        files.push(view.config.changelog.path.display().to_string());
    }
    if !files.is_empty() {
        let mut add = vec!["add", "--"];
        add.extend(files.iter().map(String::as_str));
        git_cli::run(worktree.path(), &add)?;
        git_cli::run_dated(worktree.path(), &["commit", "-q", "-m", message], ws.now)?;
    }
    Ok(files)
}

fn run_gate(
    ws: &Workspace,
    state: &ReleaseState,
    gate_name: &str,
    commit: &str,
) -> Result<gate::GateResult> {
    let worktree = Worktree::add(&ws.home, commit)?;
    let view = ws.view_at(worktree.path())?;
    let request = GateRequest {
        name: gate_name.to_owned(),
        commit: Some(commit.to_owned()),
        version: Some(state.version()?),
        freeze_point: state.freeze_commit.clone(),
        workdir: Some(worktree.path().to_path_buf()),
    };
    let result = gate::run(&view, &request)?;
    gate::record(&view, &result)?;
    Ok(result)
}

fn previous_tag(ws: &Workspace, state: &ReleaseState) -> Result<Option<VersionTag>> {
    let Some(name) = &state.previous_tag else {
        return Ok(None);
    };
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    Ok(tags.versions.into_iter().find(|t| &t.name == name))
}

/// `release validate`: the release gate (G-MRG for patches), the checklist
/// and the two-layer review on the latest candidate; majors also need a
/// human sign-off. Moves the release to `validated` only when all pass.
///
/// # Errors
///
/// Returns an [`Error::Input`] when no candidate was cut, and the errors of
/// the gate and the checklist's reads.
pub fn validate(ws: &Workspace, dry_run: bool) -> Result<StepReport> {
    let mut state = current(ws, "validate")?;
    require(
        &state,
        &[Step::Rc, Step::Validated],
        "validate",
        "`release rc`",
    )?;
    let last = state.rcs.last().cloned().ok_or_else(|| {
        Error::input("no release candidate cut: run `trainyard release rc` first")
    })?;
    let gate_name = checklist::gate_for(state.bump()).to_owned();
    let actions = vec![
        Action::RunGate {
            gate: gate_name.clone(),
            at: last.tag.clone(),
        },
        Action::Validate {
            at: last.tag.clone(),
        },
        Action::WriteState {
            path: state_path(ws, &state.version),
            step: Step::Validated,
        },
    ];
    if dry_run {
        return Ok(report(&state, "validate", false, actions, true, Vec::new()));
    }
    let _lock = ws.lock()?;
    let version = state.version()?;
    let gate_result = run_gate(ws, &state, &gate_name, &last.commit)?;
    let worktree = Worktree::add(&ws.home, &last.commit)?;
    let view = ws.view_at(worktree.path())?;
    let checklist = checklist::run(
        &view,
        &ChecklistRequest {
            version: version.clone(),
            kind: state.bump(),
            commit: last.commit.clone(),
            previous: previous_tag(ws, &state)?,
            release_branches: state.rcs.iter().map(|r| r.branch.clone()).collect(),
        },
    )?;
    let signoffs = signoff::list(ws, &version)?;
    let mut failures: Vec<String> = Vec::new();
    if !gate_result.passed {
        failures.extend(
            gate_result
                .reasons
                .iter()
                .map(|r| format!("{gate_name}: {r}")),
        );
    }
    failures.extend(
        checklist
            .items
            .iter()
            .filter(|i| i.required_here && i.status == checklist::Status::Fail)
            .map(|i| format!("{} {}: {}", i.id, i.check, i.reason)),
    );
    let reviewers = match signoff::review_complete(&signoffs) {
        Ok(pair) => Some(pair),
        Err(why) => {
            failures.push(format!(
                "two-layer review: {why}: run `trainyard signoff {version} --item review --layer 1|2`"
            ));
            None
        }
    };
    if state.bump() == Bump::Major && signoff::has(&signoffs, signoff::Item::Major).is_none() {
        failures.push(format!(
            "a major release needs a human sign-off besides G-REL: run `trainyard signoff {version} --item major`"
        ));
    }
    let passed = failures.is_empty();
    let validation = Validation {
        commit: last.commit.clone(),
        gate: gate_name,
        gate_passed: gate_result.passed,
        success_rate: gate_result.success_rate,
        rework_rate: gate_result.rework_rate,
        all_tasks_passed: gate_result.all_tasks_passed,
        checklist: checklist.items,
        reviewers,
        failures: failures.clone(),
        validated_at: ws.now.to_string(),
    };
    let name = format!("{}-{}", state.version, ws.stamp());
    ws.evidence_store().write_value_unique(
        "release_validation",
        &name,
        &serde_json::json!({ "release_validation": &validation }),
    )?;
    state.validation = Some(validation);
    if passed {
        state.step = Step::Validated;
    }
    save(ws, &state)?;
    Ok(report(&state, "validate", true, actions, passed, failures))
}

/// The spec's `release_evidence`, key for key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseEvidenceDocument {
    /// The document's single key.
    pub release_evidence: ReleaseEvidence,
}

/// `release_evidence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseEvidence {
    /// `X.Y.Z`.
    pub version: String,
    /// When it was published (RFC 3339).
    pub release_date: String,
    /// Who released it.
    pub released_by: String,
    /// Gates and checklist.
    pub validation: EvidenceValidation,
    /// References to the documents that go with the release.
    pub artifacts: EvidenceArtifacts,
    /// Where it came from.
    pub provenance: EvidenceProvenance,
    /// Where it went.
    pub distribution: EvidenceDistribution,
}

/// `release_evidence.validation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceValidation {
    /// The gate figures.
    pub gate_results: GateResults,
    /// Every checklist item's status.
    pub checklist: Vec<ChecklistEntry>,
}

/// `release_evidence.validation.gate_results`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateResults {
    /// Whether the release gate passed (G-MRG for patches).
    pub g_rel_passed: bool,
    /// Percent of checks that passed.
    pub success_rate: f64,
    /// Percent of rework commits in the release.
    pub rework_rate: f64,
    /// Whether every check passed.
    pub all_tasks_passed: bool,
}

/// One `checklist` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChecklistEntry {
    /// `RL-01` ...
    pub check: String,
    /// `pass`, `fail` or `na`.
    pub status: String,
}

/// `release_evidence.artifacts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceArtifacts {
    /// The changelog.
    pub changelog_ref: String,
    /// The release notes written for this release.
    pub release_notes_ref: String,
    /// The gate result evidence.
    pub verification_log_ref: String,
}

/// `release_evidence.provenance`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceProvenance {
    /// The released commit.
    pub commit: String,
    /// The release branch.
    pub branch: String,
    /// The build.
    pub build_id: String,
    /// The tag's signer, or `unsigned`.
    pub signed_by: String,
}

/// `release_evidence.distribution`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceDistribution {
    /// The channels published to.
    pub channels: Vec<String>,
    /// When the last one was published.
    pub published_at: String,
}

/// `release publish`: tags `vX.Y.Z` (after writing the version into the
/// manifests on the release branch), builds the artifacts and
/// `SHA256SUMS`, publishes to every channel that has no receipt yet, and
/// writes the release evidence and SLSA provenance once all are done.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the release is not validated, and an
/// [`Error::Environment`] naming the channel that failed; the channels
/// already published keep their receipts, so a re-run publishes only the
/// rest.
pub fn publish(ws: &Workspace, dry_run: bool) -> Result<StepReport> {
    let mut state = current(ws, "publish")?;
    require(
        &state,
        &[Step::Validated],
        "publish",
        "a passing `release validate`",
    )?;
    let version = state.version()?;
    let last = state
        .rcs
        .last()
        .cloned()
        .ok_or_else(|| Error::Internal("a validated release without a candidate".into()))?;
    let tag = tag_name(ws, &version);
    let artifacts_dir = state_dir(ws).join(&state.version).join("artifacts");
    let mut actions = Vec::new();
    let tagged = git_cli::ref_exists(&ws.root, &format!("refs/tags/{tag}"));
    if !tagged {
        actions.push(Action::Commit {
            branch: last.branch.clone(),
            message: format!("chore(release): {tag}"),
            files: release_files(ws, &ws.root, &version, &version)?,
        });
        actions.push(Action::Tag {
            tag: tag.clone(),
            at: last.branch.clone(),
        });
    }
    if state.publication.artifacts.is_empty() && !ws.config.release.artifacts.is_empty() {
        actions.push(Action::BuildArtifacts {
            at: tag.clone(),
            dir: artifacts_dir.clone(),
        });
    }
    let publish_release = |artifacts: &[Artifact]| channels::PublishRelease {
        version: state.version.clone(),
        tag: tag.clone(),
        repo_root: ws.home.clone(),
        artifacts_dir: artifacts_dir.clone(),
        artifacts: artifacts.to_vec(),
        token: None,
        published_at: ws.now,
    };
    for channel in &ws.config.release.channels {
        let name = channel.name().to_owned();
        if !state.publication.channels.contains_key(&name) {
            actions.push(Action::Publish {
                steps: channels::plan(channel, &publish_release(&state.publication.artifacts)),
                channel: name,
            });
        }
    }
    actions.push(Action::WriteEvidence {
        documents: vec![
            "release_evidence".into(),
            "slsa_provenance".into(),
            "release_notes".into(),
        ],
    });
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Published,
    });
    if dry_run {
        return Ok(report(&state, "publish", false, actions, true, Vec::new()));
    }
    let _lock = ws.lock()?;
    if !tagged {
        commit_release_files(
            ws,
            &last.branch,
            &version,
            &version,
            &format!("chore(release): {tag}"),
        )?;
        git_cli::run_dated(
            &ws.root,
            &[
                "tag",
                "-a",
                &tag,
                "-m",
                &format!("Release {tag}"),
                &last.branch,
            ],
            ws.now,
        )?;
    }
    let commit = git_cli::commit_of(&ws.root, &tag)?;
    state.publication.tag = Some(tag.clone());
    state.publication.commit = Some(commit.clone());
    save(ws, &state)?;
    if state.publication.artifacts.is_empty() && !ws.config.release.artifacts.is_empty() {
        let worktree = Worktree::add(&ws.home, &tag)?;
        std::fs::create_dir_all(&artifacts_dir)
            .map_err(|e| Error::io("cannot create", &artifacts_dir, e))?;
        let env = vec![
            ("TRAINYARD_VERSION".to_owned(), state.version.clone()),
            ("TRAINYARD_TAG".to_owned(), tag.clone()),
        ];
        let mut built = artifacts::build(
            &ws.config.release.artifacts,
            worktree.path(),
            &artifacts_dir,
            &env,
        )?;
        let sums = artifacts::write_sha256sums(&artifacts_dir, &built)?;
        let sums_path = sums.path.clone();
        built.push(sums);
        if let Some(signing) = &ws.config.release.signing {
            let password = match &signing.password {
                Some(reference) => Some(crate::credentials::resolve(reference, &ws.home)?),
                None => None,
            };
            let key = ws.home.join(&signing.secret_key);
            let signature =
                artifacts::sign(&sums_path, &key, password.as_ref().map(|p| p.expose()))?;
            built.push(artifacts::Artifact::from_file(&signature)?);
        }
        state.publication.artifacts = built;
        state.publication.artifacts_dir = Some(artifacts_dir.clone());
        save(ws, &state)?;
    }
    let mut messages = Vec::new();
    for channel in &ws.config.release.channels {
        let name = channel.name().to_owned();
        if state.publication.channels.contains_key(&name) {
            messages.push(format!("{name}: already published, skipped"));
            continue;
        }
        let mut release = publish_release(&state.publication.artifacts);
        release.token = match channel.credentials() {
            Some(reference) => Some(
                crate::credentials::resolve(reference, &ws.home)?
                    .expose()
                    .to_owned(),
            ),
            None => None,
        };
        match channels::publish(channel, &release) {
            Ok(receipt) => {
                messages.push(format!("{name}: published"));
                state.publication.channels.insert(name, receipt);
                state.publication.published_at = Some(ws.now.to_string());
                state.publication.last_error = None;
                save(ws, &state)?;
            }
            Err(e) => {
                state.publication.last_error = Some(format!("{name}: {e}"));
                save(ws, &state)?;
                return Err(Error::environment(format!(
                    "publishing {tag} to channel {name} failed: {e}; the channels already published keep their receipts: re-run `trainyard release publish` to publish the rest"
                )));
            }
        }
    }
    let documents = write_release_evidence(ws, &state, &commit, &last.branch)?;
    state.publication.evidence = documents;
    state.step = Step::Published;
    save(ws, &state)?;
    Ok(report(&state, "publish", true, actions, true, messages))
}

fn build_id(ws: &Workspace) -> String {
    for var in [
        "TRAINYARD_BUILD_ID",
        "GITHUB_RUN_ID",
        "CI_PIPELINE_ID",
        "BUILD_ID",
    ] {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            return value;
        }
    }
    format!("local-{}", ws.stamp())
}

fn tag_signer(ws: &Workspace) -> String {
    let signs = git_cli::run(&ws.root, &["config", "--bool", "tag.gpgSign"])
        .map(|s| s.trim() == "true")
        .unwrap_or(false);
    if !signs {
        return "unsigned".into();
    }
    git_cli::run(&ws.root, &["config", "user.signingkey"])
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| identity(ws))
}

fn write_release_evidence(
    ws: &Workspace,
    state: &ReleaseState,
    commit: &str,
    branch: &str,
) -> Result<Vec<String>> {
    let store = ws.evidence_store();
    let version = state.version()?;
    let validation = state
        .validation
        .as_ref()
        .ok_or_else(|| Error::Internal("a published release without validation".into()))?;
    let build_id = build_id(ws);
    let signed_by = tag_signer(ws);
    let published_at = state
        .publication
        .published_at
        .clone()
        .unwrap_or_else(|| ws.now.to_string());
    let stamp = ws.stamp();
    // The notes, with their Provenance section filled in.
    let notes = crate::notes::generate(
        ws,
        &crate::notes::NotesRequest {
            version: Some(version.clone()),
            provenance: crate::notes::Provenance {
                commit: Some(commit.to_owned()),
                build_id: Some(build_id.clone()),
                signed_by: Some(signed_by.clone()),
            },
        },
    )?;
    let notes_markdown = crate::notes::markdown(ws, &notes.notes)?;
    let notes_path = state_dir(ws).join(&state.version).join("RELEASE_NOTES.md");
    crate::fsutil::write_atomic(&notes_path, notes_markdown.as_bytes())?;
    let notes_record = store.write_value_unique(
        "release_notes",
        &format!("{}-{stamp}", state.version),
        &notes.notes,
    )?;
    let verification = store
        .list(Some("gate_result"))?
        .into_iter()
        .rev()
        .find(|r| r.name.contains(&validation.commit[..10]))
        .map(|r| r.path)
        .unwrap_or_default();
    let relative =
        |p: &std::path::Path| p.strip_prefix(&ws.home).unwrap_or(p).display().to_string();
    let evidence = ReleaseEvidenceDocument {
        release_evidence: ReleaseEvidence {
            version: state.version.clone(),
            release_date: published_at.clone(),
            released_by: identity(ws),
            validation: EvidenceValidation {
                gate_results: GateResults {
                    g_rel_passed: validation.gate_passed,
                    success_rate: validation.success_rate,
                    rework_rate: validation.rework_rate,
                    all_tasks_passed: validation.all_tasks_passed,
                },
                checklist: validation
                    .checklist
                    .iter()
                    .map(|i| ChecklistEntry {
                        check: i.id.clone(),
                        status: i.status.as_str().into(),
                    })
                    .collect(),
            },
            artifacts: EvidenceArtifacts {
                changelog_ref: ws.config.changelog.path.display().to_string(),
                release_notes_ref: relative(&notes_path),
                verification_log_ref: verification,
            },
            provenance: EvidenceProvenance {
                commit: commit.to_owned(),
                branch: branch.to_owned(),
                build_id: build_id.clone(),
                signed_by,
            },
            distribution: EvidenceDistribution {
                channels: state.publication.channels.keys().cloned().collect(),
                published_at: published_at.clone(),
            },
        },
    };
    let evidence_record = store.write_value_unique(
        "release_evidence",
        &format!("{}-{stamp}", state.version),
        &evidence,
    )?;
    let repository = git_cli::run(&ws.root, &["config", "--get", "remote.origin.url"])
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| ws.home.display().to_string());
    let statement = crate::provenance::slsa_statement(
        &state.publication.artifacts,
        &crate::provenance::BuildInfo {
            builder_id: format!("trainyard/{}", env!("CARGO_PKG_VERSION")),
            build_type: crate::provenance::BUILD_TYPE.into(),
            version: state.version.clone(),
            tag: tag_name(ws, &version),
            commit: commit.to_owned(),
            repository,
            started_on: state.started_at.parse().unwrap_or(ws.now),
            finished_on: published_at.parse().unwrap_or(ws.now),
            build_id,
            internal_parameters: None,
        },
    );
    let statement_text = serde_json::to_string_pretty(&statement)
        .map_err(|e| Error::Internal(format!("cannot render the provenance statement: {e}")))?;
    let slsa_record = store.write(
        "slsa_provenance",
        &format!("{}-{stamp}", state.version),
        &statement_text,
    )?;
    Ok(vec![
        evidence_record.record.path,
        slsa_record.record.path,
        notes_record.record.path,
    ])
}

/// `release post`: runs the configured announcements, updates the stored
/// release calendar's statuses, and resets the changelog's `[Unreleased]`
/// section in this checkout (the commits the release contains move into
/// its section).
///
/// # Errors
///
/// Returns an [`Error::Input`] when the release is not published, and the
/// errors of the commands and files.
pub fn post(ws: &Workspace, dry_run: bool) -> Result<StepReport> {
    let mut state = current(ws, "post")?;
    require(&state, &[Step::Published], "post", "`release publish`")?;
    let version = state.version()?;
    let tag = tag_name(ws, &version);
    let mut actions: Vec<Action> = ws
        .config
        .release
        .notify
        .iter()
        .map(|c| Action::Run { command: c.clone() })
        .collect();
    let today = ws.today()?;
    let calendar_path = crate::calendar_track::calendar_path(ws, today.year());
    if calendar_path.exists() {
        actions.push(Action::WriteFile {
            path: calendar_path.clone(),
            why: "statuses reconciled with the tags".into(),
        });
    }
    let changelog_path = ws.root.join(&ws.config.changelog.path);
    actions.push(Action::WriteFile {
        path: changelog_path.clone(),
        why: format!(
            "{tag} section, and [Unreleased] reset to the commits since the release branch was cut"
        ),
    });
    #[cfg(unix)]
    for due in crate::sync::schedule::due(ws, ws.now, Some(&state.version))? {
        if due.trigger == crate::sync::config::Trigger::OnRelease {
            actions.push(Action::Sync {
                sync_id: due.sync_id,
                why: due.why,
            });
        }
    }
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Posted,
    });
    if dry_run {
        return Ok(report(&state, "post", false, actions, true, Vec::new()));
    }
    let _lock = ws.lock()?;
    let mut messages = Vec::new();
    for command in &ws.config.release.notify {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&ws.root)
            .env("TRAINYARD_VERSION", &state.version)
            .env("TRAINYARD_TAG", &tag)
            .status()
            .map_err(|e| Error::environment(format!("cannot run `{command}`: {e}")))?;
        if !status.success() {
            messages.push(format!(
                "`{command}` exited with {}",
                status.code().unwrap_or(-1)
            ));
        }
    }
    // on_release syncs: their outcomes are notes, never a failed post.
    #[cfg(unix)]
    let sync_notes: Vec<String> =
        match crate::sync::schedule::run_on_release(ws, ws.now, &state.version) {
            Ok(outcomes) => outcomes
                .iter()
                .map(|o| format!("on_release sync {o}"))
                .collect(),
            Err(e) => vec![format!("on_release syncs not run: {e}")],
        };
    if calendar_path.exists() {
        let planned = crate::calendar_track::read(&calendar_path)?;
        let reconciled = crate::calendar_track::status(ws, &planned, today)?;
        let text = crate::evidence::render_yaml(&reconciled.document)?;
        crate::fsutil::write_atomic(&calendar_path, text.as_bytes())?;
    }
    reset_unreleased(ws, &tag)?;
    state.step = Step::Posted;
    state.posted_at = Some(ws.now.to_string());
    save(ws, &state)?;
    let passed = messages.is_empty();
    #[cfg(unix)]
    messages.extend(sync_notes);
    Ok(report(&state, "post", true, actions, passed, messages))
}

/// Writes the release's section and an `[Unreleased]` section holding only
/// the commits of this checkout that the release tag does not contain.
fn reset_unreleased(ws: &Workspace, tag: &str) -> Result<()> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let released = tags
        .versions
        .iter()
        .find(|t| t.name == tag)
        .ok_or_else(|| Error::Internal(format!("tag {tag} not found after publishing")))?;
    let head = ws.repo.resolve("HEAD")?;
    let since = ws.repo.walk(head, &[released.id()])?;
    let policy = crate::changelog::ChangelogPolicy {
        rules: ws.config.changelog.groups.clone(),
        include_merges: ws.config.versioning.include_merges,
    };
    let url = ws.config.changelog.repository_url.as_deref();
    let unreleased = crate::changelog::build_release(
        crate::changelog::SectionInput {
            version: None,
            tag: None,
            previous_tag: Some(tag.to_owned()),
            date: None,
            prereleases: Vec::new(),
            commits: &since,
        },
        &policy,
        url,
    );
    let section = crate::changelog::generate(
        ws,
        &crate::changelog::ChangelogRequest {
            scope: crate::changelog::Scope::Version(released.version.clone()),
            include_prereleases: false,
        },
    )?;
    let mut releases = vec![unreleased];
    releases.extend(section.releases);
    let (outcome, text) =
        crate::changelog::plan_write(ws, &crate::changelog::ChangelogReport { releases })?;
    crate::changelog::apply_write(&outcome, &text)
}

/// `release abort`: deletes the local candidate branches and tags (and the
/// release tag) when nothing was published, and says what it could not
/// undo.
///
/// # Errors
///
/// Returns an [`Error::Input`] when no release is in progress.
pub fn abort(ws: &Workspace, dry_run: bool) -> Result<StepReport> {
    let mut state = current(ws, "abort")?;
    let mut actions = Vec::new();
    let mut messages = Vec::new();
    let published: Vec<String> = state.publication.channels.keys().cloned().collect();
    if published.is_empty() {
        if let Some(tag) = &state.publication.tag {
            actions.push(Action::DeleteTag { tag: tag.clone() });
        }
        for rc in &state.rcs {
            actions.push(Action::DeleteTag {
                tag: rc.tag.clone(),
            });
            actions.push(Action::DeleteBranch {
                branch: rc.branch.clone(),
            });
        }
    } else {
        messages.push(format!(
            "already published to {}: not undone; publish a fix or roll back with `trainyard rollback`",
            published.join(", ")
        ));
        messages
            .push("the tags and release branches stay, since published releases name them".into());
    }
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Aborted,
    });
    if dry_run {
        return Ok(report(&state, "abort", false, actions, true, messages));
    }
    let _lock = ws.lock()?;
    for action in &actions {
        let result = match action {
            Action::DeleteTag { tag }
                if git_cli::ref_exists(&ws.root, &format!("refs/tags/{tag}")) =>
            {
                git_cli::run(&ws.root, &["tag", "-d", tag]).map(|_| ())
            }
            Action::DeleteBranch { branch }
                if git_cli::ref_exists(&ws.root, &format!("refs/heads/{branch}")) =>
            {
                git_cli::run(&ws.root, &["branch", "-D", branch]).map(|_| ())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            messages.push(format!("could not undo: {e}"));
        }
    }
    if state.rcs.iter().any(|_| true) {
        messages.push("tags or branches already pushed to a remote are not deleted there".into());
    }
    state.step = Step::Aborted;
    save(ws, &state)?;
    Ok(report(&state, "abort", true, actions, true, messages))
}

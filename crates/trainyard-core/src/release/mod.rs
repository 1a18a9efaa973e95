//! The release workflow of the spec's "Release Process", as a persisted
//! state machine per version:
//!
//! ```text
//! start -> rc (repeatable) -> validate -> publish (resumable) -> post
//!                    \______________ abort ______________/
//! ```
//!
//! Every step is a plan: [`plan`] reads the repository and returns the
//! step's [`Action`]s, which `--dry-run` prints; [`execute`] carries out
//! exactly those actions, in order, and reports each one it ran. There is
//! no other code path for a real run. A step run out of order is refused
//! with the step that must come first. The state lives in
//! `.trainyard/releases/<version>.yaml`, rewritten atomically after every
//! action, so a killed step resumes where it stopped; publication records
//! a receipt per channel, so a re-run publishes only what is missing.
//!
//! Versions come from the [release ledger](crate::ledger): a release never
//! starts, tags or publishes a version that was already used.

mod abort;
mod action;
mod evidence;
mod execute;
mod files;
mod post;
mod publish;
mod rc;
mod start;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::config::release::ReleaseConfig;
pub use action::Action;
pub use evidence::{
    ChecklistEntry, EvidenceArtifacts, EvidenceDistribution, EvidenceProvenance,
    EvidenceValidation, GateResults, ReleaseEvidence, ReleaseEvidenceDocument,
};
pub use execute::execute;

use crate::artifacts::Artifact;
use crate::channels::ChannelReceipt;
use crate::checklist::ChecklistItem;
use crate::version::{self, Bump, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

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
    /// Announced, and merged back into its branch.
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

    /// The command that moves a release on from this step.
    pub fn next_command(self) -> &'static str {
        match self {
            Step::Started => "rc",
            Step::Rc => "validate",
            Step::Validated => "publish",
            Step::Published => "post",
            Step::Posted | Step::Aborted => "start",
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
    /// The commit the branch was cut from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
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
    /// The branch HEAD was on at the start, which `release post` merges
    /// the release back into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
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
    /// The signed decisions of the release (team mode): `start` and
    /// `publish`, each over [`ReleaseState::decision`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signatures: BTreeMap<String, crate::identity::Signature>,
}

/// What a signature of a release step covers.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseDecision {
    /// The version.
    pub version: String,
    /// `start` or `publish`.
    pub step: String,
    /// The kind of release.
    pub kind: String,
    /// The commit decided on: the freeze point (or HEAD) at the start, the
    /// tagged commit at publication.
    pub commit: Option<String>,
}

impl ReleaseState {
    /// The decision `step` of this release signs.
    pub fn decision(&self, step: &str) -> ReleaseDecision {
        ReleaseDecision {
            version: self.version.clone(),
            step: step.to_owned(),
            kind: self.kind.clone(),
            commit: match step {
                "start" => self.freeze_commit.clone(),
                _ => self.publication.commit.clone(),
            },
        }
    }

    /// The release version.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Internal`] for a state file with a bad version.
    pub fn version(&self) -> Result<Version> {
        version::parse(&self.version).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Major, minor or patch.
    pub fn bump(&self) -> Bump {
        match self.kind.as_str() {
            "major" => Bump::Major,
            "minor" => Bump::Minor,
            _ => Bump::Patch,
        }
    }

    /// The latest release candidate, if one was cut.
    pub fn candidate(&self) -> Option<&RcCut> {
        self.rcs.last()
    }
}

/// The steps of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// `release start`.
    Start,
    /// `release rc`.
    Rc,
    /// `release validate`.
    Validate,
    /// `release publish`.
    Publish,
    /// `release post`.
    Post,
    /// `release abort`.
    Abort,
}

impl StepName {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Start => "start",
            StepName::Rc => "rc",
            StepName::Validate => "validate",
            StepName::Publish => "publish",
            StepName::Post => "post",
            StepName::Abort => "abort",
        }
    }
}

/// What to plan.
#[derive(Debug, Clone)]
pub enum StepRequest {
    /// Start a release.
    Start {
        /// The release's kind; `None` takes the bump the unreleased
        /// commits call for.
        kind: Option<Bump>,
        /// Accept a kind lower than the commits call for.
        force: bool,
    },
    /// Cut a release candidate.
    Rc {
        /// Cut from this revision (default `HEAD`).
        from: Option<String>,
    },
    /// Validate the latest candidate.
    Validate,
    /// Tag, build and publish.
    Publish,
    /// Announce and merge back.
    Post,
    /// Abandon the release.
    Abort,
}

/// A step's plan: the actions [`execute`] will carry out, in order.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    /// The version.
    pub version: String,
    /// The step.
    pub step: StepName,
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// What the planning found worth saying.
    pub messages: Vec<String>,
    /// The release state the plan starts from (for `start`, the state it
    /// records).
    pub state: ReleaseState,
    /// For `rc`: the candidate the plan cuts.
    #[serde(skip)]
    pub(crate) candidate: Option<rc::Candidate>,
}

/// What a step did, or (planned only) would do.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The version.
    pub version: String,
    /// The step run.
    pub step: String,
    /// Whether anything was changed (false for `--dry-run`).
    pub applied: bool,
    /// The planned actions, in order.
    pub actions: Vec<Action>,
    /// The actions carried out, in order: all of `actions` when the step
    /// ran to its end, none for a dry run.
    pub executed: Vec<Action>,
    /// Whether the step's checks passed (validate, publish).
    pub passed: bool,
    /// What failed, or what could not be undone (abort).
    pub messages: Vec<String>,
    /// The state after the step.
    pub state: ReleaseState,
}

impl StepPlan {
    /// The report of this plan when it is only shown (`--dry-run`).
    pub fn dry_run(self) -> StepReport {
        StepReport {
            version: self.version,
            step: self.step.as_str().into(),
            applied: false,
            actions: self.actions,
            executed: Vec::new(),
            passed: true,
            messages: self.messages,
            state: self.state,
        }
    }
}

/// Plans one step of the release in progress (or, for `start`, of a new
/// one). Reads only.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the step is out of order, the version
/// is already used, or the repository is not in a state the step can start
/// from; and the errors of reading history and state.
pub fn plan(ws: &Workspace, request: &StepRequest) -> Result<StepPlan> {
    match request {
        StepRequest::Start { kind, force } => start::plan(ws, *kind, *force),
        StepRequest::Rc { from } => rc::plan(ws, from.as_deref()),
        StepRequest::Validate => validate::plan(ws),
        StepRequest::Publish => publish::plan(ws),
        StepRequest::Post => post::plan(ws),
        StepRequest::Abort => abort::plan(ws),
    }
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
            "no release in progress: run `trainyard release start` before `release {step}`"
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
            state.step.next_command()
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

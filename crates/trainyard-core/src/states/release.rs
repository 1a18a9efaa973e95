//! A release's state, persisted in `<evidence>/releases/<version>.yaml`
//! after every step, and the directory that holds it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::artifacts::Artifact;
use crate::channels::ChannelReceipt;
use crate::version::{self, Bump, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// pass, fail or na.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The item holds.
    Pass,
    /// The item does not hold.
    Fail,
    /// The item does not apply to this release.
    Na,
}

impl Status {
    /// `pass`, `fail` or `na`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Na => "na",
        }
    }
}

/// One row of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// `RL-01` ... `RL-08`.
    pub id: String,
    /// The spec's check name.
    pub check: String,
    /// The spec's validation.
    pub validation: String,
    /// The spec's "Required" column: `Yes` or `Major only`.
    pub required: String,
    /// Whether it is required for this release.
    pub required_here: bool,
    /// The outcome.
    pub status: Status,
    /// Why.
    pub reason: String,
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

impl crate::evidence::Document for Validation {
    const KIND: &'static str = "release_validation";
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

/// The directory holding release state files.
pub fn state_dir(ws: &Workspace) -> PathBuf {
    let all = ws.home.join(&ws.config.evidence.dir).join("releases");
    match &ws.package {
        Some(unit) => all.join(unit.file_name()),
        None => all,
    }
}

pub(crate) fn state_path(ws: &Workspace, version: &str) -> PathBuf {
    state_dir(ws).join(format!("{version}.yaml"))
}

pub(crate) fn save(ws: &Workspace, state: &ReleaseState) -> Result<()> {
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

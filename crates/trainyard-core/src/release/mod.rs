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

use serde::Serialize;

pub use crate::config::release::ReleaseConfig;
pub use crate::states::release::{
    Publication, RcCut, ReleaseDecision, ReleaseState, Step, Validation, all, in_progress,
    state_dir,
};
pub(crate) use crate::states::release::{save, state_path};
pub use action::Action;
pub use evidence::{
    ChecklistEntry, EvidenceArtifacts, EvidenceDistribution, EvidenceProvenance,
    EvidenceValidation, GateResults, ReleaseEvidence,
};
pub use execute::execute;

use crate::version::Bump;
use crate::workspace::Workspace;
use crate::{Error, Result};

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

fn current(ws: &Workspace, step: &str) -> Result<ReleaseState> {
    in_progress(ws)?.ok_or_else(|| {
        Error::input(format!(
            "no release in progress: run `{}` before `release {step}`",
            ws.command("release start")
        ))
    })
}

fn require(
    ws: &Workspace,
    state: &ReleaseState,
    allowed: &[Step],
    step: &str,
    first: &str,
) -> Result<()> {
    if allowed.contains(&state.step) {
        return Ok(());
    }
    if allowed.iter().all(|a| *a < state.step) && state.step != Step::Aborted {
        return Err(Error::input(format!(
            "release {} is already {}: `release {step}` is done; the next step is `release {}`",
            ws.release_name(&state.version),
            state.step.as_str(),
            state.step.next_command()
        )));
    }
    Err(Error::input(format!(
        "release {} is {}: `release {step}` needs {first} first",
        ws.release_name(&state.version),
        state.step.as_str(),
    )))
}

fn identity(ws: &Workspace) -> String {
    ws.git_email().unwrap_or_else(|| "unknown".into())
}

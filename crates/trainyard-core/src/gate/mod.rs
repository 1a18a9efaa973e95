//! Gates: named lists of checks, with thresholds, that a commit must pass
//! before a merge or a release.
//!
//! The release spec requires the merge gate `G-MRG` before a patch release
//! and the release gate `G-REL` before a minor or major one (a major also
//! needs a human sign-off, which is not a gate's business). Both exist by
//! default; `gates:` in `trainyard.yaml` adds gates or replaces them.
//!
//! # Configuration
//!
//! ```yaml
//! gates:
//!   G-REL:                       # replaces the built-in G-REL's checks
//!     description: Release gate
//!     success_rate: 100          # minimum percent of checks passed (default 100)
//!     rework_rate: 20            # maximum percent of rework commits (default: the built-in gate's, else 20)
//!     all_tasks_passed: true     # every check must pass (default true)
//!     checks:
//!       - builtin: clean_tree    # name defaults to the built-in's name
//!       - builtin: conventional_commits
//!       - name: unit tests
//!         run: cargo test --workspace   # run with `sh -c` in the checkout
//!         timeout_seconds: 600   # default 600
//!         expect_exit: 0         # default 0
//!         parallel: true         # may run alongside other parallel checks (default false)
//!         cwd: crates/app        # optional, relative to the checkout
//!         env: { RUST_LOG: info } # optional, added to the environment
//! ```
//!
//! Without a `gates:` key the gates are the built-in ones ([`defaults`]):
//!
//! | Gate    | Checks                                                  | success_rate ≥ | rework_rate ≤ | all_tasks_passed |
//! |---------|---------------------------------------------------------|----------------|---------------|------------------|
//! | `G-MRG` | `clean_tree`                                            | 100            | 30            | required         |
//! | `G-REL` | `clean_tree`, `conventional_commits`, `feature_freeze`  | 100            | 20            | required         |
//!
//! They need nothing but git, so they work in any repository; add your
//! test and build commands by defining the gate yourself. A gate you
//! define under one of these names replaces the built-in one as a whole;
//! thresholds you leave out take the generic defaults (100, 20, true).
//!
//! # Built-in checks
//!
//! See [`Builtin`]: `clean_tree`, `conventional_commits`, `feature_freeze`,
//! `changelog_section` and `manifests_at_version`. A built-in that does not
//! apply (no freeze point, no version) is `skipped`.
//!
//! # Running
//!
//! [`run`] resolves the commit (HEAD by default) and refuses a working
//! directory that is not checked out at it, computes the release range
//! (the commits since the last release, or the tagged release's own
//! commits when the commit carries a release tag), runs the built-ins, then
//! the `parallel` commands concurrently (at most as many at once as the
//! machine has cores) and then the other commands one at a time. Commands
//! get `TRAINYARD_GATE`, `TRAINYARD_COMMIT` and, when known,
//! `TRAINYARD_VERSION`; each has its own deadline, after which its whole
//! process group is killed and the check is `timed_out`. The last
//! [`OUTPUT_LIMIT`] bytes of each command's combined stdout and stderr are
//! kept.
//!
//! # Figures
//!
//! - `success_rate`: percent of the checks that ran (not skipped) that
//!   passed, two decimals; 100 when none ran.
//! - `rework_rate`: percent of the range's non-merge commits that are
//!   rework (see [`rework()`]), two decimals; 0 for an empty range.
//! - `all_tasks_passed`: no check failed or timed out.
//!
//! The gate passes when `success_rate` is at least its minimum,
//! `rework_rate` at most its maximum, and `all_tasks_passed` holds when
//! required; [`GateResult::reasons`] says which did not.
//!
//! # Evidence
//!
//! [`record`] writes the result as a `gate_result` document named
//! `<gate>-<first 12 hex of the commit>-<stamp>`, whose top-level key is
//! `gate_result`; [`latest_result`] reads back the newest one for a gate on
//! exactly one commit.

mod builtin;
mod exec;
mod rework;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::evidence::{Lookup, WriteReport};
use crate::history::{RawCommit, Repo};
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result, releases};

use crate::config::gates::validate_gate_name;
pub use crate::config::gates::{
    Builtin, BuiltinCheck, CheckConfig, CheckKind, CommandCheck, DEFAULT_REWORK_RATE,
    DEFAULT_SUCCESS_RATE, DEFAULT_TIMEOUT_SECONDS, GateConfig, GatesConfig, MERGE_GATE,
    RELEASE_GATE, Thresholds, configured, defaults, find,
};
pub use exec::OUTPUT_LIMIT;
pub use rework::{Rework, ReworkReason, rework};

/// The evidence kind of a recorded gate result.
pub const EVIDENCE_KIND: &str = "gate_result";

// ----------------------------------------------------------------- request

/// What to run a gate on.
#[derive(Debug, Clone, Default)]
pub struct GateRequest {
    /// The gate's name, e.g. `G-REL` (case-insensitive when unambiguous).
    pub name: String,
    /// The revision to run on (default `HEAD` of the workspace); the result
    /// names its full commit id.
    pub commit: Option<String>,
    /// The version being released, for `changelog_section`,
    /// `manifests_at_version` and `TRAINYARD_VERSION`.
    pub version: Option<Version>,
    /// The release's freeze point (a revision), for `feature_freeze`.
    pub freeze_point: Option<String>,
    /// Where commands run and files are read: a checkout at the commit,
    /// e.g. a temporary worktree (default: the workspace root). Its HEAD
    /// must be the commit.
    pub workdir: Option<PathBuf>,
}

// ------------------------------------------------------------------ result

/// The outcome of one gate run: the figures, every check, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// The gate's configured name.
    pub gate: String,
    /// The full id of the commit it ran on.
    pub commit: String,
    /// When it ran (RFC 3339, UTC), from the workspace's clock.
    pub ran_at: String,
    /// The version being released, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The release range the rework rate was measured on.
    pub range: RangeSummary,
    /// Every check, in configuration order.
    pub checks: Vec<CheckOutcome>,
    /// Percent of the checks that ran that passed (two decimals).
    pub success_rate: f64,
    /// Percent of the range's non-merge commits that are rework (two
    /// decimals).
    pub rework_rate: f64,
    /// The rework commits, newest first, and why each counts.
    #[serde(default)]
    pub rework: Vec<Rework>,
    /// No check failed or timed out.
    pub all_tasks_passed: bool,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// Whether the gate passed.
    pub passed: bool,
    /// Why it did not pass, one reason per threshold missed.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// How long the whole run took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
}

/// The release range a gate measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSummary {
    /// The release tag on the commit, when the commit is itself a release:
    /// the range is then that release's own commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The release the range starts after, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Commits in the range, merges excluded (the rework rate's base).
    pub commits: usize,
    /// Merge commits in the range, which are not counted.
    #[serde(default)]
    pub merges: usize,
    /// The walk stopped at a shallow clone's boundary before any release.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated_by_shallow_clone: bool,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check's name.
    pub name: String,
    /// A command or a built-in.
    pub kind: CheckKind,
    /// Which built-in, for a built-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<Builtin>,
    /// The command, for a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// How it went.
    pub status: CheckStatus,
    /// The command's exit status, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The exit status that meant success, for a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_exit: Option<i32>,
    /// The signal that ended the command, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// One line saying what happened: `exit 1, expected 0`, `timed out
    /// after 5 s`, `skipped: no freeze point`.
    pub detail: String,
    /// A command's combined stdout and stderr (its last [`OUTPUT_LIMIT`]
    /// bytes, colours and carriage returns removed), or a built-in's
    /// findings, one a line.
    #[serde(default)]
    pub output: String,
    /// How many earlier bytes of output were dropped to keep the last
    /// [`OUTPUT_LIMIT`]; 0 when nothing was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub output_omitted_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It passed.
    Passed,
    /// It failed (a command exited with another status than expected, or
    /// could not start).
    Failed,
    /// The command ran out of time and was killed.
    TimedOut,
    /// It did not apply and did not run.
    Skipped,
}

impl CheckStatus {
    /// Its snake_case name, as in JSON and YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::TimedOut => "timed_out",
            CheckStatus::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// --------------------------------------------------------------------- run

/// Runs the gate `request.name` of the workspace's configuration on a
/// commit; see [`run_with`].
///
/// # Errors
///
/// As [`run_with`].
pub fn run(ws: &Workspace, request: &GateRequest) -> Result<GateResult> {
    run_with(ws, &ws.config.gates, request)
}

/// Runs the gate `request.name` of `gates` (laid over the built-in ones)
/// on a commit: resolves the commit, checks that the working directory is
/// checked out at it, measures the release range, runs every check and
/// applies the thresholds. Records nothing: see [`record`].
///
/// A gate that fails is a result with `passed: false`, not an error.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown or invalid gate, a revision
/// or freeze point that does not resolve, or a working directory that is
/// not a checkout of the commit; an [`Error::Environment`] when git or the
/// history cannot be read.
pub fn run_with(ws: &Workspace, gates: &GatesConfig, request: &GateRequest) -> Result<GateResult> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    run_on(ws, gates, request, cores)
}

/// [`run_with`], with at most `workers` parallel commands at once: the
/// machine's cores, or a fixed number where the outcome must not depend
/// on them.
fn run_on(
    ws: &Workspace,
    gates: &GatesConfig,
    request: &GateRequest,
    workers: usize,
) -> Result<GateResult> {
    let started = Instant::now();
    let (name, gate) = find(gates, &request.name)?;
    validate_gate_name(&name)?;
    gate.validate()
        .map_err(|e| Error::input(format!("gates.{name}.{e}")))?;

    let rev = request.commit.as_deref().unwrap_or("HEAD");
    let id = ws.repo.resolve(rev)?;
    let commit = id.to_string();
    let workdir = request.workdir.clone().unwrap_or_else(|| ws.root.clone());
    let checkout_root = checkout_at(&workdir, &commit)?;

    let range = release_range(ws, id)?;
    let rework = rework::rework(&range.commits);
    let merges = range.commits.iter().filter(|c| c.parents.len() > 1).count();
    let counted = range.commits.len() - merges;

    let context = builtin::Context {
        ws,
        checkout_root: &checkout_root,
        commit: id,
        range: &range.commits,
        version: request.version.as_ref(),
        freeze_point: request.freeze_point.as_deref(),
    };
    let env = command_env(&name, &commit, request.version.as_ref());
    let checks = run_checks(&gate.checks, &context, &workdir, &env, workers)?;

    let ran: Vec<&CheckOutcome> = checks
        .iter()
        .filter(|c| c.status != CheckStatus::Skipped)
        .collect();
    let passed_count = ran
        .iter()
        .filter(|c| c.status == CheckStatus::Passed)
        .count();
    let success_rate = percent(passed_count, ran.len(), 100.0);
    let rework_rate = percent(rework.len(), counted, 0.0);
    let all_tasks_passed = passed_count == ran.len();

    let thresholds = gate.thresholds();
    let mut reasons = Vec::new();
    if success_rate < thresholds.success_rate {
        reasons.push(format!(
            "success_rate {success_rate} is below the minimum {}",
            thresholds.success_rate
        ));
    }
    if rework_rate > thresholds.rework_rate {
        reasons.push(format!(
            "rework_rate {rework_rate} is above the maximum {} ({} of {counted} commits)",
            thresholds.rework_rate,
            rework.len()
        ));
    }
    if thresholds.all_tasks_passed && !all_tasks_passed {
        let failed: Vec<String> = ran
            .iter()
            .filter(|c| c.status != CheckStatus::Passed)
            .map(|c| format!("{} ({})", c.name, c.status))
            .collect();
        reasons.push(format!("not all tasks passed: {}", failed.join(", ")));
    }

    Ok(GateResult {
        gate: name,
        commit,
        ran_at: format!("{:.0}", ws.now),
        version: request.version.as_ref().map(ToString::to_string),
        range: RangeSummary {
            release: range.release,
            since: range.since,
            commits: counted,
            merges,
            truncated_by_shallow_clone: range.truncated_by_shallow_clone,
        },
        checks,
        success_rate,
        rework_rate,
        rework,
        all_tasks_passed,
        thresholds,
        passed: reasons.is_empty(),
        reasons,
        duration_ms: millis(started),
    })
}

/// `part` of `whole` in percent, rounded to two decimals; `empty` when
/// `whole` is zero.
fn percent(part: usize, whole: usize, empty: f64) -> f64 {
    if whole == 0 {
        return empty;
    }
    let raw = part as f64 * 100.0 / whole as f64;
    (raw * 100.0).round() / 100.0
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The environment every command of the gate gets.
fn command_env(
    gate: &str,
    commit: &str,
    version: Option<&Version>,
) -> Vec<(String, Option<String>)> {
    vec![
        ("TRAINYARD_GATE".to_owned(), Some(gate.to_owned())),
        ("TRAINYARD_COMMIT".to_owned(), Some(commit.to_owned())),
        (
            "TRAINYARD_VERSION".to_owned(),
            version.map(ToString::to_string),
        ),
    ]
}

/// Checks that `workdir` is in a checkout whose HEAD is `commit`; returns
/// the top of that checkout.
fn checkout_at(workdir: &Path, commit: &str) -> Result<PathBuf> {
    if !workdir.is_dir() {
        return Err(Error::input(format!(
            "cannot run a gate in {}: not a directory",
            workdir.display()
        )));
    }
    let repo = Repo::discover(workdir)?;
    let head = repo.head()?.commit;
    if head != commit {
        return Err(Error::input(format!(
            "{} is checked out at {}, not at {commit}: run the gate in a checkout of the commit",
            workdir.display(),
            &head[..head.len().min(12)]
        )));
    }
    Ok(repo.root())
}

/// The commits a gate measures.
struct Range {
    release: Option<String>,
    since: Option<String>,
    commits: Vec<RawCommit>,
    truncated_by_shallow_clone: bool,
}

/// The release range of a commit: the tagged release's own commits when
/// the commit carries a stable release tag, else the commits since the
/// last release.
fn release_range(ws: &Workspace, id: gix::ObjectId) -> Result<Range> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let tagged = tags
        .versions
        .iter()
        .filter(|t| t.id() == id && version::is_stable(&t.version))
        .max_by(|a, b| a.version.cmp_precedence(&b.version));
    if let Some(tag) = tagged {
        let own = releases::range_of(&ws.repo, tag, &tags, false)?;
        let mut since = None;
        for lower in tags.versions.iter().rev() {
            if version::is_stable(&lower.version)
                && lower.version.cmp_precedence(&tag.version).is_lt()
                && ws.repo.is_ancestor(lower.id(), id)?
            {
                since = Some(lower.name.clone());
                break;
            }
        }
        return Ok(Range {
            release: Some(tag.name.clone()),
            since,
            commits: own.commits,
            truncated_by_shallow_clone: false,
        });
    }
    let unreleased = releases::unreleased(&ws.repo, id, &tags)?;
    Ok(Range {
        release: None,
        since: unreleased.current.map(|t| t.name),
        commits: unreleased.commits,
        truncated_by_shallow_clone: unreleased.truncated_by_shallow_clone,
    })
}

/// Runs the checks: built-ins first, then parallel commands together,
/// then the other commands one at a time. Outcomes keep the configuration
/// order.
fn run_checks(
    checks: &[CheckConfig],
    context: &builtin::Context<'_>,
    workdir: &Path,
    env: &[(String, Option<String>)],
    workers: usize,
) -> Result<Vec<CheckOutcome>> {
    let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; checks.len()];
    for (i, check) in checks.iter().enumerate() {
        if let CheckConfig::Builtin(b) = check {
            let started = Instant::now();
            let verdict = builtin::run(b.builtin, context)?;
            outcomes[i] = Some(CheckOutcome {
                name: b.name.clone(),
                kind: CheckKind::Builtin,
                builtin: Some(b.builtin),
                command: None,
                status: verdict.status,
                exit_code: None,
                expect_exit: None,
                signal: None,
                duration_ms: millis(started),
                detail: verdict.detail,
                output: verdict.output,
                output_omitted_bytes: 0,
            });
        }
    }
    let commands: Vec<(usize, &CommandCheck)> = checks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            CheckConfig::Command(command) => Some((i, command)),
            CheckConfig::Builtin(_) => None,
        })
        .collect();
    let spec = |command: &CommandCheck| exec::Spec {
        run: command.run.clone(),
        dir: command
            .cwd
            .as_ref()
            .map_or_else(|| workdir.to_path_buf(), |cwd| workdir.join(cwd)),
        env: command
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .chain(env.iter().cloned())
            .collect(),
        timeout: command.timeout_seconds.duration(),
        expect_exit: command.expect_exit.code(),
    };
    let (parallel, sequential): (Vec<_>, Vec<_>) =
        commands.into_iter().partition(|(_, c)| c.parallel);
    let parallel_specs: Vec<exec::Spec> = parallel.iter().map(|(_, c)| spec(c)).collect();
    let finished = exec::run_many(&parallel_specs, workers);
    for ((i, command), done) in parallel.iter().zip(finished) {
        outcomes[*i] = Some(command_outcome(command, done));
    }
    for (i, command) in &sequential {
        let done = exec::run_one(&spec(command));
        outcomes[*i] = Some(command_outcome(command, done));
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Internal("a gate check did not run".to_owned())))
        .collect()
}

fn command_outcome(command: &CommandCheck, done: exec::Finished) -> CheckOutcome {
    CheckOutcome {
        name: command.name.clone(),
        kind: CheckKind::Command,
        builtin: None,
        command: Some(command.run.clone()),
        status: done.status,
        exit_code: done.exit_code,
        expect_exit: Some(command.expect_exit.code()),
        signal: done.signal,
        duration_ms: done.duration_ms,
        detail: done.detail,
        output: done.output,
        output_omitted_bytes: done.omitted_bytes,
    }
}

// ---------------------------------------------------------------- evidence

impl crate::evidence::Document for GateResult {
    const KIND: &'static str = EVIDENCE_KIND;
}

/// The first 12 hex digits of a commit id, as in evidence names.
fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Records a gate result as `gate_result` evidence named
/// `<gate>-<first 12 hex of the commit>-<stamp of ran_at>`, with `-2`,
/// `-3`, ... appended when that name is taken (two runs in one second).
/// Take [`Workspace::lock`] around it when other runs may record at once.
///
/// # Errors
///
/// As [`EvidenceStore::write`](crate::evidence::EvidenceStore::write).
pub fn record(ws: &Workspace, result: &GateResult) -> Result<WriteReport> {
    let store = ws.evidence_store();
    let stamp = result
        .ran_at
        .parse::<jiff::Timestamp>()
        .map_or_else(|_| ws.stamp(), |t| t.strftime("%Y%m%dT%H%M%SZ").to_string());
    let base = format!("{}-{}-{stamp}", result.gate, short(&result.commit));
    store.record_document(&base, result)
}

/// The newest recorded result of `gate` on exactly `commit` (a full id,
/// or a revision that resolves to one), or `None` when there is none.
/// Documents whose bytes no longer match their record are ignored.
///
/// # Errors
///
/// Returns an error when the evidence index or a candidate document
/// cannot be read.
pub fn latest_result(ws: &Workspace, gate: &str, commit: &str) -> Result<Option<GateResult>> {
    let commit = match ws.repo.resolve(commit) {
        Ok(id) => id.to_string(),
        Err(_) => commit.to_ascii_lowercase(),
    };
    let store = ws.evidence_store();
    let prefix = format!("{}-{}-", gate, short(&commit)).to_ascii_lowercase();
    let mut records = store.list(Some(EVIDENCE_KIND))?;
    records.sort_by_key(|r| std::cmp::Reverse(r.seq));
    for record in records {
        if !record.name.to_ascii_lowercase().starts_with(&prefix) {
            continue;
        }
        let entry = store.get(&Lookup::Seq(record.seq))?;
        if !entry.intact {
            continue;
        }
        let Ok(result) = crate::evidence::parse_document::<GateResult>(&entry.text) else {
            continue;
        };
        if result.gate.eq_ignore_ascii_case(gate) && result.commit == commit {
            return Ok(Some(result));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;

//! `rollback plan`: the dry-run. What a rollback from one release to an
//! earlier one would change on the branch, in the release channels and in
//! the config sync targets, sealed (its id is the hash of its content) and
//! stored as evidence, so that what is approved and applied is exactly
//! what was shown.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Kind, RollbackConfig};
use crate::channels::ChannelConfig;
use crate::git_cli;
use crate::plan::{PlanKind, find_sealed};
use crate::release::{self, Step};
use crate::sync::config::{EndpointType, SyncType};
use crate::sync::engine;
use crate::version;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The release to go back to.
    pub to: String,
    /// The release to roll back (default: the latest published one).
    pub from: Option<String>,
    /// The rollback type.
    pub kind: Kind,
    /// For a partial rollback: component names (from the config) or paths.
    pub components: Vec<String>,
}

/// One commit the code rollback reverts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevertedCommit {
    /// Its id.
    pub commit: String,
    /// Its subject line.
    pub subject: String,
}

/// How the branch goes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CodePlan {
    /// One commit on `branch` reverting `commits` (newest first): the
    /// release's own commits, so later work on the branch stays.
    Revert {
        /// The branch.
        branch: String,
        /// Its head when planned (moved only from there).
        head: String,
        /// The commits reverted.
        commits: Vec<RevertedCommit>,
        /// The paths they touch: after the rollback, these hold their
        /// content at `base`.
        paths: Vec<String>,
        /// The branch's commit when the earlier release was cut.
        base: String,
        /// trainyard's own files (its configuration, sync configurations,
        /// notes and records), which the rollback leaves as they are on
        /// the branch even when a reverted commit touched them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keep: Vec<String>,
    },
    /// One commit on `branch` restoring `paths` to their content at
    /// `base` (a partial rollback).
    Restore {
        /// The branch.
        branch: String,
        /// Its head when planned.
        head: String,
        /// The paths restored (those of the named components that the
        /// release changed).
        paths: Vec<String>,
        /// The branch's commit when the earlier release was cut.
        base: String,
        /// In a package's rollback, the files outside it whose
        /// requirements on it (and lockfile entries) are written back to
        /// the restored version: its dependents' manifests, the lockfiles.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        requirements: Vec<String>,
    },
    /// A deployment branch pointed back at the earlier release's commit.
    DeployBranch {
        /// The branch.
        branch: String,
        /// Its commit when planned (moved only from there; none when it
        /// does not exist yet).
        head: Option<String>,
        /// The commit it will point at.
        target: String,
    },
}

impl CodePlan {
    /// The branch changed.
    pub fn branch(&self) -> &str {
        match self {
            CodePlan::Revert { branch, .. }
            | CodePlan::Restore { branch, .. }
            | CodePlan::DeployBranch { branch, .. } => branch,
        }
    }
}

/// One artifact the rollback makes sure a channel holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredArtifact {
    /// The file name.
    pub name: String,
    /// Its SHA-256 as the earlier release's evidence recorded it.
    pub sha256: String,
    /// Where the release kept it.
    pub path: PathBuf,
}

/// What happens in one release channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPlan {
    /// The channel.
    pub channel: String,
    /// Its kind.
    pub kind: String,
    /// The rolled-back release's directory, withdrawn (moved into the
    /// rollback's backup), for a directory channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw: Option<PathBuf>,
    /// The earlier release's artifacts, published again where missing
    /// (digests checked).
    pub republish: Vec<RestoredArtifact>,
    /// What the tool does to the rolled-back release on a forge or
    /// registry (demote the release, yank the crate, deprecate the npm
    /// version), one line a step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// What the tool cannot do here, for a person to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<String>,
}

/// What happens to one config sync's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPlan {
    /// The sync.
    pub sync_id: String,
    /// Its source's path in the repository, read at the earlier release.
    pub source_path: String,
    /// The sync plan made from that state (evidence, a dry-run).
    pub sync_plan_id: String,
    /// The target's fingerprint when planned.
    pub target_fingerprint: String,
    /// The fingerprint the target has once rolled back.
    pub rolled_back_fingerprint: String,
    /// Files to add, modify and delete.
    pub files_to_add: usize,
    /// Files to modify.
    pub files_to_modify: usize,
    /// Files to delete.
    pub files_to_delete: usize,
}

/// The plan's content; its hash is the plan id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackPlanBody {
    /// The rollback type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The release rolled back.
    pub rolled_back_from: String,
    /// Its tag.
    pub from_tag: String,
    /// Its commit.
    pub from_commit: String,
    /// The release gone back to.
    pub rolled_back_to: String,
    /// Its tag.
    pub to_tag: String,
    /// Its commit.
    pub to_commit: String,
    /// For a partial rollback: the components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// The branch side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodePlan>,
    /// The channel side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelPlan>,
    /// The config side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ConfigPlan>,
    /// Who planned it.
    pub planned_by: String,
    /// When.
    pub planned_at: String,
}

/// A sealed rollback plan.
pub type RollbackPlan = crate::plan::Sealed<RollbackPlanBody>;

impl crate::evidence::Document for RollbackPlan {
    const KIND: &'static str = "rollback_plan";
}

impl RollbackPlan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        let code_empty = match &self.plan.code {
            None => true,
            Some(CodePlan::Revert { commits, .. }) => commits.is_empty(),
            Some(CodePlan::Restore { paths, .. }) => paths.is_empty(),
            Some(CodePlan::DeployBranch { head, target, .. }) => head.as_ref() == Some(target),
        };
        code_empty
            && self
                .plan
                .channels
                .iter()
                .all(|c| c.withdraw.is_none() && c.republish.is_empty() && c.actions.is_empty())
            && self
                .plan
                .configs
                .iter()
                .all(|c| c.files_to_add + c.files_to_modify + c.files_to_delete == 0)
    }
}

/// What `rollback plan` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The sealed plan.
    #[serde(flatten)]
    pub plan: RollbackPlan,
    /// Where it is recorded.
    pub plan_ref: String,
}

/// Plans a rollback: reads the branch, the release states and the config
/// sync targets, writes nothing but the plan (and the config syncs' own
/// dry-run plans) as evidence.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown or invalid version, a
/// missing tag, a `--to` that is not older than the release rolled back,
/// an unknown component, or a config sync whose source is not in the
/// repository.
pub fn plan(ws: &Workspace, request: &PlanRequest) -> Result<PlanReport> {
    let config = &ws.config.rollback;
    let to = version::parse(&request.to)?;
    let from = match &request.from {
        Some(v) => version::parse(v)?,
        None => latest_release(ws)?,
    };
    if from.cmp_precedence(&to) != std::cmp::Ordering::Greater {
        return Err(Error::input(format!(
            "cannot roll back {from} to {to}: --to must be an earlier release"
        )));
    }
    let (from_tag, to_tag) = (ws.tag_name(&from), ws.tag_name(&to));
    let from_commit = tag_commit(ws, &from_tag)?;
    let to_commit = tag_commit(ws, &to_tag)?;
    if request.kind == Kind::Partial && request.components.is_empty() {
        return Err(Error::input(
            "a partial rollback needs at least one --component",
        ));
    }
    let mut component_paths = resolve_components(config, &request.components)?;
    // A package's rollback restores its own paths only: the other
    // packages' changes since then stay.
    let mut code_kind = request.kind;
    if let Some(unit) = &ws.package
        && request.components.is_empty()
    {
        component_paths = unit.paths.iter().map(|p| p.display().to_string()).collect();
        code_kind = Kind::Partial;
    }
    let code = match request.kind {
        Kind::Config => None,
        _ => Some(code_plan(
            ws,
            config,
            code_kind,
            (&from_commit, &to_commit),
            &component_paths,
            &to,
        )?),
    };
    let channels = match request.kind {
        Kind::Immediate | Kind::Planned => channel_plans(ws, &from.to_string(), &to.to_string())?,
        Kind::Partial | Kind::Config => Vec::new(),
    };
    let configs = match request.kind {
        Kind::Partial => Vec::new(),
        _ => config_plans(ws, &to_tag, &to_commit)?,
    };
    let body = RollbackPlanBody {
        kind: request.kind,
        rolled_back_from: from.to_string(),
        from_tag,
        from_commit,
        rolled_back_to: to.to_string(),
        to_tag,
        to_commit,
        components: request.components.clone(),
        code,
        channels,
        configs,
        planned_by: ws.git_email().unwrap_or_else(|| "unknown".into()),
        planned_at: ws.now.to_string(),
    };
    let plan = RollbackPlan::seal(body);
    let record = ws.evidence_store().record_document(
        &format!(
            "{}-{}",
            ws.scoped_name(&plan.plan.rolled_back_from),
            plan.short_id()
        ),
        &plan,
    )?;
    Ok(PlanReport {
        plan,
        plan_ref: record.record.path,
    })
}

/// How rollback plans are recorded and named.
const ROLLBACK_PLAN: PlanKind = PlanKind {
    noun: "rollback plan",
    missing: "no rollback plan",
    make: "trainyard rollback plan --to <version>",
    edited_remedy: "a rollback plan that was changed is never approved or started: plan the rollback again",
};

/// Finds a recorded rollback plan by its id or a prefix (8+ hex digits).
///
/// # Errors
///
/// Returns an [`Error::Input`] when none or several match, or the plan was
/// edited after it was sealed.
pub fn find(ws: &Workspace, id: &str) -> Result<(RollbackPlan, String)> {
    find_sealed(ws.evidence_store().as_ref(), &ROLLBACK_PLAN, id)
}

/// The latest release that was published and not rolled back.
fn latest_release(ws: &Workspace) -> Result<version::Version> {
    let withdrawn = super::withdrawn(ws)?;
    release::all(ws)?
        .into_iter()
        .rev()
        .filter(|s| matches!(s.step, Step::Published | Step::Posted))
        .filter(|s| !withdrawn.contains(&s.version))
        .find_map(|s| s.version().ok())
        .ok_or_else(|| {
            Error::input("no published release to roll back: name it with --from <version>")
        })
}

fn tag_commit(ws: &Workspace, tag: &str) -> Result<String> {
    if !git_cli::ref_exists(&ws.home, &format!("refs/tags/{tag}")) {
        return Err(Error::input(format!(
            "tag {tag} does not exist in {}: fetch the tags, or name another version",
            ws.home.display()
        )));
    }
    git_cli::commit_of(&ws.home, tag)
}

/// The paths of the named components: a configured component's paths, or
/// the name itself taken as a path in the repository.
fn resolve_components(config: &RollbackConfig, names: &[String]) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    for name in names {
        match config.components.get(name) {
            Some(list) => paths.extend(list.iter().cloned()),
            None => {
                if name.starts_with('/') || name.split('/').any(|part| part == "..") {
                    return Err(Error::input(format!(
                        "component `{name}` escapes the repository: name a configured component or a relative path"
                    )));
                }
                paths.push(name.trim_end_matches('/').to_owned());
            }
        }
    }
    Ok(paths)
}

fn git(ws: &Workspace, args: &[&str]) -> Result<String> {
    git_cli::run(&ws.home, args)
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn code_plan(
    ws: &Workspace,
    config: &RollbackConfig,
    kind: Kind,
    (from_commit, to_commit): (&str, &str),
    component_paths: &[String],
    to: &crate::version::Version,
) -> Result<CodePlan> {
    if let Some(branch) = &config.deploy_branch {
        let head = git_cli::commit_of(&ws.home, &format!("refs/heads/{branch}")).ok();
        return Ok(CodePlan::DeployBranch {
            branch: branch.clone(),
            head,
            target: to_commit.to_owned(),
        });
    }
    let branch = match &config.branch {
        Some(branch) => branch.clone(),
        None => git(ws, &["symbolic-ref", "--short", "HEAD"])
            .map(|s| s.trim().to_owned())
            .map_err(|_| {
                Error::input(
                    "HEAD is detached: set rollback.branch to the branch whose release commits are reverted",
                )
            })?,
    };
    let head = git_cli::commit_of(&ws.home, &format!("refs/heads/{branch}"))
        .map_err(|_| Error::input(format!("branch {branch} does not exist")))?;
    // Where each release left the branch: a release tagged on a release
    // branch joins the branch at its merge base.
    let base_of = |commit: &str| -> Result<String> {
        Ok(git(ws, &["merge-base", &head, commit])?.trim().to_owned())
    };
    let (to_base, from_base) = (base_of(to_commit)?, base_of(from_commit)?);
    let range = format!("{to_base}..{from_base}");
    let keep = own_paths(ws);
    let mut changed = lines(&git(
        ws,
        &["diff", "--name-only", "--no-renames", &to_base, &from_base],
    )?);
    changed.retain(|path| !keep.iter().any(|k| is_within(path, k)));
    if kind == Kind::Partial {
        changed.retain(|path| {
            component_paths
                .iter()
                .any(|c| path == c || path.starts_with(&format!("{c}/")))
        });
        let requirements = match &ws.package {
            Some(_) => package_requirements(ws, &head, &to_base, &changed, to)?,
            None => Vec::new(),
        };
        return Ok(CodePlan::Restore {
            branch,
            head,
            paths: changed,
            base: to_base,
            requirements,
        });
    }
    let commits = lines(&git(
        ws,
        &["log", "--no-merges", "--format=%H%x09%s", &range],
    )?)
    .into_iter()
    .filter_map(|line| {
        line.split_once('\t')
            .map(|(commit, subject)| RevertedCommit {
                commit: commit.to_owned(),
                subject: subject.to_owned(),
            })
    })
    .collect();
    Ok(CodePlan::Revert {
        branch,
        head,
        commits,
        paths: changed,
        base: to_base,
        keep,
    })
}

/// In a package's rollback, the files outside `restored` that writing
/// the package back at `to` changes: its dependents' requirements on it
/// and the lockfiles, as they read once `restored` is back at `base`.
fn package_requirements(
    ws: &Workspace,
    head: &str,
    base: &str,
    restored: &[String],
    to: &crate::version::Version,
) -> Result<Vec<String>> {
    let worktree = git_cli::Worktree::add(&ws.home, head)?;
    let edits = requirement_edits(ws, worktree.path(), base, restored, to)?;
    Ok(edits
        .paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect())
}

/// Restores `restored` from `base` in the checkout `dir` and plans the
/// requirement edits that follow (none for the restored files).
pub(crate) fn requirement_edits(
    ws: &Workspace,
    dir: &Path,
    base: &str,
    restored: &[String],
    to: &crate::version::Version,
) -> Result<crate::manifest::BumpPlan> {
    if !restored.is_empty() {
        let mut args = vec!["restore", "--source", base, "--staged", "--worktree", "--"];
        args.extend(restored.iter().map(String::as_str));
        git_cli::run(dir, &args)?;
    }
    let view = ws.view_at(dir)?;
    let specs = view.manifests()?;
    let mut plan = crate::monorepo::bump::plan_files(&view, &specs, to)?;
    plan.edits.retain(|e| {
        !restored
            .iter()
            .any(|r| is_within(&e.path.display().to_string(), r))
    });
    Ok(plan)
}

/// trainyard's own files in the repository, relative to its root: the
/// configuration file, the evidence directory (records, sync
/// configurations, notes), the notes directory, the changelog (the
/// record of what was released, the rolled-back release included) and
/// the listed sync configurations. A rollback of code never takes them
/// back.
pub(crate) fn own_paths(ws: &Workspace) -> Vec<String> {
    let relative = |path: &Path| -> Option<String> {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            ws.home.join(path)
        };
        let rel = crate::fsutil::lexical(&absolute)
            .strip_prefix(crate::fsutil::lexical(&ws.home))
            .ok()?
            .to_path_buf();
        let text = rel.to_str()?.trim_end_matches('/').to_owned();
        (!text.is_empty()).then_some(text)
    };
    let mut paths: Vec<String> = Vec::new();
    let config = ws
        .config_path
        .clone()
        .unwrap_or_else(|| ws.home.join(crate::config::FILE_NAME));
    for path in [
        config.as_path(),
        ws.config.evidence.dir.as_path(),
        ws.config.notes.dir.as_path(),
        ws.config.changelog.path.as_path(),
    ]
    .into_iter()
    .chain(ws.config.syncs.iter().map(PathBuf::as_path))
    {
        if let Some(rel) = relative(path)
            && !paths.iter().any(|p| is_within(&rel, p))
        {
            paths.retain(|p| !is_within(p, &rel));
            paths.push(rel);
        }
    }
    paths.sort();
    paths
}

/// Whether `path` is `dir` or inside it.
fn is_within(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn channel_plans(ws: &Workspace, from: &str, to: &str) -> Result<Vec<ChannelPlan>> {
    let earlier = release::all(ws)?.into_iter().find(|s| s.version == to);
    let artifacts: Vec<RestoredArtifact> = earlier
        .as_ref()
        .map(|s| {
            s.publication
                .artifacts
                .iter()
                .map(|a| RestoredArtifact {
                    name: a.name.clone(),
                    sha256: a.sha256.clone(),
                    path: a.path.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let published_to = |name: &str| {
        earlier
            .as_ref()
            .is_some_and(|s| s.publication.channels.contains_key(name))
    };
    let mut plans = Vec::new();
    for channel in &ws.config.release.channels {
        let name = channel.name().to_owned();
        let kind = channel.kind().as_str().to_owned();
        let republish = if published_to(&name) {
            artifacts.clone()
        } else {
            Vec::new()
        };
        let plan = match channel {
            ChannelConfig::Directory(c) => {
                let dir = crate::fsutil::lexical(&ws.home.join(&c.path).join(from));
                ChannelPlan {
                    channel: name,
                    kind,
                    withdraw: dir.exists().then_some(dir),
                    republish,
                    actions: Vec::new(),
                    manual: Vec::new(),
                }
            }
            ChannelConfig::GitRemote(_) => ChannelPlan {
                channel: name,
                kind,
                withdraw: None,
                republish: Vec::new(),
                actions: Vec::new(),
                manual: vec![format!(
                    "the tag of {from} stays on the remote: a published tag is never moved or deleted"
                )],
            },
            ChannelConfig::Http(_) | ChannelConfig::Command(_) => ChannelPlan {
                channel: name,
                kind,
                withdraw: None,
                manual: vec![format!(
                    "withdraw {from} from this channel by hand: it offers no way to remove a release"
                )],
                actions: Vec::new(),
                republish,
            },
            ChannelConfig::Github(_)
            | ChannelConfig::Gitlab(_)
            | ChannelConfig::Gitea(_)
            | ChannelConfig::Crates(_)
            | ChannelConfig::Npm(_)
            | ChannelConfig::Pypi(_) => {
                let withdrawal = crate::channels::withdraw_plan(
                    channel,
                    &withdraw_release(ws, from, to, None, String::new())?,
                )
                .unwrap_or_default();
                ChannelPlan {
                    channel: name,
                    kind,
                    withdraw: None,
                    republish: Vec::new(),
                    actions: withdrawal.automatic,
                    manual: withdrawal.manual,
                }
            }
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// The rolled-back release `from` as a channel withdraws it, `to` in its
/// place.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a version that does not parse.
pub(crate) fn withdraw_release(
    ws: &Workspace,
    from: &str,
    to: &str,
    token: Option<String>,
    reason: String,
) -> Result<crate::channels::WithdrawRelease> {
    Ok(crate::channels::WithdrawRelease {
        version: from.to_owned(),
        tag: ws.tag_name(&crate::version::parse(from)?),
        restored_version: to.to_owned(),
        restored_tag: ws.tag_name(&crate::version::parse(to)?),
        repo_root: ws.home.clone(),
        token,
        package_dirs: ws.package_dirs(),
        reason,
    })
}

/// A checkout of the earlier release, for reading config sync sources.
pub(crate) struct ReleaseTree {
    _worktree: git_cli::Worktree,
    root: PathBuf,
}

impl ReleaseTree {
    pub(crate) fn at(ws: &Workspace, tag: &str) -> Result<Self> {
        let worktree = git_cli::Worktree::add(&ws.home, tag)?;
        let root = worktree.path().to_path_buf();
        Ok(ReleaseTree {
            _worktree: worktree,
            root,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
}

/// The config syncs, and where in the repository each reads its source.
pub(crate) fn config_syncs(ws: &Workspace) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for sync in engine::load_all(ws)? {
        let c = &sync.config;
        if c.kind != SyncType::Config {
            continue;
        }
        if c.source.kind != EndpointType::File {
            return Err(Error::input(format!(
                "config sync {} reads a {} source: a config rollback needs its source in the repository",
                c.sync_id,
                c.source.kind.as_str()
            )));
        }
        let location = Path::new(&c.source.location);
        let absolute = ws.home.join(location);
        let inside = std::fs::canonicalize(&absolute)
            .ok()
            .zip(std::fs::canonicalize(&ws.home).ok())
            .and_then(|(path, home)| {
                path.strip_prefix(&home)
                    .ok()
                    .map(|p| p.display().to_string())
            });
        match inside {
            Some(rel) => out.push((c.sync_id.clone(), rel)),
            None => {
                return Err(Error::input(format!(
                    "config sync {} reads {}, outside the repository: a config rollback needs its source in the repository",
                    c.sync_id, c.source.location
                )));
            }
        }
    }
    Ok(out)
}

fn config_plans(ws: &Workspace, to_tag: &str, to_commit: &str) -> Result<Vec<ConfigPlan>> {
    let syncs = config_syncs(ws)?;
    if syncs.is_empty() {
        return Ok(Vec::new());
    }
    let tree = ReleaseTree::at(ws, to_tag)?;
    let mut plans = Vec::new();
    for (sync_id, source_path) in syncs {
        let root = tree.root().join(&source_path);
        let planned = engine::plan_from(
            ws,
            &sync_id,
            engine::SourceAt {
                root: &root,
                revision: to_commit,
            },
        )?;
        let body = &planned.plan.plan;
        plans.push(ConfigPlan {
            sync_id,
            source_path,
            sync_plan_id: planned.plan.plan_id.clone(),
            target_fingerprint: body.target.fingerprint.clone(),
            rolled_back_fingerprint: body.source.fingerprint.clone(),
            files_to_add: body.result.files_to_add,
            files_to_modify: body.result.files_to_modify,
            files_to_delete: body.result.files_to_delete,
        });
    }
    Ok(plans)
}

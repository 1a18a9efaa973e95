//! The sync workflow: validate, plan (the sealed dry-run), approve, apply,
//! verify, log; and `run` for unattended syncs.
//!
//! Endpoints are read into directories: a `file` endpoint is its own
//! directory; a `git` endpoint is a fresh clone of its branch in a
//! temporary directory (its `.git` is never part of the tree). Plans,
//! approvals, diffs and logs are evidence documents; the base of the last
//! successful sync (for conflicts) and the hash cache live beside them.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::{self, ConflictStrategy, EndpointType, LoadedSync};
use super::model::{self, Change};
use super::record::{
    Approval, ChangesApplied, Conflict, ContentsLine, DryRunResult, LogApproval, LogDryRun,
    LogExecution, LogVerification, PlanBody, PlanContents, SHORT_ID_LEN, SideRecord, SyncLog,
    SyncLogDocument, SyncPlan,
};
use super::snapshot::{self, Snapshot};
use super::{apply, diff, lock, outcome, remote, tree};
use crate::evidence::{EvidenceStore, NewDocument};
use crate::workspace::Workspace;
use crate::{Error, Result, git_cli};

/// Where sync files, state and caches live.
fn sync_home(ws: &Workspace) -> PathBuf {
    ws.home.join(&ws.config.evidence.dir)
}

/// Every configured sync: the files in `.trainyard/syncs/` and those listed
/// under `syncs:` in trainyard.yaml.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a malformed file (file, line, key) or a
/// `sync_id` used twice.
pub fn load_all(ws: &Workspace) -> Result<Vec<LoadedSync>> {
    let dir = sync_home(ws).join("syncs");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("cannot read", dir, e)),
    };
    paths.sort();
    paths.extend(ws.config.syncs.iter().map(|p| ws.home.join(p)));
    let mut out: Vec<LoadedSync> = Vec::new();
    for path in paths {
        let shown = path.strip_prefix(&ws.home).unwrap_or(&path).to_path_buf();
        let loaded = config::read(&path, &shown, &ws.home)?;
        if let Some(other) = out
            .iter()
            .find(|o| o.config.sync_id == loaded.config.sync_id)
        {
            return Err(Error::input(format!(
                "{}: sync_config.sync_id: `{}` is also the id of {}",
                shown.display(),
                loaded.config.sync_id,
                other
                    .path
                    .strip_prefix(&ws.home)
                    .unwrap_or(&other.path)
                    .display()
            )));
        }
        out.push(loaded);
    }
    Ok(out)
}

/// The sync with this id.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the known ids when there is none.
pub fn find(ws: &Workspace, id: &str) -> Result<LoadedSync> {
    let all = load_all(ws)?;
    let known: Vec<String> = all.iter().map(|s| s.config.sync_id.clone()).collect();
    all.into_iter()
        .find(|s| s.config.sync_id == id)
        .ok_or_else(|| {
            Error::input(format!(
                "no sync `{id}`: configured syncs are {}",
                if known.is_empty() {
                    "none (add one under .trainyard/syncs/)".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })
}

/// Refuses a source whose symlinks the sync's policy does not keep: a
/// link out of the source would be recreated in the target pointing at
/// whatever it names there.
fn refuse_links(c: &config::SyncConfig, source: &Snapshot) -> Result<()> {
    let refused = match c.options.symlinks {
        config::SymlinkPolicy::Inside => source.link_out_of_tree(),
        config::SymlinkPolicy::Refuse => source.iter().find_map(|(path, entry)| {
            (entry.kind == model::EntryKind::Symlink)
                .then_some(entry.link.map(|l| (model::SyncPath(path.to_vec()), l)))
                .flatten()
        }),
    };
    match refused {
        Some((path, link)) => Err(Error::input(format!(
            "sync {}: the source's symlink {} points {} (`{}`): it is not copied; remove it, exclude it with filters, or point it inside the source",
            c.sync_id,
            path,
            if c.options.symlinks == config::SymlinkPolicy::Refuse {
                "somewhere and options.symlinks is `refuse`"
            } else {
                "out of the source"
            },
            link
        ))),
        None => Ok(()),
    }
}

/// One sync's pre-sync validation.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// The sync.
    pub sync_id: String,
    /// Its file.
    pub file: String,
    /// What is wrong (empty when valid).
    pub problems: Vec<String>,
}

/// `sync validate`: schema (already checked when loading), filters,
/// credentials, source reachable, target readable.
///
/// # Errors
///
/// Returns an error when the configuration files cannot be loaded.
pub fn validate(ws: &Workspace, id: Option<&str>) -> Result<Vec<Validation>> {
    let syncs = match id {
        Some(id) => vec![find(ws, id)?],
        None => load_all(ws)?,
    };
    Ok(syncs
        .iter()
        .map(|sync| {
            let mut problems = Vec::new();
            let c = &sync.config;
            if let Err(e) = tree::Filters::new(&c.filters.include, &c.filters.exclude) {
                problems.push(format!("filters: {e}"));
            }
            for (side, endpoint) in [("source", &c.source), ("target", &c.target)] {
                if let Some(reference) = &endpoint.credentials
                    && let Err(e) = crate::credentials::resolve(reference, &ws.home)
                {
                    problems.push(format!("{side}.credentials: {e}"));
                }
                if let Err(e) = reachable(ws, endpoint, side == "target") {
                    problems.push(format!("{side}: {e}"));
                }
            }
            for (key, targets) in [
                ("notifications.on_success", &c.notifications.on_success),
                ("notifications.on_failure", &c.notifications.on_failure),
            ] {
                if let Err(e) = crate::notify::validate(&ws.config.notify, targets) {
                    problems.push(format!("{key}: {e}"));
                }
            }
            for pattern in &c.options.secret_patterns {
                if let Err(e) = regex::Regex::new(pattern) {
                    problems.push(format!("options.secret_patterns: `{pattern}`: {e}"));
                }
            }
            Validation {
                sync_id: c.sync_id.clone(),
                file: sync
                    .path
                    .strip_prefix(&ws.home)
                    .unwrap_or(&sync.path)
                    .display()
                    .to_string(),
                problems,
            }
        })
        .collect())
}

fn reachable(ws: &Workspace, endpoint: &config::Endpoint, may_be_missing: bool) -> Result<()> {
    match endpoint.kind {
        EndpointType::File => {
            let path = ws.home.join(&endpoint.location);
            if path.is_dir() {
                std::fs::read_dir(&path).map_err(|e| Error::io("cannot read", &path, e))?;
                Ok(())
            } else if may_be_missing && !path.exists() && path.parent().is_some_and(Path::is_dir) {
                Ok(())
            } else {
                Err(Error::input(format!(
                    "{} is not a readable directory",
                    path.display()
                )))
            }
        }
        EndpointType::Git => {
            let branch = endpoint.branch.as_deref().unwrap_or("HEAD");
            let out = git_cli::run(
                &ws.home,
                &[
                    "ls-remote",
                    "--heads",
                    &git_location(ws, &endpoint.location),
                    branch,
                ],
            )?;
            if out.trim().is_empty() && !may_be_missing {
                return Err(Error::input(format!(
                    "branch {branch} not found in {}",
                    endpoint.location
                )));
            }
            Ok(())
        }
        EndpointType::Api | EndpointType::Registry => {
            let client = client_for(ws, endpoint)?;
            let url = match endpoint.kind {
                EndpointType::Registry => format!("{}/", endpoint.location.trim_end_matches('/')),
                _ => endpoint.location.clone(),
            };
            let mut response =
                client.send("GET", &url, || client.auth(client.agent.get(&url)).call())?;
            let status = response.status().as_u16();
            crate::http::drain(&mut response);
            match status {
                200..=299 => Ok(()),
                404 if may_be_missing => Ok(()),
                _ => Err(client.unexpected("GET", &url, &response)),
            }
        }
    }
}

fn git_location(ws: &Workspace, location: &str) -> String {
    if location.contains("://") || location.contains('@') {
        location.to_owned()
    } else {
        ws.home.join(location).display().to_string()
    }
}

/// An endpoint read into a directory.
struct Side {
    /// The directory holding the tree.
    root: PathBuf,
    /// The commit read, for git.
    revision: Option<String>,
    /// A clone, for git, or the documents read from an `api` or
    /// `registry` endpoint (removed when dropped).
    _clone: Option<tempfile::TempDir>,
    /// Each document's ETag as read, for `api`.
    etags: std::collections::BTreeMap<String, String>,
}

impl Side {
    fn local(root: PathBuf, revision: Option<String>) -> Side {
        Side {
            root,
            revision,
            _clone: None,
            etags: std::collections::BTreeMap::new(),
        }
    }

    fn read_into(materialized: remote::Materialized) -> Side {
        Side {
            root: materialized.dir.path().to_path_buf(),
            revision: None,
            etags: materialized.etags,
            _clone: Some(materialized.dir),
        }
    }
}

/// The HTTP client for an `api` or `registry` endpoint, with its
/// credentials.
fn client_for(ws: &Workspace, endpoint: &config::Endpoint) -> Result<crate::http::Client> {
    let secret = match &endpoint.credentials {
        Some(reference) => Some(crate::credentials::resolve(reference, &ws.home)?),
        None => None,
    };
    Ok(crate::http::Client::new(
        format!("{} endpoint {}", endpoint.kind.as_str(), endpoint.location),
        &endpoint.location,
        secret.as_ref().map(crate::credentials::Secret::expose),
    ))
}

/// Both sides of a sync as the plan compares them: a directory source of
/// an `api` target is read as its JSON documents in canonical form.
fn read_sides(ws: &Workspace, sync: &LoadedSync, filters: &tree::Filters) -> Result<(Side, Side)> {
    let c = &sync.config;
    let mut source = read_side(ws, &c.source)?;
    if c.target.kind == EndpointType::Api && c.source.kind == EndpointType::File {
        source = Side::read_into(remote::canonical_copy(&source.root, filters)?);
    }
    let target = read_side(ws, &c.target)?;
    Ok((source, target))
}

fn read_side(ws: &Workspace, endpoint: &config::Endpoint) -> Result<Side> {
    match endpoint.kind {
        EndpointType::File => Ok(Side::local(ws.home.join(&endpoint.location), None)),
        EndpointType::Api => Ok(Side::read_into(remote::read_api(
            &client_for(ws, endpoint)?,
            &endpoint.location,
        )?)),
        EndpointType::Registry => Ok(Side::read_into(remote::read_registry(
            &client_for(ws, endpoint)?,
            &endpoint.location,
        )?)),
        EndpointType::Git => {
            let branch = endpoint.branch.clone().unwrap_or_else(|| "main".into());
            let dir = tempfile::Builder::new()
                .prefix("trainyard-sync-")
                .tempdir()
                .map_err(|e| {
                    Error::environment(format!("cannot create a temporary directory: {e}"))
                })?;
            let path = dir.path().join("tree");
            let location = git_location(ws, &endpoint.location);
            git_cli::run(
                &ws.home,
                &[
                    "clone",
                    "--quiet",
                    "--no-tags",
                    "--single-branch",
                    "--branch",
                    &branch,
                    &location,
                    &path.display().to_string(),
                ],
            )
            .map_err(|e| {
                Error::input(format!(
                    "cannot read branch {branch} of {}: {e}",
                    endpoint.location
                ))
            })?;
            let revision = git_cli::commit_of(&path, "HEAD")?;
            Ok(Side {
                root: path,
                revision: Some(revision),
                _clone: Some(dir),
                etags: std::collections::BTreeMap::new(),
            })
        }
    }
}

/// The filters of a sync, plus what is never synced: `.git` and the
/// evidence directory.
fn filters_of(ws: &Workspace, sync: &LoadedSync) -> Result<tree::Filters> {
    let mut exclude = sync.config.filters.exclude.clone();
    exclude.push("/.git".into());
    exclude.push(format!("/{}", ws.config.evidence.dir.display()));
    tree::Filters::new(&sync.config.filters.include, &exclude)
}

fn state_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    sync_home(ws).join("sync-state").join(sync_id)
}

fn load_base(ws: &Workspace, sync_id: &str) -> Option<Snapshot> {
    let text = std::fs::read(state_dir(ws, sync_id).join("base.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

fn save_base(ws: &Workspace, sync_id: &str, snapshot: &Snapshot) -> Result<()> {
    let text = serde_json::to_vec(snapshot)
        .map_err(|e| Error::Internal(format!("cannot encode the sync base: {e}")))?;
    crate::fsutil::write_atomic(&state_dir(ws, sync_id).join("base.json"), &text)
}

/// Scans one side; with `exact`, every file is read (no metadata cache).
fn scan(
    ws: &Workspace,
    sync_id: &str,
    side: &str,
    root: &Path,
    filters: &tree::Filters,
    exact: bool,
) -> Result<Snapshot> {
    if exact {
        return Ok(tree::scan(root, filters, None)?.snapshot);
    }
    let cache_path = state_dir(ws, sync_id).join(format!("{side}.cache"));
    let mut cache = tree::HashCache::load(&cache_path);
    let report = tree::scan(root, filters, Some(&mut cache))?;
    if cache.is_changed() {
        // A cache that cannot be saved only costs the next plan time.
        let _ = cache.save(&cache_path);
    }
    Ok(report.snapshot)
}

fn secrets_of(ws: &Workspace, sync: &LoadedSync) -> (Vec<regex::Regex>, Vec<String>) {
    let patterns = sync
        .config
        .options
        .secret_patterns
        .iter()
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect();
    let values = [&sync.config.source, &sync.config.target]
        .iter()
        .filter_map(|e| e.credentials.as_ref())
        .filter_map(|r| crate::credentials::resolve(r, &ws.home).ok())
        .map(|s| s.expose().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (patterns, values)
}

/// A plan and what goes with it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The sealed plan.
    #[serde(flatten)]
    pub plan: SyncPlan,
    /// Conflicts with the last sync's base, and their resolution. The
    /// changes themselves are in the plan's recorded change list (see
    /// [`PlanJson`] and [`plan_contents`]): a plan of any size is never
    /// held whole.
    pub conflicts: Vec<Conflict>,
    /// Where it is recorded.
    pub plan_ref: String,
}

/// A plan report as `--json` shows it: the report, and its changes read
/// back from the recorded change list as they are written out.
#[derive(Serialize)]
pub struct PlanJson<'a> {
    #[serde(flatten)]
    report: &'a PlanReport,
    changes: RecordedChanges<'a>,
}

impl<'a> PlanJson<'a> {
    /// The report of `report`'s plan, recorded in `ws`.
    pub fn new(ws: &'a Workspace, report: &'a PlanReport) -> Self {
        PlanJson {
            report,
            changes: RecordedChanges {
                ws,
                plan: &report.plan,
            },
        }
    }
}

/// A recorded plan's changes, serialized as a sequence read from the
/// evidence one line at a time.
struct RecordedChanges<'a> {
    ws: &'a Workspace,
    plan: &'a SyncPlan,
}

impl Serialize for RecordedChanges<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let read = for_each_recorded(self.ws, self.plan, &mut |line| {
            if let ContentsLine::Change(change) = line {
                seq.serialize_element(&change).map_err(|e| {
                    failed = Some(e);
                    "cannot write it".to_owned()
                })?;
            }
            Ok(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

/// What a three-way merge needs: the base's stored contents and both
/// sides' trees.
struct MergeContext<'a> {
    objects: PathBuf,
    source_root: &'a Path,
    target_root: &'a Path,
}

impl MergeContext<'_> {
    /// Merges one path: `Ok(entry)` of the merged content (stored among the
    /// objects), or `Err(hunks)` with the conflict markers.
    fn merge(
        &self,
        change: &Change,
        base: &model::Entry,
    ) -> std::result::Result<model::Entry, String> {
        let read = |path: PathBuf| -> std::result::Result<String, String> {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            String::from_utf8(bytes)
                .map_err(|_| "not a text file: a binary conflict cannot be merged".to_owned())
        };
        let base_text = read(self.objects.join(base.hash.to_hex())).map_err(|_| {
            "the base's content was not kept: resolve by hand or use theirs/ours".to_owned()
        })?;
        let ours = read(change.path.under(self.target_root))?;
        let theirs = read(change.path.under(self.source_root))?;
        let merged = diffy::merge(&base_text, &ours, &theirs)
            .map_err(|with_markers| conflict_hunks(&with_markers))?;
        let hash = model::ContentHash::of(merged.as_bytes());
        crate::fsutil::write_atomic(&self.objects.join(hash.to_hex()), merged.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(model::Entry {
            kind: model::EntryKind::File,
            executable: change.after.as_ref().is_some_and(|a| a.executable),
            size: merged.len() as u64,
            hash,
            link: None,
        })
    }
}

/// The conflict hunks of a merge result, markers included.
fn conflict_hunks(text: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("<<<<<<<") {
            inside = true;
        }
        if inside {
            out.push(line);
        }
        if line.starts_with(">>>>>>>") {
            inside = false;
        }
    }
    out.join("\n")
}

/// Conflicts between the target's edits and the source's since the last
/// successful sync, and what their resolution does to the changes: a
/// change dropped (`ours`) or given the merge's result (`merge`). Other
/// changes, conflicting or not, stay as they are.
#[derive(Default)]
struct Resolution {
    conflicts: Vec<Conflict>,
    /// By path: `None` drops the change, `Some` is its merged entry.
    overrides: HashMap<Vec<u8>, Option<model::Entry>>,
}

impl Resolution {
    /// Resolves every conflict of `changes` by the strategy.
    fn of(
        changes: impl Iterator<Item = Change>,
        base: Option<&Snapshot>,
        target: &Snapshot,
        strategy: ConflictStrategy,
        merger: &MergeContext<'_>,
    ) -> Resolution {
        let mut resolution = Resolution::default();
        let Some(base) = base else {
            return resolution;
        };
        for change in changes {
            let base_entry = base.get(&change.path.0);
            let target_changed = target.get(&change.path.0) != base_entry;
            let source_changed = change.after != base_entry;
            if target_changed && source_changed {
                resolution.resolve(change, base_entry, strategy, merger);
            }
        }
        resolution
    }

    fn resolve(
        &mut self,
        change: Change,
        base_entry: Option<model::Entry>,
        strategy: ConflictStrategy,
        merger: &MergeContext<'_>,
    ) {
        let (resolution, replaced, detail) = match strategy {
            ConflictStrategy::Fail => (
                "fail",
                None,
                Some("changed in the target and in the source since the last sync".to_owned()),
            ),
            ConflictStrategy::Theirs => ("theirs", None, None),
            ConflictStrategy::Ours => ("ours", Some(None), None),
            ConflictStrategy::Merge => match (base_entry, change.kind) {
                (Some(base_entry), model::ChangeKind::Modify) => {
                    match merger.merge(&change, &base_entry) {
                        Ok(merged) => (
                            "merge",
                            Some(Some(merged)),
                            Some("merged cleanly".to_owned()),
                        ),
                        Err(hunks) => (
                            "fail",
                            None,
                            Some(format!("the merge has conflicts:\n{hunks}")),
                        ),
                    }
                }
                _ => (
                    "fail",
                    None,
                    Some(
                        "added or deleted on one side and changed on the other: nothing to merge"
                            .to_owned(),
                    ),
                ),
            },
        };
        self.conflicts.push(Conflict {
            path: change.path.to_string(),
            resolution: resolution.into(),
            detail,
        });
        if let Some(replaced) = replaced {
            self.overrides.insert(change.path.0, replaced);
        }
    }

    /// The changes to apply: `changes` as the resolution leaves them.
    fn apply<'s>(
        &'s self,
        changes: impl Iterator<Item = Change> + 's,
    ) -> impl Iterator<Item = Change> + 's {
        changes.filter_map(|mut change| match self.overrides.get(&change.path.0) {
            None => Some(change),
            Some(None) => None,
            Some(Some(merged)) => {
                change.after = Some(merged.clone());
                Some(change)
            }
        })
    }

    /// Whether the change at `path` is a merge's result.
    fn is_merged(&self, change: &Change) -> bool {
        matches!(self.overrides.get(&change.path.0), Some(Some(_)))
    }
}

fn side_record(endpoint: &config::Endpoint, side: &Side, snapshot: &Snapshot) -> SideRecord {
    SideRecord {
        kind: endpoint.kind.as_str().into(),
        location: endpoint.location.clone(),
        branch: endpoint.branch.clone(),
        revision: side.revision.clone(),
        fingerprint: snapshot.fingerprint(),
        files: snapshot.len(),
        etags: side.etags.clone(),
    }
}

fn identity(ws: &Workspace) -> String {
    ws.git_email().unwrap_or_else(|| "unknown".into())
}

/// `sync plan`: the dry-run. Reads both sides, compares by content, and
/// records the sealed plan and its full diff as evidence. Never writes to
/// the target (DR-04).
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown sync or an unreachable
/// endpoint, and I/O errors naming the path.
pub fn plan(ws: &Workspace, id: &str, exact: bool) -> Result<PlanReport> {
    Ok(plan_scanned(ws, id, exact, None)?.report)
}

/// A sync's source as it was elsewhere: the tree of an earlier release,
/// which a config rollback syncs to the target again.
#[derive(Debug, Clone, Copy)]
pub struct SourceAt<'a> {
    /// The directory holding that tree.
    pub root: &'a Path,
    /// What it is, recorded as the plan's source revision (a commit).
    pub revision: &'a str,
}

/// `plan` with the source read from `source` instead of its location.
///
/// # Errors
///
/// As [`plan`].
pub fn plan_from(ws: &Workspace, id: &str, source: SourceAt<'_>) -> Result<PlanReport> {
    Ok(plan_scanned(ws, id, false, Some(source))?.report)
}

/// Plans the sync from `source` and applies the plan at once, approved by
/// `approved_by` (the rollback's approver); the record of that approval is
/// written. Nothing is applied when the target already matches. With
/// `expected_target`, a target read with another fingerprint (changed
/// since the caller's own plan) is refused as stale.
///
/// # Errors
///
/// As [`plan`] and [`apply_plan`], and an [`Error::Input`] for a stale
/// target.
pub fn run_from(
    ws: &Workspace,
    id: &str,
    source: SourceAt<'_>,
    expected_target: Option<&str>,
    approved_by: &str,
    reason: &str,
) -> Result<(PlanReport, Option<ApplyReport>)> {
    let Planned {
        report: planned,
        scanned,
    } = plan_scanned(ws, id, false, Some(source))?;
    if planned.plan.plan.result.total_changes == 0 {
        return Ok((planned, None));
    }
    if let Some(expected) = expected_target
        && planned.plan.plan.target.fingerprint != expected
    {
        return Err(Error::input(format!(
            "stale target: sync {id}'s target changed since the rollback was planned"
        )));
    }
    let approval = Approval {
        reason: Some(reason.to_owned()),
        ..approval_of(&planned.plan, approved_by.to_owned(), ws.now)
    };
    ws.evidence_store().write_value_unique(
        "sync_approval",
        &format!("{id}-{}", planned.plan.short_id()),
        &ApprovalDocument {
            sync_approval: approval.clone(),
        },
    )?;
    let applied = apply_found(
        ws,
        &planned.plan,
        planned.plan_ref.clone(),
        Some(approval),
        Some(scanned),
    )?;
    Ok((planned, Some(applied)))
}

/// Both sides as a plan read them, so that `run` applies against the
/// state it has just planned instead of reading both trees again.
struct Scanned {
    source: Side,
    target: Side,
    source_snapshot: Snapshot,
    target_snapshot: Snapshot,
}

struct Planned {
    report: PlanReport,
    scanned: Scanned,
}

fn plan_scanned(
    ws: &Workspace,
    id: &str,
    exact: bool,
    source_at: Option<SourceAt<'_>>,
) -> Result<Planned> {
    let sync = find(ws, id)?;
    let c = &sync.config;
    settle_quietly(ws, &c.sync_id);
    let filters = filters_of(ws, &sync)?;
    let (source, target) = match source_at {
        Some(at) => (
            Side::local(at.root.to_path_buf(), Some(at.revision.to_owned())),
            read_side(ws, &c.target)?,
        ),
        None => read_sides(ws, &sync, &filters)?,
    };
    // A tree from elsewhere is read once: it stays out of the hash cache.
    let source_snapshot = match source_at {
        Some(_) => tree::scan(&source.root, &filters, None)?.snapshot,
        None => scan(ws, &c.sync_id, "source", &source.root, &filters, exact)?,
    };
    refuse_links(c, &source_snapshot)?;
    let target_snapshot = scan(ws, &c.sync_id, "target", &target.root, &filters, exact)?;
    let base = load_base(ws, &c.sync_id);
    let merger = MergeContext {
        objects: state_dir(ws, &c.sync_id).join("objects"),
        source_root: &source.root,
        target_root: &target.root,
    };
    let all = || snapshot::changes(&source_snapshot, &target_snapshot);
    let resolution = Resolution::of(
        all(),
        base.as_ref(),
        &target_snapshot,
        c.options.conflict_strategy,
        &merger,
    );
    drop(base);
    // The changes are derived again, one at a time, for each use: both
    // trees are held, the change list never is.
    let changes = || resolution.apply(all());
    let result = DryRunResult::of(changes());
    let exceeds_max_delete = c
        .options
        .max_delete
        .is_some_and(|m| m.exceeded(result.files_to_delete, target_snapshot.len()));
    let (patterns, secrets) = secrets_of(ws, &sync);
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    // A conflict's hunks quote the files: masked like the diff, before
    // they reach a report or the plan's evidence.
    let conflicts: Vec<Conflict> = resolution
        .conflicts
        .iter()
        .cloned()
        .map(|mut conflict| {
            conflict.detail = conflict
                .detail
                .map(|d| diff::redact(&d, &patterns, &secret_refs));
            conflict
        })
        .collect();
    if c.target.kind == EndpointType::Registry && !c.options.overwrite_published {
        let overwritten: Vec<String> = changes()
            .filter(|change| change.kind == model::ChangeKind::Modify)
            .map(|change| change.path.to_string())
            .collect();
        if !overwritten.is_empty() {
            return Err(Error::input(format!(
                "sync {}: the registry already holds {} with other content: a published version is never overwritten (set options.overwrite_published to allow it)",
                c.sync_id,
                overwritten.join(", ")
            )));
        }
    }
    let store = ws.evidence_store();
    let diff = store.stage_body("sync_diff", &mut |out| {
        // Each change's text is masked and written as it is rendered: a
        // diff of any size is never held whole.
        let mut emit = |text: &str| -> Result<()> {
            out.write_all(diff::redact(text, &patterns, &secret_refs).as_bytes())
                .map_err(|e| {
                    Error::environment(format!("cannot write the diff of sync {}: {e}", c.sync_id))
                })
        };
        // Merged paths are shown as the merge's result against the target.
        let plain = || changes().filter(|change| !resolution.is_merged(change));
        if c.target.kind == EndpointType::Api {
            let plain: Vec<Change> = plain().collect();
            let plain: Vec<&Change> = plain.iter().collect();
            emit(&remote::summarize(&plain, &source.root, &target.root))?;
        }
        if c.target.kind == EndpointType::Registry {
            for change in plain() {
                let sha = match change.kind {
                    model::ChangeKind::Delete => None,
                    _ => std::fs::read(change.path.under(&source.root))
                        .ok()
                        .map(|bytes| crate::evidence::sha256_hex(&bytes)),
                };
                emit(&format!(
                    "{} {}{}\n",
                    if change.kind == model::ChangeKind::Delete {
                        "remove"
                    } else {
                        "upload"
                    },
                    change.path,
                    sha.map(|s| format!(" (sha256 {s})")).unwrap_or_default()
                ))?;
            }
        }
        for change in plain() {
            emit(&diff::render_diff(&change, &source.root, &target.root)?)?;
        }
        for change in changes().filter(|change| resolution.is_merged(change)) {
            let Some(after) = &change.after else { continue };
            let before =
                std::fs::read_to_string(change.path.under(&target.root)).unwrap_or_default();
            let result = std::fs::read_to_string(merger.objects.join(after.hash.to_hex()))
                .unwrap_or_default();
            let name = change.path.to_string();
            emit(&format!(
                "merged (three-way, against the last sync's base): {name}\n{}",
                similar::TextDiff::from_lines(before.as_str(), result.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
            ))?;
        }
        Ok(())
    })?;
    let change_list = store.stage_body("sync_changes", &mut |out| {
        write_contents(out, changes(), &conflicts)
    })?;
    let ttl = c.options.plan_ttl_minutes.signed_duration();
    let conflict_count = conflicts.len();
    let body = PlanBody {
        sync_id: c.sync_id.clone(),
        config_hash: sync.hash.clone(),
        planned_at: ws.now.to_string(),
        planned_by: identity(ws),
        // A pinned clock near the end of time must not give a plan born
        // expired: past the last representable instant is never.
        expires_at: ws
            .now
            .checked_add(ttl)
            .unwrap_or(jiff::Timestamp::MAX)
            .to_string(),
        source: side_record(&c.source, &source, &source_snapshot),
        target: side_record(&c.target, &target, &target_snapshot),
        diff_summary: format!(
            "{} to add, {} to modify, {} to delete{}",
            result.files_to_add,
            result.files_to_modify,
            result.files_to_delete,
            if conflict_count == 0 {
                String::new()
            } else {
                format!(", {conflict_count} conflict(s)")
            }
        ),
        result,
        exceeds_max_delete,
        changes_ref: change_list.path(),
        changes_sha256: change_list.sha256().to_owned(),
        diff_ref: diff.path(),
        diff_sha256: diff.sha256().to_owned(),
    };
    let plan = SyncPlan::seal(body);
    let yaml = crate::evidence::render_yaml(&PlanDocumentRef { sync_plan: &plan })?;
    // The plan and its bodies are recorded together, or none of them.
    let recorded = store.record(
        vec![diff, change_list],
        &[NewDocument {
            kind: "sync_plan",
            name: &format!("{}-{}", c.sync_id, plan.short_id()),
            unique: true,
            yaml: &yaml,
        }],
    )?;
    let plan_ref = recorded
        .documents
        .into_iter()
        .next()
        .map(|written| written.record.path)
        .ok_or_else(|| Error::Internal("a plan recorded no document".into()))?;
    Ok(Planned {
        report: PlanReport {
            plan,
            conflicts,
            plan_ref,
        },
        scanned: Scanned {
            source,
            target,
            source_snapshot,
            target_snapshot,
        },
    })
}

/// Writes a plan's change list: JSON lines, the changes in path order,
/// then the conflicts.
fn write_contents(
    out: &mut dyn std::io::Write,
    changes: impl Iterator<Item = Change>,
    conflicts: &[Conflict],
) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut line = |line: ContentsLine<&Change, &Conflict>| -> Result<()> {
        serde_json::to_writer(&mut out, &line)
            .map_err(|e| Error::Internal(format!("cannot write a change list: {e}")))?;
        out.write_all(b"\n")
            .map_err(|e| Error::environment(format!("cannot write a change list: {e}")))
    };
    for change in changes {
        line(ContentsLine::Change(&change))?;
    }
    for conflict in conflicts {
        line(ContentsLine::Conflict(conflict))?;
    }
    out.flush()
        .map_err(|e| Error::environment(format!("cannot write a change list: {e}")))
}

/// Splits a body into lines as it is decompressed, and hands each on.
struct Lines<'f> {
    partial: Vec<u8>,
    each: &'f mut dyn FnMut(&[u8]),
}

impl Lines<'_> {
    fn finish(&mut self) {
        let last = std::mem::take(&mut self.partial);
        if !last.is_empty() {
            (self.each)(&last);
        }
    }
}

impl std::io::Write for Lines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                (self.each)(&rest[..end]);
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.partial);
                (self.each)(&line);
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hands each line of a recorded plan's change list to `each`, in order,
/// as its body is read (checked against the evidence index and its hash).
/// `each` stops the reading by returning an error.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the body when it is missing, was
/// edited or does not hold a change list, or with `each`'s error.
fn for_each_recorded(
    ws: &Workspace,
    plan: &SyncPlan,
    each: &mut dyn FnMut(ContentsLine<Change, Conflict>) -> std::result::Result<(), String>,
) -> Result<()> {
    let store = ws.evidence_store();
    let mut error: Option<String> = None;
    let mut on_line = |line: &[u8]| {
        if error.is_some() || line.is_empty() {
            return;
        }
        let parsed = serde_json::from_slice::<ContentsLine<Change, Conflict>>(line)
            .map_err(|e| e.to_string())
            .and_then(&mut *each);
        if let Err(why) = parsed {
            error = Some(why);
        }
    };
    let mut lines = Lines {
        partial: Vec::new(),
        each: &mut on_line,
    };
    let record = store.read_body("sync_changes", &plan.plan.changes_sha256, &mut lines)?;
    lines.finish();
    if record.path != plan.plan.changes_ref {
        return Err(Error::input(format!(
            "plan {} names its change list {} but its hash is that of {}",
            plan.short_id(),
            plan.plan.changes_ref,
            record.path
        )));
    }
    if let Some(why) = error {
        return Err(Error::input(format!(
            "{}/{} is not a change list: {why}",
            store.location(),
            record.path
        )));
    }
    Ok(())
}

/// The change list of a recorded plan, read from its body (checked
/// against the evidence index and its hash as it is read).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the body when it is missing, was
/// edited or does not hold a change list.
pub fn plan_contents(ws: &Workspace, plan: &SyncPlan) -> Result<PlanContents> {
    let mut contents = PlanContents::default();
    for_each_recorded(ws, plan, &mut |line| {
        match line {
            ContentsLine::Change(change) => contents.changes.push(change),
            ContentsLine::Conflict(conflict) => contents.conflicts.push(conflict),
        }
        Ok(())
    })?;
    Ok(contents)
}

/// Writes the full diff of a recorded plan (checked against the evidence
/// index and its hash) to `out`, as the plan showed it.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the diff when it is missing or was
/// edited, and an I/O error when `out` cannot be written.
pub fn write_diff(ws: &Workspace, plan: &SyncPlan, out: &mut dyn std::io::Write) -> Result<()> {
    ws.evidence_store()
        .read_body("sync_diff", &plan.plan.diff_sha256, out)
        .map(|_| ())
}

#[derive(Serialize)]
struct PlanDocumentRef<'a> {
    sync_plan: &'a SyncPlan,
}

#[derive(serde::Deserialize)]
struct PlanDocument {
    sync_plan: SyncPlan,
}

#[derive(serde::Deserialize, Serialize)]
struct ApprovalDocument {
    sync_approval: Approval,
}

/// Finds a recorded plan by its id or a prefix of it (at least 8 hex
/// digits).
///
/// # Errors
///
/// Returns an [`Error::Input`] when no plan (or more than one) matches, and
/// when the plan's document was edited since it was sealed.
pub fn find_plan(ws: &Workspace, id: &str) -> Result<(SyncPlan, String)> {
    if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::input(format!(
            "invalid plan id `{id}`: expected at least 8 hex digits"
        )));
    }
    let mut found = Vec::new();
    // Plans are recorded under their short id: only those are parsed.
    let wanted = id[..id.len().min(SHORT_ID_LEN)].to_ascii_lowercase();
    let store = ws.evidence_store();
    for found_plan in store.parsed::<PlanDocument>("sync_plan", &wanted)? {
        if !found_plan.intact {
            return Err(store.edited(
                &found_plan.record,
                "a plan that was changed is never approved or applied: plan again",
            ));
        }
        let document = match found_plan.document {
            Ok(document) => document,
            Err(e) => {
                return Err(Error::input(format!(
                    "{e}: a plan this trainyard cannot read (recorded by an earlier version?) is never applied: plan again"
                )));
            }
        };
        if document
            .sync_plan
            .plan_id
            .starts_with(&id.to_ascii_lowercase())
        {
            if !found_plan.intact || !document.sync_plan.intact() {
                return Err(Error::input(format!(
                    "plan {id} was edited after it was sealed ({}): plan again",
                    found_plan.record.path
                )));
            }
            // The same plan recorded twice (made twice in one second) is
            // one plan.
            if !found
                .iter()
                .any(|(p, _): &(SyncPlan, String)| p.plan_id == document.sync_plan.plan_id)
            {
                found.push((document.sync_plan, found_plan.record.path));
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::input(format!(
            "no sync plan {id}: run `trainyard sync plan <sync-id>`"
        ))),
        n => Err(Error::input(format!(
            "{n} plans start with {id}: give more of the id"
        ))),
    }
}

/// The approvals and rejections recorded for a plan (by its full id).
///
/// # Errors
///
/// As reading the evidence store.
pub fn approvals(ws: &Workspace, plan_id: &str) -> Result<Vec<Approval>> {
    approvals_of(ws.evidence_store().as_ref(), plan_id)
}

/// The approvals and rejections of a plan, each checked against the
/// evidence index as it is read: an approval edited by hand is refused.
fn approvals_of(store: &dyn EvidenceStore, plan_id: &str) -> Result<Vec<Approval>> {
    Ok(recorded_approvals(store, plan_id)?
        .into_iter()
        .map(|(approval, _)| approval)
        .collect())
}

/// [`approvals_of`], each with its evidence path.
fn recorded_approvals(store: &dyn EvidenceStore, plan_id: &str) -> Result<Vec<(Approval, String)>> {
    let short = &plan_id[..plan_id.len().min(SHORT_ID_LEN)];
    Ok(store
        .trusted::<ApprovalDocument>(
            "sync_approval",
            short,
            "a decision that was changed is never trusted; restore the recorded document (`trainyard evidence verify` lists what changed), or plan again and decide on the new plan",
        )?
        .into_iter()
        .map(|(document, record)| (document.sync_approval, record.path))
        .filter(|(approval, _)| approval.plan_id == plan_id)
        .collect())
}

/// `sync approve`: what to record.
#[derive(Debug, Clone, Default)]
pub struct ApproveRequest {
    /// The plan id (or a prefix).
    pub plan_id: String,
    /// Who approves (default: git's user.email).
    pub by: Option<String>,
    /// In which role.
    pub role: Option<String>,
    /// Reject instead.
    pub reject: bool,
    /// Why (required to reject).
    pub reason: Option<String>,
    /// Allow deletions beyond `max_delete`.
    pub override_max_delete: bool,
}

/// An approval of `plan` by `by`, repeating what the plan saw (DR-06).
fn approval_of(plan: &SyncPlan, by: String, now: jiff::Timestamp) -> Approval {
    Approval {
        plan_id: plan.plan_id.clone(),
        sync_id: plan.plan.sync_id.clone(),
        approved: true,
        approved_by: by,
        role: None,
        approved_at: now.to_string(),
        reason: None,
        result: plan.plan.result,
        source_revision: plan
            .plan
            .source
            .revision
            .clone()
            .unwrap_or_else(|| plan.plan.source.fingerprint.clone()),
        target_fingerprint: plan.plan.target.fingerprint.clone(),
        override_max_delete: false,
        automatic: false,
        signature: None,
    }
}

/// `sync approve`: records an approval (or rejection) that names the plan
/// and repeats its counts, source revision and target fingerprint (DR-06).
///
/// # Errors
///
/// Returns an [`Error::Input`] when the plan is unknown or already decided,
/// when the approver is not the configured one, or when a rejection has
/// no reason.
pub fn approve(ws: &Workspace, request: &ApproveRequest) -> Result<Approval> {
    let (plan, _) = find_plan(ws, &request.plan_id)?;
    let sync = find(ws, &plan.plan.sync_id)?;
    settle_quietly(ws, &sync.config.sync_id);
    let store = ws.evidence_store();
    if let Some(previous) = approvals_of(store.as_ref(), &plan.plan_id)?.first() {
        return Err(Error::input(format!(
            "plan {} was already {} by {} at {}",
            plan.short_id(),
            if previous.approved {
                "approved"
            } else {
                "rejected"
            },
            previous.approved_by,
            previous.approved_at
        )));
    }
    if request.reject
        && request
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err(Error::input("a rejection needs --reason"));
    }
    let decided = |by: String| Approval {
        approved: !request.reject,
        role: request.role.clone(),
        reason: request.reason.clone(),
        override_max_delete: request.override_max_delete,
        ..approval_of(&plan, by, ws.now)
    };
    let approval = match ws.team()? {
        // Team mode: the key says who approves, and the roles whether
        // they may.
        Some(team) => super::decision::sign(
            ws,
            &team,
            &plan,
            &sync.config,
            request.by.as_deref(),
            decided(String::new()),
        )?,
        None => {
            let by = request.by.clone().unwrap_or_else(|| identity(ws));
            if let Some(approver) = &sync.config.options.approver
                && approver != &by
                && request.role.as_deref() != Some(approver.as_str())
            {
                return Err(Error::input(format!(
                    "sync {} is approved by `{approver}`: {by} is not `{approver}` (pass --role {approver} when acting in that role)",
                    sync.config.sync_id
                )));
            }
            decided(by)
        }
    };
    store.write_value_unique(
        "sync_approval",
        &format!("{}-{}", plan.plan.sync_id, plan.short_id()),
        &ApprovalDocument {
            sync_approval: approval.clone(),
        },
    )?;
    Ok(approval)
}

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// The log written.
    pub log: SyncLog,
    /// Where.
    pub log_ref: String,
    /// What became of each notification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<crate::notify::Delivery>,
}

/// The sync logs whose record path contains `name_part` (their execution
/// ids hold the sync id and the plan's short id), oldest first.
fn logs(ws: &Workspace, name_part: &str) -> Result<Vec<(SyncLog, String)>> {
    Ok(ws
        .evidence_store()
        .parsed::<SyncLogDocument>("sync_log", name_part)?
        .into_iter()
        .filter_map(|found| Some((found.document.ok()?.sync_log, found.record.path)))
        .collect())
}

/// The log of an apply of `plan`, if it was applied: plans are
/// single-use.
///
/// # Errors
///
/// As reading the evidence store, and an [`Error::Input`] naming a log of
/// the plan that was edited since it was recorded.
pub fn applied_log(ws: &Workspace, plan: &SyncPlan) -> Result<Option<String>> {
    // A log is named after the short id of the plan it applied.
    if let Some((_, log_ref)) = trusted_logs(ws, plan.short_id())?
        .into_iter()
        .find(|(log, _)| log.sync_id == plan.plan.sync_id)
    {
        return Ok(Some(log_ref));
    }
    // An apply whose log is still owed counts as applied too.
    Ok(outcome::read_all(&outcomes_dir(ws, &plan.plan.sync_id))?
        .into_iter()
        .find(|owed| owed.log.is_some() && owed.plan_id() == Some(plan.plan_id.as_str()))
        .map(|owed| {
            format!(
                "its log is owed, journaled in {}: `trainyard sync recover {}` records it",
                owed.path.display(),
                plan.plan.sync_id
            )
        }))
}

/// The sync logs of a plan's short id, for deciding whether it was
/// applied: each one checked against the evidence index as it is read.
fn trusted_logs(ws: &Workspace, short_id: &str) -> Result<Vec<(SyncLog, String)>> {
    Ok(ws
        .evidence_store()
        .trusted::<SyncLogDocument>(
            "sync_log",
            short_id,
            "whether its plan was applied cannot be told from a changed log; restore the recorded document (`trainyard evidence verify` lists what changed)",
        )?
        .into_iter()
        .map(|(document, record)| (document.sync_log, record.path))
        .collect())
}

/// `sync apply`: applies an approved, fresh, unused plan, verifies it and
/// writes the `sync_log`.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the plan is unapproved, rejected,
/// already applied, expired, blocked by conflicts or `max_delete`, or
/// stale (the source or target changed since: the error shows what changed
/// since); an [`Error::Environment`] when another apply holds the target's
/// lock or an interrupted apply awaits `sync recover`.
pub fn apply_plan(
    ws: &Workspace,
    plan_id: &str,
    automatic: Option<Approval>,
) -> Result<ApplyReport> {
    let (plan, plan_ref) = find_plan(ws, plan_id)?;
    apply_found(ws, &plan, plan_ref, automatic, None)
}

/// Applies `plan`; with `scanned`, the sides and the change list as the
/// plan has just made them (in `run`), else both sides are read again to
/// prove the plan fresh and its change list is read from its body.
fn apply_found(
    ws: &Workspace,
    plan: &SyncPlan,
    plan_ref: String,
    automatic: Option<Approval>,
    scanned: Option<Scanned>,
) -> Result<ApplyReport> {
    let sync = find(ws, &plan.plan.sync_id)?;
    let c = &sync.config;
    settle_quietly(ws, &c.sync_id);
    let short = plan.short_id().to_owned();
    if sync.hash != plan.plan.config_hash {
        return Err(Error::input(format!(
            "plan {short} was made with another version of {}: plan again",
            sync.path
                .strip_prefix(&ws.home)
                .unwrap_or(&sync.path)
                .display()
        )));
    }
    let store = ws.evidence_store();
    let recorded = recorded_approvals(store.as_ref(), &plan.plan_id)?;
    let path_of = |approval: &Approval| {
        recorded
            .iter()
            .find(|(a, _)| a == approval)
            .map_or_else(String::new, |(_, path)| path.clone())
    };
    let approvals: Vec<Approval> = recorded.iter().map(|(a, _)| a.clone()).collect();
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Err(Error::input(format!(
            "plan {short} was rejected by {} ({}): it can never be applied",
            rejected.approved_by,
            rejected.reason.clone().unwrap_or_default()
        )));
    }
    let team = ws.team()?;
    let approval = match (approvals.into_iter().find(|a| a.approved), automatic) {
        // Made by this run (`sync run`, a rollback's verified decision).
        (_, Some(given)) if given.plan_id == plan.plan_id && team.is_some() => given,
        // Recorded earlier: in team mode, checked as it is used.
        (Some(a), _) if !a.automatic || c.options.approval_required => match &team {
            Some(team) => {
                let verified = super::decision::check(team, plan, c, &a, &path_of(&a))?;
                Approval {
                    approved_by: verified.label(),
                    ..a
                }
            }
            None => a,
        },
        (Some(a), _) => a,
        (None, Some(auto)) if !c.options.approval_required => auto,
        (None, _) if c.options.approval_required => {
            return Err(Error::input(format!(
                "plan {short} is not approved, and sync {} requires approval: run `trainyard sync approve {short}`",
                c.sync_id
            )));
        }
        (None, _) => Approval {
            reason: Some("approval not required by the sync's configuration".into()),
            automatic: true,
            ..approval_of(plan, identity(ws), ws.now)
        },
    };
    if let Some(log_ref) = applied_log(ws, plan)? {
        return Err(Error::input(format!(
            "plan {short} was already applied ({log_ref}): plans are single-use, plan again"
        )));
    }
    if let Ok(expires) = plan.plan.expires_at.parse::<jiff::Timestamp>()
        && ws.expiry_clock() > expires
    {
        return Err(Error::input(format!(
            "plan {short} expired at {expires}: plan again"
        )));
    }
    if plan.plan.exceeds_max_delete && !approval.override_max_delete {
        return Err(Error::input(format!(
            "plan {short} deletes {} file(s), more than max_delete allows: approve it with --override-max-delete to go ahead",
            plan.plan.result.files_to_delete
        )));
    }
    let contents = plan_contents(ws, plan)?;
    if let Some(conflict) = contents.conflicts.iter().find(|c| c.resolution == "fail") {
        return Err(Error::input(format!(
            "plan {short} has {} unresolved conflict(s), e.g. {}: {}",
            contents
                .conflicts
                .iter()
                .filter(|c| c.resolution == "fail")
                .count(),
            conflict.path,
            conflict.detail.clone().unwrap_or_default()
        )));
    }
    let journal_dir = state_dir(ws, &c.sync_id).join("journal");
    let _lock = lock_for_apply(ws, &sync, &plan.plan_id, &journal_dir)?;
    if let Some(pending) = apply::interrupted(&journal_dir)? {
        return Err(Error::environment(format!(
            "an interrupted apply ({pending}) of sync {} must be finished first: run `trainyard sync recover {}`",
            c.sync_id, c.sync_id
        )));
    }
    // Stale? Read both sides again and compare with what the plan saw.
    let Scanned {
        source,
        target,
        source_snapshot,
        target_snapshot,
    } = match scanned {
        Some(scanned) => scanned,
        None => {
            let filters = filters_of(ws, &sync)?;
            let (source, target) = read_sides(ws, &sync, &filters)?;
            Scanned {
                source_snapshot: scan(ws, &c.sync_id, "source", &source.root, &filters, false)?,
                target_snapshot: scan(ws, &c.sync_id, "target", &target.root, &filters, false)?,
                source,
                target,
            }
        }
    };
    let source_now = side_record(&c.source, &source, &source_snapshot);
    let target_now = side_record(&c.target, &target, &target_snapshot);
    if source_now.fingerprint != plan.plan.source.fingerprint
        || target_now.fingerprint != plan.plan.target.fingerprint
        || source_now.revision != plan.plan.source.revision
        || target_now.revision != plan.plan.target.revision
    {
        let now = DryRunResult::of(snapshot::changes(&source_snapshot, &target_snapshot));
        let side = if target_now.fingerprint != plan.plan.target.fingerprint
            || target_now.revision != plan.plan.target.revision
        {
            "target"
        } else {
            "source"
        };
        return Err(Error::input(format!(
            "plan {short} is stale: the {side} changed since it was planned; a plan now would be {} to add, {} to modify, {} to delete: run `trainyard sync plan {}`",
            now.files_to_add, now.files_to_modify, now.files_to_delete, c.sync_id
        )));
    }
    // A real apply is dated by the real clock, whatever the pinned one
    // says: its log can be neither backdated nor postdated.
    let started = Workspace::real_now();
    let started_at = started.to_string();
    let execution_id = format!(
        "{}-{}-{short}",
        c.sync_id,
        started.strftime("%Y%m%dT%H%M%SZ")
    );
    let mut errors = Vec::new();
    let merged: Vec<&str> = contents
        .conflicts
        .iter()
        .filter(|c| c.resolution == "merge")
        .map(|c| c.path.as_str())
        .collect();
    let overlay = if merged.is_empty() {
        None
    } else {
        Some(merge_overlay(
            &state_dir(ws, &c.sync_id).join("objects"),
            &source.root,
            &contents.changes,
            &merged,
        )?)
    };
    let source_root = overlay.as_ref().map_or(source.root.as_path(), |o| o.path());
    let remote_target = matches!(c.target.kind, EndpointType::Api | EndpointType::Registry);
    let client = if remote_target {
        Some(client_for(ws, &c.target)?)
    } else {
        None
    };
    let dry_run = LogDryRun {
        executed_at: Some(plan.plan.planned_at.clone()),
        result: plan.plan.result,
        diff_summary: plan.plan.diff_summary.clone(),
        diff_ref: Some(plan.plan.diff_ref.clone()),
    };
    let log_approval = LogApproval {
        approved: approval.approved,
        approved_by: Some(if approval.automatic {
            format!("{} (automatic)", approval.approved_by)
        } else {
            approval.approved_by.clone()
        }),
        approved_at: Some(approval.approved_at.clone()),
        dry_run_ref: Some(plan_ref.clone()),
    };
    // What the log needs is taken before the target is touched: the
    // store must take the log now (held, its index readable, the name
    // free), and the outcome is journaled in the sync's state, so that
    // no target changes without its log, whatever happens next.
    store.check_writable("sync_log", &execution_id)?;
    let mut pending = outcome::Pending::begin(
        &outcomes_dir(ws, &c.sync_id),
        &outcome::OutcomeEvent::Begun {
            execution_id: execution_id.clone(),
            plan_id: plan.plan_id.clone(),
            plan_ref: plan_ref.clone(),
            started_at: started_at.clone(),
            executed_by: identity(ws),
            dry_run: dry_run.clone(),
            approval: log_approval.clone(),
        },
    )?;
    // From here on no error returns early: each one goes into the log.
    let mut status = "success";
    if let Some(client) = &client {
        // Written document by document with the server's preconditions;
        // a stop half-way leaves what the list says, and a new plan shows
        // the rest.
        let written = if c.target.kind == EndpointType::Api {
            remote::apply_api(
                client,
                &c.target.location,
                &contents.changes,
                source_root,
                &plan.plan.target.etags,
            )
        } else {
            remote::apply_registry(client, &c.target.location, &contents.changes, source_root)
        };
        if let Some(e) = written.error {
            errors.push(e.to_string());
            status = if written.done.is_empty() {
                "failed"
            } else {
                "partial"
            };
        }
    } else if let Err(e) = apply::apply(&apply::ApplyRequest {
        source_root,
        target_root: &target.root,
        changes: &contents.changes,
        journal_dir: &journal_dir,
        apply_id: &execution_id,
        plan_id: &plan.plan_id,
    }) {
        errors.push(e.to_string());
        status = "failed";
    }
    if status == "success"
        && c.target.kind == EndpointType::Git
        && let Err(e) = commit_and_push(ws, &sync, &target, plan)
    {
        errors.push(e.to_string());
        status = "failed";
    }
    // Integrity: every changed path now reads as what the plan promised.
    // The others were just read (stale check) and the apply never touches
    // them, so the target now is that snapshot with the changes made.
    // A remote target is read back from the server.
    let reread = if remote_target && status == "success" {
        read_side(ws, &c.target).ok()
    } else {
        None
    };
    let written_root = reread
        .as_ref()
        .map_or(target.root.as_path(), |side| side.root.as_path());
    let integrity_verified = status == "success"
        && crate::parallel::map(&contents.changes, |change| {
            tree::read_entry(written_root, &change.path)
                .is_ok_and(|found| found.as_ref() == change.after.as_ref())
        })
        .into_iter()
        .all(|ok| ok);
    let after = integrity_verified.then(|| target_snapshot.patched(&contents.changes));
    if status == "success" && !integrity_verified {
        errors.push("the target does not match the plan after the apply".into());
        status = "partial";
    }
    let mut smoke_failures = Vec::new();
    let mut base_error = None;
    if status == "success" {
        for command in &c.options.smoke_tests {
            let ok = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&target.root)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                smoke_failures.push(command.clone());
            }
        }
        if let Some(snapshot) = &after {
            let kept = save_base(ws, &c.sync_id, snapshot).and_then(|()| {
                if c.options.conflict_strategy == ConflictStrategy::Merge {
                    keep_base_objects(
                        &state_dir(ws, &c.sync_id).join("objects"),
                        &target.root,
                        snapshot,
                    )
                } else {
                    Ok(())
                }
            });
            if let Err(e) = kept {
                base_error = Some(format!("the base of the next sync was not saved: {e}"));
            }
        }
    }
    let changes_applied = if status == "failed" {
        ChangesApplied::default()
    } else {
        ChangesApplied {
            added: plan.plan.result.files_to_add,
            modified: plan.plan.result.files_to_modify,
            deleted: plan.plan.result.files_to_delete,
        }
    };
    let notes: Vec<String> = (!smoke_failures.is_empty())
        .then(|| format!("smoke tests failed: {}", smoke_failures.join("; ")))
        .into_iter()
        .chain(base_error)
        .collect();
    let log = SyncLog {
        sync_id: c.sync_id.clone(),
        execution_id: execution_id.clone(),
        executed_at: started_at.clone(),
        executed_by: identity(ws),
        dry_run,
        approval: log_approval,
        execution: LogExecution {
            started_at,
            completed_at: Workspace::real_now().to_string(),
            status: status.into(),
            changes_applied,
            errors: errors.clone(),
        },
        verification: LogVerification {
            smoke_tests_passed: smoke_failures.is_empty(),
            integrity_verified,
            notes: (!notes.is_empty()).then(|| notes.join("; ")),
        },
    };
    // An apply stopped past its commit point is not over: `sync recover`
    // finishes it and records the log of what it then holds.
    if !remote_target
        && apply::journal_state(&journal_dir, &execution_id)?.is_some_and(|s| !s.is_finished())
    {
        pending.finish(&log)?;
        return Err(Error::environment(format!(
            "sync {} {status}: {}; the apply stopped past its commit point: `trainyard sync recover {}` finishes it and records its log (owed in {})",
            c.sync_id,
            errors.first().map_or("interrupted", String::as_str),
            c.sync_id,
            pending.path().display()
        )));
    }
    let log_ref = record_log(store.as_ref(), &mut pending, &log).map_err(|e| {
        Error::environment(format!(
            "sync {} was applied ({} to add, {} to modify, {} to delete: {status}), but its log could not be recorded: {e}; it is kept in {} and `trainyard sync recover {}` records it (as does the next command of this sync)",
            c.sync_id,
            log.execution.changes_applied.added,
            log.execution.changes_applied.modified,
            log.execution.changes_applied.deleted,
            pending.path().display(),
            c.sync_id
        ))
    })?;
    // The log is recorded: the journal goes (a journal left behind is
    // removed by the next settle, which finds its log recorded).
    let _ = pending.done();
    let notifications = notify_outcome(ws, &sync, &log, &log_ref);
    if let Some(first) = errors.first() {
        return Err(Error::environment(format!(
            "sync {} {status}: {first} (log {log_ref})",
            c.sync_id
        )));
    }
    Ok(ApplyReport {
        log,
        log_ref,
        notifications,
    })
}

/// Where a sync's owed logs are journaled.
fn outcomes_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    state_dir(ws, sync_id).join("outcomes")
}

/// Journals `log` as the apply's outcome, then records it under its
/// execution id (the name checked free before the apply): its evidence
/// path. On error the log stays journaled for [`settle_logs`].
fn record_log(
    store: &dyn EvidenceStore,
    pending: &mut outcome::Pending,
    log: &SyncLog,
) -> Result<String> {
    pending.finish(log)?;
    write_log(store, log)
}

/// Records `log` under its execution id; a log recorded there already
/// with the same text (by a run that died before it could tell) is it.
fn write_log(store: &dyn EvidenceStore, log: &SyncLog) -> Result<String> {
    let yaml = crate::evidence::render_yaml(&SyncLogDocument {
        sync_log: log.clone(),
    })?;
    match store.write("sync_log", &log.execution_id, &yaml) {
        Ok(written) => Ok(written.record.path),
        Err(e) => match store.show("sync_log", &log.execution_id) {
            Ok(entry) if entry.intact && entry.text == yaml => Ok(entry.record.path),
            _ => Err(e),
        },
    }
}

/// A log an interrupted apply owed, recorded by [`settle_logs`].
#[derive(Debug, Clone, Serialize)]
pub struct SettledLog {
    /// The apply.
    pub execution_id: String,
    /// The log, now recorded.
    pub log_ref: String,
    /// Its status.
    pub status: String,
}

/// Records the logs a sync's applies still owe (see
/// [`super::outcome`]): a finished apply's log as it was journaled, and
/// for an apply whose process died, a log made from what the target holds
/// now (each planned change checked against it). An apply still running,
/// or one whose target journal awaits `sync recover`, is left for later.
///
/// # Errors
///
/// Returns an error when the evidence store cannot take a log (busy: the
/// log stays journaled) or a journal cannot be read.
pub fn settle_logs(ws: &Workspace, sync_id: &str) -> Result<Vec<SettledLog>> {
    let mut settled = Vec::new();
    for path in outcome::journals(&outcomes_dir(ws, sync_id))? {
        if let Some(log) = settle_one(ws, sync_id, &path)? {
            settled.push(log);
        }
    }
    Ok(settled)
}

/// Records the log one outcome journal owes, unless its apply still runs
/// or awaits its recovery.
fn settle_one(ws: &Workspace, sync_id: &str, path: &Path) -> Result<Option<SettledLog>> {
    let Some((_lock, owed)) = outcome::claim(path)? else {
        return Ok(None);
    };
    let journal = match owed.execution_id() {
        Some(id) => apply::journal_state(&state_dir(ws, sync_id).join("journal"), id)?,
        None => None,
    };
    if journal.is_some_and(|state| !state.is_finished()) {
        // `sync recover` finishes the apply first.
        return Ok(None);
    }
    let log = match owed.log.clone() {
        // Failed past its commit point, then finished by a recovery: the
        // log says what the target holds now, and what went wrong first.
        Some(failed)
            if failed.execution.status != "success"
                && journal == Some(super::journal::JournalState::Committed) =>
        {
            match interrupted_log(ws, sync_id, &owed)? {
                Some(mut log) => {
                    let mut errors = failed.execution.errors;
                    errors.append(&mut log.execution.errors);
                    log.execution.errors = errors;
                    log
                }
                None => return Ok(None),
            }
        }
        Some(log) => log,
        None => match interrupted_log(ws, sync_id, &owed)? {
            Some(log) => log,
            None => return Ok(None),
        },
    };
    let log_ref = write_log(ws.evidence_store().as_ref(), &log)?;
    outcome::remove(path)?;
    Ok(Some(SettledLog {
        execution_id: log.execution_id.clone(),
        log_ref,
        status: log.execution.status.clone(),
    }))
}

/// [`settle_logs`] where it is not the command's purpose: a store that
/// cannot take the logs now leaves them journaled for the next command.
fn settle_quietly(ws: &Workspace, sync_id: &str) {
    let _ = settle_logs(ws, sync_id);
}

/// The log of an apply whose process died after its `begun`: what the
/// target holds now, change by change. `None` while its target journal
/// is unfinished (`sync recover` finishes it first).
fn interrupted_log(ws: &Workspace, sync_id: &str, owed: &outcome::Owed) -> Result<Option<SyncLog>> {
    let Some(outcome::OutcomeEvent::Begun {
        execution_id,
        plan_id,
        started_at,
        executed_by,
        dry_run,
        approval,
        ..
    }) = owed.begun.clone()
    else {
        // Nothing but a torn first line: the apply never began.
        outcome::remove(&owed.path)?;
        return Ok(None);
    };
    let journal = apply::journal_state(&state_dir(ws, sync_id).join("journal"), &execution_id)?;
    if journal.is_some_and(|state| !state.is_finished()) {
        return Ok(None);
    }
    let sync = find(ws, sync_id)?;
    let (plan, _) = find_plan(ws, &plan_id)?;
    let contents = plan_contents(ws, &plan)?;
    let target = read_side(ws, &sync.config.target)?;
    let (mut applied, mut untouched) = (Vec::new(), 0usize);
    for change in &contents.changes {
        let now = tree::read_entry(&target.root, &change.path).ok();
        match now {
            Some(found) if found.as_ref() == change.after.as_ref() => applied.push(change),
            Some(found) if found.as_ref() == change.before.as_ref() => untouched += 1,
            _ => {}
        }
    }
    let count = |kind| applied.iter().filter(|c| c.kind == kind).count();
    let all = contents.changes.len();
    let status = if applied.len() == all {
        "success"
    } else if untouched == all {
        "failed"
    } else {
        "partial"
    };
    if status == "success" && sync.config.target.kind == EndpointType::File {
        // The next plan compares against what this apply left.
        let filters = filters_of(ws, &sync)?;
        let snapshot = scan(ws, sync_id, "target", &target.root, &filters, false)?;
        save_base(ws, sync_id, &snapshot)?;
        if sync.config.options.conflict_strategy == ConflictStrategy::Merge {
            keep_base_objects(
                &state_dir(ws, sync_id).join("objects"),
                &target.root,
                &snapshot,
            )?;
        }
    }
    let now = Workspace::real_now().to_string();
    Ok(Some(SyncLog {
        sync_id: sync_id.to_owned(),
        execution_id,
        executed_at: started_at.clone(),
        executed_by,
        dry_run,
        approval,
        execution: LogExecution {
            started_at,
            completed_at: now.clone(),
            status: status.into(),
            changes_applied: ChangesApplied {
                added: count(model::ChangeKind::Add),
                modified: count(model::ChangeKind::Modify),
                deleted: count(model::ChangeKind::Delete),
            },
            errors: vec![format!(
                "the apply was interrupted: {} of {all} planned change(s) found in the target at {now}",
                applied.len()
            )],
        },
        verification: LogVerification {
            smoke_tests_passed: false,
            integrity_verified: applied.len() == all,
            notes: Some(format!(
                "logged at {now} for an apply whose run stopped before it could log it: each planned change was checked against the target; the smoke tests did not run"
            )),
        },
    }))
}

/// Tells the sync's `on_success` or `on_failure` targets how it went. A
/// delivery that fails is recorded as evidence (`sync_notification`) and
/// never changes the outcome.
fn notify_outcome(
    ws: &Workspace,
    sync: &LoadedSync,
    log: &SyncLog,
    log_ref: &str,
) -> Vec<crate::notify::Delivery> {
    let status = log
        .execution
        .status
        .parse()
        .unwrap_or(crate::notify::Status::Failed);
    let targets = crate::notify::targets_for(&sync.config.notifications, status);
    if targets.is_empty() {
        return Vec::new();
    }
    let notification = crate::notify::Notification {
        sync_id: log.sync_id.clone(),
        execution_id: log.execution_id.clone(),
        status,
        summary: if log.execution.errors.is_empty() {
            log.dry_run.diff_summary.clone()
        } else {
            log.execution.errors.join("; ")
        },
        log_ref: Some(log_ref.to_owned()),
        counts: log.execution.changes_applied,
        errors: log.execution.errors.clone(),
    };
    let deliveries = crate::notify::send(&ws.config.notify, &ws.home, targets, &notification);
    if deliveries.iter().any(|d| !d.ok) {
        // Best effort: the sync's own log is already written.
        let _ = ws.evidence_store().write_value_unique(
            "sync_notification",
            &log.execution_id,
            &serde_json::json!({ "sync_notification": {
                "sync_id": log.sync_id,
                "execution_id": log.execution_id,
                "log_ref": log_ref,
                "deliveries": deliveries,
            }}),
        );
    }
    deliveries
}

/// The largest file whose content is kept as a merge base.
const MERGE_BASE_LIMIT: u64 = 1024 * 1024;

/// Keeps the content of the synced text files, by hash, as the base of the
/// next three-way merge.
fn keep_base_objects(objects: &Path, root: &Path, snapshot: &Snapshot) -> Result<()> {
    for (path, entry) in snapshot.iter() {
        let path = model::SyncPath(path.to_vec());
        if entry.kind != model::EntryKind::File || entry.size > MERGE_BASE_LIMIT {
            continue;
        }
        let object = objects.join(entry.hash.to_hex());
        if object.exists() {
            continue;
        }
        let bytes = std::fs::read(path.under(root))
            .map_err(|e| Error::io("cannot read", path.under(root), e))?;
        if std::str::from_utf8(&bytes).is_ok() {
            crate::fsutil::write_atomic(&object, &bytes)?;
        }
    }
    Ok(())
}

/// A source tree for an apply with merged paths: the changed files, merged
/// ones taken from the stored merge results.
fn merge_overlay(
    objects: &Path,
    source_root: &Path,
    changes: &[Change],
    merged: &[&str],
) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("trainyard-merge-")
        .tempdir()
        .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
    for change in changes {
        let Some(after) = &change.after else { continue };
        let to = change.path.under(dir.path());
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        let from = if merged.contains(&change.path.to_string().as_str()) {
            objects.join(after.hash.to_hex())
        } else {
            change.path.under(source_root)
        };
        if after.kind == model::EntryKind::Symlink {
            let link = std::fs::read_link(&from).map_err(|e| Error::io("cannot read", &from, e))?;
            std::os::unix::fs::symlink(&link, &to)
                .map_err(|e| Error::io("cannot create", &to, e))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io("cannot copy", &from, e))?;
        }
    }
    Ok(dir)
}

/// A git target: one commit with a `Sync-Source-Rev:` trailer, pushed with
/// a compare-and-swap on the revision the plan read.
fn commit_and_push(
    ws: &Workspace,
    sync: &LoadedSync,
    target: &Side,
    plan: &SyncPlan,
) -> Result<()> {
    let c = &sync.config;
    let branch = c.target.branch.clone().unwrap_or_else(|| "main".into());
    let expected = target
        .revision
        .clone()
        .ok_or_else(|| Error::Internal("a git target without a revision".into()))?;
    git_cli::run(&target.root, &["add", "--all", "--", "."])?;
    let staged = git_cli::run(&target.root, &["diff", "--cached", "--name-only"])?;
    if staged.trim().is_empty() {
        return Ok(());
    }
    let source_rev = plan
        .plan
        .source
        .revision
        .clone()
        .unwrap_or_else(|| format!("fingerprint:{}", plan.plan.source.fingerprint));
    let message = format!(
        "chore(sync): {} from {}\n\n{}\n\nSync-Id: {}\nSync-Plan: {}\nSync-Source-Rev: {source_rev}",
        c.sync_id, c.source.location, plan.plan.diff_summary, c.sync_id, plan.plan_id
    );
    let email = identity(ws);
    git_cli::run_dated(
        &target.root,
        &[
            "-c",
            &format!("user.email={email}"),
            "-c",
            "user.name=trainyard",
            "commit",
            "-q",
            "-m",
            &message,
        ],
        // The commit of a real apply is dated by the real clock.
        Workspace::real_now(),
    )?;
    let location = git_location(ws, &c.target.location);
    git_cli::run(
        &target.root,
        &[
            "push",
            "--quiet",
            &format!("--force-with-lease=refs/heads/{branch}:{expected}"),
            &location,
            &format!("HEAD:refs/heads/{branch}"),
        ],
    )
    .map_err(|e| {
        Error::input(format!(
            "the target branch {branch} moved since the plan (compare-and-swap refused): {e}"
        ))
    })?;
    Ok(())
}

/// `sync run`: validation, plan, an automatic approval recorded as such,
/// apply and verification, for syncs that do not require approval.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the sync requires approval or fails
/// validation, and the errors of plan and apply.
pub fn run(ws: &Workspace, id: &str) -> Result<(PlanReport, Option<ApplyReport>)> {
    let sync = find(ws, id)?;
    if sync.config.options.approval_required {
        return Err(Error::input(format!(
            "sync {id} requires approval: run `trainyard sync plan {id}`, then approve and apply the plan"
        )));
    }
    if let Some(v) = validate(ws, Some(id))?
        .into_iter()
        .find(|v| !v.problems.is_empty())
    {
        let log_ref = log_refusal(ws, &sync.config.sync_id, &v.problems)?;
        return Err(Error::input(format!(
            "sync {id} fails pre-sync validation: {} (log {log_ref})",
            v.problems.join("; ")
        )));
    }
    let Planned {
        report: planned,
        scanned,
    } = plan_scanned(ws, id, false, None)?;
    if planned.plan.plan.result.total_changes == 0 {
        return Ok((planned, None));
    }
    let automatic = Approval {
        reason: Some("automatic: the sync does not require approval".into()),
        automatic: true,
        ..approval_of(&planned.plan, identity(ws), ws.now)
    };
    let store = ws.evidence_store();
    store.write_value_unique(
        "sync_approval",
        &format!("{id}-{}", planned.plan.short_id()),
        &ApprovalDocument {
            sync_approval: automatic.clone(),
        },
    )?;
    let applied = apply_found(
        ws,
        &planned.plan,
        planned.plan_ref.clone(),
        Some(automatic),
        Some(scanned),
    )?;
    Ok((planned, Some(applied)))
}

/// The fingerprint of a sync's target as it is now (filtered, by
/// content), without recording anything.
///
/// # Errors
///
/// Returns an error when the sync is unknown or its target unreadable.
pub fn target_fingerprint(ws: &Workspace, id: &str) -> Result<String> {
    let sync = find(ws, id)?;
    let filters = filters_of(ws, &sync)?;
    let target = read_side(ws, &sync.config.target)?;
    Ok(scan(ws, id, "target", &target.root, &filters, false)?.fingerprint())
}

/// Whether a sync has an apply that a crash interrupted: an unfinished
/// journal, or its target's lock left by a holder of this repository
/// that is gone.
///
/// # Errors
///
/// Returns an error when its journals or its target's lock cannot be
/// read.
pub fn has_interrupted_apply(ws: &Workspace, id: &str) -> Result<bool> {
    if apply::interrupted(&state_dir(ws, id).join("journal"))?.is_some() {
        return Ok(true);
    }
    let sync = find(ws, id)?;
    let here = repository(ws);
    Ok(
        lock::inspect(&target_spot(ws, &sync)?)?.is_some_and(|found| {
            !found.running && found.info.repository.as_ref().is_none_or(|r| *r == here)
        }),
    )
}

/// Logs a run stopped by pre-sync validation: no dry-run was made,
/// nothing approved or applied.
fn log_refusal(ws: &Workspace, sync_id: &str, problems: &[String]) -> Result<String> {
    let now = ws.now.to_string();
    let execution_id = format!("{sync_id}-{}-refused", ws.stamp());
    let log = SyncLog {
        sync_id: sync_id.to_owned(),
        execution_id: execution_id.clone(),
        executed_at: now.clone(),
        executed_by: identity(ws),
        dry_run: LogDryRun {
            executed_at: None,
            result: DryRunResult::default(),
            diff_summary: "no dry-run: pre-sync validation failed".into(),
            diff_ref: None,
        },
        approval: LogApproval {
            approved: false,
            approved_by: None,
            approved_at: None,
            dry_run_ref: None,
        },
        execution: LogExecution {
            started_at: now.clone(),
            completed_at: now,
            status: "failed".into(),
            changes_applied: ChangesApplied::default(),
            errors: problems
                .iter()
                .map(|p| format!("pre-sync validation: {p}"))
                .collect(),
        },
        verification: LogVerification {
            smoke_tests_passed: false,
            integrity_verified: false,
            notes: Some("stopped before the dry-run".into()),
        },
    };
    let record = ws.evidence_store().write_value_unique(
        "sync_log",
        &execution_id,
        &SyncLogDocument {
            sync_log: log.clone(),
        },
    )?;
    if let Ok(sync) = find(ws, sync_id) {
        let mut refused = log;
        refused.execution.status = "refused".into();
        notify_outcome(ws, &sync, &refused, &record.record.path);
    }
    Ok(record.record.path)
}

/// `sync log`: the sync logs, oldest first, of one sync or all.
///
/// # Errors
///
/// As reading the evidence store.
pub fn history(ws: &Workspace, id: Option<&str>) -> Result<Vec<(SyncLog, String)>> {
    if let Some(id) = id {
        super::journal::check_id("sync id", id)?;
    }
    // Logs still owed are recorded first, when the store takes them.
    match id {
        Some(id) => settle_quietly(ws, id),
        None => {
            for sync in load_all(ws)? {
                settle_quietly(ws, &sync.config.sync_id);
            }
        }
    }
    let found: Vec<(SyncLog, String)> = logs(ws, id.unwrap_or(""))?
        .into_iter()
        .filter(|(l, _)| id.is_none_or(|id| l.sync_id == id))
        .collect();
    // A sync no longer configured still has its logs; an id that is
    // neither is a mistake, not an empty history.
    if let Some(id) = id
        && found.is_empty()
    {
        find(ws, id)?;
    }
    Ok(found)
}

/// How long a target lock protects an apply whose process is gone.
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The lock of a sync's target (see [`lock::spot_for`]).
fn target_spot(ws: &Workspace, sync: &LoadedSync) -> Result<lock::LockSpot> {
    lock::spot_for(&ws.home, &sync.config.target)
}

/// This repository's root, as locks name it.
fn repository(ws: &Workspace) -> PathBuf {
    std::fs::canonicalize(&ws.home).unwrap_or_else(|_| ws.home.clone())
}

fn lock_request(
    ws: &Workspace,
    sync_id: &str,
    action: lock::LockAction,
    plan_id: &str,
    journal: Option<&Path>,
) -> lock::LockRequest {
    lock::LockRequest {
        owner: identity(ws),
        action,
        sync_id: sync_id.to_owned(),
        plan_id: plan_id.to_owned(),
        repository: repository(ws),
        // Absolute: others read it from their own working directory.
        journal: journal.map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())),
    }
}

/// The interrupted apply that the holder of `info`, now gone, left in its
/// journal, if any (an unreadable journal counts as one).
fn left_interrupted(info: &lock::LockInfo) -> Option<String> {
    let dir = info.journal.as_ref()?;
    match apply::interrupted(dir) {
        Ok(found) => found,
        Err(e) => Some(format!("unreadable: {e}")),
    }
}

/// The target lock of an apply. It is released when the apply ends, but
/// left in place (as a holder that is gone) when the apply leaves an
/// unfinished journal, so that no apply of any sync writes the target
/// before `sync recover` has finished or undone it.
struct ApplyLock {
    lock: Option<lock::TargetLock>,
    journal_dir: PathBuf,
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        // Dropped unless abandoned: released.
        if let Some(lock) = self.lock.take()
            && matches!(apply::interrupted(&self.journal_dir), Ok(Some(_)))
        {
            lock.abandon();
        }
    }
}

/// Takes the lock of `sync`'s target for applying `plan_id` (journaled in
/// `journal_dir`). The lock of a holder that is gone is taken over once it
/// has expired, but never while the apply it protected awaits recovery.
fn lock_for_apply(
    ws: &Workspace,
    sync: &LoadedSync,
    plan_id: &str,
    journal_dir: &Path,
) -> Result<ApplyLock> {
    let request = lock_request(
        ws,
        &sync.config.sync_id,
        lock::LockAction::Apply,
        plan_id,
        (sync.config.target.kind == EndpointType::File).then_some(journal_dir),
    );
    let settled = |info: &lock::LockInfo| left_interrupted(info).is_none();
    let lock = lock::TargetLock::acquire(
        &target_spot(ws, sync)?,
        &request,
        LOCK_TTL,
        ws.expiry_clock(),
        lock::TakeOver::Expired(&settled),
    )?;
    Ok(ApplyLock {
        lock: Some(lock),
        journal_dir: journal_dir.to_path_buf(),
    })
}

/// The refusal an apply of sync `id` would get from its target's lock
/// now, if any: a running holder, or one that is gone and has not been
/// recovered after.
///
/// # Errors
///
/// Returns an error when the sync is unknown or its lock unreadable.
pub fn target_busy(ws: &Workspace, id: &str) -> Result<Option<lock::LockHeld>> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let Some(found) = lock::inspect(&spot)? else {
        return Ok(None);
    };
    let free = !found.running
        && found.info.is_expired(ws.expiry_clock())
        && left_interrupted(&found.info).is_none();
    let request = lock_request(ws, id, lock::LockAction::Apply, "", None);
    Ok((!free).then(|| lock::refusal(&spot, &found, ws.expiry_clock(), &request)))
}

/// What `sync recover` did.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The target recovered.
    pub target: String,
    /// The lock of a holder that was gone, which the recovery cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_lock: Option<lock::LockInfo>,
    /// The applies finished or undone (none when nothing was interrupted).
    pub applies: Vec<RecoveredApply>,
    /// Why there is nothing to recover on this kind of target, when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One apply `sync recover` finished or undid.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveredApply {
    /// The sync whose apply it was.
    pub sync_id: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: apply::RecoveryOutcome,
    /// The `sync_log` written for an apply the recovery completed (or that
    /// had completed without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_ref: Option<String>,
}

/// The latest apply in `journal_dir` whose journal begins with `plan_id`.
fn apply_of_plan(journal_dir: &Path, plan_id: &str) -> Result<Option<String>> {
    super::journal::latest_where(journal_dir, |events| {
        matches!(
            events.first(),
            Some(super::journal::Event::Begin { plan_id: p, .. }) if p == plan_id
        )
    })
}

/// `sync recover`: under the target's lock, finishes or undoes an
/// interrupted apply from its journal, and clears the lock of a holder
/// that is gone (after finishing or undoing that holder's apply, whichever
/// sync of this repository it was). An apply it completes, or one that
/// had completed but died before writing its `sync_log`, is logged.
///
/// # Errors
///
/// Returns an [`Error::Locked`] while a running process holds the target
/// (nothing is touched then), or when the lock was left by a holder of
/// another repository (the error names the command to run there); the
/// errors of [`apply::recover`].
pub fn recover(ws: &Workspace, id: &str) -> Result<Recovery> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let here = repository(ws);
    let own = state_dir(ws, id).join("journal");
    let file_target = sync.config.target.kind == EndpointType::File;
    // The lock names the journal being recovered: the one a gone holder
    // named, else this sync's, so that a recovery killed in turn leaves
    // the next one its way.
    let carried = lock::read_lock(&spot)
        .ok()
        .flatten()
        .and_then(|info| info.journal)
        .unwrap_or_else(|| own.clone());
    let ours = |info: &lock::LockInfo| info.repository.as_ref().is_none_or(|r| *r == here);
    let lock = lock::TargetLock::acquire(
        &spot,
        &lock_request(
            ws,
            id,
            lock::LockAction::Recover,
            "",
            file_target.then_some(carried.as_path()),
        ),
        LOCK_TTL,
        ws.expiry_clock(),
        lock::TakeOver::Gone(&ours),
    )?;
    let cleared = lock.took_over().cloned();
    let mut recovery = Recovery {
        target: spot.target().to_owned(),
        cleared_lock: cleared.clone(),
        applies: Vec::new(),
        note: None,
    };
    if !file_target {
        recovery.note = Some(format!(
            "a {} target is written by requests the server checks (a compare-and-swap push, preconditions): an interrupted apply leaves nothing to finish here; plan again",
            sync.config.target.kind.as_str()
        ));
        lock.release()?;
        return Ok(recovery);
    }
    match recover_journals(ws, id, &own, cleared.as_ref()) {
        Ok(applies) => {
            recovery.applies = applies;
            lock.release()?;
            Ok(recovery)
        }
        Err(e) => {
            // The lock stays, naming the journal, for the next recovery.
            lock.abandon();
            Err(e)
        }
    }
}

/// Finishes or undoes, on sync `id`'s target, the apply the gone holder
/// `cleared` left and this sync's own interrupted apply (journaled in
/// `own`); logs an apply that was completed without its log.
fn recover_journals(
    ws: &Workspace,
    id: &str,
    own: &Path,
    cleared: Option<&lock::LockInfo>,
) -> Result<Vec<RecoveredApply>> {
    let sync = find(ws, id)?;
    let target_root = ws.home.join(&sync.config.target.location);
    let mut recovered = Vec::new();
    // The gone holder's apply first, then any of this sync's own.
    let mut journals: Vec<(String, PathBuf, String)> = Vec::new();
    if let Some(gone) = cleared
        && let Some(dir) = &gone.journal
    {
        let left = match gone.action {
            lock::LockAction::Apply => apply_of_plan(dir, &gone.plan_id)?,
            lock::LockAction::Recover => apply::interrupted(dir)?,
        };
        if let Some(apply_id) = left {
            journals.push((gone.sync_id.clone(), dir.clone(), apply_id));
        }
    }
    if let Some(apply_id) = apply::interrupted(own)?
        && !journals.iter().any(|(_, d, a)| d == own && *a == apply_id)
    {
        journals.push((id.to_owned(), own.to_path_buf(), apply_id));
    }
    for (sync_id, dir, apply_id) in journals {
        let outcome = apply::recover(&target_root, &dir, Some(&apply_id))?;
        // The log the apply owes, now that its target journal is done.
        let owed = outcomes_dir(ws, &sync_id).join(format!("{apply_id}.{}", outcome::EXTENSION));
        let log_ref = settle_one(ws, &sync_id, &owed)?.map(|settled| settled.log_ref);
        recovered.push(RecoveredApply {
            sync_id,
            outcome,
            log_ref,
        });
    }
    Ok(recovered)
}

/// `sync unlock`: breaks the lock of a sync's target, only by naming its
/// id, and only when its holder is gone and left nothing to recover.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the target is not locked or the lock
/// has another id; an [`Error::Locked`] while its holder runs; an
/// [`Error::Environment`] naming `sync recover` when the holder left an
/// interrupted apply; the errors of [`lock::break_lock`].
pub fn unlock(ws: &Workspace, id: &str, lock_id: &str) -> Result<lock::LockInfo> {
    let sync = find(ws, id)?;
    let spot = target_spot(ws, &sync)?;
    let request = lock_request(ws, id, lock::LockAction::Recover, "", None);
    let settled = |info: &lock::LockInfo| match left_interrupted(info) {
        None => Ok(()),
        Some(pending) => Err(Error::environment(format!(
            "lock {} of sync target {} was left by {} (process {}, no longer running) with the interrupted apply {pending}; nothing was removed: run `{}`, which finishes or undoes it and clears the lock",
            info.id,
            spot.target(),
            info.owner,
            info.pid,
            lock::recover_command(info, &request.repository)
        ))),
    };
    lock::break_lock(&spot, lock_id, &request, ws.expiry_clock(), &settled)
}

//! Planning a sync (the sealed dry-run), and reading a recorded plan back:
//! its change list, its diff, the plan itself by id.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use super::conflicts::{MergeContext, Resolution};
use super::identity;
use super::load::find;
use super::logs::settle_quietly;
use super::sides::{
    Side, filters_of, load_base, read_side, read_sides, scan, side_record, state_dir,
};
use crate::evidence::{EvidenceStore, NewDocument, StagedBody};
use crate::plan::{PlanKind, find_sealed};
use crate::sync::config::{self, LoadedSync};
use crate::sync::endpoint::{self, Endpoint};
use crate::sync::model::{self, Change};
use crate::sync::record::{Conflict, ContentsLine, DryRunResult, PlanBody, PlanContents, SyncPlan};
use crate::sync::snapshot::{self, Snapshot};
use crate::sync::{diff, tree};
use crate::workspace::Workspace;
use crate::{Error, Result};

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

/// Both sides as a plan read them, so that `run` applies against the
/// state it has just planned instead of reading both trees again.
pub(super) struct Scanned {
    pub(super) source: Side,
    pub(super) target: Side,
    pub(super) source_snapshot: Snapshot,
    pub(super) target_snapshot: Snapshot,
}

pub(super) struct Planned {
    pub(super) report: PlanReport,
    pub(super) scanned: Scanned,
}

/// Plans sync `id` (see [`plan`]), the source read from `source_at` when
/// given: the report, and both sides as the plan read them.
pub(super) fn plan_scanned(
    ws: &Workspace,
    id: &str,
    exact: bool,
    source_at: Option<SourceAt<'_>>,
) -> Result<Planned> {
    let sync = find(ws, id)?;
    let c = &sync.config;
    settle_quietly(ws, &c.sync_id);
    let scanned = read_for_plan(ws, &sync, exact, source_at)?;
    let Scanned {
        source,
        target,
        source_snapshot,
        target_snapshot,
    } = &scanned;
    let base = load_base(ws, &c.sync_id);
    let merger = MergeContext {
        objects: state_dir(ws, &c.sync_id).join("objects"),
        source_root: &source.root,
        target_root: &target.root,
    };
    let all = || snapshot::changes(source_snapshot, target_snapshot);
    let resolution = Resolution::of(
        all(),
        base.as_ref(),
        target_snapshot,
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
    let redact = |text: &str| diff::redact(text, &patterns, &secret_refs);
    // A conflict's hunks quote the files: masked like the diff, before
    // they reach a report or the plan's evidence.
    let conflicts: Vec<Conflict> = resolution
        .conflicts
        .iter()
        .cloned()
        .map(|mut conflict| {
            conflict.detail = conflict.detail.map(|d| redact(&d));
            conflict
        })
        .collect();
    let target_endpoint = endpoint::open(ws, &c.target);
    refuse_overwrites(c, target_endpoint.as_ref(), &changes)?;
    let store = ws.evidence_store();
    let diff = store.stage_body("sync_diff", &mut |out| {
        write_plan_diff(
            out,
            c,
            target_endpoint.as_ref(),
            &changes,
            &resolution,
            &merger,
            &redact,
        )
    })?;
    let change_list = store.stage_body("sync_changes", &mut |out| {
        write_contents(out, changes(), &conflicts)
    })?;
    let ttl = c.options.plan_ttl_minutes.signed_duration();
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
        source: side_record(&c.source, source, source_snapshot),
        target: side_record(&c.target, target, target_snapshot),
        diff_summary: diff_summary(&result, conflicts.len()),
        result,
        exceeds_max_delete,
        changes_ref: change_list.path(),
        changes_sha256: change_list.sha256().to_owned(),
        diff_ref: diff.path(),
        diff_sha256: diff.sha256().to_owned(),
    };
    let plan = SyncPlan::seal(body);
    let plan_ref = record_plan(store.as_ref(), &c.sync_id, &plan, vec![diff, change_list])?;
    Ok(Planned {
        report: PlanReport {
            plan,
            conflicts,
            plan_ref,
        },
        scanned,
    })
}

/// Both sides of `sync` read and scanned for a plan, the source from
/// `source_at` when given; a source with symlinks its policy does not
/// keep is refused.
fn read_for_plan(
    ws: &Workspace,
    sync: &LoadedSync,
    exact: bool,
    source_at: Option<SourceAt<'_>>,
) -> Result<Scanned> {
    let c = &sync.config;
    let filters = filters_of(ws, sync)?;
    let (source, target) = match source_at {
        Some(at) => (
            Side::local(at.root.to_path_buf(), Some(at.revision.to_owned())),
            read_side(ws, &c.target)?,
        ),
        None => read_sides(ws, sync, &filters)?,
    };
    // A tree from elsewhere is read once: it stays out of the hash cache.
    let source_snapshot = match source_at {
        Some(_) => tree::scan(&source.root, &filters, None)?.snapshot,
        None => scan(ws, &c.sync_id, "source", &source.root, &filters, exact)?,
    };
    refuse_links(c, &source_snapshot)?;
    let target_snapshot = scan(ws, &c.sync_id, "target", &target.root, &filters, exact)?;
    Ok(Scanned {
        source,
        target,
        source_snapshot,
        target_snapshot,
    })
}

/// A plan's one-line summary of its counts.
fn diff_summary(result: &DryRunResult, conflict_count: usize) -> String {
    format!(
        "{} to add, {} to modify, {} to delete{}",
        result.files_to_add,
        result.files_to_modify,
        result.files_to_delete,
        if conflict_count == 0 {
            String::new()
        } else {
            format!(", {conflict_count} conflict(s)")
        }
    )
}

/// Refuses changes that would overwrite a version a registry target has
/// published, unless the sync allows it.
fn refuse_overwrites<I: Iterator<Item = Change>>(
    c: &config::SyncConfig,
    target: &dyn Endpoint,
    changes: &impl Fn() -> I,
) -> Result<()> {
    if target.keeps_published_versions() && !c.options.overwrite_published {
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
    Ok(())
}

/// Writes a plan's diff to `out`: the target's preamble first (an `api`
/// target's summary, a registry's uploads and removals), then each
/// change's diff, and each merged path as the merge's result against the
/// target.
fn write_plan_diff<I: Iterator<Item = Change>>(
    out: &mut dyn std::io::Write,
    c: &config::SyncConfig,
    target: &dyn Endpoint,
    changes: &impl Fn() -> I,
    resolution: &Resolution,
    merger: &MergeContext<'_>,
    redact: &impl Fn(&str) -> String,
) -> Result<()> {
    let (source_root, target_root) = (merger.source_root, merger.target_root);
    // Each change's text is masked and written as it is rendered: a
    // diff of any size is never held whole.
    let mut emit = |text: &str| -> Result<()> {
        out.write_all(redact(text).as_bytes()).map_err(|e| {
            Error::environment(format!("cannot write the diff of sync {}: {e}", c.sync_id))
        })
    };
    // Merged paths are shown as the merge's result against the target.
    let plain = || changes().filter(|change| !resolution.is_merged(change));
    target.write_diff_preamble(&mut plain(), source_root, target_root, &mut emit)?;
    for change in plain() {
        emit(&diff::render_diff(&change, source_root, target_root)?)?;
    }
    for change in changes().filter(|change| resolution.is_merged(change)) {
        let Some(after) = &change.after else { continue };
        let before = std::fs::read_to_string(change.path.under(target_root)).unwrap_or_default();
        let result =
            std::fs::read_to_string(merger.objects.join(after.hash.to_hex())).unwrap_or_default();
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
}

/// Records `plan` with its bodies: the plan's evidence path.
fn record_plan(
    store: &dyn EvidenceStore,
    sync_id: &str,
    plan: &SyncPlan,
    bodies: Vec<StagedBody>,
) -> Result<String> {
    let yaml = crate::evidence::render_yaml(&PlanDocumentRef { sync_plan: plan })?;
    // The plan and its bodies are recorded together, or none of them.
    let recorded = store.record(
        bodies,
        &[NewDocument {
            kind: "sync_plan",
            name: &format!("{sync_id}-{}", plan.short_id()),
            unique: true,
            yaml: &yaml,
        }],
    )?;
    recorded
        .documents
        .into_iter()
        .next()
        .map(|written| written.record.path)
        .ok_or_else(|| Error::Internal("a plan recorded no document".into()))
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

/// How sync plans are recorded and named.
const SYNC_PLAN: PlanKind = PlanKind {
    noun: "plan",
    missing: "no sync plan",
    make: "trainyard sync plan <sync-id>",
    edited_remedy: "a plan that was changed is never approved or applied: plan again",
};

/// Finds a recorded plan by its id or a prefix of it (at least 8 hex
/// digits).
///
/// # Errors
///
/// Returns an [`Error::Input`] when no plan (or more than one) matches, and
/// when the plan's document was edited since it was sealed.
pub fn find_plan(ws: &Workspace, id: &str) -> Result<(SyncPlan, String)> {
    find_sealed(ws.evidence_store().as_ref(), &SYNC_PLAN, id)
}

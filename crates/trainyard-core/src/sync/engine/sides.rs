//! Reading a sync's endpoints into directories and scanning them, and the
//! sync's state beside its evidence: the base of the last sync and the
//! hash caches.

use std::path::{Path, PathBuf};

use super::load::find;
use super::sync_home;
use crate::sync::config::{self, LoadedSync};
use crate::sync::record::SideRecord;
use crate::sync::snapshot::Snapshot;
use crate::sync::{endpoint, tree};
use crate::workspace::Workspace;
use crate::{Error, Result};

pub(super) use crate::sync::endpoint::Side;

/// Both sides of a sync as the plan compares them: the source in the
/// form its target compares it in.
pub(super) fn read_sides(
    ws: &Workspace,
    sync: &LoadedSync,
    filters: &tree::Filters,
) -> Result<(Side, Side)> {
    let c = &sync.config;
    let source = endpoint::open(ws, &c.source);
    let target = endpoint::open(ws, &c.target);
    let source_side = target.comparable_source(source.as_ref(), source.read()?, filters)?;
    Ok((source_side, target.read()?))
}

pub(super) fn read_side(ws: &Workspace, config: &config::Endpoint) -> Result<Side> {
    endpoint::open(ws, config).read()
}

/// The filters of a sync, plus what is never synced: `.git` and the
/// evidence directory.
pub(super) fn filters_of(ws: &Workspace, sync: &LoadedSync) -> Result<tree::Filters> {
    let mut exclude = sync.config.filters.exclude.clone();
    exclude.push("/.git".into());
    exclude.push(format!("/{}", ws.config.evidence.dir.display()));
    tree::Filters::new(&sync.config.filters.include, &exclude)
}

pub(super) fn state_dir(ws: &Workspace, sync_id: &str) -> PathBuf {
    sync_home(ws).join("sync-state").join(sync_id)
}

pub(super) fn load_base(ws: &Workspace, sync_id: &str) -> Option<Snapshot> {
    let text = std::fs::read(state_dir(ws, sync_id).join("base.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

pub(super) fn save_base(ws: &Workspace, sync_id: &str, snapshot: &Snapshot) -> Result<()> {
    let text = serde_json::to_vec(snapshot)
        .map_err(|e| Error::Internal(format!("cannot encode the sync base: {e}")))?;
    crate::fsutil::write_atomic(&state_dir(ws, sync_id).join("base.json"), &text)
}

/// Scans one side; with `exact`, every file is read (no metadata cache).
pub(super) fn scan(
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

pub(super) fn side_record(
    endpoint: &config::Endpoint,
    side: &Side,
    snapshot: &Snapshot,
) -> SideRecord {
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

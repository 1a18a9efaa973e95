//! Reading a sync's endpoints into directories and scanning them, and the
//! sync's state beside its evidence: the base of the last sync and the
//! hash caches.

use std::path::{Path, PathBuf};

use super::load::find;
use super::sync_home;
use crate::sync::config::{self, EndpointType, LoadedSync};
use crate::sync::record::SideRecord;
use crate::sync::snapshot::Snapshot;
use crate::sync::{remote, tree};
use crate::workspace::Workspace;
use crate::{Error, Result, git_cli};

pub(super) fn git_location(ws: &Workspace, location: &str) -> String {
    if location.contains("://") || location.contains('@') {
        location.to_owned()
    } else {
        ws.home.join(location).display().to_string()
    }
}

/// An endpoint read into a directory.
pub(super) struct Side {
    /// The directory holding the tree.
    pub(super) root: PathBuf,
    /// The commit read, for git.
    pub(super) revision: Option<String>,
    /// A clone, for git, or the documents read from an `api` or
    /// `registry` endpoint (removed when dropped).
    _clone: Option<tempfile::TempDir>,
    /// Each document's ETag as read, for `api`.
    etags: std::collections::BTreeMap<String, String>,
}

impl Side {
    pub(super) fn local(root: PathBuf, revision: Option<String>) -> Side {
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
pub(super) fn client_for(
    ws: &Workspace,
    endpoint: &config::Endpoint,
) -> Result<crate::http::Client> {
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
pub(super) fn read_sides(
    ws: &Workspace,
    sync: &LoadedSync,
    filters: &tree::Filters,
) -> Result<(Side, Side)> {
    let c = &sync.config;
    let mut source = read_side(ws, &c.source)?;
    if c.target.kind == EndpointType::Api && c.source.kind == EndpointType::File {
        source = Side::read_into(remote::canonical_copy(&source.root, filters)?);
    }
    let target = read_side(ws, &c.target)?;
    Ok((source, target))
}

pub(super) fn read_side(ws: &Workspace, endpoint: &config::Endpoint) -> Result<Side> {
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

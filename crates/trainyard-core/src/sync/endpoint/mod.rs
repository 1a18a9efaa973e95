//! One side of a sync, a source or a target, by kind: the [`Endpoint`]
//! trait the engine asks, the [`Side`] a read leaves, and [`open`], the
//! one place that picks the type of a configured endpoint.

mod api;
mod file;
mod git;
mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::sync::config::{self, EndpointType};
use crate::sync::model::Change;
use crate::sync::record::{ExecutionStatus, SyncPlan};
use crate::sync::{remote, tree};
use crate::workspace::Workspace;

/// An endpoint read into a directory.
pub(crate) struct Side {
    /// The directory holding the tree.
    pub(crate) root: PathBuf,
    /// The commit read, for git.
    pub(crate) revision: Option<String>,
    /// A clone, for git, or the documents read from an `api` or
    /// `registry` endpoint (removed when dropped).
    _clone: Option<tempfile::TempDir>,
    /// Each document's ETag as read, for `api`.
    pub(crate) etags: BTreeMap<String, String>,
}

impl Side {
    pub(crate) fn local(root: PathBuf, revision: Option<String>) -> Side {
        Side {
            root,
            revision,
            _clone: None,
            etags: BTreeMap::new(),
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

/// What an apply writes to a target: the changes of `plan`, copied from
/// `source_root` over the target as read into `target`.
pub(crate) struct WriteRequest<'a> {
    pub(crate) sync: &'a config::SyncConfig,
    pub(crate) plan: &'a SyncPlan,
    pub(crate) changes: &'a [Change],
    pub(crate) source_root: &'a Path,
    pub(crate) target: &'a Side,
    /// Where a local write keeps its journal.
    pub(crate) journal_dir: &'a Path,
    /// The apply's execution id.
    pub(crate) apply_id: &'a str,
    /// Who applies, for a commit.
    pub(crate) executed_by: &'a str,
}

/// One side of a sync, as the engine reads, writes and describes it.
pub(crate) trait Endpoint {
    /// Reads the side into a local tree.
    fn read(&self) -> Result<Side>;

    /// Whether the side can be read now; `may_be_missing` for a target,
    /// which the first sync creates.
    fn check_reachable(&self, may_be_missing: bool) -> Result<()>;

    /// Whether the side lives on a server, written document by document
    /// rather than as a local tree under a journal.
    fn is_remote(&self) -> bool {
        false
    }

    /// Whether an apply writes straight into the side itself, so that an
    /// interrupted one is finished or undone from its journal by `sync
    /// recover` (a clone or a server leaves nothing to recover).
    fn writes_in_place(&self) -> bool {
        false
    }

    /// Whether a version the side holds is published for good: a change
    /// to one is refused unless the sync allows overwrites.
    fn keeps_published_versions(&self) -> bool {
        false
    }

    /// The source as this target compares it: `read` unless the target
    /// needs it in another form.
    fn comparable_source(
        &self,
        _source: &dyn Endpoint,
        read: Side,
        _filters: &tree::Filters,
    ) -> Result<Side> {
        Ok(read)
    }

    /// Whether the side is a plain directory of the repository.
    fn is_directory(&self) -> bool {
        false
    }

    /// Writes what comes before the per-change diffs of a plan to this
    /// target, piece by piece through `emit`.
    fn write_diff_preamble(
        &self,
        _changes: &mut dyn Iterator<Item = Change>,
        _source_root: &Path,
        _target_root: &Path,
        _emit: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        Ok(())
    }

    /// Readies the side to take an apply's writes; an error here comes
    /// before anything is written or logged.
    fn writer(&self) -> Result<Box<dyn Writer + '_>>;

    /// The side read again after an apply, to verify what was written;
    /// `None` when the tree written is the one already read.
    fn reread_written(&self) -> Option<Side> {
        None
    }
}

/// A target ready for an apply's writes.
pub(crate) trait Writer {
    /// Writes the changes: the apply's status, each error pushed onto
    /// `errors`.
    fn write(&self, write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus;
}

/// The endpoint `config` describes, in the repository `ws`.
pub(crate) fn open<'a>(ws: &'a Workspace, config: &'a config::Endpoint) -> Box<dyn Endpoint + 'a> {
    match config.kind {
        EndpointType::File => Box::new(file::FileEndpoint { ws, config }),
        EndpointType::Git => Box::new(git::GitEndpoint { ws, config }),
        EndpointType::Api => Box::new(api::ApiEndpoint { ws, config }),
        EndpointType::Registry => Box::new(registry::RegistryEndpoint { ws, config }),
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

/// Whether `url` of an `api` or `registry` endpoint answers a GET; a 404
/// passes when the endpoint `may_be_missing`.
fn check_http(
    ws: &Workspace,
    endpoint: &config::Endpoint,
    url: &str,
    may_be_missing: bool,
) -> Result<()> {
    let client = client_for(ws, endpoint)?;
    let mut response = client.send("GET", url, || client.auth(client.agent.get(url)).call())?;
    let status = response.status().as_u16();
    crate::http::drain(&mut response);
    match status {
        200..=299 => Ok(()),
        404 if may_be_missing => Ok(()),
        _ => Err(client.unexpected("GET", url, &response)),
    }
}

/// A server's written documents as an apply's status, the error pushed
/// onto `errors`: a stop half-way is partial.
fn remote_status(written: remote::RemoteApplied, errors: &mut Vec<String>) -> ExecutionStatus {
    let Some(e) = written.error else {
        return ExecutionStatus::Success;
    };
    errors.push(e.to_string());
    if written.done.is_empty() {
        ExecutionStatus::Failed
    } else {
        ExecutionStatus::Partial
    }
}

/// Writes the changes into a local tree under the apply's journal.
fn write_local(write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus {
    match crate::sync::apply::apply(&crate::sync::apply::ApplyRequest {
        source_root: write.source_root,
        target_root: &write.target.root,
        changes: write.changes,
        journal_dir: write.journal_dir,
        apply_id: write.apply_id,
        plan_id: &write.plan.plan_id,
    }) {
        Ok(_) => ExecutionStatus::Success,
        Err(e) => {
            errors.push(e.to_string());
            ExecutionStatus::Failed
        }
    }
}

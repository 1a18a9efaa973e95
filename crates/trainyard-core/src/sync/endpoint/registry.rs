//! A `registry` endpoint: a package registry, read as its published files
//! and written upload by upload; a published version is kept for good.

use std::path::Path;

use super::{
    Endpoint, ExecutionStatus, Side, WriteRequest, Writer, check_http, client_for, remote_status,
};
use crate::Result;
use crate::sync::config;
use crate::sync::model::{self, Change};
use crate::sync::remote;
use crate::workspace::Workspace;

pub(super) struct RegistryEndpoint<'a> {
    pub(super) ws: &'a Workspace,
    pub(super) config: &'a config::Endpoint,
}

impl Endpoint for RegistryEndpoint<'_> {
    fn read(&self) -> Result<Side> {
        Ok(Side::read_into(remote::read_registry(
            &client_for(self.ws, self.config)?,
            &self.config.location,
        )?))
    }

    fn check_reachable(&self, may_be_missing: bool) -> Result<()> {
        // The registry's listing is its root with a trailing slash.
        let url = format!("{}/", self.config.location.trim_end_matches('/'));
        check_http(self.ws, self.config, &url, may_be_missing)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn keeps_published_versions(&self) -> bool {
        true
    }

    /// One line per upload (with its SHA-256) or removal, before the
    /// diffs.
    fn write_diff_preamble(
        &self,
        changes: &mut dyn Iterator<Item = Change>,
        source_root: &Path,
        _target_root: &Path,
        emit: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        for change in changes {
            let sha = match change.kind {
                model::ChangeKind::Delete => None,
                _ => std::fs::read(change.path.under(source_root))
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
        Ok(())
    }

    fn writer(&self) -> Result<Box<dyn Writer + '_>> {
        Ok(Box::new(RegistryWriter {
            client: client_for(self.ws, self.config)?,
            location: &self.config.location,
        }))
    }

    fn reread_written(&self) -> Option<Side> {
        self.read().ok()
    }
}

struct RegistryWriter<'a> {
    client: crate::http::Client,
    location: &'a str,
}

impl Writer for RegistryWriter<'_> {
    /// Uploaded file by file; a stop half-way leaves what the list says,
    /// and a new plan shows the rest.
    fn write(&self, write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus {
        let written = remote::apply_registry(
            &self.client,
            self.location,
            write.changes,
            write.source_root,
        );
        remote_status(written, errors)
    }
}

//! An `api` endpoint: a JSON HTTP API, read as one canonical document per
//! file and written document by document under the ETags the plan read.

use std::path::Path;

use super::{
    Endpoint, ExecutionStatus, Side, WriteRequest, Writer, check_http, client_for, remote_status,
};
use crate::Result;
use crate::sync::config;
use crate::sync::model::Change;
use crate::sync::{remote, tree};
use crate::workspace::Workspace;

pub(super) struct ApiEndpoint<'a> {
    pub(super) ws: &'a Workspace,
    pub(super) config: &'a config::Endpoint,
}

impl Endpoint for ApiEndpoint<'_> {
    fn read(&self) -> Result<Side> {
        Ok(Side::read_into(remote::read_api(
            &client_for(self.ws, self.config)?,
            &self.config.location,
        )?))
    }

    fn check_reachable(&self, may_be_missing: bool) -> Result<()> {
        check_http(self.ws, self.config, &self.config.location, may_be_missing)
    }

    fn is_remote(&self) -> bool {
        true
    }

    /// A directory source is compared as its JSON documents in canonical
    /// form, the form the API's documents are read in.
    fn comparable_source(
        &self,
        source: &dyn Endpoint,
        read: Side,
        filters: &tree::Filters,
    ) -> Result<Side> {
        if source.is_directory() {
            Ok(Side::read_into(remote::canonical_copy(
                &read.root, filters,
            )?))
        } else {
            Ok(read)
        }
    }

    /// The documents' key changes, before their diffs.
    fn write_diff_preamble(
        &self,
        changes: &mut dyn Iterator<Item = Change>,
        source_root: &Path,
        target_root: &Path,
        emit: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        let changes: Vec<Change> = changes.collect();
        let changes: Vec<&Change> = changes.iter().collect();
        emit(&remote::summarize(&changes, source_root, target_root))
    }

    fn writer(&self) -> Result<Box<dyn Writer + '_>> {
        Ok(Box::new(ApiWriter {
            client: client_for(self.ws, self.config)?,
            location: &self.config.location,
        }))
    }

    fn reread_written(&self) -> Option<Side> {
        self.read().ok()
    }
}

struct ApiWriter<'a> {
    client: crate::http::Client,
    location: &'a str,
}

impl Writer for ApiWriter<'_> {
    /// Written document by document with the server's preconditions; a
    /// stop half-way leaves what the list says, and a new plan shows the
    /// rest.
    fn write(&self, write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus {
        let written = remote::apply_api(
            &self.client,
            self.location,
            write.changes,
            write.source_root,
            &write.plan.plan.target.etags,
        );
        remote_status(written, errors)
    }
}

//! A `file` endpoint: a directory of the repository, read where it is and
//! written in place under the apply's journal.

use std::path::Path;

use super::{Endpoint, ExecutionStatus, Side, WriteRequest, Writer, write_local};
use crate::sync::config;
use crate::workspace::Workspace;
use crate::{Error, Result};

pub(super) struct FileEndpoint<'a> {
    pub(super) ws: &'a Workspace,
    pub(super) config: &'a config::Endpoint,
}

impl Endpoint for FileEndpoint<'_> {
    fn read(&self) -> Result<Side> {
        Ok(Side::local(self.ws.home.join(&self.config.location), None))
    }

    fn check_reachable(&self, may_be_missing: bool) -> Result<()> {
        let path = self.ws.home.join(&self.config.location);
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

    fn writes_in_place(&self) -> bool {
        true
    }

    fn is_directory(&self) -> bool {
        true
    }

    fn writer(&self) -> Result<Box<dyn Writer + '_>> {
        Ok(Box::new(DirectoryWriter))
    }
}

/// Writes into the directory itself.
struct DirectoryWriter;

impl Writer for DirectoryWriter {
    fn write(&self, write: &WriteRequest<'_>, errors: &mut Vec<String>) -> ExecutionStatus {
        write_local(write, errors)
    }
}

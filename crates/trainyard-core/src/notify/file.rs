//! The `file:` target: one JSON line appended per notification.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Appends the JSON summary, as one line, to `path` under `root`.
pub(super) fn append(root: &Path, path: &Path, payload: &serde_json::Value) -> Result<String> {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    let mut line = serde_json::to_string(payload)
        .map_err(|e| Error::Internal(format!("cannot serialise a notification: {e}")))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&full)
        .map_err(|e| Error::io("cannot open", &full, e))?;
    // One write of the whole line, so that lines of concurrent runs do not
    // interleave.
    file.write_all(line.as_bytes())
        .map_err(|e| Error::io("cannot append to", &full, e))?;
    Ok(format!("appended a line to {}", path.display()))
}

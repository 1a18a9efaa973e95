//! The configured syncs: loading them, finding one, and the pre-sync
//! validation of their filters, credentials and endpoints.

use std::path::PathBuf;

use serde::Serialize;

use super::sync_home;
use crate::sync::config::{self, LoadedSync};
use crate::sync::{endpoint, tree};
use crate::workspace::Workspace;
use crate::{Error, Result};

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

fn reachable(ws: &Workspace, config: &config::Endpoint, may_be_missing: bool) -> Result<()> {
    endpoint::open(ws, config).check_reachable(may_be_missing)
}

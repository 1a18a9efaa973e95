//! Release artifacts: build them, collect them, checksum them, sign them.
//!
//! Step 4 of the spec's release workflow ("Release Execution") builds the
//! release artifacts. Each `release.artifacts` entry ([`ArtifactConfig`])
//! may run a build command (`sh -c`, in the release worktree) and then
//! selects the files to ship with globs. [`build`] runs the commands,
//! copies the selected files into one flat output directory and returns
//! each file's name, size and SHA-256 ([`Artifact`]). [`sha256sums`] and
//! [`write_sha256sums`] produce the usual `SHA256SUMS` file, and [`sign`]
//! writes a minisign signature (`<file>.minisig`) that [`verify_signature`]
//! (or the `minisign -V` tool) checks against the public key.
//!
//! A build command gets `TRAINYARD_VERSION` and `TRAINYARD_TAG` (from the
//! caller, see [`release_env`]) and `TRAINYARD_OUT`, an empty directory of
//! its own to write into. A glob starting with `$TRAINYARD_OUT/` selects
//! files there; any other glob is relative to the worktree. Globs use `/`,
//! `*` stays within one path component and `**` crosses components. A glob
//! that is absolute, contains `..`, or matches a file (or symbolic link)
//! outside its directory is refused, and so is a glob that matches nothing.
//!
//! Each step has its own file: `build` runs the commands and collects the
//! files, `pattern` reads and walks the globs, `checksums` hashes and
//! copies, `signing` signs and verifies, `shell` runs a command with a
//! deadline. This file holds the configuration and the [`Artifact`] type.

mod build;
mod checksums;
mod pattern;
mod signing;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bounded::Timeout;
use crate::{Error, Result};
use pattern::Pattern;

pub use build::build;
pub(crate) use checksums::{copy_hashing, hash_file, hash_reader};
pub use checksums::{sha256sums, write_sha256sums};
pub use signing::{sign, verify_signature};

/// The name of the checksum file written beside the artifacts.
pub const SHA256SUMS: &str = "SHA256SUMS";

/// The suffix of a minisign signature file.
pub const MINISIG_SUFFIX: &str = ".minisig";

/// The prefix that makes a glob relative to the build's output directory.
pub const OUT_PREFIX: &str = "$TRAINYARD_OUT/";

/// Default time a build command may take.
pub const DEFAULT_TIMEOUT_SECONDS: Timeout = Timeout::constant(1800);

fn default_timeout() -> Timeout {
    DEFAULT_TIMEOUT_SECONDS
}

/// One `release.artifacts` entry: how to build some files and which files
/// to ship.
///
/// ```yaml
/// - name: binaries
///   run: cargo build --release && tar czf "$TRAINYARD_OUT/app-$TRAINYARD_VERSION.tar.gz" -C target/release app
///   paths: ["$TRAINYARD_OUT/*.tar.gz", "LICENSE"]
///   timeout_seconds: 1800
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactConfig {
    /// A name for this entry, used in messages.
    pub name: String,
    /// A build command run with `sh -c` in the release worktree, with
    /// `TRAINYARD_VERSION`, `TRAINYARD_TAG` and `TRAINYARD_OUT` (an empty
    /// directory for its output) set. None: the files already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Globs selecting the files to ship: relative to the worktree, or to
    /// the build's output directory when they start with `$TRAINYARD_OUT/`.
    /// Each must match at least one file.
    pub paths: Vec<String>,
    /// How long the build command may run before it is stopped, in
    /// seconds (at most 7 days).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: Timeout,
}

/// A minisign key to sign artifacts and `SHA256SUMS` with.
///
/// ```yaml
/// signing:
///   secret_key: ~/.minisign/release.key
///   password: env:MINISIGN_PASSWORD
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// The minisign secret key file.
    pub secret_key: PathBuf,
    /// A credential reference for the key's password, resolved by the
    /// caller; none for an unencrypted key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A file that ships with a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Artifact {
    /// The file name, unique within the release.
    pub name: String,
    /// Where the file is now.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

impl Artifact {
    /// Describes an existing file (its name, size and SHA-256), e.g. the
    /// `SHA256SUMS` file or a signature, to publish it with the others.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Io`] when the file cannot be read, and an
    /// [`Error::Input`] when its path has no file name.
    pub fn from_file(path: &Path) -> Result<Self> {
        let name = file_name(path)?;
        let (size, sha256) = hash_file(path)?;
        Ok(Artifact {
            name,
            path: path.to_path_buf(),
            size,
            sha256,
        })
    }
}

/// The environment a build command (and a command channel) gets from the
/// release: `TRAINYARD_VERSION` and `TRAINYARD_TAG`.
pub fn release_env(version: &str, tag: &str) -> Vec<(String, String)> {
    vec![
        ("TRAINYARD_VERSION".to_owned(), version.to_owned()),
        ("TRAINYARD_TAG".to_owned(), tag.to_owned()),
    ]
}

/// Checks artifact entries without running anything: names present and
/// unique, at least one glob each, every glob valid, relative and without
/// `..` (the timeout's bounds are checked as it is read).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the entry and the glob.
pub fn validate(configs: &[ArtifactConfig]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for config in configs {
        if config.name.trim().is_empty() {
            return Err(Error::input(
                "release.artifacts: an entry has an empty name",
            ));
        }
        if !seen.insert(config.name.as_str()) {
            return Err(Error::input(format!(
                "release.artifacts: the name `{}` is used twice",
                config.name
            )));
        }
        if config.paths.is_empty() {
            return Err(Error::input(format!(
                "release.artifacts `{}`: paths is empty; list the files to ship",
                config.name
            )));
        }
        for pattern in &config.paths {
            Pattern::parse(&config.name, pattern)?;
        }
    }
    Ok(())
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("cannot resolve", path, e))
}

fn file_name(path: &Path) -> Result<String> {
    match path.components().next_back() {
        Some(Component::Normal(name)) => Ok(name.to_string_lossy().into_owned()),
        _ => Err(Error::input(format!("{} has no file name", path.display()))),
    }
}

#[cfg(test)]
mod tests;

//! The domain of trainyard: versions, commits, history, configuration,
//! manifests and the evidence store.
//!
//! This crate never prints and never exits. Every operation takes a request
//! value and returns a report value (or an [`Error`]); the `trainyard` binary
//! renders reports for people (`human`) and for programs (`--json`).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod artifacts;
pub mod bounded;
pub mod calendar;
pub mod changelog;
pub mod channels;
pub mod checklist;
pub mod commit;
pub mod config;
pub mod credentials;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod evidence_anchor;
pub mod forge;
pub mod fsutil;
pub mod gate;
pub mod git_cli;
pub mod history;
pub mod http;
pub mod identity;
pub mod init;
pub mod ledger;
pub mod manifest;
pub mod monorepo;
pub mod notes;
pub mod notify;
pub mod packages;
pub mod parallel;
pub mod plan;
pub mod provenance;
pub mod release;
pub mod releases;
pub mod remote_url;
pub mod rollback;
mod shell;
pub mod signoff;
pub mod states;
pub mod status;
pub mod sync;
#[cfg(test)]
mod test_git;
#[cfg(test)]
mod test_markdown;
mod text;
pub mod version;
pub mod versioning;
pub mod workspace;
pub mod yaml;

pub use error::{Error, ErrorKind, Result};

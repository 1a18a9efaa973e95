//! Sync automation (the spec's "Sync Automation"): a source and a target,
//! filtered by include/exclude globs, compared by content; every sync is
//! planned (the dry-run), approved against that exact plan, applied
//! crash-safely, verified and logged.

#[cfg(unix)]
pub mod apply;
pub mod config;
pub mod decision;
#[cfg(unix)]
pub mod diff;
#[cfg(unix)]
pub(crate) mod endpoint;
#[cfg(unix)]
pub mod engine;
pub mod journal;
pub mod lock;
pub mod model;
#[cfg(unix)]
pub mod outcome;
pub mod record;
#[cfg(unix)]
pub(crate) mod remote;
#[cfg(unix)]
pub mod schedule;
pub mod snapshot;
#[cfg(unix)]
pub mod tree;

#[cfg(all(test, unix))]
mod test_child;

//! Sync automation (the spec's "Sync Automation"): a source and a target,
//! filtered by include/exclude globs, compared by content; every sync is
//! planned (the dry-run), approved against that exact plan, applied
//! crash-safely, verified and logged.

pub mod model;

//! What the release and rollback procedures have recorded: their state
//! files, typed, and the directories that hold them. Below the
//! procedures, so that the ledger, the checklist, sign-offs and sync
//! automation can read what was released and withdrawn.

pub mod release;
pub mod rollback;

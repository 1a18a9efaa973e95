//! What a [`DirStore`](super::DirStore) tells its caller: that it waits
//! for another run's hold, and what it just recorded. The store itself
//! never prints and knows nothing of where its head is anchored.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::Record;

/// Told when a run has to wait for another run's hold on the store: the
/// store's location and how long the run waits at most. The caller says
/// so to its user; the store itself never prints.
#[derive(Clone)]
pub struct WaitNotice(pub Arc<WaitFn>);

/// What a [`WaitNotice`] calls: the store's location, the longest wait.
pub type WaitFn = dyn Fn(&str, Duration) + Send + Sync;

impl fmt::Debug for WaitNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitNotice")
    }
}

/// Called after every write that changed the index, with the index's new
/// last record (its head), while the store is still held: so heads are
/// told in the order they were written. It cannot fail the write, which
/// is recorded already; the `evidence_anchor` module anchors the head in git.
#[derive(Clone)]
pub struct AfterWrite(pub Arc<AfterWriteFn>);

/// What an [`AfterWrite`] calls: the head record after the write.
pub type AfterWriteFn = dyn Fn(&Record) + Send + Sync;

impl fmt::Debug for AfterWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AfterWrite")
    }
}

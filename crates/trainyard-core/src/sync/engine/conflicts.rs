//! Conflicts between the target's edits and the source's since the last
//! successful sync, and their resolution by the sync's strategy,
//! three-way merges included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::sync::config::ConflictStrategy;
use crate::sync::model::{self, Change};
use crate::sync::record::{Conflict, ConflictResolution};
use crate::sync::snapshot::Snapshot;

/// What a three-way merge needs: the base's stored contents and both
/// sides' trees.
pub(super) struct MergeContext<'a> {
    pub(super) objects: PathBuf,
    pub(super) source_root: &'a Path,
    pub(super) target_root: &'a Path,
}

impl MergeContext<'_> {
    /// Merges one path: `Ok(entry)` of the merged content (stored among the
    /// objects), or `Err(hunks)` with the conflict markers.
    fn merge(
        &self,
        change: &Change,
        base: &model::Entry,
    ) -> std::result::Result<model::Entry, String> {
        let read = |path: PathBuf| -> std::result::Result<String, String> {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            String::from_utf8(bytes)
                .map_err(|_| "not a text file: a binary conflict cannot be merged".to_owned())
        };
        let base_text = read(self.objects.join(base.hash.to_hex())).map_err(|_| {
            "the base's content was not kept: resolve by hand or use theirs/ours".to_owned()
        })?;
        let ours = read(change.path.under(self.target_root))?;
        let theirs = read(change.path.under(self.source_root))?;
        let merged = diffy::merge(&base_text, &ours, &theirs)
            .map_err(|with_markers| conflict_hunks(&with_markers))?;
        let hash = model::ContentHash::of(merged.as_bytes());
        crate::fsutil::write_atomic(&self.objects.join(hash.to_hex()), merged.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(model::Entry {
            kind: model::EntryKind::File,
            executable: change.after.as_ref().is_some_and(|a| a.executable),
            size: merged.len() as u64,
            hash,
            link: None,
        })
    }
}

/// The conflict hunks of a merge result, markers included.
fn conflict_hunks(text: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("<<<<<<<") {
            inside = true;
        }
        if inside {
            out.push(line);
        }
        if line.starts_with(">>>>>>>") {
            inside = false;
        }
    }
    out.join("\n")
}

/// Conflicts between the target's edits and the source's since the last
/// successful sync, and what their resolution does to the changes: a
/// change dropped (`ours`) or given the merge's result (`merge`). With
/// `ours` or `merge`, a path only the target changed keeps the target's
/// edit too; with `theirs` or `fail` the target follows the source. Other
/// changes stay as they are.
#[derive(Default)]
pub(super) struct Resolution {
    pub(super) conflicts: Vec<Conflict>,
    /// By path: `None` drops the change, `Some` is its merged entry.
    overrides: HashMap<Vec<u8>, Option<model::Entry>>,
}

impl Resolution {
    /// Resolves every conflict of `changes` by the strategy.
    pub(super) fn of(
        changes: impl Iterator<Item = Change>,
        base: Option<&Snapshot>,
        target: &Snapshot,
        strategy: ConflictStrategy,
        merger: &MergeContext<'_>,
    ) -> Resolution {
        let mut resolution = Resolution::default();
        let Some(base) = base else {
            return resolution;
        };
        for change in changes {
            let base_entry = base.get(&change.path.0);
            let target_changed = target.get(&change.path.0) != base_entry;
            let source_changed = change.after != base_entry;
            if target_changed && source_changed {
                resolution.resolve(change, base_entry, strategy, merger);
            } else if target_changed
                && matches!(strategy, ConflictStrategy::Ours | ConflictStrategy::Merge)
            {
                // Only the target changed since the last sync: its edit
                // wins, as it would in a conflict (`ours`) or a three-way
                // merge with an unchanged source (`merge`).
                resolution.keep_target(change);
            }
        }
        resolution
    }

    /// Keeps the target's own edit of `change`'s path: the change is
    /// dropped, and listed as what the plan does about it.
    fn keep_target(&mut self, change: Change) {
        self.conflicts.push(Conflict {
            path: change.path.to_string(),
            resolution: ConflictResolution::Ours,
            detail: Some(
                "changed in the target only since the last sync: the target's edit is kept"
                    .to_owned(),
            ),
        });
        self.overrides.insert(change.path.0, None);
    }

    fn resolve(
        &mut self,
        change: Change,
        base_entry: Option<model::Entry>,
        strategy: ConflictStrategy,
        merger: &MergeContext<'_>,
    ) {
        let (resolution, replaced, detail) = match strategy {
            ConflictStrategy::Fail => (
                ConflictResolution::Fail,
                None,
                Some("changed in the target and in the source since the last sync".to_owned()),
            ),
            ConflictStrategy::Theirs => (ConflictResolution::Theirs, None, None),
            ConflictStrategy::Ours => (ConflictResolution::Ours, Some(None), None),
            ConflictStrategy::Merge => match (base_entry, change.kind) {
                (Some(base_entry), model::ChangeKind::Modify) => {
                    match merger.merge(&change, &base_entry) {
                        Ok(merged) => (
                            ConflictResolution::Merge,
                            Some(Some(merged)),
                            Some("merged cleanly".to_owned()),
                        ),
                        Err(hunks) => (
                            ConflictResolution::Fail,
                            None,
                            Some(format!("the merge has conflicts:\n{hunks}")),
                        ),
                    }
                }
                _ => (
                    ConflictResolution::Fail,
                    None,
                    Some(
                        "added or deleted on one side and changed on the other: nothing to merge"
                            .to_owned(),
                    ),
                ),
            },
        };
        self.conflicts.push(Conflict {
            path: change.path.to_string(),
            resolution,
            detail,
        });
        if let Some(replaced) = replaced {
            self.overrides.insert(change.path.0, replaced);
        }
    }

    /// The changes to apply: `changes` as the resolution leaves them.
    pub(super) fn apply<'s>(
        &'s self,
        changes: impl Iterator<Item = Change> + 's,
    ) -> impl Iterator<Item = Change> + 's {
        changes.filter_map(|mut change| match self.overrides.get(&change.path.0) {
            None => Some(change),
            Some(None) => None,
            Some(Some(merged)) => {
                change.after = Some(merged.clone());
                Some(change)
            }
        })
    }

    /// Whether the change at `path` is a merge's result.
    pub(super) fn is_merged(&self, change: &Change) -> bool {
        matches!(self.overrides.get(&change.path.0), Some(Some(_)))
    }
}

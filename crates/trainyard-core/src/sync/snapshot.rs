//! A filtered tree as read, held compactly, and the changes between two.
//!
//! A plan holds both trees of a sync at once, so an entry costs what it
//! must and no more: its path and link text sit in a shared byte arena,
//! and the rest (hash, size, kind, mode) in a fixed 56-byte slot, sorted
//! by path. A 100,000-file tree is about 8 MB, not the 19 MB a map of
//! owned paths to entries takes. Changes are computed by walking both
//! sorted slot lists side by side and are yielded one at a time, so a
//! plan of any size never holds its change list whole.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::{Change, ChangeKind, ContentHash, Entry, EntryKind, SyncPath};

/// The slot of a symlink.
const SYMLINK: u8 = 1;
/// The slot of an executable file.
const EXECUTABLE: u8 = 2;
/// The slot of an entry that carries a link text (every symlink a scan
/// reads; kept apart from [`SYMLINK`] so any entry round-trips).
const HAS_LINK: u8 = 4;

/// One entry: its fixed-size part, and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    hash: ContentHash,
    size: u64,
    /// Offset of the path in its arena; the link text follows it.
    start: u32,
    path_len: u32,
    link_len: u32,
    /// Which arena.
    part: u16,
    flags: u8,
}

/// Entries of a tree being read, in any order; [`Self::finish`] sorts
/// them into a [`Snapshot`]. Each walker of a scan fills a small one of
/// its own and moves it into the scan's in batches ([`Self::append`]), so
/// no tree is ever held twice.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    parts: Vec<Vec<u8>>,
    slots: Vec<Slot>,
}

impl SnapshotBuilder {
    /// Adds the entry at `path`.
    pub fn push(&mut self, path: &[u8], entry: &Entry) {
        let link = entry.link.as_ref().map_or(&[][..], |l| &l.0[..]);
        let mut flags = 0;
        if entry.kind == EntryKind::Symlink {
            flags |= SYMLINK;
        }
        if entry.executable {
            flags |= EXECUTABLE;
        }
        if entry.link.is_some() {
            flags |= HAS_LINK;
        }
        self.push_slot(path, link, entry.hash, entry.size, flags);
    }

    fn push_slot(&mut self, path: &[u8], link: &[u8], hash: ContentHash, size: u64, flags: u8) {
        let need = path.len() + link.len();
        // An arena is addressed by u32 offsets: past 4 GiB, a new one.
        let full = self
            .parts
            .last()
            .is_none_or(|arena| arena.len() + need > u32::MAX as usize);
        if full {
            self.parts.push(Vec::new());
        }
        let part = self.parts.len() - 1;
        let arena = &mut self.parts[part];
        let start = arena.len();
        arena.extend_from_slice(path);
        arena.extend_from_slice(link);
        self.slots.push(Slot {
            hash,
            size,
            start: narrow(start),
            path_len: narrow(path.len()),
            link_len: narrow(link.len()),
            // Memory runs out long before 65,536 arenas of 4 GiB.
            part: u16::try_from(part).unwrap_or(u16::MAX),
            flags,
        });
    }

    /// Moves `other`'s entries here, leaving it empty (with its memory,
    /// for the next batch).
    pub fn append(&mut self, other: &mut SnapshotBuilder) {
        for slot in &other.slots {
            let start = slot.start as usize;
            let arena = &other.parts[usize::from(slot.part)];
            let path = &arena[start..start + slot.path_len as usize];
            let link_start = start + slot.path_len as usize;
            let link = &arena[link_start..link_start + slot.link_len as usize];
            self.push_slot(path, link, slot.hash, slot.size, slot.flags);
        }
        other.slots.clear();
        other.parts.truncate(1);
        if let Some(arena) = other.parts.first_mut() {
            arena.clear();
        }
    }

    /// Entries added so far.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The snapshot, for entries whose paths are known to differ (a scan
    /// sees each path once): sorted in place, with no extra memory.
    pub fn finish_unique(mut self) -> Snapshot {
        let parts = &self.parts;
        self.slots
            .sort_unstable_by(|a, b| path_of(parts, a).cmp(path_of(parts, b)));
        Snapshot {
            parts: self.parts,
            slots: self.slots,
        }
    }

    /// The snapshot; of entries added for one path, the last one counts.
    pub fn finish(mut self) -> Snapshot {
        let parts = &self.parts;
        // Stable, so equal paths keep the order they were added in.
        self.slots
            .sort_by(|a, b| path_of(parts, a).cmp(path_of(parts, b)));
        let mut slots: Vec<Slot> = Vec::with_capacity(self.slots.len());
        for slot in self.slots {
            match slots.last_mut() {
                Some(last) if path_of(parts, last) == path_of(parts, &slot) => *last = slot,
                _ => slots.push(slot),
            }
        }
        Snapshot {
            parts: self.parts,
            slots,
        }
    }
}

fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn path_of<'a>(parts: &'a [Vec<u8>], slot: &Slot) -> &'a [u8] {
    let start = slot.start as usize;
    &parts[usize::from(slot.part)][start..start + slot.path_len as usize]
}

/// A filtered tree as read: its files and symlinks in path order.
/// Directories are implied by the paths under them. An empty or missing
/// tree is an empty snapshot, and has a fingerprint too.
#[derive(Clone, Default)]
pub struct Snapshot {
    parts: Vec<Vec<u8>>,
    slots: Vec<Slot>,
}

impl Snapshot {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the tree has no entries.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every entry, in path order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], Entry)> + '_ {
        self.slots
            .iter()
            .map(|slot| (self.path(slot), self.entry(slot)))
    }

    /// Every path, in order.
    pub fn paths(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.slots.iter().map(|slot| self.path(slot))
    }

    /// The entry at `path`.
    pub fn get(&self, path: &[u8]) -> Option<Entry> {
        self.slots
            .binary_search_by(|slot| self.path(slot).cmp(path))
            .ok()
            .map(|i| self.entry(&self.slots[i]))
    }

    fn path(&self, slot: &Slot) -> &[u8] {
        path_of(&self.parts, slot)
    }

    fn link(&self, slot: &Slot) -> &[u8] {
        let start = slot.start as usize + slot.path_len as usize;
        &self.parts[usize::from(slot.part)][start..start + slot.link_len as usize]
    }

    fn entry(&self, slot: &Slot) -> Entry {
        Entry {
            kind: if slot.flags & SYMLINK != 0 {
                EntryKind::Symlink
            } else {
                EntryKind::File
            },
            executable: slot.flags & EXECUTABLE != 0,
            size: slot.size,
            hash: slot.hash,
            link: (slot.flags & HAS_LINK != 0).then(|| SyncPath(self.link(slot).to_vec())),
        }
    }

    /// Whether the entries at `a` (of this tree) and `b` (of `other`)
    /// differ, without building either.
    fn differs(&self, a: &Slot, other: &Snapshot, b: &Slot) -> bool {
        a.hash != b.hash || a.size != b.size || a.flags != b.flags || self.link(a) != other.link(b)
    }

    /// BLAKE3 over every (path, kind, executable, hash) in path order,
    /// hex; the same for the same content whatever the timestamps.
    pub fn fingerprint(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"trainyard-snapshot/1\0");
        for slot in &self.slots {
            let path = self.path(slot);
            hasher.update(&(path.len() as u64).to_le_bytes());
            hasher.update(path);
            hasher.update(if slot.flags & SYMLINK != 0 {
                b"l"
            } else {
                b"f"
            });
            hasher.update(if slot.flags & EXECUTABLE != 0 {
                b"x"
            } else {
                b"-"
            });
            hasher.update(slot.hash.to_hex().as_bytes());
        }
        hasher.finalize().to_hex().to_string()
    }

    /// This tree with `changes` (in path order) made to it.
    pub fn patched<'c>(&self, changes: impl IntoIterator<Item = &'c Change>) -> Snapshot {
        let mut out = SnapshotBuilder::default();
        let mut own = self.iter().peekable();
        for change in changes {
            while let Some((path, entry)) = own.next_if(|(path, _)| *path < &change.path.0[..]) {
                out.push(path, &entry);
            }
            own.next_if(|(path, _)| *path == &change.path.0[..]);
            if let Some(after) = &change.after {
                out.push(&change.path.0, after);
            }
        }
        for (path, entry) in own {
            out.push(path, &entry);
        }
        out.finish()
    }

    /// The first symlink whose target leaves the tree, with that target:
    /// an absolute link, or one whose `..` climb above the root from the
    /// link's own directory.
    pub fn link_out_of_tree(&self) -> Option<(SyncPath, SyncPath)> {
        self.slots.iter().find_map(|slot| {
            let (path, link) = (self.path(slot), self.link(slot));
            (slot.flags & SYMLINK != 0 && slot.flags & HAS_LINK != 0 && leaves_tree(path, link))
                .then(|| (SyncPath(path.to_vec()), SyncPath(link.to_vec())))
        })
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .slots
                .iter()
                .zip(&other.slots)
                .all(|(a, b)| self.path(a) == other.path(b) && !self.differs(a, other, b))
    }
}

impl Eq for Snapshot {}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(path, entry)| (SyncPath(path.to_vec()), entry)),
            )
            .finish()
    }
}

impl FromIterator<(SyncPath, Entry)> for Snapshot {
    fn from_iter<I: IntoIterator<Item = (SyncPath, Entry)>>(iter: I) -> Self {
        let mut builder = SnapshotBuilder::default();
        for (path, entry) in iter {
            builder.push(&path.0, &entry);
        }
        builder.finish()
    }
}

/// Written as `{"entries": {path: entry, ...}}`, as a map of paths to
/// entries would be.
impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Entries<'a>(&'a Snapshot);
        impl Serialize for Entries<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (path, entry) in self.0.iter() {
                    map.serialize_entry(&SyncPath(path.to_vec()), &entry)?;
                }
                map.end()
            }
        }
        let mut outer = serializer.serialize_map(Some(1))?;
        outer.serialize_entry("entries", &Entries(self))?;
        outer.end()
    }
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The entries, read straight into a builder.
        struct Entries(Snapshot);
        impl<'de> Deserialize<'de> for Entries {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EntriesVisitor;
                impl<'de> Visitor<'de> for EntriesVisitor {
                    type Value = Entries;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a map of paths to entries")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                        let mut builder = SnapshotBuilder::default();
                        while let Some((path, entry)) = map.next_entry::<SyncPath, Entry>()? {
                            builder.push(&path.0, &entry);
                        }
                        Ok(Entries(builder.finish()))
                    }
                }
                deserializer.deserialize_map(EntriesVisitor)
            }
        }
        #[derive(Deserialize)]
        struct Outer {
            #[serde(default)]
            entries: Option<Entries>,
        }
        let outer = Outer::deserialize(deserializer)?;
        Ok(outer.entries.map(|e| e.0).unwrap_or_default())
    }
}

/// Whether a link at `path` (relative to the root) to `link` resolves,
/// by name, outside the root.
fn leaves_tree(path: &[u8], link: &[u8]) -> bool {
    if link.first() == Some(&b'/') {
        return true;
    }
    // The link's directory: every component of its path but the last.
    let mut depth = path.split(|b| *b == b'/').filter(|c| !c.is_empty()).count();
    depth = depth.saturating_sub(1);
    for part in link.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

/// The changes that make `target` equal `source`, in path order, one at
/// a time. Pure.
pub fn changes<'a>(source: &'a Snapshot, target: &'a Snapshot) -> Changes<'a> {
    Changes {
        source,
        target,
        s: 0,
        t: 0,
    }
}

/// The iterator of [`changes`].
#[derive(Debug, Clone)]
pub struct Changes<'a> {
    source: &'a Snapshot,
    target: &'a Snapshot,
    s: usize,
    t: usize,
}

impl Changes<'_> {
    fn add(&mut self) -> Change {
        let slot = &self.source.slots[self.s];
        self.s += 1;
        Change {
            path: SyncPath(self.source.path(slot).to_vec()),
            kind: ChangeKind::Add,
            before: None,
            after: Some(self.source.entry(slot)),
        }
    }

    fn delete(&mut self) -> Change {
        let slot = &self.target.slots[self.t];
        self.t += 1;
        Change {
            path: SyncPath(self.target.path(slot).to_vec()),
            kind: ChangeKind::Delete,
            before: Some(self.target.entry(slot)),
            after: None,
        }
    }
}

impl Iterator for Changes<'_> {
    type Item = Change;

    fn next(&mut self) -> Option<Change> {
        loop {
            let (source, target) = (self.source, self.target);
            match (source.slots.get(self.s), target.slots.get(self.t)) {
                (None, None) => return None,
                (Some(_), None) => return Some(self.add()),
                (None, Some(_)) => return Some(self.delete()),
                (Some(a), Some(b)) => match source.path(a).cmp(target.path(b)) {
                    Ordering::Less => return Some(self.add()),
                    Ordering::Greater => return Some(self.delete()),
                    Ordering::Equal => {
                        self.s += 1;
                        self.t += 1;
                        if source.differs(a, target, b) {
                            return Some(Change {
                                path: SyncPath(source.path(a).to_vec()),
                                kind: ChangeKind::Modify,
                                before: Some(target.entry(b)),
                                after: Some(source.entry(a)),
                            });
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(content: &str) -> Entry {
        Entry {
            kind: EntryKind::File,
            executable: false,
            size: content.len() as u64,
            hash: ContentHash::of(content.as_bytes()),
            link: None,
        }
    }

    fn link(text: &str) -> Entry {
        Entry {
            kind: EntryKind::Symlink,
            executable: false,
            size: text.len() as u64,
            hash: ContentHash::of(text.as_bytes()),
            link: Some(SyncPath(text.as_bytes().to_vec())),
        }
    }

    fn snap(items: &[(&[u8], &str)]) -> Snapshot {
        items
            .iter()
            .map(|(p, h)| (SyncPath(p.to_vec()), file(h)))
            .collect()
    }

    #[test]
    fn changes_cover_add_modify_delete() {
        let source = snap(&[(b"a", "1"), (b"b", "2"), (b"d", "4")]);
        let target = snap(&[(b"b", "2x"), (b"c", "3"), (b"d", "4")]);
        let kinds: Vec<(String, ChangeKind)> = changes(&source, &target)
            .map(|c| (c.path.to_string(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a".into(), ChangeKind::Add),
                ("b".into(), ChangeKind::Modify),
                ("c".into(), ChangeKind::Delete)
            ]
        );
        assert_ne!(source.fingerprint(), target.fingerprint());
        assert_eq!(
            Snapshot::default().fingerprint(),
            Snapshot::default().fingerprint()
        );
    }

    #[test]
    fn a_mode_or_kind_change_is_a_modify() {
        let mut executable = file("x");
        executable.executable = true;
        let source: Snapshot = [
            (SyncPath(b"run".to_vec()), executable),
            (SyncPath(b"l".to_vec()), link("a")),
        ]
        .into_iter()
        .collect();
        let target: Snapshot = [
            (SyncPath(b"run".to_vec()), file("x")),
            (SyncPath(b"l".to_vec()), link("b")),
        ]
        .into_iter()
        .collect();
        let modified: Vec<String> = changes(&source, &target)
            .filter(|c| c.kind == ChangeKind::Modify)
            .map(|c| c.path.to_string())
            .collect();
        assert_eq!(modified, ["l", "run"]);
    }

    #[test]
    fn an_entry_costs_its_slot_and_its_bytes() {
        // What a plan of 100,000 files per side holds: keep it in sight.
        assert_eq!(std::mem::size_of::<Slot>(), 56);
        let mut builder = SnapshotBuilder::default();
        builder.push(b"dir/name.txt", &file("x"));
        builder.push(b"dir/link", &link("name.txt"));
        let snapshot = builder.finish_unique();
        assert_eq!(
            snapshot.parts.iter().map(Vec::len).sum::<usize>(),
            12 + 8 + 8
        );
    }

    #[test]
    fn the_last_entry_given_for_a_path_counts() {
        let snapshot: Snapshot = [
            (SyncPath(b"a".to_vec()), file("old")),
            (SyncPath(b"b".to_vec()), file("b")),
            (SyncPath(b"a".to_vec()), file("new")),
        ]
        .into_iter()
        .collect();
        assert_eq!(snapshot.len(), 2);
        assert_eq!(snapshot.get(b"a"), Some(file("new")));
        assert_eq!(snapshot.get(b"c"), None);
    }

    #[test]
    fn links_that_climb_out_of_the_tree_are_found() {
        for (path, link, out) in [
            ("a", "b", false),
            ("dir/a", "../b", false),
            ("dir/a", "../../etc", true),
            ("a", "../../../../etc", true),
            ("a", "/etc/passwd", true),
            ("d/e/a", "../../x/./y", false),
            ("d/e/a", "./../../../x", true),
            ("a", "x/../../y", true),
        ] {
            assert_eq!(
                leaves_tree(path.as_bytes(), link.as_bytes()),
                out,
                "{path} -> {link}"
            );
        }
        let tree: Snapshot = [
            (SyncPath(b"in".to_vec()), link("x")),
            (SyncPath(b"out".to_vec()), link("../up")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            tree.link_out_of_tree(),
            Some((SyncPath(b"out".to_vec()), SyncPath(b"../up".to_vec())))
        );
    }

    fn entry_strategy() -> impl Strategy<Value = Entry> {
        (0u8..3, any::<bool>(), "[a-c]{0,3}").prop_map(|(kind, executable, content)| match kind {
            0 => file(&content),
            1 => Entry {
                executable,
                ..file(&content)
            },
            _ => link(&content),
        })
    }

    fn tree_strategy() -> impl Strategy<Value = Vec<(Vec<u8>, Entry)>> {
        // Paths of a few bytes around `/`, so that prefixes and separators
        // sort against each other.
        proptest::collection::vec(
            (
                proptest::collection::vec(
                    prop_oneof![Just(b'/'), Just(b'.'), Just(b'a'), Just(0xffu8)],
                    1..4,
                ),
                entry_strategy(),
            ),
            0..24,
        )
    }

    proptest! {
        /// The compact snapshot behaves as a sorted map of paths to
        /// entries: same order, same lookups, same changes, and it
        /// round-trips through JSON and through `patched`.
        #[test]
        fn a_snapshot_is_a_sorted_map(source in tree_strategy(), target in tree_strategy()) {
            use std::collections::BTreeMap;
            let map = |items: &[(Vec<u8>, Entry)]| -> BTreeMap<Vec<u8>, Entry> {
                items.iter().cloned().collect()
            };
            let (source_map, target_map) = (map(&source), map(&target));
            let compact = |items: &[(Vec<u8>, Entry)]| -> Snapshot {
                items.iter().map(|(p, e)| (SyncPath(p.clone()), e.clone())).collect()
            };
            let (source_snap, target_snap) = (compact(&source), compact(&target));
            let listed: Vec<(Vec<u8>, Entry)> =
                source_snap.iter().map(|(p, e)| (p.to_vec(), e)).collect();
            let expected: Vec<(Vec<u8>, Entry)> = source_map.clone().into_iter().collect();
            prop_assert_eq!(&listed, &expected);
            for (path, entry) in &target_map {
                prop_assert_eq!(target_snap.get(path), Some(entry.clone()));
            }
            // The changes are those of the two maps.
            let mut want = Vec::new();
            let paths: std::collections::BTreeSet<&Vec<u8>> =
                source_map.keys().chain(target_map.keys()).collect();
            for path in paths {
                let kind = match (source_map.get(path), target_map.get(path)) {
                    (Some(_), None) => ChangeKind::Add,
                    (None, Some(_)) => ChangeKind::Delete,
                    (Some(a), Some(b)) if a != b => ChangeKind::Modify,
                    _ => continue,
                };
                want.push((path.clone(), kind));
            }
            let got: Vec<Change> = changes(&source_snap, &target_snap).collect();
            let kinds: Vec<(Vec<u8>, ChangeKind)> =
                got.iter().map(|c| (c.path.0.clone(), c.kind)).collect();
            prop_assert_eq!(kinds, want);
            // The target with the changes made is the source.
            prop_assert_eq!(&target_snap.patched(&got), &source_snap);
            let json = serde_json::to_string(&source_snap).unwrap();
            let back: Snapshot = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &source_snap);
            prop_assert_eq!(back.fingerprint(), source_snap.fingerprint());
        }
    }
}

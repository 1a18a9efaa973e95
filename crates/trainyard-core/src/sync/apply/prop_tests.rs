//! Property: applying the plan between two random small trees makes the
//! target equal the source (files, symlinks, executable bits, the
//! directories they imply), whatever the names: newlines, bytes that are
//! not UTF-8, spaces, nesting, a file where the other side has a
//! directory.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::tests::{chmod, link, scan, stray_temps, tree, write};
use super::{ApplyRequest, apply};
use crate::sync::snapshot::changes;

/// What sits at a path of a generated tree.
#[derive(Debug, Clone)]
enum Item {
    File { content: Vec<u8>, executable: bool },
    Link(Vec<u8>),
}

/// One path component: a few fixed names, so that the two trees share
/// paths (modifies, file/directory swaps), and any other bytes Linux
/// allows in a name.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            b"a".to_vec(),
            b"b".to_vec(),
            b"new\nline".to_vec(),
            b"\xff\xfe".to_vec(),
            b"sp ace".to_vec(),
        ]),
        1 => prop::collection::vec(any::<u8>(), 1..6).prop_filter("a plain name", |n| {
            !n.contains(&b'/') && !n.contains(&0) && n != b"." && n != b".."
        }),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => (prop::collection::vec(any::<u8>(), 0..40), any::<bool>())
            .prop_map(|(content, executable)| Item::File { content, executable }),
        1 => prop::collection::vec(1u8..=255, 1..12).prop_map(Item::Link),
    ]
}

/// Up to a dozen entries up to three deep; an entry whose path is a
/// prefix of another's (or has one) is dropped, as a path is either a
/// directory or not.
fn tree_spec() -> impl Strategy<Value = BTreeMap<Vec<u8>, Item>> {
    prop::collection::vec((prop::collection::vec(name(), 1..4), item()), 0..12).prop_map(
        |entries| {
            let mut out: BTreeMap<Vec<u8>, Item> = BTreeMap::new();
            for (parts, item) in entries {
                let path = parts.join(&b'/');
                let clashes = out.keys().any(|other| {
                    let under = |a: &[u8], b: &[u8]| {
                        a.len() > b.len() && a.starts_with(b) && a[b.len()] == b'/'
                    };
                    other == &path || under(other, &path) || under(&path, other)
                });
                if !clashes {
                    out.insert(path, item);
                }
            }
            out
        },
    )
}

fn build(root: &Path, spec: &BTreeMap<Vec<u8>, Item>) {
    std::fs::create_dir_all(root).expect("root");
    for (path, item) in spec {
        match item {
            Item::File {
                content,
                executable,
            } => {
                write(root, path, content);
                chmod(root, path, if *executable { 0o755 } else { 0o644 });
            }
            Item::Link(text) => link(root, path, text),
        }
    }
}

/// The directories of a tree.
fn dirs(root: &Path) -> Vec<Vec<u8>> {
    tree(root)
        .into_iter()
        .filter(|(_, what)| what == "dir")
        .map(|(path, _)| path)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn apply_of_the_plan_makes_the_target_equal_the_source(
        source_spec in tree_spec(),
        target_spec in tree_spec(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, target) = (dir.path().join("source"), dir.path().join("target"));
        build(&source, &source_spec);
        build(&target, &target_spec);
        let plan: Vec<_> = changes(&scan(&source), &scan(&target)).collect();
        apply(&ApplyRequest {
            source_root: &source,
            target_root: &target,
            changes: &plan,
            journal_dir: &dir.path().join("journal"),
            apply_id: "prop",
            plan_id: "plan-prop",
        })
        .map_err(|e| TestCaseError::fail(format!("apply failed: {e}; plan {plan:#?}")))?;
        prop_assert_eq!(scan(&target), scan(&source));
        prop_assert_eq!(dirs(&target), dirs(&source));
        prop_assert_eq!(stray_temps(&target), Vec::<String>::new());
        // Planned again, nothing is left to do.
        prop_assert_eq!(changes(&scan(&source), &scan(&target)).count(), 0);
    }
}

//! The chain over random stores: every single tampering of the index or
//! of a document (an edit, a removal, an insertion, a reorder) is found by
//! verification, and an untouched store verifies clean.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;

/// What was recorded: (kind, name, document) in order.
type Chain = Vec<(String, String, String)>;

fn chain() -> impl Strategy<Value = Chain> {
    let kind = prop::sample::select(vec!["release_evidence", "sync_log", "gate_result"]);
    // The value is quoted: unquoted, `11e960` would be a float too large
    // for a YAML document.
    prop::collection::vec((kind, "[a-z]{1,12}", "[a-z0-9 ]{0,20}"), 1..7).prop_map(|docs| {
        docs.into_iter()
            .enumerate()
            .map(|(i, (kind, key, value))| {
                (
                    kind.to_owned(),
                    format!("doc-{i}"),
                    format!("{key}: \"{value}\"\n"),
                )
            })
            .collect()
    })
}

/// One tampering; indexes are taken modulo the chain's length.
#[derive(Debug, Clone)]
enum Tamper {
    /// A field of one record changed (0..8: the fields in order).
    EditRecord { at: usize, field: usize },
    /// A document's bytes changed.
    EditDocument { at: usize, byte: u8 },
    /// A record's line removed; its document stays.
    RemoveRecord { at: usize },
    /// A document removed; its record stays.
    RemoveDocument { at: usize },
    /// A copy of one record's line put in at a position.
    DuplicateRecord { at: usize, to: usize },
    /// A record consistent in itself (its hash right, its document on
    /// disk) put in before the last one.
    ForgeRecord { to: usize },
    /// A document put in the store with no record.
    AddDocument,
    /// Two records' lines swapped.
    Swap { a: usize, b: usize },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (0usize..8, 0usize..8).prop_map(|(at, field)| Tamper::EditRecord { at, field }),
        (0usize..8, any::<u8>()).prop_map(|(at, byte)| Tamper::EditDocument { at, byte }),
        (0usize..8).prop_map(|at| Tamper::RemoveRecord { at }),
        (0usize..8).prop_map(|at| Tamper::RemoveDocument { at }),
        (0usize..8, 0usize..9).prop_map(|(at, to)| Tamper::DuplicateRecord { at, to }),
        (0usize..8).prop_map(|to| Tamper::ForgeRecord { to }),
        Just(Tamper::AddDocument),
        (0usize..8, 1usize..8).prop_map(|(a, b)| Tamper::Swap { a, b }),
    ]
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A different string of the same shape: its last character changed.
fn altered(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.last_mut().expect("not empty");
    *last = if *last == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

fn read_lines(index: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(index)
        .expect("index")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

fn write_lines(index: &Path, lines: &[serde_json::Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(index, text).expect("write index");
}

fn apply(store: &DirStore, tamper: &Tamper) {
    let index = store.index_path();
    let mut lines = read_lines(&index);
    let n = lines.len();
    let doc = |at: usize| {
        store
            .root()
            .join(lines[at % n]["path"].as_str().expect("path"))
    };
    match *tamper {
        Tamper::EditRecord { at, field } => {
            let record = &mut lines[at % n];
            let keys = [
                "seq",
                "kind",
                "name",
                "path",
                "recorded_at",
                "sha256",
                "prev",
                "hash",
            ];
            let key = keys[field];
            record[key] = if key == "seq" {
                serde_json::json!(record["seq"].as_u64().expect("seq") + 1)
            } else if key == "kind" {
                let kind = record["kind"].as_str().expect("kind");
                serde_json::json!(if kind == "sync_log" {
                    "release_evidence"
                } else {
                    "sync_log"
                })
            } else {
                serde_json::json!(altered(record[key].as_str().expect("a string")))
            };
            write_lines(&index, &lines);
        }
        Tamper::EditDocument { at, byte } => {
            let path = doc(at);
            let mut bytes = std::fs::read(&path).expect("document");
            let i = usize::from(byte) % bytes.len();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            std::fs::write(&path, bytes).expect("edit");
        }
        Tamper::RemoveRecord { at } => {
            lines.remove(at % n);
            write_lines(&index, &lines);
        }
        Tamper::RemoveDocument { at } => {
            std::fs::remove_file(doc(at)).expect("remove");
        }
        Tamper::DuplicateRecord { at, to } => {
            let copy = lines[at % n].clone();
            lines.insert(to % (n + 1), copy);
            write_lines(&index, &lines);
        }
        Tamper::ForgeRecord { to } => {
            // Before the last record, so that it is a change to the chain
            // and not a plain append.
            let to = to % n;
            let (seq, prev) = if to == 0 {
                (1, GENESIS_HASH.to_owned())
            } else {
                let before = &lines[to - 1];
                (
                    before["seq"].as_u64().expect("seq") + 1,
                    before["hash"].as_str().expect("hash").to_owned(),
                )
            };
            let body = "forged: yes\n";
            let path = "evidence/sync_log/forged.yaml";
            std::fs::create_dir_all(store.root().join("evidence/sync_log")).expect("mkdir");
            std::fs::write(store.root().join(path), body).expect("forged document");
            let sha = hex_sha256(body.as_bytes());
            let at = "2026-01-01T00:00:00Z";
            let canonical = serde_json::to_vec(&(
                "trainyard-evidence-record/1",
                seq,
                "sync_log",
                "forged",
                path,
                at,
                &sha,
                &prev,
            ))
            .expect("json");
            lines.insert(
                to,
                serde_json::json!({
                    "seq": seq, "kind": "sync_log", "name": "forged", "path": path,
                    "recorded_at": at, "sha256": sha, "prev": prev,
                    "hash": hex_sha256(&canonical),
                }),
            );
            write_lines(&index, &lines);
        }
        Tamper::AddDocument => {
            std::fs::create_dir_all(store.root().join("evidence/sync_log")).expect("mkdir");
            std::fs::write(
                store.root().join("evidence/sync_log/planted.yaml"),
                "planted: yes\n",
            )
            .expect("planted");
        }
        Tamper::Swap { a, b } => {
            lines.swap(a % n, b % n);
            write_lines(&index, &lines);
        }
    }
}

/// Whether `tamper` changes a store of `n` records: a record swapped
/// with itself does not.
fn applies(tamper: &Tamper, n: usize) -> bool {
    match *tamper {
        Tamper::Swap { a, b } => n > 1 && a % n != b % n,
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_single_tampering_of_a_chain_is_found(docs in chain(), tamper in tamper()) {
        prop_assume!(applies(&tamper, docs.len()));
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path().join(".trainyard"));
        for (kind, name, text) in &docs {
            store.write(kind, name, text).expect("write");
        }
        let clean = store.verify().expect("verify");
        prop_assert!(clean.ok, "{:#?}", clean.problems);
        prop_assert_eq!(clean.documents, docs.len());
        apply(&store, &tamper);
        let report = store.verify().expect("verify");
        prop_assert!(!report.ok, "{:?} went unnoticed in {:?}", tamper, docs);
        prop_assert!(!report.problems.is_empty());
    }
}

//! The evidence store on temporary directories.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use super::*;
use crate::{Error, ErrorKind};

const DOC_A: &str = "release_evidence:\n  version: 1.0.0\n";
const DOC_B: &str = "sync_log:\n  sync_id: nightly\n  execution_id: run-1\n";
const DOC_C: &str = "release_evidence:\n  version: 1.1.0\n";

/// A store in a fresh temporary directory with three documents.
fn store_with_three() -> (tempfile::TempDir, DirStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join(".trainyard"));
    store.write("release_evidence", "1.0.0", DOC_A).unwrap();
    store.write("sync_log", "nightly-run-1", DOC_B).unwrap();
    store.write("release_evidence", "1.1.0", DOC_C).unwrap();
    (dir, store)
}

fn problem_kinds(report: &VerifyReport) -> Vec<ProblemKind> {
    report.problems.iter().map(|p| p.kind).collect()
}

fn index_lines(store: &DirStore) -> Vec<String> {
    std::fs::read_to_string(store.index_path())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_index_lines(store: &DirStore, lines: &[String]) {
    std::fs::write(store.index_path(), lines.join("\n") + "\n").unwrap();
}

#[test]
fn write_list_show_round_trip() {
    let (_dir, store) = store_with_three();

    let all = store.list(None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].prev, GENESIS_HASH);
    assert_eq!(all[1].prev, all[0].hash);
    assert_eq!(all[2].prev, all[1].hash);
    assert_eq!(all[1].path, "evidence/sync_log/nightly-run-1.yaml");
    assert_eq!(all[0].sha256, sha256_hex(DOC_A.as_bytes()));
    assert!(all[0].recorded_at.ends_with('Z'));
    assert!(all[0].recorded_at.parse::<jiff::Timestamp>().is_ok());

    let releases = store.list(Some("release_evidence")).unwrap();
    assert_eq!(
        releases.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["1.0.0", "1.1.0"]
    );
    assert!(store.list(Some("rollback_evidence")).unwrap().is_empty());

    let entry = store.show("sync_log", "nightly-run-1").unwrap();
    assert_eq!(entry.text, DOC_B);
    assert!(entry.intact);
    assert_eq!(entry.record, all[1]);
    assert_eq!(
        std::fs::read_to_string(store.root().join("evidence/sync_log/nightly-run-1.yaml")).unwrap(),
        DOC_B
    );

    let by_seq = store.get(&Lookup::Seq(3)).unwrap();
    assert_eq!(by_seq.text, DOC_C);
    let by_path = store
        .get(&Lookup::Path("evidence/release_evidence/1.0.0.yaml".into()))
        .unwrap();
    assert_eq!(by_path.text, DOC_A);
    let by_short_path = store
        .get(&Lookup::Path("release_evidence/1.1.0.yaml".into()))
        .unwrap();
    assert_eq!(by_short_path.record.seq, 3);
    let full = store.root().join("evidence/sync_log/nightly-run-1.yaml");
    let by_full_path = store
        .get(&Lookup::Path(full.display().to_string()))
        .unwrap();
    assert_eq!(by_full_path.record.seq, 2);

    let missing = store.show("sync_log", "nope").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Input);
    assert!(missing.to_string().contains("sync_log/nope"), "{missing}");

    let report = store.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.documents, 3);
    assert_eq!(report.head_hash.as_deref(), Some(all[2].hash.as_str()));
}

#[test]
fn write_value_renders_yaml() {
    #[derive(Serialize)]
    struct Bump {
        from: String,
        to: String,
    }
    #[derive(Serialize)]
    struct Doc {
        version_bump: Bump,
    }
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let doc = Doc {
        version_bump: Bump {
            from: "1.0.0".into(),
            to: "1.1.0".into(),
        },
    };
    let dynamic: &dyn EvidenceStore = &store;
    let written = dynamic.write_value("version_bump", "v1.1.0", &doc).unwrap();
    assert!(!written.replaced_unrecorded);
    let entry = store.show("version_bump", "v1.1.0").unwrap();
    assert!(entry.text.contains("version_bump:"), "{}", entry.text);
    assert!(entry.text.contains("to: \"1.1.0\""), "{}", entry.text);
    assert_eq!(entry.record, written.record);
}

#[test]
fn trait_is_usable_as_a_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: Box<dyn EvidenceStore> = Box::new(DirStore::new(dir.path()));
    let yaml = render_yaml(&serde_json::json!({ "sync_log": { "sync_id": "s" } })).unwrap();
    store.write("sync_log", "s-1", &yaml).unwrap();
    assert_eq!(store.list(None).unwrap().len(), 1);
    assert!(store.verify().unwrap().ok);
}

#[test]
fn evidence_is_immutable() {
    let (_dir, store) = store_with_three();
    let before = std::fs::read(store.index_path()).unwrap();
    for name in ["1.0.0", "1.0.0"] {
        let err = store
            .write("release_evidence", name, "release_evidence: {}\n")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("already recorded"), "{err}");
        assert!(err.to_string().contains("1.0.0.yaml"), "{err}");
    }
    // Names differing only in case would share a file on macOS and
    // Windows, so they count as the same name.
    store
        .write("sync_log", "NIGHTLY-RUN-1", "sync_log: {}\n")
        .unwrap_err();
    assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
    assert_eq!(store.show("release_evidence", "1.0.0").unwrap().text, DOC_A);
    // The same name under another kind is another document.
    store
        .write("version_bump", "1.0.0", "version_bump: {}\n")
        .unwrap();
}

#[test]
fn bad_names_and_kinds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join(".trainyard"));
    for name in [
        "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "x.", "a b", "a\nb", "é", "a:b",
    ] {
        let err = store.write("sync_log", name, DOC_B).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{name:?}");
        assert!(
            err.to_string().contains(&format!("{name:?}")),
            "{name:?}: {err}"
        );
    }
    let long = "a".repeat(names::MAX_NAME_LEN + 1);
    assert!(store.write("sync_log", &long, DOC_B).is_err());
    for kind in ["", "Release", "../x", "a/b", "a.b", "_x"] {
        let err = store.write(kind, "ok", DOC_B).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{kind:?}");
        assert!(err.to_string().contains(&format!("{kind:?}")), "{err}");
    }
    for good in ["1.2.0-rc.1", "v1.2.0+build.5", "pkg@1.0.0", "A_b-3"] {
        validate_name(good).unwrap();
    }
    // Bad input leaves nothing behind.
    assert!(!store.root().exists());
}

#[test]
fn invalid_yaml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    for text in ["", "  \n", "a: [1, 2\n", "key: value\n  bad indent: x\n"] {
        let err = store.write("sync_log", "s", text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{text:?}");
        assert!(err.to_string().contains("sync_log/s"), "{err}");
    }
    assert!(store.list(None).unwrap().is_empty());
}

#[test]
fn verify_empty_or_missing_store_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join("does-not-exist"));
    let report = store.verify().unwrap();
    assert!(report.ok);
    assert_eq!(report.documents, 0);
    assert_eq!(report.head_hash, None);
    assert!(store.list(None).unwrap().is_empty());
    assert!(!store.root().exists(), "verify must create nothing");

    std::fs::create_dir_all(store.root().join("evidence")).unwrap();
    let report = store.verify().unwrap();
    assert!(report.ok);
    assert_eq!(report.documents, 0);
}

#[test]
fn verify_detects_an_edited_document() {
    let (_dir, store) = store_with_three();
    let path = store.root().join("evidence/sync_log/nightly-run-1.yaml");
    std::fs::write(&path, DOC_B.replace("run-1", "run-2")).unwrap();
    let report = store.verify().unwrap();
    assert!(!report.ok);
    assert_eq!(problem_kinds(&report), [ProblemKind::Edited]);
    assert_eq!(report.problems[0].path, path.display().to_string());
    assert_eq!(report.problems[0].seq, Some(2));
    assert!(
        report.problems[0]
            .message
            .contains(&path.display().to_string())
    );
    assert!(!store.show("sync_log", "nightly-run-1").unwrap().intact);
}

#[test]
fn verify_detects_a_removed_document() {
    let (_dir, store) = store_with_three();
    let path = store.root().join("evidence/release_evidence/1.0.0.yaml");
    std::fs::remove_file(&path).unwrap();
    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::Missing]);
    assert_eq!(report.problems[0].path, path.display().to_string());
    let err = store.show("release_evidence", "1.0.0").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
}

#[test]
fn verify_detects_reordered_records() {
    let (_dir, store) = store_with_three();
    let mut lines = index_lines(&store);
    lines.swap(1, 2);
    write_index_lines(&store, &lines);
    let report = store.verify().unwrap();
    let kinds = problem_kinds(&report);
    assert!(kinds.contains(&ProblemKind::ChainBroken), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::SequenceGap), "{kinds:?}");
    assert!(!kinds.contains(&ProblemKind::RecordEdited), "{kinds:?}");
    let index = store.index_path().display().to_string();
    assert!(report.problems.iter().all(|p| p.path == index));
}

#[test]
fn verify_detects_a_removed_record() {
    let (_dir, store) = store_with_three();
    let mut lines = index_lines(&store);
    lines.remove(1);
    write_index_lines(&store, &lines);
    let report = store.verify().unwrap();
    let kinds = problem_kinds(&report);
    assert_eq!(
        kinds,
        [
            ProblemKind::SequenceGap,
            ProblemKind::ChainBroken,
            ProblemKind::Unrecorded
        ]
    );
    assert_eq!(report.problems[0].line, Some(2));
    assert_eq!(report.problems[0].seq, Some(3));
    assert!(report.problems[2].path.ends_with("nightly-run-1.yaml"));
}

#[test]
fn verify_detects_an_edited_record_field() {
    let (_dir, store) = store_with_three();
    let mut lines = index_lines(&store);
    let mut record: Record = serde_json::from_str(&lines[1]).unwrap();
    record.recorded_at = "2000-01-01T00:00:00Z".to_string();
    lines[1] = serde_json::to_string(&record).unwrap();
    write_index_lines(&store, &lines);
    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::RecordEdited]);
    assert_eq!(report.problems[0].line, Some(2));
    assert_eq!(
        report.problems[0].path,
        store.index_path().display().to_string()
    );
}

#[test]
fn verify_detects_an_unrecorded_document() {
    let (_dir, store) = store_with_three();
    let path = store.root().join("evidence/release_evidence/9.9.9.yaml");
    std::fs::write(&path, "release_evidence:\n  version: 9.9.9\n").unwrap();
    let stray = store.root().join("evidence/notes.txt");
    std::fs::write(&stray, "hello").unwrap();
    let report = store.verify().unwrap();
    assert_eq!(
        problem_kinds(&report),
        [ProblemKind::Unrecorded, ProblemKind::Unrecorded]
    );
    let paths: Vec<_> = report.problems.iter().map(|p| p.path.clone()).collect();
    assert!(paths.contains(&path.display().to_string()), "{paths:?}");
    assert!(paths.contains(&stray.display().to_string()), "{paths:?}");
}

#[test]
fn verify_reports_malformed_and_forged_records() {
    let (_dir, store) = store_with_three();
    let mut lines = index_lines(&store);
    lines[0] = lines[0].replace("1.0.0", "../../../etc/passwd");
    lines[1] = "{not json".to_string();
    write_index_lines(&store, &lines);
    let report = store.verify().unwrap();
    let kinds = problem_kinds(&report);
    assert!(kinds.contains(&ProblemKind::InvalidRecord), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::RecordEdited), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::MalformedRecord), "{kinds:?}");
    // Writing onto a malformed index is refused and changes nothing.
    let before = std::fs::read(store.index_path()).unwrap();
    let err = store.write("sync_log", "later", DOC_B).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
}

#[test]
fn verify_reports_a_duplicated_record() {
    let (_dir, store) = store_with_three();
    let mut lines = index_lines(&store);
    lines.push(lines[0].clone());
    write_index_lines(&store, &lines);
    let report = store.verify().unwrap();
    let kinds = problem_kinds(&report);
    assert!(kinds.contains(&ProblemKind::DuplicateRecord), "{kinds:?}");
    assert!(kinds.contains(&ProblemKind::ChainBroken), "{kinds:?}");
    let err = store.write("sync_log", "later", DOC_B);
    assert!(
        err.is_ok(),
        "a duplicate does not block new evidence: {err:?}"
    );
}

#[test]
fn yaml_errors_name_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let err = store.write("sync_log", "s", "a: [1, 2\n").unwrap_err();
    let message = err.to_string();
    assert_eq!(
        message,
        concat!(
            "evidence sync_log/s is not a yaml document: ",
            "unclosed bracket '[' at line 1, column 4"
        )
    );
}

#[test]
fn interrupted_write_leaves_an_unrecorded_document_that_a_retry_replaces() {
    let (_dir, store) = store_with_three();
    // As if a run died after writing the document, before the index.
    let orphan = store.root().join("evidence/sync_log/nightly-run-2.yaml");
    std::fs::write(&orphan, "sync_log:\n  half: true\n").unwrap();

    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::Unrecorded]);
    assert_eq!(report.problems[0].path, orphan.display().to_string());

    // Another write is not disturbed by the orphan.
    store
        .write("version_bump", "v1.1.0", "version_bump: {}\n")
        .unwrap();
    assert_eq!(
        problem_kinds(&store.verify().unwrap()),
        [ProblemKind::Unrecorded]
    );

    // The retry of the interrupted write replaces the orphan.
    let retry = "sync_log:\n  sync_id: nightly\n  execution_id: run-2\n";
    let written = store.write("sync_log", "nightly-run-2", retry).unwrap();
    assert!(written.replaced_unrecorded);
    assert_eq!(written.record.seq, 5);
    assert_eq!(std::fs::read_to_string(&orphan).unwrap(), retry);
    let report = store.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.documents, 5);
}

#[test]
fn index_without_final_newline_is_appended_to_cleanly() {
    let (_dir, store) = store_with_three();
    let text = std::fs::read_to_string(store.index_path()).unwrap();
    std::fs::write(store.index_path(), text.trim_end()).unwrap();
    store.write("sync_log", "after", DOC_B).unwrap();
    let report = store.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.documents, 4);
}

#[test]
fn a_held_lock_refuses_a_writer() {
    let (_dir, store) = store_with_three();
    let before = std::fs::read(store.index_path()).unwrap();
    let holder = File::options()
        .read(true)
        .write(true)
        .open(store.lock_path())
        .unwrap();
    holder.lock().unwrap();

    let store = store.with_lock_wait(Duration::from_millis(50));
    let err = store.write("sync_log", "blocked", DOC_B).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
    assert_eq!(
        err.to_string(),
        format!(
            "evidence store {} is locked by another trainyard run",
            store.root().display()
        )
    );
    assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
    assert!(!store.root().join("evidence/sync_log/blocked.yaml").exists());
    // Verify waits for writers too.
    assert_eq!(store.verify().unwrap_err().kind(), ErrorKind::Environment);

    holder.unlock().unwrap();
    store.write("sync_log", "blocked", DOC_B).unwrap();
}

#[test]
fn a_writer_waits_for_a_briefly_held_lock() {
    let (_dir, store) = store_with_three();
    let holder = File::options()
        .read(true)
        .write(true)
        .open(store.lock_path())
        .unwrap();
    holder.lock().unwrap();
    // The holder lets go after a moment, most likely while the writer
    // waits; the writer's wait outlasts any delay of a busy machine.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(holder);
    });
    let store = store.with_lock_wait(Duration::from_secs(120));
    store.write("sync_log", "waited", DOC_B).unwrap();
    releaser.join().unwrap();
    assert!(store.verify().unwrap().ok);
}

#[test]
fn a_lock_wait_too_long_for_the_clock_is_no_limit() {
    let (_dir, store) = store_with_three();
    let store = store.with_lock_wait(Duration::MAX);
    store.write("sync_log", "unlimited", DOC_B).unwrap();
    assert!(store.verify().unwrap().ok);
}

#[test]
fn concurrent_writers_keep_the_chain_whole() {
    let (_dir, store) = store_with_three();
    // Each writer may wait for all the others, on a busy machine.
    let store = store.with_lock_wait(Duration::from_secs(120));
    std::thread::scope(|scope| {
        for t in 0..4 {
            let store = &store;
            scope.spawn(move || {
                for i in 0..5 {
                    store
                        .write("sync_log", &format!("t{t}-{i}"), DOC_B)
                        .unwrap();
                }
            });
        }
    });
    let report = store.verify().unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.documents, 23);
}

#[test]
fn writers_of_one_base_at_once_each_get_a_free_name() {
    let (_dir, store) = store_with_three();
    let store = store.with_lock_wait(Duration::from_secs(120));
    let names: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let store = &store;
                scope.spawn(move || {
                    let dynamic: &dyn EvidenceStore = store;
                    dynamic
                        .write_unique("sync_log", "nightly-run-1", DOC_B)
                        .unwrap()
                        .record
                        .name
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), 10, "{names:?}");
    // nightly-run-1 was taken before: the ten got -2 to -11.
    for n in 2..=11 {
        assert!(names.contains(&format!("nightly-run-1-{n}")), "{names:?}");
    }
    assert!(store.verify().unwrap().ok);
}

#[cfg(unix)]
#[test]
fn a_symlinked_directory_of_the_store_is_refused_not_followed() {
    let (dir, store) = store_with_three();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let kind_dir = store.root().join("evidence/sync_diff");
    std::os::unix::fs::symlink(&outside, &kind_dir).unwrap();
    let before = std::fs::read(store.index_path()).unwrap();
    let err = store
        .write("sync_diff", "nightly", "sync_diff: {}\n")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.to_string().contains(&kind_dir.display().to_string())
            && err.to_string().contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::Symlink]);
    assert_eq!(report.problems[0].path, kind_dir.display().to_string());

    // The whole store behind a link.
    let linked = dir.path().join("linked-store");
    std::os::unix::fs::symlink(store.root(), &linked).unwrap();
    let via_link = DirStore::new(&linked);
    for err in [
        via_link.write("sync_log", "x", DOC_B).unwrap_err(),
        via_link.list(None).unwrap_err(),
        via_link.verify().unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains(&linked.display().to_string()),
            "{err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_document_is_refused_not_followed() {
    let (dir, store) = store_with_three();
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, "not evidence\n").unwrap();
    let doc = store.root().join("evidence/sync_log/nightly-run-1.yaml");
    std::fs::remove_file(&doc).unwrap();
    std::os::unix::fs::symlink(&outside, &doc).unwrap();
    let err = store.show("sync_log", "nightly-run-1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.to_string().contains(&doc.display().to_string())
            && err.to_string().contains("symbolic link"),
        "{err}"
    );
    assert!(!err.to_string().contains("not evidence"), "{err}");
    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::Symlink]);
    assert_eq!(report.problems[0].seq, Some(2));
    // A write of a name whose file is a link is refused too, and the
    // link's target is left alone.
    let planted = store.root().join("evidence/sync_log/later.yaml");
    std::os::unix::fs::symlink(&outside, &planted).unwrap();
    let err = store.write("sync_log", "later", DOC_B).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not evidence\n");
    // So is a linked lock file.
    std::fs::remove_file(store.lock_path()).unwrap();
    std::os::unix::fs::symlink(&outside, store.lock_path()).unwrap();
    let err = store.write("sync_log", "other", DOC_B).unwrap_err();
    assert!(
        err.to_string()
            .contains(&store.lock_path().display().to_string()),
        "{err}"
    );
}

/// Stages a body of `text` in `store`.
fn staged(store: &dyn EvidenceStore, kind: &str, text: &str) -> StagedBody {
    store
        .stage_body(kind, &mut |w| {
            w.write_all(text.as_bytes())
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .unwrap()
}

fn tmp_files(store: &DirStore) -> usize {
    std::fs::read_dir(store.root().join(TMP_DIR)).map_or(0, |d| d.count())
}

#[test]
fn bodies_are_recorded_by_content_once_and_read_back() {
    let (_dir, store) = store_with_three();
    let dynamic: &dyn EvidenceStore = &store;
    let text = "diff --git a/x b/x\n".repeat(10_000);
    let body = staged(dynamic, "sync_diff", &text);
    let sha = body.sha256().to_owned();
    assert_eq!(sha, sha256_hex(text.as_bytes()));
    assert_eq!(body.size(), text.len() as u64);
    let plan = format!("sync_plan:\n  diff_ref: {}\n", body.path());
    let recorded = dynamic
        .record(
            vec![body],
            &[NewDocument {
                kind: "sync_plan",
                name: "p",
                unique: true,
                yaml: &plan,
            }],
        )
        .unwrap();
    assert!(recorded.bodies[0].new);
    let path = store.root().join(&recorded.bodies[0].record.path);
    assert_eq!(
        recorded.bodies[0].record.path,
        format!("evidence/sync_diff/{sha}.gz")
    );
    assert!(std::fs::metadata(&path).unwrap().len() < text.len() as u64 / 10);
    assert_eq!(recorded.documents[0].record.name, "p");
    let mut back = Vec::new();
    dynamic.read_body("sync_diff", &sha, &mut back).unwrap();
    assert_eq!(back, text.as_bytes());
    assert_eq!(tmp_files(&store), 0);

    // The same content again: shared, not stored twice.
    let index = std::fs::read(store.index_path()).unwrap();
    let again = dynamic
        .record(vec![staged(dynamic, "sync_diff", &text)], &[])
        .unwrap();
    assert!(!again.bodies[0].new);
    assert_eq!(again.bodies[0].record, recorded.bodies[0].record);
    assert_eq!(std::fs::read(store.index_path()).unwrap(), index);
    assert_eq!(tmp_files(&store), 0);
    assert!(store.verify().unwrap().ok);
    let shown = store.show("sync_diff", &body_name(&sha)).unwrap();
    assert!(shown.intact);
    assert_eq!(shown.text, text);
}

#[test]
fn a_failed_batch_records_nothing_and_leaves_nothing() {
    let (_dir, store) = store_with_three();
    let dynamic: &dyn EvidenceStore = &store;
    let index = std::fs::read(store.index_path()).unwrap();
    let body = staged(dynamic, "sync_diff", "some diff\n");
    let sha = body.sha256().to_owned();
    let err = dynamic
        .record(
            vec![body],
            &[NewDocument {
                kind: "release_evidence",
                name: "1.0.0",
                unique: false,
                yaml: "release_evidence: {}\n",
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("already recorded"), "{err}");
    assert_eq!(std::fs::read(store.index_path()).unwrap(), index);
    assert!(
        !store
            .root()
            .join(format!("evidence/sync_diff/{sha}.gz"))
            .exists()
    );
    assert_eq!(tmp_files(&store), 0);
    assert!(store.verify().unwrap().ok);
    // A staged body dropped unrecorded leaves nothing either.
    drop(staged(dynamic, "sync_diff", "dropped\n"));
    assert_eq!(tmp_files(&store), 0);
}

#[test]
fn a_tampered_body_is_detected_and_refused() {
    let (_dir, store) = store_with_three();
    let dynamic: &dyn EvidenceStore = &store;
    let text = "+line\n".repeat(1000);
    let recorded = dynamic
        .record(vec![staged(dynamic, "sync_changes", &text)], &[])
        .unwrap();
    let record = &recorded.bodies[0].record;
    let path = store.root().join(&record.path);
    // Another valid gzip stream in its place.
    let forged = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"+forged\n").unwrap();
        encoder.finish().unwrap()
    };
    std::fs::write(&path, forged).unwrap();
    let sha = record.name.strip_suffix(".gz").unwrap();
    let mut sink = Vec::new();
    let err = dynamic
        .read_body("sync_changes", sha, &mut sink)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.to_string().contains(&path.display().to_string()) && err.to_string().contains("edited"),
        "{err}"
    );
    assert!(sink.is_empty(), "nothing of a tampered body is handed out");
    let report = store.verify().unwrap();
    assert_eq!(problem_kinds(&report), [ProblemKind::Edited]);
    assert_eq!(report.problems[0].path, path.display().to_string());
}

#[test]
fn report_serialises_with_snake_case_kinds() {
    let (_dir, store) = store_with_three();
    std::fs::remove_file(store.root().join("evidence/release_evidence/1.1.0.yaml")).unwrap();
    let json = serde_json::to_value(store.verify().unwrap()).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][0]["kind"], "missing");
    assert_eq!(json["problems"][0]["seq"], 3);
    assert_eq!(ProblemKind::ChainBroken.to_string(), "chain_broken");
}

#![allow(clippy::disallowed_methods)]
use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::{File, FileTimes, Permissions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use super::cache::CACHE_MAGIC;
use super::walk::{FILES_PER_JOB, NOATIME, QUEUED_FDS, READ_BUFFER};
use crate::ErrorKind;
use crate::sync::model::{ChangeKind, ContentHash, Entry, EntryKind, SyncPath};
use crate::sync::snapshot::changes;

fn filters(include: &[&str], exclude: &[&str]) -> Filters {
    Filters::new(include, exclude).expect("valid patterns")
}

fn sel(f: &Filters, path: &str, is_dir: bool) -> bool {
    f.selects(&SyncPath(path.as_bytes().to_vec()), is_dir)
}

fn write(root: &Path, rel: impl AsRef<[u8]>, content: &[u8]) -> PathBuf {
    let path = root.join(OsStr::from_bytes(rel.as_ref()));
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, content).expect("write");
    path
}

fn set_mtime(path: &Path, secs: u64) {
    let file = File::options().write(true).open(path).expect("open");
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    file.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .expect("set times");
}

fn paths(report: &ScanReport) -> Vec<String> {
    report
        .snapshot
        .paths()
        .map(|p| SyncPath(p.to_vec()).encoded())
        .collect()
}

fn cache_without_racy_window() -> HashCache {
    let mut cache = HashCache::new();
    cache.set_racy_window(Duration::ZERO);
    cache
}

#[test]
fn filters_select_by_include_and_exclude() {
    let f = filters(&["src/**", "*.md"], &["*.tmp", "src/generated/"]);
    assert!(sel(&f, "src/main.rs", false));
    assert!(sel(&f, "src/deep/er/mod.rs", false));
    assert!(!sel(&f, "src/x.tmp", false));
    assert!(!sel(&f, "src/generated/api.rs", false));
    assert!(!sel(&f, "src/generated", true));
    assert!(sel(&f, "README.md", false));
    assert!(sel(&f, "docs/guide.md", false));
    assert!(!sel(&f, "Cargo.toml", false));
    assert!(!sel(&f, "lib/src/main.rs", false), "src/** is anchored");

    let everything = filters(&[], &["*.tmp"]);
    assert!(sel(&everything, "Cargo.toml", false));
    assert!(sel(&everything, "a/b/c", false));
    assert!(!sel(&everything, "a/b/c.tmp", false));
    assert!(sel(&Filters::default(), "any/thing", false));
}

#[test]
fn filters_anchor_with_a_leading_slash_and_float_bare_names() {
    let f = filters(&[], &["/build", "cache", "docs/*.tmp"]);
    assert!(!sel(&f, "build", true));
    assert!(!sel(&f, "build/out.o", false));
    assert!(
        sel(&f, "sub/build/out.o", false),
        "/build is anchored at the root"
    );
    assert!(!sel(&f, "cache/x", false));
    assert!(
        !sel(&f, "a/b/cache/x", false),
        "a bare name matches at any depth"
    );
    assert!(!sel(&f, "a/cache", false));
    assert!(!sel(&f, "docs/a.tmp", false));
    assert!(
        sel(&f, "docs/sub/a.tmp", false),
        "`*` stays within one component"
    );
    assert!(sel(&f, "x/docs/a.tmp", false), "a middle `/` anchors too");
}

#[test]
fn filters_support_double_stars_classes_and_question_marks() {
    let f = filters(&["**/test_?.rs", "a/**/z", "[ab]*.txt", "logs/**"], &[]);
    assert!(sel(&f, "x/y/test_1.rs", false));
    assert!(sel(&f, "test_1.rs", false));
    assert!(!sel(&f, "test_10.rs", false));
    assert!(sel(&f, "a/z", false));
    assert!(sel(&f, "a/b/c/z", false));
    assert!(!sel(&f, "b/z", false));
    assert!(sel(&f, "apple.txt", false));
    assert!(sel(&f, "x/berry.txt", false));
    assert!(!sel(&f, "cherry.txt", false));
    assert!(sel(&f, "logs/2024/app.log", false));
    assert!(
        !sel(&f, "logs", false),
        "logs/** matches what is inside logs"
    );
}

#[test]
fn filters_with_a_trailing_slash_match_directories_only() {
    let f = filters(&[], &["out/"]);
    assert!(!sel(&f, "out", true));
    assert!(sel(&f, "out", false), "a file named out is not a directory");
    assert!(!sel(&f, "out/x", false));
    assert!(!sel(&f, "a/out/x", false));
    let only = filters(&["keep/"], &[]);
    assert!(sel(&only, "keep/a/b", false));
    assert!(!sel(&only, "keep", false));
}

#[test]
fn filters_refuse_patterns_that_could_escape_the_root() {
    for pattern in [
        "../x",
        "a/../../b",
        "..",
        "src/..",
        "//etc/passwd",
        "~/secrets",
        "C:\\x",
        "c:/x",
        "!keep",
        "/",
        "a//b",
        "./a",
        "[",
    ] {
        for (include, exclude) in [(vec![pattern], vec![]), (vec![], vec![pattern])] {
            let e = Filters::new(&include, &exclude).expect_err(pattern);
            assert_eq!(e.kind(), ErrorKind::Input, "{pattern}");
            assert!(e.to_string().contains(&format!("`{pattern}`")), "{e}");
            let list = if include.is_empty() {
                "exclude"
            } else {
                "include"
            };
            assert!(e.to_string().starts_with(list), "{e}");
        }
    }
    let e = Filters::new(&[""], &[] as &[&str]).expect_err("empty");
    assert_eq!(e.to_string(), "empty include pattern");
    let e = Filters::new(&["../x"], &[] as &[&str]).expect_err("dotdot");
    assert!(e.to_string().contains("outside the sync root"), "{e}");
    for fine in [
        "/a",
        "a/",
        "..foo",
        "foo..bar",
        "a/**",
        "**/b",
        "*.{rs,toml}",
    ] {
        Filters::new(&[fine], &[fine]).expect(fine);
    }
}

#[test]
fn scan_prunes_filtered_directories_and_agrees_with_selects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let all = [
        "dist/app.js",
        "dist/app.js.map",
        "dist/sub/x.bin",
        "src/main.rs",
        "src/README.md",
        "README.md",
        "node_modules/big/README.md",
        "node_modules/big/index.js",
    ];
    for rel in all {
        write(root, rel, rel.as_bytes());
    }
    let f = filters(&["/dist/**", "README.md"], &["*.map", "node_modules/"]);
    let report = scan(root, &f, None).expect("scan");
    assert_eq!(
        paths(&report),
        [
            "README.md",
            "dist/app.js",
            "dist/sub/x.bin",
            "src/README.md"
        ]
    );
    for rel in all {
        let selected = sel(&f, rel, false);
        let scanned = report.snapshot.get(rel.as_bytes()).is_some();
        assert_eq!(selected, scanned, "{rel}");
    }
    // An anchored include prunes everything it cannot reach.
    let f = filters(&["/dist/sub/"], &[]);
    assert!(!f.include.as_ref().expect("include").may_match_under(b"src"));
    assert!(
        f.include
            .as_ref()
            .expect("include")
            .may_match_under(b"dist")
    );
    let report = scan(root, &f, None).expect("scan");
    assert_eq!(paths(&report), ["dist/sub/x.bin"]);
}

/// The same tree read the plain way: one thread, paths, std only.
fn reference_snapshot(root: &Path) -> Snapshot {
    let mut entries = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for dirent in std::fs::read_dir(&dir).expect("list") {
            let path = dirent.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(root).expect("under root");
            let rel = SyncPath(rel.as_os_str().as_bytes().to_vec());
            let (kind, executable, bytes, link) = if meta.is_dir() {
                stack.push(path);
                continue;
            } else if meta.file_type().is_symlink() {
                let text = std::fs::read_link(&path).expect("readlink");
                let text = text.into_os_string().into_vec();
                (
                    EntryKind::Symlink,
                    false,
                    text.clone(),
                    Some(SyncPath(text)),
                )
            } else {
                let bytes = std::fs::read(&path).expect("read");
                (EntryKind::File, meta.mode() & 0o111 != 0, bytes, None)
            };
            let entry = Entry {
                kind,
                executable,
                size: bytes.len() as u64,
                hash: crate::sync::model::ContentHash::of(&bytes),
                link,
            };
            entries.insert(rel, entry);
        }
    }
    entries.into_iter().collect()
}

#[test]
fn scan_agrees_with_a_plain_walk_on_wide_deep_and_flat_trees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // Flat: more files than one worker keeps, so batches are shared.
    for i in 0..(FILES_PER_JOB * 5 + 7) {
        write(
            root,
            format!("flat/f{i:04}"),
            format!("flat {i}\n").as_bytes(),
        );
    }
    // Wide: more subdirectories than the queue may hold open.
    for i in 0..(QUEUED_FDS + 40) {
        write(root, format!("wide/d{i:03}/x"), &[i as u8; 3]);
    }
    // Deep, with a big file on the way down.
    let mut deep = String::from("deep");
    for level in 0..30 {
        deep.push_str(&format!("/l{level}"));
        write(root, format!("{deep}/f"), deep.as_bytes());
    }
    write(root, "deep/big.bin", &vec![7u8; 3 * READ_BUFFER + 11]);
    std::os::unix::fs::symlink("flat/f0001", root.join("wide/link")).expect("ln");
    let expected = reference_snapshot(root);
    let report = scan(root, &Filters::default(), None).expect("scan");
    assert_eq!(report.snapshot.len(), expected.len());
    assert_eq!(report.snapshot, expected);
    let files = expected.len() - 1;
    assert_eq!(report.files_hashed, files);
    let mut cache = cache_without_racy_window();
    scan(root, &Filters::default(), Some(&mut cache)).expect("fill");
    let cached = scan(root, &Filters::default(), Some(&mut cache)).expect("cached");
    assert_eq!((cached.files_hashed, cached.files_from_cache), (0, files));
    assert_eq!(cached.snapshot, expected);
}

#[test]
fn scan_records_symlinks_without_following_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    write(&outside, "secret.txt", b"top secret");
    write(&outside, "dir/inner.txt", b"inner");
    std::fs::create_dir_all(&root).expect("root");
    let abs_dir = outside.join("dir");
    std::os::unix::fs::symlink("../outside/secret.txt", root.join("to-file")).expect("ln");
    std::os::unix::fs::symlink(&abs_dir, root.join("to-dir")).expect("ln");
    std::os::unix::fs::symlink("nowhere/at/all", root.join("dangling")).expect("ln");
    // Unreadable to anyone but root: following the links would fail.
    std::fs::set_permissions(&outside, Permissions::from_mode(0o000)).expect("chmod");
    let report = scan(&root, &Filters::default(), None);
    std::fs::set_permissions(&outside, Permissions::from_mode(0o755)).expect("chmod");
    let report = report.expect("scan");
    assert_eq!(paths(&report), ["dangling", "to-dir", "to-file"]);
    let abs_dir = abs_dir.into_os_string().into_vec();
    for (name, text) in [
        ("dangling", b"nowhere/at/all".to_vec()),
        ("to-dir", abs_dir),
        ("to-file", b"../outside/secret.txt".to_vec()),
    ] {
        let entry = &report.snapshot.get(name.as_bytes()).expect("scanned");
        assert_eq!(entry.kind, EntryKind::Symlink, "{name}");
        assert_eq!(entry.link, Some(SyncPath(text.clone())), "{name}");
        assert_eq!(entry.hash, ContentHash::of(&text), "{name}");
        assert_eq!(entry.size, text.len() as u64, "{name}");
        assert!(!entry.executable);
    }
    assert_eq!(report.files_hashed, 0, "no link was opened");
    assert_eq!(report.bytes_hashed, 0);
}

#[test]
fn read_entry_reads_each_path_as_the_scan_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "a/plain.txt", b"plain\n");
    write(root, b"odd \xff name", b"\x00\x01");
    write(root, "empty", b"");
    let script = write(root, "bin/run.sh", b"#!/bin/sh\n");
    std::fs::set_permissions(&script, Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink("../outside", root.join("link")).expect("symlink");
    let report = scan(root, &Filters::default(), None).expect("scan");
    assert_eq!(report.snapshot.len(), 5);
    for (path, entry) in report.snapshot.iter() {
        let path = SyncPath(path.to_vec());
        assert_eq!(
            read_entry(root, &path).expect("read").as_ref(),
            Some(&entry),
            "{path}"
        );
    }
    assert_eq!(
        read_entry(root, &SyncPath(b"missing".to_vec())).expect("read"),
        None
    );
    assert_eq!(
        read_entry(root, &SyncPath(b"a".to_vec())).expect("read"),
        None,
        "a directory"
    );
}

#[test]
fn scan_handles_odd_names_executables_and_empty_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "with space.txt", b"spaces\n");
    write(root, "new\nline", b"newline\n");
    write(root, b"bad\xff\xfe.bin", b"\x00\x01");
    write(root, "dir with space/\u{fc}.txt", b"umlaut\n");
    write(root, "empty", b"");
    let script = write(root, "bin/run.sh", b"#!/bin/sh\necho hi\n");
    std::fs::set_permissions(&script, Permissions::from_mode(0o755)).expect("chmod");
    let report = scan(root, &Filters::default(), None).expect("scan");
    let keys: Vec<&[u8]> = report.snapshot.paths().collect();
    assert_eq!(
        keys,
        [
            &b"bad\xff\xfe.bin"[..],
            b"bin/run.sh",
            "dir with space/\u{fc}.txt".as_bytes(),
            b"empty",
            b"new\nline",
            b"with space.txt",
        ]
    );
    let get = |p: &[u8]| report.snapshot.get(p).expect("scanned");
    assert!(get(b"bin/run.sh").executable);
    assert!(!get(b"with space.txt").executable);
    assert_eq!(get(b"empty").size, 0);
    assert_eq!(get(b"empty").hash, ContentHash::of(b""));
    assert_eq!(get(b"bad\xff\xfe.bin").hash, ContentHash::of(b"\x00\x01"));
    assert_eq!(get(b"new\nline").kind, EntryKind::File);
    assert_eq!(report.files_hashed, 6);
    assert_eq!(report.bytes_hashed, 7 + 8 + 2 + 7 + 18);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn scan_skips_fifos_and_sockets_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "plain.txt", b"x");
    let _listener =
        std::os::unix::net::UnixListener::bind(root.join("control.sock")).expect("socket");
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(root.join("pipe"))
        .output()
        .expect("mkfifo (coreutils) runs");
    assert!(
        mkfifo.status.success(),
        "mkfifo failed: {}",
        String::from_utf8_lossy(&mkfifo.stderr)
    );
    let report = scan(root, &Filters::default(), None).expect("scan");
    assert_eq!(paths(&report), ["plain.txt"]);
    let sock = report
        .warnings
        .iter()
        .find(|w| w.contains("control.sock"))
        .expect("socket warned");
    assert!(
        sock.starts_with("skipped ") && sock.contains("it is a socket"),
        "{sock}"
    );
    let pipe = report
        .warnings
        .iter()
        .find(|w| w.contains("pipe"))
        .expect("fifo warned");
    assert!(pipe.contains("it is a fifo"), "{pipe}");
    assert_eq!(report.warnings.len(), 2);
    // Paths the sync does not own are not its business: no warning.
    let report = scan(root, &filters(&[], &["*.sock", "pipe"]), None).expect("scan");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_missing_root_is_an_empty_snapshot_and_a_file_root_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = scan(&dir.path().join("not-yet"), &Filters::default(), None).expect("scan");
    assert!(report.snapshot.is_empty());
    let file = write(dir.path(), "file", b"x");
    let e = scan(&file, &Filters::default(), None).expect_err("file root");
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
}

const UNREADABLE_TEST: &str =
    "sync::tree::tests::unreadable_files_are_input_errors_naming_the_path";
const UNREADABLE: &str = "unreadable-files";

/// Root reads mode-000 files, so the case runs in a child without root's
/// privileges.
#[test]
fn unreadable_files_are_input_errors_naming_the_path() {
    if crate::sync::test_child::is_child(UNREADABLE) {
        return unreadable_files();
    }
    crate::sync::test_child::Unprivileged::new(UNREADABLE_TEST, UNREADABLE).run();
}

/// The child of [`unreadable_files_are_input_errors_naming_the_path`].
fn unreadable_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "sub/locked.txt", b"x");
    std::fs::set_permissions(&path, Permissions::from_mode(0o000)).expect("chmod");
    assert!(
        std::fs::read(&path).is_err(),
        "a mode-000 file is readable: these privileges ignore file modes"
    );
    let e = scan(dir.path(), &Filters::default(), None).expect_err("unreadable");
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    assert!(e.to_string().contains("sub/locked.txt"), "{e}");
    // Excluded, it is none of the sync's business.
    scan(dir.path(), &filters(&[], &["locked.txt"]), None).expect("excluded");
}

#[test]
fn the_cache_reuses_hashes_when_metadata_is_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("tree");
    for i in 0..5 {
        write(
            &root,
            format!("d{}/f{i}.txt", i % 2),
            format!("file {i}\n").as_bytes(),
        );
    }
    std::os::unix::fs::symlink("d0/f0.txt", root.join("link")).expect("ln");
    let cache_file = dir.path().join("cache/hashes.bin");

    let mut cache = cache_without_racy_window();
    let first = scan(&root, &Filters::default(), Some(&mut cache)).expect("first");
    assert_eq!((first.files_hashed, first.files_from_cache), (5, 0));
    assert_eq!(cache.len(), 5);
    assert!(cache.is_changed());
    cache.save(&cache_file).expect("save");

    let mut cache = HashCache::load(&cache_file);
    cache.set_racy_window(Duration::ZERO);
    assert_eq!((cache.len(), cache.ignored_reason()), (5, None));
    let second = scan(&root, &Filters::default(), Some(&mut cache)).expect("second");
    assert_eq!((second.files_hashed, second.files_from_cache), (0, 5));
    assert_eq!(second.bytes_hashed, 0);
    assert_eq!(second.snapshot, first.snapshot);
    assert!(!cache.is_changed(), "nothing new to save");

    // A change of size is read again; a deleted file is forgotten.
    write(&root, "d0/f0.txt", b"longer content\n");
    std::fs::remove_file(root.join("d1/f1.txt")).expect("rm");
    let third = scan(&root, &Filters::default(), Some(&mut cache)).expect("third");
    assert_eq!((third.files_hashed, third.files_from_cache), (1, 3));
    assert_eq!(cache.len(), 4);
    assert!(cache.is_changed());
    let cold = scan(&root, &Filters::default(), None).expect("cold");
    assert_eq!(third.snapshot, cold.snapshot);
}

#[test]
fn recently_changed_files_are_hashed_but_not_remembered() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fresh.txt", b"just written");
    // A window no busy machine outlasts between the write and the scan.
    let mut cache = HashCache::new();
    cache.set_racy_window(Duration::from_secs(24 * 3600));
    scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("first");
    assert!(cache.is_empty(), "within the racy window");
    let again = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("second");
    assert_eq!((again.files_hashed, again.files_from_cache), (1, 0));
}

/// The content check finds an edit that keeps size and mtime when no
/// cache is used. With a cache, the edit moved the ctime, so it is
/// caught too; only an edit that leaves (size, mtime, inode, ctime) all
/// unchanged would be trusted, as rsync without -c trusts size and
/// mtime.
#[test]
fn an_edit_keeping_size_and_mtime_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "config.yaml", b"level: aaaa\n");
    set_mtime(&path, 1_700_000_000);
    let mut cache = cache_without_racy_window();
    let before = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("before");
    let size_mtime = |p: &Path| {
        let m = std::fs::metadata(p).expect("stat");
        (m.len(), m.mtime(), m.mtime_nsec())
    };
    let kept = size_mtime(&path);
    let ctime = |p: &Path| {
        let m = std::fs::metadata(p).expect("stat");
        (m.ctime(), m.ctime_nsec())
    };
    let scanned = ctime(&path);
    // The edit, made again until the clock has ticked and it has a ctime
    // of its own; the file's timestamps are coarser than a nanosecond.
    let start = std::time::Instant::now();
    loop {
        std::fs::write(&path, b"level: bbbb\n").expect("edit");
        set_mtime(&path, 1_700_000_000);
        if ctime(&path) != scanned {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the ctime never moved"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(size_mtime(&path), kept, "size and mtime kept");

    let cold = scan(dir.path(), &Filters::default(), None).expect("cold");
    assert_eq!(changes(&cold.snapshot, &before.snapshot).count(), 1);
    assert_eq!(cold.files_hashed, 1);

    let cached = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("cached");
    assert_eq!((cached.files_hashed, cached.files_from_cache), (1, 0));
    assert_eq!(cached.snapshot, cold.snapshot);
}

#[test]
fn corrupt_cache_files_are_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "tree/a.txt", b"a");
    let file = dir.path().join("hashes.bin");
    let missing = HashCache::load(&file);
    assert!(missing.is_empty() && missing.ignored_reason().is_none());

    let mut cache = cache_without_racy_window();
    scan(
        &dir.path().join("tree"),
        &Filters::default(),
        Some(&mut cache),
    )
    .expect("scan");
    cache.save(&file).expect("save");
    let good = std::fs::read(&file).expect("read");
    assert_eq!(HashCache::load(&file).len(), 1);

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let mut wrong_version = good.clone();
    wrong_version[CACHE_MAGIC.len()] = 9;
    for bad in [
        Vec::new(),
        b"garbage".to_vec(),
        good[..good.len() - 1].to_vec(),
        good[..40].to_vec(),
        flipped,
        wrong_version,
    ] {
        std::fs::write(&file, &bad).expect("write");
        let mut loaded = HashCache::load(&file);
        assert!(loaded.is_empty(), "{} bytes", bad.len());
        let reason = loaded.ignored_reason().expect("reason").to_string();
        assert!(
            reason.contains("hashes.bin") && reason.contains("ignoring"),
            "{reason}"
        );
        let report = scan(
            &dir.path().join("tree"),
            &Filters::default(),
            Some(&mut loaded),
        )
        .expect("scan with an ignored cache");
        assert_eq!(report.files_hashed, 1);
    }
}

/// Everything a dry-run must not move: content, link text, mode and
/// mtime of every entry, and the access time of every file (read here
/// with `O_NOATIME`, as the scan does; listing a directory moves its
/// access time, so directories are compared without it).
fn fingerprint_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for dirent in std::fs::read_dir(&dir).expect("list") {
            let path = dirent.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let what = if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&path).expect("readlink"))
            } else {
                let mut bytes = Vec::new();
                File::options()
                    .read(true)
                    .custom_flags(NOATIME.bits() as i32)
                    .open(&path)
                    .and_then(|mut f| f.read_to_end(&mut bytes))
                    .expect("read");
                let atime = format!("a{}.{}", meta.atime(), meta.atime_nsec());
                format!("file {} {atime}", blake3::hash(&bytes).to_hex())
            };
            let times = format!("{:o} m{}.{}", meta.mode(), meta.mtime(), meta.mtime_nsec());
            out.insert(path, format!("{what} {times}"));
        }
    }
    out
}

/// The must-show: a generated pair whose differences include edits
/// that keep size and mtime; the plan equals expected.tsv exactly and
/// the target is untouched.
#[test]
fn a_generated_pair_plans_exactly_the_expected_changes() {
    let script = std::env::var_os("TRAINYARD_GEN_TREE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen-tree.py"),
        PathBuf::from,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let pair = dir.path().join("pair");
    let generated = std::process::Command::new("python3")
        .arg(&script)
        .arg(&pair)
        .args(["--files", "2000"])
        .output();
    // The generator lives beside the repository (../shared/bench), as in
    // CI; without it this test fails rather than passing untested.
    match generated {
        Ok(out) => assert!(
            out.status.success(),
            "the generated pair needs {} (../shared/bench beside the repository, or TRAINYARD_GEN_TREE): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("the generated pair needs python3: {e}"),
    }
    let (source, target) = (pair.join("source"), pair.join("target"));
    let expected: BTreeSet<(String, Vec<u8>)> = std::fs::read(pair.join("expected.tsv"))
        .expect("expected.tsv")
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let tab = line.iter().position(|b| *b == b'\t').expect("tab");
            let kind = String::from_utf8(line[..tab].to_vec()).expect("kind");
            (kind, line[tab + 1..].to_vec())
        })
        .collect();
    let kind_name = |k: ChangeKind| match k {
        ChangeKind::Add => "add",
        ChangeKind::Modify => "modify",
        ChangeKind::Delete => "delete",
    };
    // The pair holds edits only a content check finds.
    let same_size_and_mtime = expected
        .iter()
        .filter(|(kind, rel)| {
            let stat = |root: &Path| {
                let m = std::fs::metadata(root.join(OsStr::from_bytes(rel))).expect("stat");
                (m.len(), m.mtime(), m.mtime_nsec())
            };
            kind == "modify" && stat(&source) == stat(&target)
        })
        .count();
    assert!(
        same_size_and_mtime > 0,
        "the corpus has no metadata-invisible edit"
    );

    let before = fingerprint_tree(&target);
    let all = Filters::default();
    let source_scan = scan(&source, &all, None).expect("source");
    let target_scan = scan(&target, &all, None).expect("target");
    assert!(source_scan.snapshot.len() > 1900);
    assert_eq!(source_scan.files_from_cache, 0);
    let plan: Vec<_> = changes(&source_scan.snapshot, &target_scan.snapshot).collect();
    let planned: BTreeSet<(String, Vec<u8>)> = plan
        .iter()
        .map(|c| (kind_name(c.kind).to_string(), c.path.0.clone()))
        .collect();
    let show = |set: BTreeSet<&(String, Vec<u8>)>| -> Vec<String> {
        set.iter()
            .map(|(k, p)| format!("{k} {}", SyncPath(p.clone())))
            .collect()
    };
    assert_eq!(
        planned,
        expected,
        "planned but not expected: {:?}; expected but not planned: {:?}",
        show(planned.difference(&expected).collect()),
        show(expected.difference(&planned).collect())
    );
    assert_eq!(
        fingerprint_tree(&target),
        before,
        "the dry-run touched the target"
    );

    // A cached re-plan: the first pass fills one cache for both roots,
    // the second reads nothing and plans the same.
    let mut cache = cache_without_racy_window();
    for _ in 0..2 {
        scan(&source, &all, Some(&mut cache)).expect("source");
        scan(&target, &all, Some(&mut cache)).expect("target");
    }
    let cached_source = scan(&source, &all, Some(&mut cache)).expect("source");
    let cached_target = scan(&target, &all, Some(&mut cache)).expect("target");
    let files = |r: &ScanReport| {
        r.snapshot
            .iter()
            .filter(|(_, e)| e.kind == EntryKind::File)
            .count()
    };
    assert_eq!(cached_source.files_from_cache, files(&source_scan));
    assert_eq!(cached_target.files_from_cache, files(&target_scan));
    assert_eq!(cached_source.files_hashed + cached_target.files_hashed, 0);
    assert_eq!(
        changes(&cached_source.snapshot, &cached_target.snapshot).collect::<Vec<_>>(),
        plan
    );
    assert_eq!(
        fingerprint_tree(&target),
        before,
        "the cached re-plan touched the target"
    );
}

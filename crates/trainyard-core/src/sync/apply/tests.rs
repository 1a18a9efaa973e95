#![allow(clippy::disallowed_methods)]
use super::*;
use crate::ErrorKind;
use crate::sync::model::Entry;
use crate::sync::model::{ContentHash, EntryKind};
use crate::sync::snapshot::{Snapshot, changes};
use crate::sync::test_child;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

// -- trees --------------------------------------------------------------

fn os(root: &Path, rel: &[u8]) -> PathBuf {
    SyncPath(rel.to_vec()).under(root)
}

pub(super) fn write(root: &Path, rel: &[u8], content: &[u8]) {
    let path = os(root, rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, content).expect("write");
}

pub(super) fn link(root: &Path, rel: &[u8], to: &[u8]) {
    let path = os(root, rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(to), &path).expect("symlink");
}

pub(super) fn chmod(root: &Path, rel: &[u8], mode: u32) {
    std::fs::set_permissions(os(root, rel), std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn walk(root: &Path, rel: &[u8], out: &mut Vec<(Vec<u8>, std::fs::Metadata)>) {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        os(root, rel)
    };
    for entry in std::fs::read_dir(dir).expect("list") {
        let entry = entry.expect("entry");
        let mut path = rel.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(entry.file_name().as_bytes());
        let meta = std::fs::symlink_metadata(entry.path()).expect("lstat");
        let is_dir = meta.is_dir();
        out.push((path.clone(), meta));
        if is_dir {
            walk(root, &path, out);
        }
    }
}

/// The snapshot a planner would take (files and symlinks).
pub(super) fn scan(root: &Path) -> Snapshot {
    let mut items = Vec::new();
    walk(root, b"", &mut items);
    let mut snapshot = Vec::new();
    for (rel, meta) in items {
        let path = os(root, &rel);
        let entry = if meta.is_symlink() {
            let text = std::fs::read_link(&path).expect("readlink");
            let bytes = text.as_os_str().as_bytes().to_vec();
            Entry {
                kind: EntryKind::Symlink,
                executable: false,
                size: bytes.len() as u64,
                hash: ContentHash::of(&bytes),
                link: Some(SyncPath(bytes)),
            }
        } else if meta.is_file() {
            let content = std::fs::read(&path).expect("read");
            Entry {
                kind: EntryKind::File,
                executable: meta.permissions().mode() & 0o111 != 0,
                size: content.len() as u64,
                hash: ContentHash::of(&content),
                link: None,
            }
        } else {
            continue;
        };
        snapshot.push((SyncPath(rel), entry));
    }
    snapshot.into_iter().collect()
}

/// Everything in a tree: directories, files with their mode and
/// content hash, symlinks with their text.
pub(super) fn tree(root: &Path) -> BTreeMap<Vec<u8>, String> {
    let mut items = Vec::new();
    walk(root, b"", &mut items);
    items
        .into_iter()
        .map(|(rel, meta)| {
            let path = os(root, &rel);
            let what = if meta.is_dir() {
                "dir".to_string()
            } else if meta.is_symlink() {
                let text = std::fs::read_link(&path).expect("readlink");
                format!("link {:?}", text)
            } else {
                let content = std::fs::read(&path).expect("read");
                format!(
                    "file {:o} {}",
                    meta.permissions().mode() & 0o777,
                    blake3::hash(&content).to_hex()
                )
            };
            (rel, what)
        })
        .collect()
}

pub(super) fn stray_temps(root: &Path) -> Vec<String> {
    tree(root)
        .into_keys()
        .filter(|rel| {
            let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
            name.starts_with(STAGE_PREFIX.as_bytes())
        })
        .map(|rel| String::from_utf8_lossy(&rel).into_owned())
        .collect()
}

// -- the fixture --------------------------------------------------------

struct Fixture {
    dir: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
    journal: PathBuf,
}

const WEIRD: &[u8] = b"sp ace/new\nline \xff\xfe.txt";

/// A source and a target differing in every way a sync handles: adds
/// (new directories too), modifies (content, mode only, a read-only
/// file, symlink text, file to symlink), deletes (with directories to
/// prune), a file that becomes a directory and a directory that
/// becomes a file, odd names, and a file larger than one copy buffer.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source");
    let target = dir.path().join("target");
    let journal = dir.path().join("journal");
    std::fs::create_dir_all(&source).expect("source");
    std::fs::create_dir_all(&target).expect("target");
    let (s, t) = (source.as_path(), target.as_path());

    write(t, b"keep.txt", b"same");
    write(s, b"keep.txt", b"same");
    write(t, b"mod.txt", b"old");
    write(s, b"mod.txt", b"new content");
    write(t, b"ro.txt", b"old read-only");
    chmod(t, b"ro.txt", 0o444);
    write(s, b"ro.txt", b"new read-only");
    write(t, b"del.txt", b"bye");
    write(t, b"gone/deep/x.txt", b"bye too");
    write(t, b"swap_file", b"a file that becomes a directory");
    write(s, b"swap_file/inner.txt", b"inside");
    write(t, b"swap_dir/a.txt", b"a");
    write(t, b"swap_dir/sub/b.txt", b"b");
    write(s, b"swap_dir", b"a directory that becomes a file");
    write(t, b"exec.sh", b"#!/bin/sh\necho hi\n");
    write(s, b"exec.sh", b"#!/bin/sh\necho hi\n");
    chmod(s, b"exec.sh", 0o755);
    write(t, b"bin/tool", b"#!/bin/sh\n");
    chmod(t, b"bin/tool", 0o755);
    write(s, b"bin/tool", b"#!/bin/sh\nexit 0\n");
    link(t, b"oldlink", b"somewhere");
    link(s, b"oldlink", b"elsewhere");
    write(t, b"filelink", b"was a file");
    link(s, b"filelink", b"keep.txt");
    link(s, b"newlink", b"../../outside");
    write(s, b"new/dir/added.txt", b"added");
    write(s, WEIRD, b"odd name");
    let big: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(s, b"big.bin", &big);
    Fixture {
        dir,
        source,
        target,
        journal,
    }
}

fn plan(f: &Fixture) -> Vec<Change> {
    changes(&scan(&f.source), &scan(&f.target)).collect()
}

fn request<'a>(f: &'a Fixture, changes: &'a [Change], id: &'a str) -> ApplyRequest<'a> {
    ApplyRequest {
        source_root: &f.source,
        target_root: &f.target,
        changes,
        journal_dir: &f.journal,
        apply_id: id,
        plan_id: "plan-1",
    }
}

fn journal_state(f: &Fixture, id: &str) -> JournalState {
    JournalState::of(&journal::read(&journal::journal_path(&f.journal, id)).expect("journal"))
}

/// Asserts a failed apply left the target exactly as it was.
fn assert_untouched(f: &Fixture, before: &BTreeMap<Vec<u8>, String>, id: &str) {
    assert_eq!(&tree(&f.target), before);
    assert_eq!(stray_temps(&f.target), Vec::<String>::new());
    assert_eq!(journal_state(f, id), JournalState::Aborted);
    assert_eq!(interrupted(&f.journal).expect("interrupted"), None);
}

// -- applying -----------------------------------------------------------

#[test]
fn apply_makes_the_target_equal_the_source() {
    let f = fixture();
    let changes = plan(&f);
    let kinds = |k| changes.iter().filter(|c| c.kind == k).count();
    assert_eq!(
        (
            kinds(ChangeKind::Add),
            kinds(ChangeKind::Modify),
            kinds(ChangeKind::Delete)
        ),
        (6, 6, 5),
        "{changes:#?}"
    );
    let outcome = apply(&request(&f, &changes, "a1")).expect("apply");
    assert_eq!(
        (outcome.added, outcome.modified, outcome.deleted),
        (6, 6, 5)
    );
    assert_eq!(scan(&f.target), scan(&f.source));
    assert_eq!(stray_temps(&f.target), Vec::<String>::new());
    assert_eq!(journal_state(&f, "a1"), JournalState::Committed);
    assert_eq!(interrupted(&f.journal).expect("interrupted"), None);

    let t = f.target.as_path();
    // Emptied directories are gone, new ones exist.
    assert!(!t.join("gone").exists());
    assert!(t.join("new/dir").is_dir());
    assert!(t.join("swap_file").is_dir() && t.join("swap_dir").is_file());
    // Modes: the executable bit follows the plan, the read-only file
    // keeps its mode.
    let mode = |rel: &str| {
        std::fs::symlink_metadata(t.join(rel))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("exec.sh") & 0o111, 0o111);
    assert_eq!(
        mode("bin/tool") & 0o111,
        0,
        "the source's tool is not executable"
    );
    assert_eq!(mode("mod.txt") & 0o111, 0);
    assert_eq!(mode("ro.txt"), 0o444);
    assert_eq!(
        std::fs::read(t.join("ro.txt")).expect("ro"),
        b"new read-only"
    );
    // Symlinks are links, with the planned text.
    assert_eq!(
        std::fs::read_link(t.join("newlink")).expect("link"),
        Path::new("../../outside")
    );
    assert!(
        std::fs::symlink_metadata(t.join("filelink"))
            .expect("meta")
            .is_symlink()
    );
    // The odd name is there, byte for byte.
    assert_eq!(std::fs::read(os(t, WEIRD)).expect("weird"), b"odd name");
    // Recovering a committed apply does nothing.
    let again = recover(&f.target, &f.journal, Some("a1")).expect("recover");
    assert_eq!(again.action, RecoveryAction::AlreadyCommitted);
}

#[test]
fn apply_replaces_a_read_only_file_in_a_writable_directory() {
    let f = fixture();
    let changes: Vec<Change> = plan(&f)
        .into_iter()
        .filter(|c| c.path.0 == b"ro.txt")
        .collect();
    assert_eq!(changes.len(), 1);
    apply(&request(&f, &changes, "ro")).expect("apply");
    let meta = std::fs::metadata(f.target.join("ro.txt")).expect("meta");
    assert_eq!(meta.permissions().mode() & 0o777, 0o444);
    assert_eq!(
        std::fs::read(f.target.join("ro.txt")).expect("read"),
        b"new read-only"
    );
}

/// A fixture with empty trees, for cases of their own.
fn empty_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let (source, target) = (dir.path().join("source"), dir.path().join("target"));
    std::fs::create_dir_all(&source).expect("source");
    std::fs::create_dir_all(&target).expect("target");
    let journal = dir.path().join("journal");
    Fixture {
        dir,
        source,
        target,
        journal,
    }
}

/// The deletes under the directory are probed while staging; the probe's
/// directory is a symlink once the apply has finished, and must not stop
/// it.
#[test]
fn apply_turns_a_directory_into_a_symlink() {
    let f = empty_fixture();
    write(&f.target, b"d/a", b"");
    write(&f.target, b"d/sub/b", b"b");
    link(&f.source, b"d", b"elsewhere");
    let changes = plan(&f);
    apply(&request(&f, &changes, "dir-to-link")).expect("apply");
    assert_eq!(scan(&f.target), scan(&f.source));
    assert_eq!(stray_temps(&f.target), Vec::<String>::new());
    assert_eq!(journal_state(&f, "dir-to-link"), JournalState::Committed);
}

#[test]
fn apply_refuses_a_stale_source_and_leaves_the_target() {
    let f = fixture();
    let changes = plan(&f);
    let before = tree(&f.target);
    write(&f.source, b"new/dir/added.txt", b"changed after the plan");
    let err = apply(&request(&f, &changes, "stale")).expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("stale source"), "{err}");
    assert!(err.to_string().contains("new/dir/added.txt"), "{err}");
    assert_untouched(&f, &before, "stale");
}

#[test]
fn apply_refuses_a_stale_target_and_leaves_it() {
    let f = fixture();
    let changes = plan(&f);
    write(&f.target, b"del.txt", b"edited by hand since the plan");
    let before = tree(&f.target);
    let err = apply(&request(&f, &changes, "stale-t")).expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("stale target: `del.txt`"), "{err}");
    assert_untouched(&f, &before, "stale-t");
}

#[test]
fn apply_refuses_unsafe_and_inconsistent_plans() {
    let f = fixture();
    let entry = |c: &[u8]| Entry {
        kind: EntryKind::File,
        executable: false,
        size: c.len() as u64,
        hash: ContentHash::of(c),
        link: None,
    };
    let add = |p: &[u8]| Change {
        path: SyncPath(p.to_vec()),
        kind: ChangeKind::Add,
        before: None,
        after: Some(entry(b"x")),
    };
    for (plan, needle) in [
        (vec![add(b"../escape")], "unsafe path"),
        (vec![add(b"/abs")], "unsafe path"),
        (vec![add(b"a//b")], "unsafe path"),
        (vec![add(b"a/./b")], "unsafe path"),
        (vec![add(b"twice"), add(b"twice")], "twice"),
        (vec![add(b"f"), add(b"f/g")], "under `f`"),
    ] {
        let err = apply(&request(&f, &plan, "bad")).expect_err(needle);
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains(needle), "{err}");
    }
    // Nothing was journaled for a plan refused up front.
    assert!(!f.journal.exists());
    // An apply id is used once.
    let changes = plan(&f);
    apply(&request(&f, &changes, "once")).expect("first");
    let err = apply(&request(&f, &[], "once")).expect_err("reused");
    assert!(err.to_string().contains("already has a journal"), "{err}");
}

#[test]
fn apply_never_writes_through_a_symlink_in_the_target() {
    let f = fixture();
    let outside = f.dir.path().join("outside");
    write(&outside, b"sentinel", b"do not touch");
    write(&outside, b"existing", b"outside content");
    let outside_before = tree(&outside);
    // target/link -> outside; the source has a real directory there.
    link(&f.target, b"link", outside.as_os_str().as_bytes());
    write(&f.source, b"link/file", b"would escape");
    write(&f.source, b"link/existing", b"would overwrite");
    let source = scan(&f.source);
    let target = scan(&f.target);
    let pick = |p: &[u8]| SyncPath(p.to_vec());
    let after = |p: &[u8]| source.get(&pick(p).0).expect("in the source");
    let outside_entry = |p: &[u8]| {
        let content = std::fs::read(os(&outside, p)).expect("read");
        Entry {
            kind: EntryKind::File,
            executable: false,
            size: content.len() as u64,
            hash: ContentHash::of(&content),
            link: None,
        }
    };
    let bad_plans = [
        vec![Change {
            path: pick(b"link/file"),
            kind: ChangeKind::Add,
            before: None,
            after: Some(after(b"link/file")),
        }],
        vec![Change {
            path: pick(b"link/existing"),
            kind: ChangeKind::Modify,
            before: Some(outside_entry(b"existing")),
            after: Some(after(b"link/existing")),
        }],
        vec![Change {
            path: pick(b"link/sentinel"),
            kind: ChangeKind::Delete,
            before: Some(outside_entry(b"sentinel")),
            after: None,
        }],
    ];
    for (n, bad) in bad_plans.iter().enumerate() {
        let before = tree(&f.target);
        let id = format!("escape-{n}");
        let err = apply(&request(&f, bad, &id)).expect_err("escape");
        assert_eq!(err.kind(), ErrorKind::Input, "{err}");
        assert!(err.to_string().contains("symlink `link`"), "{err}");
        assert_eq!(tree(&outside), outside_before);
        assert_untouched(&f, &before, &id);
    }
    // The full plan replaces the symlink with a directory: still
    // nothing outside changes.
    let changes: Vec<Change> = changes(&source, &target)
        .filter(|c| c.path.0.starts_with(b"link"))
        .collect();
    assert_eq!(changes.len(), 3, "{changes:#?}");
    apply(&request(&f, &changes, "replace-link")).expect("apply");
    assert!(f.target.join("link").is_dir());
    assert!(
        !std::fs::symlink_metadata(f.target.join("link"))
            .expect("meta")
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(f.target.join("link/file")).expect("read"),
        b"would escape"
    );
    assert_eq!(tree(&outside), outside_before);
}

// -- full disks and read-only directories -------------------------------

#[test]
fn apply_undoes_staging_on_an_injected_full_disk() {
    let f = fixture();
    let changes = plan(&f);
    let before = tree(&f.target);
    for fail_at in [1, 3, 6] {
        let id = format!("enospc-{fail_at}");
        let hooks = Hooks {
            fail_write_at: Some(fail_at),
            ..Hooks::default()
        };
        let err = apply_with(&request(&f, &changes, &id), &hooks).expect_err("full");
        assert_eq!(err.kind(), ErrorKind::Environment);
        assert!(err.to_string().contains("no space left"), "{err}");
        assert_untouched(&f, &before, &id);
    }
}

fn output_of(cmd: &mut std::process::Command) -> std::process::Output {
    cmd.output().expect("run a command")
}

const FULL_DISK_TEST: &str = "sync::apply::tests::apply_undoes_staging_on_a_real_full_disk";
const FULL_DISK: &str = "full-disk";

/// The parent's mount namespace, which the full-disk child must not be
/// in: its mount must stay in a namespace of its own.
const PARENT_MOUNTS_ENV: &str = "TRAINYARD_TEST_CHILD_PARENT_MOUNTS";

/// This process's mount namespace, as `mnt:[<inode>]`.
fn mount_namespace() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .expect("/proc/self/ns/mnt")
        .display()
        .to_string()
}

/// A real ENOSPC on a 64 KiB tmpfs, mounted by a child in a mount
/// namespace of its own so that no mount outlives the test, even a
/// killed one: as root a plain one, otherwise one with a user namespace
/// mapping the caller to root (where the system allows it; if not, the
/// test fails saying so).
#[test]
fn apply_undoes_staging_on_a_real_full_disk() {
    if test_child::is_child(FULL_DISK) {
        return full_disk();
    }
    let unshare = test_child::which("unshare")
        .expect("a real full disk needs `unshare` (util-linux) for a private tmpfs");
    let mut cmd = std::process::Command::new(unshare);
    if test_child::euid() != 0 {
        cmd.args(["--user", "--map-root-user"]);
    }
    cmd.args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().expect("exe"))
        .args(test_child::args(FULL_DISK_TEST))
        .env(test_child::ROLE_ENV, FULL_DISK)
        .env(PARENT_MOUNTS_ENV, mount_namespace());
    test_child::assert_passed(&output_of(&mut cmd), FULL_DISK_TEST);
}

/// The child of [`apply_undoes_staging_on_a_real_full_disk`], in its own
/// mount namespace.
fn full_disk() {
    let parent = std::env::var(PARENT_MOUNTS_ENV)
        .unwrap_or_else(|_| panic!("the full-disk child needs {PARENT_MOUNTS_ENV}"));
    assert_ne!(
        mount_namespace(),
        parent,
        "the full-disk child must run in a mount namespace of its own"
    );
    let f = fixture();
    let small = f.dir.path().join("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    let mounted = output_of(
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&small),
    );
    assert!(
        mounted.status.success(),
        "cannot mount a 64 KiB tmpfs for a real full disk (run as root, or where user namespaces are allowed): {}",
        String::from_utf8_lossy(&mounted.stderr)
    );
    let target = small.join("target");
    write(&target, b"mod.txt", b"old");
    write(&target, b"keep.txt", b"same");
    let changes = plan(&Fixture {
        dir: tempfile::tempdir().expect("tempdir"),
        source: f.source.clone(),
        target: target.clone(),
        journal: f.journal.clone(),
    });
    let before = tree(&target);
    let request = ApplyRequest {
        source_root: &f.source,
        target_root: &target,
        changes: &changes,
        journal_dir: &f.journal,
        apply_id: "tmpfs",
        plan_id: "p",
    };
    let err = apply(&request).expect_err("full disk");
    assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("no space left"),
        "{err}"
    );
    assert_eq!(tree(&target), before);
    assert_eq!(stray_temps(&target), Vec::<String>::new());
    assert_eq!(journal_state(&f, "tmpfs"), JournalState::Aborted);
}

/// Makes a directory read-only (mode 0555); panics where that does not
/// stop writes, as for root. Writable again on drop.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn new(dir: &Path) -> Self {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let probe = dir.join(".probe");
        assert!(
            std::fs::write(&probe, b"").is_err(),
            "{} is writable at mode 0555: these privileges ignore file modes",
            dir.display()
        );
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

const READ_ONLY_TEST: &str =
    "sync::apply::tests::apply_into_a_read_only_directory_fails_with_nothing_half_applied";
const READ_ONLY: &str = "read-only-directory";

/// Root writes into read-only directories, so the case runs in a child
/// without root's privileges.
#[test]
fn apply_into_a_read_only_directory_fails_with_nothing_half_applied() {
    if test_child::is_child(READ_ONLY) {
        return read_only_directory();
    }
    test_child::Unprivileged::new(READ_ONLY_TEST, READ_ONLY).run();
}

/// The child of [`apply_into_a_read_only_directory_fails_with_nothing_half_applied`].
fn read_only_directory() {
    let f = fixture();
    // gone/deep/x.txt is deleted: its directory is probed while staging.
    let changes = plan(&f);
    let before = tree(&f.target);
    let guard = ReadOnly::new(&f.target.join("gone/deep"));
    let err = apply(&request(&f, &changes, "ro-dir")).expect_err("read-only");
    drop(guard);
    assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
    assert!(err.to_string().contains("gone/deep"), "{err}");
    assert_untouched(&f, &before, "ro-dir");

    // A read-only directory an add writes into fails the same way.
    let f = fixture();
    let changes = plan(&f);
    let before = tree(&f.target);
    let guard = ReadOnly::new(&f.target.join("bin"));
    let err = apply(&request(&f, &changes, "ro-add")).expect_err("read-only");
    drop(guard);
    assert!(err.to_string().contains("bin"), "{err}");
    assert_untouched(&f, &before, "ro-add");
}

// -- crashes ------------------------------------------------------------

const CRASH: &str = "crash";

/// The spec file of a crash child.
const SPEC_ENV: &str = "TRAINYARD_TEST_CHILD_SPEC";

/// What the child process does.
#[derive(Serialize, Deserialize)]
struct ChildSpec {
    recover: bool,
    source: PathBuf,
    target: PathBuf,
    journal: PathBuf,
    apply_id: String,
    changes: Vec<Change>,
}

/// The child of the crash tests, each of which calls this first and
/// returns when it is true: in a crash child, with [`SPEC_ENV`] naming a
/// spec file, applies (or recovers) as it says; the crash point in
/// `TRAINYARD_SYNC_CRASH_AFTER` kills it midway.
fn crash_child() -> bool {
    if !test_child::is_child(CRASH) {
        return false;
    }
    let spec = std::env::var(SPEC_ENV)
        .unwrap_or_else(|_| panic!("a crash child needs {SPEC_ENV} naming a spec"));
    let spec: ChildSpec =
        serde_json::from_slice(&std::fs::read(spec).expect("spec")).expect("parse spec");
    if spec.recover {
        recover(&spec.target, &spec.journal, Some(&spec.apply_id)).expect("recover");
    } else {
        apply(&ApplyRequest {
            source_root: &spec.source,
            target_root: &spec.target,
            changes: &spec.changes,
            journal_dir: &spec.journal,
            apply_id: &spec.apply_id,
            plan_id: "plan-1",
        })
        .expect("apply");
    }
    true
}

/// Runs the crash test `test` again as a crash child with a crash
/// point; asserts it was killed there.
fn crash(test: &str, f: &Fixture, changes: &[Change], id: &str, recover: bool, point: &str) {
    let spec_path = f.dir.path().join(format!("spec-{id}-{recover}.json"));
    let spec = ChildSpec {
        recover,
        source: f.source.clone(),
        target: f.target.clone(),
        journal: f.journal.clone(),
        apply_id: id.to_string(),
        changes: changes.to_vec(),
    };
    std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("json")).expect("spec");
    let output = test_child::command(test, CRASH)
        .env(SPEC_ENV, &spec_path)
        .env(journal::CRASH_AFTER_ENV, point)
        .output()
        .expect("run child");
    assert_eq!(
        output.status.signal(),
        Some(9),
        "child was not killed at {point}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every journal step of a clean apply, as crash points `event:n`,
/// and whether each is past the commit point.
fn crash_points(events: &[Event]) -> Vec<(String, bool)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut committed = false;
    events
        .iter()
        .map(|e| {
            committed |= matches!(e, Event::StagedAll { .. });
            let n = counts.entry(e.name()).or_default();
            *n += 1;
            (format!("{}:{n}", e.name()), committed)
        })
        .collect()
}

const EVERY_STEP_TEST: &str =
    "sync::apply::tests::apply_crash_at_every_journal_step_then_recover_is_all_or_nothing";

#[test]
fn apply_crash_at_every_journal_step_then_recover_is_all_or_nothing() {
    if crash_child() {
        return;
    }
    // The reference: the trees before and after a clean apply, and
    // the journal steps it takes.
    let reference = fixture();
    let changes = plan(&reference);
    let before = tree(&reference.target);
    apply(&request(&reference, &changes, "ref")).expect("reference apply");
    let after = tree(&reference.target);
    let events = journal::read(&journal::journal_path(&reference.journal, "ref")).expect("read");
    let points = crash_points(&events);
    for kind in [
        "begin:1",
        "stage:1",
        "staged:1",
        "staged_all:1",
        "deleted:1",
        "renamed:1",
    ] {
        assert!(
            points.iter().any(|(p, _)| p == kind),
            "{kind} in {points:?}"
        );
    }
    assert!(points.len() > 30, "{points:?}");

    for (point, past_commit) in &points {
        let f = fixture();
        assert_eq!(tree(&f.target), before);
        crash(EVERY_STEP_TEST, &f, &changes, "crashy", false, point);
        let finished = point.starts_with("committed");
        assert_eq!(
            interrupted(&f.journal).expect("interrupted"),
            (!finished).then(|| "crashy".to_string()),
            "{point}"
        );
        let outcome = recover(&f.target, &f.journal, None).expect("recover");
        let expected = match (finished, past_commit) {
            (true, _) => RecoveryAction::NothingToRecover,
            (false, true) => RecoveryAction::RolledForward,
            (false, false) => RecoveryAction::RolledBack,
        };
        assert_eq!(outcome.action, expected, "{point}");
        let wanted = if *past_commit { &after } else { &before };
        assert_eq!(&tree(&f.target), wanted, "after a crash at {point}");
        assert_eq!(stray_temps(&f.target), Vec::<String>::new(), "{point}");
        assert_eq!(
            interrupted(&f.journal).expect("interrupted"),
            None,
            "{point}"
        );
        let again = recover(&f.target, &f.journal, Some("crashy")).expect("again");
        assert!(
            matches!(
                again.action,
                RecoveryAction::AlreadyCommitted | RecoveryAction::AlreadyAborted
            ),
            "{point}: {again:?}"
        );
    }
}

const RECOVER_CRASH_TEST: &str = "sync::apply::tests::recover_survives_a_crash_of_its_own";

#[test]
fn recover_survives_a_crash_of_its_own() {
    if crash_child() {
        return;
    }
    let reference = fixture();
    let changes = plan(&reference);
    let before = tree(&reference.target);
    apply(&request(&reference, &changes, "ref")).expect("reference apply");
    let after = tree(&reference.target);

    // Rolling forward, interrupted after its first delete and after
    // its third rename.
    for point in ["deleted:1", "renamed:3"] {
        let f = fixture();
        crash(
            RECOVER_CRASH_TEST,
            &f,
            &changes,
            "twice",
            false,
            "staged_all",
        );
        crash(RECOVER_CRASH_TEST, &f, &changes, "twice", true, point);
        let outcome = recover(&f.target, &f.journal, None).expect("recover");
        assert_eq!(outcome.action, RecoveryAction::RolledForward, "{point}");
        assert_eq!(tree(&f.target), after, "{point}");
        assert_eq!(stray_temps(&f.target), Vec::<String>::new());
    }
    // Rolling back, interrupted once it journaled `aborted`.
    let f = fixture();
    crash(RECOVER_CRASH_TEST, &f, &changes, "back", false, "staged:3");
    crash(RECOVER_CRASH_TEST, &f, &changes, "back", true, "aborted");
    let outcome = recover(&f.target, &f.journal, Some("back")).expect("recover");
    assert_eq!(outcome.action, RecoveryAction::AlreadyAborted);
    assert_eq!(tree(&f.target), before);
    assert_eq!(stray_temps(&f.target), Vec::<String>::new());
}

const NOTHING_INTERRUPTED_TEST: &str =
    "sync::apply::tests::recover_with_nothing_interrupted_does_nothing";

#[test]
fn recover_with_nothing_interrupted_does_nothing() {
    if crash_child() {
        return;
    }
    let f = fixture();
    let outcome = recover(&f.target, &f.journal, None).expect("recover");
    assert_eq!(outcome.action, RecoveryAction::NothingToRecover);
    assert_eq!(outcome.apply_id, None);
    let err = recover(&f.target, &f.journal, Some("nope")).expect_err("no journal");
    assert_eq!(err.kind(), ErrorKind::Input);
    // A journal is recovered only against its own target.
    let changes = plan(&f);
    crash(
        NOTHING_INTERRUPTED_TEST,
        &f,
        &changes,
        "elsewhere",
        false,
        "staged:1",
    );
    let other = f.dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let err = recover(&other, &f.journal, None).expect_err("wrong target");
    assert!(
        err.to_string().contains("recover it against that target"),
        "{err}"
    );
}

//! `trainyard sync recover` after an apply killed (SIGKILL, by the
//! `TRAINYARD_SYNC_CRASH_AFTER` hook) at every step of its journal, and
//! `trainyard sync unlock` against the lock of a killed apply and of a
//! running one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::support::TestRepo;
use crate::sync_locks::{files, finish, logs, open_sync, plan, stray_temps, wait_for};

/// A repository syncing `src` to `dst` (sync `site`): adds (in new nested
/// directories, an empty file), modifies, deletes (emptying a directory)
/// and a mode change.
fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/keep.txt", "same\n");
    repo.write("src/mod.txt", "new content\n");
    repo.write("src/new/deep/added.txt", "added\n");
    repo.write("src/new/empty", "");
    repo.write("src/tool.sh", "#!/bin/sh\nexit 0\n");
    repo.write("dst/keep.txt", "same\n");
    repo.write("dst/mod.txt", "old\n");
    repo.write("dst/gone/deep/x.txt", "bye\n");
    repo.write("dst/del.txt", "bye too\n");
    repo.write("dst/tool.sh", "#!/bin/sh\nexit 0\n");
    set_mode(&repo.path().join("src/tool.sh"), 0o755);
    repo.commit("chore: trees");
    repo.write(
        ".trainyard/syncs/site.yaml",
        &open_sync("site", "src", "dst"),
    );
    repo
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every file under `root` with its bytes and its executable bit.
fn state(root: &Path) -> Vec<(PathBuf, Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    files(root)
        .into_iter()
        .map(|(rel, bytes)| {
            let mode = std::fs::metadata(root.join(&rel))
                .expect("stat")
                .permissions()
                .mode();
            (rel, bytes, mode & 0o111 != 0)
        })
        .collect()
}

/// The journal of the one apply of `sync` in `repo`.
fn journal(repo: &TestRepo, sync: &str) -> PathBuf {
    let dir = repo
        .path()
        .join(".trainyard/sync-state")
        .join(sync)
        .join("journal");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no journal directory {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().expect("one journal")
}

/// Every step of a journal as a crash point `event:n`, and whether it is
/// past the commit point (`staged_all`).
fn crash_points(journal: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(journal).expect("journal");
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut committed = false;
    text.lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("journal line");
            let name = event["event"].as_str().expect("event name").to_owned();
            committed |= name == "staged_all";
            let n = counts.entry(name.clone()).or_default();
            *n += 1;
            (format!("{name}:{n}"), committed)
        })
        .collect()
}

#[test]
fn recover_after_a_kill_at_every_journal_step_leaves_before_or_after() {
    // The reference: the target before and after a clean apply, and the
    // journal steps that apply takes.
    let reference = fixture();
    let before = state(&reference.path().join("dst"));
    let (id, _) = plan(&reference, "site", &[]);
    let applied = reference.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    let after = state(&reference.path().join("dst"));
    assert_eq!(after, state(&reference.path().join("src")));
    assert_ne!(before, after);
    let points = crash_points(&journal(&reference, "site"));
    for step in [
        "begin:1",
        "stage:1",
        "staged:1",
        "staged_all:1",
        "renamed:1",
        "deleted:1",
    ] {
        assert!(
            points.iter().any(|(p, _)| p == step),
            "{step} in {points:?}"
        );
    }
    assert_eq!(points.last().map(|(p, _)| p.as_str()), Some("committed:1"));

    for (point, past_commit) in &points {
        let repo = fixture();
        let (id, diff_ref) = plan(&repo, "site", &[]);
        let killed = repo.run_env(
            &["sync", "apply", &id],
            &[("TRAINYARD_SYNC_CRASH_AFTER", point)],
        );
        assert_eq!(
            killed.code(),
            -1,
            "{point}: not killed: {}",
            killed.transcript()
        );
        assert!(
            repo.path().join(".dst.trainyard-lock").exists(),
            "{point}: no lock left"
        );

        let recovered = repo.run(&["--json", "sync", "recover", "site"]);
        assert_eq!(recovered.code(), 0, "{point}: {}", recovered.transcript());
        let report = recovered.json();
        let action = report["applies"][0]["action"].as_str().unwrap_or("none");
        let target = state(&repo.path().join("dst"));
        // Past the commit point the target holds the plan; before it, it
        // is as it was; and the journal's recovery says which.
        let (wanted, expected_action, status) = match (point.starts_with("committed"), past_commit)
        {
            (true, _) => (&after, "already_committed", "success"),
            (false, true) => (&after, "rolled_forward", "success"),
            (false, false) => (&before, "rolled_back", "failed"),
        };
        assert_eq!(
            &target, wanted,
            "{point}: the target is neither as it was nor as planned"
        );
        assert_eq!(action, expected_action, "{point}: {report}");
        assert!(
            report["cleared_lock"]["id"].is_string(),
            "{point}: {report}"
        );
        assert!(!repo.path().join(".dst.trainyard-lock").exists(), "{point}");
        assert!(stray_temps(&repo.path().join("dst")).is_empty(), "{point}");
        let logs = logs(&repo);
        assert_eq!(logs.len(), 1, "{point}: {logs:?}");
        assert_eq!(logs[0]["execution"]["status"], status, "{point}");
        assert_eq!(logs[0]["dry_run"]["diff_ref"], diff_ref.as_str(), "{point}");

        let again = repo.run(&["sync", "recover", "site"]);
        assert_eq!(again.code(), 0, "{point}: {}", again.transcript());
        assert!(
            again.stderr().contains("no interrupted apply"),
            "{point}: {}",
            again.stderr()
        );
        assert_eq!(state(&repo.path().join("dst")), *wanted, "{point}");
        let verify = repo.run(&["evidence", "verify"]);
        assert_eq!(verify.code(), 0, "{point}: {}", verify.transcript());
    }
}

/// The lock file's JSON.
fn lock_info(lock: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(lock).expect("the lock beside the target"))
        .expect("lock JSON")
}

/// An apply killed once its journal was committed leaves nothing to
/// recover but its lock: `sync unlock` breaks it by its id, and the next
/// apply runs.
#[test]
fn unlock_breaks_the_stale_lock_of_a_killed_apply() {
    let repo = fixture();
    let (id, _) = plan(&repo, "site", &[]);
    let killed = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "committed")],
    );
    assert_eq!(killed.code(), -1, "{}", killed.transcript());
    let lock = repo.path().join(".dst.trainyard-lock");
    let info = lock_info(&lock);
    let lock_id = info["id"].as_str().expect("lock id").to_owned();

    repo.write("src/later.txt", "later\n");
    let now = [("TRAINYARD_NOW", "2027-01-13T10:01:00Z")];
    let (next, _) = plan(&repo, "site", &now);
    let refused = repo.run_env(&["sync", "apply", &next], &now);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    let text = refused.stderr();
    for needle in [
        format!("(process {}, no longer running)", info["pid"]),
        format!("(lock {lock_id} "),
        format!("applying plan {id} of sync site"),
    ] {
        assert!(text.contains(&needle), "{needle} missing from {text}");
    }

    let wrong = repo.run(&["sync", "unlock", "site", "0000000000000000"]);
    assert_eq!(wrong.code(), 2, "{}", wrong.transcript());
    assert!(lock.exists(), "a wrong id broke the lock");
    let broken = repo.run(&["sync", "unlock", "site", &lock_id]);
    assert_eq!(broken.code(), 0, "{}", broken.transcript());
    assert!(
        broken.stderr().contains(&format!("broke lock {lock_id}")),
        "{}",
        broken.stderr()
    );
    assert!(!lock.exists());
    let gone = repo.run(&["sync", "unlock", "site", &lock_id]);
    assert_eq!(gone.code(), 2, "{}", gone.transcript());
    assert!(gone.stderr().contains("is not locked"), "{}", gone.stderr());

    let applied = repo.run_env(&["sync", "apply", &next], &now);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        state(&repo.path().join("dst")),
        state(&repo.path().join("src"))
    );
}

/// `sync unlock` never breaks the lock of an apply that is running, even
/// given its id; the apply then finishes and releases it.
#[test]
fn unlock_refuses_the_lock_of_a_running_apply() {
    let repo = fixture();
    let (id, _) = plan(&repo, "site", &[]);
    let pause = repo.home().join("paused");
    let mut apply = repo
        .command(&["sync", "apply", &id])
        .env("TRAINYARD_SYNC_PAUSE_AFTER", "staged:1")
        .env("TRAINYARD_SYNC_PAUSE_FILE", &pause)
        .spawn()
        .expect("apply starts");
    wait_for(&pause, "the first file staged", &mut apply);
    let lock = repo.path().join(".dst.trainyard-lock");
    let lock_id = lock_info(&lock)["id"].as_str().expect("lock id").to_owned();

    let refused = repo.run(&["sync", "unlock", "site", &lock_id]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    let text = refused.stderr();
    for needle in [
        format!("(process {})", apply.id()),
        format!("(lock {lock_id} "),
        "try again once it has finished".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from {text}");
    }
    assert!(lock.exists(), "the running apply's lock was broken");

    std::fs::remove_file(&pause).expect("resume the apply");
    let (status, _, stderr) = finish(apply);
    assert!(status.success(), "the apply failed: {stderr}");
    assert!(!lock.exists(), "the lock outlived its apply");
    assert_eq!(
        state(&repo.path().join("dst")),
        state(&repo.path().join("src"))
    );
}

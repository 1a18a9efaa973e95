#![allow(clippy::disallowed_methods)]
use super::*;
use crate::sync::config::{Endpoint, EndpointType};
use crate::{Error, ErrorKind, Result};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).expect("timestamp")
}

const HOUR: Duration = Duration::from_secs(3600);

fn spot(dir: &Path, name: &str) -> LockSpot {
    LockSpot::new(dir, format!(".{name}.trainyard-lock"), name).expect("spot")
}

fn request(owner: &str, sync: &str, plan: &str) -> LockRequest {
    LockRequest {
        owner: owner.into(),
        action: LockAction::Apply,
        sync_id: sync.into(),
        plan_id: plan.into(),
        repository: PathBuf::from("/repos/here"),
        journal: None,
    }
}

fn take(
    spot: &LockSpot,
    owner: &str,
    plan: &str,
    now: Timestamp,
    take_over: TakeOver<'_>,
) -> Result<TargetLock> {
    TargetLock::acquire(spot, &request(owner, "prod", plan), HOUR, now, take_over)
}

fn expired() -> TakeOver<'static> {
    TakeOver::Expired(&|_| true)
}

fn held_of(err: &Error) -> &LockHeld {
    match err {
        Error::Locked(held) => held,
        other => panic!("not a lock refusal: {other}"),
    }
}

#[test]
fn lock_threads_race_and_exactly_one_wins() {
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let spot = spot(dir.path(), "prod");
                std::thread::spawn(move || {
                    barrier.wait();
                    let lock = take(&spot, &format!("worker-{i}"), "plan-1", at(0), expired());
                    // Hold until everyone has tried.
                    barrier.wait();
                    lock.map(|l| l.info().owner.clone())
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for err in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
            assert!(held_of(err).running, "{err}");
            assert!(
                err.to_string().contains("try again once it has finished"),
                "{err}"
            );
        }
        // Everyone dropped: the lock is gone, and no temporary is left.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn lock_held_error_names_holder_process_plan_time_and_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prod = spot(dir.path(), "prod");
    let lock = take(&prod, "alice", "plan-7", at(0), expired()).expect("acquire");
    assert!(lock.took_over().is_none());
    assert!(lock.path().ends_with(".prod.trainyard-lock"));
    let err = take(&prod, "bob", "plan-8", at(60), expired()).expect_err("held");
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Environment);
    for needle in [
        "sync target prod is locked by alice",
        &format!("(process {})", std::process::id()),
        "applying plan plan-7 of sync prod",
        &format!("since {}", at(0)),
        &lock.info().id,
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(!text.contains("unlock"), "{text}");
    // Another target is independent.
    take(
        &spot(dir.path(), "staging"),
        "bob",
        "plan-8",
        at(60),
        expired(),
    )
    .expect("other target");
    assert_eq!(read_lock(&prod).expect("read").expect("some"), *lock.info());
    let found = inspect(&prod).expect("inspect").expect("some");
    assert!(found.running);
    drop(lock);
    assert!(read_lock(&prod).expect("read").is_none());
    take(&prod, "bob", "plan-8", at(60), expired()).expect("free after drop");
}

/// A lock left by a crashed holder: the file, but no flock.
fn plant(spot: &LockSpot, id: &str, expires: Timestamp, repository: &str) -> LockInfo {
    let info = LockInfo {
        id: id.into(),
        target: spot.target().into(),
        owner: "crashed".into(),
        plan_id: "plan-old".into(),
        acquired_at: at(0),
        expires_at: expires,
        pid: 999_999,
        action: LockAction::Apply,
        sync_id: "nightly".into(),
        repository: Some(PathBuf::from(repository)),
        journal: None,
    };
    std::fs::write(spot.path(), serde_json::to_vec(&info).expect("json")).expect("plant");
    info
}

#[test]
fn lock_of_a_gone_holder_names_the_recovery_that_clears_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prod = spot(dir.path(), "prod");
    let old = plant(&prod, "0123456789abcdef", at(100), "/repos/here");
    // Not yet expired: refused, with the command that clears it.
    let err = take(&prod, "bob", "p2", at(99), expired()).expect_err("unexpired");
    let held = held_of(&err);
    assert!(!held.running);
    let text = err.to_string();
    assert!(
        text.contains("(process 999999, no longer running)"),
        "{text}"
    );
    assert!(
        text.contains("run `trainyard sync recover nightly`"),
        "{text}"
    );
    // A holder of another repository: recovered there.
    plant(&prod, "0123456789abcdef", at(100), "/repos/other one");
    let err = take(&prod, "bob", "p2", at(99), expired()).expect_err("unexpired");
    assert!(
        err.to_string()
            .contains("run `trainyard -C '/repos/other one' sync recover nightly`"),
        "{err}"
    );
    plant(&prod, "0123456789abcdef", at(100), "/repos/here");
    // Expired, but the caller does not allow it (an apply to recover).
    let err =
        take(&prod, "bob", "p2", at(100), TakeOver::Expired(&|_| false)).expect_err("disallowed");
    assert!(err.to_string().contains("sync recover nightly"), "{err}");
    // Expired and allowed: taken over.
    let lock = take(&prod, "bob", "p2", at(100), expired()).expect("take over");
    assert_eq!(lock.took_over(), Some(&old));
    assert_eq!(read_lock(&prod).expect("read").expect("some").owner, "bob");
}

#[test]
fn lock_of_a_gone_holder_is_taken_at_once_by_a_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prod = spot(dir.path(), "prod");
    let old = plant(&prod, "0123456789abcdef", at(100), "/repos/here");
    let err = take(&prod, "bob", "", at(1), TakeOver::Gone(&|_| false)).expect_err("refused");
    assert!(!held_of(&err).running, "{err}");
    let lock = take(&prod, "bob", "", at(1), TakeOver::Gone(&|_| true)).expect("taken");
    assert_eq!(lock.took_over(), Some(&old));
    // But never from a running holder.
    let err = take(&prod, "carol", "", at(2), TakeOver::Gone(&|_| true)).expect_err("live");
    assert!(held_of(&err).running, "{err}");
}

#[test]
fn lock_expired_takeover_race_has_one_winner() {
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        plant(&spot(dir.path(), "prod"), "0123456789abcdef", at(10), "/r");
        let threads = 6;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let spot = spot(dir.path(), "prod");
                std::thread::spawn(move || {
                    barrier.wait();
                    let lock = take(&spot, &format!("w{i}"), "p", at(20), expired());
                    barrier.wait();
                    lock.map(|l| l.took_over().is_some())
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners, vec![&true], "round {round}: {results:?}");
    }
}

#[test]
fn lock_expired_but_running_holder_keeps_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prod = spot(dir.path(), "prod");
    let _lock = TargetLock::acquire(
        &prod,
        &request("alice", "prod", "p1"),
        Duration::from_secs(5),
        at(0),
        expired(),
    )
    .expect("acquire");
    let err = take(&prod, "bob", "p2", at(3600), expired()).expect_err("live holder");
    assert!(
        err.to_string()
            .contains("still running past the lock's expiry"),
        "{err}"
    );
}

#[test]
fn lock_break_needs_its_id_and_a_holder_that_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prod = spot(dir.path(), "prod");
    let asking = request("bob", "prod", "");
    let first = take(&prod, "alice", "p1", at(0), expired()).expect("acquire");
    let err = break_lock(&prod, "not-the-id", &asking, at(1), &|_| Ok(())).expect_err("id");
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("nothing was removed"), "{err}");
    // A running holder keeps it, id or not.
    let err =
        break_lock(&prod, &first.info().id, &asking, at(1), &|_| Ok(())).expect_err("running");
    assert!(held_of(&err).running, "{err}");
    assert!(prod.path().exists());

    // Its holder gone (the file replaced by one nobody flocks).
    std::fs::remove_file(prod.path()).expect("remove");
    let planted = plant(&prod, "0123456789abcdef", at(100), "/r");
    let err = break_lock(&prod, &planted.id, &asking, at(1), &|_| {
        Err(Error::environment("not now"))
    })
    .expect_err("refused by the caller");
    assert_eq!(err.to_string(), "not now");
    assert!(prod.path().exists());
    let broken = break_lock(&prod, &planted.id, &asking, at(1), &|_| Ok(())).expect("break");
    assert_eq!(broken.owner, "crashed");
    let err = break_lock(&prod, &planted.id, &asking, at(1), &|_| Ok(())).expect_err("gone");
    assert!(err.to_string().contains("not locked"), "{err}");

    // Bob takes it; alice's late release must not remove bob's lock.
    let second = take(&prod, "bob", "p2", at(1), expired()).expect("after break");
    first.release().expect("release");
    assert_eq!(
        read_lock(&prod).expect("read").expect("bob's").id,
        second.info().id
    );
}

#[test]
fn lock_spot_names_are_plain_file_names() {
    for name in ["", "a/b", "..", "."] {
        let err = LockSpot::new("/tmp", name, "t").expect_err(name);
        assert_eq!(err.kind(), ErrorKind::Input);
    }
}

fn endpoint(kind: EndpointType, location: &str, branch: Option<&str>) -> Endpoint {
    Endpoint {
        kind,
        location: location.into(),
        branch: branch.map(Into::into),
        credentials: None,
    }
}

#[test]
fn a_file_target_is_locked_beside_it_however_it_is_spelled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::create_dir_all(root.join("repo-a/sub")).expect("repo a");
    std::fs::create_dir_all(root.join("repo-b")).expect("repo b");
    std::fs::create_dir_all(root.join("site")).expect("site");
    std::os::unix::fs::symlink(root.join("site"), root.join("alias")).expect("symlink");
    let file = |home: &str, location: &str| {
        spot_for(
            &root.join(home),
            &endpoint(EndpointType::File, location, None),
        )
        .expect("spot")
    };
    let expected = file("repo-a", "../site");
    assert_eq!(expected.path(), root.join(".site.trainyard-lock"));
    assert_eq!(expected.target(), root.join("site").display().to_string());
    for (home, location) in [
        ("repo-b", "../site"),
        ("repo-a/sub", "../../site/"),
        ("repo-a", "./../repo-b/../site"),
        ("repo-b", "../alias"),
    ] {
        assert_eq!(file(home, location), expected, "{home} {location}");
    }
    // A target that does not exist yet is locked where it will be.
    assert_eq!(
        file("repo-a", "../alias/new/deeper").path(),
        root.join("site/new/.deeper.trainyard-lock")
    );
    assert_ne!(file("repo-a", "sub"), expected);
}

#[test]
fn a_remote_target_is_locked_by_its_normalised_url() {
    let git = |location: &str, branch: Option<&str>| {
        spot_for(
            Path::new("/repo"),
            &endpoint(EndpointType::Git, location, branch),
        )
        .expect("spot")
    };
    let a = git("https://Git.Example.org:443/team/config.git/", Some("main"));
    for (location, branch) in [
        ("https://git.example.org/team/config", None),
        ("https://ci@git.example.org/team/config.git", Some("main")),
    ] {
        assert_eq!(git(location, branch), a, "{location}");
    }
    assert_eq!(a.target(), "git https://git.example.org/team/config#main");
    assert_ne!(git("https://git.example.org/team/config", Some("prod")), a);
    assert_ne!(git("https://git.example.org/team/other", None), a);
    assert_eq!(
        git("git@Git.Example.org:team/config.git", None),
        git("ssh://git.example.org/team/config", None)
    );
    let api = |kind, location: &str| {
        spot_for(Path::new("/repo"), &endpoint(kind, location, None)).expect("spot")
    };
    assert_eq!(
        api(EndpointType::Api, "https://API.example.org/v1/"),
        api(EndpointType::Registry, "https://api.example.org:443/v1")
    );
    assert_ne!(
        api(EndpointType::Api, "https://api.example.org/v1"),
        api(EndpointType::Api, "https://api.example.org/v2")
    );
    assert_ne!(a.dir(), Path::new("/repo"));
}

#[test]
fn shell_words_are_quoted_only_when_needed() {
    assert_eq!(shell_word("/srv/repo-1"), "/srv/repo-1");
    assert_eq!(shell_word("/srv/my repo"), "'/srv/my repo'");
    assert_eq!(shell_word("it's"), "'it'\\''s'");
}

const RACE_TEST: &str = "sync::lock::tests::lock_processes_race_and_exactly_one_wins";
const CONTENDER: &str = "lock-contender";
/// The directory a contender takes the lock in and signals through.
const CONTENDER_DIR_ENV: &str = "TRAINYARD_TEST_CHILD_DIR";

/// How long an awaited event may take before a test gives up: generous,
/// since the machine may be busy; only a hung test reaches it.
const PATIENCE: Duration = Duration::from_secs(120);

/// Waits until `check` holds, or panics after [`PATIENCE`] naming `what`.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < PATIENCE, "{what}: never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A contender of [`lock_processes_race_and_exactly_one_wins`], in the
/// directory [`CONTENDER_DIR_ENV`] names: takes the lock; the winner
/// writes `held-<pid>` and holds it until `release` appears; a loser
/// writes the refusal to `refused-<pid>`. Anything else fails the child.
fn contender() {
    let dir = PathBuf::from(
        std::env::var_os(CONTENDER_DIR_ENV)
            .unwrap_or_else(|| panic!("a lock contender needs {CONTENDER_DIR_ENV}")),
    );
    let pid = std::process::id();
    let taken = TargetLock::acquire(
        &spot(&dir, "prod"),
        &request(&format!("pid-{pid}"), "prod", "p"),
        HOUR,
        Timestamp::now(),
        expired(),
    );
    match taken {
        Ok(lock) => {
            std::fs::write(dir.join(format!("held-{pid}")), b"").expect("signal held");
            wait_until("told to release", || dir.join("release").exists());
            drop(lock);
        }
        Err(err) => {
            assert!(held_of(&err).running, "{err}");
            std::fs::write(dir.join(format!("refused-{pid}")), err.to_string())
                .expect("signal refused");
        }
    }
}

/// The names in `dir` that start with `prefix`.
fn signals(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

#[test]
fn lock_processes_race_and_exactly_one_wins() {
    if crate::sync::test_child::is_child(CONTENDER) {
        return contender();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let contenders = 4;
    let mut children: Vec<_> = (0..contenders)
        .map(|_| {
            crate::sync::test_child::command(RACE_TEST, CONTENDER)
                .env(CONTENDER_DIR_ENV, dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    // The winner holds the lock until told: every other contender can
    // only be refused, however the processes are scheduled.
    wait_until("every contender held or was refused", || {
        let failed = children.iter_mut().any(|c| {
            c.try_wait()
                .expect("try_wait")
                .is_some_and(|s| !s.success())
        });
        assert!(!failed, "a contender failed");
        signals(dir.path(), "held-").len() + signals(dir.path(), "refused-").len() >= contenders
    });
    let held = signals(dir.path(), "held-");
    assert_eq!(held.len(), 1, "winners: {held:?}");
    let winner = &held[0]["held-".len()..];
    let lock = read_lock(&spot(dir.path(), "prod"))
        .expect("read")
        .expect("the winner's lock");
    assert_eq!(lock.owner, format!("pid-{winner}"));
    for refused in signals(dir.path(), "refused-") {
        let text = std::fs::read_to_string(dir.path().join(&refused)).expect("refusal");
        assert!(
            text.contains(&format!("is locked by pid-{winner}")),
            "{text}"
        );
    }
    std::fs::write(dir.path().join("release"), b"").expect("release");
    for child in children.drain(..) {
        let output = child.wait_with_output().expect("wait");
        crate::sync::test_child::assert_passed(&output, RACE_TEST);
    }
    assert!(
        read_lock(&spot(dir.path(), "prod"))
            .expect("read")
            .is_none()
    );
}

//! Bad input gives a clear message and the documented exit code.

use std::process::{Command, Stdio};

use crate::support::TestRepo;

#[test]
fn outside_a_repository() {
    let repo = TestRepo::new();
    let run = repo.run_in(repo.home(), &["status"], None);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("is not inside a git repository"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_repository_without_commits() {
    let repo = TestRepo::new();
    let run = repo.run(&["status"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("has no commits yet"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_bad_revision() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let run = repo.run(&["version", "next", "--rev", "no-such-branch"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("cannot resolve revision `no-such-branch`")
    );
}

#[test]
fn an_unknown_channel_and_bad_usage() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let run = repo.run(&["version", "next", "--pre", "gamma"]);
    assert_eq!(run.code(), 2);
    insta::assert_snapshot!(run.stderr(), @"error: invalid pre-release channel `gamma`: expected `alpha`, `beta` or `rc`
");
    assert_eq!(repo.run(&["version", "frobnicate"]).code(), 2);
    assert_eq!(
        repo.run(&["version", "bump", "--major", "--minor"]).code(),
        2
    );
}

#[test]
fn a_shallow_clone_without_tags_asks_to_fetch_them() {
    let origin = TestRepo::new();
    origin.commit("feat: first");
    origin.tag("v1.0.0");
    origin.commit("fix: one");
    origin.commit("fix: two");
    let clone = origin.home().join("clone");
    let url = format!("file://{}", origin.path().display());
    origin.git_in(
        origin.home(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-tags",
            &url,
            clone.to_str().expect("utf-8"),
        ],
    );
    let run = origin.run_in(&clone, &["version", "next"], None);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains("shallow clone without version tags"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr().contains("git fetch --tags --unshallow"));
}

#[test]
fn errors_are_json_with_json() {
    let repo = TestRepo::new();
    let run = repo.run(&["--json", "status"]);
    assert_eq!(run.code(), 2);
    assert_eq!(run.json()["error"]["kind"], "input");
}

#[test]
fn a_broken_pipe_exits_quietly() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let input: String = (0..20000).map(|i| format!("1.0.{i}\n")).collect();
    // Human output and JSON alike.
    for args in [&["version", "sort"][..], &["--json", "version", "sort"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trainyard"))
            .args(args)
            .current_dir(repo.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(input.as_bytes()).expect("write");
        }
        // Close the reading end before trainyard writes.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(
            output.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn bump_dry_run_changes_nothing_byte_for_byte() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"1.0.0\" # keep me\nedition = \"2021\"\n",
    );
    repo.write(
        "package.json",
        "{\n    \"version\": \"1.0.0\",\n    \"name\": \"demo\"\n}\n",
    );
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat: second");
    let before = repo.tree_snapshot();
    let run = repo.run(&["version", "bump", "--dry-run"]);
    assert_eq!(run.code(), 1, "changes pending: {}", run.transcript());
    insta::assert_snapshot!(run.transcript());
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
    let applied = repo.run(&["version", "bump"]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    let cargo = std::fs::read_to_string(repo.path().join("Cargo.toml")).expect("read");
    assert_eq!(
        cargo,
        "[package]\nname = \"demo\"\nversion = \"1.1.0\" # keep me\nedition = \"2021\"\n"
    );
}

#[test]
fn bump_refuses_manifests_with_uncommitted_changes() {
    let repo = TestRepo::new();
    repo.write("VERSION", "1.0.0\n");
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: x");
    repo.write("VERSION", "1.0.0\n\n");
    let before = repo.tree_snapshot();
    let run = repo.run(&["version", "bump"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains("uncommitted changes in VERSION"),
        "{}",
        run.transcript()
    );
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
    let forced = repo.run(&["version", "bump", "--allow-dirty"]);
    assert_eq!(forced.code(), 0, "{}", forced.transcript());
    assert_eq!(
        std::fs::read_to_string(repo.path().join("VERSION")).expect("read"),
        "1.0.1\n\n"
    );
}

#[test]
fn colour_only_when_asked_for_or_on_a_terminal() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let plain = repo.run(&["status"]);
    assert!(!plain.stdout().contains('\u{1b}'));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trainyard"));
    cmd.current_dir(repo.path())
        .arg("status")
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR");
    let forced = cmd.output().expect("run");
    assert!(String::from_utf8_lossy(&forced.stdout).contains('\u{1b}'));
}

#[test]
fn a_concurrent_run_is_refused_and_changes_nothing() {
    let repo = TestRepo::new();
    repo.write("VERSION", "1.0.0\n");
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: x");
    let lock = std::fs::File::create(repo.path().join(".git/trainyard.lock")).expect("lock file");
    lock.try_lock().expect("hold the lock as another run would");
    let before = repo.tree_snapshot();
    let run = repo.run(&["version", "bump"]);
    assert_eq!(run.code(), 3, "{}", run.transcript());
    assert!(
        run.stderr().contains("another trainyard run"),
        "{}",
        run.transcript()
    );
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
    drop(lock);
    assert_eq!(repo.run(&["version", "bump"]).code(), 0);
}

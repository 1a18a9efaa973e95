//! Scheduled syncs: `sync due`, `sync daemon` and `on_release` syncs run
//! by `release post`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{NOW, TestRepo, ok, sign_everything};
use crate::sync_locks::{finish, wait_for};

/// A file sync from `src` to `dst` with a schedule.
fn scheduled_sync(id: &str, source: &str, target: &str, approval: bool, schedule: &str) -> String {
    format!(
        "sync_config:\n  sync_id: {id}\n  name: {id}\n  type: config\n  source:\n    type: file\n    location: {source}\n  target:\n    type: file\n    location: {target}\n  options:\n    dry_run_required: true\n    approval_required: {approval}\n    approver: release-managers\n  schedule:\n{schedule}"
    )
}

/// Daily at 02:30 in Berlin (01:30 UTC in winter).
const NIGHTLY: &str = "    trigger: cron\n    cron: \"30 2 * * *\"\n    timezone: Europe/Berlin\n";

fn fixture(approval: bool) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/settings.toml", "level = 2\n");
    repo.write("dst/settings.toml", "level = 1\n");
    repo.commit("chore: trees");
    repo.write(
        ".trainyard/syncs/nightly.yaml",
        &scheduled_sync("nightly", "src", "dst", approval, NIGHTLY),
    );
    repo.write(
        ".trainyard/syncs/by-hand.yaml",
        &scheduled_sync("by-hand", "src", "dst", false, "    trigger: manual\n"),
    );
    repo
}

fn logs(repo: &TestRepo, id: &str) -> usize {
    ok(repo, &["--json", "sync", "log", id])
        .json()
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn due_lists_a_cron_sync_for_its_latest_window() {
    let repo = fixture(false);
    // Never run: due for the latest 02:30 in Berlin before 02:00 on the
    // 13th, the 12th's.
    let due = ok(
        &repo,
        &["--json", "sync", "due", "--at", "2027-01-13T01:00:00Z"],
    )
    .json();
    let due = due.as_array().expect("a list");
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["sync_id"], "nightly");
    assert_eq!(due[0]["trigger"], "cron");
    assert_eq!(due[0]["window"], "2027-01-12T01:30:00Z");
    let why = due[0]["why"].as_str().expect("why");
    assert!(why.contains("`30 2 * * *` (Europe/Berlin)"), "{why}");
    assert!(why.contains("never run before"), "{why}");
    // The human list names the sync, the trigger and why.
    let human = ok(&repo, &["sync", "due", "--at", "2027-01-13T01:00:00Z"]).stdout();
    assert!(human.starts_with("nightly"), "{human}");
    assert!(human.contains(" cron "), "{human}");
    // Asking changes nothing: nothing ran.
    assert!(
        !repo
            .path()
            .join(".trainyard/sync-state/nightly/schedule.json")
            .exists()
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/settings.toml")).expect("target"),
        "level = 1\n"
    );
    // A bad time is bad input.
    let bad = repo.run(&["sync", "due", "--at", "yesterday"]);
    assert_eq!(bad.code(), 2, "{}", bad.transcript());
}

#[test]
fn an_invalid_cron_expression_names_the_file_and_the_expression() {
    let repo = fixture(false);
    repo.write(
        ".trainyard/syncs/nightly.yaml",
        &scheduled_sync(
            "nightly",
            "src",
            "dst",
            false,
            "    trigger: cron\n    cron: \"61 2 * * *\"\n",
        ),
    );
    let run = repo.run(&["sync", "due"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    let err = run.stderr();
    assert!(err.contains(".trainyard/syncs/nightly.yaml"), "{err}");
    assert!(err.contains("sync_config.schedule.cron"), "{err}");
    assert!(err.contains("`61 2 * * *`"), "{err}");
}

#[test]
fn the_daemon_runs_a_due_sync_once_even_after_a_restart() {
    let repo = fixture(false);
    let first = ok(&repo, &["sync", "daemon", "--once"]);
    let out = first.stdout();
    assert!(out.contains("nightly: applied: +0 ~1 -0"), "{out}");
    assert_eq!(out.lines().count(), 1, "one line per outcome: {out}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/settings.toml")).expect("target"),
        "level = 2\n"
    );
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo.path()
                .join(".trainyard/sync-state/nightly/schedule.json"),
        )
        .expect("schedule state"),
    )
    .expect("json");
    // NOW is 2027-01-13T10:00Z: that day's 02:30 in Berlin.
    assert_eq!(state["last_window"], "2027-01-13T01:30:00Z");
    // Restarted at the same time (the source changed since): nothing runs.
    repo.write("src/settings.toml", "level = 3\n");
    let again = ok(&repo, &["sync", "daemon", "--once"]);
    assert_eq!(again.stdout(), "", "{}", again.transcript());
    assert_eq!(logs(&repo, "nightly"), 1);
    let due = ok(&repo, &["--json", "sync", "due"]).json();
    assert_eq!(due, serde_json::json!([]));
    // The next window is due the next night.
    let tomorrow = ok(
        &repo,
        &["--json", "sync", "due", "--at", "2027-01-14T01:30:00Z"],
    )
    .json();
    assert_eq!(tomorrow[0]["window"], "2027-01-14T01:30:00Z");
    let next = repo.run_env(
        &["sync", "daemon", "--once"],
        &[("TRAINYARD_NOW", "2027-01-14T02:00:00Z")],
    );
    assert_eq!(next.code(), 0, "{}", next.transcript());
    assert!(
        next.stdout().contains("nightly: applied"),
        "{}",
        next.stdout()
    );
    assert_eq!(logs(&repo, "nightly"), 2);
}

#[test]
fn a_sync_that_needs_approval_is_planned_once_and_applied_once_approved() {
    let repo = fixture(true);
    let planned = ok(&repo, &["--json", "sync", "daemon", "--once"]).stdout();
    let outcome: serde_json::Value = serde_json::from_str(planned.trim()).expect("a JSON line");
    assert_eq!(outcome["status"], "planned", "{planned}");
    let plan = outcome["plan_id"].as_str().expect("plan id").to_owned();
    // Later looks wait for the approval, and make no second plan.
    let waiting = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    assert!(waiting.contains("nightly: waiting"), "{waiting}");
    let plans = ok(
        &repo,
        &["--json", "evidence", "list", "--kind", "sync_plan"],
    )
    .json();
    assert_eq!(plans.as_array().map(Vec::len), Some(1), "{plans}");
    let due = ok(&repo, &["--json", "sync", "due"]).json();
    assert_eq!(due[0]["pending_plan"], plan.as_str());
    ok(
        &repo,
        &[
            "sync",
            "approve",
            &plan[..16],
            "--by",
            "ada@example.org",
            "--role",
            "release-managers",
        ],
    );
    let applied = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    assert!(applied.contains("nightly: applied: +0 ~1 -0"), "{applied}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/settings.toml")).expect("target"),
        "level = 2\n"
    );
    let after = ok(&repo, &["sync", "daemon", "--once"]);
    assert_eq!(after.stdout(), "", "{}", after.transcript());
    assert_eq!(logs(&repo, "nightly"), 1);
}

#[test]
fn a_target_another_apply_holds_is_busy_and_tried_again() {
    let repo = fixture(false);
    // A lock its holder left when it died: busy until recovered.
    let lock = repo.path().join(".dst.trainyard-lock");
    std::fs::write(
        &lock,
        format!(
            "{{\"id\":\"0123456789abcdef\",\"target\":\"dst\",\"owner\":\"ops@example.org\",\"plan_id\":\"feedface\",\"acquired_at\":\"2027-01-13T09:55:00Z\",\"expires_at\":\"2027-01-13T10:55:00Z\",\"pid\":1,\"sync_id\":\"by-hand\",\"repository\":\"{}\"}}\n",
            std::fs::canonicalize(repo.path()).expect("canonical").display()
        ),
    )
    .expect("plant");
    let busy = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    for needle in [
        "nightly: busy: sync target ",
        "is locked by ops@example.org (process 1, no longer running) applying plan feedface of sync by-hand",
        "run `trainyard sync recover by-hand`",
        "tried again on the next run",
    ] {
        assert!(busy.contains(needle), "{needle} missing from {busy}");
    }
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/settings.toml")).expect("target"),
        "level = 1\n"
    );
    // Not recorded as run: still due, and run once the lock is gone.
    let due = ok(&repo, &["--json", "sync", "due"]).json();
    assert_eq!(due[0]["sync_id"], "nightly");
    std::fs::remove_file(&lock).expect("unlock");
    let applied = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    assert!(applied.contains("nightly: applied"), "{applied}");
}

/// Another sync with the same target, applying right now: busy, told by
/// the refusal's type, and tried again.
#[test]
fn a_target_a_running_apply_of_another_sync_holds_is_busy() {
    let repo = fixture(false);
    let pause = repo.home().join("paused");
    let mut by_hand = repo
        .command(&["sync", "run", "by-hand"])
        .env("TRAINYARD_SYNC_PAUSE_AFTER", "staged")
        .env("TRAINYARD_SYNC_PAUSE_FILE", &pause)
        .spawn()
        .expect("the apply starts");
    wait_for(&pause, "the file staged", &mut by_hand);
    let busy = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    assert!(busy.contains("nightly: busy: sync target "), "{busy}");
    assert!(busy.contains("of sync by-hand since"), "{busy}");
    std::fs::remove_file(&pause).expect("resume");
    let (status, _, stderr) = finish(by_hand);
    assert!(status.success(), "{stderr}");
    let after = ok(&repo, &["sync", "daemon", "--once"]).stdout();
    assert!(!after.contains("busy"), "{after}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/settings.toml")).expect("target"),
        "level = 2\n"
    );
}

#[test]
fn the_daemon_stops_on_sigterm_with_exit_zero() {
    daemon_stops_on_sigterm("3600");
}

/// An interval too long to add to the clock once panicked the daemon after
/// its first look; it waits for a signal instead.
#[test]
fn the_daemon_takes_an_interval_too_long_for_the_clock() {
    daemon_stops_on_sigterm("18446744073709551615");
}

fn daemon_stops_on_sigterm(interval: &str) {
    let repo = fixture(false);
    let home = repo.home();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainyard"))
        .current_dir(repo.path())
        .args(["sync", "daemon", "--interval", interval])
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("NO_COLOR", "1")
        .env("TRAINYARD_NOW", NOW)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the daemon starts");
    // It says it is looking once its signal handlers are in place, and
    // prints the first look's outcome before it sleeps.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut banner = String::new();
    stderr.read_line(&mut banner).expect("banner");
    assert!(
        banner.contains(&format!("looking every {interval}s")),
        "{banner}"
    );
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("an outcome");
    assert!(line.contains("nightly: applied"), "{line}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let (status, _, _) = finish(child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert!(rest.contains("sync daemon: stopped"), "{rest}");
}

/// A repository like the release tests': a bare `origin`, a directory
/// channel, a released v1.0.0 and two features since; the gates pass.
fn release_fixture(home: &Path, repo: &TestRepo) {
    let remote = home.join("origin.git");
    let channel = home.join("dist");
    repo.git_in(
        home,
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    repo.write(
        "trainyard.yaml",
        &format!(
            "gates:\n  G-REL:\n    checks:\n      - builtin: clean_tree\n  G-MRG:\n    checks:\n      - name: suite\n        run: \"true\"\nchecklist:\n  security_audit: \"true\"\nrelease:\n  artifacts:\n    - name: tarball\n      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md\n      paths: [\"$TRAINYARD_OUT/*.tgz\"]\n  channels:\n    - {{ type: directory, name: downloads, path: {channel} }}\n    - {{ type: git_remote, name: origin, remote: origin }}\n",
            channel = channel.display()
        ),
    );
    repo.write(".gitignore", ".trainyard/\ndeploy/\n");
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.commit("feat(export): add csv export (#7)");
    repo.git(&["push", "-q", "origin", "main", "v1.0.0"]);
}

#[test]
fn release_post_runs_the_on_release_syncs() {
    let repo = TestRepo::new();
    release_fixture(repo.home(), &repo);
    repo.write("deploy/source/app.toml", "release = true\n");
    repo.write(
        ".trainyard/syncs/deploy.yaml",
        &scheduled_sync(
            "deploy",
            "deploy/source",
            "deploy/target",
            false,
            "    trigger: on_release\n",
        ),
    );
    // Only for a release.
    assert_eq!(
        ok(&repo, &["--json", "sync", "due"]).json(),
        serde_json::json!([])
    );
    let due = ok(&repo, &["--json", "sync", "due", "--on-release", "1.1.0"]).json();
    assert_eq!(due[0]["sync_id"], "deploy");
    assert_eq!(due[0]["release"], "1.1.0");
    ok(&repo, &["release", "start", "minor"]);
    ok(&repo, &["release", "rc"]);
    sign_everything(&repo, "1.1.0");
    ok(&repo, &["release", "validate"]);
    ok(&repo, &["release", "publish"]);
    assert!(!repo.path().join("deploy/target").exists());
    // The dry run names the on_release sync it would run, and runs none.
    let dry = repo.run(&["release", "post", "--dry-run"]);
    assert_eq!(dry.code(), 1, "{}", dry.transcript());
    assert!(
        dry.stdout().contains("run on_release sync deploy"),
        "{}",
        dry.stdout()
    );
    assert!(!repo.path().join("deploy/target").exists());
    let post = ok(&repo, &["--json", "release", "post"]).json();
    assert_eq!(post["passed"], true, "{post}");
    let messages = post["messages"].to_string();
    assert!(
        messages.contains("on_release sync deploy: applied: +1 ~0 -0"),
        "{messages}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("deploy/target/app.toml")).expect("deployed"),
        "release = true\n"
    );
    // It ran for 1.1.0: not due for it again.
    let again = ok(&repo, &["--json", "sync", "due", "--on-release", "1.1.0"]).json();
    assert_eq!(again, serde_json::json!([]));
    assert_eq!(logs(&repo, "deploy"), 1);
}

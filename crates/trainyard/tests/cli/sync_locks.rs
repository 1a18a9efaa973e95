//! One lock per sync target: applies that are really running (second
//! processes held at a journal step by the pause hook) against `recover`,
//! `unlock` and other applies, from one repository or two; and the locks
//! that crashed applies leave, which `recover` clears.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use crate::support::{NOW, TestRepo, snapshot_dir};

/// How long any awaited event may take before a test gives up: generous,
/// since the machine may be busy; never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(120);

/// A file sync that needs no approval.
pub fn open_sync(id: &str, source: &str, target: &str) -> String {
    format!(
        "sync_config:\n  sync_id: {id}\n  name: {id}\n  type: cross_repo\n  source:\n    type: file\n    location: {source}\n  target:\n    type: file\n    location: {target}\n  options:\n    dry_run_required: true\n    approval_required: false\n    conflict_strategy: theirs\n  filters:\n    include: []\n    exclude: []\n  schedule:\n    trigger: manual\n  notifications:\n    on_success: []\n    on_failure: []\n"
    )
}

/// A small deterministic generator (xorshift64*), so trees and choices
/// are the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes `count` files under `dir` (in a few nested directories), their
/// content from `seed`.
pub fn fill(dir: &Path, count: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let path = dir.join(format!("d{}/e{}/f{i:04}.txt", i % 7, i % 3));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let lines = 1 + rng.below(8);
        let text: String = (0..lines)
            .map(|_| format!("{:016x} line\n", rng.next()))
            .collect();
        std::fs::write(path, text).expect("write");
    }
}

/// Every file under `root` with its bytes, by relative path.
pub fn files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot_dir(root)
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(root).expect("under root").to_path_buf(), b))
        .collect()
}

/// Waits until `path` exists, or panics after [`PATIENCE`] naming `what`.
pub fn wait_for(path: &Path, what: &str, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what}: the process ended ({status}) first: {}",
                output_of(child)
            );
        }
        assert!(start.elapsed() < PATIENCE, "{what}: never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a child (at most [`PATIENCE`]); its status, stdout, stderr.
pub fn finish(mut child: Child) -> (ExitStatus, String, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!(
                "a trainyard process did not finish: {}",
                output_of(&mut child)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    (status, out, err)
}

fn output_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    err
}

/// Plans `id` (changes expected) and returns the plan's id and diff_ref.
pub fn plan(repo: &TestRepo, id: &str, vars: &[(&str, &str)]) -> (String, String) {
    let run = repo.run_env(&["--json", "sync", "plan", id], vars);
    assert_eq!(run.code(), 1, "changes planned: {}", run.transcript());
    let plan = run.json();
    (
        plan["plan_id"].as_str().expect("plan id").to_owned(),
        plan["plan"]["diff_ref"]
            .as_str()
            .expect("diff ref")
            .to_owned(),
    )
}

/// An apply of `plan` started in the background, held by the pause hook
/// right after the `at` journal step until `pause` is removed.
fn paused_apply(repo: &TestRepo, plan: &str, at: &str, pause: &Path) -> Child {
    repo.command(&["sync", "apply", plan])
        .env("TRAINYARD_SYNC_PAUSE_AFTER", at)
        .env("TRAINYARD_SYNC_PAUSE_FILE", pause)
        .spawn()
        .expect("apply starts")
}

/// The sync logs, as `sync log --json` prints them.
pub fn logs(repo: &TestRepo) -> Vec<serde_json::Value> {
    let run = repo.run(&["--json", "sync", "log"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    run.json().as_array().cloned().unwrap_or_default()
}

/// The temporary files of applies left anywhere under `root`.
pub fn stray_temps(root: &Path) -> Vec<PathBuf> {
    files(root)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".trainyard-stage-"))
        })
        .collect()
}

/// A repository syncing `src` (`count` generated files) to `dst` (other
/// content), with the sync `big`.
fn big_fixture(count: usize) -> TestRepo {
    let repo = TestRepo::new();
    fill(&repo.path().join("src"), count, 1);
    fill(&repo.path().join("dst"), count / 2, 2);
    for i in 0..5 {
        repo.write(
            &format!("dst/old/gone-{i}.txt"),
            "no longer in the source\n",
        );
    }
    repo.commit("chore: trees");
    repo.write(".trainyard/syncs/big.yaml", &open_sync("big", "src", "dst"));
    repo
}

/// Defect: `sync recover` undid an apply that was still running (it
/// neither took nor checked the target lock), and `sync unlock` broke a
/// live holder's lock.
#[test]
fn recover_and_unlock_refuse_a_running_apply_which_then_completes() {
    let repo = big_fixture(300);
    let (id, diff_ref) = plan(&repo, "big", &[]);
    let pause = repo.home().join("paused");
    let mut apply = paused_apply(&repo, &id, "staged:40", &pause);
    wait_for(&pause, "40 files staged", &mut apply);
    let pid = apply.id().to_string();
    let recover = repo.run(&["sync", "recover", "big"]);
    assert_eq!(recover.code(), 3, "{}", recover.transcript());
    let lock = repo.path().join(".dst.trainyard-lock");
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock).expect("the lock beside the target"))
            .expect("lock JSON");
    let lock_id = info["id"].as_str().expect("lock id").to_owned();
    let unlock = repo.run(&["sync", "unlock", "big", &lock_id]);
    assert_eq!(unlock.code(), 3, "{}", unlock.transcript());
    for refusal in [recover.stderr(), unlock.stderr()] {
        for needle in [
            "is locked by test@example.org",
            &format!("(process {pid})"),
            &format!("applying plan {id} of sync big"),
            &format!("since {NOW}"),
            "try again once it has finished",
        ] {
            assert!(refusal.contains(needle), "{needle} missing from {refusal}");
        }
    }
    assert!(lock.exists(), "the running apply's lock was broken");

    std::fs::remove_file(&pause).expect("resume the apply");
    let (status, _, stderr) = finish(apply);
    assert!(status.success(), "the apply failed: {stderr}");
    assert_eq!(
        files(&repo.path().join("src")),
        files(&repo.path().join("dst"))
    );
    assert!(stray_temps(&repo.path().join("dst")).is_empty());
    assert!(!lock.exists(), "the lock outlived its apply");
    let logs = logs(&repo);
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["execution"]["status"], "success");
    assert_eq!(logs[0]["dry_run"]["diff_ref"], diff_ref.as_str());
    let again = repo.run(&["sync", "recover", "big"]);
    assert_eq!(again.code(), 0, "{}", again.transcript());
    assert!(
        again.stderr().contains("no interrupted apply"),
        "{}",
        again.stderr()
    );
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

/// Defect: the lock was per sync id, so two syncs with one target applied
/// at once and left it a mix of both.
#[test]
fn two_syncs_with_one_target_take_one_lock() {
    let repo = TestRepo::new();
    fill(&repo.path().join("src-a"), 200, 11);
    fill(&repo.path().join("src-b"), 200, 12);
    fill(&repo.path().join("dst"), 100, 13);
    repo.commit("chore: trees");
    repo.write(".trainyard/syncs/a.yaml", &open_sync("a", "src-a", "dst"));
    // The same directory, spelled another way.
    repo.write(
        ".trainyard/syncs/b.yaml",
        &open_sync("b", "src-b", "./src-b/../dst/"),
    );
    let (plan_a, _) = plan(&repo, "a", &[]);
    let (plan_b, _) = plan(&repo, "b", &[]);
    let pause = repo.home().join("paused");
    let mut apply_a = paused_apply(&repo, &plan_a, "staged:20", &pause);
    wait_for(&pause, "20 files staged", &mut apply_a);
    let refused = repo.run(&["sync", "apply", &plan_b]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    assert!(
        refused
            .stderr()
            .contains(&format!("applying plan {plan_a} of sync a")),
        "{}",
        refused.stderr()
    );
    std::fs::remove_file(&pause).expect("resume");
    let (status, _, stderr) = finish(apply_a);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        files(&repo.path().join("src-a")),
        files(&repo.path().join("dst"))
    );
    assert!(stray_temps(&repo.path().join("dst")).is_empty());
    let logs = logs(&repo);
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["sync_id"], "a");
    // B's plan was made against the target before A: stale now.
    let stale = repo.run(&["sync", "apply", &plan_b]);
    assert_eq!(stale.code(), 2, "{}", stale.transcript());

    // Both at once, free to race: exactly one plan's result.
    for round in 0..3 {
        let now = format!("2027-01-13T10:{:02}:00Z", 10 + round);
        let vars = [("TRAINYARD_NOW", now.as_str())];
        repo.write(&format!("src-a/round-{round}.txt"), "a\n");
        repo.write(&format!("src-b/round-{round}.txt"), "b\n");
        let (plan_a, _) = plan(&repo, "a", &vars);
        let (plan_b, _) = plan(&repo, "b", &vars);
        let spawn = |plan: &str| {
            repo.command(&["sync", "apply", plan])
                .env("TRAINYARD_NOW", &now)
                .spawn()
                .expect("apply starts")
        };
        let (a, b) = (spawn(&plan_a), spawn(&plan_b));
        let (a, b) = (finish(a), finish(b));
        let codes = (a.0.code(), b.0.code());
        let target = files(&repo.path().join("dst"));
        match codes {
            (Some(0), Some(2 | 3)) => assert_eq!(target, files(&repo.path().join("src-a"))),
            (Some(2 | 3), Some(0)) => assert_eq!(target, files(&repo.path().join("src-b"))),
            other => panic!("round {round}: {other:?}: {} / {}", a.2, b.2),
        }
    }
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

/// Two repositories (each its own `.trainyard/` and HOME) syncing into
/// one directory share its lock, which lives beside it.
#[test]
fn two_repositories_with_one_target_share_its_lock() {
    let shared = tempfile::tempdir().expect("shared directory");
    let target = shared.path().join("site");
    fill(&target, 50, 21);
    let location = target.display().to_string();
    let one = TestRepo::new();
    let two = TestRepo::new();
    for (repo, seed) in [(&one, 22), (&two, 23)] {
        fill(&repo.path().join("src"), 150, seed);
        repo.commit("chore: source");
        repo.write(
            ".trainyard/syncs/site.yaml",
            &open_sync("site", "src", &location),
        );
    }
    let (plan_one, _) = plan(&one, "site", &[]);
    let (plan_two, _) = plan(&two, "site", &[]);
    let pause = shared.path().join("paused");
    let mut apply = paused_apply(&one, &plan_one, "staged:10", &pause);
    wait_for(&pause, "10 files staged", &mut apply);
    let lock = shared.path().join(".site.trainyard-lock");
    assert!(lock.exists(), "no lock beside the target");
    let refused = two.run(&["sync", "apply", &plan_two]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    assert!(
        refused.stderr().contains(&format!(
            "sync target {} is locked by",
            std::fs::canonicalize(&target).expect("canonical").display()
        )),
        "{}",
        refused.stderr()
    );
    // The other repository cannot undo it either.
    let recover = two.run(&["sync", "recover", "site"]);
    assert_eq!(recover.code(), 3, "{}", recover.transcript());
    std::fs::remove_file(&pause).expect("resume");
    let (status, _, stderr) = finish(apply);
    assert!(status.success(), "{stderr}");
    assert_eq!(files(&one.path().join("src")), files(&target));
    assert!(!lock.exists());

    // A crash in one repository: the other is told the command to run,
    // and it works as printed.
    one.write("src/extra.txt", "more\n");
    let (plan_one, _) = plan(&one, "site", &[]);
    let (plan_two, _) = plan(&two, "site", &[]);
    let before = files(&target);
    let crashed = one.run_env(
        &["sync", "apply", &plan_one],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "staged")],
    );
    assert_eq!(crashed.code(), -1, "{}", crashed.transcript());
    let refused = two.run(&["sync", "apply", &plan_two]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    let hint = printed_command(&refused.stderr());
    assert!(hint.starts_with("trainyard -C "), "{hint}");
    let recovered = two.run(&words_of(&hint));
    assert_eq!(recovered.code(), 0, "{hint}: {}", recovered.transcript());
    assert!(
        recovered.stderr().contains("rolled back"),
        "{}",
        recovered.stderr()
    );
    assert_eq!(files(&target), before);
    let applied = two.run(&["sync", "apply", &plan_two]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(files(&two.path().join("src")), files(&target));
}

/// The command in the last backticks of a message.
fn printed_command(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    assert!(parts.len() >= 3, "no command in {message}");
    parts[parts.len() - 2].to_owned()
}

/// A printed command's arguments after `trainyard` (plain words only).
fn words_of(command: &str) -> Vec<&str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"trainyard"), "{command}");
    assert!(!command.contains('\''), "quoted words: {command}");
    words[1..].to_vec()
}

/// Defects: the refusal suggested `trainyard sync unlock <LOCK_ID>`, a
/// usage error; and the lock of a dead holder survived `sync recover`.
#[test]
fn a_dead_holders_lock_names_a_working_command_and_recover_clears_it() {
    let repo = big_fixture(40);
    let (id, _) = plan(&repo, "big", &[]);
    let before = files(&repo.path().join("dst"));
    let crashed = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "staged:5")],
    );
    assert_eq!(crashed.code(), -1, "{}", crashed.transcript());
    let lock = repo.path().join(".dst.trainyard-lock");
    assert!(lock.exists(), "the killed apply left no lock");

    let refused = repo.run(&["sync", "apply", &id]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    assert!(
        refused.stderr().contains("no longer running"),
        "{}",
        refused.stderr()
    );
    let hint = printed_command(&refused.stderr());
    assert_eq!(hint, "trainyard sync recover big");

    // The lock's id alone does not break a lock whose apply awaits its
    // recovery.
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock).expect("lock")).expect("JSON");
    let lock_id = info["id"].as_str().expect("id");
    let unlock = repo.run(&["sync", "unlock", "big", lock_id]);
    assert_eq!(unlock.code(), 3, "{}", unlock.transcript());
    assert!(
        unlock
            .stderr()
            .contains("nothing was removed: run `trainyard sync recover big`"),
        "{}",
        unlock.stderr()
    );
    assert!(lock.exists());

    let recovered = repo.run(&words_of(&hint));
    assert_eq!(recovered.code(), 0, "{}", recovered.transcript());
    let text = recovered.stderr();
    assert!(text.contains(&format!("cleared lock {lock_id}")), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    assert!(!lock.exists(), "recover left the dead holder's lock");
    assert_eq!(files(&repo.path().join("dst")), before);
    assert!(stray_temps(&repo.path().join("dst")).is_empty());
    // The undone apply is logged as failed, and its plan is spent; the
    // target is free for the next plan (a new second, so a new apply id).
    let logs = logs(&repo);
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["execution"]["status"], "failed");
    let spent = repo.run(&["sync", "apply", &id]);
    assert_eq!(spent.code(), 2, "{}", spent.transcript());
    let now = [("TRAINYARD_NOW", "2027-01-13T10:01:00Z")];
    let (again, _) = plan(&repo, "big", &now);
    let applied = repo.run_env(&["sync", "apply", &again], &now);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        files(&repo.path().join("src")),
        files(&repo.path().join("dst"))
    );
}

/// `sync unlock` breaks the lock of a holder that is gone and left
/// nothing to recover, by its id; a wrong id or no lock is bad input.
#[test]
fn unlock_breaks_a_settled_dead_holders_lock_by_its_id() {
    let repo = big_fixture(10);
    let lock = repo.path().join(".dst.trainyard-lock");
    let missing = repo.run(&["sync", "unlock", "big", "0123456789abcdef"]);
    assert_eq!(missing.code(), 2, "{}", missing.transcript());
    assert!(
        missing.stderr().contains("is not locked"),
        "{}",
        missing.stderr()
    );
    let repository = std::fs::canonicalize(repo.path()).expect("canonical");
    std::fs::write(
        &lock,
        format!(
            "{{\"id\":\"0123456789abcdef\",\"target\":\"dst\",\"owner\":\"ops@example.org\",\"plan_id\":\"feedface\",\"acquired_at\":\"{NOW}\",\"expires_at\":\"2027-01-13T11:00:00Z\",\"pid\":1,\"sync_id\":\"big\",\"repository\":\"{}\"}}\n",
            repository.display()
        ),
    )
    .expect("plant");
    let wrong = repo.run(&["sync", "unlock", "big", "fedcba9876543210"]);
    assert_eq!(wrong.code(), 2, "{}", wrong.transcript());
    assert!(
        wrong.stderr().contains("nothing was removed"),
        "{}",
        wrong.stderr()
    );
    let broken = repo.run(&["sync", "unlock", "big", "0123456789abcdef"]);
    assert_eq!(broken.code(), 0, "{}", broken.transcript());
    assert!(
        broken.stderr().contains("broke lock 0123456789abcdef"),
        "{}",
        broken.stderr()
    );
    assert!(!lock.exists());
}

/// A SIGKILL'd apply at any step, then `recover`: the target is as it was
/// or as planned, the lock is gone, and an apply the recovery completed
/// has its `sync_log`.
#[test]
fn a_killed_apply_is_recovered_and_logged() {
    for (point, forward) in [
        ("begin", false),
        ("stage:3", false),
        ("staged:7", false),
        ("staged_all", true),
        ("deleted:2", true),
        ("renamed:5", true),
        ("committed", true),
    ] {
        let repo = big_fixture(30);
        let (id, diff_ref) = plan(&repo, "big", &[]);
        let before = files(&repo.path().join("dst"));
        let crashed = repo.run_env(
            &["sync", "apply", &id],
            &[("TRAINYARD_SYNC_CRASH_AFTER", point)],
        );
        assert_eq!(crashed.code(), -1, "{point}: {}", crashed.transcript());
        let recovered = repo.run(&["--json", "sync", "recover", "big"]);
        assert_eq!(recovered.code(), 0, "{point}: {}", recovered.transcript());
        let report = recovered.json();
        assert!(
            report["cleared_lock"]["id"].is_string(),
            "{point}: {report}"
        );
        assert!(!repo.path().join(".dst.trainyard-lock").exists(), "{point}");
        let target = files(&repo.path().join("dst"));
        let logs = logs(&repo);
        if forward {
            assert_eq!(target, files(&repo.path().join("src")), "{point}");
            assert_eq!(logs.len(), 1, "{point}: {logs:?}");
            assert_eq!(logs[0]["dry_run"]["diff_ref"], diff_ref.as_str(), "{point}");
            assert_eq!(logs[0]["execution"]["status"], "success", "{point}");
            assert_eq!(
                logs[0]["verification"]["integrity_verified"], true,
                "{point}"
            );
            assert!(
                report["applies"][0]["log_ref"].is_string(),
                "{point}: {report}"
            );
        } else {
            assert_eq!(target, before, "{point}");
            // Undone, and logged as the failure it was.
            assert_eq!(logs.len(), 1, "{point}: {logs:?}");
            assert_eq!(logs[0]["execution"]["status"], "failed", "{point}");
        }
        assert!(stray_temps(&repo.path().join("dst")).is_empty(), "{point}");
        let verify = repo.run(&["evidence", "verify"]);
        assert_eq!(verify.code(), 0, "{point}: {}", verify.transcript());
    }
}

/// An apply that fails after its commit point leaves its journal to
/// finish: its lock stays, so that no other sync writes the half-applied
/// target, until `recover` has finished it (and a recovery that fails in
/// turn leaves the lock too).
#[test]
fn an_apply_failing_past_its_commit_point_keeps_the_target_locked() {
    let repo = TestRepo::new();
    fill(&repo.path().join("src-a"), 20, 41);
    repo.write("src-a/newdir/x.txt", "x\n");
    fill(&repo.path().join("src-b"), 20, 42);
    fill(&repo.path().join("dst"), 10, 43);
    repo.commit("chore: trees");
    repo.write(".trainyard/syncs/a.yaml", &open_sync("a", "src-a", "dst"));
    repo.write(".trainyard/syncs/b.yaml", &open_sync("b", "src-b", "dst"));
    let (plan_a, diff_a) = plan(&repo, "a", &[]);
    let (plan_b, _) = plan(&repo, "b", &[]);
    let pause = repo.home().join("paused");
    let mut apply = paused_apply(&repo, &plan_a, "staged_all", &pause);
    wait_for(&pause, "the commit point", &mut apply);
    // A file where the apply must create a directory: the rename fails.
    let blocker = repo.path().join("dst/newdir");
    std::fs::write(&blocker, "in the way\n").expect("blocker");
    std::fs::remove_file(&pause).expect("resume");
    let (status, _, stderr) = finish(apply);
    assert_eq!(status.code(), Some(3), "{stderr}");
    let lock = repo.path().join(".dst.trainyard-lock");
    assert!(lock.exists(), "the half-applied target was left unlocked");

    let refused = repo.run(&["sync", "apply", &plan_b]);
    assert_eq!(refused.code(), 3, "{}", refused.transcript());
    assert!(
        refused.stderr().contains("run `trainyard sync recover a`"),
        "{}",
        refused.stderr()
    );
    let failed = repo.run(&["sync", "recover", "a"]);
    assert_eq!(failed.code(), 3, "{}", failed.transcript());
    assert!(lock.exists(), "a failed recovery dropped the lock");

    std::fs::remove_file(&blocker).expect("out of the way");
    let recovered = repo.run(&["sync", "recover", "a"]);
    assert_eq!(recovered.code(), 0, "{}", recovered.transcript());
    assert!(
        recovered.stderr().contains("rolled forward"),
        "{}",
        recovered.stderr()
    );
    assert!(!lock.exists());
    assert_eq!(
        files(&repo.path().join("src-a")),
        files(&repo.path().join("dst"))
    );
    let logs = logs(&repo);
    assert!(
        logs.iter()
            .any(|l| l["dry_run"]["diff_ref"] == diff_a.as_str()
                && l["execution"]["status"] == "success"),
        "{logs:?}"
    );
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

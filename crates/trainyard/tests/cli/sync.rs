//! `trainyard sync ...`: plan, approve, apply on real directories and git
//! repositories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{TestRepo, assert_unchanged, snapshot_dir};

fn sync_file(repo: &TestRepo, id: &str, body: &str) {
    repo.write(&format!(".trainyard/syncs/{id}.yaml"), body);
}

fn file_sync(id: &str, source: &str, target: &str, options: &str) -> String {
    format!(
        "sync_config:\n  sync_id: {id}\n  name: {id}\n  type: cross_repo\n  source:\n    type: file\n    location: {source}\n  target:\n    type: file\n    location: {target}\n  options:\n    dry_run_required: true\n    approval_required: true\n    approver: release-managers\n    conflict_strategy: fail\n{options}  filters:\n    include: []\n    exclude: []\n  schedule:\n    trigger: manual\n  notifications:\n    on_success: []\n    on_failure: []\n"
    )
}

fn plan_id(repo: &TestRepo, id: &str) -> String {
    let run = repo.run(&["--json", "sync", "plan", id]);
    assert!(run.code() <= 1, "{}", run.transcript());
    run.json()["plan_id"].as_str().expect("plan id").to_owned()
}

fn approve(repo: &TestRepo, plan: &str) {
    let run = repo.run(&[
        "sync",
        "approve",
        plan,
        "--by",
        "ada@example.org",
        "--role",
        "release-managers",
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
}

/// Every file under a directory with its bytes, by relative path.
fn files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot_dir(root)
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(root).expect("under root").to_path_buf(), b))
        .collect()
}

/// Every directory under `root`, by relative path.
fn dirs(root: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_dir() {
                let path = entry.path();
                out.insert(path.strip_prefix(root).expect("under root").to_path_buf());
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn generated_trees_plan_exactly_and_apply_to_equality() {
    let repo = TestRepo::new();
    repo.commit("chore: start");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen-tree.py");
    // Beside the repository, as in CI: without it this test fails rather
    // than passing untested.
    assert!(
        script.is_file(),
        "{} is missing: check out ../shared beside the repository",
        script.display()
    );
    let pair = repo.path().join("pair");
    let status = Command::new("python3")
        .arg(&script)
        .arg(&pair)
        .args(["--files", "1500", "--seed", "5"])
        .status()
        .expect("python3");
    assert!(status.success());
    sync_file(
        &repo,
        "trees",
        &file_sync("trees", "pair/source", "pair/target", ""),
    );
    let before = snapshot_dir(&pair.join("target"));
    let run = repo.run(&["--json", "sync", "plan", "trees"]);
    assert_eq!(run.code(), 1, "changes planned: {}", run.stderr());
    let plan = run.json();
    assert_unchanged(&before, &snapshot_dir(&pair.join("target")));
    let planned: BTreeSet<(String, String)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().expect("kind").to_owned(),
                c["path"].as_str().expect("path").to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = std::fs::read_to_string(pair.join("expected.tsv"))
        .expect("expected.tsv")
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, p)| (k.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(planned, expected);
    assert_eq!(plan["plan"]["result"]["total_changes"], expected.len());
    let id = plan["plan_id"].as_str().expect("id").to_owned();
    approve(&repo, &id);
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(files(&pair.join("source")), files(&pair.join("target")));
    // Directories too: one the deletes empty stays where the source has it.
    assert_eq!(dirs(&pair.join("source")), dirs(&pair.join("target")));
    // The log is the spec's sync_log.
    let logs = repo.run(&["--json", "sync", "log", "trees"]).json();
    assert_eq!(logs[0]["execution"]["status"], "success");
    assert_eq!(logs[0]["verification"]["integrity_verified"], true);
    // Plans are single-use.
    let again = repo.run(&["sync", "apply", &id]);
    assert_eq!(again.code(), 2);
    assert!(again.stderr().contains("single-use"), "{}", again.stderr());
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

fn small_fixture(options: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/a.txt", "alpha\n");
    repo.write("src/b.txt", "bravo\n");
    repo.write("src/with space.txt", "space\n");
    repo.write("dst/b.txt", "old bravo\n");
    repo.write("dst/gone.txt", "gone\n");
    repo.commit("chore: trees");
    sync_file(&repo, "small", &file_sync("small", "src", "dst", options));
    repo
}

#[test]
fn unapproved_rejected_and_stale_plans_are_refused() {
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    let unapproved = repo.run(&["sync", "apply", &id]);
    assert_eq!(unapproved.code(), 2);
    assert!(
        unapproved.stderr().contains("is not approved"),
        "{}",
        unapproved.stderr()
    );
    // The approver is enforced.
    let wrong = repo.run(&["sync", "approve", &id, "--by", "mallory@example.org"]);
    assert_eq!(wrong.code(), 2, "{}", wrong.transcript());
    approve(&repo, &id);
    // The target changes after planning: stale.
    repo.write("dst/b.txt", "edited by hand\n");
    let stale = repo.run(&["sync", "apply", &id]);
    assert_eq!(stale.code(), 2, "{}", stale.transcript());
    assert!(
        stale.stderr().contains("is stale: the target changed"),
        "{}",
        stale.stderr()
    );
    // A rejected plan can never be applied.
    let id = plan_id(&repo, "small");
    let reject = repo.run(&[
        "sync",
        "approve",
        &id,
        "--reject",
        "--reason",
        "not today",
        "--role",
        "release-managers",
    ]);
    assert_eq!(reject.code(), 0, "{}", reject.transcript());
    let rejected = repo.run(&["sync", "apply", &id]);
    assert_eq!(rejected.code(), 2);
    assert!(
        rejected.stderr().contains("was rejected"),
        "{}",
        rejected.stderr()
    );
}

#[test]
fn an_empty_target_goes_stale_too() {
    let repo = small_fixture("");
    std::fs::remove_dir_all(repo.path().join("dst")).expect("empty target");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    repo.write("dst/surprise.txt", "appeared\n");
    let stale = repo.run(&["sync", "apply", &id]);
    assert_eq!(stale.code(), 2, "{}", stale.transcript());
    assert!(stale.stderr().contains("stale"), "{}", stale.stderr());
}

#[test]
fn dr01_and_escaping_filters_are_refused_with_their_lines() {
    let repo = small_fixture("");
    let text = file_sync("bad", "src", "dst", "")
        .replace("dry_run_required: true", "dry_run_required: false");
    sync_file(&repo, "bad", &text);
    let run = repo.run(&["sync", "validate", "bad"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains(
            ".trainyard/syncs/bad.yaml:12:23: sync_config.options.dry_run_required: DR-01"
        ),
        "{}",
        run.stderr()
    );
    let text =
        file_sync("bad", "src", "dst", "").replace("include: []", "include: [\"../outside/**\"]");
    sync_file(&repo, "bad", &text);
    let run = repo.run(&["sync", "validate", "bad"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    assert!(run.stdout().contains("../outside"), "{}", run.stdout());
}

#[test]
fn secrets_never_appear_in_plans() {
    let repo = small_fixture("    secret_patterns: ['password=\\S+']\n");
    repo.write("src/app.conf", "user=ada\npassword=hunter2\n");
    let run = repo.run(&["sync", "plan", "small"]);
    assert_eq!(run.code(), 1);
    assert!(!run.stdout().contains("hunter2"), "{}", run.stdout());
    assert!(run.stdout().contains("***"), "{}", run.stdout());
    let evidence = repo
        .run(&["--json", "evidence", "list", "--kind", "sync_diff"])
        .json();
    for record in evidence.as_array().expect("records") {
        let name = record["name"].as_str().expect("name");
        let shown = repo.run(&["evidence", "show", "sync_diff", name]);
        assert_eq!(shown.code(), 0, "{}", shown.transcript());
        assert!(shown.stdout().contains("***"), "{}", shown.stdout());
        assert!(!shown.stdout().contains("hunter2"));
    }
    let changes = repo
        .run(&["--json", "evidence", "list", "--kind", "sync_changes"])
        .json();
    let name = changes[0]["name"].as_str().expect("a change list");
    let shown = repo.run(&["evidence", "show", "sync_changes", name]);
    assert!(!shown.stdout().contains("hunter2"), "{}", shown.stdout());
}

#[test]
fn max_delete_needs_an_override() {
    let repo = small_fixture("    max_delete: \"0\"\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let refused = repo.run(&["sync", "apply", &id]);
    assert_eq!(refused.code(), 2);
    assert!(
        refused.stderr().contains("max_delete"),
        "{}",
        refused.stderr()
    );
    // A plan made a minute later is another plan (one of the same trees
    // at the same instant would be the same plan, approved already).
    let later = repo.run_env(
        &["--json", "sync", "plan", "small"],
        &[("TRAINYARD_NOW", "2027-01-13T10:01:00Z")],
    );
    let id = later.json()["plan_id"].as_str().expect("id").to_owned();
    let run = repo.run(&[
        "sync",
        "approve",
        &id,
        "--role",
        "release-managers",
        "--override-max-delete",
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    assert!(!repo.path().join("dst/gone.txt").exists());
}

/// An apply killed at its first journal step leaves the target locked:
/// the next apply is refused with the lock's holder, process, id and file
/// and the command that clears it; once that has run, a new plan applies.
#[test]
fn a_held_lock_blocks_an_apply_until_recover_clears_it() {
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let before = snapshot_dir(&repo.path().join("dst"));
    let holder = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "begin")],
    );
    assert_eq!(holder.code(), -1, "not killed: {}", holder.transcript());
    let lock = std::fs::canonicalize(repo.path())
        .expect("canonical")
        .join(".dst.trainyard-lock");
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock).expect("the lock beside the target"))
            .expect("lock JSON");
    let lock_id = info["id"].as_str().expect("lock id");
    let blocked = repo.run(&["sync", "apply", &id]);
    assert_eq!(blocked.code(), 3, "{}", blocked.transcript());
    let refusal = blocked.stderr();
    for needle in [
        "is locked by test@example.org".to_owned(),
        format!("(process {}, no longer running)", info["pid"]),
        format!("applying plan {id} of sync small"),
        format!("(lock {lock_id} {})", lock.display()),
        "run `trainyard sync recover small`".to_owned(),
    ] {
        assert!(refusal.contains(&needle), "{needle} missing from {refusal}");
    }
    assert_unchanged(&before, &snapshot_dir(&repo.path().join("dst")));

    let recovered = repo.run(&["sync", "recover", "small"]);
    assert_eq!(recovered.code(), 0, "{}", recovered.transcript());
    assert!(
        recovered
            .stderr()
            .contains(&format!("cleared lock {lock_id}")),
        "{}",
        recovered.transcript()
    );
    assert!(!lock.exists());
    // The killed apply spent its plan; a new one (a new second, so a new
    // apply id) applies.
    let now = [("TRAINYARD_NOW", "2027-01-13T10:01:00Z")];
    let run = repo.run_env(&["--json", "sync", "plan", "small"], &now);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    let next = run.json()["plan_id"].as_str().expect("plan id").to_owned();
    let approved = repo.run_env(
        &[
            "sync",
            "approve",
            &next,
            "--by",
            "ada@example.org",
            "--role",
            "release-managers",
        ],
        &now,
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    let applied = repo.run_env(&["sync", "apply", &next], &now);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        files(&repo.path().join("src")),
        files(&repo.path().join("dst"))
    );
}

fn conflict_fixture(strategy: &str) -> TestRepo {
    let options = "";
    let repo = small_fixture(options);
    let text = file_sync("small", "src", "dst", "").replace(
        "conflict_strategy: fail",
        &format!("conflict_strategy: {strategy}"),
    );
    sync_file(&repo, "small", &text);
    // A first sync sets the base.
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    // Both sides change a.txt since.
    repo.write("src/a.txt", "alpha from the source\n");
    repo.write("dst/a.txt", "alpha edited in the target\n");
    repo
}

#[test]
fn conflicts_follow_the_strategy() {
    let repo = conflict_fixture("fail");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let failed = repo.run(&["sync", "apply", &id]);
    assert_eq!(failed.code(), 2, "{}", failed.transcript());
    assert!(
        failed.stderr().contains("unresolved conflict"),
        "{}",
        failed.stderr()
    );
    for (strategy, wanted) in [
        ("theirs", "alpha from the source\n"),
        ("ours", "alpha edited in the target\n"),
    ] {
        let repo = conflict_fixture(strategy);
        let id = plan_id(&repo, "small");
        approve(&repo, &id);
        let run = repo.run(&["sync", "apply", &id]);
        assert_eq!(run.code(), 0, "{strategy}: {}", run.transcript());
        assert_eq!(
            std::fs::read_to_string(repo.path().join("dst/a.txt")).expect("read"),
            wanted,
            "{strategy}"
        );
    }
}

/// The plan of `repo`'s sync `small` and its counts, once approved.
fn planned(repo: &TestRepo) -> (String, serde_json::Value) {
    let plan = repo.run(&["--json", "sync", "plan", "small"]).json();
    let id = plan["plan_id"].as_str().expect("id").to_owned();
    approve(repo, &id);
    (id, plan)
}

#[test]
fn an_edit_the_target_kept_survives_the_next_syncs() {
    for strategy in ["ours", "merge"] {
        let repo = small_fixture("");
        let text = file_sync("small", "src", "dst", "").replace(
            "conflict_strategy: fail",
            &format!("conflict_strategy: {strategy}"),
        );
        sync_file(&repo, "small", &text);
        repo.write("src/a.txt", "one\ntwo\nthree\nfour\nfive\n");
        let (id, _) = planned(&repo);
        assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0, "{strategy}");
        let read = |path: &str| std::fs::read_to_string(repo.path().join(path)).expect("read");
        // Cycle 1: both sides change a.txt, on different lines; the
        // strategy keeps the target's edit.
        repo.write("src/a.txt", "ONE\ntwo\nthree\nfour\nfive\n");
        repo.write("dst/a.txt", "one\ntwo\nthree\nfour\nFIVE\n");
        let (id, plan) = planned(&repo);
        assert_eq!(plan["conflicts"][0]["path"], "a.txt", "{strategy}: {plan}");
        let run = repo.run(&["sync", "apply", &id]);
        assert_eq!(run.code(), 0, "{strategy}: {}", run.transcript());
        let kept = read("dst/a.txt");
        let wanted = match strategy {
            "ours" => "one\ntwo\nthree\nfour\nFIVE\n",
            _ => "ONE\ntwo\nthree\nfour\nFIVE\n",
        };
        assert_eq!(kept, wanted, "{strategy}");
        // Cycle 2: nothing changed since: nothing to do, the edit stays.
        let (_, plan) = planned(&repo);
        assert_eq!(
            plan["plan"]["result"]["total_changes"], 0,
            "{strategy}: the next plan undoes the kept edit: {plan}"
        );
        // Cycle 3: the source changes another file: only that one moves.
        repo.write("src/b.txt", "beta, second edition\n");
        let (id, plan) = planned(&repo);
        assert_eq!(
            plan["plan"]["result"]["total_changes"], 1,
            "{strategy}: {plan}"
        );
        assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0, "{strategy}");
        assert_eq!(read("dst/b.txt"), "beta, second edition\n");
        assert_eq!(read("dst/a.txt"), kept, "{strategy}");
        // Cycle 4: the source changes a.txt again: the kept edit meets
        // the new one, and the strategy decides once more.
        repo.write("src/a.txt", "ONE\ntwo\nTHREE\nfour\nfive\n");
        let (id, plan) = planned(&repo);
        assert_eq!(plan["conflicts"][0]["path"], "a.txt", "{strategy}: {plan}");
        let run = repo.run(&["sync", "apply", &id]);
        assert_eq!(run.code(), 0, "{strategy}: {}", run.transcript());
        let wanted = match strategy {
            "ours" => kept.clone(),
            _ => "ONE\ntwo\nTHREE\nfour\nFIVE\n".to_owned(),
        };
        assert_eq!(read("dst/a.txt"), wanted, "{strategy}");
    }
}

#[test]
fn a_git_target_gets_one_commit_with_the_source_revision() {
    let repo = TestRepo::new();
    let target = repo.home().join("target.git");
    repo.git_in(
        repo.home(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            target.to_str().expect("utf-8"),
        ],
    );
    let seed = repo.home().join("seed");
    repo.git_in(
        repo.home(),
        &[
            "clone",
            "-q",
            target.to_str().expect("utf-8"),
            seed.to_str().expect("utf-8"),
        ],
    );
    std::fs::write(seed.join("README"), "target\n").expect("seed");
    repo.git_in(&seed, &["add", "-A"]);
    repo.git_in(&seed, &["commit", "-q", "-m", "chore: seed"]);
    repo.git_in(&seed, &["push", "-q", "origin", "HEAD:main"]);
    repo.write("config/app.yaml", "replicas: 3\n");
    repo.commit("feat: config");
    let text = format!(
        "sync_config:\n  sync_id: cfg\n  name: config\n  type: config\n  source:\n    type: file\n    location: config\n  target:\n    type: git\n    location: {}\n    branch: main\n  options:\n    dry_run_required: true\n    approval_required: false\n    conflict_strategy: theirs\n  filters:\n    include: [\"app.yaml\"]\n    exclude: []\n  schedule:\n    trigger: on_release\n  notifications:\n    on_success: []\n    on_failure: []\n",
        target.display()
    );
    sync_file(&repo, "cfg", &text);
    let before = snapshot_dir(&target);
    let planned = repo.run(&["sync", "plan", "cfg"]);
    assert_eq!(planned.code(), 1, "{}", planned.transcript());
    assert_unchanged(&before, &snapshot_dir(&target));
    let run = repo.run(&["sync", "run", "cfg"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let log = repo.git_in(&target, &["log", "-1", "--format=%B", "main"]);
    assert!(log.contains("Sync-Source-Rev: fingerprint:"), "{log}");
    let files = repo.git_in(&target, &["ls-tree", "--name-only", "main"]);
    assert_eq!(files, "README\napp.yaml");
    // A branch moved after planning is a stale plan, not an overwrite.
    let text =
        std::fs::read_to_string(repo.path().join(".trainyard/syncs/cfg.yaml")).expect("read");
    sync_file(
        &repo,
        "cfg",
        &text.replace("approval_required: false", "approval_required: true"),
    );
    repo.write("config/app.yaml", "replicas: 5\n");
    let id = plan_id(&repo, "cfg");
    approve_plain(&repo, &id);
    repo.git_in(&seed, &["pull", "-q", "origin", "main"]);
    std::fs::write(seed.join("README"), "moved\n").expect("move");
    repo.git_in(&seed, &["commit", "-q", "-am", "chore: move"]);
    repo.git_in(&seed, &["push", "-q", "origin", "HEAD:main"]);
    let stale = repo.run(&["sync", "apply", &id]);
    assert_eq!(stale.code(), 2, "{}", stale.transcript());
    assert!(stale.stderr().contains("stale"), "{}", stale.stderr());
}

fn approve_plain(repo: &TestRepo, plan: &str) {
    let run = repo.run(&["sync", "approve", plan, "--by", "ada@example.org"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
}

#[test]
fn merge_combines_both_edits_or_shows_the_conflict_hunks() {
    let repo = small_fixture("");
    let text = file_sync("small", "src", "dst", "")
        .replace("conflict_strategy: fail", "conflict_strategy: merge");
    sync_file(&repo, "small", &text);
    repo.write("src/a.txt", "one\ntwo\nthree\nfour\nfive\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    // Different lines on each side: a clean merge.
    repo.write("src/a.txt", "ONE\ntwo\nthree\nfour\nfive\n");
    repo.write("dst/a.txt", "one\ntwo\nthree\nfour\nFIVE\n");
    let run = repo.run(&["--json", "sync", "plan", "small"]);
    let plan = run.json();
    assert_eq!(plan["conflicts"][0]["resolution"], "merge", "{plan}");
    let id = plan["plan_id"].as_str().expect("id").to_owned();
    approve(&repo, &id);
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/a.txt")).expect("read"),
        "ONE\ntwo\nthree\nfour\nFIVE\n"
    );
    // The same line on both sides: the plan shows the hunks and cannot apply.
    repo.write("src/a.txt", "ONE\ntwo\nthree from the source\nfour\nFIVE\n");
    repo.write("dst/a.txt", "ONE\ntwo\nthree from the target\nfour\nFIVE\n");
    let plan = repo.run(&["--json", "sync", "plan", "small"]).json();
    let detail = plan["conflicts"][0]["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    assert!(
        detail.contains("<<<<<<<")
            && detail.contains("three from the source")
            && detail.contains("three from the target"),
        "{detail}"
    );
    let id = plan["plan_id"].as_str().expect("id").to_owned();
    approve(&repo, &id);
    let refused = repo.run(&["sync", "apply", &id]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
}

#[test]
fn the_sync_log_has_the_spec_keys() {
    let repo = small_fixture("    smoke_tests: [\"test -f b.txt\"]\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    let list = repo
        .run(&["--json", "evidence", "list", "--kind", "sync_log"])
        .json();
    let name = list[0]["name"].as_str().expect("a sync_log").to_owned();
    let yaml = repo.run(&["evidence", "show", "sync_log", &name]).stdout();
    insta::assert_snapshot!(crate::support::yaml_keys(&yaml), @r"
    sync_log
      sync_id
      execution_id
      executed_at
      executed_by
      dry_run
        executed_at
        result
          files_to_add
          files_to_modify
          files_to_delete
          total_changes
        diff_summary
        diff_ref
      approval
        approved
        approved_by
        approved_at
        dry_run_ref
      execution
        started_at
        completed_at
        status
        changes_applied
          added
          modified
          deleted
        errors
      verification
        smoke_tests_passed
        integrity_verified
        notes
    ");
    assert!(yaml.contains("smoke_tests_passed: true"), "{yaml}");
    assert!(yaml.contains("notes: null"), "{yaml}");
}

#[test]
fn an_expired_plan_is_refused() {
    let repo = small_fixture("    plan_ttl_minutes: 60\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let late = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_NOW", "2027-01-13T12:00:00Z")],
    );
    assert_eq!(late.code(), 2, "{}", late.transcript());
    assert!(
        late.stderr().contains("expired at 2027-01-13T11:00:00Z"),
        "{}",
        late.stderr()
    );
}

#[test]
fn a_pinned_clock_neither_revives_an_expired_plan_nor_dates_an_apply() {
    // Planned and applied under a clock pinned a year back: the plan's
    // hour has long passed on the real clock.
    let repo = small_fixture("    plan_ttl_minutes: 60\n");
    let past = [("TRAINYARD_NOW", "2025-12-01T10:00:00Z")];
    let run = repo.run_env(&["--json", "sync", "plan", "small"], &past);
    let id = run.json()["plan_id"].as_str().expect("id").to_owned();
    let approved = repo.run_env(
        &[
            "sync",
            "approve",
            &id,
            "--by",
            "ada@example.org",
            "--role",
            "release-managers",
        ],
        &past,
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    let before = snapshot_dir(&repo.path().join("dst"));
    let late = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_NOW", "2025-12-01T10:30:00Z")],
    );
    assert_eq!(late.code(), 2, "{}", late.transcript());
    assert!(
        late.stderr().contains("expired at 2025-12-01T11:00:00Z"),
        "{}",
        late.stderr()
    );
    assert_unchanged(&before, &snapshot_dir(&repo.path().join("dst")));
    // A live plan's apply is dated by the real clock, not the pinned one.
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let start = jiff_free_now();
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    let end = jiff_free_now();
    let logs = repo.run(&["--json", "sync", "log", "small"]).json();
    let log = &logs[0];
    for key in ["started_at", "completed_at"] {
        let at = log["execution"][key].as_str().expect(key);
        assert!(
            !at.starts_with("2027-01-13")
                && start.as_str() <= at
                && at <= end.as_str()
                && at.len() == 20,
            "{key} {at} outside {start}..{end}"
        );
    }
    assert_eq!(log["dry_run"]["executed_at"], "2027-01-13T10:00:00Z");
}

/// The real time now, RFC 3339 in UTC to the second, from `date`.
fn jiff_free_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn a_plan_that_fails_leaves_the_target_as_it_was() {
    let repo = TestRepo::new();
    let target = repo.home().join("target.git");
    repo.git_in(
        repo.home(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            target.to_str().expect("utf-8"),
        ],
    );
    repo.write("config/app.yaml", "replicas: 3\n");
    repo.commit("feat: config");
    let text = format!(
        "sync_config:\n  sync_id: cfg\n  name: config\n  type: config\n  source:\n    type: file\n    location: config\n  target:\n    type: git\n    location: {}\n    branch: no-such-branch\n  options:\n    dry_run_required: true\n    approval_required: false\n  filters:\n    include: []\n    exclude: []\n  schedule:\n    trigger: manual\n  notifications:\n    on_success: []\n    on_failure: []\n",
        target.display()
    );
    sync_file(&repo, "cfg", &text);
    let before = snapshot_dir(&target);
    let run = repo.run(&["sync", "plan", "cfg"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(run.stderr().contains("no-such-branch"), "{}", run.stderr());
    assert_unchanged(&before, &snapshot_dir(&target));
}

#[test]
fn a_failing_smoke_test_makes_the_apply_exit_1() {
    let repo = small_fixture("    smoke_tests: [\"test -f never-there\"]\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let applied = repo.run(&["--json", "sync", "apply", &id]);
    assert_eq!(applied.code(), 1, "{}", applied.transcript());
    let log = applied.json();
    assert_eq!(log["log"]["execution"]["status"], "success");
    assert_eq!(log["log"]["verification"]["smoke_tests_passed"], false);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/a.txt")).expect("applied"),
        "alpha\n"
    );
}

#[test]
fn secrets_are_masked_in_merge_conflict_hunks_too() {
    let repo = small_fixture("");
    let text = file_sync(
        "small",
        "src",
        "dst",
        "    secret_patterns: ['password=\\S+']\n",
    )
    .replace("conflict_strategy: fail", "conflict_strategy: merge");
    sync_file(&repo, "small", &text);
    repo.write("src/app.conf", "user=ada\npassword=base\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    assert_eq!(repo.run(&["sync", "apply", &id]).code(), 0);
    // Both sides change the secret line: a conflict whose hunks quote it.
    repo.write("src/app.conf", "user=ada\npassword=hunter2\n");
    repo.write("dst/app.conf", "user=ada\npassword=swordfish\n");
    let human = repo.run(&["sync", "plan", "small"]);
    let json = repo.run(&["--json", "sync", "plan", "small"]);
    let detail = json.json()["conflicts"][0]["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    assert!(
        detail.contains("<<<<<<<") && detail.contains("***"),
        "{detail}"
    );
    for secret in ["hunter2", "swordfish"] {
        for text in [human.stdout(), human.stderr(), json.stdout()] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for kind in ["sync_plan", "sync_diff", "sync_changes"] {
            let records = repo
                .run(&["--json", "evidence", "list", "--kind", kind])
                .json();
            let records = records.as_array().expect("records");
            assert!(!records.is_empty(), "no {kind}");
            for record in records {
                let name = record["name"].as_str().expect("name");
                let shown = repo.run(&["evidence", "show", kind, name]);
                assert_eq!(shown.code(), 0, "{}", shown.transcript());
                assert!(
                    !shown.stdout().contains(secret),
                    "{secret} in {kind} {name}"
                );
            }
        }
    }
}

#[test]
fn a_source_symlink_out_of_the_source_is_refused() {
    let repo = small_fixture("");
    let outside = repo.home().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    std::os::unix::fs::symlink("../../outside", repo.path().join("src/escape")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("src/passwd")).expect("symlink");
    let before = files(&repo.path().join("dst"));
    let run = repo.run(&["sync", "plan", "small"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert_eq!(
        run.stderr(),
        "error: sync small: the source's symlink escape points out of the source (`../../outside`): it is not copied; remove it, exclude it with filters, or point it inside the source\n"
    );
    assert_unchanged(&before, &files(&repo.path().join("dst")));
    // A link that stays inside is copied as a link.
    std::fs::remove_file(repo.path().join("src/escape")).expect("rm");
    std::fs::remove_file(repo.path().join("src/passwd")).expect("rm");
    std::os::unix::fs::symlink("a.txt", repo.path().join("src/alias")).expect("symlink");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    let link = std::fs::read_link(repo.path().join("dst/alias")).expect("link");
    assert_eq!(link, PathBuf::from("a.txt"));
    // `symlinks: refuse` refuses even that one.
    let strict = file_sync("small", "src", "dst", "    symlinks: refuse\n");
    sync_file(&repo, "small", &strict);
    let run = repo.run(&["sync", "plan", "small"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr()
            .contains("symlink alias points somewhere and options.symlinks is `refuse`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn plans_made_at_once_are_all_recorded() {
    let repo = small_fixture("");
    let runs: Vec<_> = (0..10)
        .map(|_| repo.start(&["--json", "sync", "plan", "small"], &[]))
        .collect();
    let mut refs = BTreeSet::new();
    for run in runs {
        let run = run.finish();
        assert_eq!(run.code(), 1, "{}", run.transcript());
        refs.insert(
            run.json()["plan_ref"]
                .as_str()
                .expect("plan_ref")
                .to_owned(),
        );
    }
    assert_eq!(refs.len(), 10, "{refs:?}");
    let verify = repo.run(&["evidence", "verify"]);
    assert_eq!(verify.code(), 0, "{}", verify.transcript());
}

#[test]
fn a_symlinked_store_directory_is_never_written_through() {
    let repo = small_fixture("");
    // A first plan creates the store.
    plan_id(&repo, "small");
    let outside = repo.home().join("outside");
    std::fs::create_dir(&outside).expect("outside");
    let diffs = repo.path().join(".trainyard/evidence/sync_diff");
    std::fs::rename(&diffs, repo.home().join("moved")).expect("move diffs away");
    std::os::unix::fs::symlink(&outside, &diffs).expect("ln");
    repo.write("src/a.txt", "alpha, changed\n");
    let run = repo.run(&["sync", "plan", "small"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains(&diffs.display().to_string())
            && run.stderr().contains("symbolic link"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        std::fs::read_dir(&outside).expect("outside").count(),
        0,
        "nothing is written outside the store"
    );
}

#[test]
fn a_sync_config_is_listed_with_every_key_of_the_spec() {
    let repo = small_fixture("");
    let list = repo.run(&["--json", "sync", "list"]);
    assert_eq!(list.code(), 0, "{}", list.transcript());
    let config = &list.json()[0];
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(map) = value.as_object() {
            for (key, value) in map {
                let path = format!("{prefix}{key}");
                out.push(path.clone());
                keys(value, &format!("{path}."), out);
            }
        }
    }
    let mut found = Vec::new();
    keys(config, "", &mut found);
    for key in [
        "sync_id",
        "name",
        "type",
        "source.type",
        "source.location",
        "source.branch",
        "source.credentials",
        "target.type",
        "target.location",
        "target.branch",
        "target.credentials",
        "options.dry_run_required",
        "options.approval_required",
        "options.approver",
        "options.conflict_strategy",
        "filters.include",
        "filters.exclude",
        "schedule.trigger",
        "schedule.cron",
        "notifications.on_success",
        "notifications.on_failure",
    ] {
        assert!(found.iter().any(|k| k == key), "{key} missing: {config}");
    }
    assert_eq!(config["source"]["branch"], serde_json::Value::Null);
    assert_eq!(config["schedule"]["cron"], serde_json::Value::Null);
}

/// The one recorded document of `kind`, by its path.
/// The one recorded document of `kind`.
pub fn only_document(repo: &TestRepo, kind: &str) -> PathBuf {
    let list = repo
        .run(&["--json", "evidence", "list", "--kind", kind])
        .json();
    let records = list.as_array().expect("records");
    assert_eq!(records.len(), 1, "{list}");
    repo.path()
        .join(".trainyard")
        .join(records[0]["path"].as_str().expect("path"))
}

/// Replaces `from` (which must be there) with `to` in a file.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{from} not in {text}");
    std::fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn a_rejection_edited_into_an_approval_is_refused() {
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    let reject = repo.run(&[
        "sync",
        "approve",
        &id,
        "--reject",
        "--reason",
        "no",
        "--role",
        "release-managers",
    ]);
    assert_eq!(reject.code(), 0, "{}", reject.transcript());
    let approval = only_document(&repo, "sync_approval");
    edit(&approval, "approved: false", "approved: true");
    let before = snapshot_dir(&repo.path().join("dst"));
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains("was edited after it was recorded")
            && run.stderr().contains(&approval.display().to_string())
            && run.stderr().contains("plan again"),
        "{}",
        run.transcript()
    );
    assert_unchanged(&before, &snapshot_dir(&repo.path().join("dst")));
    // A second decision is refused too: the first one cannot be read.
    let again = repo.run(&[
        "sync",
        "approve",
        &id,
        "--role",
        "release-managers",
        "--by",
        "ada@example.org",
    ]);
    assert_eq!(again.code(), 2, "{}", again.transcript());
}

#[test]
fn an_override_edited_into_an_approval_is_refused() {
    let repo = small_fixture("    max_delete: \"0\"\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let approval = only_document(&repo, "sync_approval");
    edit(
        &approval,
        "override_max_delete: false",
        "override_max_delete: true",
    );
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains("was edited after it was recorded"),
        "{}",
        run.transcript()
    );
    assert!(repo.path().join("dst/gone.txt").exists(), "nothing deleted");
}

#[test]
fn an_edited_plan_is_refused_with_its_path() {
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let plan = only_document(&repo, "sync_plan");
    let text = std::fs::read_to_string(&plan).expect("read");
    std::fs::write(&plan, format!("{text}# reviewed\n")).expect("append");
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains(&plan.display().to_string()) && run.stderr().contains("plan again"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_plan_of_100000_changes_is_recorded_approved_and_applied() {
    let repo = TestRepo::new();
    repo.commit("chore: start");
    let source = repo.path().join("src");
    for d in 0..100 {
        let dir = source.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..1000 {
            std::fs::write(dir.join(format!("f{f:03}")), "").expect("empty file");
        }
    }
    std::fs::create_dir_all(repo.path().join("dst")).expect("target");
    sync_file(&repo, "big", &file_sync("big", "src", "dst", ""));
    let run = repo.run(&["--json", "sync", "plan", "big"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let plan = run.json();
    assert_eq!(plan["plan"]["result"]["files_to_add"], 100_000);
    assert_eq!(plan["changes"].as_array().expect("changes").len(), 100_000);
    let id = plan["plan_id"].as_str().expect("id").to_owned();
    approve(&repo, &id);
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        std::fs::read_dir(repo.path().join("dst/d99"))
            .expect("applied")
            .count(),
        1000
    );
    let logs = repo.run(&["--json", "sync", "log", "big"]).json();
    assert_eq!(logs[0]["execution"]["changes_applied"]["added"], 100_000);
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

#[test]
fn a_plan_of_10000_modified_files_is_recorded_and_an_unchanged_replan_shares_its_bodies() {
    let repo = TestRepo::new();
    repo.commit("chore: start");
    for f in 0..10_000 {
        let name = format!("d{}/f{f:05}.txt", f % 20);
        repo.write(&format!("src/{name}"), &format!("new {f}\n"));
        repo.write(&format!("dst/{name}"), &format!("old {f}\n"));
    }
    sync_file(&repo, "mods", &file_sync("mods", "src", "dst", ""));
    let first = repo.run(&["--json", "sync", "plan", "mods"]);
    assert_eq!(first.code(), 1, "{}", first.stderr());
    assert_eq!(first.json()["plan"]["result"]["files_to_modify"], 10_000);
    let evidence = repo.path().join(".trainyard/evidence");
    let size = || -> u64 {
        snapshot_dir(&evidence)
            .iter()
            .map(|(_, bytes)| bytes.len() as u64)
            .sum()
    };
    let before = size();
    let again = repo.run_env(
        &["--json", "sync", "plan", "mods"],
        &[("TRAINYARD_NOW", "2027-01-13T10:05:00Z")],
    );
    assert_eq!(again.code(), 1, "{}", again.stderr());
    let (a, b) = (first.json(), again.json());
    assert_ne!(a["plan_id"], b["plan_id"]);
    assert_eq!(a["plan"]["diff_ref"], b["plan"]["diff_ref"]);
    assert_eq!(a["plan"]["changes_ref"], b["plan"]["changes_ref"]);
    let grown = size() - before;
    assert!(
        grown < 100_000,
        "an unchanged re-plan grew the store by {grown} bytes"
    );
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

/// The sync's owed-log journals (see `trainyard_core::sync::outcome`).
fn owed_logs(repo: &TestRepo, sync: &str) -> usize {
    std::fs::read_dir(
        repo.path()
            .join(".trainyard/sync-state")
            .join(sync)
            .join("outcomes"),
    )
    .map_or(0, |d| d.count())
}

fn sync_logs(repo: &TestRepo) -> usize {
    repo.run(&["--json", "evidence", "list", "--kind", "sync_log"])
        .json()
        .as_array()
        .expect("records")
        .len()
}

#[test]
fn a_busy_store_stops_an_apply_before_it_changes_the_target() {
    let repo = small_fixture("");
    repo.write("trainyard.yaml", "evidence:\n  lock_wait_seconds: 1\n");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(repo.path().join(".trainyard/lock"))
        .expect("lock file");
    lock.lock().expect("hold the store");
    let before = snapshot_dir(&repo.path().join("dst"));
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 3, "{}", run.transcript());
    assert!(
        run.stderr().contains("waiting: the evidence store")
            && run.stderr().contains("is locked by another trainyard run"),
        "{}",
        run.transcript()
    );
    assert_unchanged(&before, &snapshot_dir(&repo.path().join("dst")));
    assert_eq!(owed_logs(&repo, "small"), 0);
    lock.unlock().expect("release");
    assert_eq!(sync_logs(&repo), 0);
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert_eq!(sync_logs(&repo), 1);
}

#[test]
fn a_store_taken_during_the_apply_gets_the_log_once_free() {
    // A smoke test starts a run that holds the store until told to let
    // go, between the apply and its log.
    let repo = small_fixture("    smoke_tests: [\"sh ../hold.sh\"]\n");
    repo.write("trainyard.yaml", "evidence:\n  lock_wait_seconds: 1\n");
    repo.write(
        "hold.sh",
        "( flock ../.trainyard/lock sh -c 'touch ../held; read x < ../release.fifo' ) >/dev/null 2>&1 </dev/null &\nwhile [ ! -e ../held ]; do sleep 0.01; done\n",
    );
    let fifo = repo.path().join("release.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let run = repo.run(&["sync", "apply", &id]);
    assert_eq!(run.code(), 3, "{}", run.transcript());
    assert!(
        run.stderr().contains("was applied")
            && run.stderr().contains("its log could not be recorded")
            && run.stderr().contains("trainyard sync recover small"),
        "{}",
        run.transcript()
    );
    // The target changed; the log is owed, journaled in the sync's state.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/a.txt")).expect("applied"),
        "alpha\n"
    );
    assert_eq!(sync_logs(&repo), 0);
    assert_eq!(owed_logs(&repo, "small"), 1);
    // The plan is not applied twice meanwhile.
    let again = repo.run(&["sync", "apply", &id]);
    assert_eq!(again.code(), 2, "{}", again.transcript());
    assert!(
        again.stderr().contains("already applied"),
        "{}",
        again.transcript()
    );
    // Let go, and wait until the holder has.
    std::fs::write(&fifo, "go\n").expect("release the holder");
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(repo.path().join(".trainyard/lock"))
        .expect("lock file");
    lock.lock().expect("the holder let go");
    lock.unlock().expect("unlock");
    // The next command of the sync records the log.
    let logs = repo.run(&["--json", "sync", "log", "small"]).json();
    assert_eq!(logs.as_array().expect("logs").len(), 1, "{logs}");
    assert_eq!(logs[0]["execution"]["status"], "success");
    assert_eq!(logs[0]["verification"]["smoke_tests_passed"], true);
    assert_eq!(owed_logs(&repo, "small"), 0);
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

#[test]
fn an_apply_killed_after_its_changes_is_logged_by_recover() {
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let killed = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "committed")],
    );
    assert_ne!(killed.code(), 0, "{}", killed.transcript());
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/a.txt")).expect("applied"),
        "alpha\n"
    );
    assert_eq!(sync_logs(&repo), 0);
    assert_eq!(owed_logs(&repo, "small"), 1);
    let recovered = repo.run(&["sync", "recover", "small"]);
    assert_eq!(recovered.code(), 0, "{}", recovered.transcript());
    assert!(
        recovered.stderr().contains("evidence/sync_log/"),
        "{}",
        recovered.transcript()
    );
    let logs = repo.run(&["--json", "sync", "log", "small"]).json();
    assert_eq!(logs[0]["execution"]["status"], "success", "{logs}");
    assert_eq!(logs[0]["execution"]["changes_applied"]["added"], 2);
    assert_eq!(logs[0]["verification"]["integrity_verified"], true);
    assert_eq!(logs[0]["verification"]["smoke_tests_passed"], false);
    assert_eq!(owed_logs(&repo, "small"), 0);
    // Killed before its commit point: rolled back, and logged as failed.
    let repo = small_fixture("");
    let id = plan_id(&repo, "small");
    approve(&repo, &id);
    let before = snapshot_dir(&repo.path().join("dst"));
    let killed = repo.run_env(
        &["sync", "apply", &id],
        &[("TRAINYARD_SYNC_CRASH_AFTER", "staged")],
    );
    assert_ne!(killed.code(), 0, "{}", killed.transcript());
    let recovered = repo.run(&["sync", "recover", "small"]);
    assert_eq!(recovered.code(), 0, "{}", recovered.transcript());
    assert_unchanged(&before, &snapshot_dir(&repo.path().join("dst")));
    let logs = repo.run(&["--json", "sync", "log", "small"]).json();
    assert_eq!(logs[0]["execution"]["status"], "failed", "{logs}");
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

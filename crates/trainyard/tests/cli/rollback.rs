//! Rollback end to end: two releases through the workflow to a directory
//! channel and a config sync target, then rolled back, partially rolled
//! back, rehearsed and recovered after a crash.

use std::path::PathBuf;

use crate::support::{
    Run, TestRepo, assert_unchanged, ok, sign_everything, snapshot_dir, yaml_keys,
};

/// The state each release left: the branch's tree, the channel and the
/// config target.
struct Left {
    tree: String,
    channel: Vec<(PathBuf, Vec<u8>)>,
    config: Vec<(PathBuf, Vec<u8>)>,
}

struct Fixture {
    repo: TestRepo,
    channel: PathBuf,
    live: PathBuf,
    after_1_0_0: Left,
}

/// One minor release through the workflow, then the config sync.
fn release(repo: &TestRepo, version: &str) {
    let start = ok(repo, &["--json", "release", "start", "minor"]).json();
    assert_eq!(start["version"], version);
    ok(repo, &["release", "rc"]);
    sign_everything(repo, version);
    ok(repo, &["release", "validate"]);
    ok(repo, &["release", "publish"]);
    ok(repo, &["release", "post"]);
    // The release branch came back: main holds the tag, the working tree
    // is clean.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let tag = format!("v{version}");
    repo.git(&["merge-base", "--is-ancestor", &tag, "main"]);
    let synced = repo.run(&["sync", "run", "flags"]);
    assert_eq!(synced.code(), 0, "{}", synced.transcript());
}

/// The files of main, as `path blob` lines, without the changelog: a
/// rollback keeps the record of what was released.
fn main_files(repo: &TestRepo) -> String {
    repo.git(&["ls-tree", "-r", "main"])
        .lines()
        .filter(|l| !l.ends_with("\tCHANGELOG.md"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn left(f: &Fixture) -> Left {
    Left {
        tree: main_files(&f.repo),
        channel: snapshot_dir(&f.channel),
        config: snapshot_dir(&f.live),
    }
}

/// Releases 1.0.0 and 1.1.0 of a repository with a `config/` directory
/// synced to `live-config/` beside it, published to `dist/`.
fn fixture(extra_config: &str) -> Fixture {
    let repo = TestRepo::new();
    let channel = repo.home().join("dist");
    let live = repo.home().join("live-config");
    std::fs::create_dir_all(&live).expect("live config dir");
    let config = format!(
        "versioning:\n  initial_version: 1.0.0\ngates:\n  G-REL:\n    checks:\n      - name: suite\n        run: \"true\"\n  G-MRG:\n    checks:\n      - name: suite\n        run: \"true\"\nchecklist:\n  security_audit: \"true\"\nrelease:\n  artifacts:\n    - name: tarball\n      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md\n      paths: [\"$TRAINYARD_OUT/*.tgz\"]\n  channels:\n    - {{ type: directory, name: downloads, path: {channel} }}\nrollback:\n  smoke_tests: [\"test -f README.md\"]\n  components:\n    export: [src/export]\n{extra_config}",
        channel = channel.display(),
    );
    repo.write("trainyard.yaml", &config);
    repo.write(".gitignore", ".trainyard/\n");
    repo.write(
        ".trainyard/syncs/flags.yaml",
        "sync_config:\n  sync_id: flags\n  name: feature flags\n  type: config\n  source: { type: file, location: config }\n  target: { type: file, location: ../live-config }\n  options: { dry_run_required: true, approval_required: false, conflict_strategy: theirs }\n  filters: { include: [], exclude: [] }\n  schedule: { trigger: on_release }\n  notifications: { on_success: [], on_failure: [] }\n",
    );
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.write("config/flags.json", "{\"export\": false}\n");
    repo.write("src/core/lib.txt", "core 1\n");
    repo.commit("feat: first release");
    release(&repo, "1.0.0");
    let mut f = Fixture {
        repo,
        channel,
        live,
        after_1_0_0: Left {
            tree: String::new(),
            channel: Vec::new(),
            config: Vec::new(),
        },
    };
    f.after_1_0_0 = left(&f);
    let repo = &f.repo;
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.write("src/export/csv.txt", "csv export\n");
    repo.commit("feat(export): add csv export");
    repo.write("config/flags.json", "{\"export\": true}\n");
    repo.write("src/core/lib.txt", "core 2\n");
    repo.commit("feat(core): faster core, exports on");
    release(repo, "1.1.0");
    assert!(f.channel.join("1.1.0").is_dir());
    assert!(
        std::fs::read_to_string(f.live.join("flags.json"))
            .expect("flags")
            .contains("true")
    );
    f
}

fn plan(repo: &TestRepo, args: &[&str]) -> String {
    let mut all = vec!["--json", "rollback", "plan"];
    all.extend(args);
    let run = repo.run(&all);
    assert_eq!(run.code(), 1, "changes planned: {}", run.transcript());
    run.json()["plan_id"].as_str().expect("plan id").to_owned()
}

fn start(repo: &TestRepo, plan_id: &str, severity: &str, impact: &str) -> Run {
    start_with(repo, plan_id, severity, impact, &[])
}

fn start_with(repo: &TestRepo, plan_id: &str, severity: &str, impact: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "--json",
        "rollback",
        "start",
        plan_id,
        "--issue",
        "INC-42",
        "--severity",
        severity,
        "--impact",
        impact,
        "--description",
        "csv exports corrupt data",
        "--check",
        "grep -q false ../live-config/flags.json",
    ];
    args.extend(extra);
    repo.run(&args)
}

/// Three minutes before the tests' fixed now (`support::NOW`).
const DETECTED_AT: &str = "2027-01-13T09:57:00Z";

fn approve(repo: &TestRepo, plan_id: &str, role: &str) {
    let run = repo.run(&[
        "rollback",
        "approve",
        plan_id,
        "--by",
        "director@example.org",
        "--role",
        role,
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
}

#[test]
fn an_immediate_rollback_leaves_everything_as_the_earlier_release_left_it() {
    let f = fixture("");
    let repo = &f.repo;
    // The dry-run changes nothing anywhere.
    let before = (
        repo.tree_snapshot(),
        snapshot_dir(&f.channel),
        snapshot_dir(&f.live),
    );
    let id = plan(repo, &["--to", "1.0.0"]);
    let shown = repo.run(&["rollback", "plan", "--to", "1.0.0"]);
    // The release's commits: its features and its release commits.
    assert!(
        shown
            .stdout()
            .contains("branch main: one commit reverting 4 commit(s)"),
        "{}",
        shown.stdout()
    );
    assert!(
        shown.stdout().contains("feat(export): add csv export"),
        "{}",
        shown.stdout()
    );
    assert!(shown.stdout().contains("withdraw"), "{}", shown.stdout());
    assert!(
        shown
            .stdout()
            .contains("config flags: 0 to add, 1 to modify"),
        "{}",
        shown.stdout()
    );
    // The plan's evidence, and its anchor in git, aside.
    let after_plan = repo.without_anchor(&repo.tree_snapshot());
    let changed: Vec<_> = after_plan
        .iter()
        .filter(|(p, _)| !p.components().any(|c| c.as_os_str() == ".trainyard"))
        .cloned()
        .collect();
    let unchanged: Vec<_> = repo
        .without_anchor(&before.0)
        .iter()
        .filter(|(p, _)| !p.components().any(|c| c.as_os_str() == ".trainyard"))
        .cloned()
        .collect();
    assert_unchanged(&unchanged, &changed);
    assert_unchanged(&before.1, &snapshot_dir(&f.channel));
    assert_unchanged(&before.2, &snapshot_dir(&f.live));

    // `start --dry-run` shows the actions and does none of them...
    let mut dry = vec!["--json", "rollback", "start", &id[..16], "--dry-run"];
    dry.extend([
        "--issue",
        "INC-42",
        "--severity",
        "critical",
        "--impact",
        "widespread",
        "--description",
        "csv exports corrupt data",
    ]);
    let preview = repo.run(&dry);
    assert_eq!(preview.code(), 1, "{}", preview.transcript());
    let planned: Vec<String> = preview.json()["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(planned, ["code", "channel:downloads", "config:flags"]);
    assert_unchanged(&before.1, &snapshot_dir(&f.channel));
    assert_unchanged(&before.2, &snapshot_dir(&f.live));
    assert!(!repo.path().join(".trainyard/rollbacks").exists());

    // ...and the start carries out exactly those.
    let run = start_with(
        repo,
        &id,
        "critical",
        "widespread",
        &["--detected-at", DETECTED_AT],
    );
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let report = run.json();
    let done: Vec<(String, String)> = report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                a["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        done,
        planned
            .iter()
            .map(|id| (id.clone(), "done".to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(report["procedure"], "RB-IMM");
    assert_eq!(report["verification"]["states_match"], true);
    assert_eq!(report["verification"]["issue_resolved"], true);
    // Branch, channel and config target: exactly as 1.0.0 left them.
    let now = left(&f);
    assert_eq!(now.tree, f.after_1_0_0.tree);
    assert_unchanged(&f.after_1_0_0.channel, &now.channel);
    assert_unchanged(&f.after_1_0_0.config, &now.config);
    let message = repo.git(&["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("revert: roll back 1.1.0 to 1.0.0"),
        "{message}"
    );
    assert!(message.contains("Rollback-Id: rb-1.1.0-"), "{message}");
    // The evidence: the spec's keys, a measured duration, a valid chain.
    let list = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "rollback_evidence"],
    )
    .json();
    let name = list[0]["name"].as_str().expect("evidence").to_owned();
    let yaml = ok(repo, &["evidence", "show", "rollback_evidence", &name]).stdout();
    insta::assert_snapshot!(yaml_keys(&yaml), @r"
    rollback_evidence
      rollback_id
      type
      trigger
        issue_id
        severity
        description
        detected_at
        detected_by
      versions
        rolled_back_from
        rolled_back_to
      execution
        decided_at
        decided_by
        executed_at
        executed_by
        duration_minutes
      verification
        smoke_tests
        issue_resolved
        new_issues
      follow_up
        root_cause
        prevention
        post_mortem_ref
    ");
    assert!(yaml.contains("post_mortem_ref: null"), "{yaml}");
    assert!(yaml.contains("smoke_tests: pass"), "{yaml}");
    assert!(yaml.contains("post-hoc approval pending"), "{yaml}");
    // The times come from the pinned clock: detected three minutes
    // before now, decided and executed now.
    let field = |key: &str| {
        yaml.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {yaml}"))
            .trim_matches(|c| c == ' ' || c == '\'' || c == '"')
            .to_owned()
    };
    assert_eq!(field("detected_at:"), DETECTED_AT);
    assert_eq!(field("decided_at:"), crate::support::NOW);
    assert_eq!(field("executed_at:"), crate::support::NOW);
    let decide = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "decide")
        .expect("decide step");
    assert!(
        decide["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n == "decided 3 minute(s) after detection, within the 5-minute target"),
        "{decide:#}"
    );
    // The duration is measured time, not the clock's: a number of
    // minutes to two decimals.
    let minutes: f64 = field("duration_minutes:").parse().expect("a number");
    assert!(minutes >= 0.0, "{minutes}");
    assert_eq!((minutes * 100.0).round() / 100.0, minutes);
    ok(repo, &["evidence", "verify"]);
    // 1.1.0 is withdrawn: planning from it again is refused by default.
    let again = repo.run(&["rollback", "plan", "--to", "1.0.0"]);
    assert_eq!(again.code(), 2, "{}", again.transcript());
    // The follow-up is documented later, and the checklist shows it.
    let rollback_id = report["rollback_id"].as_str().expect("id").to_owned();
    let documented = repo.run(&[
        "--json",
        "rollback",
        "document",
        &rollback_id,
        "--root-cause",
        "csv writer ignored the delimiter",
        "--prevention",
        "property test for the csv writer",
    ]);
    assert_eq!(documented.code(), 0, "{}", documented.transcript());
    let rows = documented.json()["checklist"].clone();
    let root = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == "root-cause")
        .expect("root-cause row")
        .clone();
    assert_eq!(root["status"], "pass");
    ok(repo, &["evidence", "verify"]);
}

#[test]
fn the_matrix_decides_the_procedure_and_the_approval() {
    let f = fixture("");
    let repo = &f.repo;
    let assess = ok(
        repo,
        &[
            "--json",
            "rollback",
            "assess",
            "--severity",
            "medium",
            "--impact",
            "limited",
        ],
    )
    .json();
    assert_eq!(assess["action"], "planned_or_fix");
    assert_eq!(assess["approval"], "Orchestrator");
    // An immediate rollback for a medium issue is refused...
    let id = plan(repo, &["--to", "1.0.0"]);
    let refused = start(repo, &id, "medium", "limited");
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(
        refused.stderr().contains("plan a planned rollback"),
        "{}",
        refused.stderr()
    );
    // ...a planned one waits for the Orchestrator's approval.
    let id = plan(repo, &["--to", "1.0.0", "--type", "planned"]);
    let before = world(&f);
    let config_before = std::fs::read(repo.path().join("trainyard.yaml")).expect("config");
    let waiting = start(repo, &id, "medium", "limited");
    assert_eq!(waiting.code(), 1, "{}", waiting.transcript());
    let report = waiting.json();
    assert_eq!(report["procedure"], "RB-PLN");
    assert!(
        report["waiting_for"]
            .as_str()
            .expect("waiting")
            .contains("Orchestrator"),
        "{report}"
    );
    // Nothing done before approval: every action pending, every step
    // after the decision pending, and the branch, the channel, the config
    // target and the configuration as they were.
    let actions = report["actions"].as_array().expect("actions");
    assert!(!actions.is_empty(), "{report:#}");
    for action in actions {
        assert_eq!(action["status"], "pending", "{action}");
    }
    // The one step waiting is the approval's; none after it has begun.
    let steps = report["steps"].as_array().expect("steps");
    let waiting: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i]["status"] == "waiting")
        .collect();
    assert_eq!(waiting.len(), 1, "{report:#}");
    assert!(waiting[0] + 1 < steps.len(), "{report:#}");
    for step in &steps[waiting[0] + 1..] {
        assert_eq!(step["status"], "pending", "{step}");
    }
    let after = world(&f);
    assert_eq!(before.0, after.0, "the branch moved");
    assert_unchanged(&before.1, &after.1);
    assert_unchanged(&before.2, &after.2);
    assert_eq!(
        std::fs::read(repo.path().join("trainyard.yaml")).expect("config"),
        config_before
    );
    assert_ne!(left(&f).tree, f.after_1_0_0.tree);
    let rollback_id = report["rollback_id"].as_str().expect("id").to_owned();
    ok(
        repo,
        &[
            "rollback",
            "approve",
            &id,
            "--by",
            "lin@example.org",
            "--role",
            "Orchestrator",
        ],
    );
    let resumed = repo.run(&["--json", "rollback", "resume", &rollback_id]);
    assert_eq!(resumed.code(), 0, "{}", resumed.transcript());
    let now = left(&f);
    assert_eq!(now.tree, f.after_1_0_0.tree);
    assert_unchanged(&f.after_1_0_0.config, &now.config);
    // RB-PLN kept a backup of what it withdrew.
    let backup = repo
        .path()
        .join(".trainyard/rollbacks")
        .join(&rollback_id)
        .join("backup/channels/downloads/1.1.0");
    assert!(backup.join("widget-1.1.0.tgz").is_file());
}

#[test]
fn an_edited_rollback_decision_is_refused() {
    let f = fixture("");
    let repo = &f.repo;
    let id = plan(repo, &["--to", "1.0.0", "--type", "planned"]);
    ok(
        repo,
        &[
            "rollback",
            "approve",
            &id,
            "--reject",
            "--reason",
            "not now",
            "--by",
            "lin@example.org",
            "--role",
            "Orchestrator",
        ],
    );
    let list = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "rollback_approval"],
    )
    .json();
    let path = repo
        .path()
        .join(".trainyard")
        .join(list[0]["path"].as_str().expect("path"));
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("approved: false", "approved: true")).expect("edit");
    let before = left(&f);
    let started = start(repo, &id, "medium", "limited");
    assert_eq!(started.code(), 2, "{}", started.transcript());
    assert!(
        started
            .stderr()
            .contains("was edited after it was recorded")
            && started.stderr().contains(&path.display().to_string()),
        "{}",
        started.transcript()
    );
    assert_eq!(left(&f).tree, before.tree, "nothing rolled back");
    // An edited plan is refused the same way.
    let plans = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "rollback_plan"],
    )
    .json();
    let plan_path = repo
        .path()
        .join(".trainyard")
        .join(plans[0]["path"].as_str().expect("path"));
    let text = std::fs::read_to_string(&plan_path).expect("read");
    std::fs::write(&plan_path, format!("{text}# looked at\n")).expect("edit");
    let approve = repo.run(&["rollback", "approve", &id, "--by", "lin@example.org"]);
    assert_eq!(approve.code(), 2, "{}", approve.transcript());
    assert!(
        approve.stderr().contains(&plan_path.display().to_string()),
        "{}",
        approve.transcript()
    );
}

#[test]
fn partial_and_config_rollbacks_touch_only_their_part() {
    let f = fixture("");
    let repo = &f.repo;
    let channel = snapshot_dir(&f.channel);
    let config = snapshot_dir(&f.live);
    let id = plan(
        repo,
        &[
            "--to",
            "1.0.0",
            "--type",
            "partial",
            "--component",
            "export",
        ],
    );
    approve(repo, &id, "Director");
    let run = start(repo, &id, "high", "widespread");
    // The issue check (the config flag) is not what a partial rollback
    // changes: verification passes, the issue stays open.
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert!(!repo.path().join("src/export/csv.txt").exists());
    assert_eq!(
        std::fs::read_to_string(repo.path().join("src/core/lib.txt")).expect("core"),
        "core 2\n",
        "outside the component: untouched"
    );
    assert_unchanged(&channel, &snapshot_dir(&f.channel));
    assert_unchanged(&config, &snapshot_dir(&f.live));
    let message = repo.git(&["log", "-1", "--format=%s", "main"]);
    assert_eq!(
        message,
        "revert(export): roll back export from 1.1.0 to 1.0.0"
    );

    // A config rollback changes the config target only.
    let head = repo.git(&["rev-parse", "main"]);
    let id = plan(
        repo,
        &["--from", "1.1.0", "--to", "1.0.0", "--type", "config"],
    );
    approve(repo, &id, "Director");
    let run = start(repo, &id, "high", "widespread");
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert_eq!(repo.git(&["rev-parse", "main"]), head);
    assert_unchanged(&channel, &snapshot_dir(&f.channel));
    assert_unchanged(&f.after_1_0_0.config, &snapshot_dir(&f.live));
}

#[test]
fn a_rehearsal_changes_nothing_outside_its_scratch_copies() {
    let f = fixture("");
    let repo = &f.repo;
    // The rehearsal's evidence, and its anchor in git, aside.
    let outside = |f: &Fixture| {
        let tree: Vec<_> = f
            .repo
            .without_anchor(&f.repo.tree_snapshot())
            .into_iter()
            .filter(|(p, _)| !p.starts_with(f.repo.path().join(".trainyard/evidence")))
            .collect();
        (tree, snapshot_dir(&f.channel), snapshot_dir(&f.live))
    };
    let before = outside(&f);
    let run = repo.run(&["--json", "rollback", "rehearse", "--version", "1.1.0"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let report = run.json();
    assert_eq!(report["passed"], true);
    assert_eq!(report["to"], "1.0.0");
    let after = outside(&f);
    assert_unchanged(&before.0, &after.0);
    assert_unchanged(&before.1, &after.1);
    assert_unchanged(&before.2, &after.2);
    let list = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "rollback_rehearsal"],
    )
    .json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    ok(repo, &["evidence", "verify"]);
}

#[test]
fn a_major_release_passes_rl07_after_a_rehearsal() {
    let f = fixture("");
    let repo = &f.repo;
    repo.write("src/core/lib.txt", "core 3\n");
    repo.commit("feat(core)!: new core api");
    ok(repo, &["release", "start", "major"]);
    ok(repo, &["release", "rc"]);
    let check = |repo: &TestRepo| {
        let run = repo.run(&["--json", "check", "--version", "2.0.0"]);
        run.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == "RL-07")
            .expect("RL-07")["status"]
            .clone()
    };
    assert_eq!(check(repo), "fail");
    let rehearsal = repo.run(&["rollback", "rehearse", "--version", "2.0.0"]);
    assert_eq!(rehearsal.code(), 0, "{}", rehearsal.transcript());
    assert!(
        rehearsal.stdout().contains("latest candidate"),
        "{}",
        rehearsal.stdout()
    );
    assert_eq!(check(repo), "pass");
}

#[test]
fn a_rollback_killed_after_any_action_is_finished_by_resume() {
    // Killed right after each action's effect, before it was recorded.
    for (n, point) in ["code", "channel:downloads", "config:flags"]
        .into_iter()
        .enumerate()
    {
        let f = fixture("");
        let repo = &f.repo;
        let id = plan(repo, &["--to", "1.0.0"]);
        let crashed = repo.run_env(
            &[
                "rollback",
                "start",
                &id,
                "--issue",
                "INC-7",
                "--severity",
                "critical",
                "--impact",
                "widespread",
                "--description",
                "outage",
            ],
            &[("TRAINYARD_ROLLBACK_CRASH_AFTER", point)],
        );
        assert_ne!(crashed.code(), 0, "{point}: {}", crashed.transcript());
        let status = ok(repo, &["--json", "rollback", "status"]).json();
        let rollback_id = status[0]["rollback_id"].as_str().expect("id").to_owned();
        let actions = status[0]["actions"].as_array().expect("actions");
        assert_eq!(actions[n]["id"], point);
        assert_eq!(actions[n]["status"], "started", "{point}: {status}");
        let resumed = repo.run(&["--json", "rollback", "resume", &rollback_id]);
        assert_eq!(resumed.code(), 0, "{point}: {}", resumed.transcript());
        let now = left(&f);
        assert_eq!(now.tree, f.after_1_0_0.tree, "{point}");
        assert_unchanged(&f.after_1_0_0.channel, &now.channel);
        assert_unchanged(&f.after_1_0_0.config, &now.config);
        // One rollback commit, not two.
        let log = repo.git(&["log", "--format=%s", "main"]);
        assert_eq!(
            log.matches("revert: roll back").count(),
            1,
            "{point}: {log}"
        );
    }
}

#[test]
fn bad_rollback_input_is_refused_clearly() {
    let repo = TestRepo::new();
    repo.write("README.md", "x\n");
    repo.commit("feat: start");
    repo.tag("v0.9.0");
    repo.write("README.md", "y\n");
    repo.commit("feat: more");
    repo.tag("v1.0.0");
    let missing = repo.run(&["rollback", "plan", "--from", "1.0.0", "--to", "0.8.0"]);
    assert_eq!(missing.code(), 2);
    assert!(
        missing.stderr().contains("tag v0.8.0 does not exist"),
        "{}",
        missing.stderr()
    );
    let invalid = repo.run(&["rollback", "plan", "--to", "1.x"]);
    assert_eq!(invalid.code(), 2);
    let forward = repo.run(&["rollback", "plan", "--from", "1.0.0", "--to", "1.0.0"]);
    assert_eq!(forward.code(), 2);
    assert!(
        forward.stderr().contains("--to must be an earlier release"),
        "{}",
        forward.stderr()
    );
    let unknown = repo.run(&["rollback", "resume", "rb-nothing"]);
    assert_eq!(unknown.code(), 2);
    let escape = repo.run(&[
        "rollback",
        "plan",
        "--from",
        "1.0.0",
        "--to",
        "0.9.0",
        "--type",
        "partial",
        "--component",
        "../etc",
    ]);
    assert_eq!(escape.code(), 2);
    assert!(
        escape
            .stderr()
            .contains("component `../etc` escapes the repository"),
        "{}",
        escape.stderr()
    );
}

/// A directory's files and their bytes.
type Files = Vec<(PathBuf, Vec<u8>)>;

/// Everything a rollback may touch, to prove it touched nothing: main's
/// head, the channel, the config target.
fn world(f: &Fixture) -> (String, Files, Files) {
    (
        f.repo.git(&["rev-parse", "main"]),
        snapshot_dir(&f.channel),
        snapshot_dir(&f.live),
    )
}

#[test]
fn a_state_edited_past_its_approval_carries_nothing_out() {
    let f = fixture("");
    let repo = &f.repo;
    let id = plan(repo, &["--to", "1.0.0"]);
    let before = world(&f);
    let waiting = start(repo, &id, "high", "widespread");
    assert_eq!(waiting.code(), 1, "{}", waiting.transcript());
    let rollback_id = waiting.json()["rollback_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The state says the decision step is done, without the approval.
    let path = repo
        .path()
        .join(format!(".trainyard/rollbacks/{rollback_id}.yaml"));
    let text = std::fs::read_to_string(&path).expect("state");
    let edited = text.replacen(
        "name: decide\n  status: waiting",
        "name: decide\n  status: done",
        1,
    );
    assert_ne!(edited, text, "{text}");
    std::fs::write(&path, edited).expect("edit");
    let refused = repo.run(&["rollback", "resume", &rollback_id]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(
        refused.stderr().contains("is not approved by Director"),
        "{}",
        refused.stderr()
    );
    let after = world(&f);
    assert_eq!(before.0, after.0);
    assert_unchanged(&before.1, &after.1);
    assert_unchanged(&before.2, &after.2);
}

#[test]
fn an_immediate_rollback_waits_for_the_approval_its_cell_requires() {
    let f = fixture("");
    let repo = &f.repo;
    let id = plan(repo, &["--to", "1.0.0"]);
    let before = world(&f);
    // High and widespread: immediate, but the Director approves first.
    let waiting = start(repo, &id, "high", "widespread");
    assert_eq!(waiting.code(), 1, "{}", waiting.transcript());
    let report = waiting.json();
    assert_eq!(report["procedure"], "RB-IMM");
    assert_eq!(report["approval"], "Director");
    let decide = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "decide")
        .expect("decide");
    assert_eq!(decide["status"], "waiting");
    assert!(
        report["waiting_for"]
            .as_str()
            .expect("waiting")
            .contains("approval by Director before any action"),
        "{report:#}"
    );
    for action in report["actions"].as_array().expect("actions") {
        assert_eq!(action["status"], "pending", "{action}");
    }
    for step in ["execute", "verify", "communicate", "document"] {
        let s = report["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["name"] == step)
            .expect("step");
        assert_eq!(s["status"], "pending", "{step}");
    }
    // Not the branch, not the channel, not the config target.
    let after = world(&f);
    assert_eq!(before.0, after.0);
    assert_unchanged(&before.1, &after.1);
    assert_unchanged(&before.2, &after.2);
    let rollback_id = report["rollback_id"].as_str().expect("id").to_owned();
    // Resuming without the approval still does nothing.
    let still = repo.run(&["--json", "rollback", "resume", &rollback_id]);
    assert_eq!(still.code(), 1, "{}", still.transcript());
    assert_eq!(world(&f).0, before.0);
    approve(repo, &id, "Director");
    let done = repo.run(&["--json", "rollback", "resume", &rollback_id]);
    assert_eq!(done.code(), 0, "{}", done.transcript());
    assert_eq!(left(&f).tree, f.after_1_0_0.tree);
    let evidence = repo.run(&["--json", "rollback", "status", &rollback_id]);
    assert!(
        evidence
            .stdout()
            .contains("approved by director@example.org"),
        "{}",
        evidence.stdout()
    );
}

#[test]
fn a_rollback_keeps_the_configuration_and_one_that_fails_half_way_is_aborted() {
    let f = fixture("");
    let repo = &f.repo;
    // 1.2.0 changes trainyard.yaml itself: a rollback must not undo that.
    let config = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config");
    let tuned = config.replace(
        "smoke_tests: [\"test -f README.md\"]",
        "smoke_tests: [\"test -f README.md\", \"test -f src/core/lib.txt\"]",
    );
    repo.write("trainyard.yaml", &tuned);
    repo.commit("chore: one more smoke test");
    repo.write("README.md", "# widget\n\nNow with exports and imports.\n");
    repo.write("src/import/csv.txt", "csv import\n");
    repo.commit("feat(import): csv import");
    release(repo, "1.2.0");
    let head = repo.git(&["rev-parse", "main"]);
    let before = world(&f);
    let id = plan(repo, &["--to", "1.1.0"]);
    // The config target drifts after the plan: the config action fails
    // after the code and channel actions are done.
    std::fs::write(f.live.join("flags.json"), "{\"export\": \"by hand\"}\n").expect("drift");
    let drifted = snapshot_dir(&f.live);
    let failed = start(repo, &id, "critical", "widespread");
    assert_eq!(failed.code(), 2, "{}", failed.transcript());
    let stderr = failed.stderr();
    let rollback_id = ok(repo, &["--json", "rollback", "status"]).json()[0]["rollback_id"]
        .as_str()
        .expect("rollback id")
        .to_owned();
    assert!(
        stderr.contains(&format!("rollback {rollback_id}: "))
            && stderr.contains(&format!("`trainyard rollback resume {rollback_id}`"))
            && stderr.contains(&format!("`trainyard rollback abort {rollback_id}`"))
            && stderr.contains("stale target"),
        "{stderr}"
    );
    assert_ne!(repo.git(&["rev-parse", "main"]), head, "the revert is done");
    assert!(
        !f.channel.join("1.2.0").exists(),
        "the channel is withdrawn"
    );
    // The revert left trainyard's own configuration as it is.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config"),
        tuned
    );
    assert!(
        !repo.path().join("src/import").exists(),
        "1.2.0's code is gone"
    );
    // Abort: everything back where the rollback began.
    let aborted = repo.run(&["--json", "rollback", "abort", &rollback_id]);
    assert_eq!(aborted.code(), 0, "{}", aborted.transcript());
    assert_eq!(repo.git(&["rev-parse", "main"]), head);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_unchanged(&before.1, &snapshot_dir(&f.channel));
    assert_unchanged(&drifted, &snapshot_dir(&f.live));
    let status = ok(repo, &["--json", "status"]).json();
    assert_eq!(
        status["current"], "1.2.0",
        "an aborted rollback withdraws nothing"
    );
    let again = repo.run(&["rollback", "resume", &rollback_id]);
    assert_eq!(again.code(), 2, "{}", again.transcript());
    // A new plan from where things are now goes through.
    let id = plan(repo, &["--to", "1.1.0"]);
    let done = start(repo, &id, "critical", "widespread");
    assert_eq!(done.code(), 0, "{}", done.transcript());
    assert!(!f.channel.join("1.2.0").exists());
    ok(repo, &["evidence", "verify"]);
    let status = ok(repo, &["--json", "status"]).json();
    assert_eq!(status["current"], "1.1.0");
    assert_eq!(status["next"], "1.2.1", "{status:#}");
}

#[test]
fn in_team_mode_the_matrix_approval_is_a_signed_decision_by_a_holder_of_its_role() {
    let f = fixture("");
    let repo = &f.repo;
    let team = crate::team::Team::join(
        repo,
        &[
            "director@example.org",
            "ada@example.org",
            "test@example.org",
        ],
        "    Director: [director@example.org]\n    Orchestrator: [ada@example.org, test@example.org]\n",
    );
    let id = plan(repo, &["--to", "1.0.0"]);
    let before = world(&f);
    let mut args = vec![
        "--json",
        "rollback",
        "start",
        &id,
        "--issue",
        "INC-42",
        "--severity",
        "high",
        "--impact",
        "widespread",
        "--description",
        "csv exports corrupt data",
    ];
    // Starting is a decision too: without a key it is refused.
    let unsigned = repo.run(&args);
    assert_eq!(unsigned.code(), 2, "{}", unsigned.transcript());
    assert!(
        unsigned.stderr().contains("there is no key to sign with"),
        "{}",
        unsigned.stderr()
    );
    args.extend(["--check", "grep -q false ../live-config/flags.json"]);
    let waiting = team.run_as(repo, "test@example.org", &args);
    assert_eq!(waiting.code(), 1, "{}", waiting.transcript());
    let report = waiting.json();
    let rollback_id = report["rollback_id"].as_str().expect("id").to_owned();
    // ada claims the Director's role, which she does not hold.
    let claimed = team.run_as(
        repo,
        "ada@example.org",
        &["rollback", "approve", &id, "--role", "Director"],
    );
    assert_eq!(claimed.code(), 2, "{}", claimed.transcript());
    assert!(
        claimed.stderr().contains(
            "ada@example.org does not hold the role Director (held by director@example.org)"
        ),
        "{}",
        claimed.stderr()
    );
    // An approval by someone outside the role does not count either.
    let outside = team.run_as(repo, "ada@example.org", &["rollback", "approve", &id]);
    assert_eq!(outside.code(), 0, "{}", outside.transcript());
    let still = team.run_as(
        repo,
        "test@example.org",
        &["--json", "rollback", "resume", &rollback_id],
    );
    assert_eq!(still.code(), 1, "{}", still.transcript());
    assert_eq!(world(&f).0, before.0);
    let approved = team.run_as(
        repo,
        "director@example.org",
        &["rollback", "approve", &id, "--role", "Director"],
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    let done = team.run_as(
        repo,
        "test@example.org",
        &["--json", "rollback", "resume", &rollback_id],
    );
    assert_eq!(done.code(), 0, "{}", done.transcript());
    // The code is 1.0.0's; the team's files (config, signers) stay.
    let code = |tree: &str| {
        tree.lines()
            .filter(|l| !l.ends_with("\ttrainyard.yaml") && !l.ends_with("\tallowed_signers"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(code(&left(&f).tree), code(&f.after_1_0_0.tree));
    let status = repo.run(&["--json", "rollback", "status", &rollback_id]);
    let text = status.stdout();
    assert!(
        text.contains("approved by director@example.org (key SHA256:")
            && text.contains("\"decided_by\": \"test@example.org (key SHA256:"),
        "{text}"
    );
}

#[test]
fn rollback_signoff_confirms_a_manual_checklist_row_and_refuses_others() {
    let f = fixture("");
    let repo = &f.repo;
    let id = plan(repo, &["--to", "1.0.0"]);
    let run = start(repo, &id, "critical", "widespread");
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let rollback_id = run.json()["rollback_id"].as_str().expect("id").to_owned();
    let row = |key: &str| {
        let status = repo.run(&["--json", "rollback", "status", &rollback_id]);
        assert_eq!(status.code(), 0, "{}", status.transcript());
        status.json()["checklist"]
            .as_array()
            .expect("checklist")
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no {key} row"))
            .clone()
    };
    assert_eq!(row("stakeholders-notified")["status"], "pending");

    let signed = repo.run(&[
        "rollback",
        "signoff",
        &rollback_id,
        "--item",
        "stakeholders-notified",
        "--by",
        "lin@example.org",
    ]);
    assert_eq!(signed.code(), 0, "{}", signed.transcript());
    let line = signed
        .stdout()
        .lines()
        .find(|l| l.starts_with("pre:stakeholders-notified"))
        .expect("the row")
        .to_owned();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>().join(" "),
        "pre:stakeholders-notified pass Stakeholders notified (signed off by lin@example.org)"
    );
    assert_eq!(row("stakeholders-notified")["status"], "pass");
    // Other manual rows are still to be signed.
    assert_eq!(row("stakeholders-updated")["status"], "pending");

    // A row trainyard checks itself is not signed off by people.
    let root_cause = row("root-cause");
    let automatic = repo.run(&[
        "rollback",
        "signoff",
        &rollback_id,
        "--item",
        "root-cause",
        "--by",
        "lin@example.org",
    ]);
    assert_eq!(automatic.code(), 2, "{}", automatic.transcript());
    assert!(
        automatic.stderr().contains(&format!(
            "`root-cause` is not a manual checklist item of rollback {rollback_id}: use one of "
        )),
        "{}",
        automatic.stderr()
    );
    assert!(
        automatic.stderr().contains("stakeholders-updated"),
        "{}",
        automatic.stderr()
    );
    let unknown = repo.run(&[
        "rollback",
        "signoff",
        "rb-9.9.9-nope",
        "--item",
        "stakeholders-notified",
    ]);
    assert_eq!(unknown.code(), 2, "{}", unknown.transcript());
    assert!(
        unknown.stderr().contains("rb-9.9.9-nope"),
        "{}",
        unknown.stderr()
    );
    assert_eq!(
        row("root-cause"),
        root_cause,
        "a refused sign-off changes nothing"
    );
    ok(repo, &["evidence", "verify"]);
}

//! Gate tests on real temporary repositories.
#![allow(clippy::disallowed_methods)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::ErrorKind;
use crate::bounded::{ExitStatus, Percent, Timeout};

/// A repository with a fixed identity and fixed, increasing dates, isolated
/// from the user's and the system's git configuration.
struct Fixture {
    _home: tempfile::TempDir,
    dir: tempfile::TempDir,
    global: PathBuf,
    tick: Cell<i64>,
}

impl Fixture {
    fn new() -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        let global = home.path().join("gitconfig");
        std::fs::write(
            &global,
            "[user]\n\tname = Gate Tester\n\temail = gate@example.com\n\
             [commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n\
             [init]\n\tdefaultBranch = main\n",
        )
        .expect("write gitconfig");
        let fixture = Fixture {
            _home: home,
            dir,
            global,
            tick: Cell::new(0),
        };
        fixture.git(&["init", "-q"]);
        fixture
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let tick = self.tick.get() + 1;
        self.tick.set(tick);
        let date = format!("@{} +0000", 1_767_225_600 + tick * 60);
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", &self.global)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(args)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(self.root(), args)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.root().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    /// Commits a change to its own file; returns the full id.
    fn commit(&self, message: &str) -> String {
        let n = self.tick.get();
        self.write(&format!("src/file{n}.txt"), message);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn ws(&self) -> Workspace {
        let mut ws = Workspace::open(self.root(), None).expect("workspace");
        ws.now = "2026-03-05T09:30:00Z".parse().expect("timestamp");
        ws
    }
}

fn request(name: &str) -> GateRequest {
    GateRequest {
        name: name.to_owned(),
        ..GateRequest::default()
    }
}

fn gates(yaml: &str) -> GatesConfig {
    let gates: GatesConfig = crate::yaml::parse(yaml, Path::new("trainyard.yaml")).expect("parse");
    gates.validate().expect("valid");
    gates
}

fn outcome<'a>(result: &'a GateResult, name: &str) -> &'a CheckOutcome {
    result
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {result:#?}"))
}

// ------------------------------------------------------------------ config

#[test]
fn gate_config_defaults_to_g_mrg_and_g_rel() {
    let all = configured(&GatesConfig::default());
    assert_eq!(all.keys().collect::<Vec<_>>(), ["G-MRG", "G-REL"]);
    let mrg = &all["G-MRG"];
    assert_eq!(
        mrg.checks.iter().map(CheckConfig::name).collect::<Vec<_>>(),
        ["clean_tree"]
    );
    assert_eq!(
        (
            mrg.success_rate.map(Percent::get),
            mrg.rework_rate.map(Percent::get),
            mrg.all_tasks_passed
        ),
        (Some(100.0), Some(30.0), true)
    );
    let rel = &all["G-REL"];
    assert_eq!(
        rel.checks.iter().map(CheckConfig::name).collect::<Vec<_>>(),
        ["clean_tree", "conventional_commits", "feature_freeze"]
    );
    assert_eq!(
        (
            rel.success_rate.map(Percent::get),
            rel.rework_rate.map(Percent::get),
            rel.all_tasks_passed
        ),
        (Some(100.0), Some(20.0), true)
    );
}

#[test]
fn gate_config_user_gates_replace_and_add() {
    let config = gates(
        "G-REL:\n  checks:\n    - name: unit\n      run: cargo test\n      parallel: true\n\
         \x20   - builtin: clean_tree\n\
         lint:\n  description: Lints\n  rework_rate: 50\n  checks:\n    - run: cargo clippy\n",
    );
    let all = configured(&config);
    assert_eq!(all.keys().collect::<Vec<_>>(), ["G-MRG", "G-REL", "lint"]);
    let rel = &all["G-REL"];
    assert_eq!(
        rel.checks,
        [
            CheckConfig::Command(CommandCheck {
                name: "unit".into(),
                run: "cargo test".into(),
                timeout_seconds: Timeout::constant(600),
                expect_exit: ExitStatus::constant(0),
                parallel: true,
                cwd: None,
                env: BTreeMap::new(),
            }),
            CheckConfig::builtin(Builtin::CleanTree),
        ]
    );
    // Omitted thresholds take the generic defaults.
    assert_eq!(rel.thresholds().rework_rate, DEFAULT_REWORK_RATE);
    assert_eq!(all["lint"].checks[0].name(), "cargo clippy");
    assert_eq!(all["lint"].rework_rate.map(Percent::get), Some(50.0));
    let script = gates("G:\n  checks:\n    - run: |\n        set -e\n        make test\n");
    assert_eq!(configured(&script)["G"].checks[0].name(), "set -e");

    let (name, _) = find(&config, "g-rel").expect("case-insensitive");
    assert_eq!(name, "G-REL");
    let err = find(&config, "G-NOPE").expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "unknown gate `G-NOPE`: the configured gates are G-MRG, G-REL, lint"
    );
}

#[test]
fn gate_config_serializes_back_to_the_same_shape() {
    let config = gates(
        "G-X:\n  checks:\n    - name: t\n      run: make test\n      timeout_seconds: 30\n\
         \x20     expect_exit: 2\n      cwd: sub\n      env: { A: b }\n    - builtin: feature_freeze\n",
    );
    let json = serde_json::to_value(&config).expect("json");
    assert_eq!(
        json["G-X"]["checks"],
        serde_json::json!([
            {"name": "t", "run": "make test", "timeout_seconds": 30, "expect_exit": 2,
             "parallel": false, "cwd": "sub", "env": {"A": "b"}},
            {"name": "feature_freeze", "builtin": "feature_freeze"},
        ])
    );
    // Unset thresholds stay unset (the defaults apply when it runs).
    assert!(json["G-X"].get("success_rate").is_none(), "{json}");
    assert_eq!(config.0["G-X"].thresholds().success_rate, 100.0);
    let back: GatesConfig = serde_json::from_value(json).expect("back");
    assert_eq!(back, config);
    let schema = serde_json::to_value(schemars::schema_for!(GatesConfig)).expect("schema");
    assert!(schema.to_string().contains("timeout_seconds"), "{schema}");
}

#[test]
fn gate_config_errors_name_the_check() {
    let parse = |yaml: &str| {
        crate::yaml::parse::<GatesConfig>(yaml, Path::new("trainyard.yaml"))
            .and_then(|g| g.validate())
            .expect_err(yaml)
            .to_string()
    };
    let both = parse("G:\n  checks:\n    - name: x\n      run: a\n      builtin: clean_tree\n");
    assert!(
        both.contains("check `x` has both `run` and `builtin`"),
        "{both}"
    );
    let neither = parse("G:\n  checks:\n    - name: x\n");
    assert!(neither.contains("check `x` needs `run`"), "{neither}");
    let misplaced = parse("G:\n  checks:\n    - builtin: clean_tree\n      timeout_seconds: 5\n");
    assert!(
        misplaced.contains("`timeout_seconds` applies to `run` checks only"),
        "{misplaced}"
    );
    let unknown = parse("G:\n  checks:\n    - run: a\n      timeout: 5\n");
    assert!(unknown.contains("timeout"), "{unknown}");
    let unknown_builtin = parse("G:\n  checks:\n    - builtin: tests_pass\n");
    assert!(unknown_builtin.contains("tests_pass"), "{unknown_builtin}");
    let zero = parse("G:\n  checks:\n    - run: a\n      timeout_seconds: 0\n");
    assert_eq!(
        zero,
        "trainyard.yaml:4:24: G.checks[0].timeout_seconds: must be between 1 and 604800 (7 days), not 0"
    );
    // A timeout beyond what an Instant can add once panicked the gate run.
    let huge = parse("G:\n  checks:\n    - run: a\n      timeout_seconds: 18446744073709551615\n");
    assert_eq!(
        huge,
        "trainyard.yaml:4:24: G.checks[0].timeout_seconds: must be between 1 and 604800 (7 days), not 18446744073709551615"
    );
    let status = parse("G:\n  checks:\n    - run: a\n      expect_exit: 256\n");
    assert_eq!(
        status,
        "trainyard.yaml:4:20: G.checks[0].expect_exit: must be between 0 and 255, not 256"
    );
    let rate = parse("G:\n  rework_rate: 120\n");
    assert_eq!(
        rate,
        "trainyard.yaml:2:16: G.rework_rate: must be between 0 and 100, not 120"
    );
    let negative = parse("G:\n  success_rate: -1\n");
    assert_eq!(
        negative,
        "trainyard.yaml:2:17: G.success_rate: must be between 0 and 100, not -1"
    );
    let duplicate = parse("G:\n  checks:\n    - run: a\n    - name: a\n      run: b\n");
    assert_eq!(
        duplicate,
        "gates.G.checks[1]: another check is already named `a`"
    );
    let bad_name = parse("bad/name: {}\n");
    assert!(
        bad_name.starts_with("gates.bad/name: invalid gate name"),
        "{bad_name}"
    );
}

#[test]
fn gate_config_fits_in_the_configuration_file() {
    // As `Config` holds it: `gates:` next to other keys, strict, defaulted.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct File {
        gates: GatesConfig,
        other: Option<String>,
    }
    let empty: File = crate::yaml::parse("other: x\n", Path::new("t.yaml")).expect("parse");
    assert_eq!(empty.gates, GatesConfig::default());
    assert_eq!(configured(&empty.gates).len(), 2);
    let file: File = crate::yaml::parse(
        "gates:\n  G-MRG:\n    success_rate: 90\n    checks:\n      - run: make check\n",
        Path::new("t.yaml"),
    )
    .expect("parse");
    let mrg = &configured(&file.gates)["G-MRG"];
    assert_eq!(mrg.success_rate.map(Percent::get), Some(90.0));
    // What the redefinition leaves out stays the built-in gate's.
    assert_eq!(mrg.thresholds().rework_rate, 30.0);
    let err = crate::yaml::parse::<File>(
        "gates:\n  G-MRG:\n    checks:\n      - run: a\n        parallell: true\n",
        Path::new("t.yaml"),
    )
    .expect_err("typo");
    assert!(err.to_string().starts_with("t.yaml:"), "{err}");
    assert!(err.to_string().contains("parallell"), "{err}");
    let schema = serde_json::to_value(schemars::schema_for!(File)).expect("schema");
    let text = schema.to_string();
    for key in ["expect_exit", "builtin", "clean_tree", "rework_rate"] {
        assert!(text.contains(key), "{key} missing from {text}");
    }
}

// --------------------------------------------------------------------- run

#[test]
fn gate_run_with_a_passing_and_a_failing_command() {
    let repo = Fixture::new();
    let head = repo.commit("feat: first");
    let ws = repo.ws();
    let config = gates(
        "G-T:\n  checks:\n    - name: good\n      run: echo \"$TRAINYARD_GATE $TRAINYARD_COMMIT ${TRAINYARD_VERSION-none}\"\n\
         \x20   - name: bad\n      run: echo broken >&2; exit 1\n",
    );
    let result = run_with(&ws, &config, &request("G-T")).expect("run");
    assert_eq!(result.gate, "G-T");
    assert_eq!(result.commit, head);
    assert_eq!(result.ran_at, "2026-03-05T09:30:00Z");
    let good = outcome(&result, "good");
    assert_eq!(good.status, CheckStatus::Passed);
    assert_eq!(good.output, format!("G-T {head} none\n"));
    assert_eq!(good.exit_code, Some(0));
    let bad = outcome(&result, "bad");
    assert_eq!(bad.status, CheckStatus::Failed);
    assert_eq!(bad.exit_code, Some(1));
    assert_eq!(bad.output, "broken\n");
    assert_eq!(bad.detail, "exit 1, expected 0");
    assert_eq!(result.success_rate, 50.0);
    assert!(!result.all_tasks_passed);
    assert!(!result.passed);
    assert_eq!(
        result.reasons,
        [
            "success_rate 50 is below the minimum 100",
            "not all tasks passed: bad (failed)"
        ]
    );

    // A version reaches the commands.
    let with_version = GateRequest {
        version: Some(Version::new(1, 2, 0)),
        ..request("G-T")
    };
    let result = run_with(&ws, &config, &with_version).expect("run");
    assert_eq!(
        outcome(&result, "good").output,
        format!("G-T {head} 1.2.0\n")
    );
    assert_eq!(result.version.as_deref(), Some("1.2.0"));
}

#[test]
fn gate_run_thresholds_can_allow_failures() {
    let repo = Fixture::new();
    repo.commit("feat: first");
    let ws = repo.ws();
    let config = gates(
        "lenient:\n  success_rate: 50\n  all_tasks_passed: false\n  checks:\n\
         \x20   - run: 'true'\n    - run: 'false'\n    - run: 'exit 4'\n      expect_exit: 4\n",
    );
    let result = run_with(&ws, &config, &request("lenient")).expect("run");
    assert_eq!(result.success_rate, 66.67);
    assert!(!result.all_tasks_passed);
    assert!(result.passed, "{:?}", result.reasons);
}

#[test]
fn gate_run_times_out_a_slow_command() {
    let repo = Fixture::new();
    repo.commit("feat: first");
    let ws = repo.ws();
    // `sleep 600` ends only when killed. A busy machine may not let sh
    // print before the deadline: then it is tried with a longer one.
    let mut seconds = 1;
    let result = loop {
        let config = gates(&format!(
            "slow:\n  checks:\n    - name: nap\n      run: echo napping; sleep 600\n      timeout_seconds: {seconds}\n",
        ));
        let result = run_with(&ws, &config, &request("slow")).expect("run");
        let nap = outcome(&result, "nap");
        assert_eq!(nap.status, CheckStatus::TimedOut);
        assert_eq!(nap.exit_code, None);
        assert_eq!(
            nap.detail,
            format!("timed out after {seconds} s; its process group was killed")
        );
        if !nap.output.is_empty() || seconds >= 64 {
            assert_eq!(nap.output, "napping\n");
            break result;
        }
        seconds *= 2;
    };
    assert_eq!(result.success_rate, 0.0);
    assert!(
        result
            .reasons
            .contains(&"not all tasks passed: nap (timed_out)".to_owned()),
        "{:?}",
        result.reasons
    );
}

#[test]
fn gate_run_parallel_checks_run_together_and_keep_their_output() {
    let repo = Fixture::new();
    repo.commit("feat: first");
    let ws = repo.ws();
    let meet = tempfile::tempdir().expect("tempdir");
    let m = meet.path().display();
    // Each waits for the other's file: run one after the other, the first
    // would time out (after a time only a hung test reaches).
    let config = gates(&format!(
        "par:\n  checks:\n\
         \x20   - name: left\n      parallel: true\n      timeout_seconds: 120\n\
         \x20     run: touch {m}/left; while [ ! -e {m}/right ]; do sleep 0.1; done; echo left done\n\
         \x20   - name: right\n      parallel: true\n      timeout_seconds: 120\n\
         \x20     run: touch {m}/right; while [ ! -e {m}/left ]; do sleep 0.1; done; echo right done >&2\n\
         \x20   - name: alone\n      run: echo alone\n"
    ));
    // Two workers whatever the machine's cores: on one core the gate runs
    // its parallel commands one at a time, and these two would never meet.
    let result = run_on(&ws, &config, &request("par"), 2).expect("run");
    let names: Vec<&str> = result.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["left", "right", "alone"]);
    assert_eq!(outcome(&result, "alone").output, "alone\n");
    assert_eq!(outcome(&result, "left").output, "left done\n");
    assert_eq!(outcome(&result, "right").output, "right done\n");
    assert!(result.passed, "{:?}", result.reasons);
}

#[test]
fn gate_run_with_one_worker_runs_parallel_checks_one_at_a_time() {
    let repo = Fixture::new();
    repo.commit("feat: first");
    let ws = repo.ws();
    let meet = tempfile::tempdir().expect("tempdir");
    let m = meet.path().display();
    // The first sees no sign of the second, which starts after it ended.
    let config = gates(&format!(
        "par:\n  checks:\n\
         \x20   - name: first\n      parallel: true\n      run: test ! -e {m}/second && touch {m}/first\n\
         \x20   - name: second\n      parallel: true\n      run: test -e {m}/first && touch {m}/second\n"
    ));
    let result = run_on(&ws, &config, &request("par"), 1).expect("run");
    assert!(result.passed, "{:#?}", result.checks);
}

#[test]
fn gate_run_command_cwd_and_env() {
    let repo = Fixture::new();
    repo.write("sub/marker", "here");
    repo.commit("feat: first");
    let ws = repo.ws();
    let config = gates(
        "G:\n  checks:\n    - name: where\n      run: cat marker; echo \" $GREETING\"\n      cwd: sub\n      env: { GREETING: hello }\n",
    );
    let result = run_with(&ws, &config, &request("G")).expect("run");
    assert_eq!(outcome(&result, "where").output, "here hello\n");
}

#[test]
fn gate_builtin_clean_tree() {
    let repo = Fixture::new();
    repo.write("tracked.txt", "one\n");
    repo.commit("feat: first");
    let ws = repo.ws();
    let config = gates("G:\n  checks:\n    - builtin: clean_tree\n");
    // Untracked files do not count.
    repo.write("untracked.txt", "x");
    let clean = run_with(&ws, &config, &request("G")).expect("run");
    assert_eq!(outcome(&clean, "clean_tree").status, CheckStatus::Passed);
    assert!(clean.passed);

    repo.write("tracked.txt", "two\n");
    let dirty = run_with(&ws, &config, &request("G")).expect("run");
    let check = outcome(&dirty, "clean_tree");
    assert_eq!(check.status, CheckStatus::Failed);
    assert_eq!(check.kind, CheckKind::Builtin);
    assert_eq!(check.builtin, Some(Builtin::CleanTree));
    assert_eq!(check.detail, "1 tracked file with uncommitted changes");
    assert_eq!(check.output, " M tracked.txt\n");
    assert!(!dirty.passed);
}

#[test]
fn gate_builtin_clean_tree_ignores_tracked_evidence() {
    let repo = Fixture::new();
    repo.commit("feat: first");
    let ws = repo.ws();
    let first = run(&ws, &request("G-MRG")).expect("run");
    record(&ws, &first).expect("record");
    // A team that commits its evidence.
    repo.git(&["add", "-A", ".trainyard"]);
    repo.git(&["commit", "-q", "-m", "chore: evidence"]);
    let ws = repo.ws();
    let second = run(&ws, &request("G-MRG")).expect("run");
    record(&ws, &second).expect("record");
    let third = run(&ws, &request("G-MRG")).expect("run");
    assert_eq!(outcome(&third, "clean_tree").status, CheckStatus::Passed);
}

#[test]
fn gate_builtin_conventional_commits_checks_the_release_range() {
    let repo = Fixture::new();
    repo.commit("not conventional, but released");
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("feat: add x");
    let merge_base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("fix: on topic");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("docs: on main");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'topic'",
        "topic",
    ]);
    let _ = merge_base;
    let config = gates("G:\n  checks:\n    - builtin: conventional_commits\n");
    let result = run_with(&repo.ws(), &config, &request("G")).expect("run");
    let check = outcome(&result, "conventional_commits");
    assert_eq!(check.status, CheckStatus::Passed, "{check:?}");
    assert_eq!(
        check.detail,
        "3 commits in the release range, all conventional"
    );
    assert_eq!(result.range.since.as_deref(), Some("v1.0.0"));
    assert_eq!((result.range.commits, result.range.merges), (3, 1));

    // A git revert counts as conventional; a plain message does not.
    repo.git(&["revert", "--no-edit", "HEAD~1"]);
    let bad = repo.commit("Update stuff");
    let result = run_with(&repo.ws(), &config, &request("G")).expect("run");
    let check = outcome(&result, "conventional_commits");
    assert_eq!(check.status, CheckStatus::Failed);
    assert_eq!(
        check.detail,
        "1 of 5 commits in the release range is not conventional"
    );
    assert_eq!(
        check.output,
        format!(
            "{} Update stuff: no `type: description` summary\n",
            &bad[..10]
        )
    );
}

#[test]
fn gate_builtin_feature_freeze() {
    let repo = Fixture::new();
    repo.commit("feat: before the freeze");
    let freeze = repo.git(&["rev-parse", "HEAD"]);
    repo.commit("fix: after the freeze");
    repo.commit("docs: after the freeze");
    let config = gates("G:\n  checks:\n    - builtin: feature_freeze\n");

    let skipped = run_with(&repo.ws(), &config, &request("G")).expect("run");
    let check = outcome(&skipped, "feature_freeze");
    assert_eq!(check.status, CheckStatus::Skipped);
    assert_eq!(check.detail, "skipped: no freeze point given");
    // Nothing ran: vacuously all passed.
    assert_eq!(skipped.success_rate, 100.0);
    assert!(skipped.passed);

    let frozen = GateRequest {
        freeze_point: Some(freeze.clone()),
        ..request("G")
    };
    let result = run_with(&repo.ws(), &config, &frozen).expect("run");
    let check = outcome(&result, "feature_freeze");
    assert_eq!(check.status, CheckStatus::Passed, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "no feature or breaking change in 2 commits after the freeze at {}",
            &freeze[..10]
        )
    );

    let feat = repo.commit("feat: sneaked in");
    let breaking = repo.commit("refactor!: drop the old api");
    let result = run_with(&repo.ws(), &config, &frozen).expect("run");
    let check = outcome(&result, "feature_freeze");
    assert_eq!(check.status, CheckStatus::Failed);
    assert_eq!(
        check.output,
        format!(
            "{} refactor!: drop the old api (breaking change)\n{} feat: sneaked in (feature)\n",
            &breaking[..10],
            &feat[..10]
        )
    );

    let bad = GateRequest {
        freeze_point: Some("no-such-rev".into()),
        ..request("G")
    };
    let err = run_with(&repo.ws(), &config, &bad).expect_err("bad freeze point");
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains("no-such-rev"), "{err}");
}

#[test]
fn gate_builtin_changelog_and_manifests_at_version() {
    let repo = Fixture::new();
    repo.write("VERSION", "1.2.0\n");
    repo.write(
        "CHANGELOG.md",
        "# Changelog\n\n## [1.2.0] - 2026-03-05\n\n### Added\n\n- x\n",
    );
    repo.commit("feat: first");
    let config = gates(
        "G:\n  checks:\n    - builtin: changelog_section\n    - builtin: manifests_at_version\n",
    );
    let at = |version: Option<Version>| GateRequest {
        version,
        ..request("G")
    };
    let none = run_with(&repo.ws(), &config, &at(None)).expect("run");
    assert!(none.checks.iter().all(|c| c.status == CheckStatus::Skipped));

    let good = run_with(&repo.ws(), &config, &at(Some(Version::new(1, 2, 0)))).expect("run");
    assert!(good.passed, "{good:#?}");
    assert_eq!(
        outcome(&good, "manifests_at_version").detail,
        "1 manifest version at 1.2.0"
    );

    let bad = run_with(&repo.ws(), &config, &at(Some(Version::new(1, 3, 0)))).expect("run");
    assert_eq!(
        outcome(&bad, "changelog_section").detail,
        "CHANGELOG.md has no section for 1.3.0"
    );
    let manifests = outcome(&bad, "manifests_at_version");
    assert_eq!(manifests.status, CheckStatus::Failed);
    assert_eq!(manifests.output, "VERSION version: 1.2.0, expected 1.3.0\n");
    assert_eq!(bad.success_rate, 0.0);
}

#[test]
fn gate_run_measures_rework_in_the_release_range() {
    let repo = Fixture::new();
    repo.commit("fix: released long ago");
    repo.git(&["tag", "v1.0.0"]);
    let feat = repo.commit("feat: add x");
    let fix = repo.commit(&format!("fix: crash in x from {}", &feat[..8]));
    let fixup = repo.commit("fixup! feat: add x");
    repo.commit("docs: explain x");
    repo.commit("test: cover x");
    let config = gates("G:\n  rework_rate: 25\n");
    let result = run_with(&repo.ws(), &config, &request("G")).expect("run");
    assert_eq!(result.range.commits, 5);
    assert_eq!(result.rework_rate, 40.0);
    let found: Vec<(&str, ReworkReason, Option<&str>)> = result
        .rework
        .iter()
        .map(|r| (r.commit.as_str(), r.reason, r.target.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (fixup.as_str(), ReworkReason::Fixup, Some(feat.as_str())),
            (
                fix.as_str(),
                ReworkReason::FixesEarlierCommit,
                Some(feat.as_str())
            ),
        ]
    );
    assert_eq!(
        result.reasons,
        ["rework_rate 40 is above the maximum 25 (2 of 5 commits)"]
    );
    assert!(!result.passed);
}

#[test]
fn gate_run_on_a_tagged_release_measures_that_release() {
    let repo = Fixture::new();
    repo.commit("feat: one");
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("feat: two");
    repo.commit("fix: three");
    repo.git(&["tag", "v1.1.0"]);
    let result = run_with(&repo.ws(), &GatesConfig::default(), &request("G-MRG")).expect("run");
    assert_eq!(result.range.release.as_deref(), Some("v1.1.0"));
    assert_eq!(result.range.since.as_deref(), Some("v1.0.0"));
    assert_eq!(result.range.commits, 2);
}

#[test]
fn gate_run_default_gates_pass_on_a_clean_conventional_repository() {
    let repo = Fixture::new();
    repo.commit("feat: one");
    repo.commit("fix: two");
    let ws = repo.ws();
    for name in [MERGE_GATE, RELEASE_GATE] {
        let result = run(&ws, &request(name)).expect("run");
        assert!(result.passed, "{name}: {:?}", result.reasons);
        assert_eq!(result.success_rate, 100.0);
        assert_eq!(result.rework_rate, 0.0);
        assert!(result.all_tasks_passed);
    }
    let err = run(&ws, &request("G-NONE")).expect_err("unknown gate");
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn gate_run_refuses_a_workdir_at_another_commit() {
    let repo = Fixture::new();
    let first = repo.commit("feat: one");
    let second = repo.commit("feat: two");
    let ws = repo.ws();
    let elsewhere = GateRequest {
        commit: Some(first.clone()),
        ..request("G-MRG")
    };
    let err = run(&ws, &elsewhere).expect_err("HEAD is not the commit");
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains(&second[..12]), "{err}");

    // A worktree at the commit is the way.
    let worktree = crate::git_cli::Worktree::add(repo.root(), &first).expect("worktree");
    let view = ws.view_at(worktree.path()).expect("view");
    let there = GateRequest {
        commit: Some(first.clone()),
        workdir: Some(worktree.path().to_path_buf()),
        ..request("G-MRG")
    };
    let result = run(&view, &there).expect("run");
    assert_eq!(result.commit, first);
    assert!(result.passed, "{:?}", result.reasons);
}

// ---------------------------------------------------------------- evidence

#[test]
fn gate_record_and_latest_result_round_trip_on_the_right_commit() {
    let repo = Fixture::new();
    let first = repo.commit("feat: one");
    let ws = repo.ws();
    // Output that YAML must quote: colons, dashes, quotes, tabs, escapes.
    let config = GatesConfig(BTreeMap::from([(
        "G-T".to_owned(),
        GateConfig {
            checks: vec![CheckConfig::command(
                "weird output",
                r#"printf 'a: b\n  - "q" #x\n\tz \033[31mred\033[0m\n'"#,
            )],
            ..defaults()["G-MRG"].clone()
        },
    )]));
    assert_eq!(latest_result(&ws, "G-T", &first).expect("none yet"), None);
    let on_first = run_with(&ws, &config, &request("G-T")).expect("run");
    assert!(on_first.passed);
    let written = record(&ws, &on_first).expect("record");
    assert_eq!(written.record.kind, EVIDENCE_KIND);
    assert_eq!(
        written.record.name,
        format!("G-T-{}-20260305T093000Z", &first[..12])
    );
    let entry = ws
        .evidence_store()
        .show(EVIDENCE_KIND, &written.record.name)
        .expect("show");
    assert!(entry.text.starts_with("gate_result:\n"), "{}", entry.text);

    // A second run in the same second gets its own name.
    let again = record(&ws, &on_first).expect("record again");
    assert_eq!(again.record.name, format!("{}-2", written.record.name));

    let second = repo.commit("feat: two");
    let ws = repo.ws();
    let failing = gates("G-T:\n  checks:\n    - run: exit 1\n");
    let on_second = run_with(&ws, &failing, &request("G-T")).expect("run");
    record(&ws, &on_second).expect("record");

    let back = latest_result(&ws, "G-T", &first)
        .expect("read")
        .expect("a result for the first commit");
    assert_eq!(back, on_first);
    assert_eq!(back.checks[0].output, "a: b\n  - \"q\" #x\n\tz red\n");
    let newest = latest_result(&ws, "G-T", "HEAD")
        .expect("read")
        .expect("a result for the second commit");
    assert_eq!(newest.commit, second);
    assert!(!newest.passed);
    assert_eq!(latest_result(&ws, "G-MRG", &first).expect("read"), None);
    assert!(ws.evidence_store().verify().expect("verify").ok);
}

#[test]
fn gate_result_serializes_with_snake_case_statuses() {
    let repo = Fixture::new();
    repo.commit("feat: one");
    let config = gates(
        "G:\n  checks:\n    - run: sleep 600\n      timeout_seconds: 1\n    - builtin: feature_freeze\n",
    );
    let result = run_with(&repo.ws(), &config, &request("G")).expect("run");
    let json = serde_json::to_value(&result).expect("json");
    assert_eq!(json["checks"][0]["status"], "timed_out");
    assert_eq!(json["checks"][0]["kind"], "command");
    assert_eq!(json["checks"][0]["command"], "sleep 600");
    assert_eq!(json["checks"][1]["status"], "skipped");
    assert_eq!(json["checks"][1]["builtin"], "feature_freeze");
    assert_eq!(json["thresholds"]["rework_rate"], 20.0);
    assert_eq!(CheckStatus::TimedOut.as_str(), "timed_out");
}

#[test]
fn gate_result_yaml_round_trips_awkward_output() {
    let outputs = [
        "",
        "\n",
        "no final newline",
        "  leading spaces\nsecond\n",
        "trailing spaces   \n\n\n",
        "\t tab first\n",
        "# not a comment\n---\n...\n",
        "key: value\n- item\n",
        "\u{e9} \u{2713} \u{fffd}\n",
        "'single' \"double\" \\backslash\n",
        "null",
        "123",
    ];
    for output in outputs {
        let check = CheckOutcome {
            name: "c".into(),
            kind: CheckKind::Command,
            builtin: None,
            command: Some("x".into()),
            status: CheckStatus::Passed,
            exit_code: Some(0),
            expect_exit: Some(0),
            signal: None,
            duration_ms: 1,
            detail: "exit 0".into(),
            output: output.into(),
            output_omitted_bytes: 0,
        };
        let result = GateResult {
            gate: "G".into(),
            commit: "0".repeat(40),
            ran_at: "2026-03-05T09:30:00Z".into(),
            version: None,
            range: RangeSummary {
                release: None,
                since: None,
                commits: 0,
                merges: 0,
                truncated_by_shallow_clone: false,
            },
            checks: vec![check],
            success_rate: 66.67,
            rework_rate: 0.0,
            rework: Vec::new(),
            all_tasks_passed: true,
            thresholds: defaults()["G-REL"].thresholds(),
            passed: true,
            reasons: Vec::new(),
            duration_ms: 1,
        };
        let yaml = crate::evidence::document_yaml(&result).expect("render");
        assert!(yaml.starts_with("gate_result:"), "{yaml}");
        let back: GateResult = crate::evidence::parse_document(&yaml).expect(&yaml);
        assert_eq!(back, result, "{yaml}");
    }
}

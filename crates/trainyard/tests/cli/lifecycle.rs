//! A repository's whole life, through the command line only: a fresh
//! repository with a bare remote, a directory channel and a mirror, lives
//! through nine release cycles: a first (major) release, a minor through two
//! candidates, a patch hotfix, a minor, a rollback of that minor and the
//! release after it, a major with its rollback rehearsal, a publication
//! whose second channel fails and then resumes, and a minor after it.
//!
//! Every release step is first run with `--dry-run`, and the real run
//! must carry out exactly the actions the dry run listed. After every
//! step: `status` names the last posted, non-withdrawn release as
//! current; no version is started twice and every released version has
//! one tag; main's working tree is clean; `evidence verify` passes; and
//! `status`, `version next` and `calendar next` agree on the next version.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{TestRepo, ok, sign_everything};

struct Life {
    repo: TestRepo,
    channel: PathBuf,
    /// While this file exists the `mirror` channel publishes; without it,
    /// it fails.
    mirror_up: PathBuf,
    /// Every version a release was started for, in order.
    started: Vec<String>,
}

fn life() -> Life {
    let repo = TestRepo::new();
    let remote = repo.home().join("origin.git");
    let channel = repo.home().join("dist");
    let mirror_up = repo.home().join("mirror-up");
    let mirror = repo.home().join("mirror");
    std::fs::write(&mirror_up, "").expect("mirror flag");
    repo.git_in(
        repo.home(),
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    let config = format!(
        "versioning:\n  initial_version: 1.0.0\n\
         gates:\n  G-REL:\n    checks:\n      - builtin: clean_tree\n      - builtin: feature_freeze\n      - {{ name: tests, run: \"test -f README.md\" }}\n  G-MRG:\n    checks:\n      - {{ name: tests, run: \"test -f README.md\" }}\n\
         checklist:\n  security_audit: \"true\"\n\
         release:\n  artifacts:\n    - name: tarball\n      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md src\n      paths: [\"$TRAINYARD_OUT/*.tgz\"]\n  channels:\n    - {{ type: directory, name: downloads, path: {channel} }}\n    - {{ type: command, name: mirror, run: \"test -f {up} && mkdir -p {mirror}/$TRAINYARD_VERSION\" }}\n    - {{ type: git_remote, name: origin, remote: origin }}\n\
         rollback:\n  smoke_tests: [\"test -f README.md\"]\n",
        channel = channel.display(),
        up = mirror_up.display(),
        mirror = mirror.display(),
    );
    repo.write("trainyard.yaml", &config);
    repo.write(".gitignore", ".trainyard/\n");
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.write("src/lib.txt", "core\n");
    repo.commit("feat: first version");
    repo.git(&["push", "-q", "origin", "main"]);
    Life {
        repo,
        channel,
        mirror_up,
        started: Vec::new(),
    }
}

impl Life {
    /// One change on main: a file written, the README's list of changes
    /// extended (documentation changes with the code, RL-05), committed.
    fn change(&self, path: &str, content: &str, message: &str) {
        let readme = self.repo.path().join("README.md");
        let mut text = std::fs::read_to_string(&readme).expect("readme");
        text.push_str(&format!(
            "- {}\n",
            message.lines().next().unwrap_or(message)
        ));
        self.repo.write("README.md", &text);
        self.repo.write(path, content);
        self.repo.commit(message);
    }

    /// Runs `release <step>` as a dry run and for real; the real run must
    /// exit with `code` and carry out exactly the planned actions.
    fn release(&mut self, step: &str, extra: &[&str], code: i32) -> Value {
        let mut args = vec!["--json", "release", step];
        args.extend(extra);
        let mut dry = args.clone();
        dry.push("--dry-run");
        let planned = self.repo.run(&dry);
        assert!(
            [0, 1].contains(&planned.code()),
            "{dry:?}: {}",
            planned.transcript()
        );
        let planned = planned.json();
        assert_eq!(planned["applied"], false);
        assert_eq!(planned["executed"], serde_json::json!([]));
        let real = self.repo.run(&args);
        assert_eq!(real.code(), code, "{args:?}: {}", real.transcript());
        let report = real.json();
        assert_eq!(
            report["executed"], planned["actions"],
            "release {step}: what ran is not what was planned"
        );
        assert_eq!(report["actions"], planned["actions"]);
        if step == "start" {
            let version = report["version"].as_str().expect("version").to_owned();
            assert!(
                !self.started.contains(&version),
                "{version} started twice: {:?}",
                self.started
            );
            self.started.push(version);
        }
        report
    }

    /// The invariants that hold after every step, with `current` the
    /// release in effect.
    fn check(&self, current: &str) {
        let repo = &self.repo;
        let status = ok(repo, &["--json", "status"]).json();
        let expected = if current.is_empty() {
            Value::Null
        } else {
            Value::from(current)
        };
        assert_eq!(status["current"], expected, "status: {status:#}");
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            "",
            "main's working tree is clean"
        );
        ok(repo, &["evidence", "verify"]);
        let states = ok(repo, &["--json", "release", "status"]).json();
        let states = states.as_array().expect("release states");
        let mut versions: Vec<&str> = states
            .iter()
            .map(|s| s["version"].as_str().expect("version"))
            .collect();
        let all = versions.len();
        versions.sort_unstable();
        versions.dedup();
        assert_eq!(versions.len(), all, "a version has two release states");
        let tags = repo.git(&["tag", "-l"]);
        for state in states {
            if matches!(state["step"].as_str(), Some("published" | "posted")) {
                let tag = format!("v{}", state["version"].as_str().expect("version"));
                assert_eq!(
                    tags.lines().filter(|t| *t == tag).count(),
                    1,
                    "{tag} in {tags}"
                );
            }
        }
        let next = ok(repo, &["--json", "version", "next"]).json();
        assert_eq!(status["next"], next["next"], "status and version next");
        assert_eq!(status["release_needed"], next["release_needed"]);
        let calendar = ok(repo, &["--json", "calendar", "next"]).json();
        if next["release_needed"] == true {
            assert_eq!(
                calendar["release"]["version"], next["next"],
                "calendar next and version next: {calendar:#}"
            );
        }
    }

    /// One release through every step, candidate `rc` times (a fix on
    /// main between candidates); returns the version.
    fn cycle(&mut self, kind: Option<&str>, current_before: &str, candidates: usize) -> String {
        let kind: Vec<&str> = kind.into_iter().collect();
        let start = self.release("start", &kind, 0);
        let version = start["version"].as_str().expect("version").to_owned();
        self.check(current_before);
        for n in 1..=candidates {
            if n > 1 {
                // A blocker fixed on main, then the next candidate: the
                // earlier candidate's sign-offs do not carry over.
                self.change(
                    "src/lib.txt",
                    &format!("core, fix {n} for {version}\n"),
                    &format!("fix: blocker {n} of {version}"),
                );
            }
            let rc = self.release("rc", &[], 0);
            assert_eq!(
                rc["state"]["rcs"][n - 1]["tag"],
                format!("v{version}-rc.{n}")
            );
            self.check(current_before);
            if n > 1 {
                let unsigned = self.release("validate", &[], 1);
                assert!(
                    unsigned["messages"]
                        .to_string()
                        .contains(&format!("not signed on the candidate v{version}-rc.{n}")),
                    "{unsigned:#}"
                );
            }
            sign_everything(&self.repo, &version);
        }
        if start["state"]["kind"] == "major" {
            self.major_signoff(&version, !current_before.is_empty());
        }
        self.release("validate", &[], 0);
        self.check(current_before);
        self.release("publish", &[], 0);
        self.check(current_before);
        self.release("post", &[], 0);
        self.check(&version);
        assert!(self.channel.join(&version).is_dir());
        version
    }
}

#[test]
fn a_repository_lives_through_nine_release_cycles() {
    let mut life = life();
    // 1. The first release: the initial version.
    assert_eq!(life.cycle(None, "", 1), "1.0.0");

    // 2. A minor through two candidates.
    life.change("src/export.txt", "csv\n", "feat(export): csv export");
    assert_eq!(life.cycle(None, "1.0.0", 2), "1.1.0");

    // 3. A patch hotfix.
    life.change(
        "src/export.txt",
        "csv, quoted\n",
        "fix(export): quote commas",
    );
    assert_eq!(life.cycle(None, "1.1.0", 1), "1.1.1");

    // 4. A minor, then 5. its rollback.
    life.change("src/api.txt", "pages\n", "feat(api): paginate");
    assert_eq!(life.cycle(Some("minor"), "1.1.1", 1), "1.2.0");
    let planned = life
        .repo
        .run(&["--json", "rollback", "plan", "--to", "1.1.1"]);
    assert_eq!(planned.code(), 1, "{}", planned.transcript());
    let plan_id = planned.json()["plan_id"]
        .as_str()
        .expect("plan id")
        .to_owned();
    let rolled = life.repo.run(&[
        "--json",
        "rollback",
        "start",
        &plan_id[..16],
        "--issue",
        "INC-1",
        "--severity",
        "critical",
        "--impact",
        "widespread",
        "--description",
        "pagination loses rows",
    ]);
    assert_eq!(rolled.code(), 0, "{}", rolled.transcript());
    assert!(!life.channel.join("1.2.0").exists(), "1.2.0 withdrawn");
    life.check("1.1.1");
    let status = ok(&life.repo, &["--json", "status"]).json();
    assert_eq!(status["withdrawn"], serde_json::json!(["1.2.0"]));
    assert_eq!(
        status["next"], "1.2.1",
        "above the withdrawn 1.2.0: {status:#}"
    );

    // 6. The release after the rollback: never 1.2.0 again.
    life.change(
        "src/api.txt",
        "pages, complete\n",
        "fix(api): pages keep every row",
    );
    assert_eq!(life.cycle(None, "1.1.1", 1), "1.2.1");

    // 7. A major, with its rehearsal and its human sign-off.
    life.change(
        "src/api.txt",
        "v2\n",
        "feat(api)!: version 2 of the API\n\nBREAKING CHANGE: /v1 is gone\nMigration: call /v2 with the same payload",
    );
    assert_eq!(life.cycle(None, "1.2.1", 1), "2.0.0");

    // 8. A publication whose second channel fails, then resumes.
    life.change("src/lib.txt", "core, faster\n", "perf: faster core");
    life.release("start", &[], 0);
    life.release("rc", &[], 0);
    sign_everything(&life.repo, "2.0.1");
    life.release("validate", &[], 0);
    std::fs::remove_file(&life.mirror_up).expect("mirror down");
    let failed = life.repo.run(&["--json", "release", "publish"]);
    assert_eq!(failed.code(), 3, "{}", failed.transcript());
    assert!(
        failed.stdout().contains("to channel mirror failed"),
        "{}",
        failed.stdout()
    );
    assert!(
        life.channel.join("2.0.1").is_dir(),
        "the first channel is done"
    );
    life.check("2.0.0");
    std::fs::write(&life.mirror_up, "").expect("mirror up");
    let resumed = life.release("publish", &[], 0);
    let steps: Vec<&str> = resumed["executed"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["channel"].as_str())
        .collect();
    assert_eq!(steps, ["mirror", "origin"], "only what is missing");
    life.check("2.0.0");
    life.release("post", &[], 0);
    life.check("2.0.1");

    // 9. A minor after all that.
    life.change("src/search.txt", "search\n", "feat: search");
    assert_eq!(life.cycle(None, "2.0.1", 1), "2.1.0");
    assert_eq!(
        life.started,
        [
            "1.0.0", "1.1.0", "1.1.1", "1.2.0", "1.2.1", "2.0.0", "2.0.1", "2.1.0"
        ]
    );
    let next = life.repo.run(&["version", "next"]);
    assert_eq!(next.code(), 0);
    assert_eq!(next.stdout(), "", "nothing left to release");
}

#[test]
fn without_merge_back_a_posted_release_is_never_proposed_again() {
    let mut life = life();
    let config = std::fs::read_to_string(life.repo.path().join("trainyard.yaml"))
        .expect("config")
        .replace("release:\n", "release:\n  merge_back: false\n");
    life.repo.write("trainyard.yaml", &config);
    life.repo.commit("chore: releases come back through review");
    assert_eq!(life.cycle_without_merge(), "1.0.0");
    // main never got the tag, yet it knows 1.0.0 is out.
    let status = ok(&life.repo, &["--json", "status"]).json();
    assert_eq!(status["current"], "1.0.0", "{status:#}");
    assert_eq!(status["release_needed"], false, "{status:#}");
    let refused = life.repo.run(&["release", "start"]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(
        refused.stderr().contains("nothing to release"),
        "{}",
        refused.stderr()
    );
    life.change("src/export.txt", "csv\n", "feat(export): csv export");
    let next = ok(&life.repo, &["version", "next"]);
    assert_eq!(next.stdout(), "1.1.0\n");
}

impl Life {
    /// A major's human sign-off, and its rollback rehearsal when there is
    /// an earlier release to roll back to.
    fn major_signoff(&self, version: &str, rehearse: bool) {
        ok(
            &self.repo,
            &[
                "signoff",
                version,
                "--item",
                "major",
                "--by",
                "lin@example.org",
            ],
        );
        if rehearse {
            ok(&self.repo, &["rollback", "rehearse", "--version", version]);
        }
    }

    fn cycle_without_merge(&mut self) -> String {
        let start = self.release("start", &[], 0);
        let version = start["version"].as_str().expect("version").to_owned();
        self.release("rc", &[], 0);
        sign_everything(&self.repo, &version);
        if start["state"]["kind"] == "major" {
            self.major_signoff(&version, false);
        }
        self.release("validate", &[], 0);
        self.release("publish", &[], 0);
        let post = self.release("post", &[], 0);
        assert!(
            post["messages"].to_string().contains("merge_back is off"),
            "{post:#}"
        );
        let tag = format!("v{version}");
        let merged = std::process::Command::new("git")
            .current_dir(self.repo.path())
            .args(["merge-base", "--is-ancestor", &tag, "main"])
            .status()
            .expect("git");
        assert!(!merged.success(), "the tag stays off main");
        version
    }
}

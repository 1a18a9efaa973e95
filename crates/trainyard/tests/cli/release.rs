//! The release workflow end to end: a fresh repository with a bare remote
//! and directory channels, from `release start` to `release post`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use crate::support::{TestRepo, assert_unchanged, ok, sign_everything, snapshot_dir};

/// A repository with a bare `origin`, a released v1.0.0 and two features
/// since; the release gate checks for a file outside the repository, so a
/// test can make it fail and then pass.
struct Fixture {
    repo: TestRepo,
    remote: PathBuf,
    channel: PathBuf,
    gate_flag: PathBuf,
}

fn fixture(extra_config: &str) -> Fixture {
    let repo = TestRepo::new();
    let remote = repo.home().join("origin.git");
    let channel = repo.home().join("dist");
    let gate_flag = repo.home().join("regression-suite-green");
    repo.git_in(
        repo.home(),
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    let config = format!(
        "gates:\n  G-REL:\n    checks:\n      - builtin: clean_tree\n      - builtin: feature_freeze\n      - name: regression suite\n        run: test -f {flag}\n  G-MRG:\n    checks:\n      - name: regression suite\n        run: test -f {flag}\nchecklist:\n  security_audit: \"true\"\nrelease:\n  artifacts:\n    - name: tarball\n      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md\n      paths: [\"$TRAINYARD_OUT/*.tgz\"]\n  channels:\n    - {{ type: directory, name: downloads, path: {channel} }}\n    - {{ type: git_remote, name: origin, remote: origin }}\n{extra_config}",
        flag = gate_flag.display(),
        channel = channel.display(),
    );
    repo.write("trainyard.yaml", &config);
    repo.write(".gitignore", ".trainyard/\n");
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.commit("feat(export): add csv export (#7)");
    repo.commit("fix(parser): accept empty input\n\nFixes #3");
    repo.git(&["push", "-q", "origin", "main", "v1.0.0"]);
    Fixture {
        repo,
        remote,
        channel,
        gate_flag,
    }
}

#[test]
fn a_minor_release_from_start_to_post() {
    let f = fixture("");
    let repo = &f.repo;
    let start = ok(repo, &["--json", "release", "start", "minor"]).json();
    assert_eq!(start["version"], "1.1.0");
    // Out of order: validation needs a candidate first.
    let early = repo.run(&["release", "validate"]);
    assert_eq!(early.code(), 2);
    assert!(
        early
            .stderr()
            .contains("`release validate` needs `release rc` first"),
        "{}",
        early.stderr()
    );
    // The regression gate fails on the first candidate...
    let rc = repo.run(&["--json", "release", "rc"]);
    assert_eq!(rc.code(), 1, "the gate fails: {}", rc.transcript());
    let rc = rc.json();
    assert_eq!(rc["state"]["rcs"][0]["tag"], "v1.1.0-rc.1");
    assert_eq!(rc["state"]["rcs"][0]["branch"], "release/v1.1.0-rc.1");
    let on_branch = repo.git(&["show", "release/v1.1.0-rc.1:Cargo.toml"]);
    assert!(
        on_branch.contains("version = \"1.1.0-rc.1\""),
        "{on_branch}"
    );
    let changelog = repo.git(&["show", "release/v1.1.0-rc.1:CHANGELOG.md"]);
    assert!(changelog.contains("## [1.1.0] - 2027-01-13"), "{changelog}");
    // ...and so does validation, with the reasons.
    sign_everything(repo, "1.1.0");
    let failing = repo.run(&["--json", "release", "validate"]);
    assert_eq!(failing.code(), 1, "{}", failing.transcript());
    let failures = failing.json()["messages"].to_string();
    assert!(
        failures.contains("G-REL: success_rate 66.67 is below the minimum 100"),
        "{failures}"
    );
    assert!(failures.contains("RL-02"), "{failures}");
    // Once the suite is green, validation passes.
    std::fs::write(&f.gate_flag, "").expect("flag");
    let passing = repo.run(&["--json", "release", "validate"]);
    assert_eq!(passing.code(), 0, "{}", passing.transcript());
    assert_eq!(passing.json()["state"]["step"], "validated");
    // Publishing is a plan first: a dry run changes nothing anywhere.
    let before = (repo.tree_snapshot(), snapshot_dir(&f.remote));
    let dry = repo.run(&["release", "publish", "--dry-run"]);
    assert_eq!(dry.code(), 1, "changes pending: {}", dry.transcript());
    assert!(
        dry.stdout().contains("tag v1.1.0 at release/v1.1.0-rc.1"),
        "{}",
        dry.stdout()
    );
    assert_unchanged(&before.0, &repo.tree_snapshot());
    assert_unchanged(&before.1, &snapshot_dir(&f.remote));
    assert!(!f.channel.exists());
    // Published files get the mode a web server can read: the umask's.
    let published = repo.run_umask("022", &["--json", "release", "publish"]);
    assert_eq!(published.code(), 0, "{}", published.transcript());
    let published = published.json();
    assert_eq!(published["state"]["step"], "published");
    for file in ["widget-1.1.0.tgz", "SHA256SUMS"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.channel.join("1.1.0").join(file))
            .expect("published file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{file}");
    }
    let again = repo.run(&["release", "publish"]);
    assert_eq!(again.code(), 2);
    assert!(
        again.stderr().contains(
            "is already published: `release publish` is done; the next step is `release post`"
        ),
        "{}",
        again.stderr()
    );
    assert!(f.channel.join("1.1.0/widget-1.1.0.tgz").is_file());
    assert!(f.channel.join("1.1.0/SHA256SUMS").is_file());
    let remote_tags = repo.git_in(&f.remote, &["tag", "--list"]);
    assert!(remote_tags.lines().any(|t| t == "v1.1.0"), "{remote_tags}");
    // The evidence anchor went along with the tag; the evidence written
    // since is anchored locally, after it.
    let pushed = repo.git_in(&f.remote, &["rev-parse", "refs/trainyard/evidence"]);
    let local = repo.git(&["rev-list", "refs/trainyard/evidence"]);
    assert!(local.lines().any(|c| c == pushed), "{pushed} in {local}");
    let against = ok(
        repo,
        &["--json", "evidence", "verify", "--against", "origin"],
    )
    .json();
    assert_eq!(against["anchor"]["against"]["commit"], pushed.as_str());
    let released = repo.git(&["show", "v1.1.0:Cargo.toml"]);
    assert!(released.contains("version = \"1.1.0\""), "{released}");
    // A stored calendar: `release post` reconciles it with the tags, by
    // the rules `calendar status` shows.
    ok(repo, &["calendar", "generate", "--year", "2027", "--write"]);
    ok(repo, &["release", "post"]);
    let stored = ok(
        repo,
        &["--json", "calendar", "status", "release-calendar-2027.yaml"],
    )
    .json();
    let expected = ok(repo, &["--json", "calendar", "generate", "--year", "2027"]).json();
    assert_eq!(stored["release_calendar"], expected["release_calendar"]);
    // v1.1.0, tagged today, fills the slot of this cycle.
    let slot = &stored["release_calendar"]["minor_releases"][1];
    assert_eq!(
        (&slot["release_date"], &slot["version"], &slot["status"]),
        (&"2027-01-15".into(), &"1.1.0".into(), &"released".into()),
        "{stored}"
    );
    let changelog = std::fs::read_to_string(repo.path().join("CHANGELOG.md")).expect("changelog");
    assert!(changelog.contains("## [Unreleased]"), "{changelog}");
    assert!(changelog.contains("## [1.1.0] - 2027-01-13"), "{changelog}");
    let status = ok(repo, &["release", "status"]).stdout();
    assert!(status.contains("1.1.0      minor  posted"), "{status}");
    // The evidence trail: the spec's keys, intact.
    let evidence = release_evidence(repo);
    assert_release_evidence_shape(&evidence);
    assert!(evidence.contains("g_rel_passed: true"), "{evidence}");
    assert!(evidence.contains("- downloads"), "{evidence}");
    let slsa = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "slsa_provenance"],
    )
    .json();
    assert_eq!(slsa.as_array().map(Vec::len), Some(1));
    ok(repo, &["evidence", "verify"]);
    let notes = std::fs::read_to_string(
        repo.path()
            .join(".trainyard/releases/1.1.0/RELEASE_NOTES.md"),
    )
    .expect("notes");
    assert!(notes.contains("## Provenance"), "{notes}");
}

fn release_evidence(repo: &TestRepo) -> String {
    let list = ok(
        repo,
        &["--json", "evidence", "list", "--kind", "release_evidence"],
    )
    .json();
    let name = list[0]["name"]
        .as_str()
        .expect("a release_evidence document")
        .to_owned();
    ok(repo, &["evidence", "show", "release_evidence", &name]).stdout()
}

/// The document has exactly the spec's keys, in the spec's nesting.
fn assert_release_evidence_shape(yaml: &str) {
    insta::assert_snapshot!(crate::support::yaml_keys(yaml), @r"
    release_evidence
      version
      release_date
      released_by
      validation
        gate_results
          g_rel_passed
          success_rate
          rework_rate
          all_tasks_passed
        checklist
        - check
          status
        - check
          status
        - check
          status
        - check
          status
        - check
          status
        - check
          status
        - check
          status
        - check
          status
      artifacts
        changelog_ref
        release_notes_ref
        verification_log_ref
      provenance
        commit
        branch
        build_id
        signed_by
      distribution
        channels
        published_at
    ");
    for id in [
        "RL-01", "RL-02", "RL-03", "RL-04", "RL-05", "RL-06", "RL-07", "RL-08",
    ] {
        assert!(
            yaml.contains(&format!("- check: {id}")),
            "{id} missing: {yaml}"
        );
    }
}

#[test]
fn a_publish_that_fails_on_its_second_channel_resumes() {
    let log_dir = tempfile::tempdir().expect("tempdir");
    let log = log_dir.path().join("first-channel.log");
    let allow = log_dir.path().join("mirror-up");
    let extra = format!(
        "    - {{ type: command, name: announce, run: 'echo published >> {log}' }}\n    - {{ type: command, name: mirror, run: 'test -f {allow}' }}\n    - {{ type: directory, name: archive, path: {archive} }}\n",
        log = log.display(),
        allow = allow.display(),
        archive = log_dir.path().join("archive").display(),
    );
    let f = fixture(&extra);
    let repo = &f.repo;
    std::fs::write(&f.gate_flag, "").expect("flag");
    ok(repo, &["release", "start", "minor"]);
    ok(repo, &["release", "rc"]);
    sign_everything(repo, "1.1.0");
    ok(repo, &["release", "validate"]);
    let failed = repo.run(&["release", "publish"]);
    assert_eq!(failed.code(), 3, "{}", failed.transcript());
    assert!(
        failed.stderr().contains("channel mirror failed"),
        "{}",
        failed.stderr()
    );
    let state = ok(repo, &["--json", "release", "status"]).json();
    let channels = state[0]["publication"]["channels"]
        .as_object()
        .expect("receipts")
        .clone();
    let names: Vec<&String> = channels.keys().collect();
    assert_eq!(
        names,
        ["announce", "downloads", "origin"],
        "published before the failure"
    );
    std::fs::write(&allow, "").expect("mirror up");
    let resumed = ok(repo, &["release", "publish"]);
    assert!(
        resumed
            .stderr()
            .contains("announce: already published, skipped"),
        "{}",
        resumed.stderr()
    );
    // The first channels ran once; the evidence names all of them.
    assert_eq!(std::fs::read_to_string(&log).expect("log"), "published\n");
    let evidence = release_evidence(repo);
    for channel in ["announce", "archive", "downloads", "mirror", "origin"] {
        assert!(
            evidence.contains(&format!("- {channel}")),
            "{channel}: {evidence}"
        );
    }
}

#[test]
fn a_major_without_sign_off_and_rehearsal_is_refused() {
    let f = fixture("");
    let repo = &f.repo;
    std::fs::write(&f.gate_flag, "").expect("flag");
    repo.commit(
        "feat!: drop the v1 format\n\nBREAKING CHANGE: run `widget migrate` to convert old files",
    );
    ok(repo, &["release", "start", "major"]);
    ok(repo, &["release", "rc"]);
    sign_everything(repo, "2.0.0");
    let refused = repo.run(&["--json", "release", "validate"]);
    assert_eq!(refused.code(), 1, "{}", refused.transcript());
    let messages = refused.json()["messages"].to_string();
    assert!(
        messages
            .contains("RL-07 Rollback tested: no successful rollback rehearsal recorded for 2.0.0"),
        "{messages}"
    );
    assert!(
        messages.contains("a major release needs a human sign-off"),
        "{messages}"
    );
    let publish = repo.run(&["release", "publish"]);
    assert_eq!(publish.code(), 2);
    assert!(
        publish
            .stderr()
            .contains("needs a passing `release validate` first"),
        "{}",
        publish.stderr()
    );
}

#[test]
fn every_step_has_a_dry_run_that_changes_nothing() {
    let f = fixture("");
    let repo = &f.repo;
    let snapshot = |f: &Fixture| (f.repo.tree_snapshot(), snapshot_dir(&f.remote));
    let before = snapshot(&f);
    let dry = repo.run(&["release", "start", "minor", "--dry-run"]);
    assert_eq!(dry.code(), 1, "{}", dry.transcript());
    assert_unchanged(&before.0, &snapshot(&f).0);
    ok(repo, &["release", "start", "minor"]);
    for step in [
        vec!["release", "rc", "--dry-run"],
        vec!["release", "abort", "--dry-run"],
    ] {
        let before = snapshot(&f);
        let run = repo.run(&step);
        assert_eq!(run.code(), 1, "{step:?}: {}", run.transcript());
        let after = snapshot(&f);
        assert_unchanged(&before.0, &after.0);
        assert_unchanged(&before.1, &after.1);
    }
    // Abort undoes the local candidate.
    std::fs::write(&f.gate_flag, "").expect("flag");
    ok(repo, &["release", "rc"]);
    ok(repo, &["release", "abort"]);
    assert!(repo.git(&["tag", "--list", "v1.1.0-rc.1"]).is_empty());
    assert!(repo.git(&["branch", "--list", "release/*"]).is_empty());
}

#[test]
fn the_feature_freeze_fails_the_gate() {
    let f = fixture("");
    let repo = &f.repo;
    std::fs::write(&f.gate_flag, "").expect("flag");
    ok(repo, &["release", "start", "minor"]);
    repo.commit("feat: sneaks in after the freeze");
    let rc = repo.run(&["--json", "release", "rc"]);
    assert_eq!(rc.code(), 1, "{}", rc.transcript());
    assert!(
        rc.json()["messages"].to_string().contains("feature_freeze"),
        "{}",
        rc.stdout()
    );
}

#[test]
fn the_two_review_layers_need_two_people() {
    let f = fixture("");
    let repo = &f.repo;
    ok(
        repo,
        &[
            "signoff",
            "1.1.0",
            "--item",
            "review",
            "--layer",
            "1",
            "--by",
            "ada@example.org",
        ],
    );
    let same = repo.run(&[
        "signoff",
        "1.1.0",
        "--item",
        "review",
        "--layer",
        "2",
        "--by",
        "ADA@example.org",
    ]);
    assert_eq!(same.code(), 2);
    assert!(
        same.stderr().contains("two different people"),
        "{}",
        same.stderr()
    );
}

#[test]
fn an_edited_signoff_is_refused_not_counted() {
    let f = fixture("");
    let repo = &f.repo;
    ok(
        repo,
        &[
            "signoff",
            "1.1.0",
            "--item",
            "review",
            "--layer",
            "1",
            "--by",
            "ada@example.org",
        ],
    );
    // The first layer's signer edited into someone else, so that the same
    // person could sign the second layer.
    let list = ok(repo, &["--json", "evidence", "list", "--kind", "signoff"]).json();
    let path = repo
        .path()
        .join(".trainyard")
        .join(list[0]["path"].as_str().expect("path"));
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("ada@example.org", "bob@example.org")).expect("edit");
    let second = repo.run(&[
        "signoff",
        "1.1.0",
        "--item",
        "review",
        "--layer",
        "2",
        "--by",
        "ada@example.org",
    ]);
    assert_eq!(second.code(), 2, "{}", second.transcript());
    assert!(
        second.stderr().contains("was edited after it was recorded")
            && second.stderr().contains(&path.display().to_string()),
        "{}",
        second.transcript()
    );
}

/// A one-shot HTTP server on loopback that answers GitHub's pull request
/// listing with `body`, and returns the request it saw.
fn github_server(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("one request");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read") == 0 || line == "\r\n" {
                break;
            }
            request.push_str(&line);
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("answer");
        request
    });
    (url, handle)
}

#[test]
fn the_checklist_asks_the_forge_for_open_pull_requests() {
    let (url, server) = github_server(
        r#"[{"number": 12, "title": "Finish the export", "html_url": "https://example.org/pr/12", "base": {"ref": "main"}, "milestone": {"title": "v1.1.0"}},
            {"number": 13, "title": "Unrelated", "html_url": "https://example.org/pr/13", "base": {"ref": "main"}, "milestone": null}]"#,
    );
    let f = fixture("");
    let repo = &f.repo;
    let config = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config");
    let config = config.replace(
        "checklist:\n",
        &format!("checklist:\n  forge: {{ kind: github, api_url: \"{url}\", repository: acme/widget, token: \"env:WIDGET_TOKEN\" }}\n"),
    );
    repo.write("trainyard.yaml", &config);
    repo.commit("chore: configure the forge");
    let run = repo.run_env(
        &["check", "--version", "1.1.0"],
        &[("WIDGET_TOKEN", "s3cret-token")],
    );
    assert_eq!(run.code(), 1, "{}", run.transcript());
    let request = server.join().expect("server");
    assert!(
        request.starts_with("GET /repos/acme/widget/pulls?state=open"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer s3cret-token"),
        "{request}"
    );
    assert!(!run.stdout().contains("s3cret-token"));
    let head = repo.git(&["rev-parse", "HEAD"]);
    insta::assert_snapshot!(run.stdout().replace(&head[..10], "[HEAD]"));
}

#[test]
fn start_takes_the_bump_the_commits_call_for_and_refuses_a_lower_one() {
    let f = fixture("");
    let repo = &f.repo;
    repo.commit("feat(api)!: drop v1\n\nBREAKING CHANGE: gone\nMigration: use v2");
    let before = repo.tree_snapshot();
    let refused = repo.run(&["release", "start", "patch"]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(
        refused
            .stderr()
            .contains("call for a major release (") && refused.stderr().contains(
                "feat(api)!: drop v1), not a patch: run `trainyard release start major`, or add --force to release them as a patch"
            ),
        "{}",
        refused.stderr()
    );
    assert_unchanged(&before, &repo.tree_snapshot());
    let started = ok(repo, &["--json", "release", "start"]).json();
    assert_eq!(started["version"], "2.0.0");
    assert_eq!(started["state"]["kind"], "major");
    ok(repo, &["release", "abort"]);
    // An aborted start uses nothing up; --force takes the lower kind.
    let forced = ok(repo, &["--json", "release", "start", "patch", "--force"]).json();
    assert_eq!(forced["version"], "1.0.1");
    assert!(
        forced["messages"]
            .to_string()
            .contains("because of --force"),
        "{forced:#}"
    );
}

#[test]
fn a_version_tagged_on_another_branch_is_never_started_again() {
    let f = fixture("");
    let repo = &f.repo;
    // 1.1.0 went out from a branch main never merged.
    repo.git(&["checkout", "-q", "-b", "elsewhere", "v1.0.0"]);
    repo.commit("feat: something else");
    repo.tag("v1.1.0");
    repo.git(&["checkout", "-q", "main"]);
    let next = ok(repo, &["--json", "version", "next"]).json();
    assert_eq!(next["next"], "1.2.0", "{next:#}");
    assert!(
        next["notes"]
            .to_string()
            .contains("1.1.0 is already tagged (v1.1.0): the next free version is 1.2.0"),
        "{next:#}"
    );
    let started = ok(repo, &["--json", "release", "start"]).json();
    assert_eq!(started["version"], "1.2.0");
}

#[test]
fn a_first_release_is_the_kind_its_version_looks_like() {
    for (initial, kind) in [("0.1.0", "minor"), ("1.0.0", "major")] {
        let repo = TestRepo::new();
        repo.write(
            "trainyard.yaml",
            &format!("versioning:\n  initial_version: {initial}\n"),
        );
        repo.write("README.md", "# widget\n");
        repo.commit("feat: first");
        repo.commit("feat!: a breaking change before anything was released");
        // The kind follows the version, whatever the commits before it
        // would bump; a first release has no earlier one to rehearse
        // rolling back to.
        let started = ok(&repo, &["--json", "release", "start"]).json();
        assert_eq!(started["version"], initial);
        assert_eq!(started["state"]["kind"], kind);
        let check = repo.run(&["--json", "check"]).json();
        let rl07 = check["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == "RL-07")
            .expect("RL-07")
            .clone();
        assert_eq!(rl07["status"], "na", "{rl07:#}");
        if kind == "major" {
            assert!(
                rl07["reason"]
                    .as_str()
                    .expect("reason")
                    .contains("the first release"),
                "{rl07:#}"
            );
        }
    }
}

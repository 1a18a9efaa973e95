//! `trainyard notes` on a repository with every kind of entry.

use crate::support::TestRepo;

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        ".mailmap",
        "Ada Lovelace <ada@example.org> <ada@old.example.org>\n",
    );
    repo.commit("feat: first release");
    repo.tag("v1.4.0");
    repo.commit("feat(cli): add --json output (#14)\n\nEvery command prints one JSON document.");
    repo.commit("perf(walk): read each commit once");
    repo.commit("fix(parser): accept empty input\n\nFixes #9");
    repo.commit("feat(api)!: drop the v1 endpoints\n\nBREAKING CHANGE: the /v1 endpoints are gone\nMigration: call /v2 with the same payload");
    repo.commit(
        "refactor(config)!: rename `ttl` to `max_age`\n\nBREAKING CHANGE: the `ttl` key is gone",
    );
    repo.commit("refactor: old loader\n\nDeprecated: `load_v1` will be removed in 3.0.0\nReplacement: `load`");
    repo.commit("fix(auth): escape user names\n\nSecurity: CVE-2026-4242\nSeverity: high");
    repo.commit("fix(tls): reject short keys (CVE-2026-5151)");
    let author = |name: &str, email: &str| {
        repo.git(&[
            "-c",
            &format!("user.name={name}"),
            "-c",
            &format!("user.email={email}"),
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "fix: tidy\n\nCo-authored-by: Grace Hopper <grace@example.org>",
        ])
    };
    author("Ada (old laptop)", "ada@old.example.org");
    repo
}

fn handwritten(repo: &TestRepo) {
    repo.write(
        ".trainyard/notes/2.0.0.yaml",
        "highlights:\n  - The v2 API is the only API\nknown_issues:\n  - issue: Large exports are slow\n    workaround: Export per project\nupgrade_notes: Run `widget migrate` before starting 2.0.0.\nmigrations:\n  rename `ttl` to `max_age`: Rename the key in every config file\nsecurity:\n  CVE-2026-5151:\n    severity: medium\n",
    );
}

#[test]
fn markdown_follows_the_spec_template() {
    let repo = fixture();
    handwritten(&repo);
    let run = repo.run(&["notes", "--build-id", "ci-77", "--signed-by", "release-bot"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let head = repo.git(&["rev-parse", "HEAD"]);
    insta::assert_snapshot!(run.stdout().replace(&head, "[HEAD]"));
}

#[test]
fn yaml_follows_the_spec_schema() {
    let repo = fixture();
    handwritten(&repo);
    let run = repo.run(&["notes", "--format", "yaml"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let head = repo.git(&["rev-parse", "HEAD"]);
    insta::assert_snapshot!(run.stdout().replace(&head, "[HEAD]"));
}

#[test]
fn check_reports_what_is_missing_and_exits_1() {
    let repo = fixture();
    let run = repo.run(&["notes", "--check"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    insta::assert_snapshot!(run.stderr());
    handwritten(&repo);
    let complete = repo.run(&["notes", "--check"]);
    assert_eq!(complete.code(), 0, "{}", complete.transcript());
}

#[test]
fn a_tagged_release_is_read_from_its_range() {
    let repo = fixture();
    repo.tag("v2.0.0");
    repo.commit("fix: after the release");
    let json = repo.run(&["--json", "notes", "--version", "v2.0.0"]).json();
    let notes = &json["release_notes"];
    assert_eq!(notes["version"], "2.0.0");
    assert_eq!(notes["release_type"], "major");
    let fixes: Vec<&str> = notes["changes"]["bug_fixes"]
        .as_array()
        .expect("bug fixes")
        .iter()
        .filter_map(|f| f["description"].as_str())
        .collect();
    assert!(!fixes.contains(&"after the release"), "{fixes:?}");
    // .mailmap maps Ada's old address; co-authors are counted once.
    let contributors = notes["contributors"].to_string();
    assert!(contributors.contains("Ada Lovelace"), "{contributors}");
    assert!(!contributors.contains("old laptop"), "{contributors}");
    assert_eq!(contributors.matches("Grace Hopper").count(), 1);
}

#[test]
fn a_malformed_handwritten_file_names_line_and_key() {
    let repo = fixture();
    repo.write(
        ".trainyard/notes/2.0.0.yaml",
        "security:\n  CVE-2026-5151:\n    severity: apocalyptic\n",
    );
    let run = repo.run(&["notes"]);
    assert_eq!(run.code(), 2);
    insta::assert_snapshot!(run.stderr());
}

#[test]
fn a_user_template_replaces_the_built_in_one() {
    let repo = fixture();
    repo.write("trainyard.yaml", "notes:\n  template: notes.md.j2\n");
    repo.write(
        "notes.md.j2",
        "{{ tag }}: {{ release_notes.changes.features | length }} features\n",
    );
    let run = repo.run(&["notes"]);
    assert_eq!(run.stdout(), "v2.0.0: 1 features\n", "{}", run.transcript());
    repo.write("notes.md.j2", "line one\n{{ release_notes.nope.deeper }}\n");
    let broken = repo.run(&["notes"]);
    assert_eq!(broken.code(), 2, "{}", broken.transcript());
    assert!(
        broken.stderr().contains("notes.md.j2:2"),
        "{}",
        broken.transcript()
    );
}

#[test]
fn markdown_links_to_the_origin_forge() {
    let repo = TestRepo::new();
    repo.git(&["remote", "add", "origin", "git@github.com:acme/widget.git"]);
    repo.commit("feat: first release");
    repo.tag("v1.4.0");
    repo.commit("feat(cli): add --json output (#14)");
    let fix = repo.commit("fix(parser): accept empty input, see #3");
    repo.commit("fix: tidy\n\nFixes #9");
    let run = repo.run(&["notes", "--version", "1.5.0"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let out = run.stdout();
    let url = "https://github.com/acme/widget";
    assert!(out.contains(&format!("([#14]({url}/issues/14))")), "{out}");
    assert!(
        out.contains(&format!("**[#9]({url}/issues/9)**: tidy")),
        "{out}"
    );
    assert!(out.contains(&format!("see [#3]({url}/issues/3)")), "{out}");
    assert!(out.contains(&format!("/commit/{}", &fix[..10])), "{out}");
    assert!(
        out.contains(&format!(
            "**Full Changelog**: {url}/compare/v1.4.0...v1.5.0"
        )),
        "{out}"
    );
    let head = repo.git(&["rev-parse", "HEAD"]);
    insta::assert_snapshot!(out.replace(head.trim(), "[HEAD]"));
}

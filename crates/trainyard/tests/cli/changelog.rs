//! `trainyard changelog` on real repositories.

use std::collections::HashSet;

use crate::support::TestRepo;

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "changelog:\n  repository_url: https://example.org/acme/widget\n",
    );
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.commit("fix(parser): accept empty input (#12)\n\nFixes #9");
    repo.commit("feat(cli): add --json (#14)");
    repo.commit("docs: explain the cli");
    repo.tag("v1.1.0-rc.1");
    repo.commit("perf: cache the index");
    repo.tag("v1.1.0");
    let flaky = repo.commit("feat: flaky experiment");
    repo.commit(&format!(
        "Revert \"feat: flaky experiment\"\n\nThis reverts commit {flaky}."
    ));
    repo.commit("feat(api)!: drop the v1 endpoints\n\nBREAKING CHANGE: use /v2; run `widget migrate` to move stored queries");
    repo.commit("refactor: old loader\n\nDeprecated: `load_v1` will be removed in 3.0.0");
    repo.commit("fix(auth): escape names\n\nSecurity: CVE-2026-4242");
    repo.commit("Update README");
    repo.tag("v2.0.0");
    repo.commit("fix: after the release");
    repo
}

#[test]
fn all_releases_in_keep_a_changelog_format() {
    let repo = fixture();
    let run = repo.run(&["changelog", "--all"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    insta::assert_snapshot!(run.stdout());
}

#[test]
fn prereleases_get_sections_when_asked() {
    let repo = fixture();
    let json = repo
        .run(&["--json", "changelog", "--all", "--include-prereleases"])
        .json();
    let versions: Vec<String> = json["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| r["version"].as_str().unwrap_or("unreleased").to_owned())
        .collect();
    assert_eq!(
        versions,
        ["unreleased", "2.0.0", "1.1.0", "1.1.0-rc.1", "1.0.0"]
    );
    let folded = repo.run(&["--json", "changelog", "--all"]).json();
    assert_eq!(folded["releases"][2]["prereleases"][0], "v1.1.0-rc.1");
}

#[test]
fn write_owns_only_its_section_and_is_idempotent() {
    let repo = fixture();
    assert_eq!(repo.run(&["changelog", "--all", "--write"]).code(), 0);
    let path = repo.path().join("CHANGELOG.md");
    let first = std::fs::read_to_string(&path).expect("written");
    // A hand edit in an older section survives regeneration of the others.
    let edited = first.replace(
        "- **cli:** add --json (#14)",
        "- **cli:** add --json (#14), thanks to Ada!",
    );
    assert_ne!(edited, first);
    std::fs::write(&path, &edited).expect("edit");
    repo.commit("feat: more after the release");
    let run = repo.run(&["changelog", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let second = std::fs::read_to_string(&path).expect("read");
    assert!(second.contains("thanks to Ada!"));
    assert!(second.contains("- more after the release"));
    // Running it again changes nothing.
    let before = repo.tree_snapshot();
    let again = repo.run(&["changelog", "--write"]);
    assert!(
        again.stderr().contains("unchanged"),
        "{}",
        again.transcript()
    );
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
}

#[test]
fn releasing_an_untagged_version_moves_unreleased_into_it() {
    let repo = fixture();
    assert_eq!(repo.run(&["changelog", "--write"]).code(), 0);
    let run = repo.run(&["changelog", "--version", "2.0.1", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let text = std::fs::read_to_string(repo.path().join("CHANGELOG.md")).expect("read");
    let unreleased = text.find("## [Unreleased]").expect("unreleased heading");
    let release = text.find("## [2.0.1] - ").expect("release heading");
    assert!(unreleased < release);
    assert!(
        !text[unreleased..release].contains("after the release"),
        "{text}"
    );
    assert!(text[release..].contains("- after the release"));
    assert_eq!(repo.run(&["changelog", "--check", "2.0.1"]).code(), 0);
    assert_eq!(repo.run(&["changelog", "--check", "v9.9.9"]).code(), 1);
}

#[test]
fn a_version_that_is_neither_released_nor_next_is_refused() {
    let repo = fixture();
    // 2.0.1 is the next version; 9.9.9 and 2.0.99 are nothing at all.
    for version in ["9.9.9", "2.0.99", "2.1.0"] {
        let run = repo.run(&["changelog", "--version", version]);
        assert_eq!(run.code(), 2, "{version}: {}", run.transcript());
        assert_eq!(run.stdout(), "", "{version}");
        assert_eq!(
            run.stderr(),
            format!(
                "error: no release {version}: tag v{version} does not exist, no release of it is under way, and the next version is 2.0.1; `trainyard changelog --all` lists the releases\n"
            )
        );
    }
    // A released version and the next one are fine.
    assert_eq!(repo.run(&["changelog", "--version", "1.1.0"]).code(), 0);
    assert_eq!(repo.run(&["changelog", "--version", "2.0.1"]).code(), 0);
}

#[test]
fn a_written_changelog_has_the_mode_the_umask_gives() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |repo: &TestRepo| {
        std::fs::metadata(repo.path().join("CHANGELOG.md"))
            .expect("changelog")
            .permissions()
            .mode()
            & 0o777
    };
    for (umask, expected) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let repo = fixture();
        let run = repo.run_umask(umask, &["changelog", "--all", "--write"]);
        assert_eq!(run.code(), 0, "{}", run.transcript());
        assert_eq!(mode(&repo), expected, "umask {umask}");
    }
}

#[test]
fn write_dry_run_changes_nothing() {
    let repo = fixture();
    let before = repo.tree_snapshot();
    let run = repo.run(&["changelog", "--all", "--write", "--dry-run"]);
    assert_eq!(run.code(), 1, "changes pending: {}", run.transcript());
    assert!(run.stdout().starts_with("--- a/CHANGELOG.md"));
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
}

#[test]
fn check_without_a_changelog_file_fails() {
    let repo = fixture();
    let run = repo.run(&["changelog", "--check", "2.0.0"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("has no section for 2.0.0"));
}

#[test]
fn every_commit_lands_in_exactly_its_release() {
    let repo = TestRepo::new();
    let (dir, expected) = crate::generated_history::generate(&repo, 3000);
    let run = repo.run_in(&dir, &["--json", "changelog", "--all"], None);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let report = run.json();
    let releases = report["releases"].as_array().expect("releases");
    let mut seen = HashSet::new();
    let mut by_tag = std::collections::HashMap::new();
    for release in releases {
        let ids: HashSet<String> = release["commits"]
            .as_array()
            .expect("commits")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect();
        for id in &ids {
            assert!(seen.insert(id.clone()), "{id} appears twice");
        }
        if let Some(tag) = release["tag"].as_str() {
            by_tag.insert(
                tag.to_owned(),
                (release["previous_tag"].as_str().map(str::to_owned), ids),
            );
        }
    }
    let all = repo.git_in(&dir, &["rev-list", "--no-merges", "HEAD"]);
    assert_eq!(seen.len(), all.lines().count());
    assert_eq!(by_tag.len(), expected.len());
    for want in &expected {
        let (previous, ids) = &by_tag[&want.tag];
        let range = match previous {
            Some(p) => format!("{p}..{}", want.tag),
            None => want.tag.clone(),
        };
        let log: HashSet<String> = repo
            .git_in(&dir, &["log", "--no-merges", "--format=%H", &range])
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(&log, ids, "{}", want.tag);
    }
}

/// The `[label]: url` definition of `label` in a changelog, if any.
fn link_of<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let prefix = format!("[{label}]: ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
}

#[test]
fn releasing_an_untagged_version_links_the_tag_it_will_have() {
    let repo = fixture();
    let run = repo.run(&["changelog", "--version", "2.0.1", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let path = repo.path().join("CHANGELOG.md");
    let text = std::fs::read_to_string(&path).expect("read");
    let url = "https://example.org/acme/widget";
    let release_link = format!("{url}/compare/v2.0.0...v2.0.1");
    assert_eq!(
        link_of(&text, "2.0.1"),
        Some(release_link.as_str()),
        "{text}"
    );
    assert_eq!(
        link_of(&text, "unreleased"),
        Some(format!("{url}/compare/v2.0.1...HEAD").as_str()),
        "{text}"
    );
    // The JSON report names the same link.
    let json = repo
        .run(&["--json", "changelog", "--version", "2.0.1"])
        .json();
    assert_eq!(json["releases"][0]["compare_url"], release_link.as_str());
    // Once the tag is made, regenerating the section keeps its link.
    repo.tag("v2.0.1");
    let run = repo.run(&["changelog", "--version", "2.0.1", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let tagged = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        link_of(&tagged, "2.0.1"),
        Some(release_link.as_str()),
        "{tagged}"
    );
}

#[test]
fn releasing_the_first_version_links_the_tag_it_will_have() {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "changelog:\n  repository_url: https://example.org/acme/widget/\nversioning:\n  tag_prefix: widget-v\n",
    );
    repo.commit("feat: first release");
    let run = repo.run(&["changelog", "--version", "1.0.0", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let path = repo.path().join("CHANGELOG.md");
    let text = std::fs::read_to_string(&path).expect("read");
    let url = "https://example.org/acme/widget";
    let release_link = format!("{url}/releases/tag/widget-v1.0.0");
    assert_eq!(
        link_of(&text, "1.0.0"),
        Some(release_link.as_str()),
        "{text}"
    );
    assert_eq!(
        link_of(&text, "unreleased"),
        Some(format!("{url}/compare/widget-v1.0.0...HEAD").as_str()),
        "{text}"
    );
    repo.tag("widget-v1.0.0");
    assert_eq!(repo.run(&["changelog", "--all", "--write"]).code(), 0);
    let tagged = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        link_of(&tagged, "1.0.0"),
        Some(release_link.as_str()),
        "{tagged}"
    );
}

#[test]
fn release_rc_and_publish_link_the_release_tag() {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "changelog:\n  repository_url: https://example.org/acme/widget\nversioning:\n  tag_prefix: widget-v\nchecklist:\n  security_audit: \"true\"\n",
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.commit("feat: first release");
    repo.tag("widget-v1.0.0");
    repo.commit("feat(export): add csv export (#7)");
    let url = "https://example.org/acme/widget";
    let release_link = format!("{url}/compare/widget-v1.0.0...widget-v1.1.0");
    let unreleased_link = format!("{url}/compare/widget-v1.1.0...HEAD");
    let check = |rev: &str| {
        let text = repo.git(&["show", &format!("{rev}:CHANGELOG.md")]);
        assert_eq!(
            link_of(&text, "1.1.0"),
            Some(release_link.as_str()),
            "{rev}: {text}"
        );
        assert_eq!(
            link_of(&text, "unreleased"),
            Some(unreleased_link.as_str()),
            "{rev}: {text}"
        );
    };
    crate::support::ok(&repo, &["release", "start", "minor"]);
    crate::support::ok(&repo, &["release", "rc"]);
    check("release/widget-v1.1.0-rc.1");
    crate::support::sign_everything(&repo, "1.1.0");
    crate::support::ok(&repo, &["release", "validate"]);
    crate::support::ok(&repo, &["release", "publish"]);
    check("widget-v1.1.0");
}

/// A repository without `changelog.repository_url` whose `origin` is on a
/// forge: `#12` in `fix: ... (#12)`, `Fixes #9` and `!12` in the text.
fn on_forge(origin: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.git(&["remote", "add", "origin", origin]);
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.commit("fix(parser): accept empty input (#12)\n\nFixes #9");
    repo.commit("feat(cli): add --json, follow-up to !12");
    repo.tag("v1.1.0");
    repo.commit("feat: after the release (#13)");
    repo
}

#[test]
fn an_ssh_github_origin_links_commits_references_and_changes() {
    let repo = on_forge("git@github.com:acme/widget.git");
    let run = repo.run(&["changelog", "--all"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let out = run.stdout();
    let url = "https://github.com/acme/widget";
    let fix = repo.git(&["rev-parse", "v1.1.0~1"]);
    assert!(
        out.contains(&format!("[{}]({url}/commit/{fix})", &fix[..7])),
        "{out}"
    );
    assert!(out.contains(&format!("[#12]({url}/issues/12)")), "{out}");
    assert!(
        out.contains(&format!("fixes [#9]({url}/issues/9)")),
        "{out}"
    );
    // `!12` means nothing on GitHub.
    assert!(out.contains("follow-up to !12 ("), "{out}");
    assert!(
        out.contains(&format!("[1.1.0]: {url}/compare/v1.0.0...v1.1.0")),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_gitlab_https_origin_links_merge_requests_and_issues() {
    let repo = on_forge("https://gitlab.com/acme/group/widget.git");
    let run = repo.run(&["changelog", "--all"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let out = run.stdout();
    let url = "https://gitlab.com/acme/group/widget";
    let feat = repo.git(&["rev-parse", "v1.1.0^{commit}"]);
    assert!(
        out.contains(&format!("[{}]({url}/-/commit/{feat})", &feat[..7])),
        "{out}"
    );
    assert!(out.contains(&format!("[#12]({url}/-/issues/12)")), "{out}");
    assert!(
        out.contains(&format!("[!12]({url}/-/merge_requests/12)")),
        "{out}"
    );
    assert!(
        out.contains(&format!("[unreleased]: {url}/-/compare/v1.1.0...HEAD")),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_configured_url_wins_over_the_origin() {
    let repo = on_forge("git@github.com:acme/widget.git");
    repo.write(
        "trainyard.yaml",
        "changelog:\n  repository_url: https://gitlab.example.org/acme/widget\n  forge: gitlab\n",
    );
    let out = repo.run(&["changelog", "--all"]).stdout();
    assert!(!out.contains("github.com"), "{out}");
    assert!(
        out.contains("[1.1.0]: https://gitlab.example.org/acme/widget/-/compare/v1.0.0...v1.1.0"),
        "{out}"
    );
}

#[test]
fn an_origin_on_an_unknown_host_or_a_path_links_nothing() {
    let plain = on_forge("/srv/git/widget.git");
    let expected = {
        let repo = on_forge("git@git.example.com:acme/widget.git");
        repo.run(&["changelog", "--all"]).stdout()
    };
    let out = plain.run(&["changelog", "--all"]).stdout();
    assert_eq!(out, expected);
    assert!(!out.contains("/commit/"), "{out}");
    assert!(!out.contains("[unreleased]:"), "{out}");
}

//! `trainyard version ...` on real repositories.

use crate::support::{TestRepo, ok};

fn next_json(repo: &TestRepo, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "version", "next"];
    args.extend_from_slice(extra);
    let run = repo.run(&args);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    run.json()
}

#[test]
fn validate_reports_each_reason_and_exits_1() {
    let repo = TestRepo::new();
    let run = repo.run(&[
        "version",
        "validate",
        "1.2.3",
        "01.2.3",
        "1.2",
        "1.0.0-rc.1+build.5",
        "1.2.3-a..b",
    ]);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn validate_all_valid_exits_0() {
    let repo = TestRepo::new();
    assert_eq!(
        repo.run(&["version", "validate", "1.0.0", "2.0.0-beta.11"])
            .code(),
        0
    );
}

#[test]
fn compare_prints_the_order() {
    let repo = TestRepo::new();
    let order = |a: &str, b: &str| repo.run(&["version", "compare", a, b]).stdout();
    assert_eq!(order("1.0.0-alpha", "1.0.0-alpha.1"), "<\n");
    assert_eq!(order("1.0.0-beta.11", "1.0.0-beta.2"), ">\n");
    assert_eq!(order("1.0.0+a", "1.0.0+b"), "=\n");
    assert_eq!(order("1.0.0-rc.1", "1.0.0"), "<\n");
    let bad = repo.run(&["version", "compare", "1.0", "1.0.0"]);
    assert_eq!(bad.code(), 2);
    insta::assert_snapshot!(bad.stderr(), @"error: invalid version `1.0`: unexpected end of input while parsing minor version number
");
}

#[test]
fn sort_orders_by_precedence_and_reports_bad_lines() {
    let repo = TestRepo::new();
    let input = "1.0.0\n1.0.0-rc.1\n\n1.0.0-alpha\nnope\n1.0.0-beta.11\n1.0.0-beta.2\n0.9.0\n";
    let run = repo.run_in(&repo.path(), &["version", "sort"], Some(input));
    insta::assert_snapshot!(run.transcript());
    let clean = repo.run_in(
        &repo.path(),
        &["version", "sort"],
        Some("2.0.0\n1.0.0+b\n1.0.0+a\n"),
    );
    assert_eq!(clean.code(), 0);
    // Equal precedence keeps input order.
    assert_eq!(clean.stdout(), "1.0.0+b\n1.0.0+a\n2.0.0\n");
}

#[test]
fn next_decides_from_commits_since_the_last_release() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.1.0");
    repo.commit("fix: a bug");
    let fix = next_json(&repo, &[]);
    assert_eq!(fix["current"], "1.1.0");
    assert_eq!(fix["next"], "1.1.1");
    assert_eq!(fix["bump"], "patch");
    assert_eq!(fix["urgent"], false);
    let feat_id = repo.commit("feat(cli): new command");
    let feat = next_json(&repo, &[]);
    assert_eq!(feat["next"], "1.2.0");
    assert_eq!(feat["bump"], "minor");
    assert_eq!(feat["deciding"][0]["id"], feat_id.as_str());
    assert_eq!(feat["deciding"].as_array().map(Vec::len), Some(1));
    // stdout carries the version alone, for scripts.
    assert_eq!(repo.run(&["version", "next"]).stdout(), "1.2.0\n");
}

#[test]
fn prereleases_progress_and_finalize() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.1.0");
    repo.commit("feat: second");
    assert_eq!(next_json(&repo, &["--pre", "rc"])["next"], "1.2.0-rc.1");
    repo.tag("v1.2.0-rc.1");
    repo.commit("fix: blocker");
    assert_eq!(next_json(&repo, &["--pre", "rc"])["next"], "1.2.0-rc.2");
    assert_eq!(next_json(&repo, &[])["next"], "1.2.0");
    // Going from rc back to beta would go backwards.
    let run = repo.run(&["version", "next", "--pre", "beta"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    repo.tag("v1.2.0-rc.2");
    repo.commit("feat!: breaking during rc");
    let breaking = next_json(&repo, &["--pre", "rc"]);
    assert_eq!(breaking["next"], "2.0.0-rc.1");
    assert_eq!(breaking["bump"], "major");
}

#[test]
fn alpha_beta_rc_reset_the_counter() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat: more");
    repo.tag("v1.1.0-alpha.1");
    repo.commit("fix: x");
    repo.tag("v1.1.0-alpha.2");
    assert_eq!(next_json(&repo, &["--pre", "beta"])["next"], "1.1.0-beta.1");
    assert_eq!(
        next_json(&repo, &["--pre", "alpha"])["next"],
        "1.1.0-alpha.3"
    );
}

#[test]
fn build_metadata_is_appended() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: x");
    assert_eq!(
        next_json(&repo, &["--build", "ci.42"])["next"],
        "1.0.1+ci.42"
    );
    let bad = repo.run(&["version", "next", "--build", "a..b"]);
    assert_eq!(bad.code(), 2);
}

#[test]
fn empty_tag_prefix_reads_bare_versions() {
    let repo = TestRepo::new();
    repo.write("trainyard.yaml", "versioning:\n  tag_prefix: \"\"\n");
    repo.commit("feat: first");
    repo.tag("44.39.2");
    repo.commit("fix: x");
    let next = next_json(&repo, &[]);
    assert_eq!(next["current"], "44.39.2");
    assert_eq!(next["next"], "44.39.3");
    assert_eq!(next["next_tag"], "44.39.3");
}

#[test]
fn tags_that_are_not_versions_are_noted() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix: x");
    repo.tag("vfoo");
    repo.tag("release-candidate");
    let next = next_json(&repo, &[]);
    assert_eq!(next["current"], "1.0.0");
    let notes = next["notes"].to_string();
    assert!(
        notes.contains("tag `vfoo` ignored: not a version"),
        "{notes}"
    );
    assert!(notes.contains("tag `release-candidate` ignored"), "{notes}");
}

#[test]
fn no_tags_means_the_initial_version() {
    let repo = TestRepo::new();
    repo.commit("feat!: everything");
    let next = next_json(&repo, &[]);
    assert_eq!(next["current"], serde_json::Value::Null);
    assert_eq!(next["next"], "0.1.0");
    assert!(next["notes"].to_string().contains("initial version 0.1.0"));
}

#[test]
fn security_fixes_make_the_release_urgent() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("fix(parser): bounds check\n\nSecurity: CVE-2026-1234");
    let next = next_json(&repo, &[]);
    assert_eq!(next["bump"], "patch");
    assert_eq!(next["urgent"], true);
    assert_eq!(next["commits"][0]["cves"][0], "CVE-2026-1234");
}

#[test]
fn configured_rules_first_match_wins() {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "versioning:\n  bump_rules:\n    - { type: docs, scope: readme.md, bump: patch }\n    - { type: docs, bump: none }\n    - { type: chore, bump: none }\n",
    );
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("docs: guide");
    repo.commit("chore: tidy");
    let quiet = next_json(&repo, &[]);
    assert_eq!(quiet["bump"], "none");
    assert_eq!(quiet["release_needed"], false);
    assert_eq!(quiet["next"], serde_json::Value::Null);
    repo.commit("docs(README.md): fix link");
    assert_eq!(next_json(&repo, &[])["bump"], "patch");
}

#[test]
fn zero_major_option_bumps_minor_for_breaking_changes() {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "versioning:\n  zero_major_breaking_is_minor: true\n",
    );
    repo.commit("feat: first");
    repo.tag("v0.3.0");
    repo.commit("feat!: break");
    assert_eq!(next_json(&repo, &[])["next"], "0.4.0");
}

#[test]
fn nonconforming_commits_are_counted_and_listed() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("Update the thing");
    let next = next_json(&repo, &[]);
    assert_eq!(next["nonconforming"], 1);
    assert_eq!(next["bump"], "patch");
    assert_eq!(next["commits"][0]["reason"], "nonconforming");
}

#[test]
fn merge_commits_are_skipped_by_default() {
    let repo = TestRepo::new();
    repo.commit("fix: base");
    repo.tag("v1.0.0");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("fix: on topic");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("docs: on main");
    repo.git(&["merge", "-q", "--no-ff", "topic", "-m", "feat: merge topic"]);
    let next = next_json(&repo, &[]);
    // The merge's own message says feat, but merges are skipped.
    assert_eq!(next["bump"], "patch");
    let merge = next["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .find(|c| c["reason"] == "merge")
        .cloned();
    assert!(merge.is_some(), "{next}");
    repo.write("trainyard.yaml", "versioning:\n  include_merges: true\n");
    assert_eq!(next_json(&repo, &[])["bump"], "minor");
}

#[test]
fn history_checks_every_release() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v0.1.0");
    repo.commit("fix: x");
    repo.tag("v0.1.1");
    repo.commit("feat: y");
    repo.tag("v0.3.0");
    repo.commit("fix: z");
    let run = repo.run(&["version", "history", "--check"]);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn history_takes_the_first_release_as_it_is() {
    let repo = TestRepo::new();
    repo.commit("fix: first");
    repo.tag("v1.0.0");
    repo.commit("feat: x");
    repo.tag("v1.1.0");
    repo.commit("fix: y");
    repo.tag("v1.1.1");
    let run = repo.run(&["--json", "version", "history", "--check"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let report = run.json();
    let first = &report["releases"][0];
    assert_eq!(first["tag"], "v1.0.0");
    assert_eq!(first["bump"], "initial");
    assert_eq!(first["previous"], serde_json::Value::Null);
    assert_eq!(first["expected"], "1.0.0");
    assert_eq!(first["matches"], true);
    assert_eq!(report["releases"][1]["bump"], "minor");
    assert_eq!(report["releases"][2]["bump"], "patch");
    assert_eq!(report["mismatches"], 0);
    // Whatever the initial version says: it is for a repository without
    // tags, and later releases are still checked.
    repo.write("trainyard.yaml", "versioning:\n  initial_version: 0.1.0\n");
    repo.commit("feat: z");
    repo.tag("v1.1.2");
    let run = repo.run(&["version", "history", "--check"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    let stdout = run.stdout();
    assert!(stdout.contains("v1.0.0  initial        1  ok"), "{stdout}");
    assert!(
        stdout.contains("v1.1.2  minor          1  expected 1.2.0"),
        "{stdout}"
    );
}

#[test]
fn an_untagged_workspace_starts_from_its_highest_version_and_never_goes_back() {
    let repo = TestRepo::new();
    repo.write("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n");
    repo.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write(
        "b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
    );
    repo.commit("feat: first");
    let next = next_json(&repo, &[]);
    assert_eq!(next["next"], "0.2.0", "{next:#}");
    assert!(
        next["notes"].to_string().contains("b/Cargo.toml"),
        "{next:#}"
    );
    // b is never written from 0.2.0 back to 0.1.0.
    let bumped = repo.run(&["version", "bump"]);
    assert_eq!(bumped.code(), 0, "{}", bumped.transcript());
    let b = std::fs::read_to_string(repo.path().join("b/Cargo.toml")).expect("b");
    assert!(b.contains("version = \"0.2.0\""), "{b}");
    let a = std::fs::read_to_string(repo.path().join("a/Cargo.toml")).expect("a");
    assert!(a.contains("version = \"0.2.0\""), "{a}");
    repo.commit("chore: 0.2.0");
    let lower = repo.run(&["version", "bump", "--set", "0.1.5"]);
    assert_eq!(lower.code(), 2, "{}", lower.transcript());
    assert!(
        lower
            .stderr()
            .contains("carries 0.2.0, above 0.1.5: a manifest's version never goes backwards"),
        "{}",
        lower.stderr()
    );
}

#[test]
fn one_bump_writes_every_package_a_glob_names() {
    // vuejs/core's shape: one version for the root and every package.
    let repo = TestRepo::new();
    let names = [
        "compiler-core",
        "reactivity",
        "runtime-dom",
        "shared",
        "vue",
    ];
    repo.write(
        "package.json",
        "{\n  \"name\": \"root\",\n  \"version\": \"3.4.0\"\n}\n",
    );
    for name in names {
        repo.write(
            &format!("packages/{name}/package.json"),
            &format!("{{\n  \"name\": \"@vue/{name}\",\n  \"version\": \"3.4.0\"\n}}\n"),
        );
    }
    // Never reached into: a dependency's own manifest.
    let vendored = "{\n  \"name\": \"dep\",\n  \"version\": \"9.9.9\"\n}\n";
    repo.write("packages/vue/node_modules/dep/package.json", vendored);
    repo.write(
        "trainyard.yaml",
        "versioning:\n  manifests:\n    - { kind: npm, path: package.json }\n    - { kind: npm, path: \"packages/*/package.json\" }\n",
    );
    repo.commit("chore: packages");
    repo.tag("v3.4.0");
    repo.write("packages/shared/src.ts", "export {}\n");
    repo.commit("feat(shared): a helper");
    let run = repo.run(&["version", "bump"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let read = |path: &str| std::fs::read_to_string(repo.path().join(path)).expect("read");
    assert!(read("package.json").contains("\"version\": \"3.5.0\""));
    for name in names {
        let text = read(&format!("packages/{name}/package.json"));
        assert!(text.contains("\"version\": \"3.5.0\""), "{name}: {text}");
    }
    assert_eq!(read("packages/vue/node_modules/dep/package.json"), vendored);
    // A pattern that names nothing is an error that says so.
    repo.write(
        "trainyard.yaml",
        "versioning:\n  manifests:\n    - { kind: npm, path: \"libs/*/package.json\" }\n",
    );
    let run = repo.run(&["version", "bump", "--dry-run", "--allow-dirty"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr()
            .contains("`libs/*/package.json` matches no file"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_workspace_bump_keeps_cargo_lock_in_step() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    repo.write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"demo-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("crates/core/src/lib.rs", "");
    repo.write(
        "crates/cli/Cargo.toml",
        "[package]\nname = \"demo-cli\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndemo-core = { path = \"../core\", version = \"0.1.0\" }\n",
    );
    repo.write("crates/cli/src/lib.rs", "");
    repo.write(
        "trainyard.yaml",
        "versioning:\n  manifests:\n    - { kind: cargo }\n",
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let locked = |what: &str| {
        let out = std::process::Command::new(&cargo)
            .args([what, "--offline", "--quiet"])
            .args(if what == "metadata" {
                &["--locked", "--format-version", "1"][..]
            } else {
                &[][..]
            })
            .current_dir(repo.path())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    locked("generate-lockfile");
    repo.commit("feat: a workspace");
    repo.tag("v0.1.0");
    repo.write("crates/core/src/lib.rs", "pub fn x() {}\n");
    repo.commit("feat(core): x");
    let run = repo.run(&["version", "bump"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let lock = std::fs::read_to_string(repo.path().join("Cargo.lock")).expect("lock");
    assert!(
        lock.contains("name = \"demo-core\"\nversion = \"0.2.0\"")
            && lock.contains("name = \"demo-cli\"\nversion = \"0.2.0\""),
        "{lock}"
    );
    // Cargo agrees: the lock needs no update.
    locked("metadata");
}

#[test]
fn a_prefix_that_fewer_tags_follow_is_named_with_the_one_most_follow() {
    let repo = TestRepo::new();
    repo.write("README.md", "x\n");
    repo.commit("feat: start");
    repo.tag("v0.9.0");
    for (n, tag) in ["1.0.0", "1.1.0", "1.2.0"].iter().enumerate() {
        repo.write("README.md", &format!("x{n}\n"));
        repo.commit("feat: more");
        repo.tag(tag);
    }
    repo.write("README.md", "y\n");
    repo.commit("fix: a fix");
    let notes = ok(&repo, &["status", "--json"]).json()["notes"].clone();
    let notes: Vec<&str> = notes
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n.as_str().expect("text"))
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "3 tag(s) are `<version>` and 1 `v<version>`: set versioning.tag_prefix to \"\""
        )),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("tag `1.2.0` names a higher version")),
        "{notes:?}"
    );
}

//! A monorepo's life through the command line: one package of a Cargo
//! workspace released (its dependents' requirements and the lockfile
//! following), its dependents due, the release rolled back without
//! touching the other packages, and released again; an npm workspace's
//! bump with its lockfile; a fixed group of many packages bumped at once;
//! a scoped npm package released, rolled back by the hints it prints and
//! released again.

use std::path::Path;
use std::process::Command;

use crate::support::{TestRepo, ok};

const NOW: (&str, &str) = ("TRAINYARD_NOW", "2026-12-03T10:00:00Z");

fn file(repo: &TestRepo, path: &str) -> String {
    std::fs::read_to_string(repo.path().join(path)).expect(path)
}

fn run(repo: &TestRepo, args: &[&str]) -> crate::support::Run {
    let run = repo.run_env(args, &[NOW]);
    assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
    run
}

/// `cargo metadata --offline --locked` accepts the workspace: versions,
/// requirements and the lockfile agree.
fn cargo_accepts(dir: &Path) {
    #[allow(clippy::disallowed_methods)]
    let out = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(["metadata", "--offline", "--locked", "--format-version", "1"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Cargo workspace of four crates: b takes a through
/// `workspace.dependencies`, c through a path dependency with a version,
/// d stands alone.
fn cargo_workspace(repo: &TestRepo) {
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.dependencies]\na = { path = \"crates/a\", version = \"0.1.0\" }\n",
    );
    let member = |name: &str, deps: &str| {
        repo.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{deps}"
            ),
        );
        repo.write(&format!("crates/{name}/src/lib.rs"), "");
    };
    member("a", "");
    member("b", "\n[dependencies]\na.workspace = true\n");
    member(
        "c",
        "\n[dependencies]\na = { path = \"../a\", version = \"0.1.0\" }\n",
    );
    member("d", "");
    repo.write(
        "trainyard.yaml",
        "packages:\n  - name: a\n    path: crates/a\n  - name: b\n    path: crates/b\n  - name: c\n    path: crates/c\n  - name: d\n    path: crates/d\n\
         checklist:\n  security_audit: \"true\"\n",
    );
    repo.write(".gitignore", ".trainyard/\ntarget/\n");
    #[allow(clippy::disallowed_methods)]
    let lock = Command::new(env!("CARGO"))
        .current_dir(repo.path())
        .args(["generate-lockfile", "--offline"])
        .output()
        .expect("cargo runs");
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    repo.commit("chore: start the workspace");
    for name in ["a", "b", "c", "d"] {
        repo.tag(&format!("{name}-v0.1.0"));
    }
}

/// A package's release through every step, signed off as it needs.
fn release(repo: &TestRepo, package: &str, version: &str) {
    let with = |args: &[&str]| {
        let mut all = vec!["--package", package];
        all.extend(args);
        run(repo, &all)
    };
    with(&["release", "start"]);
    with(&["release", "rc"]);
    for (item, layer, by) in [
        ("review", Some("1"), "ada@example.org"),
        ("review", Some("2"), "grace@example.org"),
        ("RL-08", None, "ada@example.org"),
    ] {
        let mut args = vec!["signoff", version, "--item", item, "--by", by];
        if let Some(layer) = layer {
            args.extend(["--layer", layer]);
        }
        with(&args);
    }
    with(&["release", "validate"]);
    with(&["release", "publish"]);
    with(&["release", "post"]);
}

fn status(repo: &TestRepo) -> serde_json::Value {
    run(repo, &["status", "--json"]).json()
}

fn entry<'a>(status: &'a serde_json::Value, package: &str) -> &'a serde_json::Value {
    status["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["package"] == package)
        .expect(package)
}

#[test]
fn a_cargo_workspace_releases_one_package_rolls_it_back_and_releases_again() {
    let repo = TestRepo::new();
    cargo_workspace(&repo);
    repo.write("crates/a/src/lib.rs", "pub fn more() {}\n");
    repo.commit("feat(a): more of a");
    let untouched = |repo: &TestRepo| {
        (
            file(repo, "crates/b/Cargo.toml"),
            file(repo, "crates/d/Cargo.toml"),
            file(repo, "crates/d/src/lib.rs"),
        )
    };
    let before = untouched(&repo);

    // The dry run says what the bump writes, and writes nothing.
    let dry = repo.run_env(&["--package", "a", "version", "bump", "--dry-run"], &[NOW]);
    assert_eq!(dry.code(), 1, "changes pending: {}", dry.stderr());
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "crates/a/Cargo.toml",
        "crates/c/Cargo.toml",
    ] {
        assert!(
            dry.stdout().contains(&format!("+++ b/{path}")),
            "{path}: {}",
            dry.stdout()
        );
    }
    assert!(!dry.stdout().contains("crates/d/"), "{}", dry.stdout());

    release(&repo, "a", "0.2.0");
    assert!(file(&repo, "crates/a/Cargo.toml").contains("version = \"0.2.0\""));
    assert!(file(&repo, "Cargo.toml").contains("a = { path = \"crates/a\", version = \"0.2.0\" }"));
    assert!(file(&repo, "crates/c/Cargo.toml").contains("version = \"0.2.0\""));
    assert!(file(&repo, "Cargo.lock").contains("name = \"a\"\nversion = \"0.2.0\""));
    assert_eq!(
        untouched(&repo),
        before,
        "b's and d's files are byte-identical"
    );
    cargo_accepts(&repo.path());
    assert!(repo.git(&["tag", "-l", "a-v0.2.0"]).contains("a-v0.2.0"));

    // Its dependents are due a release for it; the others are not.
    let standing = status(&repo);
    for dependent in ["b", "c"] {
        let e = entry(&standing, dependent);
        assert_eq!(e["next"], "0.1.1", "{dependent}: {e}");
        assert_eq!(e["because"][0], "dependency a 0.1.0 → 0.2.0");
    }
    assert_eq!(entry(&standing, "a")["release_needed"], false);
    assert_eq!(entry(&standing, "d")["release_needed"], false);

    // The release is rolled back: a is back at 0.1.0 and its dependents'
    // requirements with it; b and d are untouched.
    // `rollback plan` exits 1: the plan changes something.
    let planned = repo.run_env(
        &[
            "--package",
            "a",
            "rollback",
            "plan",
            "--to",
            "0.1.0",
            "--json",
        ],
        &[NOW],
    );
    assert_eq!(planned.code(), 1, "{}", planned.stderr());
    let plan = planned.json();
    let id = plan["plan_id"].as_str().expect("plan id")[..16].to_owned();
    let rollback = repo.run_env(
        &[
            "--package",
            "a",
            "rollback",
            "start",
            &id,
            "--issue",
            "INC-1",
            "--severity",
            "critical",
            "--impact",
            "widespread",
            "--description",
            "a breaks c",
        ],
        &[NOW],
    );
    assert!(
        rollback.code() == 0 || rollback.code() == 1,
        "{}",
        rollback.stderr()
    );
    assert!(file(&repo, "crates/a/Cargo.toml").contains("version = \"0.1.0\""));
    assert!(file(&repo, "crates/c/Cargo.toml").contains("version = \"0.1.0\""));
    assert!(file(&repo, "Cargo.lock").contains("name = \"a\"\nversion = \"0.1.0\""));
    assert!(!file(&repo, "crates/a/src/lib.rs").contains("more"));
    assert_eq!(
        untouched(&repo),
        before,
        "b's and d's files are byte-identical"
    );
    cargo_accepts(&repo.path());

    // Fixed, a is released again: past the withdrawn version.
    repo.write(
        "crates/a/src/lib.rs",
        "pub fn more() {}\npub fn fixed() {}\n",
    );
    repo.commit("fix(a): more of a, fixed");
    let next = run(&repo, &["--package", "a", "version", "next"]);
    let version = next.stdout().trim().to_owned();
    assert!(
        version == "0.2.1" || version == "0.3.0",
        "{version}: {}",
        next.stderr()
    );
    release(&repo, "a", &version);
    assert!(file(&repo, "crates/c/Cargo.toml").contains(&format!("version = \"{version}\"")));
    cargo_accepts(&repo.path());
    assert_eq!(untouched(&repo), before);
    ok(&repo, &["evidence", "verify"]);
}

/// An npm workspace: b takes a by a caret range, c by `workspace:^`; the
/// lockfile is npm's shape (lockfileVersion 3).
fn npm_workspace(repo: &TestRepo) {
    repo.write(
        "package.json",
        "{\n  \"name\": \"root\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n",
    );
    let member = |name: &str, deps: &str| {
        repo.write(
            &format!("packages/{name}/package.json"),
            &format!("{{\n  \"name\": \"{name}\",\n  \"version\": \"0.1.0\"{deps}\n}}\n"),
        );
    };
    member("a", "");
    member("b", ",\n  \"dependencies\": {\n    \"a\": \"^0.1.0\"\n  }");
    member(
        "c",
        ",\n  \"dependencies\": {\n    \"a\": \"workspace:^\"\n  }",
    );
    member("d", "");
    repo.write(
        "package-lock.json",
        r#"{
  "name": "root",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "root",
      "workspaces": [
        "packages/*"
      ]
    },
    "node_modules/a": {
      "resolved": "packages/a",
      "link": true
    },
    "node_modules/b": {
      "resolved": "packages/b",
      "link": true
    },
    "node_modules/d": {
      "resolved": "packages/d",
      "link": true
    },
    "packages/a": {
      "version": "0.1.0"
    },
    "packages/b": {
      "version": "0.1.0",
      "dependencies": {
        "a": "^0.1.0"
      }
    },
    "packages/d": {
      "version": "0.1.0"
    }
  }
}
"#,
    );
    repo.write(
        "trainyard.yaml",
        "packages:\n  - name: a\n    path: packages/a\n  - name: b\n    path: packages/b\n  - name: c\n    path: packages/c\n  - name: d\n    path: packages/d\n\
         checklist:\n  security_audit: \"true\"\n",
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.commit("chore: start the workspace");
    for name in ["a", "b", "c", "d"] {
        repo.tag(&format!("{name}-v0.1.0"));
    }
}

#[test]
fn an_npm_workspace_bump_moves_the_package_its_dependents_and_the_lock() {
    let repo = TestRepo::new();
    npm_workspace(&repo);
    repo.write("packages/a/index.js", "module.exports = 2;\n");
    repo.commit("feat(a): two");
    let untouched = (
        file(&repo, "packages/c/package.json"),
        file(&repo, "packages/d/package.json"),
    );
    let bump = run(&repo, &["--package", "a", "version", "bump", "--json"]).json();
    assert_eq!(bump["version"], "0.2.0");
    let read =
        |path: &str| -> serde_json::Value { serde_json::from_str(&file(&repo, path)).expect(path) };
    assert_eq!(read("packages/a/package.json")["version"], "0.2.0");
    assert_eq!(
        read("packages/b/package.json")["dependencies"]["a"],
        "^0.2.0"
    );
    let lock = read("package-lock.json");
    assert_eq!(lock["packages"]["packages/a"]["version"], "0.2.0");
    assert_eq!(
        lock["packages"]["packages/b"]["dependencies"]["a"],
        "^0.2.0"
    );
    assert_eq!(lock["packages"]["packages/d"]["version"], "0.1.0");
    assert_eq!(
        (
            file(&repo, "packages/c/package.json"),
            file(&repo, "packages/d/package.json"),
        ),
        untouched,
        "`workspace:^` and the untouched package stay byte-identical"
    );
    // The bump is recorded as the package's, and its files are the plan's.
    let files: Vec<&str> = bump["plan"]["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        files,
        [
            "package-lock.json",
            "packages/a/package.json",
            "packages/b/package.json"
        ]
    );
    ok(&repo, &["evidence", "verify"]);
}

#[test]
fn a_fixed_group_of_many_packages_is_bumped_to_one_version() {
    let repo = TestRepo::new();
    let names = [
        "compiler-core",
        "compiler-dom",
        "compiler-sfc",
        "compiler-ssr",
        "reactivity",
        "runtime-core",
        "runtime-dom",
        "runtime-test",
        "server-renderer",
        "shared",
        "vue",
        "vue-compat",
    ];
    let mut config = String::from("packages:\n");
    for name in names {
        repo.write(
            &format!("packages/{name}/package.json"),
            &format!("{{\n  \"name\": \"@vue/{name}\",\n  \"version\": \"3.4.0\"\n}}\n"),
        );
        config.push_str(&format!("  - name: {name}\n    path: packages/{name}\n"));
    }
    config.push_str(&format!(
        "groups:\n  - name: core\n    kind: fixed\n    members: [{}]\n    tag_format: \"v{{version}}\"\n    manifests:\n      - {{ kind: npm, path: package.json }}\n",
        names.join(", ")
    ));
    repo.write(
        "package.json",
        "{\n  \"name\": \"core\",\n  \"version\": \"3.4.0\",\n  \"private\": true\n}\n",
    );
    repo.write("trainyard.yaml", &config);
    repo.commit("chore: v3.4.0");
    repo.tag("v3.4.0");
    repo.write("packages/reactivity/src/index.ts", "export {}\n");
    repo.commit("fix(reactivity): a fix");
    // A member names its group; the group releases as one.
    let next = run(&repo, &["--package", "reactivity", "version", "next"]);
    assert_eq!(next.stdout().trim(), "3.4.1");
    run(&repo, &["--package", "core", "version", "bump"]);
    for name in names {
        let text = file(&repo, &format!("packages/{name}/package.json"));
        assert!(text.contains("\"version\": \"3.4.1\""), "{name}: {text}");
    }
    assert!(file(&repo, "package.json").contains("\"version\": \"3.4.1\""));
    let standing = status(&repo);
    assert_eq!(standing["packages"].as_array().expect("packages").len(), 1);
    assert_eq!(entry(&standing, "core")["next_tag"], "v3.4.1");
}

#[test]
fn an_npm_workspace_releases_one_package_and_its_dependents_follow() {
    let repo = TestRepo::new();
    npm_workspace(&repo);
    repo.write("packages/a/index.js", "module.exports = 2;\n");
    repo.commit("feat(a): two");
    let untouched = (
        file(&repo, "packages/c/package.json"),
        file(&repo, "packages/d/package.json"),
    );
    release(&repo, "a", "0.2.0");
    assert!(repo.git(&["tag", "-l", "a-v0.2.0"]).contains("a-v0.2.0"));
    let read =
        |path: &str| -> serde_json::Value { serde_json::from_str(&file(&repo, path)).expect(path) };
    assert_eq!(read("packages/a/package.json")["version"], "0.2.0");
    assert_eq!(
        read("packages/b/package.json")["dependencies"]["a"],
        "^0.2.0"
    );
    let lock = read("package-lock.json");
    assert_eq!(lock["packages"]["packages/a"]["version"], "0.2.0");
    assert_eq!(
        lock["packages"]["packages/b"]["dependencies"]["a"],
        "^0.2.0"
    );
    assert_eq!(
        (
            file(&repo, "packages/c/package.json"),
            file(&repo, "packages/d/package.json"),
        ),
        untouched
    );
    assert!(file(&repo, "packages/a/CHANGELOG.md").contains("## [0.2.0]"));
    let standing = status(&repo);
    for dependent in ["b", "c"] {
        assert_eq!(
            entry(&standing, dependent)["because"][0],
            "dependency a 0.1.0 → 0.2.0",
            "{dependent}"
        );
    }
    assert_eq!(entry(&standing, "d")["release_needed"], false);
    let next = run(&repo, &["--package", "b", "version", "next", "--json"]).json();
    assert_eq!(next["package"], "b");
    assert_eq!(next["next"], "0.1.1");
}

/// A workspace of scoped npm packages tagged `@acme/lexer@1.0.0`, as
/// changesets and lerna tag them.
fn scoped_npm_workspace(repo: &TestRepo) {
    repo.write(
        "package.json",
        "{\n  \"name\": \"root\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n",
    );
    repo.write(
        "packages/lexer/package.json",
        "{\n  \"name\": \"@acme/lexer\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    repo.write(
        "packages/cli/package.json",
        "{\n  \"name\": \"@acme/cli\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": { \"@acme/lexer\": \"^1.0.0\" }\n}\n",
    );
    repo.write("packages/lexer/index.js", "module.exports = 1;\n");
    repo.write(
        "trainyard.yaml",
        "packages:\n  - { name: \"@acme/cli\", path: packages/cli, tag_format: \"{name}@{version}\" }\n  \
         - { name: \"@acme/lexer\", path: packages/lexer, tag_format: \"{name}@{version}\" }\n\
         checklist:\n  security_audit: \"true\"\n",
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.commit("chore: start the workspace");
    repo.tag("@acme/cli@1.0.0");
    repo.tag("@acme/lexer@1.0.0");
}

#[test]
fn a_scoped_npm_package_releases_rolls_back_by_its_hints_and_releases_again() {
    let repo = TestRepo::new();
    scoped_npm_workspace(&repo);
    repo.write("packages/lexer/index.js", "module.exports = 2;\n");
    repo.commit("feat(lexer): tokens with spans");
    release(&repo, "@acme/lexer", "1.1.0");
    assert!(
        repo.git(&["tag", "-l", "@acme/lexer@1.1.0"])
            .contains("1.1.0")
    );
    let cli = |repo: &TestRepo| -> serde_json::Value {
        serde_json::from_str(&file(repo, "packages/cli/package.json")).expect("cli manifest")
    };
    assert_eq!(cli(&repo)["dependencies"]["@acme/lexer"], "^1.1.0");

    // The plan names the dependent's manifest it rewrites, and the
    // command that carries it out names the package.
    let planned = repo.run_env(
        &[
            "--package",
            "@acme/lexer",
            "rollback",
            "plan",
            "--to",
            "1.0.0",
        ],
        &[NOW],
    );
    assert_eq!(planned.code(), 1, "{}", planned.stderr());
    assert!(
        planned
            .stdout()
            .contains("rewrite packages/cli/package.json (requirements back to 1.0.0)"),
        "{}",
        planned.stdout()
    );
    let next = planned
        .stderr()
        .lines()
        .find_map(|l| l.strip_prefix("next  "))
        .expect("a next command")
        .to_owned();
    assert!(
        next.starts_with("trainyard --package @acme/lexer rollback start "),
        "{next}"
    );
    let id = next.split_whitespace().nth(5).expect("plan id").to_owned();
    let started = repo.run_env(
        &[
            "--package",
            "@acme/lexer",
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
            "spans off by one",
            "--json",
        ],
        &[NOW],
    );
    assert!(
        started.code() == 0 || started.code() == 1,
        "{}",
        started.stderr()
    );
    let report = started.json();
    let rollback_id = report["rollback_id"].as_str().expect("id");
    assert!(
        rollback_id.starts_with("rb-acme-lexer-1.1.0-"),
        "{rollback_id}"
    );
    assert_eq!(cli(&repo)["dependencies"]["@acme/lexer"], "^1.0.0");

    // Every pending sign-off's hint is a command that works as written.
    let hints: Vec<String> = report["checklist"]
        .as_array()
        .expect("checklist")
        .iter()
        .filter_map(|row| row["detail"].as_str())
        .filter_map(|d| d.strip_prefix("`trainyard ")?.strip_suffix('`'))
        .filter(|c| c.contains(" signoff "))
        .map(str::to_owned)
        .collect();
    assert!(!hints.is_empty(), "{report}");
    for hint in hints {
        let mut args: Vec<&str> = hint.split_whitespace().collect();
        args.extend(["--by", "ada@example.org"]);
        ok(&repo, &args);
    }

    // Fixed, it is released past the withdrawn version.
    repo.write("packages/lexer/index.js", "module.exports = 3;\n");
    repo.commit("fix(lexer): span ends are exclusive");
    let version = run(&repo, &["--package", "@acme/lexer", "version", "next"])
        .stdout()
        .trim()
        .to_owned();
    assert_eq!(version, "1.1.1");
    release(&repo, "@acme/lexer", &version);
    assert_eq!(cli(&repo)["dependencies"]["@acme/lexer"], "^1.1.1");
    ok(&repo, &["evidence", "verify"]);
}

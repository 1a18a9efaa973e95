//! Tests of the requirements between a monorepo's packages and of
//! several packages bumped at once, on real temporary directories.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use super::*;
use crate::ErrorKind;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn ver(s: &str) -> semver::Version {
    semver::Version::parse(s).unwrap()
}

fn cargo(path: &str) -> ManifestSpec {
    ManifestSpec::Cargo { path: path.into() }
}

fn npm(path: &str) -> ManifestSpec {
    ManifestSpec::Npm { path: path.into() }
}

fn pyproject(path: &str) -> ManifestSpec {
    ManifestSpec::Pyproject { path: path.into() }
}

fn bump(specs: Vec<ManifestSpec>, version: &str) -> PackageBump {
    PackageBump {
        specs,
        version: ver(version),
    }
}

fn edit<'p>(plan: &'p BumpPlan, path: &str) -> &'p FileEdit {
    plan.edits
        .iter()
        .find(|e| e.path == Path::new(path))
        .unwrap_or_else(|| panic!("no edit of {path}: {:?}", plan.paths()))
}

/// The number of lines that differ between `before` and `after`.
fn changed(e: &FileEdit) -> usize {
    e.unified_diff()
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count()
}

const WS: &str = r#"[workspace]
members = ["crates/*"]
resolver = "2"

[workspace.dependencies]
a = { path = "crates/a", version = "0.2.0" } # internal
"#;

fn crate_toml(name: &str, version: &str, deps: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"
    )
}

fn cargo_workspace(root: &Path) {
    write(root, "Cargo.toml", WS);
    write(root, "crates/a/Cargo.toml", &crate_toml("a", "0.2.0", ""));
    write(
        root,
        "crates/b/Cargo.toml",
        &crate_toml("b", "0.1.0", "a.workspace = true\n"),
    );
    write(
        root,
        "crates/c/Cargo.toml",
        &crate_toml("c", "0.1.0", "a = { path = \"../a\", version = \"0.2\" }\n"),
    );
    write(root, "crates/d/Cargo.toml", &crate_toml("d", "0.5.0", ""));
    for name in ["a", "b", "c", "d"] {
        write(root, &format!("crates/{name}/src/lib.rs"), "");
    }
}

fn cargo_command(root: &Path, args: &[&str]) -> std::process::Output {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(program)
        .args(args)
        .current_dir(root)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap()
}

fn cargo_others() -> Vec<ManifestSpec> {
    vec![
        cargo("Cargo.toml"),
        cargo("crates/b/Cargo.toml"),
        cargo("crates/c/Cargo.toml"),
        cargo("crates/d/Cargo.toml"),
    ]
}

#[test]
fn cargo_workspace_bump_of_one_member() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cargo_workspace(root);
    let made = cargo_command(root, &["generate-lockfile", "--offline"]);
    assert!(made.status.success(), "{made:?}");
    let lock = read(root, "Cargo.lock");

    assert_eq!(
        declared_names(root, &cargo_others()).unwrap(),
        vec!["b", "c", "d"]
    );
    let deps = dependencies_on(root, &cargo_others(), &["a".to_owned()]).unwrap();
    let found: Vec<(String, &str, &str)> = deps
        .iter()
        .map(|d| {
            (
                display_path(&d.manifest),
                d.key.as_str(),
                d.requirement.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("Cargo.toml".into(), "workspace.dependencies.a", "0.2.0"),
            ("crates/c/Cargo.toml".into(), "dependencies.a", "0.2"),
        ]
    );

    let plan = plan_package_bumps(
        root,
        &[bump(vec![cargo("crates/a/Cargo.toml")], "0.3.0")],
        &cargo_others(),
    )
    .unwrap();
    assert_eq!(plan.version, "0.3.0");
    assert_eq!(
        plan.paths(),
        [
            "Cargo.lock",
            "Cargo.toml",
            "crates/a/Cargo.toml",
            "crates/c/Cargo.toml"
        ]
        .map(std::path::PathBuf::from)
    );
    assert_eq!(
        edit(&plan, "Cargo.toml").after,
        WS.replace("version = \"0.2.0\"", "version = \"0.3.0\"")
    );
    assert_eq!(
        edit(&plan, "crates/c/Cargo.toml").after,
        crate_toml(
            "c",
            "0.1.0",
            "a = { path = \"../a\", version = \"0.3.0\" }\n"
        )
    );
    assert_eq!(
        edit(&plan, "Cargo.lock").after,
        lock.replace(
            "name = \"a\"\nversion = \"0.2.0\"",
            "name = \"a\"\nversion = \"0.3.0\""
        )
    );
    for e in &plan.edits {
        assert_eq!(changed(e), 1, "{}", e.unified_diff());
    }

    apply(root, &plan).unwrap();
    let meta = cargo_command(
        root,
        &["metadata", "--offline", "--locked", "--format-version", "1"],
    );
    assert!(meta.status.success(), "{meta:?}");
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    let versions: Vec<(&str, &str)> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert!(versions.contains(&("a", "0.3.0")), "{versions:?}");
    assert!(versions.contains(&("d", "0.5.0")), "{versions:?}");
}

const NPM_LOCK: &str = r#"{
  "name": "root",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "root",
      "version": "1.0.0",
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
    "node_modules/c": {
      "resolved": "packages/c",
      "link": true
    },
    "node_modules/d": {
      "resolved": "packages/d",
      "link": true
    },
    "packages/a": {
      "version": "0.2.0"
    },
    "packages/b": {
      "version": "1.0.0",
      "dependencies": {
        "a": "^0.2.0"
      }
    },
    "packages/c": {
      "version": "1.0.0",
      "dependencies": {
        "a": "workspace:^"
      }
    },
    "packages/d": {
      "version": "1.0.0"
    }
  }
}
"#;

const NPM_B: &str = "{\n  \"name\": \"b\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"a\": \"^0.2.0\"\n  }\n}\n";

fn npm_workspace(root: &Path) {
    write(
        root,
        "package.json",
        "{\n  \"name\": \"root\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n",
    );
    write(
        root,
        "packages/a/package.json",
        "{\n\t\"name\": \"a\",\n\t\"version\": \"0.2.0\"\n}\n",
    );
    write(root, "packages/b/package.json", NPM_B);
    write(
        root,
        "packages/c/package.json",
        "{\n  \"name\": \"c\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"a\": \"workspace:^\"\n  }\n}\n",
    );
    write(
        root,
        "packages/d/package.json",
        "{\n  \"name\": \"d\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    write(root, "package-lock.json", NPM_LOCK);
}

fn npm_others() -> Vec<ManifestSpec> {
    vec![
        npm("package.json"),
        npm("packages/b/package.json"),
        npm("packages/c/package.json"),
        npm("packages/d/package.json"),
    ]
}

#[test]
fn npm_workspace_bump_updates_dependents_and_package_lock() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    npm_workspace(root);
    let plan = plan_package_bumps(
        root,
        &[bump(vec![npm("packages/a/package.json")], "0.3.0")],
        &npm_others(),
    )
    .unwrap();
    assert_eq!(
        plan.paths(),
        [
            "package-lock.json",
            "packages/a/package.json",
            "packages/b/package.json"
        ]
        .map(std::path::PathBuf::from)
    );
    assert_eq!(
        edit(&plan, "packages/a/package.json").after,
        "{\n\t\"name\": \"a\",\n\t\"version\": \"0.3.0\"\n}\n"
    );
    assert_eq!(
        edit(&plan, "packages/b/package.json").after,
        NPM_B.replace("^0.2.0", "^0.3.0")
    );
    let lock_edit = edit(&plan, "package-lock.json");
    assert_eq!(changed(lock_edit), 2, "{}", lock_edit.unified_diff());
    let lock: serde_json::Value = serde_json::from_str(&lock_edit.after).unwrap();
    assert_eq!(lock["packages"]["packages/a"]["version"], "0.3.0");
    assert_eq!(
        lock["packages"]["packages/b"]["dependencies"]["a"],
        "^0.3.0"
    );
    assert_eq!(
        lock["packages"]["packages/c"]["dependencies"]["a"],
        "workspace:^"
    );
    assert_eq!(lock["version"], "1.0.0");

    apply(root, &plan).unwrap();
    // npm itself reads no `workspace:` range, so c is left out of its check.
    if Command::new("npm").arg("--version").output().is_ok() {
        for name in ["a", "b", "c", "d"] {
            std::fs::create_dir_all(root.join("node_modules")).unwrap();
            std::os::unix::fs::symlink(
                format!("../packages/{name}"),
                root.join("node_modules").join(name),
            )
            .unwrap();
        }
        let ls = Command::new("npm")
            .args(["ls", "--offline", "-w", "a", "-w", "b", "-w", "d"])
            .current_dir(root)
            .output()
            .unwrap();
        assert!(ls.status.success(), "{ls:?}");
    }
}

#[test]
fn npm_root_and_member_bumped_together() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    npm_workspace(root);
    let plan = plan_package_bumps(
        root,
        &[
            bump(vec![npm("packages/a/package.json")], "0.3.0"),
            bump(vec![npm("package.json")], "1.1.0"),
        ],
        &npm_others()[1..],
    )
    .unwrap();
    assert_eq!(plan.version, "0.3.0, 1.1.0");
    let lock: serde_json::Value =
        serde_json::from_str(&edit(&plan, "package-lock.json").after).unwrap();
    assert_eq!(lock["version"], "1.1.0");
    assert_eq!(lock["packages"][""]["version"], "1.1.0");
    assert_eq!(lock["packages"]["packages/a"]["version"], "0.3.0");
    assert_eq!(changed(edit(&plan, "package-lock.json")), 4);

    write(
        root,
        "package-lock.json",
        "{\n  \"lockfileVersion\": 1,\n  \"dependencies\": {}\n}\n",
    );
    let err = plan_package_bumps(
        root,
        &[bump(vec![npm("packages/a/package.json")], "0.3.0")],
        &npm_others(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.to_string()
            .starts_with("package-lock.json: lockfileVersion 1 is not supported"),
        "{err}"
    );
}

const PNPM_LOCK: &str = "lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .: {}

  packages/a: {}

  packages/b:
    dependencies:
      '@x/a':
        specifier: ^0.2.0
        version: link:../a

  packages/c:
    devDependencies:
      '@x/a':
        specifier: workspace:^0.2.0
        version: link:../a

  packages/d:
    dependencies:
      '@x/a':
        specifier: workspace:*
        version: link:../a
";

#[test]
fn pnpm_lock_specifiers_follow_the_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "package.json",
        "{\n  \"name\": \"root\",\n  \"private\": true\n}\n",
    );
    write(root, "pnpm-workspace.yaml", "packages:\n  - packages/*\n");
    write(
        root,
        "packages/a/package.json",
        "{\n  \"name\": \"@x/a\",\n  \"version\": \"0.2.0\"\n}\n",
    );
    for (name, kind, range) in [
        ("b", "dependencies", "^0.2.0"),
        ("c", "devDependencies", "workspace:^0.2.0"),
        ("d", "dependencies", "workspace:*"),
    ] {
        write(
            root,
            &format!("packages/{name}/package.json"),
            &format!(
                "{{\n  \"name\": \"{name}\",\n  \"version\": \"1.0.0\",\n  \"{kind}\": {{\n    \"@x/a\": \"{range}\"\n  }}\n}}\n"
            ),
        );
    }
    write(root, "pnpm-lock.yaml", PNPM_LOCK);
    let others = [npm("package.json"), npm("packages/[bcd]/package.json")];
    let deps = dependencies_on(root, &others, &["@x/a".to_owned()]).unwrap();
    assert_eq!(
        deps.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        [
            "dependencies.@x/a",
            "devDependencies.@x/a",
            "dependencies.@x/a"
        ]
    );
    let plan = plan_package_bumps(
        root,
        &[bump(vec![npm("packages/a/package.json")], "0.3.0")],
        &others,
    )
    .unwrap();
    assert_eq!(
        plan.paths(),
        [
            "packages/a/package.json",
            "packages/b/package.json",
            "packages/c/package.json",
            "pnpm-lock.yaml"
        ]
        .map(std::path::PathBuf::from)
    );
    assert!(
        edit(&plan, "packages/c/package.json")
            .after
            .contains("\"@x/a\": \"workspace:^0.3.0\"")
    );
    let lock = edit(&plan, "pnpm-lock.yaml");
    assert_eq!(
        lock.after,
        PNPM_LOCK
            .replace("specifier: ^0.2.0", "specifier: ^0.3.0")
            .replace("specifier: workspace:^0.2.0", "specifier: workspace:^0.3.0")
    );
    let parsed: serde_json::Value = crate::yaml::parse(&lock.after, Path::new("x")).unwrap();
    let importers = &parsed["importers"];
    assert_eq!(
        importers["packages/b"]["dependencies"]["@x/a"]["specifier"],
        "^0.3.0"
    );
    assert_eq!(
        importers["packages/b"]["dependencies"]["@x/a"]["version"],
        "link:../a"
    );
    assert_eq!(
        importers["packages/d"]["dependencies"]["@x/a"]["specifier"],
        "workspace:*"
    );
}

const PY_APP: &str = r#"[project]
name = "app"
version = "1.0.0"
dependencies = [
    "Core.Lib >= 0.2.0",
    "requests>=2",
    "core_lib>=0.1,<1",
]

[project.optional-dependencies]
test = ['core-lib[extra]==0.2.0; python_version >= "3.8"']
"#;

const PY_TOOL: &str = r#"[tool.poetry]
name = "tool"
version = "1.0.0"

[tool.poetry.dependencies]
python = "^3.9"
core-lib = { version = "^0.2.0", path = "../core" }
"#;

#[test]
fn pyproject_requirements_follow_the_bump() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "core/pyproject.toml",
        "[project]\nname = \"core_lib\"\nversion = \"0.2.0\"\n",
    );
    write(root, "app/pyproject.toml", PY_APP);
    write(root, "tool/pyproject.toml", PY_TOOL);
    let others = [
        pyproject("app/pyproject.toml"),
        pyproject("tool/pyproject.toml"),
    ];
    assert_eq!(declared_names(root, &others).unwrap(), ["app", "tool"]);
    let deps = dependencies_on(root, &others, &["core-lib".to_owned()]).unwrap();
    assert_eq!(
        deps.iter()
            .map(|d| (d.key.as_str(), d.requirement.as_str()))
            .collect::<Vec<_>>(),
        [
            ("project.dependencies[0]", ">= 0.2.0"),
            ("project.dependencies[2]", ">=0.1,<1"),
            ("project.optional-dependencies.test[0]", "==0.2.0"),
            ("tool.poetry.dependencies.core-lib", "^0.2.0"),
        ]
    );
    let plan = plan_package_bumps(
        root,
        &[bump(vec![pyproject("core/pyproject.toml")], "0.3.0")],
        &others,
    )
    .unwrap();
    assert_eq!(
        edit(&plan, "app/pyproject.toml").after,
        PY_APP
            .replace("Core.Lib >= 0.2.0", "Core.Lib >= 0.3.0")
            .replace("[extra]==0.2.0", "[extra]==0.3.0")
    );
    assert_eq!(
        edit(&plan, "tool/pyproject.toml").after,
        PY_TOOL.replace("^0.2.0", "^0.3.0")
    );
    assert_eq!(plan.edits.len(), 3);
}

#[test]
fn malformed_dependent_and_unrewritable_requirement_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    npm_workspace(root);
    write(
        root,
        "packages/d/package.json",
        "{\n  \"name\": \"d\",\n  \"version\": \"1.0.0\",\n}\n",
    );
    let a = || [bump(vec![npm("packages/a/package.json")], "0.3.0")];
    let err = plan_package_bumps(root, &a(), &npm_others()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.to_string()
            .starts_with("packages/d/package.json: line 4, column 1: invalid JSON"),
        "{err}"
    );

    write(
        root,
        "packages/d/package.json",
        "{\n  \"name\": \"d\",\n  \"version\": \"1.0.0\",\n  \"peerDependencies\": {\n    \"a\": \">=0.1.0 <0.3.0\"\n  }\n}\n",
    );
    let err = plan_package_bumps(root, &a(), &npm_others()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "packages/d/package.json: line 5: peerDependencies.a requirement \">=0.1.0 <0.3.0\" on a does not admit 0.3.0 and is not a single version to rewrite"
    );
    // One that admits the new version stays as written.
    write(
        root,
        "packages/d/package.json",
        "{\n  \"name\": \"d\",\n  \"peerDependencies\": {\n    \"a\": \">=0.1.0 <1.0.0 || 2\"\n  }\n}\n",
    );
    let plan = plan_package_bumps(root, &a(), &npm_others()).unwrap();
    assert!(!plan.paths().contains(&"packages/d/package.json".into()));

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    cargo_workspace(root);
    write(
        root,
        "crates/c/Cargo.toml",
        &crate_toml("c", "0.1.0", "a = { path = \"../a\", version = \"0.2\"\n"),
    );
    let err = plan_package_bumps(
        root,
        &[bump(vec![cargo("crates/a/Cargo.toml")], "0.3.0")],
        &[cargo("crates/c/Cargo.toml")],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("crates/c/Cargo.toml: line 7, column"),
        "{err}"
    );
}

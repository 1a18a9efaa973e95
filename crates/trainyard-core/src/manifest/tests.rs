//! Tests of the manifests module, on real temporary directories.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

fn version_file(path: &str) -> ManifestSpec {
    ManifestSpec::VersionFile { path: path.into() }
}

fn regex(path: &str, pattern: &str) -> ManifestSpec {
    ManifestSpec::Regex(RegexManifest {
        path: path.into(),
        pattern: pattern.into(),
    })
}

/// The number of removed and added lines of a unified diff.
fn changed_lines(diff: &str) -> (usize, usize) {
    let removed = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    let added = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    (removed, added)
}

/// A hash of every file's path and bytes under `root`.
fn tree_hash(root: &Path) -> String {
    fn walk(dir: &Path, root: &Path, hasher: &mut Sha256) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            hasher.update(rel.as_bytes());
            hasher.update([0]);
            if path.is_dir() {
                walk(&path, root, hasher);
            } else {
                let meta = std::fs::metadata(&path).unwrap();
                hasher.update(format!("{:?}", meta.modified().unwrap()).as_bytes());
                hasher.update(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut hasher = Sha256::new();
    walk(root, root, &mut hasher);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn single_edit(plan: &BumpPlan) -> &FileEdit {
    assert_eq!(plan.edits.len(), 1, "edits: {:?}", plan.paths());
    &plan.edits[0]
}

fn input_message(err: Error) -> String {
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
    err.to_string()
}

const CARGO_PACKAGE: &str = r#"[package]
name = "demo"
version = "0.1.0" # released by trainyard
edition = "2021"
description = "a demo"

[dependencies]
serde = { version = "1", features = ["derive"] }
"#;

#[test]
fn cargo_package_bump_changes_one_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", CARGO_PACKAGE);
    let plan = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("0.2.0")).unwrap();
    let edit = single_edit(&plan);
    assert_eq!(edit.path, PathBuf::from("Cargo.toml"));
    assert_eq!(edit.before, CARGO_PACKAGE);
    assert_eq!(
        edit.after,
        CARGO_PACKAGE.replace(r#"version = "0.1.0""#, r#"version = "0.2.0""#)
    );
    let diff = plan.unified_diff();
    assert!(
        diff.starts_with("--- a/Cargo.toml\n+++ b/Cargo.toml\n@@ "),
        "{diff}"
    );
    assert_eq!(changed_lines(&diff), (1, 1), "{diff}");
    assert!(diff.contains("-version = \"0.1.0\" # released by trainyard\n"));
    assert!(diff.contains("+version = \"0.2.0\" # released by trainyard\n"));
    assert!(plan.notes.is_empty());
}

#[test]
fn toml_crlf_and_literal_quotes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let before = "[package]\r\nname = 'demo'\r\nversion = '0.1.0'\r\n";
    write(dir.path(), "Cargo.toml", before);
    let plan = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("1.0.0-rc.1")).unwrap();
    assert_eq!(
        single_edit(&plan).after,
        "[package]\r\nname = 'demo'\r\nversion = '1.0.0-rc.1'\r\n"
    );
    assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
}

const WS_ROOT: &str = r#"[workspace]
resolver = "2"
members = ["crates/*"]
exclude = ["vendor"]

[workspace.package]
version = "0.3.1"
edition = "2021"

[workspace.dependencies]
core-lib = { path = "crates/core-lib", version = "=0.3.1" }
serde = "1"
"#;

const WS_CORE: &str = r#"[package]
name = "core-lib"
version.workspace = true
edition.workspace = true

[dependencies]
serde.workspace = true
"#;

const WS_CLI: &str = r#"[package]
name = "cli"
version = "0.3.1"
edition = "2021"

[dependencies]
core-lib = { path = "../core-lib", version = "=0.3.1" }
other = { path = "../../vendor/other", version = "1.0" }
serde = "1"

[target.'cfg(unix)'.dev-dependencies]
core-lib = { version = "^0.3", path = "../core-lib", features = ["x"] }

[build-dependencies.core-lib]
path = "../core-lib"
version = "~0.3.1"
"#;

const VENDORED: &str = "[package]\nname = \"other\"\nversion = \"1.0.0\"\n";

fn workspace(root: &Path) {
    write(root, "Cargo.toml", WS_ROOT);
    write(root, "crates/core-lib/Cargo.toml", WS_CORE);
    write(root, "crates/cli/Cargo.toml", WS_CLI);
    write(root, "crates/notes/README.md", "not a crate\n");
    write(root, "vendor/other/Cargo.toml", VENDORED);
}

#[test]
fn cargo_workspace_inherited_member_and_exact_path_dependency() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let plan = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("0.4.0")).unwrap();
    assert_eq!(
        plan.paths(),
        vec![
            PathBuf::from("Cargo.toml"),
            PathBuf::from("crates/cli/Cargo.toml")
        ]
    );
    let root = &plan.edits[0];
    assert_eq!(
        root.after,
        WS_ROOT
            .replace("version = \"0.3.1\"", "version = \"0.4.0\"")
            .replace("version = \"=0.3.1\"", "version = \"=0.4.0\"")
    );
    assert_eq!(changed_lines(&root.unified_diff()), (2, 2));
    let cli = &plan.edits[1];
    assert_eq!(
        cli.after,
        WS_CLI
            .replace("version = \"0.3.1\"", "version = \"0.4.0\"")
            .replace("version = \"=0.3.1\"", "version = \"=0.4.0\"")
            .replace("version = \"^0.3\"", "version = \"^0.4.0\"")
            .replace("version = \"~0.3.1\"", "version = \"~0.4.0\"")
    );
    assert!(
        cli.after.contains("version = \"1.0\" }"),
        "vendored requirement kept"
    );
    assert_eq!(changed_lines(&cli.unified_diff()), (4, 4));
    let diff = plan.unified_diff();
    assert!(diff.contains("--- a/crates/cli/Cargo.toml\n+++ b/crates/cli/Cargo.toml\n"));
    assert_eq!(changed_lines(&diff), (6, 6));

    let versions = read_versions(dir.path(), &[cargo("Cargo.toml")]).unwrap();
    let summary: Vec<(String, &str, Option<&str>, bool)> = versions
        .iter()
        .map(|v| {
            (
                display_path(&v.path),
                v.key.as_str(),
                v.version.as_deref(),
                v.inherited,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "Cargo.toml".into(),
                "workspace.package.version",
                Some("0.3.1"),
                false
            ),
            (
                "crates/cli/Cargo.toml".into(),
                "package.version",
                Some("0.3.1"),
                false
            ),
            (
                "crates/core-lib/Cargo.toml".into(),
                "package.version",
                Some("0.3.1"),
                true
            ),
        ]
    );

    // A member named on its own reports the version of its workspace.
    let member = read_versions(dir.path(), &[cargo("crates/core-lib/Cargo.toml")]).unwrap();
    assert_eq!(member.len(), 1);
    assert_eq!(member[0].version.as_deref(), Some("0.3.1"));
    assert!(member[0].inherited);
}

#[test]
fn cargo_implicit_member_and_unrewritable_requirement() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"1.0.0\"\n\n[workspace]\n\n[dependencies]\nhelper = { path = \"helper\", version = \"1.0.0\" }\n",
    );
    write(
        dir.path(),
        "helper/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"1.0.0\"\n",
    );
    let plan = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("1.1.0")).unwrap();
    assert_eq!(
        plan.paths(),
        vec![
            PathBuf::from("Cargo.toml"),
            PathBuf::from("helper/Cargo.toml")
        ]
    );
    assert!(plan.edits[0].after.contains("version = \"1.1.0\" }"));

    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"1.0.0\"\n\n[workspace]\n\n[dependencies]\nhelper = { path = \"helper\", version = \">=1, <1.1\" }\n",
    );
    let err = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("1.1.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "Cargo.toml: line 8: dependencies.helper.version \">=1, <1.1\" does not admit 1.1.0 and is not a single version to rewrite"
    );
}

#[test]
fn requirement_rewrite_keeps_operator() {
    let new = ver("0.4.0");
    let cases = [
        ("=0.3.1", Some("=0.4.0")),
        ("= 0.3.1", Some("= 0.4.0")),
        ("^0.3", Some("^0.4.0")),
        ("~0.3.1", Some("~0.4.0")),
        ("0.3.1", Some("0.4.0")),
        (">=0.3", Some(">=0.4.0")),
        ("=0.3.1-next.1", Some("=0.4.0")),
        (">=0.3, <0.5", None),
        ("0.*", None),
        ("<1", None),
        ("*", None),
    ];
    for (req, want) in cases {
        assert_eq!(
            cargo::rewrite_requirement(req, &new).as_deref(),
            want,
            "{req}"
        );
    }
}

const PACKAGE_JSON: &str = r#"{
    "scripts": {
        "version": "echo not this one",
        "build": "tsc"
    },
    "name": "demo",
    "version": "1.2.3",
    "private": true,
    "z": [1, {"version": "nested"}],
    "a": "last"
}
"#;

#[test]
fn npm_four_space_indent_and_key_order_kept() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "package.json", PACKAGE_JSON);
    let plan = plan_bump(dir.path(), &[npm("package.json")], &ver("2.0.0")).unwrap();
    let edit = single_edit(&plan);
    assert_eq!(
        edit.after,
        PACKAGE_JSON.replace(r#""version": "1.2.3""#, r#""version": "2.0.0""#)
    );
    assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
}

#[test]
fn npm_tabs_crlf_and_no_final_newline_kept() {
    let dir = tempfile::tempdir().unwrap();
    let before = "{\r\n\t\"version\" : \"0.0.1\",\r\n\t\"name\": \"x\"\r\n}";
    write(dir.path(), "web/package.json", before);
    let plan = plan_bump(dir.path(), &[npm("web/package.json")], &ver("0.0.2")).unwrap();
    let edit = single_edit(&plan);
    assert_eq!(edit.path, PathBuf::from("web/package.json"));
    assert_eq!(
        edit.after,
        "{\r\n\t\"version\" : \"0.0.2\",\r\n\t\"name\": \"x\"\r\n}"
    );
    let diff = plan.unified_diff();
    assert!(diff.starts_with("--- a/web/package.json\n+++ b/web/package.json\n"));
    assert_eq!(changed_lines(&diff), (1, 1), "{diff}");
}

#[test]
fn npm_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "package.json", "{\n  \"name\": \"x\"\n}\n");
    let err = plan_bump(dir.path(), &[npm("package.json")], &ver("1.0.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "package.json: no top-level \"version\" key"
    );
    let versions = read_versions(dir.path(), &[npm("package.json")]).unwrap();
    assert_eq!(versions[0].version, None);
    assert_eq!(
        versions[0].reason.as_deref(),
        Some("no top-level \"version\" key")
    );

    write(
        dir.path(),
        "package.json",
        "{\n  \"name\": \"x\",\n  \"version\": 1\n}\n",
    );
    let err = plan_bump(dir.path(), &[npm("package.json")], &ver("1.0.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "package.json: top-level \"version\" is not a string"
    );

    write(
        dir.path(),
        "package.json",
        "{\n  \"name\": \"x\",\n  \"version\" \"1\"\n}\n",
    );
    let err = plan_bump(dir.path(), &[npm("package.json")], &ver("1.0.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "package.json: line 3, column 13: invalid JSON: expected `:`"
    );
}

#[test]
fn pyproject_both_tables_bumped() {
    let dir = tempfile::tempdir().unwrap();
    let before = r#"[build-system]
requires = ["poetry-core"]

[project]
name = "demo"
version = '0.9.0'
dependencies = ["requests>=2"]

[tool.poetry]
name = "demo"
version = "0.9.0"
"#;
    write(dir.path(), "pyproject.toml", before);
    let plan = plan_bump(dir.path(), &[pyproject("pyproject.toml")], &ver("1.0.0")).unwrap();
    assert_eq!(
        single_edit(&plan).after,
        before
            .replace("version = '0.9.0'", "version = '1.0.0'")
            .replace("version = \"0.9.0\"", "version = \"1.0.0\"")
    );
    assert_eq!(changed_lines(&plan.unified_diff()), (2, 2));
    let versions = read_versions(dir.path(), &[pyproject("pyproject.toml")]).unwrap();
    let keys: Vec<&str> = versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["project.version", "tool.poetry.version"]);
}

#[test]
fn pyproject_single_table_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let before = "[project]\nname = \"demo\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\n";
    write(dir.path(), "pyproject.toml", before);
    let plan = plan_bump(dir.path(), &[pyproject("pyproject.toml")], &ver("0.1.1")).unwrap();
    assert_eq!(single_edit(&plan).after, before.replace("0.1.0", "0.1.1"));
    assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
}

#[test]
fn pyproject_dynamic_version_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let before = "[project]\nname = \"demo\"\ndynamic = [\"version\"]\n";
    write(dir.path(), "pyproject.toml", before);
    let versions = read_versions(dir.path(), &[pyproject("pyproject.toml")]).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version, None);
    assert_eq!(
        versions[0].reason.as_deref(),
        Some("dynamic version ([project].dynamic lists \"version\")")
    );
    let plan = plan_bump(dir.path(), &[pyproject("pyproject.toml")], &ver("1.0.0")).unwrap();
    assert!(plan.is_empty());
    assert_eq!(plan.notes.len(), 1);
    assert_eq!(plan.notes[0].path, PathBuf::from("pyproject.toml"));

    // Poetry 2 keeps the version in [tool.poetry] while [project] says dynamic.
    write(
        dir.path(),
        "pyproject.toml",
        &format!("{before}\n[tool.poetry]\nversion = \"0.5.0\"\n"),
    );
    let plan = plan_bump(dir.path(), &[pyproject("pyproject.toml")], &ver("1.0.0")).unwrap();
    assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
    assert!(single_edit(&plan).after.ends_with("version = \"1.0.0\"\n"));
}

#[test]
fn version_file_keeps_trailing_newline_convention() {
    let dir = tempfile::tempdir().unwrap();
    for (before, after) in [
        ("1.2.3\n", "2.0.0\n"),
        ("1.2.3", "2.0.0"),
        ("v1.2.3\r\n\r\n", "2.0.0\r\n\r\n"),
    ] {
        write(dir.path(), "VERSION", before);
        let plan = plan_bump(dir.path(), &[version_file("VERSION")], &ver("2.0.0")).unwrap();
        assert_eq!(single_edit(&plan).after, after);
        assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
    }
    write(dir.path(), "VERSION", "\n");
    let err = plan_bump(dir.path(), &[version_file("VERSION")], &ver("2.0.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "VERSION: the file is empty, no version to replace"
    );
}

#[test]
fn regex_file_bumps_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let before = "NAME = \"demo\"\n__version__ = \"1.2.3\"\nOTHER = \"1.2.3\"\n";
    write(dir.path(), "src/demo/__init__.py", before);
    let spec = regex("src/demo/__init__.py", r#"(?m)^__version__ = "([^"]+)""#);
    let plan = plan_bump(dir.path(), std::slice::from_ref(&spec), &ver("1.3.0")).unwrap();
    assert_eq!(
        single_edit(&plan).after,
        "NAME = \"demo\"\n__version__ = \"1.3.0\"\nOTHER = \"1.2.3\"\n"
    );
    assert_eq!(changed_lines(&plan.unified_diff()), (1, 1));
}

#[test]
fn regex_named_group_replaces_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let before = "#define VERSION \"1.2.3\"\n#define NAME \"x\"\n// VERSION \"1.2.3\"\n";
    write(dir.path(), "version.h", before);
    let spec = regex("version.h", r#"(#define )?VERSION "(?P<version>[^"]+)""#);
    let versions = read_versions(dir.path(), std::slice::from_ref(&spec)).unwrap();
    let found: Vec<(&str, Option<&str>)> = versions
        .iter()
        .map(|v| (v.key.as_str(), v.version.as_deref()))
        .collect();
    assert_eq!(
        found,
        [("line 1", Some("1.2.3")), ("line 3", Some("1.2.3"))]
    );
    let plan = plan_bump(dir.path(), &[spec], &ver("1.2.4")).unwrap();
    assert_eq!(single_edit(&plan).after, before.replace("1.2.3", "1.2.4"));
    assert_eq!(changed_lines(&plan.unified_diff()), (2, 2));
}

#[test]
fn regex_pattern_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "v.txt", "version: 1.0.0\n");
    let two_groups = regex("v.txt", r"(version): (\S+)");
    assert_eq!(
        input_message(two_groups.validate().unwrap_err()),
        "v.txt: pattern \"(version): (\\\\S+)\" must have exactly one capture group or a group named \"version\""
    );
    let invalid = regex("v.txt", r"version: ([");
    assert!(input_message(invalid.validate().unwrap_err()).starts_with("v.txt: invalid pattern"));
    let nothing = regex("v.txt", r"release: (\S+)");
    let err = plan_bump(dir.path(), std::slice::from_ref(&nothing), &ver("1.0.1")).unwrap_err();
    assert_eq!(
        input_message(err),
        "v.txt: pattern \"release: (\\\\S+)\" matches nothing"
    );
    let versions = read_versions(dir.path(), &[nothing]).unwrap();
    assert_eq!(versions[0].version, None);
}

fn mixed_repo(root: &Path) {
    write(root, "Cargo.toml", CARGO_PACKAGE);
    write(root, "package.json", PACKAGE_JSON);
    write(root, "VERSION", "0.1.0\n");
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"x\"\nversion = \"0.1.0\"\n",
    );
}

fn mixed_specs() -> Vec<ManifestSpec> {
    vec![
        cargo("Cargo.toml"),
        npm("package.json"),
        pyproject("pyproject.toml"),
        version_file("VERSION"),
    ]
}

#[test]
fn plan_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    mixed_repo(dir.path());
    workspace(&dir.path().join("ws"));
    let mut specs = mixed_specs();
    specs.push(cargo("ws/Cargo.toml"));
    let before = tree_hash(dir.path());
    let plan = plan_bump(dir.path(), &specs, &ver("3.0.0")).unwrap();
    assert_eq!(plan.edits.len(), 6, "{:?}", plan.paths());
    let _ = plan.unified_diff();
    let _ = read_versions(dir.path(), &specs).unwrap();
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn apply_writes_the_plan_and_refuses_a_file_changed_since() {
    let dir = tempfile::tempdir().unwrap();
    mixed_repo(dir.path());
    let specs = mixed_specs();
    let plan = plan_bump(dir.path(), &specs, &ver("0.2.0")).unwrap();
    assert_eq!(
        plan.paths(),
        ["Cargo.toml", "VERSION", "package.json", "pyproject.toml"].map(PathBuf::from)
    );

    // A file edited after planning: nothing is written, and it is named.
    write(
        dir.path(),
        "package.json",
        &PACKAGE_JSON.replace("demo", "demo2"),
    );
    let changed = tree_hash(dir.path());
    let err = apply(dir.path(), &plan).unwrap_err();
    assert_eq!(
        input_message(err),
        "package.json: changed since the bump was planned; plan again"
    );
    assert_eq!(tree_hash(dir.path()), changed, "no file written");

    std::fs::remove_file(dir.path().join("VERSION")).unwrap();
    let err = apply(dir.path(), &plan).unwrap_err();
    assert_eq!(
        input_message(err),
        "VERSION: removed since the bump was planned; plan again"
    );
    write(dir.path(), "VERSION", "0.1.0\n");

    let plan = plan_bump(dir.path(), &specs, &ver("0.2.0")).unwrap();
    let written = apply(dir.path(), &plan).unwrap();
    assert_eq!(written, plan.paths());
    for edit in &plan.edits {
        assert_eq!(read(dir.path(), &display_path(&edit.path)), edit.after);
    }
    assert_eq!(read(dir.path(), "VERSION"), "0.2.0\n");
    let again = plan_bump(dir.path(), &specs, &ver("0.2.0")).unwrap();
    assert!(again.is_empty(), "{}", again.unified_diff());
    assert_eq!(again.unified_diff(), "");
}

#[test]
fn read_versions_reports_disagreeing_manifests() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        &CARGO_PACKAGE.replace("0.1.0", "1.2.3"),
    );
    write(
        dir.path(),
        "package.json",
        &PACKAGE_JSON.replace("1.2.3", "1.2.2"),
    );
    write(dir.path(), "VERSION", "1.2.3\n");
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"x\"\ndynamic = [\"version\"]\n",
    );
    let versions = read_versions(dir.path(), &mixed_specs()).unwrap();
    assert_eq!(versions.len(), 4);
    let tag = ver("1.2.3");
    let bad = disagreements(&versions, &tag);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].path, PathBuf::from("package.json"));
    assert_eq!(bad[0].kind, ManifestKind::Npm);
    assert_eq!(bad[0].version.as_deref(), Some("1.2.2"));
    let unknown: Vec<&ManifestVersion> = versions.iter().filter(|v| v.version.is_none()).collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].kind, ManifestKind::Pyproject);
    assert_eq!(unknown[0].agrees_with(&tag), None);
}

#[test]
fn invalid_toml_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = 1.2.3\n",
    );
    let err = read_versions(dir.path(), &[cargo("Cargo.toml")]).unwrap_err();
    assert_eq!(
        input_message(err),
        "Cargo.toml: line 3, column 14: invalid TOML: invalid float"
    );
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"1.2.3\nedition = \"2021\"\n",
    );
    let err = read_versions(dir.path(), &[cargo("Cargo.toml")]).unwrap_err();
    assert_eq!(
        input_message(err),
        "Cargo.toml: line 3, column 17: invalid TOML: invalid basic string, expected `\"`"
    );

    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = 1\n",
    );
    let err = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("1.0.0")).unwrap_err();
    assert_eq!(
        input_message(err),
        "Cargo.toml: line 3: package.version is not a string"
    );
}

#[test]
fn missing_or_misplaced_manifest_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = plan_bump(dir.path(), &[npm("web/package.json")], &ver("1.0.0")).unwrap_err();
    assert_eq!(input_message(err), "web/package.json: manifest not found");
    let err = read_versions(dir.path(), &[version_file("VERSION")]).unwrap_err();
    assert_eq!(input_message(err), "VERSION: manifest not found");
    let err = read_versions(dir.path(), &[cargo("../Cargo.toml")]).unwrap_err();
    assert_eq!(
        input_message(err),
        "manifest path ../Cargo.toml: must be relative to the repository root and stay inside it"
    );
    assert_eq!(
        cargo("/etc/Cargo.toml").validate().unwrap_err().kind(),
        ErrorKind::Input
    );
    write(
        dir.path(),
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/gone\"]\n",
    );
    let err = read_versions(dir.path(), &[cargo("Cargo.toml")]).unwrap_err();
    assert_eq!(
        input_message(err),
        "Cargo.toml: workspace member \"crates/gone\" has no Cargo.toml"
    );
}

#[test]
fn detect_finds_the_manifests_that_carry_a_version() {
    let dir = tempfile::tempdir().unwrap();
    assert!(detect(dir.path()).unwrap().is_empty());
    write(dir.path(), "Cargo.toml", CARGO_PACKAGE);
    write(dir.path(), "package.json", "{\"private\": true}\n");
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "VERSION", "0.1.0\n");
    let found = detect(dir.path()).unwrap();
    assert_eq!(
        found,
        vec![
            cargo("Cargo.toml"),
            pyproject("pyproject.toml"),
            version_file("VERSION"),
        ]
    );
}

#[test]
fn spec_deserializes_from_yaml_and_rejects_unknown_fields() {
    let yaml = r#"
- kind: cargo
- kind: npm
  path: web/package.json
- kind: pyproject
  path: py/pyproject.toml
- kind: version_file
- kind: regex
  path: src/version.h
  pattern: '#define VERSION "([^"]+)"'
"#;
    let specs: Vec<ManifestSpec> = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(
        specs,
        vec![
            cargo("Cargo.toml"),
            npm("web/package.json"),
            pyproject("py/pyproject.toml"),
            version_file("VERSION"),
            regex("src/version.h", r#"#define VERSION "([^"]+)""#),
        ]
    );
    assert_eq!(specs[4].kind(), ManifestKind::Regex);
    assert_eq!(specs[4].path(), Path::new("src/version.h"));

    let json = serde_json::to_value(&specs[4]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "regex", "path": "src/version.h", "pattern": "#define VERSION \"([^\"]+)\""})
    );

    for bad in [
        "- kind: cargo\n  paht: Cargo.toml\n",
        "- kind: regex\n  path: a\n  pattern: (x)\n  extra: 1\n",
        "- kind: regex\n  path: a\n",
        "- kind: gradle\n",
        "- kind: npm\n  pattern: (x)\n",
    ] {
        assert!(
            serde_saphyr::from_str::<Vec<ManifestSpec>>(bad).is_err(),
            "accepted: {bad}"
        );
    }
    let schema = schemars::schema_for!(ManifestSpec);
    let text = serde_json::to_string(&schema).unwrap();
    assert!(text.contains("version_file"), "{text}");
}

#[test]
fn toml_dotted_keys_and_inline_tables_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let before = "package.name = \"x\"\npackage.version = \"0.1.0\"\n\n[tool]\npoetry = { name = \"x\", version = \"0.1.0\" }\n";
    write(dir.path(), "Cargo.toml", before);
    write(dir.path(), "pyproject.toml", before);
    let plan = plan_bump(
        dir.path(),
        &[cargo("Cargo.toml"), pyproject("pyproject.toml")],
        &ver("0.2.0"),
    )
    .unwrap();
    assert_eq!(
        plan.edits[0].after,
        before.replacen("\"0.1.0\"", "\"0.2.0\"", 1)
    );
    assert_eq!(
        plan.edits[1].after,
        before.replacen("version = \"0.1.0\" }", "version = \"0.2.0\" }", 1)
    );
}

#[test]
fn cargo_lock_follows_the_members_and_leaves_namesakes_alone() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let lock = "# generated\nversion = 4\n\n[[package]]\nname = \"cli\"\nversion = \"0.3.1\"\ndependencies = [\n \"core-lib\",\n]\n\n[[package]]\nname = \"core-lib\"\nversion = \"0.3.1\"\n\n[[package]]\nname = \"core-lib\"\nversion = \"0.3.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n\n[[package]]\nname = \"other\"\nversion = \"1.0.0\"\n";
    write(dir.path(), "Cargo.lock", lock);
    let plan = plan_bump(dir.path(), &[cargo("Cargo.toml")], &ver("0.4.0")).unwrap();
    let edit = plan
        .edits
        .iter()
        .find(|e| e.path == Path::new("Cargo.lock"))
        .expect("the lock is edited");
    let after = &edit.after;
    // Every member the bump moves, and only those, at the new version.
    let expected = lock
        .replacen(
            "name = \"cli\"\nversion = \"0.3.1\"",
            "name = \"cli\"\nversion = \"0.4.0\"",
            1,
        )
        .replacen(
            "name = \"core-lib\"\nversion = \"0.3.1\"\n\n",
            "name = \"core-lib\"\nversion = \"0.4.0\"\n\n",
            1,
        );
    assert_eq!(after, &expected, "{after}");
}

//! Tests of package detection, on real directory trees and git
//! repositories in temporary directories.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use super::*;
use crate::config;
use crate::test_git::git;

/// A repository at `<tmp>/<name>` (the name is the fixed group's, when the
/// root `package.json` has none) with `files`, one commit and `tags`.
struct Fixture {
    _home: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str, files: &[(&str, &str)], tags: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join(name);
        std::fs::create_dir(&root).unwrap();
        for (path, content) in files {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        git(&root, home.path(), &["init", "--quiet"]);
        git(&root, home.path(), &["add", "-A"]);
        git(
            &root,
            home.path(),
            &["commit", "--quiet", "--allow-empty", "-m", "feat: first"],
        );
        for tag in tags {
            git(&root, home.path(), &["tag", "-a", tag, "-m", tag]);
        }
        Fixture { _home: home, root }
    }

    fn detect(&self) -> Detected {
        let repo = Repo::discover(&self.root).unwrap();
        detect_packages(&self.root, &repo).unwrap()
    }
}

fn names(detected: &Detected) -> Vec<&str> {
    detected
        .packages
        .iter()
        .map(|p| p.config.name.as_str())
        .collect()
}

fn paths(detected: &Detected) -> Vec<String> {
    detected
        .packages
        .iter()
        .map(|p| p.config.path.display().to_string())
        .collect()
}

fn crate_toml(name: &str, version: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2024\"\n")
}

fn package_json(name: &str, version: &str) -> String {
    format!("{{\n  \"name\": \"{name}\",\n  \"version\": \"{version}\"\n}}\n")
}

/// The rendered configuration, parsed back, has the detected packages and
/// groups.
fn assert_round_trip(detected: &Detected) -> String {
    let text = config::init_template_with_packages(
        &[],
        "v",
        &detected.package_configs(),
        &detected.groups,
    );
    let parsed =
        config::parse(&text, Path::new("trainyard.yaml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.packages, detected.package_configs(), "{text}");
    assert_eq!(parsed.groups, detected.groups, "{text}");
    text
}

#[test]
fn a_cargo_workspace_gives_its_member_crates_tagged_as_they_are() {
    let a = crate_toml("a", "0.1.0");
    let b = crate_toml("b", "0.2.0");
    let fixture = Fixture::new(
        "ws",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\", \"tools/c\"]\nexclude = [\"crates/old\"]\n",
            ),
            ("crates/a/Cargo.toml", &a),
            ("crates/b/Cargo.toml", &b),
            (
                "tools/c/Cargo.toml",
                "[package]\nname = \"c-tool\"\nversion.workspace = true\n",
            ),
            ("crates/old/Cargo.toml", &crate_toml("old", "9.0.0")),
            // A directory the glob matches without a package is no member.
            ("crates/docs/README.md", "docs\n"),
            // Build output is not looked into.
            ("target/debug/x/Cargo.toml", &crate_toml("x", "1.0.0")),
        ],
        &["a-v0.1.0", "b-v0.2.0", "b-v0.1.0"],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["a", "b", "c-tool"]);
    assert_eq!(paths(&detected), ["crates/a", "crates/b", "tools/c"]);
    let a = &detected.packages[0];
    assert_eq!(a.source, Source::Cargo);
    assert_eq!(a.version.as_deref(), Some("0.1.0"));
    assert_eq!(
        a.config.manifests,
        Some(vec![ManifestSpec::Cargo {
            path: "crates/a/Cargo.toml".into()
        }])
    );
    assert_eq!(detected.packages[2].version, None);
    assert!(
        detected
            .notes
            .iter()
            .any(|n| n.starts_with("c-tool takes the workspace's version")),
        "{:?}",
        detected.notes
    );
    assert_eq!(detected.tag_format.as_str(), "{name}-v{version}");
    assert_eq!(detected.matching_tags, 3);
    assert!(detected.groups.is_empty());
    assert_eq!(detected.tag_prefix, None);
    assert!(
        detected
            .packages
            .iter()
            .all(|p| p.config.tag_format.as_str() == "{name}-v{version}")
    );
    assert_round_trip(&detected);
}

#[test]
fn an_npm_workspace_with_scoped_tags_is_tagged_name_at_version() {
    let fixture = Fixture::new(
        "js",
        &[
            (
                "package.json",
                "{ \"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"] }\n",
            ),
            (
                "packages/core/package.json",
                &package_json("@x/core", "1.0.0"),
            ),
            (
                "packages/cli/package.json",
                &package_json("@x/cli", "1.2.0"),
            ),
            // No name: not a workspace package.
            ("packages/scratch/package.json", "{ \"private\": true }\n"),
            (
                "packages/core/node_modules/dep/package.json",
                &package_json("dep", "3.0.0"),
            ),
        ],
        &["@x/core@1.0.0", "@x/cli@1.1.0", "@x/cli@1.2.0", "v0.9.0"],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["@x/cli", "@x/core"]);
    assert!(detected.packages.iter().all(|p| p.source == Source::Npm));
    assert_eq!(detected.tag_format.as_str(), "{name}@{version}");
    assert_eq!(detected.matching_tags, 3);
    assert!(detected.groups.is_empty());
    // The repository's own tag from before the split.
    assert_eq!(detected.tag_prefix.as_deref(), Some("v"));
    let text = assert_round_trip(&detected);
    assert!(text.contains("  - name: \"@x/cli\"\n"), "{text}");
    assert!(
        text.contains("    tag_format: \"{name}@{version}\"\n"),
        "{text}"
    );
}

#[test]
fn yarn_workspaces_may_be_an_object_of_packages() {
    let fixture = Fixture::new(
        "yarn",
        &[
            (
                "package.json",
                "{ \"private\": true, \"workspaces\": { \"packages\": [\"./libs/*/\"], \"nohoist\": [] } }\n",
            ),
            ("libs/one/package.json", &package_json("one", "0.1.0")),
        ],
        &[],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["one"]);
    // No tag: the default format.
    assert_eq!(detected.tag_format.as_str(), "{name}-v{version}");
    assert_eq!(detected.matching_tags, 0);
}

#[test]
fn a_pnpm_workspace_takes_its_patterns_less_negations() {
    let fixture = Fixture::new(
        "pnpm",
        &[
            // pnpm reads its own file, not package.json's workspaces.
            (
                "package.json",
                "{ \"name\": \"mono\", \"workspaces\": [\"ignored/*\"] }\n",
            ),
            (
                "pnpm-workspace.yaml",
                "packages:\n  - 'packages/**'\n  - apps/web\n  - '!**/test/**'\ncatalog:\n  react: ^18\n",
            ),
            ("packages/a/package.json", &package_json("a", "1.0.0")),
            (
                "packages/nested/b/package.json",
                &package_json("b", "2.0.0"),
            ),
            (
                "packages/a/test/fixture/package.json",
                &package_json("fixture", "0.0.0"),
            ),
            ("apps/web/package.json", &package_json("web", "0.3.0")),
            ("ignored/x/package.json", &package_json("x", "1.0.0")),
        ],
        &["a-1.0.0", "b-2.0.0", "b-1.9.0", "web-v0.3.0"],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["web", "a", "b"]);
    assert_eq!(
        paths(&detected),
        ["apps/web", "packages/a", "packages/nested/b"]
    );
    assert!(detected.packages.iter().all(|p| p.source == Source::Pnpm));
    assert_eq!(detected.tag_format.as_str(), "{name}-{version}");
    assert_eq!(detected.matching_tags, 3);
    assert_round_trip(&detected);
}

#[test]
fn a_vue_shaped_repository_is_one_fixed_group_tagged_v() {
    let names_12 = [
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
    let mut files: Vec<(String, String)> = vec![
        (
            "package.json".into(),
            "{ \"private\": true, \"version\": \"3.4.0\", \"packageManager\": \"pnpm@8.12.0\" }\n"
                .into(),
        ),
        (
            "pnpm-workspace.yaml".into(),
            "packages:\n  - 'packages/*'\n".into(),
        ),
    ];
    for dir in names_12 {
        let name = if dir.starts_with("vue") {
            dir.to_owned()
        } else {
            format!("@vue/{dir}")
        };
        files.push((
            format!("packages/{dir}/package.json"),
            package_json(&name, "3.4.0"),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let fixture = Fixture::new("core", &files, &["v3.3.0", "v3.4.0"]);
    let detected = fixture.detect();
    assert_eq!(detected.packages.len(), 12);
    assert_eq!(detected.tag_format.as_str(), "v{version}");
    assert_eq!(detected.matching_tags, 2);
    assert_eq!(detected.tag_prefix.as_deref(), Some("v"));
    assert_eq!(detected.groups.len(), 1, "{:?}", detected.groups);
    let group = &detected.groups[0];
    assert_eq!(group.name, "core");
    assert_eq!(group.kind, GroupKind::Fixed);
    assert_eq!(group.members.len(), 12);
    assert_eq!(group.members[0], "@vue/compiler-core");
    assert_eq!(
        group.tag_format.as_ref().map(TagFormat::as_str),
        Some("v{version}")
    );
    assert_eq!(
        group.manifests,
        [ManifestSpec::Npm {
            path: "package.json".into()
        }]
    );
    assert!(detected.notes.is_empty(), "{:?}", detected.notes);
    let text = assert_round_trip(&detected);
    assert!(text.contains("    kind: fixed\n"), "{text}");
    assert!(text.contains("    tag_format: \"v{version}\"\n"), "{text}");
}

#[test]
fn v_tags_over_packages_of_different_versions_still_group_with_a_note() {
    let fixture = Fixture::new(
        "mixed",
        &[
            ("package.json", "{ \"workspaces\": [\"pkgs/*\"] }\n"),
            ("pkgs/a/package.json", &package_json("a", "1.0.0")),
            ("pkgs/b/package.json", &package_json("b", "1.1.0")),
        ],
        &["v1.0.0"],
    );
    let detected = fixture.detect();
    assert_eq!(detected.groups.len(), 1);
    assert!(detected.groups[0].manifests.is_empty());
    assert!(
        detected
            .notes
            .iter()
            .any(|n| n.contains("different versions")),
        "{:?}",
        detected.notes
    );
}

#[test]
fn python_projects_below_the_root_are_packages() {
    let fixture = Fixture::new(
        "py",
        &[
            // The root project alone makes no monorepo.
            (
                "pyproject.toml",
                "[project]\nname = \"root\"\nversion = \"1.0.0\"\n",
            ),
            (
                "libs/alpha/pyproject.toml",
                "[project]\nname = \"alpha\"\nversion = \"0.1.0\"\n",
            ),
            (
                "libs/beta/pyproject.toml",
                "[tool.poetry]\nname = \"beta\"\nversion = \"0.2.0\"\n",
            ),
            // No name: a tool's configuration only.
            ("tools/pyproject.toml", "[tool.black]\nline-length = 100\n"),
            (
                ".venv/lib/site/pyproject.toml",
                "[project]\nname = \"vendored\"\n",
            ),
            ("a/b/c/d/pyproject.toml", "[project]\nname = \"too-deep\"\n"),
            (
                "tests/fixtures/pyproject.toml",
                "[project]\nname = \"fixture\"\n",
            ),
        ],
        &["alpha-v0.1.0"],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["alpha", "beta"]);
    assert_eq!(detected.packages[1].version.as_deref(), Some("0.2.0"));
    assert!(detected.packages.iter().all(|p| p.source == Source::Python));
    assert_round_trip(&detected);
}

#[test]
fn one_directory_in_two_ecosystems_is_one_package_with_both_manifests() {
    let fixture = Fixture::new(
        "both",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"bindings/py\", \"core\"]\n",
            ),
            ("core/Cargo.toml", &crate_toml("core", "0.4.0")),
            ("bindings/py/Cargo.toml", &crate_toml("core-py", "0.4.0")),
            (
                "bindings/py/pyproject.toml",
                "[project]\nname = \"core-py\"\nversion = \"0.4.0\"\n",
            ),
        ],
        &[],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["core-py", "core"]);
    assert_eq!(
        detected.packages[0].config.manifests,
        Some(vec![
            ManifestSpec::Cargo {
                path: "bindings/py/Cargo.toml".into()
            },
            ManifestSpec::Pyproject {
                path: "bindings/py/pyproject.toml".into()
            },
        ])
    );
    assert_round_trip(&detected);
}

#[test]
fn a_repository_without_a_workspace_gives_nothing_and_todays_template() {
    let fixture = Fixture::new(
        "single",
        &[
            ("Cargo.toml", &crate_toml("single", "1.0.0")),
            ("package.json", &package_json("single", "1.0.0")),
            ("pyproject.toml", "[project]\nname = \"single\"\n"),
            // One nested Python project is no monorepo either, nor are
            // test data.
            ("docs/pyproject.toml", "[project]\nname = \"docs\"\n"),
            ("tests/data/a/pyproject.toml", "[project]\nname = \"a\"\n"),
            ("tests/data/b/pyproject.toml", "[project]\nname = \"b\"\n"),
        ],
        &["v1.0.0"],
    );
    let detected = fixture.detect();
    assert!(detected.is_empty(), "{detected:?}");
    assert!(detected.groups.is_empty());
    let manifests = crate::manifest::detect(&fixture.root).unwrap();
    assert_eq!(
        config::init_template_with_packages(&manifests, "v", &[], &[]),
        config::init_template(&manifests, "v")
    );
}

#[test]
fn a_workspace_root_package_is_left_with_a_note() {
    let fixture = Fixture::new(
        "rooted",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"1.0.0\"\n\n[workspace]\nmembers = [\"lib\"]\n",
            ),
            ("lib/Cargo.toml", &crate_toml("lib", "0.3.0")),
        ],
        &[],
    );
    let detected = fixture.detect();
    assert_eq!(names(&detected), ["lib"]);
    assert!(
        detected.notes.iter().any(|n| n.contains("`app`")),
        "{:?}",
        detected.notes
    );
}

#[test]
fn a_broken_member_manifest_is_an_error_naming_it() {
    let fixture = Fixture::new(
        "broken",
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n"),
            ("a/Cargo.toml", "[package\nname = \"a\"\n"),
        ],
        &[],
    );
    let repo = Repo::discover(&fixture.root).unwrap();
    let err = detect_packages(&fixture.root, &repo)
        .unwrap_err()
        .to_string();
    assert!(err.contains("a/Cargo.toml"), "{err}");
}

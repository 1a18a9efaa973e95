//! Tests of the registry channels against the fake registries, with the
//! real `git`, `cargo` and `npm`.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use super::super::{
    ChannelConfig, PublishRelease, WithdrawRelease, plan, publish, withdraw, withdraw_plan,
};
use super::*;
use crate::test_git::git;

fn release(root: &Path, version: &str) -> PublishRelease {
    PublishRelease {
        version: version.to_owned(),
        tag: format!("v{version}"),
        repo_root: root.to_path_buf(),
        artifacts_dir: root.join("artifacts"),
        artifacts: Vec::new(),
        token: Some("s3cret-token".to_owned()),
        published_at: "2026-04-20T10:00:00Z".parse().expect("timestamp"),
        title: format!("v{version}"),
        notes: String::new(),
        prerelease: version.contains('-'),
        package_dirs: Vec::new(),
        artifacts_pending: false,
    }
}

fn withdrawal(root: &Path, version: &str) -> WithdrawRelease {
    WithdrawRelease {
        version: version.to_owned(),
        tag: format!("v{version}"),
        restored_version: "0.9.0".to_owned(),
        restored_tag: "v0.9.0".to_owned(),
        repo_root: root.to_path_buf(),
        token: Some("s3cret-token".to_owned()),
        package_dirs: Vec::new(),
        reason: "rolled back: INC-7".to_owned(),
    }
}

/// A repository with `files` committed and tagged `tags`, with a fixed
/// identity and date.
fn repo(home: &Path, dir: &Path, files: &[(&str, &str)], tags: &[&str]) {
    git(dir, home, &["init", "--quiet"]);
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    git(dir, home, &["add", "-A"]);
    git(
        dir,
        home,
        &[
            "-c",
            "core.hooksPath=/dev/null",
            "commit",
            "--quiet",
            "--date",
            "2026-04-20T10:00:00Z",
            "-m",
            "feat: one",
        ],
    );
    for tag in tags {
        git(dir, home, &["tag", tag]);
    }
}

// ------------------------------------------------------------ pypi

#[test]
fn pypi_uploads_each_missing_distribution_once() {
    let index = fake_services::pypi::FakePypi::start("s3cret-token");
    let root = tempfile::tempdir().expect("tempdir");
    let dist = root.path().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::fs::write(dist.join("my_widget-1.2.0.tar.gz"), b"sdist bytes").expect("write");
    std::fs::write(
        dist.join("my_widget-1.2.0-py3-none-any.whl"),
        b"wheel bytes",
    )
    .expect("write");
    std::fs::write(dist.join("my_widget-1.1.0.tar.gz"), b"old").expect("write");
    let channel = ChannelConfig::Pypi(PypiChannel {
        name: "pypi".to_owned(),
        upload_url: Some(index.upload_url()),
        index_url: Some(index.index_url()),
        credentials: Some("env:PYPI_TOKEN".to_owned()),
        dist: None,
    });
    let rel = release(root.path(), "1.2.0");
    let lines = plan(&channel, &rel);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("upload my_widget-1.2.0-py3-none-any.whl (11 bytes, sha256 "),
        "{lines:?}"
    );
    assert!(index.server.log().is_empty(), "plan touches nothing");

    // Only the wheel is built at first.
    let sdist = std::fs::read(dist.join("my_widget-1.2.0.tar.gz")).expect("read");
    std::fs::remove_file(dist.join("my_widget-1.2.0.tar.gz")).expect("remove");
    let first = publish(&channel, &rel).expect("publish the wheel");
    assert_eq!(first.items.len(), 1, "{:?}", first.items);
    assert!(
        first.items[0].starts_with("my_widget-1.2.0-py3-none-any.whl 1.2.0 uploaded to "),
        "{:?}",
        first.items
    );

    // The sdist's upload fails on each of its three attempts.
    std::fs::write(dist.join("my_widget-1.2.0.tar.gz"), &sdist).expect("write");
    index.server.fail("POST", "/legacy/", 503, 3);
    let err = publish(&channel, &rel).expect_err("503");
    assert!(matches!(err, crate::Error::Environment(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("channel `pypi`") && message.contains("my_widget-1.2.0.tar.gz"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert_eq!(index.uploads().len(), 1);

    let posts = index.server.requests("POST").len();
    let receipt = publish(&channel, &rel).expect("publish");
    assert_eq!(
        index.server.requests("POST").len(),
        posts + 1,
        "only the missing file"
    );
    assert_eq!(
        receipt.items[0],
        "my_widget-1.2.0-py3-none-any.whl 1.2.0 already published"
    );
    assert!(
        receipt.items[1].starts_with("my_widget-1.2.0.tar.gz 1.2.0 uploaded"),
        "{:?}",
        receipt.items
    );
    let uploads = index.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(
        (uploads[0].filetype.as_str(), uploads[0].pyversion.as_str()),
        ("bdist_wheel", "py3")
    );
    assert_eq!(
        (uploads[1].filetype.as_str(), uploads[1].pyversion.as_str()),
        ("sdist", "source")
    );
    assert_eq!(uploads[1].project, "my-widget");
    assert_eq!(uploads[1].content, sdist);

    let posts = index.server.requests("POST").len();
    let again = publish(&channel, &rel).expect("again");
    assert!(
        again
            .items
            .iter()
            .all(|i| i.ends_with("1.2.0 already published")),
        "{:?}",
        again.items
    );
    assert_eq!(
        index.server.requests("POST").len(),
        posts,
        "no second upload"
    );

    let wd = withdraw_plan(&channel, &withdrawal(root.path(), "1.2.0")).expect("planned");
    assert!(wd.automatic.is_empty());
    assert_eq!(
        wd.manual,
        vec!["yank my-widget 1.2.0 on the index's web page (its API offers no yank)".to_owned()]
    );
    assert!(
        withdraw(&channel, &withdrawal(root.path(), "1.2.0"))
            .expect("withdraw")
            .is_empty()
    );
}

// ------------------------------------------------------------ crates

#[test]
fn crates_publishes_in_dependency_order_once_and_yanks_once() {
    let registry = fake_services::crates_registry::FakeCratesRegistry::start("s3cret-token");
    let home = tempfile::tempdir().expect("tempdir");
    let cargo_home = tempfile::tempdir().expect("tempdir");
    let target = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        cargo_home.path().join("config.toml"),
        format!("[registries.fake]\nindex = \"{}\"\n", registry.index()),
    )
    .expect("write");
    test_env::set(vec![
        (
            "CARGO_HOME".to_owned(),
            cargo_home.path().display().to_string(),
        ),
        (
            "CARGO_TARGET_DIR".to_owned(),
            target.path().display().to_string(),
        ),
    ]);
    let manifest = |name: &str, extra: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"1.2.0\"\nedition = \"2021\"\ndescription = \"d\"\nlicense = \"MIT\"\n{extra}"
        )
    };
    let app = manifest(
        "app",
        "\n[dependencies]\ncore = { path = \"../core\", version = \"1.2.0\", registry = \"fake\" }\n",
    );
    let core = manifest("core", "");
    let tools = manifest("tools", "publish = false\n");
    repo(
        home.path(),
        root.path(),
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"core\", \"tools\"]\nresolver = \"2\"\n",
            ),
            (".gitignore", "target/\n"),
            ("app/Cargo.toml", &app),
            ("app/src/lib.rs", "pub fn app() -> u8 { core::one() }\n"),
            ("core/Cargo.toml", &core),
            ("core/src/lib.rs", "pub fn one() -> u8 { 1 }\n"),
            ("tools/Cargo.toml", &tools),
            ("tools/src/lib.rs", "\n"),
        ],
        &["v1.2.0"],
    );
    let channel = ChannelConfig::Crates(CratesChannel {
        name: "crates".to_owned(),
        registry: Some("fake".to_owned()),
        index: None,
        credentials: Some("env:CARGO_TOKEN".to_owned()),
        packages: Vec::new(),
    });
    let rel = release(root.path(), "1.2.0");
    assert_eq!(
        plan(&channel, &rel),
        vec![
            "cargo publish core 1.2.0 to registry `fake` (skipped if already there)".to_owned(),
            "cargo publish app 1.2.0 to registry `fake` (skipped if already there)".to_owned(),
        ],
        "the publishable crates, dependencies first"
    );
    assert!(registry.server.log().is_empty(), "plan touches nothing");

    let receipt = publish(&channel, &rel).expect("publish");
    assert_eq!(
        receipt.items,
        vec![
            "core 1.2.0 published to registry `fake`",
            "app 1.2.0 published to registry `fake`"
        ]
    );
    assert_eq!(registry.server.requests("PUT /api/v1/crates/new").len(), 2);
    assert_eq!(registry.versions("core"), vec![("1.2.0".to_owned(), false)]);
    assert_eq!(registry.versions("app"), vec![("1.2.0".to_owned(), false)]);
    assert!(registry.versions("tools").is_empty(), "publish = false");

    let again = publish(&channel, &rel).expect("again");
    assert_eq!(
        again.items,
        vec![
            "core 1.2.0 already published",
            "app 1.2.0 already published"
        ]
    );
    assert_eq!(
        registry.server.requests("PUT").len(),
        2,
        "no second publish"
    );

    let back = withdrawal(root.path(), "1.2.0");
    let wd = withdraw_plan(&channel, &back).expect("planned");
    assert_eq!(
        wd.automatic,
        [
            "yank app 1.2.0 from registry `fake` (skipped if already yanked)",
            "yank core 1.2.0 from registry `fake` (skipped if already yanked)"
        ],
        "dependents first"
    );
    assert_eq!(
        withdraw(&channel, &back).expect("yank"),
        vec!["yanked app 1.2.0", "yanked core 1.2.0"]
    );
    assert_eq!(registry.versions("core"), vec![("1.2.0".to_owned(), true)]);
    assert_eq!(
        withdraw(&channel, &back).expect("yank again"),
        vec!["app 1.2.0 already yanked", "core 1.2.0 already yanked"]
    );
    assert_eq!(registry.server.requests("DELETE").len(), 2);
}

// ------------------------------------------------------------ npm

#[test]
fn npm_publishes_once_with_the_dist_tag_and_deprecates_once() {
    let registry = fake_services::npm_registry::FakeNpmRegistry::start("s3cret-token");
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("tempdir");
    test_env::set(vec![(
        "npm_config_cache".to_owned(),
        cache.path().display().to_string(),
    )]);
    let manifest = |version: &str| {
        format!(
            "{{\"name\": \"@acme/lexer\", \"version\": \"{version}\", \"main\": \"index.js\"}}\n"
        )
    };
    repo(
        home.path(),
        root.path(),
        &[
            ("package.json", &manifest("1.2.0")),
            ("index.js", "module.exports = 1;\n"),
        ],
        &["v1.2.0"],
    );
    let channel = ChannelConfig::Npm(NpmChannel {
        name: "npm".to_owned(),
        registry: Some(registry.url()),
        credentials: Some("env:NPM_TOKEN".to_owned()),
        packages: Vec::new(),
        access: Some("public".to_owned()),
        dist_tag: None,
    });
    let rel = release(root.path(), "1.2.0");
    assert_eq!(plan(&channel, &rel).len(), 1);
    assert!(registry.server.log().is_empty(), "plan touches nothing");

    let receipt = publish(&channel, &rel).expect("publish");
    assert_eq!(
        receipt.items,
        vec![format!(
            "@acme/lexer 1.2.0 published to {} with dist-tag latest",
            registry.url()
        )]
    );
    assert_eq!(registry.versions("@acme/lexer"), vec!["1.2.0".to_owned()]);
    assert_eq!(
        registry.tarballs(),
        vec!["@acme/lexer/lexer-1.2.0.tgz".to_owned()]
    );
    let puts = registry.server.requests("PUT").len();
    assert_eq!(puts, 1);
    let again = publish(&channel, &rel).expect("again");
    assert_eq!(again.items, vec!["@acme/lexer 1.2.0 already published"]);
    assert_eq!(
        registry.server.requests("PUT").len(),
        puts,
        "no second publish"
    );

    // A pre-release goes out under `next`.
    std::fs::write(root.path().join("package.json"), manifest("1.3.0-rc.1")).expect("write");
    git(
        root.path(),
        home.path(),
        &["commit", "--quiet", "-am", "chore: rc"],
    );
    git(root.path(), home.path(), &["tag", "v1.3.0-rc.1"]);
    let rc = release(root.path(), "1.3.0-rc.1");
    assert!(
        plan(&channel, &rc)[0].contains("--tag next"),
        "{:?}",
        plan(&channel, &rc)
    );
    publish(&channel, &rc).expect("publish rc");
    let tags = registry.dist_tags("@acme/lexer");
    assert_eq!(tags.get("next").map(String::as_str), Some("1.3.0-rc.1"));
    assert_eq!(tags.get("latest").map(String::as_str), Some("1.2.0"));

    let back = withdrawal(root.path(), "1.2.0");
    assert_eq!(
        withdraw_plan(&channel, &back)
            .expect("planned")
            .automatic
            .len(),
        1
    );
    assert_eq!(
        withdraw(&channel, &back).expect("deprecate"),
        vec!["deprecated @acme/lexer 1.2.0: rolled back: INC-7"]
    );
    assert_eq!(
        registry.deprecated("@acme/lexer", "1.2.0").as_deref(),
        Some("rolled back: INC-7")
    );
    assert_eq!(registry.deprecated("@acme/lexer", "1.3.0-rc.1"), None);
    assert_eq!(
        withdraw(&channel, &back).expect("again"),
        vec!["@acme/lexer 1.2.0 already deprecated"]
    );
}

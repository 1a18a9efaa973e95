//! Packages in real repositories: which commits are whose, what groups
//! and dependencies do to the next version.

use std::path::Path;

use crate::test_git::git;
use crate::versioning::NextRequest;
use crate::workspace::Workspace;

struct Mono {
    dir: tempfile::TempDir,
    time: std::cell::Cell<u64>,
}

impl Mono {
    fn new(config: &str) -> Mono {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("repo")).expect("repo");
        let mono = Mono {
            dir,
            time: std::cell::Cell::new(1_700_000_000),
        };
        mono.git(&["init", "-q"]);
        mono.write("trainyard.yaml", config);
        mono
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    fn git(&self, args: &[&str]) -> String {
        git(&self.root(), self.dir.path(), args)
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        let full = self.root().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("dirs");
        crate::fsutil::write_atomic(&full, text.as_bytes()).expect("write");
        self
    }

    /// Commits everything with a fixed, increasing date.
    fn commit(&self, message: &str) -> String {
        let t = self.time.get() + 60;
        self.time.set(t);
        let date = format!("@{t} +0000");
        self.git(&["add", "-A"]);
        self.git(&[
            "-c",
            &format!("core.hooksPath={}", Path::new("/nonexistent").display()),
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            "--date",
            &date,
        ]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn ws(&self) -> Workspace {
        Workspace::open(&self.root(), None).expect("workspace")
    }

    fn next_of(&self, package: &str) -> crate::versioning::NextReport {
        let view = self.ws().for_package(package).expect("package");
        super::plan::next_of(&view, &NextRequest::default()).expect("next")
    }
}

fn crate_toml(name: &str, deps: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n{deps}")
}

const TWO: &str = "packages:\n  - name: a\n    path: crates/a\n  - name: b\n    path: crates/b\n";

#[test]
fn a_commit_belongs_to_the_packages_whose_paths_it_changes() {
    let m = Mono::new(&format!(
        "{TWO}package_paths:\n  shared: [Cargo.lock]\n  ignored: [\"**/*.md\"]\n"
    ));
    m.write("crates/a/Cargo.toml", &crate_toml("a", ""))
        .write("crates/b/Cargo.toml", &crate_toml("b", ""));
    m.commit("chore: start");
    m.git(&["tag", "a-v0.1.0"]);
    m.git(&["tag", "b-v0.1.0"]);
    m.write("crates/a/src.rs", "a");
    let only_a = m.commit("feat: a only");
    m.write("crates/b/README.md", "docs");
    m.commit("feat: b's readme, ignored");
    m.write("Cargo.lock", "lock");
    let shared = m.commit("fix: the lock, shared");
    m.write("docs/guide.txt", "guide");
    m.commit("feat: no package's");
    let ids = |r: &crate::versioning::NextReport| -> Vec<String> {
        r.commits.iter().map(|c| c.id.clone()).collect()
    };
    let a = m.next_of("a");
    assert_eq!(ids(&a), vec![shared.clone(), only_a]);
    assert_eq!(
        a.next.as_ref().map(ToString::to_string).as_deref(),
        Some("0.2.0")
    );
    let b = m.next_of("b");
    assert_eq!(ids(&b), vec![shared]);
    assert_eq!(
        b.next.as_ref().map(ToString::to_string).as_deref(),
        Some("0.1.1")
    );
    assert!(
        a.notes.iter().all(|n| !n.contains("b-v0.1.0")),
        "another package's tags are not noted: {:?}",
        a.notes
    );
}

/// The walk that reads trees in batches on several threads, in the order
/// the pack's delta chains run, says what reading one commit at a time
/// says: for any batch size, with loose objects, with the pack
/// `git fast-import` writes and with the one `git repack -adf` writes.
#[test]
fn attribution_in_batches_agrees_with_one_commit_at_a_time() {
    let config =
        format!("{TWO}  - name: c\n    path: crates/c\npackage_paths:\n  shared: [Cargo.lock]\n");
    let m = Mono::new(&config);
    for n in 0..60 {
        let package = ["a", "b", "c"][n % 3];
        m.write(
            &format!("crates/{package}/src/f{}.rs", n % 7),
            &format!("{n}"),
        );
        if n % 5 == 0 {
            m.write("crates/b/src/shared.rs", &format!("{n}"));
        }
        if n % 11 == 0 {
            m.write("Cargo.lock", &format!("{n}"));
        }
        m.commit(&format!("feat: change {n}"));
    }
    let expected = |ws: &Workspace| -> Vec<Vec<bool>> {
        let units = crate::packages::units(&ws.config);
        let refs: Vec<&crate::packages::Unit> = units.iter().collect();
        let mut one = crate::packages::attribution::Attributor::new(
            &ws.repo,
            &refs,
            &ws.config.package_paths,
        )
        .expect("attributor");
        let tip = ws.repo.resolve("HEAD").expect("tip");
        let commits = ws.repo.walk_all(tip).expect("walk");
        commits
            .iter()
            .map(|c| one.units_of(c).expect("units"))
            .collect()
    };
    // The same history as `git fast-import` packs it.
    let imported = m.dir.path().join("imported");
    std::fs::create_dir_all(&imported).expect("imported");
    let stream = m.git(&["fast-export", "--all"]) + "\n";
    git(&imported, m.dir.path(), &["init", "-q"]);
    crate::test_git::git_with_input(
        &imported,
        m.dir.path(),
        &["fast-import", "--quiet"],
        stream.as_bytes(),
    );
    git(&imported, m.dir.path(), &["reset", "-q", "--hard", "main"]);
    let layouts = [
        ("fast-import", imported),
        ("loose objects", m.root()),
        ("git repack -adf", m.root()),
    ];
    for (layout, dir) in layouts {
        if layout == "git repack -adf" {
            m.git(&["repack", "-adf", "-q"]);
        }
        let ws = Workspace::open(&dir, None).expect("workspace");
        let want = expected(&ws);
        assert!(want.iter().any(|u| u.iter().filter(|b| **b).count() > 1));
        let units = crate::packages::units(&ws.config);
        let tip = ws.repo.resolve("HEAD").expect("tip");
        let newest: Vec<(usize, gix::ObjectId)> = ws
            .repo
            .walk_all(tip)
            .expect("walk")
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.tree))
            .take(20)
            .collect();
        assert_eq!(
            super::history::chains_run_to_older(&ws.repo, &newest),
            layout == "fast-import",
            "{layout}: which way the delta chains run"
        );
        for batch in [1, 4, 9, 61, 2048] {
            let (_, got) =
                super::history::walk_and_attribute(&ws, &units, tip, batch).expect("walk");
            assert_eq!(got, want, "batches of {batch}, {layout}");
        }
    }
}

#[test]
fn a_scope_makes_a_commit_a_package_s_wherever_it_changes_files() {
    let m = Mono::new(
        "packages:\n  - name: a\n    path: crates/a\n    scopes: [core]\n  - name: b\n    path: crates/b\n",
    );
    m.write("crates/a/Cargo.toml", &crate_toml("a", ""))
        .write("crates/b/Cargo.toml", &crate_toml("b", ""));
    m.commit("chore: start");
    m.git(&["tag", "a-v0.1.0"]);
    m.write("ci.yml", "ci");
    m.commit("feat(core): a feature whose files are elsewhere");
    assert_eq!(m.next_of("a").bump.as_str(), "minor");
}

#[test]
fn a_linked_group_releases_with_the_strongest_bump_and_a_dependent_follows() {
    let m = Mono::new(&format!(
        "{TWO}  - name: c\n    path: crates/c\ngroups:\n  - name: pair\n    kind: linked\n    members: [a, b]\n"
    ));
    m.write("crates/a/Cargo.toml", &crate_toml("a", ""))
        .write("crates/b/Cargo.toml", &crate_toml("b", ""))
        .write(
            "crates/c/Cargo.toml",
            &crate_toml(
                "c",
                "\n[dependencies]\nb = { path = \"../b\", version = \"0.1.0\" }\n",
            ),
        );
    m.commit("chore: start");
    for tag in ["a-v0.1.0", "b-v0.1.0", "c-v0.1.0"] {
        m.git(&["tag", tag]);
    }
    m.write("crates/a/new.rs", "a");
    m.commit("feat: a feature in a");
    let b = m.next_of("b");
    assert_eq!(
        b.next.as_ref().map(ToString::to_string).as_deref(),
        Some("0.2.0")
    );
    assert!(b.commits.is_empty(), "b's own commits: none");
    assert!(
        b.because[0].contains("linked group `pair`"),
        "{:?}",
        b.because
    );
    let c = m.next_of("c");
    assert_eq!(
        c.next.as_ref().map(ToString::to_string).as_deref(),
        Some("0.1.1")
    );
    assert_eq!(c.because, vec!["dependency b 0.1.0 → 0.2.0".to_owned()]);
    // Once b is released, c still owes a release until it makes one.
    m.git(&["tag", "a-v0.2.0"]);
    m.git(&["tag", "b-v0.2.0"]);
    let c = m.next_of("c");
    assert_eq!(c.because, vec!["dependency b 0.1.0 → 0.2.0".to_owned()]);
    m.git(&["tag", "c-v0.1.1"]);
    assert!(!m.next_of("c").release_needed);
}

#[test]
fn a_fixed_group_is_one_unit_and_its_members_name_it() {
    let m = Mono::new(
        "packages:\n  - name: x\n    path: packages/x\n  - name: y\n    path: packages/y\ngroups:\n  - name: all\n    kind: fixed\n    members: [x, y]\n",
    );
    m.write(
        "packages/x/package.json",
        "{\"name\": \"x\", \"version\": \"1.0.0\"}\n",
    )
    .write(
        "packages/y/package.json",
        "{\"name\": \"y\", \"version\": \"1.0.0\"}\n",
    );
    m.commit("chore: start");
    m.git(&["tag", "v1.0.0"]);
    m.write("packages/y/index.js", "y");
    m.commit("fix: y");
    let view = m.ws().for_package("x").expect("a member names its group");
    assert_eq!(view.package.as_ref().map(|u| u.name.as_str()), Some("all"));
    assert_eq!(
        view.tag_name(&crate::version::parse("1.0.1").unwrap()),
        "v1.0.1"
    );
    assert_eq!(view.manifests().expect("manifests").len(), 2);
    assert_eq!(
        m.next_of("all")
            .next
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("1.0.1")
    );
}

#[test]
fn an_unknown_package_names_those_there_are() {
    let m = Mono::new(TWO);
    m.commit("chore: start");
    let err = m.ws().for_package("zz").err().expect("unknown").to_string();
    assert!(
        err.contains("no such package or fixed group (there are: a, b)"),
        "{err}"
    );
}

#[test]
fn configuration_errors_name_the_key() {
    let cases = [
        (
            "packages:\n  - name: a\n    path: ../a\n",
            "packages[0].path",
        ),
        (
            "packages:\n  - name: a\n    path: a\n  - name: a\n    path: b\n",
            "used twice",
        ),
        (
            "packages:\n  - name: a\n    path: a\ngroups:\n  - name: g\n    kind: fixed\n    members: [b]\n",
            "groups[0].members[0]: `b` is not a package",
        ),
        (
            "packages:\n  - name: a\n    path: a\n    tag_format: \"{version}-{name}\"\n",
            "must end with {version}",
        ),
    ];
    for (text, wanted) in cases {
        let err = crate::config::parse(text, Path::new("trainyard.yaml"))
            .expect_err("invalid")
            .to_string();
        assert!(err.contains(wanted), "{text}: {err}");
        assert!(err.starts_with("trainyard.yaml:"), "{err}");
    }
}

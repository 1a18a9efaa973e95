//! Monorepos: a generated history of packages released on their own, a
//! fixed group and a dependency, checked release by release against the
//! generator's record and against `git log`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::TestRepo;

/// One release the generator made.
struct Release {
    unit: String,
    tag: String,
    previous: String,
    paths: Vec<String>,
}

/// A monorepo from `bench/gen-monorepo.py`: three independent packages
/// (p01 depends on p00) and a fixed group `fx` of two.
fn generate(repo: &TestRepo) -> (PathBuf, Vec<Release>) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/gen-monorepo.py");
    let dir = repo.home().join("mono");
    let status = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .args(["--commits", "360", "--seed", "5"])
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", repo.home().join(".gitconfig"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator (install python3 to run the tests)");
    assert!(status.success());
    let tsv = std::fs::read_to_string(dir.join(".git/expected-releases.tsv")).expect("record");
    let releases = tsv
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Release {
                unit: cols[0].to_owned(),
                tag: cols[1].to_owned(),
                previous: cols[2].to_owned(),
                paths: cols[3].split(' ').map(str::to_owned).collect(),
            }
        })
        .collect();
    (dir, releases)
}

fn git(repo: &TestRepo, dir: &Path, args: &[&str]) -> String {
    repo.git_in(dir, args)
}

fn version_of(tag: &str) -> &str {
    &tag[tag.rfind("-v").expect("a package tag") + 2..]
}

#[test]
fn every_package_release_has_its_own_commits_and_the_version_its_tag_has() {
    let repo = TestRepo::new();
    let (dir, releases) = generate(&repo);
    for unit in ["p00", "p01", "p02", "fx"] {
        assert!(
            releases.iter().filter(|r| r.unit == unit).count() >= 3,
            "the fixture releases {unit} several times"
        );
    }
    assert!(
        releases
            .iter()
            .any(|r| r.unit == "p01" && !r.previous.is_empty()),
        "the dependent package is released after its first release"
    );
    // Each release's changelog holds exactly its package's commits.
    for release in &releases {
        let run = repo.run_in(
            &dir,
            &[
                "--package",
                &release.unit,
                "changelog",
                "--version",
                version_of(&release.tag),
                "--json",
            ],
            None,
        );
        assert_eq!(run.code(), 0, "{}", run.stderr());
        let json = run.json();
        let mut listed: Vec<String> = json["releases"][0]["commits"]
            .as_array()
            .expect("commits")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect();
        let range = if release.previous.is_empty() {
            release.tag.clone()
        } else {
            format!("{}..{}", release.previous, release.tag)
        };
        let mut args = vec!["log", "--no-merges", "--format=%H", range.as_str(), "--"];
        args.extend(release.paths.iter().map(String::as_str));
        let log = git(&repo, &dir, &args);
        let mut expected: Vec<String> = log.lines().map(str::to_owned).collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "the commits of {}", release.tag);
    }
    // Every release's version is what `version next` gives at its commit
    // once that tag and the package's later ones are gone.
    for release in releases.iter().rev() {
        let commit = git(
            &repo,
            &dir,
            &["rev-parse", &format!("{}^{{commit}}", release.tag)],
        );
        git(&repo, &dir, &["tag", "-d", &release.tag]);
        let run = repo.run_in(
            &dir,
            &[
                "--package",
                &release.unit,
                "version",
                "next",
                "--rev",
                commit.trim(),
            ],
            None,
        );
        assert_eq!(run.code(), 0, "{}", run.stderr());
        assert_eq!(
            run.stdout().trim(),
            version_of(&release.tag),
            "{} at {}: {}",
            release.unit,
            release.tag,
            run.stderr()
        );
    }
}

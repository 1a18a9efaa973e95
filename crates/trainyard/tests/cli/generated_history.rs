//! The bump of every release of a generated history, checked against the
//! generator's own record (`.git/expected-bumps.tsv`).

use std::path::PathBuf;
use std::process::Command;

use crate::support::TestRepo;

/// The generator in `../shared/bench/`, beside the repository, as in CI.
/// Without it (or without python3) these tests fail rather than pass
/// untested.
fn generator() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen-history.py");
    assert!(
        path.is_file(),
        "{} is missing: check out ../shared beside the repository",
        path.display()
    );
    assert!(
        Command::new("python3").arg("--version").output().is_ok(),
        "python3 is needed to run {}",
        path.display()
    );
    path
}

pub struct Expected {
    pub tag: String,
    pub bump: String,
}

pub fn generate(repo: &TestRepo, commits: u32) -> (PathBuf, Vec<Expected>) {
    let generator = generator();
    let dir = repo.home().join("generated");
    let status = Command::new("python3")
        .arg(generator)
        .arg(&dir)
        .args(["--commits", &commits.to_string(), "--seed", "11"])
        .env("HOME", repo.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", repo.home().join(".gitconfig"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    let tsv = std::fs::read_to_string(dir.join(".git/expected-bumps.tsv")).expect("expected bumps");
    let expected = tsv
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Expected {
                tag: cols[0].to_owned(),
                bump: cols[2].to_owned(),
            }
        })
        .collect();
    (dir, expected)
}

#[test]
fn history_agrees_with_every_generated_release() {
    let repo = TestRepo::new();
    let (dir, expected) = generate(&repo, 4000);
    assert!(expected.len() > 50, "enough releases to mean something");
    let run = repo.run_in(&dir, &["--json", "version", "history", "--check"], None);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let report = run.json();
    let releases = report["releases"].as_array().expect("releases");
    assert_eq!(releases.len(), expected.len());
    for (release, want) in releases.iter().zip(&expected) {
        assert_eq!(release["tag"], want.tag.as_str());
        assert_eq!(release["bump"], want.bump.as_str(), "{release}");
        assert_eq!(release["matches"], true, "{release}");
    }
    assert_eq!(report["commits"], 4000);
}

#[test]
fn next_at_each_release_commit_gives_that_release() {
    let repo = TestRepo::new();
    let (dir, expected) = generate(&repo, 2500);
    let git = |args: &[&str]| repo.git_in(&dir, args);
    // Newest first: delete the tag and every later one, then ask for the
    // next version at the tag's commit.
    for want in expected.iter().rev() {
        let commit = git(&["rev-list", "-n", "1", &want.tag]);
        let later: Vec<String> = git(&["tag", "--list"])
            .lines()
            .filter(|t| tag_version_at_least(t, &want.tag))
            .map(str::to_owned)
            .collect();
        let mut args = vec!["tag", "-d"];
        args.extend(later.iter().map(String::as_str));
        git(&args);
        let run = repo.run_in(&dir, &["--json", "version", "next", "--rev", &commit], None);
        assert_eq!(run.code(), 0, "{}: {}", want.tag, run.stderr());
        let next = run.json();
        assert_eq!(next["next_tag"], want.tag.as_str(), "{next}");
        if want.bump != "initial" {
            assert_eq!(next["bump"], want.bump.as_str(), "{}", want.tag);
        }
    }
}

/// Whether tag `t` is `reference` or a later release or pre-release of a
/// later version (the generator's versions only go up).
fn tag_version_at_least(t: &str, reference: &str) -> bool {
    let parse = |s: &str| -> Option<(u64, u64, u64, bool)> {
        let s = s.strip_prefix('v')?;
        let (core, pre) = match s.split_once('-') {
            Some((c, _)) => (c, true),
            None => (s, false),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        Some((parts.next()??, parts.next()??, parts.next()??, pre))
    };
    match (parse(t), parse(reference)) {
        (Some((a, b, c, pre)), Some((x, y, z, _))) => {
            (a, b, c) > (x, y, z) || ((a, b, c) == (x, y, z) && !pre)
        }
        _ => false,
    }
}

//! The fallback without a forge: the local and remote-tracking branches
//! not merged into the release yet.

use std::path::Path;

use crate::{Error, Result, git_cli};

/// Local branches matching any of `patterns` (globs such as `feature/*`,
/// where `*` also matches `/` as in `git branch --list`) whose tip is not
/// merged into `target` (a branch, tag or commit), sorted. An empty
/// `patterns` matches no branch.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid pattern or an unknown
/// `target`, and an [`Error::Environment`] when git fails.
pub fn unmerged_branches(
    repo_root: &Path,
    patterns: &[String],
    target: &str,
) -> Result<Vec<String>> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::Glob::new(pattern)
            .map_err(|e| Error::input(format!("invalid branch pattern `{pattern}`: {e}")))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| Error::input(format!("invalid branch patterns: {e}")))?;
    if target.is_empty() || target.starts_with('-') {
        return Err(Error::input(format!(
            "`{target}` is not a revision to compare branches with"
        )));
    }
    if git_cli::run(
        repo_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{target}^{{commit}}"),
        ],
    )
    .is_err()
    {
        return Err(Error::input(format!(
            "`{target}` is not a commit in {}: cannot tell which branches are merged",
            repo_root.display()
        )));
    }
    let out = git_cli::run(
        repo_root,
        &[
            "for-each-ref",
            &format!("--no-merged={target}"),
            "--format=%(refname)",
            "refs/heads/",
            "refs/remotes/",
        ],
    )?;
    // A remote-tracking branch `origin/fix/x` is pending work like a local
    // `fix/x`: the patterns match the name after the remote's.
    let mut branches: Vec<String> = out
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            if let Some(local) = line.strip_prefix("refs/heads/") {
                return set.is_match(local).then(|| local.to_owned());
            }
            let remote = line.strip_prefix("refs/remotes/")?;
            let (_, name) = remote.split_once('/')?;
            (name != "HEAD" && set.is_match(name)).then(|| remote.to_owned())
        })
        .collect();
    branches.sort();
    branches.dedup();
    Ok(branches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_git::git;
    use std::path::PathBuf;

    fn repo_with_branches() -> (tempfile::TempDir, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let repo = home.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, home.path(), &["init", "--quiet"]);
        git(
            &repo,
            home.path(),
            &["commit", "--quiet", "--allow-empty", "-m", "initial"],
        );
        for (branch, merged) in [
            ("feature/done", true),
            ("feature/open", false),
            ("feature/deep/nested", false),
            ("fix/bug", false),
            ("experiment", false),
        ] {
            git(
                &repo,
                home.path(),
                &["checkout", "--quiet", "-b", branch, "main"],
            );
            git(
                &repo,
                home.path(),
                &["commit", "--quiet", "--allow-empty", "-m", branch],
            );
            git(&repo, home.path(), &["checkout", "--quiet", "main"]);
            if merged {
                git(
                    &repo,
                    home.path(),
                    &["merge", "--quiet", "--no-ff", "-m", "merge", branch],
                );
            }
        }
        (home, repo)
    }

    #[test]
    fn unmerged_branches_lists_matching_branches_not_merged() {
        let (home, repo) = repo_with_branches();
        let patterns = vec!["feature/*".to_owned(), "fix/*".to_owned()];
        let branches = unmerged_branches(&repo, &patterns, "main").unwrap();
        assert_eq!(branches, ["feature/deep/nested", "feature/open", "fix/bug"]);

        // Against a commit id; after merging, the branch is gone from the list.
        git(
            &repo,
            home.path(),
            &["merge", "--quiet", "--no-ff", "-m", "merge", "fix/bug"],
        );
        let head = git(&repo, home.path(), &["rev-parse", "HEAD"]);
        let branches = unmerged_branches(&repo, &patterns, &head).unwrap();
        assert_eq!(branches, ["feature/deep/nested", "feature/open"]);

        assert!(unmerged_branches(&repo, &[], "main").unwrap().is_empty());
    }

    #[test]
    fn unmerged_branches_include_remote_tracking_ones() {
        let (home, repo) = repo_with_branches();
        // A clone's view: branches of `origin` that were never checked out
        // here, one merged, two not, and the remote's HEAD.
        let bare = home.path().join("origin.git");
        git(
            &repo,
            home.path(),
            &[
                "clone",
                "--quiet",
                "--bare",
                repo.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        let clone = home.path().join("clone");
        git(
            &repo,
            home.path(),
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
        let branches = unmerged_branches(&clone, &["fix/*".to_owned()], "main").unwrap();
        assert_eq!(branches, ["origin/fix/bug"]);
        let all = ["feature/*".to_owned(), "fix/*".to_owned()];
        let branches = unmerged_branches(&clone, &all, "main").unwrap();
        assert_eq!(
            branches,
            [
                "origin/feature/deep/nested",
                "origin/feature/open",
                "origin/fix/bug"
            ]
        );
    }

    #[test]
    fn unmerged_branches_errors() {
        let (_home, repo) = repo_with_branches();
        let err = unmerged_branches(&repo, &["feature/*".to_owned()], "nope").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "`nope` is not a commit in {}: cannot tell which branches are merged",
                repo.display()
            )
        );
        let err = unmerged_branches(&repo, &["feature/*".to_owned()], "--all").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--all` is not a revision to compare branches with"
        );
        let err = unmerged_branches(&repo, &["feature/[".to_owned()], "main").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(
            err.to_string()
                .starts_with("invalid branch pattern `feature/[`: "),
            "{err}"
        );
    }
}

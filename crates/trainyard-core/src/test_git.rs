//! Test support: git run isolated from the user's configuration, with a
//! fixed identity and signing off.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

/// Runs git in `dir` with `home/gitconfig` as the global configuration;
/// returns its trimmed stdout and fails the test when git fails.
pub(crate) fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let global = home.join("gitconfig");
    if !global.exists() {
        std::fs::write(&global, "").expect("write gitconfig");
    }
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Release Bot",
            "-c",
            "user.email=bot@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

//! Test support: git run isolated from the user's configuration, with a
//! fixed identity and signing off.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

/// Runs git in `dir` with `home/gitconfig` as the global configuration;
/// returns its trimmed stdout and fails the test when git fails.
pub(crate) fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    git_with_input(dir, home, args, b"")
}

/// As [`git`], with `input` on git's standard input.
pub(crate) fn git_with_input(dir: &Path, home: &Path, args: &[&str], input: &[u8]) -> String {
    use std::io::Write as _;
    let global = home.join("gitconfig");
    if !global.exists() {
        std::fs::write(&global, "").expect("write gitconfig");
    }
    let mut out = Command::new("git")
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
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("git");
    let mut stdin = out.stdin.take().expect("stdin");
    let writer = std::thread::scope(|scope| {
        let writing = scope.spawn(move || stdin.write_all(input));
        let out = out.wait_with_output().expect("git");
        (writing.join().expect("writer"), out)
    });
    let (written, out) = writer;
    written.expect("git reads its input");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

//! Test fixtures: real git repositories in temporary directories, with
//! fixed identities and dates so that commit ids are the same on every run,
//! and signing off.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A git repository in a temporary directory.
pub struct TestRepo {
    dir: TempDir,
    clock: std::cell::Cell<u64>,
}

/// The instant every test run takes as now.
pub const NOW: &str = "2027-01-13T10:00:00Z";

/// Environment that isolates git from the user's configuration.
fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("NO_COLOR", "1")
        // A fixed "now": today's phase, release dates of untagged versions.
        .env("TRAINYARD_NOW", NOW)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TRAINYARD_SIGNING_KEY")
        .env_remove("TRAINYARD_PACKAGE")
        // Tests that run inside GitHub Actions must not write the job's
        // own outputs.
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY");
}

impl TestRepo {
    /// An empty repository on branch `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("repo")).expect("repo dir");
        std::fs::write(
            dir.path().join(".gitconfig"),
            "[user]\n\tname = Test Person\n\temail = test@example.org\n\
             [commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n\
             [init]\n\tdefaultBranch = main\n",
        )
        .expect("gitconfig");
        let repo = TestRepo {
            dir,
            clock: std::cell::Cell::new(1_700_000_000),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// The working tree.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The temporary home, outside the working tree.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository and returns its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path(), args)
    }

    /// Runs git in `dir` with this repository's isolated environment.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let time = self.clock.get();
        self.clock.set(time + 60);
        let date = format!("@{time} +0000");
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        isolate(&mut cmd, self.home());
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Writes a file (creating directories) in the working tree.
    pub fn write(&self, path: &str, content: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
        self
    }

    /// Commits everything (or nothing) with `message`; returns the id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Commits everything with `message` at a given UTC instant
    /// (`2026-01-16T12:00:00Z`); returns the id.
    pub fn commit_at(&self, message: &str, instant: &str) -> String {
        self.git(&["add", "-A"]);
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path())
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_DATE", instant)
            .env("GIT_COMMITTER_DATE", instant);
        isolate(&mut cmd, self.home());
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs trainyard with extra environment variables.
    pub fn run_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainyard"));
        cmd.current_dir(self.path()).args(args);
        isolate(&mut cmd, self.home());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("trainyard runs");
        Run {
            output,
            root: self.dir.path().to_path_buf(),
        }
    }

    /// A trainyard command in the working tree with this repository's
    /// isolated environment, to spawn and wait on.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainyard"));
        cmd.current_dir(self.path()).args(args);
        isolate(&mut cmd, self.home());
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts trainyard in the working tree with extra environment
    /// variables, without waiting for it: [`Started::finish`] waits.
    pub fn start(&self, args: &[&str], vars: &[(&str, &str)]) -> Started {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainyard"));
        cmd.current_dir(self.path()).args(args);
        isolate(&mut cmd, self.home());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Started {
            child: cmd.spawn().expect("trainyard runs"),
            root: self.dir.path().to_path_buf(),
        }
    }

    /// Runs trainyard under a `umask` (octal, e.g. `022`), set by a shell
    /// that then runs the binary.
    pub fn run_umask(&self, umask: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new("sh");
        cmd.current_dir(self.path())
            .arg("-c")
            .arg("umask \"$1\"; shift; exec \"$@\"")
            .arg("sh")
            .arg(umask)
            .arg(env!("CARGO_BIN_EXE_trainyard"))
            .args(args);
        isolate(&mut cmd, self.home());
        let output = cmd.output().expect("trainyard runs");
        Run {
            output,
            root: self.dir.path().to_path_buf(),
        }
    }

    /// Tags HEAD (annotated, like most release tags).
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-a", name, "-m", name]);
        self
    }

    /// Runs trainyard in the working tree.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(&self.path(), args, None)
    }

    /// Runs trainyard in `dir` with `stdin`.
    pub fn run_in(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainyard"));
        cmd.current_dir(dir).args(args);
        isolate(&mut cmd, self.home());
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("trainyard runs");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        drop(child.stdin.take());
        let output = child.wait_with_output().expect("trainyard finishes");
        Run {
            output,
            root: self.dir.path().to_path_buf(),
        }
    }

    /// Every file under the working tree (`.git` included) with its
    /// bytes, to prove a command changed nothing.
    pub fn tree_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot_dir(&self.path())
    }

    /// `snapshot` without the evidence anchor, which every evidence write
    /// moves on: `.git/refs/trainyard/` and the loose objects reachable
    /// from `refs/trainyard/evidence` now.
    pub fn without_anchor(&self, snapshot: &[(PathBuf, Vec<u8>)]) -> Vec<(PathBuf, Vec<u8>)> {
        let git_dir = self.path().join(".git");
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path()).args([
            "rev-list",
            "--objects",
            "--ignore-missing",
            "refs/trainyard/evidence",
            "--",
        ]);
        isolate(&mut cmd, self.home());
        let out = cmd.output().expect("git runs");
        let objects: std::collections::HashSet<PathBuf> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|oid| oid.len() > 2)
            .map(|oid| git_dir.join("objects").join(&oid[..2]).join(&oid[2..]))
            .collect();
        snapshot
            .iter()
            .filter(|(p, _)| !p.starts_with(git_dir.join("refs/trainyard")) && !objects.contains(p))
            .cloned()
            .collect()
    }
}

/// A trainyard run started by [`TestRepo::start`].
pub struct Started {
    child: std::process::Child,
    root: PathBuf,
}

impl Started {
    /// Waits for the run to end.
    pub fn finish(self) -> Run {
        Run {
            output: self.child.wait_with_output().expect("trainyard finishes"),
            root: self.root,
        }
    }
}

/// Every file's path and bytes under `root`, in path order.
pub fn snapshot_dir(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_type().expect("type").is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "trainyard.lock") {
                // The run lock lives in .git and is created by any run
                // that may write; it holds no content.
                continue;
            } else {
                entries.push((path.clone(), std::fs::read(&path).expect("read file")));
            }
        }
    }
    entries.sort();
    entries
}

/// Asserts two tree snapshots are byte-identical, naming the paths that
/// differ.
pub fn assert_unchanged(before: &[(PathBuf, Vec<u8>)], after: &[(PathBuf, Vec<u8>)]) {
    let paths = |s: &[(PathBuf, Vec<u8>)]| s.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(paths(before), paths(after), "files added or removed");
    let changed: Vec<_> = before
        .iter()
        .zip(after)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0.display().to_string())
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
}

/// The outcome of one trainyard run.
pub struct Run {
    pub output: Output,
    root: PathBuf,
}

impl Run {
    /// The exit code.
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// Stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// Stderr with the temporary paths replaced, for snapshots.
    pub fn stderr_clean(&self) -> String {
        self.clean(self.stderr())
    }

    fn clean(&self, text: String) -> String {
        text.replace(&self.root.display().to_string(), "[TMP]")
    }

    /// Exit code, stdout and stderr with the temporary paths replaced, for
    /// snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code(),
            self.clean(self.stdout()),
            self.clean(self.stderr())
        )
    }
}

/// The key structure of a YAML document: one line per mapping key,
/// indented as in the document; a list item's first key keeps its `- `,
/// so the items of a list and their keys show. Used to check that
/// evidence documents carry the spec's keys exactly.
pub fn yaml_keys(yaml: &str) -> String {
    yaml.lines()
        .filter_map(|l| {
            let indent = l.len() - l.trim_start().len();
            let mut rest = l.trim_start();
            let mut dashes = String::new();
            while let Some(after) = rest.strip_prefix("- ") {
                dashes.push_str("- ");
                rest = after.trim_start();
            }
            let (key, _) = rest.split_once(':')?;
            // A key is a plain word; a scalar item such as `- https://...`
            // or a line of a block text is none.
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            plain.then(|| format!("{}{dashes}{key}", " ".repeat(indent)))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs trainyard and asserts it succeeded.
pub fn ok(repo: &TestRepo, args: &[&str]) -> Run {
    let run = repo.run(args);
    assert_eq!(run.code(), 0, "{args:?}: {}", run.transcript());
    run
}

/// Signs off what a release's validation needs: both review layers (two
/// people) and the notes (RL-08).
pub fn sign_everything(repo: &TestRepo, version: &str) {
    for (item, layer, by) in [
        ("review", Some("1"), "ada@example.org"),
        ("review", Some("2"), "grace@example.org"),
        ("RL-08", None, "ada@example.org"),
    ] {
        let mut args = vec!["signoff", version, "--item", item, "--by", by];
        if let Some(layer) = layer {
            args.extend(["--layer", layer]);
        }
        ok(repo, &args);
    }
}

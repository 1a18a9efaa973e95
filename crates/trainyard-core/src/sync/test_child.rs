//! Runs a sync test again as a child process, for the sync tests that
//! need a process of their own: one to kill at a journal step, several to
//! race for a lock, one without root's privileges, one in a mount
//! namespace of its own.
//!
//! The parent test re-executes the test binary with `--exact` and its own
//! full name, and with [`ROLE_ENV`] naming the child's role (parameters go
//! in further variables). Its first statement asks [`is_child`] and, in
//! the child, runs the child's body instead of its own and returns. So the
//! child's body is no test of its own: nothing is ignored, and nothing
//! passes without its parent.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Names the role of a child process; unset in the parent.
pub(crate) const ROLE_ENV: &str = "TRAINYARD_TEST_CHILD";

/// Whether this process is a child in `role`, to be asked first thing by
/// the parent test. Panics in a child of another role: its parent started
/// the wrong test.
pub(crate) fn is_child(role: &str) -> bool {
    match std::env::var(ROLE_ENV) {
        Ok(own) => {
            assert_eq!(own, role, "a child in role {own} ran the test of {role}");
            true
        }
        Err(_) => false,
    }
}

/// The arguments that make the test binary run only the test `test` (its
/// full path, as `--exact` wants it), printing its output.
pub(crate) fn args(test: &str) -> [&str; 4] {
    ["--exact", test, "--test-threads=1", "--nocapture"]
}

/// The test `test` again, as a child in `role`.
pub(crate) fn command(test: &str, role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(args(test)).env(ROLE_ENV, role);
    cmd
}

/// Panics unless `output` is that of a child that ran exactly one test and
/// passed: a misspelt name would otherwise run nothing and succeed.
pub(crate) fn assert_passed(output: &Output, test: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the child of {test} did not pass ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The effective user id, from `/proc/self/status`.
pub(crate) fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .expect("an effective uid in /proc/self/status")
}

/// The uid and gid a root run drops to (`nobody`).
const NOBODY: u32 = 65534;

/// A child run without root's privileges, so that file modes hold:
/// as root, through `setpriv` as `nobody`, from a copy of the test binary
/// in a directory anyone may enter (the build directory may be under a
/// private home), with a temporary directory `nobody` may write; as
/// anyone else, as is.
pub(crate) struct Unprivileged {
    _scratch: Option<tempfile::TempDir>,
    test: String,
    pub(crate) cmd: Command,
}

impl Unprivileged {
    /// The test `test` again, as a child in `role`.
    pub(crate) fn new(test: &str, role: &str) -> Self {
        if euid() != 0 {
            return Unprivileged {
                _scratch: None,
                test: test.to_owned(),
                cmd: command(test, role),
            };
        }
        let setpriv = which("setpriv").unwrap_or_else(|| {
            panic!("{test} must run without root's privileges: setpriv (util-linux) is missing")
        });
        let scratch = tempfile::Builder::new()
            .prefix("trainyard-unprivileged-")
            .tempdir_in("/tmp")
            .expect("scratch directory");
        set_mode(scratch.path(), 0o755);
        let exe = scratch.path().join("tests");
        let own = std::env::current_exe().expect("the test binary");
        if std::fs::hard_link(&own, &exe).is_err() {
            std::fs::copy(&own, &exe).expect("copy the test binary");
        }
        set_mode(&exe, 0o755);
        let tmp = scratch.path().join("tmp");
        std::fs::create_dir(&tmp).expect("tmp");
        set_mode(&tmp, 0o1777);
        let mut cmd = Command::new(setpriv);
        cmd.arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .args(["--clear-groups", "--"])
            .arg(&exe)
            .args(args(test))
            .env(ROLE_ENV, role)
            .env("TMPDIR", &tmp)
            .current_dir(&tmp);
        Unprivileged {
            _scratch: Some(scratch),
            test: test.to_owned(),
            cmd,
        }
    }

    /// Runs it; panics unless it ran and passed.
    pub(crate) fn run(mut self) {
        let output = self.cmd.output().expect("run the unprivileged child");
        assert_passed(&output, &self.test);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `program` on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

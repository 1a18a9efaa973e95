//! Runs one `#[ignore]`d test of this test binary as a child process, for
//! the sync tests that need a process of their own: one to kill at a
//! journal step, several to race for a lock, one without root's
//! privileges, one in a mount namespace of its own.
//!
//! The child tests are ignored so that a plain `cargo test` does not count
//! them as passing tests on their own; they panic when run without their
//! parent.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The child test `name` (its full path, as `--exact` wants it).
pub(crate) fn command(name: &str) -> Command {
    command_of(&std::env::current_exe().expect("the test binary"), name)
}

fn command_of(exe: &Path, name: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--ignored",
        "--exact",
        name,
        "--test-threads=1",
        "--nocapture",
    ]);
    cmd
}

/// Panics unless `output` is that of a child that ran exactly one test and
/// passed: a misspelt name would otherwise run nothing and succeed.
pub(crate) fn assert_passed(output: &Output, name: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "child test {name} did not pass ({}):\n{stdout}\n{}",
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

/// A child test run without root's privileges, so that file modes hold:
/// as root, through `setpriv` as `nobody`, from a copy of the test binary
/// in a directory anyone may enter (the build directory may be under a
/// private home), with a temporary directory `nobody` may write; as
/// anyone else, as is.
pub(crate) struct Unprivileged {
    _scratch: Option<tempfile::TempDir>,
    pub(crate) cmd: Command,
}

impl Unprivileged {
    pub(crate) fn new(name: &str) -> Self {
        if euid() != 0 {
            return Unprivileged {
                _scratch: None,
                cmd: command(name),
            };
        }
        let setpriv = which("setpriv").unwrap_or_else(|| {
            panic!("{name} must run without root's privileges: setpriv (util-linux) is missing")
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
            .args(command_of(&exe, name).get_args())
            .env("TMPDIR", &tmp)
            .current_dir(&tmp);
        Unprivileged {
            _scratch: Some(scratch),
            cmd,
        }
    }

    /// Runs it; panics unless it ran and passed.
    pub(crate) fn run(mut self, name: &str) {
        let output = self.cmd.output().expect("run the unprivileged child");
        assert_passed(&output, name);
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

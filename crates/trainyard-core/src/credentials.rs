//! Credential references: where a secret lives, never the secret itself.
//!
//! Configuration names a token by reference, and only [`resolve`] reads it:
//!
//! - `env:NAME`: the value of the environment variable `NAME`, trimmed;
//! - `file:PATH`: the first line of a file, trimmed. A relative `PATH` is
//!   relative to the base directory the caller gives (the repository), and
//!   `~/` is the home directory. On unix the file must not be accessible by
//!   group or others (`chmod 600`);
//! - `command:CMD`: the first line of what `sh -c CMD` prints on stdout,
//!   run in the base directory (e.g. `command:pass show ci/github` or
//!   `command:op read op://ci/github/token`). Its stderr is the user's, so
//!   a helper's prompts and diagnostics reach them.
//!
//! A resolved [`Secret`] prints as `***` in `Debug` and `Display`, and its
//! value reaches no error message: errors name the reference (the variable,
//! the file, the command), never what it holds.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::shell::Shell;
use crate::{Error, Result};

/// The message for anything that is not a credential reference.
const NOT_A_REFERENCE: &str =
    "credential references must be env:, file: or command:, never the secret itself";

/// Prefixes of well-known token formats (GitHub, GitLab, Slack, npm, PyPI),
/// refused where a variable name is expected.
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "xoxb-",
    "xoxp-",
    "npm_",
    "pypi-",
];

/// A resolved secret, such as an API token.
///
/// It prints as `***` (in `Debug` too), is not serialisable, and its memory
/// is overwritten (best effort) when it is dropped. [`Secret::expose`] is
/// the one way to read it: call it where the secret is sent, nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value already in hand (a test token, a value read by the
    /// caller).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, to put into a request header or a child
    /// process's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// A parsed credential reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `env:NAME`.
    Env(String),
    /// `file:PATH`, as written (relative paths are resolved against the
    /// base directory by [`resolve`]).
    File(String),
    /// `command:CMD`, run through `sh -c`.
    Command(String),
}

impl Reference {
    /// Parses a reference, checking its syntax only: a known scheme, a valid
    /// variable name, a non-empty path or command. Nothing is read.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] for an unknown scheme or anything that
    /// looks like an inline secret. The message never repeats a part of
    /// the reference that could be a secret.
    pub fn parse(reference: &str) -> Result<Self> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err(Error::input(format!(
                "credential reference is empty: {NOT_A_REFERENCE}"
            )));
        }
        let Some((scheme, rest)) = reference.split_once(':') else {
            return Err(Error::input(NOT_A_REFERENCE));
        };
        match scheme {
            "env" => {
                if TOKEN_PREFIXES.iter().any(|p| rest.starts_with(p)) {
                    return Err(Error::input(format!(
                        "credential reference env:… holds what looks like a token, not a variable name: {NOT_A_REFERENCE}"
                    )));
                }
                if !is_env_name(rest) {
                    // Not echoed: an invalid name may well be a pasted secret.
                    return Err(Error::input(
                        "credential reference env:… does not name an environment variable (letters, digits and _, not starting with a digit)",
                    ));
                }
                Ok(Reference::Env(rest.to_owned()))
            }
            "file" if rest.trim().is_empty() => Err(Error::input(
                "credential reference file: names no file (write file:PATH)",
            )),
            "file" => Ok(Reference::File(rest.trim().to_owned())),
            "command" if rest.trim().is_empty() => Err(Error::input(
                "credential reference command: names no command (write command:CMD)",
            )),
            "command" => Ok(Reference::Command(rest.trim().to_owned())),
            _ if looks_like_scheme(scheme) => Err(Error::input(format!(
                "unknown credential scheme `{scheme}:`: {NOT_A_REFERENCE}"
            ))),
            _ => Err(Error::input(NOT_A_REFERENCE)),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Env(name) => write!(f, "env:{name}"),
            Reference::File(path) => write!(f, "file:{path}"),
            Reference::Command(command) => write!(f, "command:{command}"),
        }
    }
}

/// Checks the syntax of a credential reference (`env:NAME`, `file:PATH` or
/// `command:CMD`) without reading anything, for configuration validation.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unknown scheme, an invalid variable
/// name, an empty path or command, or an inline secret (a bare token):
/// "credential references must be env:, file: or command:, never the
/// secret itself".
pub fn validate_reference(reference: &str) -> Result<()> {
    Reference::parse(reference).map(|_| ())
}

/// Resolves a credential reference into its secret. `base_dir` is where
/// relative `file:` paths start and where `command:` runs (the repository).
///
/// # Errors
///
/// - [`Error::Input`] when the reference is malformed, the environment
///   variable is unset or empty, the file is missing, empty or readable by
///   group or others (on unix);
/// - [`Error::Io`] when the file exists but cannot be read;
/// - [`Error::Environment`] when the command cannot be started, exits
///   non-zero or prints nothing.
///
/// No message contains the secret or the command's output.
pub fn resolve(reference: &str, base_dir: &Path) -> Result<Secret> {
    resolve_with(reference, base_dir, &|name| std::env::var_os(name))
}

/// [`resolve`] with the environment given as a lookup function.
fn resolve_with(
    reference: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Secret> {
    match Reference::parse(reference)? {
        Reference::Env(name) => from_env(&name, env),
        Reference::File(path) => from_file(&path, base_dir, env),
        Reference::Command(command) => from_command(&command, base_dir),
    }
}

fn from_env(name: &str, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Secret> {
    let Some(value) = env(name) else {
        return Err(Error::input(format!(
            "environment variable {name} is not set (credential reference env:{name})"
        )));
    };
    let Ok(value) = value.into_string() else {
        return Err(Error::input(format!(
            "environment variable {name} is not valid UTF-8 (credential reference env:{name})"
        )));
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::input(format!(
            "environment variable {name} is empty (credential reference env:{name})"
        )));
    }
    Ok(Secret::new(trimmed))
}

fn from_file(
    written: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Secret> {
    let path = file_path(written, base_dir, env)?;
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!(
                "credential file {} does not exist (credential reference file:{written})",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io("cannot read credential file", path, e)),
    };
    check_private(&path, &metadata)?;
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io("cannot read credential file", &path, e))?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(Error::input(format!(
            "credential file {} is not valid UTF-8",
            path.display()
        )));
    };
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(Error::input(format!(
            "credential file {} is empty on its first line",
            path.display()
        )));
    }
    let secret = Secret::new(first);
    drop(Secret(text));
    Ok(secret)
}

/// Where `file:PATH` points: `~/` is the home directory, relative paths
/// start at `base_dir`.
fn file_path(
    written: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<PathBuf> {
    if let Some(rest) = written.strip_prefix("~/") {
        let Some(home) = env("HOME").filter(|h| !h.is_empty()) else {
            return Err(Error::input(format!(
                "credential reference file:{written} starts with ~/ but HOME is not set"
            )));
        };
        return Ok(PathBuf::from(home).join(rest));
    }
    Ok(base_dir.join(written))
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::input(format!(
            "credential file {} is accessible by group or others (mode {mode:04o}): run chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

fn from_command(command: &str, base_dir: &Path) -> Result<Secret> {
    // Its stdout is the secret; its stderr (a prompt, an error) the user's.
    let output = Shell::new(command, base_dir)
        .stdout_captured()
        .map_err(|e| {
            Error::environment(format!(
                "cannot run credential command `{command}` in {}: {e}",
                base_dir.display()
            ))
        })?;
    let stdout = Secret(String::from_utf8_lossy(&output.stdout).into_owned());
    let mut bytes = output.stdout;
    bytes.fill(0);
    if !output.status.success() {
        let how = match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_owned(),
        };
        return Err(Error::environment(format!(
            "credential command `{command}` {how} (its output is not shown)"
        )));
    }
    let first = stdout.expose().lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(Error::environment(format!(
            "credential command `{command}` printed nothing on its first line"
        )));
    }
    Ok(Secret::new(first))
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A short lowercase word, safe to repeat in a message (`vault`, `keyring`),
/// unlike the head of a pasted `user:password`-like secret.
fn looks_like_scheme(scheme: &str) -> bool {
    (2..=12).contains(&scheme.len()) && scheme.chars().all(|c| c.is_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    const PLANTED: &str = "ghp_PlantedSecret0123456789abcdefABCDEF";

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn env_with(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(*v))
        }
    }

    fn write_file(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
        path
    }

    #[test]
    fn secret_prints_as_stars() {
        let secret = Secret::new(PLANTED);
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), PLANTED);
    }

    #[test]
    fn env_reference_reads_the_variable_trimmed() {
        let env = env_with(&[("GITHUB_TOKEN", "  ghp_abc\n")]);
        let secret = resolve_with("env:GITHUB_TOKEN", Path::new("."), &env).unwrap();
        assert_eq!(secret.expose(), "ghp_abc");
    }

    #[test]
    fn env_reference_through_the_real_environment() {
        // PATH is set in every test environment; resolve reads it as is.
        let expected = std::env::var("PATH").unwrap();
        let secret = resolve("env:PATH", Path::new(".")).unwrap();
        assert_eq!(secret.expose(), expected.trim());
    }

    #[test]
    fn missing_env_var_is_an_input_error_naming_the_variable() {
        let err =
            resolve_with("env:TRAINYARD_TEST_UNSET_TOKEN", Path::new("."), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            "environment variable TRAINYARD_TEST_UNSET_TOKEN is not set (credential reference env:TRAINYARD_TEST_UNSET_TOKEN)"
        );
    }

    #[test]
    fn empty_env_var_is_an_input_error() {
        let env = env_with(&[("TOKEN", "  \n")]);
        let err = resolve_with("env:TOKEN", Path::new("."), &env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            "environment variable TOKEN is empty (credential reference env:TOKEN)"
        );
    }

    #[test]
    fn file_reference_reads_the_first_line_relative_to_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        write_file(
            &dir.path().join("secrets"),
            "token",
            &format!("  {PLANTED}  \nsecond line\n"),
            0o600,
        );
        let secret = resolve_with("file:secrets/token", dir.path(), &no_env).unwrap();
        assert_eq!(secret.expose(), PLANTED);
    }

    #[test]
    fn file_reference_expands_home() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "token", "from-home\n", 0o400);
        let home = dir.path().to_path_buf();
        let env = move |name: &str| (name == "HOME").then(|| home.clone().into_os_string());
        let secret = resolve_with("file:~/token", Path::new("/nonexistent"), &env).unwrap();
        assert_eq!(secret.expose(), "from-home");
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_file_is_refused_with_chmod_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "token", PLANTED, 0o640);
        let err = resolve_with("file:token", dir.path(), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "credential file {0} is accessible by group or others (mode 0640): run chmod 600 {0}",
                path.display()
            )
        );
        // Others-readable too.
        write_file(dir.path(), "token", PLANTED, 0o604);
        let err = resolve_with("file:token", dir.path(), &no_env).unwrap_err();
        assert!(err.to_string().contains("(mode 0604)"), "{err}");
    }

    #[test]
    fn missing_and_empty_files_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_with("file:absent", dir.path(), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "credential file {} does not exist (credential reference file:absent)",
                dir.path().join("absent").display()
            )
        );
        write_file(dir.path(), "empty", "\nsecond\n", 0o600);
        let err = resolve_with("file:empty", dir.path(), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(
            err.to_string().ends_with("is empty on its first line"),
            "{err}"
        );
    }

    #[test]
    fn command_reference_takes_the_first_line_of_stdout() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "helper.txt", "from-cwd\n", 0o600);
        let secret = resolve_with(
            "command:printf '%s\\n' \"$(cat helper.txt)\" other",
            dir.path(),
            &no_env,
        )
        .unwrap();
        assert_eq!(secret.expose(), "from-cwd");
    }

    #[test]
    fn failing_command_is_an_environment_error_without_its_output() {
        let command = format!("echo {PLANTED}; exit 3");
        let err = resolve_with(&format!("command:{command}"), Path::new("."), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        // The command text is named (it holds no secret in real use); the
        // output is not.
        assert_eq!(
            err.to_string(),
            format!(
                "credential command `{command}` exited with status 3 (its output is not shown)"
            )
        );
        let err = resolve_with("command:true", Path::new("."), &no_env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        assert_eq!(
            err.to_string(),
            "credential command `true` printed nothing on its first line"
        );
    }

    #[test]
    fn validate_reference_checks_syntax_only() {
        for ok in [
            "env:GITHUB_TOKEN",
            "env:_x1",
            "file:secrets/token",
            "file:/etc/trainyard/token",
            "command:pass show ci/github",
            "  env:TOKEN  ",
        ] {
            validate_reference(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let cases = [
            (
                "",
                "credential reference is empty: credential references must be env:, file: or command:, never the secret itself",
            ),
            (PLANTED, NOT_A_REFERENCE),
            (
                "vault:secret/data/ci",
                "unknown credential scheme `vault:`: credential references must be env:, file: or command:, never the secret itself",
            ),
            ("Bearer:abc", NOT_A_REFERENCE),
            (
                "env:",
                "credential reference env:… does not name an environment variable (letters, digits and _, not starting with a digit)",
            ),
            (
                "env:1TOKEN",
                "credential reference env:… does not name an environment variable (letters, digits and _, not starting with a digit)",
            ),
            (
                "env:glpat-abcdef",
                "credential reference env:… holds what looks like a token, not a variable name: credential references must be env:, file: or command:, never the secret itself",
            ),
            (
                "file:",
                "credential reference file: names no file (write file:PATH)",
            ),
            (
                "command:  ",
                "credential reference command: names no command (write command:CMD)",
            ),
        ];
        for (reference, message) in cases {
            let err = validate_reference(reference).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input, "{reference}");
            assert_eq!(err.to_string(), message, "{reference}");
        }
    }

    #[test]
    fn reference_round_trips_through_display() {
        for text in ["env:A_B", "file:x/y", "command:echo hi"] {
            assert_eq!(Reference::parse(text).unwrap().to_string(), text);
        }
    }

    /// Plants a secret everywhere a reference can hold or lead to one and
    /// formats every error: the secret never appears.
    #[test]
    fn the_secret_never_appears_in_any_error() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "open", &format!("{PLANTED}\n"), 0o644);
        write_file(dir.path(), "late", &format!("\n{PLANTED}\n"), 0o600);
        let env = env_with(&[("SPACES", "   ")]);
        let references = [
            PLANTED.to_owned(),
            format!("{PLANTED}:{PLANTED}"),
            format!("token:{PLANTED}"),
            format!("env:{PLANTED}"),
            format!("env:x-{PLANTED}"),
            "env:SPACES".to_owned(),
            "env:UNSET_TRAINYARD_VARIABLE".to_owned(),
            "file:open".to_owned(),
            "file:late".to_owned(),
            format!("command:echo {PLANTED}; exit 1"),
            format!("command:echo; echo {PLANTED}"),
            format!("command:kill -9 $$; echo {PLANTED}"),
        ];
        for reference in &references {
            let err = resolve_with(reference, dir.path(), &env).unwrap_err();
            let shown = format!("{err} {err:?}");
            // Commands are named by their text; take the planted secret
            // out of the text itself before looking for leaks of output.
            let shown = match reference.strip_prefix("command:") {
                Some(command) => shown.replace(command, "<command>"),
                None => shown,
            };
            assert!(!shown.contains(PLANTED), "{reference}: {shown}");
            assert!(!shown.contains("PlantedSecret"), "{reference}: {shown}");
        }
    }
}

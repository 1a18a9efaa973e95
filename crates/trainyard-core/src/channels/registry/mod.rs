//! The registry channels: `crates` (the user's `cargo publish`, in
//! workspace dependency order), `npm` (the user's `npm publish`, the
//! dist-tag from the pre-release) and `pypi` (an upload of the built
//! sdist and wheels).
//!
//! Each asks the registry's own read API first whether the version is
//! there, and records a version already published as done rather than
//! failing or publishing it twice. A rollback yanks (crates), deprecates
//! (npm), or says what only a person can do (PyPI).

mod crates;
mod npm;
mod pypi;

pub use crates::CratesChannel;
pub use npm::NpmChannel;
pub use pypi::PypiChannel;

pub(super) use crates::{
    plan as crates_plan, publish as crates_publish, withdraw as crates_withdraw,
    withdraw_plan as crates_withdraw_plan,
};
pub(super) use npm::{
    plan as npm_plan, publish as npm_publish, withdraw as npm_withdraw,
    withdraw_plan as npm_withdraw_plan,
};
pub(super) use pypi::{
    plan as pypi_plan, publish as pypi_publish, withdraw as pypi_withdraw,
    withdraw_plan as pypi_withdraw_plan,
};

use std::path::{Path, PathBuf};

use crate::git_cli::Worktree;
use crate::{Error, Result};

/// A checkout of the release tag, so exactly the tagged content goes out.
fn checkout(channel: &str, repo_root: &Path, tag: &str) -> Result<Worktree> {
    Worktree::add(repo_root, &format!("refs/tags/{tag}^{{commit}}")).map_err(|e| {
        Error::environment(format!(
            "channel `{channel}`: cannot check out the release tag {tag}: {e}"
        ))
    })
}

/// A registry tool (cargo, npm) to run: the program, its arguments, its
/// directory and the variables added to its environment.
struct Tool<'a> {
    what: String,
    program: &'a str,
    args: Vec<String>,
    dir: &'a Path,
    env: Vec<(String, String)>,
}

/// Runs a registry tool and returns its stdout. A failure is an
/// [`Error::Environment`] quoting the end of its output, with `secret`
/// (the token) blanked out of it.
// The registry channels own the runs of the user's cargo and npm; the
// arguments are trainyard's, no command line of the user's is involved.
#[allow(clippy::disallowed_methods)]
fn run_tool(tool: &Tool<'_>, secret: Option<&str>) -> Result<String> {
    let mut command = std::process::Command::new(tool.program);
    command
        .args(&tool.args)
        .current_dir(tool.dir)
        .envs(tool.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null());
    #[cfg(test)]
    command.envs(test_env::get());
    let output = command.output().map_err(|e| {
        Error::environment(format!("{}: cannot run {}: {e}", tool.what, tool.program))
    })?;
    let redact = |text: &[u8]| {
        let text = String::from_utf8_lossy(text).into_owned();
        match secret {
            Some(s) if !s.is_empty() => text.replace(s, "<redacted>"),
            _ => text,
        }
    };
    if !output.status.success() {
        let stderr = redact(&output.stderr);
        let stdout = redact(&output.stdout);
        let text = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n");
        return Err(Error::environment(format!(
            "{}: `{} {}` failed ({}): {}",
            tool.what,
            tool.program,
            tool.args.first().map_or("", String::as_str),
            output.status,
            tail.trim()
        )));
    }
    Ok(redact(&output.stdout))
}

/// A variable of the environment the tools run with.
fn tool_var(key: &str) -> Option<String> {
    #[cfg(test)]
    if let Some((_, v)) = test_env::get().into_iter().find(|(k, _)| k == key) {
        return Some(v);
    }
    std::env::var(key).ok()
}

/// The directories a package's files are read from: `package_dirs` in
/// the checkout, or the checkout itself.
fn package_roots(checkout: &Path, package_dirs: &[PathBuf]) -> Vec<PathBuf> {
    if package_dirs.is_empty() {
        vec![checkout.to_path_buf()]
    } else {
        package_dirs.iter().map(|d| checkout.join(d)).collect()
    }
}

/// The JSON body of an answer to a GET of `url`.
fn read_json(
    client: &crate::http::Client,
    url: &str,
    response: &mut crate::http::Response,
) -> Result<serde_json::Value> {
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| Error::environment(format!("{}: GET {url}: {e}", client.label())))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::environment(format!("{}: GET {url}: not JSON: {e}", client.label())))
}

/// Variables added to the tools' environment by a test (a private
/// `CARGO_HOME`, npm cache), since a test cannot change its own process's
/// environment safely.
#[cfg(test)]
pub(super) mod test_env {
    use std::cell::RefCell;

    thread_local! {
        static VARS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Sets the variables for this thread.
    pub(crate) fn set(vars: Vec<(String, String)>) {
        VARS.with(|v| *v.borrow_mut() = vars);
    }

    pub(super) fn get() -> Vec<(String, String)> {
        VARS.with(|v| v.borrow().clone())
    }
}

#[cfg(test)]
mod tests;

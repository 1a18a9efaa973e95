//! Running the build commands and collecting the files they select into
//! one directory.

use std::path::{Path, PathBuf};

use super::{
    Artifact, ArtifactConfig, MINISIG_SUFFIX, Pattern, SHA256SUMS, canonical, copy_hashing,
    file_name, validate,
};
use crate::shell::{ShellCommand, run_shell};
use crate::{Error, Result};

/// Runs the build commands in `worktree`, collects the selected files into
/// `out_dir` under their own file names and returns them: in entry order,
/// then glob order, then sorted by path (a file selected twice by one
/// entry counts once).
///
/// `env` is added to each command's environment (pass
/// [`release_env`](super::release_env)); `TRAINYARD_OUT` is set per entry.
/// `out_dir` should be dedicated to the release: files of the same name
/// there are replaced, others are left.
/// Nothing is copied unless every command succeeded and every glob matched.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid entry, a glob that matches
/// nothing or escapes its directory, or two files with the same name; an
/// [`Error::Environment`] when a command fails or times out (quoting the
/// end of its output); an [`Error::Io`] when a file cannot be read or
/// written.
pub fn build(
    configs: &[ArtifactConfig],
    worktree: &Path,
    out_dir: &Path,
    env: &[(String, String)],
) -> Result<Vec<Artifact>> {
    validate(configs)?;
    let worktree_real = canonical(worktree)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io("cannot create directory", out_dir, e))?;
    let out_real = canonical(out_dir)?;

    // Keep every build's output directory until the files are copied.
    let mut build_dirs = Vec::new();
    // (file name, source path, entry name)
    let mut selected: Vec<(String, PathBuf, String)> = Vec::new();
    for config in configs {
        let build_dir = tempfile::Builder::new()
            .prefix("trainyard-build-")
            .tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let build_real = canonical(build_dir.path())?;
        if let Some(command) = &config.run {
            let mut vars = env.to_vec();
            vars.push(("TRAINYARD_OUT".to_owned(), build_real.display().to_string()));
            run_shell(&ShellCommand {
                what: format!("the build command of artifact `{}`", config.name),
                command,
                dir: &worktree_real,
                env: &vars,
                timeout: config.timeout_seconds.duration(),
            })?;
        }
        let mut files = Vec::new();
        for raw in &config.paths {
            let pattern = Pattern::parse(&config.name, raw)?;
            let (root, root_label) = if pattern.in_out {
                (&build_real, "TRAINYARD_OUT")
            } else {
                (&worktree_real, "the worktree")
            };
            let matched = pattern.find(root, root_label, &out_real)?;
            if matched.is_empty() {
                return Err(Error::input(format!(
                    "release.artifacts `{}`: `{raw}` matched no file in {root_label}",
                    config.name
                )));
            }
            let mut matched = matched;
            matched.sort();
            for path in matched {
                if !files.contains(&path) {
                    files.push(path);
                }
            }
        }
        for path in files {
            selected.push((file_name(&path)?, path, config.name.clone()));
        }
        build_dirs.push(build_dir);
    }

    let mut by_name: std::collections::HashMap<&str, &(String, PathBuf, String)> =
        std::collections::HashMap::new();
    for entry in &selected {
        if entry.0 == SHA256SUMS || entry.0.ends_with(MINISIG_SUFFIX) {
            return Err(Error::input(format!(
                "release.artifacts `{}`: `{}` is a name trainyard writes itself ({SHA256SUMS}, *{MINISIG_SUFFIX}); rename the file",
                entry.2,
                entry.1.display()
            )));
        }
        if let Some(first) = by_name.insert(entry.0.as_str(), entry) {
            return Err(Error::input(format!(
                "release.artifacts: two files are named `{}`: {} (`{}`) and {} (`{}`); artifacts are collected into one directory",
                entry.0,
                first.1.display(),
                first.2,
                entry.1.display(),
                entry.2
            )));
        }
    }

    let mut artifacts = Vec::with_capacity(selected.len());
    for (name, source, _) in selected {
        let target = out_dir.join(&name);
        let (size, sha256) = copy_hashing(&source, &target)?;
        artifacts.push(Artifact {
            name,
            path: target,
            size,
            sha256,
        });
    }
    drop(build_dirs);
    Ok(artifacts)
}

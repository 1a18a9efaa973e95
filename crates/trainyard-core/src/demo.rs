//! The guided demo's sandbox: a repository with a conventional-commit
//! history and three releases, a bare remote, a directory release channel
//! and a live configuration directory that a config sync deploys to.
//! Everything is made with git and plain files, so the demo needs nothing
//! but git and trainyard.

use std::path::{Path, PathBuf};

use crate::{Error, Result, git_cli, identity};

/// Where the sandbox's parts are.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The sandbox directory.
    pub dir: PathBuf,
    /// The repository (branch `main`).
    pub repo: PathBuf,
    /// The bare remote `origin`.
    pub remote: PathBuf,
    /// The directory release channel.
    pub channel: PathBuf,
    /// The live configuration a config sync deploys to.
    pub live_config: PathBuf,
}

const CONFIG: &str = r#"# trainyard configuration of the demo repository.
gates:
  G-REL:
    checks:
      - builtin: clean_tree
      - builtin: feature_freeze
      - name: unit tests
        run: test -f src/lib.txt
  G-MRG:
    checks:
      - name: unit tests
        run: test -f src/lib.txt
checklist:
  security_audit: "true"
release:
  artifacts:
    - name: tarball
      run: tar -czf "$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tar.gz" README.md src
      paths: ["$TRAINYARD_OUT/*.tar.gz"]
  channels:
    - { type: directory, name: downloads, path: ../dist }
    - { type: git_remote, name: origin, remote: origin }
rollback:
  smoke_tests: ["test -f src/lib.txt"]
"#;

const SYNC: &str = r#"sync_config:
  sync_id: flags
  name: feature flags to production
  type: config
  source: { type: file, location: config }
  target: { type: file, location: ../live-config }
  options:
    dry_run_required: true
    approval_required: true
    approver: release-managers
    conflict_strategy: fail
  filters: { include: ["*.json"], exclude: [] }
  schedule: { trigger: manual }
  notifications: { on_success: [], on_failure: [] }
"#;

/// One commit of the history: days before now, message, files written.
type Step = (i64, &'static str, &'static [(&'static str, &'static str)]);

const HISTORY: &[Step] = &[
    (
        120,
        "feat: first public version",
        &[
            (
                "README.md",
                "# widget\n\nA small service that exports reports.\n",
            ),
            ("src/lib.txt", "core v1\n"),
            (
                "config/flags.json",
                "{\n  \"csv_export\": false,\n  \"pagination\": false\n}\n",
            ),
            (".gitignore", ".trainyard/\n"),
        ],
    ),
    (
        100,
        "fix(parser): accept empty input\n\nFixes #3",
        &[("src/lib.txt", "core v1\nparser: empty input ok\n")],
    ),
    (
        90,
        "feat(export): csv export (#7)",
        &[
            ("src/export.txt", "csv export\n"),
            (
                "config/flags.json",
                "{\n  \"csv_export\": true,\n  \"pagination\": false\n}\n",
            ),
        ],
    ),
    (
        60,
        "perf(export): stream large reports",
        &[("src/export.txt", "csv export, streamed\n")],
    ),
    (
        45,
        "fix: typo in --help",
        &[(
            "README.md",
            "# widget\n\nA small service that exports reports.\n\nRun `widget --help`.\n",
        )],
    ),
    (
        20,
        "feat(api): paginate report listings (#42)",
        &[
            ("src/api.txt", "GET /reports?page=N\n"),
            (
                "config/flags.json",
                "{\n  \"csv_export\": true,\n  \"pagination\": true\n}\n",
            ),
        ],
    ),
    (
        12,
        "fix(export): quote fields holding commas (#43)",
        &[("src/export.txt", "csv export, streamed, quoted\n")],
    ),
    (
        5,
        "docs: usage examples",
        &[(
            "README.md",
            "# widget\n\nA small service that exports reports.\n\nRun `widget --help`.\n\n## Examples\n\n    widget export --csv\n",
        )],
    ),
];

/// Tags: after which commit (index into [`HISTORY`]), which tag.
const TAGS: &[(usize, &str)] = &[(0, "v1.0.0"), (2, "v1.1.0"), (4, "v1.2.0")];

/// Builds the sandbox in `dir` (created; it must not exist or be empty),
/// with commit dates counted back from `now`.
///
/// # Errors
///
/// Returns an [`Error::Input`] when `dir` exists and is not empty, and
/// the errors of git and the file system.
pub fn build(dir: &Path, now: jiff::Timestamp) -> Result<Sandbox> {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::input(format!(
            "{} is not empty: give the demo a new directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    let sandbox = Sandbox {
        repo: dir.join("widget"),
        remote: dir.join("origin.git"),
        channel: dir.join("dist"),
        live_config: dir.join("live-config"),
        dir,
    };
    let path = |p: &Path| p.display().to_string();
    git_cli::run(
        &sandbox.dir,
        &["init", "--quiet", "--bare", &path(&sandbox.remote)],
    )?;
    git_cli::run(
        &sandbox.dir,
        &["init", "--quiet", "-b", "main", &path(&sandbox.repo)],
    )?;
    let repo = &sandbox.repo;
    // The sandbox's own identity: the demo works without a global git
    // configuration, and never signs.
    for (key, value) in [
        ("user.name", "Demo Release Engineer"),
        ("user.email", "release@example.org"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ] {
        git_cli::run(repo, &["config", key, value])?;
    }
    git_cli::run(repo, &["remote", "add", "origin", &path(&sandbox.remote)])?;
    write(repo, "trainyard.yaml", CONFIG)?;
    write(repo, ".trainyard/syncs/flags.yaml", SYNC)?;
    for (n, (days, message, files)) in HISTORY.iter().enumerate() {
        for (file, content) in *files {
            write(repo, file, content)?;
        }
        let when = now
            .checked_sub(jiff::SignedDuration::from_hours(days * 24))
            .map_err(|e| Error::Internal(format!("demo date: {e}")))?;
        git_cli::run(repo, &["add", "--all"])?;
        git_cli::run_dated(repo, &["commit", "--quiet", "-m", message], when)?;
        for (_, tag) in TAGS.iter().filter(|(at, _)| *at == n) {
            git_cli::run_dated(
                repo,
                &["tag", "-a", tag, "-m", &format!("Release {tag}")],
                when,
            )?;
        }
    }
    git_cli::run(repo, &["push", "--quiet", "origin", "main", "--tags"])?;
    // Production runs 1.2.0's configuration.
    let deployed = git_cli::run(repo, &["show", "v1.2.0:config/flags.json"])?;
    write(&sandbox.live_config, "flags.json", &deployed)?;
    Ok(sandbox)
}

/// The team of the demo's last part: each principal's key, made by
/// `ssh-keygen` in the sandbox, and the role it holds.
pub const TEAM: &[(&str, &str)] = &[
    ("lin@example.org", "release-managers"),
    ("ada@example.org", "reviewers"),
    ("grace@example.org", "reviewers"),
];

/// Turns the sandbox's repository into a team's: a key per principal of
/// [`TEAM`] under `keys/` in the sandbox, their public keys in
/// `allowed_signers` (git's `gpg.ssh.allowedSignersFile` format) and the
/// roles in `trainyard.yaml`, committed; then a change to the flags for
/// the team to approve. Returns the key file of each principal.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when ssh-keygen cannot make a key,
/// and the errors of writing and committing.
pub fn join_team(sandbox: &Sandbox) -> Result<Vec<(String, PathBuf)>> {
    let keys = sandbox.dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| Error::io("cannot create", &keys, e))?;
    let mut signers = String::new();
    let mut made = Vec::new();
    let mut roles: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (principal, role) in TEAM {
        let name = principal.split('@').next().unwrap_or(principal);
        let key = keys.join(name);
        let output = identity::sshsig::generate_key(&key, principal)
            .map_err(|e| Error::environment(format!("cannot run ssh-keygen: {e}")))?;
        if !output.status.success() {
            return Err(Error::environment(format!(
                "ssh-keygen could not make a key for {principal}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let public = std::fs::read_to_string(key.with_extension("pub"))
            .map_err(|e| Error::io("cannot read", key.with_extension("pub"), e))?;
        let public: Vec<&str> = public.split_whitespace().take(2).collect();
        signers.push_str(&format!(
            "{principal} namespaces=\"trainyard\" {}\n",
            public.join(" ")
        ));
        roles.entry(role).or_default().push(principal);
        made.push(((*principal).to_owned(), key));
    }
    let repo = &sandbox.repo;
    write(repo, "allowed_signers", &signers)?;
    let mut identity = String::from(
        "identity:\n  # Who holds which role; their keys are in allowed_signers.\n  allowed_signers: allowed_signers\n  roles:\n",
    );
    for (role, members) in &roles {
        identity.push_str(&format!("    {role}: [{}]\n", members.join(", ")));
    }
    identity.push_str("  signoff_roles:\n    review: reviewers\n");
    let config = std::fs::read_to_string(repo.join("trainyard.yaml"))
        .map_err(|e| Error::io("cannot read", repo.join("trainyard.yaml"), e))?;
    write(repo, "trainyard.yaml", &format!("{config}{identity}"))?;
    git_cli::run(repo, &["add", "allowed_signers", "trainyard.yaml"])?;
    git_cli::run(
        repo,
        &[
            "commit",
            "--quiet",
            "-m",
            "chore: roles and keys of the team",
        ],
    )?;
    let flags = std::fs::read_to_string(repo.join("config/flags.json"))
        .map_err(|e| Error::io("cannot read", repo.join("config/flags.json"), e))?;
    write(
        repo,
        "config/flags.json",
        &flags.replace(
            "\"csv_export\": true",
            "\"csv_export\": true,\n  \"csv_bom\": true",
        ),
    )?;
    git_cli::run(repo, &["add", "config/flags.json"])?;
    git_cli::run(
        repo,
        &[
            "commit",
            "--quiet",
            "-m",
            "feat(export): a byte-order mark for spreadsheet tools",
        ],
    )?;
    Ok(made)
}

fn write(root: &Path, rel: &str, content: &str) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    crate::fsutil::write_atomic(&path, content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_has_its_history_tags_and_targets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now: jiff::Timestamp = "2027-01-13T10:00:00Z".parse().expect("now");
        let sandbox = build(&dir.path().join("demo"), now).expect("sandbox");
        let tags = git_cli::run(&sandbox.repo, &["tag", "--list"]).expect("tags");
        assert_eq!(
            tags.lines().collect::<Vec<_>>(),
            ["v1.0.0", "v1.1.0", "v1.2.0"]
        );
        let log = git_cli::run(&sandbox.repo, &["log", "--format=%s"]).expect("log");
        assert_eq!(log.lines().count(), HISTORY.len());
        assert!(sandbox.live_config.join("flags.json").is_file());
        let again = build(&dir.path().join("demo"), now).expect_err("not empty");
        assert!(again.to_string().contains("is not empty"), "{again}");
    }
}

//! The user guide under `docs/`, kept true by running it.
//!
//! Every page declares a fixture on its first line (`<!-- fixture: NAME
//! -->`). Its ```` ```console ```` blocks are sessions: each
//! `$ trainyard ...` line runs, in document order, in one fixture
//! repository per page; the exit code must be 0 unless the line ends with
//! `# exit N`, and every following line up to the next command is
//! expected output: it must appear in the command's stdout or stderr. A
//! line `...` stands for lines left out; `...` inside a line for any text
//! within it. `<plan-id>` and `<rollback-id>` in a command stand for the
//! last plan and rollback the session printed. Commands are plain: no
//! pipes, redirects, variables or `cd`.
//!
//! `docs/json.md` documents the `--json` output: under each
//! `### trainyard <command>` heading, the bullets' fields must be the
//! top-level keys of the section's first example, exactly (a field marked
//! `(optional)` may be absent). YAML examples that are configuration,
//! sync or notes files must be valid. And `docs/reference/config.md` is
//! generated from `trainyard config schema` (`UPDATE_DOCS=1` rewrites it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Run, TestRepo, ok, sign_everything};

/// The user guide's directory.
fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// The hand-written pages, each checked by a test of its own below.
const PAGES: &[&str] = &[
    "README.md",
    "versioning.md",
    "changelog-and-notes.md",
    "calendar.md",
    "gates-and-checklist.md",
    "release-workflow.md",
    "sync.md",
    "rollback.md",
    "evidence.md",
    "teams.md",
    "configuration.md",
    "monorepos.md",
    "ci.md",
    "json.md",
];

// ---------------------------------------------------------------------------
// Reading pages

/// One argument of an example command.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// Plain text.
    Text(String),
    /// `<plan-id>` or `<rollback-id>`: a value the session printed earlier.
    Placeholder(String),
}

/// One `$ trainyard ...` line and the output expected of it.
#[derive(Debug, Clone)]
struct Example {
    /// The page's line number (1-based) of the command.
    line: usize,
    /// The command as written, without `$ `.
    text: String,
    /// The arguments after `trainyard`.
    args: Vec<Arg>,
    /// The expected exit code.
    exit: i32,
    /// Expected output lines with their page line numbers (`...` lines
    /// left out).
    expected: Vec<(usize, String)>,
    /// The nearest `### ` heading above the example.
    heading: Option<String>,
}

/// The fixture a page declares on its first line.
fn declared_fixture(page: &str, text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    first
        .strip_prefix("<!-- fixture:")
        .and_then(|rest| rest.strip_suffix("-->"))
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|| panic!("docs/{page}: the first line must be `<!-- fixture: NAME -->`"))
}

/// Every example of a page, in order.
fn examples(page: &str, text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    let mut in_other_fence = false;
    let mut heading = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim_end();
        if !in_console && !in_other_fence {
            if let Some(h) = trimmed.strip_prefix("### ") {
                heading = Some(h.trim().to_owned());
            } else if trimmed.starts_with("## ") {
                heading = None;
            }
            if trimmed == "```console" {
                in_console = true;
            } else if trimmed.trim_start().starts_with("```") {
                in_other_fence = true;
            }
            continue;
        }
        if trimmed.trim_start().starts_with("```") {
            in_console = false;
            in_other_fence = false;
            continue;
        }
        if in_other_fence {
            continue;
        }
        if let Some(command) = trimmed.strip_prefix("$ ") {
            let (words, comment) = split_words(command)
                .unwrap_or_else(|e| panic!("docs/{page}:{line}: `{command}`: {e}"));
            let Some((first, rest)) = words.split_first() else {
                panic!("docs/{page}:{line}: an empty command");
            };
            assert_eq!(
                first,
                &Arg::Text("trainyard".into()),
                "docs/{page}:{line}: examples run `trainyard` only: `{command}`"
            );
            let exit = match comment.as_deref().map(str::trim) {
                Some(c) if c.starts_with("exit ") => c["exit ".len()..]
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("docs/{page}:{line}: bad `# exit N`: `{c}`")),
                _ => 0,
            };
            out.push(Example {
                line,
                text: command.to_owned(),
                args: rest.to_vec(),
                exit,
                expected: Vec::new(),
                heading: heading.clone(),
            });
        } else {
            let Some(example) = out.last_mut().filter(|e| e.line < line) else {
                panic!("docs/{page}:{line}: output before any command in a console block");
            };
            if trimmed.trim() != "..." && !trimmed.trim().is_empty() {
                example.expected.push((line, trimmed.to_owned()));
            }
        }
    }
    assert!(
        !in_console && !in_other_fence,
        "docs/{page}: a fenced block is not closed"
    );
    out
}

/// Splits a command into words the way a shell would for plain words and
/// quotes; a `#` starting a word starts the comment, and `<name>` alone
/// is a placeholder. Pipes, redirects, variables, globs and command lists
/// are refused: examples stay plain.
fn split_words(command: &str) -> Result<(Vec<Arg>, Option<String>), String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = command.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(current.take().map(Arg::Text)),
            '#' if current.is_none() => {
                return Ok((words, Some(command[at + 1..].to_owned())));
            }
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => word.push(ch),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, ch @ ('"' | '\\'))) => word.push(ch),
                            Some((_, ch)) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some((_, '$' | '`')) => {
                            return Err("variables and substitutions are not supported".into());
                        }
                        Some((_, ch)) => word.push(ch),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '<' if current.is_none() && placeholder(&command[at..]).is_some() => {
                let name = placeholder(&command[at..]).unwrap_or_default();
                for _ in 0..name.len() + 1 {
                    chars.next();
                }
                words.push(Arg::Placeholder(name.to_owned()));
            }
            '|' | '>' | '<' | ';' | '&' | '$' | '`' | '*' | '?' | '(' | ')' | '\\' | '~' => {
                return Err(format!(
                    "`{c}`: shell features (pipes, redirects, variables, globs) are not supported"
                ));
            }
            _ => current.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(current.take().map(Arg::Text));
    Ok((words, None))
}

/// The name of the placeholder `<name>` that `text` starts with, when it
/// is a whole word of lowercase letters and dashes.
fn placeholder(text: &str) -> Option<&str> {
    let (name, after) = text.strip_prefix('<')?.split_once('>')?;
    (!name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && after.chars().next().is_none_or(char::is_whitespace))
    .then_some(name)
}

// ---------------------------------------------------------------------------
// Fixtures

/// Builds the named fixture.
fn fixture(name: &str) -> TestRepo {
    match name {
        "empty" => empty(),
        "history" => history(),
        "changelog" => changelog(),
        "calendar" => calendar(),
        "release" => release(),
        "sync" => sync(),
        "rollback" => rollback(),
        "config" => config(),
        "monorepo" => monorepo(),
        other => panic!("no fixture named `{other}`"),
    }
}

/// A Cargo workspace of two crates, `core` and `cli` (which depends on
/// `core`), each released once as 0.1.0; since then a feature in `core`
/// and a fix in `cli`.
fn monorepo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    repo.write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write(
        "crates/cli/Cargo.toml",
        "[package]\nname = \"cli\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncore = { path = \"../core\", version = \"0.1.0\" }\n",
    );
    repo.write("crates/core/src/lib.rs", "");
    repo.write("crates/cli/src/main.rs", "fn main() {}\n");
    repo.write(
        "trainyard.yaml",
        "packages:\n  - name: core\n    path: crates/core\n  - name: cli\n    path: crates/cli\n",
    );
    repo.commit("chore: start the workspace");
    repo.tag("core-v0.1.0");
    repo.tag("cli-v0.1.0");
    repo.write("crates/core/src/lib.rs", "pub fn parse() {}\n");
    repo.commit("feat(core): a parser");
    repo.write("crates/cli/src/main.rs", "fn main() { println!(); }\n");
    repo.commit("fix(cli): print a newline");
    repo
}

/// A repository with one commit and no configuration.
fn empty() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# widget\n");
    repo.commit("chore: start");
    repo
}

/// Four releases (v1.0.0, v1.0.1, v1.1.0, and v1.1.1, tagged as a patch
/// although it adds a feature) of a Rust and npm project, and a fix, a
/// feature and a docs change since.
fn history() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("trainyard.yaml", "versioning:\n  initial_version: 1.0.0\n");
    let manifests = |version: &str| {
        repo.write(
            "Cargo.toml",
            &format!("[package]\nname = \"widget\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
        );
        repo.write(
            "package.json",
            &format!("{{\n  \"name\": \"widget\",\n  \"version\": \"{version}\"\n}}\n"),
        );
    };
    manifests("1.0.0");
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    manifests("1.0.1");
    repo.commit("fix(io): close files on error");
    repo.tag("v1.0.1");
    manifests("1.1.0");
    repo.commit("feat(export): add csv export (#7)");
    repo.tag("v1.1.0");
    manifests("1.1.1");
    repo.commit("feat(api): add a batch endpoint");
    repo.tag("v1.1.1");
    repo.commit("fix(parser): accept empty input\n\nFixes #9");
    repo.commit("feat(cli): add --json (#14)");
    repo.commit("docs: explain the cli");
    repo
}

/// Releases 1.0.0 and 1.1.0 (with an rc), then unreleased work of every
/// kind the changelog and notes know: a breaking change with and without a
/// migration, a deprecation, security fixes.
fn changelog() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "changelog:\n  repository_url: https://github.com/acme/widget\n",
    );
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.commit("fix(parser): accept empty input (#12)\n\nFixes #9");
    repo.commit("feat(cli): add --json (#14)");
    repo.tag("v1.1.0-rc.1");
    repo.commit("perf: cache the index");
    repo.tag("v1.1.0");
    repo.commit("feat(api)!: drop the v1 endpoints\n\nBREAKING CHANGE: the /v1 endpoints are gone\nMigration: call /v2 with the same payload");
    repo.commit(
        "refactor(config)!: rename `ttl` to `max_age`\n\nBREAKING CHANGE: the `ttl` key is gone",
    );
    repo.commit("refactor: old loader\n\nDeprecated: `load_v1` will be removed in 3.0.0\nReplacement: `load`");
    repo.commit("fix(auth): escape user names\n\nSecurity: CVE-2026-4242\nSeverity: high");
    repo
}

/// The spec's cadence with a year-end freeze that skips the minor release
/// in it; v1.4.0 released on 2026-12-18 and a feature since.
fn calendar() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "cadence:\n  time_zone: Europe/Berlin\n  freeze_windows:\n    - { from: 2026-12-21, to: 2027-01-03, name: year-end }\n  on_blocked: skip\n",
    );
    repo.commit_at("feat: first", "2026-12-18T12:00:00Z");
    repo.tag("v1.4.0");
    repo.commit_at("feat(export): add csv export", "2027-01-11T12:00:00Z");
    repo
}

/// The release workflow's configuration: gates, checklist, an artifact, a
/// directory channel `../dist` and a bare `origin`.
const RELEASE_CONFIG: &str = "\
gates:
  G-REL:
    checks:
      - builtin: clean_tree
      - builtin: feature_freeze
      - { name: tests, run: \"test -f README.md\" }
  G-MRG:
    checks:
      - { name: tests, run: \"test -f README.md\" }
checklist:
  security_audit: \"true\"
release:
  artifacts:
    - name: tarball
      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md
      paths: [\"$TRAINYARD_OUT/*.tgz\"]
  channels:
    - { type: directory, name: downloads, path: ../dist }
";

/// v1.0.0 released and pushed to a bare `origin`, two changes since; the
/// release configuration above plus a `git_remote` channel.
fn release() -> TestRepo {
    let repo = TestRepo::new();
    let remote = repo.home().join("origin.git");
    repo.git_in(
        repo.home(),
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    repo.write(
        "trainyard.yaml",
        &format!("{RELEASE_CONFIG}    - {{ type: git_remote, name: origin, remote: origin }}\n"),
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.commit("feat(export): add csv export (#7)");
    repo.commit("fix(parser): accept empty input\n\nFixes #9");
    repo.git(&["push", "-q", "origin", "main", "v1.0.0"]);
    repo
}

/// A sync file in the spec's `sync_config` schema between two directories.
fn sync_config(id: &str, source: &str, target: &str, options: &str) -> String {
    format!(
        "sync_config:\n  sync_id: {id}\n  name: {id}\n  type: config\n  source: {{ type: file, location: {source} }}\n  target: {{ type: file, location: {target} }}\n  options:\n{options}  filters: {{ include: [\"*.json\", \"*.yaml\"], exclude: [\"secrets/**\"] }}\n  schedule: {{ trigger: on_release }}\n  notifications: {{ on_success: [], on_failure: [] }}\n"
    )
}

/// `config/` synced to `../live-config` (approval by release-managers)
/// and `policies/` to `../live-policies` (no approval).
fn sync() -> TestRepo {
    let repo = TestRepo::new();
    for dir in ["live-config", "live-policies"] {
        std::fs::create_dir_all(repo.home().join(dir)).expect("target dir");
    }
    std::fs::write(
        repo.home().join("live-config/flags.json"),
        "{\"export\": false}\n",
    )
    .expect("target file");
    std::fs::write(repo.home().join("live-config/old.yaml"), "retired: true\n")
        .expect("target file");
    repo.write("config/flags.json", "{\"export\": true}\n");
    repo.write("config/limits.yaml", "max_rows: 5000\n");
    repo.write("policies/retention.yaml", "days: 30\n");
    repo.write(
        ".trainyard/syncs/flags.yaml",
        &sync_config(
            "flags",
            "config",
            "../live-config",
            "    dry_run_required: true\n    approval_required: true\n    approver: release-managers\n    conflict_strategy: fail\n    max_delete: \"10%\"\n",
        ),
    );
    repo.write(
        ".trainyard/syncs/policies.yaml",
        &sync_config(
            "policies",
            "policies",
            "../live-policies",
            "    dry_run_required: true\n    approval_required: false\n    conflict_strategy: theirs\n",
        ),
    );
    repo.commit("feat: configuration");
    repo
}

/// One minor release through the whole workflow (`post` merges it back),
/// then the config sync run.
fn release_through(repo: &TestRepo, version: &str) {
    let start = ok(repo, &["--json", "release", "start", "minor"]).json();
    assert_eq!(start["version"], version);
    ok(repo, &["release", "rc"]);
    sign_everything(repo, version);
    ok(repo, &["release", "validate"]);
    ok(repo, &["release", "publish"]);
    ok(repo, &["release", "post"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    ok(repo, &["sync", "run", "flags"]);
}

/// Releases 1.0.0 and 1.1.0 published to `../dist`, with `config/` synced
/// to `../live-config` on each release, a component `export`, and a
/// feature since.
fn rollback() -> TestRepo {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.home().join("live-config")).expect("live config dir");
    repo.write(
        "trainyard.yaml",
        &format!(
            "versioning:\n  initial_version: 1.0.0\n{RELEASE_CONFIG}rollback:\n  smoke_tests: [\"test -f README.md\"]\n  components:\n    export: [src/export]\n"
        ),
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.write(
        ".trainyard/syncs/flags.yaml",
        &sync_config(
            "flags",
            "config",
            "../live-config",
            "    dry_run_required: true\n    approval_required: false\n    conflict_strategy: theirs\n",
        ),
    );
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("README.md", "# widget\n");
    repo.write("config/flags.json", "{\"export\": false}\n");
    repo.write("src/core/lib.txt", "core 1\n");
    repo.commit("feat: first release");
    release_through(&repo, "1.0.0");
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.write("src/export/csv.txt", "csv export\n");
    repo.commit("feat(export): add csv export");
    repo.write("config/flags.json", "{\"export\": true}\n");
    repo.write("src/core/lib.txt", "core 2\n");
    repo.commit("feat(core): faster core, exports on");
    release_through(&repo, "1.1.0");
    repo.write("src/core/empty.txt", "an empty core is valid\n");
    repo.commit("feat(core): accept an empty core");
    repo
}

/// A configured repository, and a broken configuration beside it.
fn config() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    repo.write("VERSION", "1.0.0\n");
    repo.write(
        "trainyard.yaml",
        "versioning:\n  tag_prefix: v\n  bump_rules:\n    - { type: docs, bump: none }\n  manifests:\n    - { kind: cargo }\n    - { kind: version_file }\n",
    );
    repo.write(
        "ci/broken.yaml",
        "versioning:\n  tag_prefix: v\n  bump_rule: []\n",
    );
    repo.write(
        "ci/bad-bump.yaml",
        "versioning:\n  bump_rules:\n    - { type: feat, bump: enormous }\n",
    );
    repo.write("sub/dir/notes.txt", "x\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.commit("fix: handle empty input");
    repo
}

// ---------------------------------------------------------------------------
// Running pages

/// One example run.
struct Ran {
    example: Example,
    run: Run,
}

/// Runs every example of a page in its fixture, in order; checks exit
/// codes and expected output and panics with every mismatch of the page.
fn check_page(page: &str) -> Vec<Ran> {
    let path = docs_dir().join(page);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("docs/{page}: cannot read {}: {e}", path.display()));
    let name = declared_fixture(page, &text);
    let examples = examples(page, &text);
    assert!(
        !examples.is_empty(),
        "docs/{page}: no ```console example with a `$ trainyard ...` line"
    );
    let repo = fixture(&name);
    let trace = std::env::var_os("DOCS_TRACE").is_some();
    let mut captured: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut ran = Vec::new();
    for example in examples {
        let args: Vec<String> = example
            .args
            .iter()
            .map(|a| match a {
                Arg::Text(t) => t.clone(),
                Arg::Placeholder(p) => captured.get(p).cloned().unwrap_or_else(|| {
                    panic!(
                        "docs/{page}:{}: `<{p}>` before any command printed one",
                        example.line
                    )
                }),
            })
            .collect();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = repo.run(&argv);
        let output = format!("{}{}", run.stdout(), run.stderr());
        if trace {
            eprintln!(
                "--- docs/{page}:{} $ {}  [exit {}]\n{}",
                example.line,
                example.text,
                run.code(),
                run.transcript()
            );
        }
        capture(&run, &mut captured);
        let at = format!("docs/{page}:{} `$ {}`", example.line, example.text);
        if run.code() != example.exit {
            failures.push(format!(
                "{at}: exit {} (expected {})\n{}",
                run.code(),
                example.exit,
                run.transcript()
            ));
        } else {
            for (line, expected) in &example.expected {
                if !appears(expected, &output) {
                    failures.push(format!(
                        "{at}: line {line} `{expected}` is not in the output:\n{}",
                        run.transcript()
                    ));
                }
            }
        }
        ran.push(Ran { example, run });
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) in docs/{page} (fixture `{name}`; DOCS_TRACE=1 --nocapture shows every run):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    ran
}

/// Whether an expected line appears in one line of the output; `...`
/// inside it matches any text.
fn appears(expected: &str, output: &str) -> bool {
    let parts: Vec<&str> = expected
        .trim()
        .split("...")
        .map(str::trim_end)
        .filter(|p| !p.trim().is_empty())
        .collect();
    output.lines().any(|line| {
        let line = line.trim_end();
        let mut rest = line;
        parts.iter().all(|part| match rest.find(part) {
            Some(i) => {
                rest = &rest[i + part.len()..];
                true
            }
            None => false,
        })
    })
}

/// Remembers the plan and rollback ids a run printed, for `<plan-id>`
/// and `<rollback-id>`.
fn capture(run: &Run, captured: &mut BTreeMap<String, String>) {
    if let Ok(json) = serde_json::from_slice::<Value>(&run.output.stdout) {
        for key in ["plan_id", "rollback_id"] {
            if let Some(id) = json[key].as_str() {
                captured.insert(key.replace('_', "-"), id.to_owned());
            }
        }
    }
    let output = format!("{}{}", run.stdout(), run.stderr());
    for line in output.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("plan"), Some(id))
                if id.len() >= 16 && id.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                captured.insert("plan-id".into(), id.to_owned());
            }
            (Some("rollback"), Some(id)) if id.starts_with("rb-") => {
                captured.insert("rollback-id".into(), id.to_owned());
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The pages

#[test]
fn readme_examples_run() {
    check_page("README.md");
}

#[test]
fn versioning_examples_run() {
    check_page("versioning.md");
}

#[test]
fn changelog_and_notes_examples_run() {
    check_page("changelog-and-notes.md");
}

#[test]
fn calendar_examples_run() {
    check_page("calendar.md");
}

#[test]
fn gates_and_checklist_examples_run() {
    check_page("gates-and-checklist.md");
}

#[test]
fn release_workflow_examples_run() {
    check_page("release-workflow.md");
}

#[test]
fn sync_examples_run() {
    check_page("sync.md");
}

#[test]
fn rollback_examples_run() {
    check_page("rollback.md");
}

#[test]
fn evidence_examples_run() {
    check_page("evidence.md");
}

#[test]
fn configuration_examples_run() {
    check_page("configuration.md");
}

#[test]
fn monorepos_examples_run() {
    check_page("monorepos.md");
}

#[test]
fn ci_examples_run() {
    check_page("ci.md");
}

#[test]
fn teams_examples_run() {
    check_page("teams.md");
}

/// The commands whose `--json` output docs/json.md must document.
const JSON_CONTRACT: &[&str] = &[
    "trainyard status",
    "trainyard version next",
    "trainyard version history",
    "trainyard changelog",
    "trainyard release status",
    "trainyard sync plan",
    "trainyard sync log",
    "trainyard rollback assess",
    "trainyard rollback plan",
    "trainyard evidence list",
    "trainyard check",
];

/// docs/json.md: the examples run, and under each `### trainyard ...`
/// heading the documented fields are exactly the top-level keys of the
/// section's first example (an object's keys, or those of an array's first
/// element).
#[test]
fn json_examples_run_and_the_fields_are_the_output_keys() {
    let text = std::fs::read_to_string(docs_dir().join("json.md")).expect("docs/json.md");
    let documented = json_sections(&text);
    let ran = check_page("json.md");
    let headings: BTreeSet<&str> = documented.iter().map(|(h, _)| h.as_str()).collect();
    for command in JSON_CONTRACT {
        assert!(
            headings.contains(command),
            "docs/json.md: no `### {command}` section"
        );
    }
    let mut failures = Vec::new();
    for (heading, fields) in &documented {
        let Some(first) = ran
            .iter()
            .find(|r| r.example.heading.as_deref() == Some(heading.as_str()))
        else {
            failures.push(format!(
                "`### {heading}`: no console example in the section"
            ));
            continue;
        };
        let at = format!(
            "docs/json.md:{} `$ {}`",
            first.example.line, first.example.text
        );
        if !first.example.args.contains(&Arg::Text("--json".into())) {
            failures.push(format!(
                "{at}: the section's first example must pass --json"
            ));
            continue;
        }
        let json = first.run.json();
        let object = match &json {
            Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let Some(object) = object.as_object() else {
            failures.push(format!(
                "{at}: the output is not an object or a non-empty array of objects"
            ));
            continue;
        };
        let actual: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        let listed: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let required: BTreeSet<&str> = fields
            .iter()
            .filter(|f| !f.optional)
            .map(|f| f.name.as_str())
            .collect();
        let undocumented: Vec<_> = actual.difference(&listed).collect();
        let absent: Vec<_> = required.difference(&actual).collect();
        if !undocumented.is_empty() || !absent.is_empty() {
            failures.push(format!(
                "`### {heading}`: fields in the output but not on the page {undocumented:?}, fields on the page but not in the output {absent:?}"
            ));
        }
        if fields.len() != listed.len() {
            failures.push(format!("`### {heading}`: a field is listed twice"));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/json.md does not match the --json output:\n{}",
        failures.join("\n")
    );
}

/// A field documented in docs/json.md.
struct Field {
    name: String,
    /// Marked `(optional)`: left out when it does not apply.
    optional: bool,
}

/// The `### trainyard ...` sections of docs/json.md and the fields their
/// bullets (`` - `field` — what it is ``, or `` - `field` (optional) — ``)
/// name.
fn json_sections(text: &str) -> Vec<(String, Vec<Field>)> {
    let mut sections: Vec<(String, Vec<Field>)> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(heading) = line.strip_prefix("### ") {
            sections.push((heading.trim().to_owned(), Vec::new()));
            continue;
        }
        if line.starts_with("## ") {
            // A new part of the page ends the last command's section.
            sections.push((String::new(), Vec::new()));
            continue;
        }
        let bullet = line
            .strip_prefix("- `")
            .and_then(|rest| rest.split_once('`'));
        if let (Some((name, rest)), Some((_, fields))) = (bullet, sections.last_mut()) {
            fields.push(Field {
                name: name.to_owned(),
                optional: rest.trim_start().starts_with("(optional)"),
            });
        }
    }
    sections.retain(|(heading, _)| heading.starts_with("trainyard "));
    sections
}

/// Every page under docs/ is checked, and the index links to it.
#[test]
fn every_page_is_checked_and_indexed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(docs_dir())
        .expect("docs/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every page in docs/ needs a test in crates/trainyard/tests/cli/docs.rs"
    );
    let index = std::fs::read_to_string(docs_dir().join("README.md")).expect("docs/README.md");
    for page in PAGES.iter().filter(|p| **p != "README.md") {
        assert!(
            index.contains(&format!("({page})")),
            "docs/README.md does not link to {page}"
        );
    }
    assert!(
        index.contains("(reference/config.md)"),
        "docs/README.md does not link to reference/config.md"
    );
}

/// Links between pages point to a page that exists and, with `#anchor`,
/// to one of its headings (GitHub's anchors).
#[test]
fn links_between_pages_resolve() {
    let mut failures = Vec::new();
    for page in PAGES.iter().copied().chain([REFERENCE]) {
        let path = docs_dir().join(page);
        let text = std::fs::read_to_string(&path).expect("page");
        for (target, anchor) in relative_links(&text) {
            let file = if target.is_empty() {
                path.clone()
            } else {
                path.parent().expect("dir").join(&target)
            };
            let Ok(linked) = std::fs::read_to_string(&file) else {
                failures.push(format!("docs/{page}: `{target}` does not exist"));
                continue;
            };
            if let Some(anchor) = anchor {
                let anchors: BTreeSet<String> = linked
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|h| slug(h.trim_start_matches('#')))
                    .collect();
                if !anchors.contains(&anchor) {
                    failures.push(format!(
                        "docs/{page}: `{target}#{anchor}` has no such heading"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The relative links of a page: (file, anchor).
fn relative_links(text: &str) -> Vec<(String, Option<String>)> {
    let mut links = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                let (file, anchor) = match target.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor.to_owned())),
                    None => (target, None),
                };
                links.push((file.to_owned(), anchor));
            }
            rest = &after[end..];
        }
    }
    links
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces
/// as dashes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The ```` ```yaml ```` blocks of a page, with their first line numbers.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```yaml" => current = Some((i + 2, String::new())),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// The YAML examples are valid: a block that starts with a comment naming
/// a sync file (`# .trainyard/syncs/x.yaml`) or a notes file
/// (`# .trainyard/notes/V.yaml`) is read as one, and a block whose first
/// key is a section of trainyard.yaml must pass `config validate`. Other
/// blocks (CI workflows) are not trainyard's to check.
#[test]
fn yaml_examples_are_valid() {
    let schema = ok(&TestRepo::new(), &["config", "schema"]).json();
    let sections = schema["properties"]
        .as_object()
        .expect("properties")
        .clone();
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in PAGES {
        let text = std::fs::read_to_string(docs_dir().join(page)).expect("page");
        for (line, block) in yaml_blocks(&text) {
            let first = block.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let named = first
                .strip_prefix("# ")
                .map(str::trim)
                .filter(|p| p.ends_with(".yaml"));
            let first_key = block
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .and_then(|l| l.split_once(':'))
                .map(|(key, _)| key.trim().to_owned())
                .unwrap_or_default();
            let repo = empty();
            let args: Vec<String> = match named {
                Some(path) if path.starts_with(".trainyard/syncs/") => {
                    repo.write(path, &block);
                    vec!["sync".into(), "list".into()]
                }
                Some(path) if path.starts_with(".trainyard/notes/") => {
                    repo.write(path, &block);
                    let version = path
                        .trim_start_matches(".trainyard/notes/")
                        .trim_end_matches(".yaml");
                    vec!["notes".into(), "--version".into(), version.to_owned()]
                }
                _ if sections.contains_key(&first_key) => {
                    repo.write("trainyard.yaml", &block);
                    vec!["config".into(), "validate".into()]
                }
                _ => continue,
            };
            checked += 1;
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = repo.run(&argv);
            if run.code() != 0 {
                failures.push(format!(
                    "docs/{page}:{line}: `trainyard {}` fails on the example:\n{}",
                    args.join(" "),
                    run.transcript()
                ));
            }
        }
    }
    assert!(checked > 5, "only {checked} YAML examples recognised");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// The configuration reference

const REFERENCE: &str = "reference/config.md";

/// docs/reference/config.md is what [`config_reference`] makes of
/// `trainyard config schema`; `UPDATE_DOCS=1` writes it.
#[test]
fn the_config_reference_is_generated_from_the_schema() {
    let repo = TestRepo::new();
    let schema = ok(&repo, &["config", "schema"]).json();
    let generated = config_reference(&schema);
    let path = docs_dir().join(REFERENCE);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/reference/config.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/{REFERENCE} is stale: run `UPDATE_DOCS=1 cargo test -p trainyard --test cli docs`\n\nfirst difference at line {}",
        first_difference(&on_disk, &generated)
    );
}

fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => break,
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "{n}:\n  on disk:   {}\n  generated: {}",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                );
            }
        }
    }
    "(none: line endings differ)".into()
}

/// The configuration reference page for a JSON Schema of trainyard.yaml:
/// one section per top-level key with a table of its keys (type, default,
/// description), then one section per nested object (list items `[]`,
/// map values `<name>`, variants of tagged unions), depth first.
fn config_reference(schema: &Value) -> String {
    let defs = schema["$defs"].as_object().cloned().unwrap_or_default();
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from `trainyard config schema` by crates/trainyard/tests/cli/docs.rs.\n     Do not edit: run `UPDATE_DOCS=1 cargo test -p trainyard --test cli docs`. -->\n\n",
    );
    out.push_str("# Configuration reference\n\n");
    out.push_str(&format!(
        "Every key of `{}`, from its JSON Schema (`trainyard config schema`). \
         Every key is optional unless marked required; a key that is not listed here is an error. \
         [Configuration](../configuration.md) explains how the file is found and checked.\n\n",
        schema["title"].as_str().unwrap_or("trainyard.yaml")
    ));
    let Some(properties) = schema["properties"].as_object() else {
        return out;
    };
    out.push_str("Sections:");
    for (i, key) in properties.keys().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(&format!("[`{key}`](#{key})"));
    }
    out.push_str(".\n");
    for (key, property) in properties {
        out.push_str(&format!("\n## {key}\n\n"));
        if let Some(d) = description(property) {
            out.push_str(&format!("{d}\n\n"));
        }
        let target = resolve(property, &defs);
        if object_properties(&target).is_some() || map_values(&target, &defs).is_some() {
            render_object(&mut out, key, &target, &defs, false);
        } else {
            out.push_str(&format!(
                "Type: {}.{}\n",
                type_name(property, &defs),
                property
                    .get("default")
                    .map(|d| format!(" Default: {}.", default_text(d)))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// A table of an object's keys, the values of its enumerated keys, long
/// defaults, then its nested objects' sections.
fn render_object(
    out: &mut String,
    path: &str,
    schema: &Value,
    defs: &serde_json::Map<String, Value>,
    heading: bool,
) {
    if heading {
        let kept = out.trim_end_matches('\n').len();
        out.truncate(kept);
        out.push_str(&format!("\n\n### {path}\n\n"));
        if let Some(d) = description(schema) {
            out.push_str(&format!("{d}\n\n"));
        }
    }
    if let Some(values) = map_values(schema, defs) {
        // A map: `gates: { G-REL: {...} }`.
        let child = format!("{path}.<name>");
        out.push_str(&format!(
            "A map from names to objects; each value is described under `{child}`.\n"
        ));
        render_nested(out, &child, &values, defs);
        return;
    }
    if let Some(variants) = object_variants(schema, defs) {
        // A tagged union: one section per variant.
        for (tag, variant) in variants {
            render_object(out, &format!("{path} ({tag})"), &variant, defs, true);
        }
        return;
    }
    let Some(properties) = object_properties(schema) else {
        return;
    };
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n");
    let mut long_defaults = Vec::new();
    let mut values = Vec::new();
    for (key, property) in properties {
        let default = match property.get("default") {
            Some(d) if default_text(d).len() > 40 => {
                long_defaults.push((key.clone(), d.clone()));
                "see below".to_owned()
            }
            Some(d) => default_text(d),
            None if required.contains(key.as_str()) => "required".to_owned(),
            None => String::new(),
        };
        out.push_str(&format!(
            "| `{key}` | {} | {default} | {} |\n",
            cell(&type_name(property, defs)),
            cell(&description(property).unwrap_or_default())
        ));
        if let Some(list) = enum_values(property, defs).filter(|l| l.iter().any(informative)) {
            values.push((key.clone(), list));
        }
    }
    for (key, list) in values {
        out.push_str(&format!("\n`{path}.{key}` values:\n\n"));
        for (value, d) in list {
            match d {
                Some(d) => out.push_str(&format!("- `{value}`: {}\n", one_line(&d))),
                None => out.push_str(&format!("- `{value}`\n")),
            }
        }
    }
    for (key, default) in long_defaults {
        out.push_str(&format!(
            "\nDefault of `{path}.{key}`:\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(&default).unwrap_or_default()
        ));
    }
    for (key, property) in properties {
        render_nested(out, &format!("{path}.{key}"), property, defs);
    }
}

/// The section of a property's value when it is (a list of, a map of) an
/// object.
fn render_nested(
    out: &mut String,
    path: &str,
    property: &Value,
    defs: &serde_json::Map<String, Value>,
) {
    let target = resolve(property, defs);
    if target["type"] == "array"
        || target["type"]
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("array")))
    {
        let items = resolve(&target["items"], defs);
        if is_object_like(&items, defs) {
            render_object(out, &format!("{path}[]"), &items, defs, true);
        }
        return;
    }
    if is_object_like(&target, defs) {
        render_object(out, path, &target, defs, true);
    }
}

fn is_object_like(schema: &Value, defs: &serde_json::Map<String, Value>) -> bool {
    object_properties(schema).is_some()
        || map_values(schema, defs).is_some()
        || object_variants(schema, defs).is_some()
}

/// An object's properties, when it has any.
fn object_properties(schema: &Value) -> Option<&serde_json::Map<String, Value>> {
    schema["properties"].as_object().filter(|p| !p.is_empty())
}

/// A map's value schema (resolved), when the values are objects.
fn map_values(schema: &Value, defs: &serde_json::Map<String, Value>) -> Option<Value> {
    if object_properties(schema).is_some() {
        return None;
    }
    let values = schema
        .get("additionalProperties")
        .filter(|v| v.is_object())?;
    let values = resolve(values, defs);
    object_properties(&values).is_some().then_some(values)
}

/// The variants of a tagged union of objects, each with its tag
/// (`kind: cargo`).
fn object_variants(
    schema: &Value,
    defs: &serde_json::Map<String, Value>,
) -> Option<Vec<(String, Value)>> {
    let variants = schema["oneOf"].as_array()?;
    let mut out = Vec::new();
    for variant in variants {
        let variant = resolve(variant, defs);
        let properties = object_properties(&variant)?;
        let tag = properties
            .iter()
            .find_map(|(k, p)| p["const"].as_str().map(|c| format!("{k}: {c}")))?;
        out.push((tag, variant));
    }
    Some(out)
}

/// A schema with `$ref` (and `X or null`) resolved to its definition,
/// whose description describes the type rather than the key.
fn resolve(schema: &Value, defs: &serde_json::Map<String, Value>) -> Value {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        return resolve(defs.get(name).unwrap_or(&Value::Null), defs);
    }
    if let Some(options) = schema["anyOf"].as_array() {
        let not_null: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
        if not_null.len() == 1 && options.len() == 2 {
            return resolve(not_null[0], defs);
        }
    }
    schema.clone()
}

/// The values of an enumeration (`oneOf`/`anyOf` of constants, through
/// references) with their descriptions.
fn enum_values(
    schema: &Value,
    defs: &serde_json::Map<String, Value>,
) -> Option<Vec<(String, Option<String>)>> {
    let target = resolve(schema, defs);
    if let Some(c) = target["const"].as_str() {
        return Some(vec![(c.to_owned(), description(&target))]);
    }
    let options = target["oneOf"].as_array().or(target["anyOf"].as_array())?;
    let mut out = Vec::new();
    for option in options {
        let mut values = enum_values(option, defs)?;
        if values.len() == 1 && values[0].1.is_none() {
            values[0].1 = description(option);
        }
        out.extend(values);
    }
    Some(out)
}

/// Whether an enumeration value's description says more than its name
/// (`monday`: "Monday." does not).
fn informative((value, description): &(String, Option<String>)) -> bool {
    description.as_deref().is_some_and(|d| {
        !d.trim_end_matches('.')
            .replace(' ', "_")
            .eq_ignore_ascii_case(value)
    })
}

/// A readable type: `string`, `list of string`, `one of `a`, `b``,
/// `map of name to object`, `string or null`.
fn type_name(schema: &Value, defs: &serde_json::Map<String, Value>) -> String {
    if let Some(values) = enum_values(schema, defs) {
        let names: Vec<String> = values.iter().map(|(v, _)| format!("`{v}`")).collect();
        return if names.len() == 1 {
            names[0].clone()
        } else {
            format!("one of {}", names.join(", "))
        };
    }
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let def = defs.get(name).unwrap_or(&Value::Null);
        if def.get("pattern").is_some() {
            // A constrained string, e.g. a version: name the constraint.
            return format!("{} ({name})", type_name(def, defs));
        }
        return type_name(def, defs);
    }
    if let Some(options) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        if object_variants(schema, defs).is_some() {
            return "object".into();
        }
        let names: Vec<String> = options.iter().map(|o| type_name(o, defs)).collect();
        let mut unique: Vec<String> = Vec::new();
        for n in names {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        return unique.join(" or ");
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let mut names: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => format!("list of {}", type_name(&schema["items"], defs)),
            "object" => match schema.get("additionalProperties") {
                Some(values) if values.is_object() && object_properties(schema).is_none() => {
                    format!("map of name to {}", type_name(values, defs))
                }
                _ => "object".into(),
            },
            "number" | "integer" => {
                match (schema["minimum"].as_f64(), schema["maximum"].as_f64()) {
                    (Some(lo), Some(hi)) => format!("{t} ({lo}–{hi})"),
                    _ => (*t).to_owned(),
                }
            }
            other => other.to_owned(),
        })
        .collect();
    if names.is_empty() {
        names.push("any".into());
    }
    names.join(" or ")
}

/// A default value as written in a table: compact JSON.
fn default_text(value: &Value) -> String {
    format!("`{}`", serde_json::to_string(value).unwrap_or_default())
}

/// A schema's description, rustdoc links made plain code.
fn description(schema: &Value) -> Option<String> {
    let text = schema["description"].as_str()?;
    let mut out = String::new();
    let mut rest = text;
    // `[`name`]` (an intra-doc link) -> `name`
    while let Some(start) = rest.find("[`") {
        let Some(end) = rest[start..].find("`]") else {
            break;
        };
        let end = start + end;
        let after = &rest[end + 2..];
        out.push_str(&rest[..start]);
        if after.starts_with('(') {
            out.push_str(&rest[start..end + 2]);
        } else {
            out.push_str(&rest[start + 1..end + 1]);
        }
        rest = after;
    }
    out.push_str(rest);
    Some(out.trim().to_owned())
}

/// Text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn commands_split_like_a_shell_and_refuse_shell_features() {
    let text = |s: &str| Arg::Text(s.to_owned());
    let (words, comment) = split_words(
        r#"trainyard rollback start <plan-id> --description "csv 'exports'" -x 'a b'  # exit 1"#,
    )
    .expect("plain");
    assert_eq!(
        words,
        [
            text("trainyard"),
            text("rollback"),
            text("start"),
            Arg::Placeholder("plan-id".into()),
            text("--description"),
            text("csv 'exports'"),
            text("-x"),
            text("a b"),
        ]
    );
    assert_eq!(comment.as_deref(), Some(" exit 1"));
    for shell in [
        "trainyard status | head",
        "trainyard status > out",
        "trainyard version next --rev $REV",
        "trainyard status; ls",
        "trainyard status && ls",
        "trainyard evidence list --kind sync_*",
        "trainyard sync plan <plan id>",
    ] {
        assert!(split_words(shell).is_err(), "{shell}");
    }
}

#[test]
fn expected_lines_match_one_output_line_with_elisions() {
    let output = "plan   abc123 (evidence/sync_plan/flags-abc.yaml)\nchanges  1 to add\n";
    assert!(appears("changes  1 to add", output));
    assert!(appears(
        "plan ... (evidence/sync_plan/flags-....yaml)",
        output
    ));
    assert!(
        !appears("plan ... 1 to add", output),
        "within one line only"
    );
    assert!(!appears("changes  2 to add", output));
}

#[test]
fn examples_carry_their_exit_codes_output_and_section() {
    let page = "<!-- fixture: empty -->\n## Part\n### trainyard x\n\n```console\n$ trainyard version next\n1.2.0\n...\n$ trainyard version validate 1.2  # exit 1\n1.2: invalid: ...\n```\n\n```yaml\n$ not: a command\n```\n";
    assert_eq!(declared_fixture("page.md", page), "empty");
    let found = examples("page.md", page);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].exit, 0);
    assert_eq!(found[0].expected, [(7, "1.2.0".to_owned())]);
    assert_eq!(found[1].exit, 1);
    assert_eq!(found[1].line, 9);
    assert_eq!(found[1].heading.as_deref(), Some("trainyard x"));
}

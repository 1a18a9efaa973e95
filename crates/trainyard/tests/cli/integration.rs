//! Integration with the world around trainyard: shell completions, man
//! pages, and GitHub Actions step outputs and job summaries.

use std::path::Path;

use crate::support::TestRepo;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A repository with one file sync, `docs`, from `src` to `dst`: two files
/// to add and one to modify.
fn file_sync_repo(approval_required: bool) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("src/a.txt", "alpha\n");
    repo.write("src/b.txt", "bravo\n");
    repo.write("src/c.txt", "charlie\n");
    repo.write("dst/c.txt", "old charlie\n");
    repo.write(
        ".trainyard/syncs/docs.yaml",
        &format!(
            "sync_config:\n  sync_id: docs\n  name: docs\n  type: cross_repo\n  source:\n    type: file\n    location: src\n  target:\n    type: file\n    location: dst\n  options:\n    dry_run_required: true\n    approval_required: {approval_required}\n    conflict_strategy: fail\n  filters:\n    include: []\n    exclude: []\n  schedule:\n    trigger: manual\n  notifications:\n    on_success: []\n    on_failure: []\n"
        ),
    );
    repo.commit("chore: trees");
    repo
}

#[test]
fn completions_cover_every_shell_and_the_subcommands() {
    let repo = TestRepo::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = repo.run(&["completions", shell]);
        assert_eq!(run.code(), 0, "{shell}: {}", run.transcript());
        assert!(run.stdout().contains("trainyard"), "{shell}");
    }
    let script = repo.home().join("trainyard.bash");
    let bash = repo.run(&["completions", "bash"]).stdout();
    // Nothing but the script on stdout, so `source <(...)` works.
    assert!(bash.starts_with("_trainyard()"), "{}", &bash[..80]);
    std::fs::write(&script, &bash).expect("write script");
    // Ask the script itself, as bash does on TAB: the words completed after
    // `trainyard sy`, `trainyard sync p` and `trainyard sync plan --e`.
    let complete = |words: &str| -> String {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source \"$0\"; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _trainyard trainyard \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
                 echo \"${{COMPREPLY[@]}}\""
            ))
            .arg(&script)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(complete("trainyard sy"), "sync");
    assert_eq!(complete("trainyard sync p"), "plan");
    assert_eq!(complete("trainyard sync plan --e"), "--exact");
}

#[test]
fn an_unknown_shell_is_bad_input() {
    let repo = TestRepo::new();
    let run = repo.run(&["completions", "tcsh"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(run.stdout().is_empty());
}

#[test]
fn man_prints_the_top_level_roff_page() {
    let repo = TestRepo::new();
    let run = repo.run(&["man"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let page = run.stdout();
    assert!(page.contains(".TH trainyard 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    assert!(page.contains("trainyard\\-sync(1)"), "{page}");
    // No page is written for `help`, so none points at one.
    assert!(!page.contains("trainyard\\-help"), "{page}");
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let repo = TestRepo::new();
    let run = repo.run(&["man", "--dir", "share/man/man1"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let dir = repo.path().join("share/man/man1");
    for name in [
        "trainyard.1",
        "trainyard-sync.1",
        "trainyard-sync-plan.1",
        "trainyard-version-next.1",
    ] {
        let page = read(&dir.join(name));
        assert!(page.starts_with(".ie"), "{name}: {page}");
        assert!(
            run.stdout()
                .lines()
                .any(|l| l.ends_with(&format!("/{name}"))),
            "{name} not reported: {}",
            run.stdout()
        );
    }
    assert!(read(&dir.join("trainyard-sync-plan.1")).contains("\\-\\-exact"));
    assert!(!dir.join("trainyard-help.1").exists());
    // Every page written is reported, and nothing else (no temporary
    // files) is left behind.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut reported: Vec<String> = run
        .stdout()
        .lines()
        .map(|l| {
            Path::new(l)
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    reported.sort();
    assert_eq!(on_disk, reported);
    assert!(
        run.stderr().contains("man page(s) into"),
        "{}",
        run.stderr()
    );
}

#[test]
fn man_dir_reports_json() {
    let repo = TestRepo::new();
    let run = repo.run(&["--json", "man", "--dir", "pages"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let report = run.json();
    let written = report["written"].as_array().expect("written");
    assert!(written.iter().any(|p| {
        p.as_str()
            .is_some_and(|p| p.ends_with("trainyard-sync-plan.1"))
    }));
}

#[test]
fn version_next_sets_the_version_output_and_summary() {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    repo.commit("feat: second feature");
    let output = repo.home().join("github_output");
    let summary = repo.home().join("github_summary");
    let run = repo.run_env(
        &["version", "next"],
        &[
            ("GITHUB_OUTPUT", output.to_str().expect("utf-8")),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert_eq!(run.stdout(), "1.1.0\n");
    assert_eq!(read(&output), "release_needed=true\nversion=1.1.0\n");
    let summary = read(&summary);
    assert!(summary.contains("### trainyard version next"), "{summary}");
    assert!(summary.contains("| version | 1.1.0 |"), "{summary}");
}

#[test]
fn version_next_with_nothing_to_release_hands_on_no_version() {
    let repo = TestRepo::new();
    repo.commit("feat: first feature");
    repo.tag("v1.0.0");
    let output = repo.home().join("github_output");
    let vars = [("GITHUB_OUTPUT", output.to_str().expect("utf-8"))];
    let run = repo.run_env(&["version", "next"], &vars);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    // `$(trainyard version next)` is empty: no job tags 1.0.0 again.
    assert_eq!(run.stdout(), "");
    assert!(
        run.stderr().contains("no release needed"),
        "{}",
        run.stderr()
    );
    assert_eq!(read(&output), "release_needed=false\n");
    let json = repo.run(&["--json", "version", "next"]).json();
    assert_eq!(json["release_needed"], false);
    assert_eq!(json["next"], serde_json::Value::Null);
    assert_eq!(json["next_tag"], serde_json::Value::Null);
}

#[test]
fn outputs_are_appended_not_replaced() {
    let repo = TestRepo::new();
    repo.commit("fix: a fix");
    let output = repo.home().join("github_output");
    std::fs::write(&output, "earlier=step\n").expect("write");
    let vars = [("GITHUB_OUTPUT", output.to_str().expect("utf-8"))];
    assert_eq!(repo.run_env(&["version", "next"], &vars).code(), 0);
    assert_eq!(
        repo.run_env(&["--json", "version", "next"], &vars).code(),
        0
    );
    assert_eq!(
        read(&output),
        "earlier=step\nrelease_needed=true\nversion=0.1.0\nrelease_needed=true\nversion=0.1.0\n"
    );
}

#[test]
fn sync_plan_sets_plan_id_and_changes() {
    let repo = file_sync_repo(true);
    let output = repo.home().join("github_output");
    let summary = repo.home().join("github_summary");
    let run = repo.run_env(
        &["--json", "sync", "plan", "docs"],
        &[
            ("GITHUB_OUTPUT", output.to_str().expect("utf-8")),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ],
    );
    // Changes are pending: exit 1, like diff; the outputs are written all
    // the same.
    assert_eq!(run.code(), 1, "{}", run.transcript());
    let plan_id = run.json()["plan_id"].as_str().expect("plan id").to_owned();
    assert_eq!(read(&output), format!("plan_id={plan_id}\nchanges=3\n"));
    let summary = read(&summary);
    assert!(
        summary.contains("### trainyard sync plan docs"),
        "{summary}"
    );
    assert!(summary.contains("| changes | 3 |"), "{summary}");
}

#[test]
fn sync_apply_and_run_set_changes() {
    let repo = file_sync_repo(true);
    let output = repo.home().join("apply_output");
    let vars = [("GITHUB_OUTPUT", output.to_str().expect("utf-8"))];
    let plan = repo.run(&["--json", "sync", "plan", "docs"]);
    let plan_id = plan.json()["plan_id"].as_str().expect("plan id").to_owned();
    let approve = repo.run(&["sync", "approve", &plan_id, "--by", "ada@example.org"]);
    assert_eq!(approve.code(), 0, "{}", approve.transcript());
    let apply = repo.run_env(&["sync", "apply", &plan_id], &vars);
    assert_eq!(apply.code(), 0, "{}", apply.transcript());
    assert_eq!(read(&output), "changes=3\n");

    let repo = file_sync_repo(false);
    let output = repo.home().join("run_output");
    let vars = [("GITHUB_OUTPUT", output.to_str().expect("utf-8"))];
    let run = repo.run_env(&["sync", "run", "docs"], &vars);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    // A second run finds nothing to do.
    let again = repo.run_env(&["sync", "run", "docs"], &vars);
    assert_eq!(again.code(), 0, "{}", again.transcript());
    assert_eq!(read(&output), "changes=3\nchanges=0\n");
}

#[test]
fn an_unwritable_output_file_is_only_a_warning() {
    let repo = TestRepo::new();
    repo.commit("feat: something");
    // A directory cannot be appended to.
    let dir = repo.home().join("not-a-file");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let run = repo.run_env(
        &["version", "next"],
        &[
            ("GITHUB_OUTPUT", dir.to_str().expect("utf-8")),
            ("GITHUB_STEP_SUMMARY", dir.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert_eq!(run.stdout(), "0.1.0\n");
    let stderr = run.stderr();
    assert!(
        stderr.contains("warning: cannot write GITHUB_OUTPUT"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: cannot write GITHUB_STEP_SUMMARY"),
        "{stderr}"
    );
}

#[test]
fn without_github_nothing_is_written() {
    let repo = TestRepo::new();
    repo.commit("feat: something");
    let before = crate::support::snapshot_dir(repo.home());
    // An empty variable is how the runner says "none", too.
    let run = repo.run_env(&["version", "next"], &[("GITHUB_OUTPUT", "")]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let after = crate::support::snapshot_dir(repo.home());
    crate::support::assert_unchanged(&before, &after);
}

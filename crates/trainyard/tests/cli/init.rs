//! `init` on real repositories: a fresh repository, an existing
//! configuration (refused unless `--force`), and `--dry-run`.

use crate::support::{TestRepo, assert_unchanged};

fn config(repo: &TestRepo) -> Option<String> {
    std::fs::read_to_string(repo.path().join("trainyard.yaml")).ok()
}

#[test]
fn init_in_a_fresh_repository_writes_a_valid_commented_config() {
    let repo = TestRepo::new();
    repo.write("README.md", "# app\n");
    repo.commit("feat: first");
    let run = repo.run(&["init"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    insta::assert_snapshot!("fresh_stderr", run.stderr_clean());
    let text = config(&repo).expect("trainyard.yaml written");
    insta::assert_snapshot!("fresh_config", text);
    let valid = repo.run(&["config", "validate"]);
    assert_eq!(valid.code(), 0, "{}", valid.transcript());
    // Only the configuration is new: nothing committed, nothing else
    // written.
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? trainyard.yaml");
}

#[test]
fn init_in_a_repository_without_commits_writes_the_defaults() {
    let repo = TestRepo::new();
    let run = repo.run(&["init"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let text = config(&repo).expect("trainyard.yaml written");
    assert!(text.contains("versioning:"), "{text}");
    assert_eq!(repo.run(&["config", "validate"]).code(), 0);
}

#[test]
fn init_refuses_an_existing_config_and_leaves_it_unless_forced() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let mine = "# my own settings\nversioning:\n  initial_version: 3.0.0\n";
    repo.write("trainyard.yaml", mine);
    let before = repo.tree_snapshot();
    let refused = repo.run(&["init"]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(refused.stdout().is_empty(), "{}", refused.stdout());
    insta::assert_snapshot!("refused_stderr", refused.stderr_clean());
    assert_unchanged(&before, &repo.tree_snapshot());
    // A dry run shows the proposal and still writes nothing; exit 0, as
    // a configuration is there.
    let dry = repo.run(&["init", "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}", dry.transcript());
    assert!(dry.stdout().contains("versioning:"), "{}", dry.stdout());
    assert_unchanged(&before, &repo.tree_snapshot());
    // --force replaces it with the proposal.
    let forced = repo.run(&["init", "--force"]);
    assert_eq!(forced.code(), 0, "{}", forced.transcript());
    let text = config(&repo).expect("config");
    assert_ne!(text, mine);
    assert_eq!(text, dry.stdout());
}

#[test]
fn init_dry_run_prints_exactly_what_init_writes_and_writes_nothing() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\n  \"name\": \"app\",\n  \"version\": \"0.4.0\"\n}\n",
    );
    repo.commit("feat: first");
    repo.tag("v0.4.0");
    let before = repo.tree_snapshot();
    // Exit 1: there is a file to write.
    let dry = repo.run(&["init", "--dry-run"]);
    assert_eq!(dry.code(), 1, "{}", dry.transcript());
    assert_unchanged(&before, &repo.tree_snapshot());
    let json = repo.run(&["--json", "init", "--dry-run"]);
    assert_eq!(json.code(), 1, "{}", json.transcript());
    let json = json.json();
    assert_eq!(json["written"], false, "{json:#}");
    assert_eq!(json["content"], dry.stdout());
    assert_unchanged(&before, &repo.tree_snapshot());
    let written = repo.run(&["init"]);
    assert_eq!(written.code(), 0, "{}", written.transcript());
    assert_eq!(config(&repo).expect("config"), dry.stdout());
    assert!(
        dry.stdout().contains("package.json"),
        "the manifest is proposed: {}",
        dry.stdout()
    );
}

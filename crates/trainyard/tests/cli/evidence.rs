//! The evidence trail left by `version bump`, and its verification.

use crate::support::TestRepo;

fn bumped_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.commit("feat: second");
    let run = repo.run(&["version", "bump"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    repo
}

#[test]
fn a_bump_is_recorded_and_verifies() {
    let repo = bumped_repo();
    let list = repo.run(&["--json", "evidence", "list"]).json();
    let records = list.as_array().expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["kind"], "version_bump");
    // A pinned clock is the record's time too.
    assert_eq!(records[0]["recorded_at"], crate::support::NOW);
    let name = records[0]["name"].as_str().expect("name").to_owned();
    let show = repo.run(&["evidence", "show", "version_bump", &name]);
    assert!(
        show.stdout().contains("version: \"1.1.0\""),
        "{}",
        show.transcript()
    );
    assert_eq!(repo.run(&["evidence", "verify"]).code(), 0);
}

#[test]
fn an_edited_document_fails_verification() {
    let repo = bumped_repo();
    let list = repo.run(&["--json", "evidence", "list"]).json();
    let path = repo
        .path()
        .join(".trainyard")
        .join(list[0]["path"].as_str().expect("path"));
    let text = std::fs::read_to_string(&path).expect("document");
    std::fs::write(&path, text.replace("1.1.0", "9.9.9")).expect("tamper");
    let run = repo.run(&["evidence", "verify"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    assert!(run.stdout().contains("edited"), "{}", run.transcript());
}

#[test]
fn a_symlinked_document_is_not_shown() {
    let repo = bumped_repo();
    let list = repo.run(&["--json", "evidence", "list"]).json();
    let name = list[0]["name"].as_str().expect("name").to_owned();
    let path = repo
        .path()
        .join(".trainyard")
        .join(list[0]["path"].as_str().expect("path"));
    let outside = repo.home().join("outside.txt");
    std::fs::write(&outside, "version_bump:\n  secret: outside the store\n").expect("outside");
    std::fs::remove_file(&path).expect("rm");
    std::os::unix::fs::symlink(&outside, &path).expect("ln");
    let show = repo.run(&["evidence", "show", "version_bump", &name]);
    assert_eq!(show.code(), 2, "{}", show.transcript());
    assert!(
        !show.stdout().contains("outside the store"),
        "{}",
        show.transcript()
    );
    assert!(
        show.stderr_clean().contains("symbolic link")
            && show.stderr().contains(&path.display().to_string()),
        "{}",
        show.transcript()
    );
    let verify = repo.run(&["evidence", "verify"]);
    assert_eq!(verify.code(), 1, "{}", verify.transcript());
    assert!(
        verify.stdout().contains("symlink"),
        "{}",
        verify.transcript()
    );
}

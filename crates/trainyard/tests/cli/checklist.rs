//! `check` and `signoff` on a real repository: the checklist table and its
//! exit code, sign-offs recorded as evidence and counted by the checklist.

use crate::support::{TestRepo, ok};

/// A repository with one release, 1.0.0, and a feature after it: the next
/// release is 1.1.0. The G-REL gate is configured and not yet run; there
/// is no changelog, and no sign-off has been given.
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "trainyard.yaml",
        "versioning:\n  initial_version: 1.0.0\ngates:\n  G-REL:\n    checks:\n      - name: suite\n        run: \"true\"\n",
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.write("src/export.txt", "csv\n");
    repo.commit("feat(export): csv export");
    repo
}

fn item<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

#[test]
fn check_prints_the_spec_table_and_exits_1_while_a_required_item_fails() {
    let repo = repo();
    let run = repo.run(&["check", "--version", "1.1.0"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    insta::assert_snapshot!("blocked", run.stdout());
    let report = repo.run(&["--json", "check", "--version", "1.1.0"]);
    assert_eq!(report.code(), 1, "{}", report.transcript());
    let report = report.json();
    assert_eq!(report["version"], "1.1.0");
    assert_eq!(report["release_type"], "minor");
    assert_eq!(report["passed"], false);
    let ids: Vec<&str> = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "RL-01", "RL-02", "RL-03", "RL-04", "RL-05", "RL-06", "RL-07", "RL-08"
        ]
    );
    assert_eq!(item(&report, "RL-06")["status"], "fail", "{report:#}");
    // A gate run recorded for the commit is what RL-02 reads.
    assert_eq!(item(&report, "RL-02")["status"], "fail", "{report:#}");
    ok(&repo, &["gate", "run", "G-REL"]);
    let report = repo.run(&["--json", "check", "--version", "1.1.0"]).json();
    assert_eq!(item(&report, "RL-02")["status"], "pass", "{report:#}");
    assert_eq!(report["passed"], false, "other items still fail");
}

#[test]
fn a_signoff_is_recorded_and_the_checklist_counts_it() {
    let repo = repo();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let run = repo.run(&[
        "signoff",
        "v1.1.0",
        "--item",
        "RL-06",
        "--by",
        "sec@example.org",
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert!(
        run.stderr().starts_with(&format!(
            "signed: 1.1.0 security by sec@example.org on {}\n",
            &head[..10]
        )),
        "{}",
        run.stderr()
    );
    let list = ok(&repo, &["--json", "evidence", "list", "--kind", "signoff"]).json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let report = repo.run(&["--json", "check", "--version", "1.1.0"]).json();
    let security = item(&report, "RL-06");
    assert_eq!(security["status"], "pass", "{report:#}");
    assert!(
        security["reason"]
            .as_str()
            .expect("reason")
            .contains("sec@example.org"),
        "{security}"
    );
    ok(&repo, &["evidence", "verify"]);
}

#[test]
fn a_signoff_of_an_unknown_item_or_version_is_refused_and_records_nothing() {
    let repo = repo();
    let unknown = repo.run(&[
        "signoff",
        "1.1.0",
        "--item",
        "RL-99",
        "--by",
        "a@example.org",
    ]);
    assert_eq!(unknown.code(), 2, "{}", unknown.transcript());
    insta::assert_snapshot!("unknown_item", unknown.stderr_clean());
    let bad = repo.run(&["signoff", "1.x", "--item", "RL-06", "--by", "a@example.org"]);
    assert_eq!(bad.code(), 2, "{}", bad.transcript());
    assert!(bad.stderr().contains("1.x"), "{}", bad.stderr());
    let list = repo
        .run(&["--json", "evidence", "list", "--kind", "signoff"])
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

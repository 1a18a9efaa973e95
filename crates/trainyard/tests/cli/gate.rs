//! `gate list` and `gate run` on real repositories: what each prints, the
//! exit codes, and the `gate_result` evidence a run records.

use crate::support::{TestRepo, ok};

const GATES: &str = "gates:\n  G-LINT:\n    checks:\n      - builtin: clean_tree\n      - name: lint\n        run: echo linted\n      - name: spelling\n        run: echo spelled >&2\n  G-BROKEN:\n    success_rate: 50\n    checks:\n      - name: fine\n        run: \"true\"\n      - name: broken\n        run: echo no such file >&2; exit 3\n";

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("trainyard.yaml", GATES);
    repo.write(".gitignore", ".trainyard/\n");
    repo.write("src/lib.txt", "one\n");
    repo.commit("feat: first");
    repo
}

/// A run's check lines with their measured durations taken out.
fn without_durations(text: &str) -> String {
    text.lines()
        .map(|line| match line.rfind(" (") {
            Some(at) if line.ends_with(" ms)") => format!("{} (… ms)", &line[..at]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn gate_results(repo: &TestRepo) -> Vec<serde_json::Value> {
    ok(
        repo,
        &["--json", "evidence", "list", "--kind", "gate_result"],
    )
    .json()
    .as_array()
    .expect("a list")
    .clone()
}

#[test]
fn gate_list_names_each_gate_and_its_checks() {
    let repo = repo();
    let run = repo.run(&["gate", "list"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    insta::assert_snapshot!(run.stdout());
    let json = repo.run(&["--json", "gate", "list"]).json();
    let lint = &json["G-LINT"]["checks"];
    assert_eq!(lint.as_array().map(Vec::len), Some(3), "{json:#}");
    assert_eq!(lint[1]["run"], "echo linted", "{json:#}");
    assert_eq!(json["G-BROKEN"]["success_rate"], 50.0, "{json:#}");
    // Listing records nothing.
    assert!(!repo.path().join(".trainyard").exists());
}

#[test]
fn a_passing_gate_run_prints_each_check_and_records_the_result() {
    let repo = repo();
    let run = repo.run(&["gate", "run", "G-LINT"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    insta::assert_snapshot!("passing_stdout", without_durations(&run.stdout()));
    insta::assert_snapshot!("passing_stderr", run.stderr_clean());
    let results = gate_results(&repo);
    assert_eq!(results.len(), 1, "{results:?}");
    let name = results[0]["name"].as_str().expect("name");
    let shown = ok(&repo, &["evidence", "show", "gate_result", name]).stdout();
    assert!(shown.contains("passed: true"), "{shown}");
    assert!(shown.contains("linted"), "{shown}");

    let json = repo.run(&["--json", "gate", "run", "G-LINT"]);
    assert_eq!(json.code(), 0, "{}", json.transcript());
    let result = json.json();
    assert_eq!(result["passed"], true, "{result:#}");
    assert_eq!(result["success_rate"], 100.0);
    let outputs: Vec<(&str, &str, &str)> = result["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name"),
                c["status"].as_str().expect("status"),
                c["output"].as_str().expect("output"),
            )
        })
        .collect();
    assert_eq!(
        outputs,
        [
            ("clean_tree", "passed", ""),
            ("lint", "passed", "linted\n"),
            ("spelling", "passed", "spelled\n"),
        ]
    );
    assert_eq!(gate_results(&repo).len(), 2);
    ok(&repo, &["evidence", "verify"]);
}

#[test]
fn a_failing_gate_run_exits_1_and_says_which_check_failed() {
    let repo = repo();
    let run = repo.run(&["gate", "run", "G-BROKEN"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    insta::assert_snapshot!("failing_stdout", without_durations(&run.stdout()));
    insta::assert_snapshot!("failing_stderr", run.stderr_clean());
    // A failed gate is still on record.
    let results = gate_results(&repo);
    assert_eq!(results.len(), 1, "{results:?}");
    let json = repo.run(&["--json", "gate", "run", "G-BROKEN"]).json();
    assert_eq!(json["passed"], false);
    assert_eq!(json["checks"][1]["exit_code"], 3);
    assert_eq!(json["checks"][1]["output"], "no such file\n");
}

#[test]
fn a_gate_that_is_not_configured_is_refused() {
    let repo = repo();
    let run = repo.run(&["gate", "run", "G-NOPE"]);
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(run.stderr().contains("G-NOPE"), "{}", run.stderr());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert!(!repo.path().join(".trainyard").exists());
}

#[test]
fn a_gate_run_refuses_a_dirty_clean_tree_check_with_the_files() {
    let repo = repo();
    repo.write("src/lib.txt", "two\n");
    let run = repo.run(&["--json", "gate", "run", "G-LINT"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    let json = run.json();
    assert_eq!(json["checks"][0]["name"], "clean_tree");
    assert_eq!(json["checks"][0]["status"], "failed");
    assert_eq!(json["checks"][0]["output"], " M src/lib.txt\n");
    assert_eq!(json["passed"], false);
}

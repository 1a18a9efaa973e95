//! `trainyard status`.

use crate::support::TestRepo;

fn fixture() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"1.1.0\"\nedition = \"2021\"\n",
    );
    repo.write(
        "package.json",
        "{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    repo.commit("feat: first");
    repo.tag("v1.1.0");
    repo.commit("fix(parser): handle empty input");
    repo.commit("feat(cli): add --json");
    repo.commit("docs: explain status");
    repo.commit("Quick hack");
    repo
}

#[test]
fn status_shows_where_the_repository_stands() {
    let repo = fixture();
    insta::assert_snapshot!(repo.run(&["status"]).transcript());
}

#[test]
fn status_json_comes_from_the_same_report() {
    let repo = fixture();
    let run = repo.run(&["status", "--json"]);
    assert_eq!(run.code(), 0);
    let json = run.json();
    assert_eq!(json["current"], "1.1.0");
    assert_eq!(json["next"], "1.2.0");
    assert_eq!(json["bump"], "minor");
    assert_eq!(json["nonconforming"], 1);
    assert_eq!(json["head"]["branch"], "main");
    let disagreeing = json["disagreeing_manifests"].as_array().expect("array");
    assert_eq!(disagreeing.len(), 1);
    assert_eq!(disagreeing[0]["path"], "package.json");
}

#[test]
fn detached_head_is_reported_not_refused() {
    let repo = fixture();
    repo.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let run = repo.run(&["status", "--json"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let json = run.json();
    assert_eq!(json["head"]["branch"], serde_json::Value::Null);
    assert!(json["notes"].to_string().contains("HEAD is detached"));
}

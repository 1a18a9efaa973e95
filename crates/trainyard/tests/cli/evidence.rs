//! The evidence trail left by `version bump`, and its verification.

use trainyard_core::evidence::{Record, sha256_hex};

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

/// The bumped repository with two sign-offs more: three records, each
/// write anchored; `.trainyard/` is ignored so the tree stays clean.
fn anchored_repo() -> TestRepo {
    let repo = bumped_repo();
    repo.write(".gitignore", ".trainyard/\n");
    repo.commit("chore: ignore the store");
    for item in ["RL-06", "RL-08"] {
        let run = repo.run(&[
            "signoff",
            "1.1.0",
            "--item",
            item,
            "--by",
            "ada@example.org",
        ]);
        assert_eq!(run.code(), 0, "{}", run.transcript());
    }
    repo
}

/// Adds a bare repository as `origin`.
fn add_origin(repo: &TestRepo) -> std::path::PathBuf {
    let remote = repo.home().join("origin.git");
    repo.git_in(
        repo.home(),
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf-8")]);
    remote
}

fn index_path(repo: &TestRepo) -> std::path::PathBuf {
    repo.path().join(".trainyard/evidence/index.jsonl")
}

fn read_index(repo: &TestRepo) -> Vec<Record> {
    std::fs::read_to_string(index_path(repo))
        .expect("index")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

fn write_index(repo: &TestRepo, records: &[Record]) {
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("json") + "\n")
        .collect();
    std::fs::write(index_path(repo), text).expect("index");
}

/// What a forger does: edits the document of `seq`, records its new
/// SHA-256 and recomputes every hash from there on, so that the chain is
/// internally consistent again.
fn rewrite_consistently(repo: &TestRepo, seq: u64, from: &str, to: &str) {
    let mut records = read_index(repo);
    let mut prev = None;
    for record in &mut records {
        if record.seq == seq {
            let path = repo.path().join(".trainyard").join(&record.path);
            let text = std::fs::read_to_string(&path).expect("document");
            assert!(text.contains(from), "{text}");
            let forged = text.replace(from, to);
            std::fs::write(&path, &forged).expect("forge");
            record.sha256 = sha256_hex(forged.as_bytes());
        }
        if let Some(prev) = prev {
            record.prev = prev;
        }
        record.hash = record.compute_hash().expect("hash");
        prev = Some(record.hash.clone());
    }
    write_index(repo, &records);
}

/// The problem kinds of a `--json evidence verify`.
fn problem_kinds(verify: &serde_json::Value) -> Vec<String> {
    verify["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[test]
fn every_write_anchors_the_index_head_in_git() {
    let repo = anchored_repo();
    let records = read_index(&repo);
    assert_eq!(records.len(), 3);
    let messages = repo.git(&["log", "--format=%s", "refs/trainyard/evidence"]);
    assert_eq!(
        messages.lines().collect::<Vec<_>>(),
        [
            "evidence anchor: seq 3",
            "evidence anchor: seq 2",
            "evidence anchor: seq 1"
        ]
    );
    let anchor: serde_json::Value =
        serde_json::from_str(&repo.git(&["show", "refs/trainyard/evidence:anchor.json"]))
            .expect("anchor.json");
    assert_eq!(anchor["head"]["seq"], 3);
    assert_eq!(anchor["head"]["hash"], records[2].hash.as_str());
    assert_eq!(
        anchor["head"]["recorded_at"],
        records[2].recorded_at.as_str()
    );
    assert_eq!(anchor["head"]["store"], ".trainyard");
    // The ref is not in the working tree.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 0, "{}", verify.transcript());
    let verify = verify.json();
    assert_eq!(verify["anchor"]["anchored"], true);
    assert_eq!(verify["anchor"]["last_seq"], 3);
    assert_eq!(verify["anchor"]["heads"], 3);
    assert_eq!(verify["anchor"]["unanchored"], 0);
    let human = repo.run(&["evidence", "verify"]);
    assert!(
        human
            .stderr()
            .contains("anchored: head seq 3 in refs/trainyard/evidence"),
        "{}",
        human.transcript()
    );
}

#[test]
fn a_consistently_rewritten_chain_is_caught_by_the_anchor() {
    let repo = anchored_repo();
    rewrite_consistently(&repo, 1, "1.1.0", "9.9.9");
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 1, "{}", verify.transcript());
    let json = verify.json();
    // The chain itself checks out: only the anchor tells.
    assert_eq!(
        problem_kinds(&json),
        ["anchor_mismatch", "anchor_mismatch", "anchor_mismatch"]
    );
    let messages = json["problems"].to_string();
    let forged = read_index(&repo);
    assert!(
        messages.contains("(seq 1): the record's hash is")
            && messages.contains(&forged[0].hash)
            && messages.contains("the chain was rewritten after it was anchored"),
        "{messages}"
    );
    let human = repo.run(&["evidence", "verify"]);
    assert!(
        human.stdout().contains("anchor_mismatch") && human.stderr().contains("tampered:"),
        "{}",
        human.transcript()
    );
}

#[test]
fn a_deleted_last_record_is_caught_by_the_anchor() {
    let repo = anchored_repo();
    let mut records = read_index(&repo);
    let last = records.pop().expect("a record");
    std::fs::remove_file(repo.path().join(".trainyard").join(&last.path)).expect("rm");
    write_index(&repo, &records);
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 1, "{}", verify.transcript());
    let json = verify.json();
    assert_eq!(problem_kinds(&json), ["anchored_record_missing"]);
    assert_eq!(json["problems"][0]["seq"], 3);
    let message = json["problems"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("has no record seq 3 (its last is seq 2)")
            && message.contains(&last.hash)
            && message.contains("records were deleted"),
        "{message}"
    );
}

#[test]
fn records_after_the_last_anchor_are_a_note_and_no_anchor_says_so() {
    let repo = anchored_repo();
    // The ref deleted: nothing to compare with, and verify says so.
    repo.git(&["update-ref", "-d", "refs/trainyard/evidence"]);
    let verify = repo.run(&["evidence", "verify"]);
    assert_eq!(verify.code(), 0, "{}", verify.transcript());
    assert!(
        verify
            .stderr()
            .contains("note: the evidence chain is not anchored"),
        "{}",
        verify.transcript()
    );
    // The next write anchors its head; a record appended by hand after it
    // is not anchored yet, which is a note, not a failure.
    let run = repo.run(&[
        "signoff",
        "1.1.0",
        "--item",
        "RL-06",
        "--by",
        "ada@example.org",
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let mut records = read_index(&repo);
    let mut extra = records.last().expect("a record").clone();
    extra.seq += 1;
    extra.prev = extra.hash.clone();
    extra.name = format!("{}-copy", extra.name);
    extra.path = extra.path.replace(".yaml", "-copy.yaml");
    std::fs::copy(
        repo.path()
            .join(".trainyard")
            .join(&records.last().expect("a record").path),
        repo.path().join(".trainyard").join(&extra.path),
    )
    .expect("copy");
    extra.hash = extra.compute_hash().expect("hash");
    records.push(extra);
    write_index(&repo, &records);
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 0, "{}", verify.transcript());
    let json = verify.json();
    assert_eq!(json["anchor"]["last_seq"], 4);
    assert_eq!(json["anchor"]["unanchored"], 1);
    assert!(
        json["anchor"]["notes"]
            .to_string()
            .contains("1 record(s) after the last anchored head (seq 4)"),
        "{json}"
    );
}

#[test]
fn a_rewritten_local_anchor_is_caught_against_the_remote() {
    let repo = anchored_repo();
    add_origin(&repo);
    repo.git(&["push", "-q", "origin", "refs/trainyard/evidence"]);
    let clean = repo.run(&["evidence", "verify", "--against", "origin"]);
    assert_eq!(clean.code(), 0, "{}", clean.transcript());
    assert!(
        clean.stderr().contains("against: origin's anchor"),
        "{}",
        clean.transcript()
    );
    // The forger rewrites the chain, deletes the local anchor and lets the
    // next write anchor the forged chain afresh.
    rewrite_consistently(&repo, 2, "ada@example.org", "eve@example.org");
    repo.git(&["update-ref", "-d", "refs/trainyard/evidence"]);
    let run = repo.run(&[
        "signoff",
        "1.1.0",
        "--item",
        "RL-06",
        "--by",
        "ada@example.org",
    ]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let local = repo.run(&["evidence", "verify"]);
    assert_eq!(local.code(), 0, "locally it passes: {}", local.transcript());
    let against = repo.run(&["--json", "evidence", "verify", "--against", "origin"]);
    assert_eq!(against.code(), 1, "{}", against.transcript());
    let json = against.json();
    assert_eq!(
        problem_kinds(&json),
        ["anchor_rewritten", "anchor_mismatch", "anchor_mismatch"]
    );
    let messages = json["problems"].to_string();
    assert!(
        messages.contains("origin's refs/trainyard/evidence commit")
            && messages.contains("(seq 2)"),
        "{messages}"
    );
    assert_eq!(json["anchor"]["against"]["remote"], "origin");
    assert_eq!(json["anchor"]["against"]["last_seq"], 3);
}

#[test]
fn a_remote_without_an_anchor_or_out_of_reach_is_an_error() {
    let repo = anchored_repo();
    add_origin(&repo);
    let missing = repo.run(&["evidence", "verify", "--against", "origin"]);
    assert_eq!(missing.code(), 2, "{}", missing.transcript());
    assert!(
        missing
            .stderr()
            .contains("remote origin has no refs/trainyard/evidence"),
        "{}",
        missing.transcript()
    );
    let nowhere = repo.home().join("nowhere.git");
    let unreachable = repo.run(&[
        "evidence",
        "verify",
        "--against",
        nowhere.to_str().expect("utf-8"),
    ]);
    assert_eq!(unreachable.code(), 3, "{}", unreachable.transcript());
    assert!(
        unreachable
            .stderr()
            .contains("cannot read refs/trainyard/evidence from remote"),
        "{}",
        unreachable.transcript()
    );
}

#[test]
fn in_team_mode_heads_are_signed_and_a_bad_signature_is_caught() {
    let repo = TestRepo::new();
    let key = repo.home().join("ada");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ada", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(keygen.status.success(), "{keygen:?}");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    repo.write(
        "allowed_signers",
        &format!(
            "ada@example.org namespaces=\"trainyard\" {}\n",
            public.join(" ")
        ),
    );
    repo.write(
        "trainyard.yaml",
        "identity:\n  roles:\n    Director: [ada@example.org]\n  allowed_signers: allowed_signers\n",
    );
    repo.write(".gitignore", ".trainyard/\n");
    repo.commit("feat: first");
    let signing = [("TRAINYARD_SIGNING_KEY", key.to_str().expect("utf-8"))];
    for item in ["RL-06", "RL-08"] {
        let run = repo.run_env(
            &[
                "signoff",
                "1.1.0",
                "--item",
                item,
                "--by",
                "ada@example.org",
            ],
            &signing,
        );
        assert_eq!(run.code(), 0, "{}", run.transcript());
    }
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 0, "{}", verify.transcript());
    assert_eq!(verify.json()["anchor"]["signed"], 2);
    // A head anchored with another head's signature does not verify.
    let messages = repo.git(&["log", "--format=%B%x00", "refs/trainyard/evidence"]);
    let anchors: Vec<serde_json::Value> = messages
        .split('\0')
        .filter_map(|m| m.lines().rev().find(|l| l.starts_with('{')))
        .map(|l| serde_json::from_str(l).expect("anchor"))
        .collect();
    let mut forged = anchors[0].clone();
    forged["signature"] = anchors[1]["signature"].clone();
    let commit = repo.git(&[
        "commit-tree",
        "HEAD^{tree}",
        "-p",
        "refs/trainyard/evidence",
        "-m",
        &format!("evidence anchor: seq 2\n\n{forged}"),
    ]);
    repo.git(&["update-ref", "refs/trainyard/evidence", &commit]);
    let verify = repo.run(&["--json", "evidence", "verify"]);
    assert_eq!(verify.code(), 1, "{}", verify.transcript());
    let json = verify.json();
    assert_eq!(problem_kinds(&json), ["anchor_signature"]);
    assert!(
        json["problems"][0]["message"]
            .as_str()
            .expect("message")
            .contains("(seq 2): the head's signature by ada@example.org does not verify"),
        "{json}"
    );
}

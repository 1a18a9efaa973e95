//! Team mode: roles in `trainyard.yaml`, keys made by `ssh-keygen`, an
//! allowed-signers file, and every decision signed and checked where it
//! is used.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Run, TestRepo};

/// The principals of the team, each with a key made by `ssh-keygen`.
pub struct Team {
    keys: PathBuf,
}

impl Team {
    /// Keys for `principals` under the home, the allowed-signers file at
    /// `allowed_signers` in the repository, and `identity:` in
    /// `trainyard.yaml` with `roles` (YAML lines under `roles:`).
    pub fn new(repo: &TestRepo, principals: &[&str], roles: &str) -> Team {
        repo.write("trainyard.yaml", "");
        Team::join(repo, principals, roles)
    }

    /// [`Team::new`] for a repository whose `trainyard.yaml` has other
    /// sections already: `identity:` is added at its end.
    pub fn join(repo: &TestRepo, principals: &[&str], roles: &str) -> Team {
        let keys = repo.home().join("keys");
        std::fs::create_dir_all(&keys).expect("keys dir");
        let team = Team { keys };
        let mut signers = String::new();
        for principal in principals {
            let public = team.make_key(principal);
            signers.push_str(&format!("{principal} namespaces=\"trainyard\" {public}\n"));
        }
        repo.write("allowed_signers", &signers);
        let config =
            std::fs::read_to_string(repo.path().join("trainyard.yaml")).unwrap_or_default();
        repo.write(
            "trainyard.yaml",
            &format!("{config}identity:\n  allowed_signers: allowed_signers\n  roles:\n{roles}"),
        );
        repo.commit("chore: the team's roles and keys");
        team
    }

    /// Makes a key for `name` (not listed anywhere yet): its public line.
    pub fn make_key(&self, name: &str) -> String {
        let path = self.key(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success(), "ssh-keygen made no key for {name}");
        let public = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
        public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The private key file of `name`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.keys.join(name.replace(['@', '.'], "_"))
    }

    /// Runs trainyard signing with `name`'s key.
    pub fn run_as(&self, repo: &TestRepo, name: &str, args: &[&str]) -> Run {
        let key = self.key(name);
        repo.run_env(
            args,
            &[("TRAINYARD_SIGNING_KEY", key.to_str().expect("utf-8"))],
        )
    }
}

fn sync_fixture(repo: &TestRepo) {
    repo.write("src/a.txt", "alpha\n");
    repo.write("dst/b.txt", "old bravo\n");
    repo.write(
        ".trainyard/syncs/small.yaml",
        "sync_config:\n  sync_id: small\n  name: small\n  type: cross_repo\n  source:\n    type: file\n    location: src\n  target:\n    type: file\n    location: dst\n  options:\n    dry_run_required: true\n    approval_required: true\n    approver: release-managers\n    conflict_strategy: fail\n  filters:\n    include: []\n    exclude: []\n  schedule:\n    trigger: manual\n  notifications:\n    on_success: []\n    on_failure: []\n",
    );
    repo.commit("chore: a sync");
}

/// A repository whose planner is test@example.org (git's user), with
/// ada in release-managers and bob a reviewer only.
fn team_repo() -> (TestRepo, Team) {
    let repo = TestRepo::new();
    let team = Team::new(
        &repo,
        &["ada@example.org", "bob@example.org", "test@example.org"],
        "    release-managers: [ada@example.org, test@example.org]\n    reviewers: [bob@example.org, ada@example.org]\n",
    );
    sync_fixture(&repo);
    (repo, team)
}

fn plan(repo: &TestRepo) -> String {
    let run = repo.run(&["--json", "sync", "plan", "small"]);
    assert_eq!(run.code(), 1, "{}", run.transcript());
    run.json()["plan_id"].as_str().expect("plan id").to_owned()
}

fn approval_file(repo: &TestRepo) -> PathBuf {
    crate::sync::only_document(repo, "sync_approval")
}

#[test]
fn a_signed_approval_names_the_verified_principal_and_key_in_the_log() {
    let (repo, team) = team_repo();
    let id = plan(&repo);
    let approved = team.run_as(
        &repo,
        "ada@example.org",
        &["sync", "approve", &id, "--role", "release-managers"],
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    assert!(
        approved.stderr().contains("by ada@example.org")
            && approved.stderr().contains("signed with key SHA256:")
            && !approved.stderr().contains("unverified"),
        "{}",
        approved.stderr()
    );
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    let logs = repo.run(&["--json", "sync", "log", "small"]).json();
    let by = logs[0]["approval"]["approved_by"].as_str().expect("by");
    assert!(by.starts_with("ada@example.org (key SHA256:"), "{by}");
    // The record carries the signature beside the decision.
    let recorded = std::fs::read_to_string(approval_file(&repo)).expect("approval");
    assert!(recorded.contains("BEGIN SSH SIGNATURE"), "{recorded}");
}

#[test]
fn a_role_claimed_outside_it_or_a_name_the_key_is_not_is_refused() {
    let (repo, team) = team_repo();
    let id = plan(&repo);
    // bob holds reviewers, not release-managers.
    let claimed = team.run_as(
        &repo,
        "bob@example.org",
        &["sync", "approve", &id, "--role", "release-managers"],
    );
    assert_eq!(claimed.code(), 2, "{}", claimed.transcript());
    assert!(
        claimed
            .stderr()
            .contains("bob@example.org does not hold the role release-managers (held by ada@example.org, test@example.org)"),
        "{}",
        claimed.stderr()
    );
    // bob's key cannot sign as ada, nor as the role itself.
    for by in ["ada@example.org", "release-managers"] {
        let run = team.run_as(
            &repo,
            "bob@example.org",
            &[
                "sync",
                "approve",
                &id,
                "--by",
                by,
                "--role",
                "release-managers",
            ],
        );
        assert_eq!(run.code(), 2, "{by}: {}", run.transcript());
        assert!(
            run.stderr().contains(&format!("may not sign as {by}")),
            "{by}: {}",
            run.stderr()
        );
    }
    // A key that is in no allowed-signers line.
    team.make_key("mallory@example.org");
    let stranger = team.run_as(
        &repo,
        "mallory@example.org",
        &["sync", "approve", &id, "--role", "release-managers"],
    );
    assert_eq!(stranger.code(), 2, "{}", stranger.transcript());
    assert!(
        stranger.stderr().contains("belongs to nobody in"),
        "{}",
        stranger.stderr()
    );
    // Nothing was recorded, and the plan is still unapproved.
    let apply = repo.run(&["sync", "apply", &id]);
    assert_eq!(apply.code(), 2, "{}", apply.transcript());
    assert!(
        apply.stderr().contains("is not approved"),
        "{}",
        apply.stderr()
    );
}

#[test]
fn the_planner_cannot_approve_their_own_plan() {
    let (repo, team) = team_repo();
    // test@example.org planned it (git's user) and holds release-managers.
    let id = plan(&repo);
    let own = team.run_as(
        &repo,
        "test@example.org",
        &["sync", "approve", &id, "--role", "release-managers"],
    );
    assert_eq!(own.code(), 2, "{}", own.transcript());
    assert!(
        own.stderr()
            .contains("was made by test@example.org, who cannot also decide on it"),
        "{}",
        own.stderr()
    );
    // With separation of duties off, they may.
    let config = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config");
    repo.write(
        "trainyard.yaml",
        &config.replace("identity:\n", "identity:\n  separation_of_duties: false\n"),
    );
    let allowed = team.run_as(
        &repo,
        "test@example.org",
        &["sync", "approve", &id, "--role", "release-managers"],
    );
    assert_eq!(allowed.code(), 0, "{}", allowed.transcript());
}

/// Rewrites a recorded document and the index after it so that the
/// store's own chain checks out again: what someone with write access to
/// `.trainyard/` can do. The signature inside is left as it was.
fn forge(repo: &TestRepo, document: &Path, from: &str, to: &str) {
    use trainyard_core::evidence::{Record, sha256_hex};
    crate::sync::edit(document, from, to);
    let store = repo.path().join(".trainyard");
    let index = store.join("evidence/index.jsonl");
    let mut records: Vec<Record> = std::fs::read_to_string(&index)
        .expect("index")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    let mut prev: Option<String> = None;
    for record in &mut records {
        let bytes = std::fs::read(store.join(&record.path)).expect("recorded file");
        record.sha256 = sha256_hex(&bytes);
        if let Some(prev) = prev {
            record.prev = prev;
        }
        record.hash = record.compute_hash().expect("hash");
        prev = Some(record.hash.clone());
    }
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("json") + "\n")
        .collect();
    std::fs::write(&index, text).expect("index");
}

#[test]
fn a_signed_rejection_forged_into_an_approval_is_refused_at_apply() {
    let (repo, team) = team_repo();
    let id = plan(&repo);
    let rejected = team.run_as(
        &repo,
        "ada@example.org",
        &["sync", "approve", &id, "--reject", "--reason", "not today"],
    );
    assert_eq!(rejected.code(), 0, "{}", rejected.transcript());
    let before = std::fs::read_to_string(repo.path().join("dst/b.txt")).expect("dst");
    forge(
        &repo,
        &approval_file(&repo),
        "approved: false",
        "approved: true",
    );
    // The chain checks out again, so only the signature tells.
    let apply = repo.run(&["sync", "apply", &id]);
    assert_eq!(apply.code(), 2, "{}", apply.transcript());
    assert!(
        apply.stderr().contains("the approval of plan")
            && apply.stderr().contains("(evidence/sync_approval/small-")
            && apply.stderr().contains(".yaml)")
            && apply.stderr().contains("the signature of ada@example.org")
            && apply
                .stderr()
                .contains("it was changed after it was signed"),
        "{}",
        apply.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("dst/b.txt")).expect("dst"),
        before
    );
}

#[test]
fn an_unsigned_approval_is_refused_in_team_mode_and_solo_use_says_it_is_unverified() {
    // Approved in solo use, then roles are configured: the old approval
    // carries no signature and is not trusted.
    let repo = TestRepo::new();
    sync_fixture(&repo);
    let id = plan(&repo);
    let solo = repo.run(&[
        "sync",
        "approve",
        &id,
        "--by",
        "ada@example.org",
        "--role",
        "release-managers",
    ]);
    assert_eq!(solo.code(), 0, "{}", solo.transcript());
    assert!(
        solo.stderr().contains("note: approvals are unverified"),
        "{}",
        solo.stderr()
    );
    let _team = Team::new(
        &repo,
        &["ada@example.org"],
        "    release-managers: [ada@example.org]\n",
    );
    let apply = repo.run(&["sync", "apply", &id]);
    assert_eq!(apply.code(), 2, "{}", apply.transcript());
    assert!(
        apply
            .stderr()
            .contains("is not signed, and decisions are signed in this repository"),
        "{}",
        apply.stderr()
    );
}

#[test]
fn trainyard_signatures_and_ssh_keygen_signatures_verify_both_ways() {
    let (repo, team) = team_repo();
    let id = plan(&repo);
    let approved = team.run_as(
        &repo,
        "ada@example.org",
        &[
            "--json",
            "sync",
            "approve",
            &id,
            "--role",
            "release-managers",
        ],
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    let approval = approved.json();
    let sshsig = approval["signature"]["sshsig"].as_str().expect("sshsig");
    // The signed bytes are the approval without its signature, as
    // compact JSON in the document's key order.
    let mut unsigned = approval.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("signature");
    let message = serde_json::to_vec(&unsigned).expect("json");
    let dir = repo.home();
    std::fs::write(dir.join("approval.sig"), sshsig).expect("sig");
    let verify = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "trainyard", "-f"])
        .arg(repo.path().join("allowed_signers"))
        .args(["-I", "ada@example.org", "-s"])
        .arg(dir.join("approval.sig"))
        .stdin(std::fs::File::open(write(dir, "message", &message)).expect("message"))
        .output()
        .expect("ssh-keygen runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn the_two_review_layers_need_two_principals_with_two_keys() {
    let (repo, team) = team_repo();
    // ada's key is listed a second time, under another name.
    let ada = std::fs::read_to_string(team.key("ada@example.org").with_extension("pub"))
        .expect("ada's key");
    let ada = ada.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let signers = std::fs::read_to_string(repo.path().join("allowed_signers")).expect("signers");
    repo.write(
        "allowed_signers",
        &format!("{signers}ada.alias@example.org namespaces=\"trainyard\" {ada}\n"),
    );
    let config = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config");
    repo.write(
        "trainyard.yaml",
        &format!("{config}  signoff_roles:\n    review: reviewers\n"),
    );
    let config = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("config");
    repo.write(
        "trainyard.yaml",
        &config.replace(
            "reviewers: [bob@example.org, ada@example.org]",
            "reviewers: [bob@example.org, ada@example.org, ada.alias@example.org]",
        ),
    );
    repo.commit("chore: an alias");
    let signoff = |who: &str, by: Option<&str>, layer: &str| {
        let mut args = vec!["signoff", "1.0.0", "--item", "review", "--layer", layer];
        if let Some(by) = by {
            args.extend(["--by", by]);
        }
        team.run_as(&repo, who, &args)
    };
    let first = signoff("ada@example.org", Some("ada@example.org"), "1");
    assert_eq!(first.code(), 0, "{}", first.transcript());
    // The same key under the other name is the same person.
    let alias = signoff("ada@example.org", Some("ada.alias@example.org"), "2");
    assert_eq!(alias.code(), 2, "{}", alias.transcript());
    assert!(
        alias
            .stderr()
            .contains("was signed by ada@example.org with the same key SHA256:"),
        "{}",
        alias.stderr()
    );
    // test@example.org holds no reviewers role.
    let outsider = signoff("test@example.org", None, "2");
    assert_eq!(outsider.code(), 2, "{}", outsider.transcript());
    assert!(
        outsider
            .stderr()
            .contains("test@example.org does not hold the role reviewers"),
        "{}",
        outsider.stderr()
    );
    let second = signoff("bob@example.org", None, "2");
    assert_eq!(second.code(), 0, "{}", second.transcript());
    // A sign-off rewritten to name someone else is refused where it is
    // read.
    let dir = repo.path().join(".trainyard/evidence/signoff");
    let bobs = std::fs::read_dir(&dir)
        .expect("signoffs")
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("by: bob@example.org")))
        .expect("bob's sign-off");
    forge(&repo, &bobs, "layer: 2", "layer: 1");
    let again = signoff("bob@example.org", None, "2");
    assert_eq!(again.code(), 2, "{}", again.transcript());
    assert!(
        again
            .stderr()
            .contains("the review sign-off of 1.0.0 by bob@example.org")
            && again
                .stderr()
                .contains("it was changed after it was signed"),
        "{}",
        again.stderr()
    );
}

#[test]
fn a_key_held_by_ssh_agent_signs_through_its_public_half() {
    let (repo, team) = team_repo();
    let id = plan(&repo);
    // An agent of its own, holding ada's key; the private key file is
    // then moved away, so only the agent can sign.
    let socket = repo.home().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ssh-agent runs");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // It prints where its socket is once the socket listens.
    let stdout = agent.stdout.take().expect("stdout");
    let _agent = Kill(agent);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut stdout, &mut line);
        let _ = tx.send(line);
        // Read on, so that nothing it prints later meets a closed pipe.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("ssh-agent never listened");
    assert!(line.starts_with("SSH_AUTH_SOCK="), "{line:?}");
    let key = team.key("ada@example.org");
    let status = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &socket)
        .status()
        .expect("ssh-add runs");
    assert!(status.success(), "ssh-add could not reach the agent");
    std::fs::rename(&key, key.with_extension("away")).expect("move the private key");
    let public = key.with_extension("pub");
    let approved = repo.run_env(
        &["sync", "approve", &id, "--role", "release-managers"],
        &[
            ("TRAINYARD_SIGNING_KEY", public.to_str().expect("utf-8")),
            ("SSH_AUTH_SOCK", socket.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(approved.code(), 0, "{}", approved.transcript());
    assert!(
        approved.stderr().contains("by ada@example.org"),
        "{}",
        approved.stderr()
    );
    let applied = repo.run(&["sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
}

#[test]
fn a_team_without_its_allowed_signers_file_is_a_setting_to_mend() {
    let (repo, team) = team_repo();
    std::fs::remove_file(repo.path().join("allowed_signers")).expect("rm");
    let run = team.run_as(
        &repo,
        "ada@example.org",
        &["signoff", "1.0.0", "--item", "RL-06"],
    );
    assert_eq!(run.code(), 2, "{}", run.transcript());
    assert!(
        run.stderr().contains("identity.allowed_signers: ")
            && run.stderr().contains("allowed_signers does not exist"),
        "{}",
        run.stderr()
    );
}

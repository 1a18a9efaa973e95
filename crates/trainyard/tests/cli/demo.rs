//! `trainyard demo`: the guided tour runs end to end on a clean temporary
//! directory, and its transcript is stable (times, hashes and the
//! temporary path filtered).

use crate::support::TestRepo;

#[test]
fn the_demo_runs_a_whole_cycle_and_leaves_its_sandbox() {
    // TestRepo gives the isolated git environment; the demo runs beside
    // its repository, in a directory of its own.
    let repo = TestRepo::new();
    let dir = repo.home().join("tour");
    let run = repo.run_in(repo.home(), &["demo", "tour"], None);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let sandbox = dir.join("widget");
    assert!(sandbox.join(".trainyard/evidence/index.jsonl").is_file());
    assert!(!dir.join("dist/1.3.0").exists(), "1.3.0 was rolled back");
    assert!(
        std::fs::read_to_string(dir.join("live-config/flags.json"))
            .expect("flags")
            .contains("\"pagination\": false")
    );
    let home = std::fs::canonicalize(repo.home()).expect("home");
    let transcript = run.stdout().replace(&home.display().to_string(), "[HOME]");
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-f]{7,64}\b", "[HASH]"),
        (r"Done in [0-9.]+ s", "Done in [T] s"),
        // Keys are made afresh by each run.
        (r"SHA256:[A-Za-z0-9+/]{43}", "SHA256:[KEY]"),
        // An apply's log is named by the real time it ran.
        (r"sync_log/(\w+)-\d{8}T\d{6}Z-", "sync_log/$1-[APPLIED AT]-"),
    ]}, {
        insta::assert_snapshot!(transcript);
    });
    // A second run refuses the same, non-empty directory.
    let again = repo.run_in(repo.home(), &["demo", "tour"], None);
    assert_eq!(again.code(), 2, "{}", again.transcript());
    assert!(
        again.stderr().contains("is not empty"),
        "{}",
        again.stderr()
    );
}

#[test]
fn without_ssh_keygen_the_demo_says_so_and_leaves_the_team_part_out() {
    // A PATH with the tools the demo's commands run, and no ssh-keygen.
    let repo = TestRepo::new();
    let bin = repo.home().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    for tool in ["git", "sh", "tar", "gzip", "grep", "test", "true", "cat"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("sh runs");
        let path = String::from_utf8(found.stdout).expect("utf-8");
        let path = path.trim();
        assert!(!path.is_empty(), "{tool} is needed by the demo");
        std::os::unix::fs::symlink(path, bin.join(tool)).expect("link");
    }
    let run = repo.run_env(
        &["demo", "../solo-tour"],
        &[("PATH", bin.to_str().expect("utf-8"))],
    );
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let out = run.stdout();
    assert!(
        out.contains("ssh-keygen is not installed (Debian: apt-get install openssh-client), so the demo cannot make the team's keys: this part is left out."),
        "{out}"
    );
    assert!(!out.contains("TRAINYARD_SIGNING_KEY"), "{out}");
    assert!(!repo.home().join("solo-tour/keys").exists());
}

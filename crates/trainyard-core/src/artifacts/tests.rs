//! Tests of the artifacts: real builds in temporary worktrees, real
//! minisign keys, and the YAML of an entry.
#![allow(clippy::disallowed_methods)]

use super::checksums::hex;
use super::*;
use sha2::{Digest, Sha256};
use std::process::Command;
use std::time::Duration;

fn config(name: &str, run: Option<&str>, paths: &[&str]) -> ArtifactConfig {
    ArtifactConfig {
        name: name.to_owned(),
        run: run.map(str::to_owned),
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        timeout_seconds: Timeout::constant(60),
    }
}

fn independent_sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read");
    hex(&Sha256::digest(&bytes))
}

#[test]
fn builds_with_a_real_command_and_writes_sha256sums() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("LICENSE"), "MIT\n").expect("write");
    std::fs::create_dir_all(work.path().join("docs/guide")).expect("mkdir");
    std::fs::write(work.path().join("docs/guide/a.md"), "a").expect("write");
    std::fs::write(work.path().join("docs/b.txt"), "b").expect("write");
    let configs = vec![
        config(
            "bin",
            Some(
                "printf 'binary %s %s' \"$TRAINYARD_VERSION\" \"$TRAINYARD_TAG\" > \"$TRAINYARD_OUT/app-$TRAINYARD_VERSION.bin\" && mkdir \"$TRAINYARD_OUT/sub\" && echo x > \"$TRAINYARD_OUT/sub/extra.txt\" && echo built-in-worktree > built.txt",
            ),
            &[
                "$TRAINYARD_OUT/*.bin",
                "${TRAINYARD_OUT}/**/*.txt",
                "built.txt",
            ],
        ),
        config("meta", None, &["LICENSE", "docs/**/*.md"]),
    ];
    validate(&configs).expect("valid");
    let artifacts = build(
        &configs,
        work.path(),
        out.path(),
        &release_env("1.2.0", "v1.2.0"),
    )
    .expect("build");
    let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["app-1.2.0.bin", "extra.txt", "built.txt", "LICENSE", "a.md"],
        "{artifacts:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("app-1.2.0.bin")).expect("read"),
        "binary 1.2.0 v1.2.0"
    );
    for artifact in &artifacts {
        assert_eq!(artifact.path, out.path().join(&artifact.name));
        assert_eq!(artifact.sha256, independent_sha256(&artifact.path));
        assert_eq!(
            artifact.size,
            std::fs::metadata(&artifact.path).expect("meta").len()
        );
    }

    let sums = write_sha256sums(out.path(), &artifacts).expect("sums");
    let text = std::fs::read_to_string(&sums.path).expect("read sums");
    let mut expected: Vec<String> = ["LICENSE", "a.md", "app-1.2.0.bin", "built.txt", "extra.txt"]
        .iter()
        .map(|name| format!("{}  {name}", independent_sha256(&out.path().join(name))))
        .collect();
    expected.push(String::new());
    assert_eq!(text, expected.join("\n"));
    assert_eq!(sums.sha256, independent_sha256(&sums.path));
    assert_eq!(Artifact::from_file(&sums.path).expect("describe"), sums);

    // `sha256sum -c` agrees: the file is in the format the tool reads.
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg(SHA256SUMS)
        .current_dir(out.path())
        .output()
        .unwrap_or_else(|e| panic!("{}", tool_missing("sha256sum", "coreutils", &e)));
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn a_failing_command_is_reported_with_its_output_and_copies_nothing() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("a.txt"), "a").expect("write");
    let configs = vec![
        config("first", None, &["a.txt"]),
        config(
            "broken",
            Some("echo compiling; echo 'error: no' >&2; exit 3"),
            &["a.txt"],
        ),
    ];
    let err = build(&configs, work.path(), out.path(), &[]).expect_err("fails");
    let text = err.to_string();
    assert!(text.contains("artifact `broken`"), "{text}");
    assert!(text.contains("exit 3"), "{text}");
    assert!(text.contains("error: no"), "{text}");
    assert_eq!(std::fs::read_dir(out.path()).expect("list").count(), 0);
}

#[test]
fn a_command_past_its_timeout_is_stopped() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    // `sleep 600` ends only when stopped: the build returning at all,
    // long before, shows the timeout stopped it.
    let mut slow = config("slow", Some("sleep 600"), &["x"]);
    slow.timeout_seconds = Timeout::constant(1);
    let (work_dir, out_dir) = (work.path().to_path_buf(), out.path().to_path_buf());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(build(&[slow], &work_dir, &out_dir, &[]));
    });
    let err = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("still running long after its timeout")
        .expect_err("times out");
    assert!(
        err.to_string().contains("did not finish within 1 s"),
        "{err}"
    );
}

#[test]
fn duplicates_escapes_and_empty_matches_are_refused() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(work.path().join("a")).expect("mkdir");
    std::fs::create_dir_all(work.path().join("b")).expect("mkdir");
    std::fs::write(work.path().join("a/same.txt"), "1").expect("write");
    std::fs::write(work.path().join("b/same.txt"), "2").expect("write");

    let err = build(
        &[config("dup", None, &["*/same.txt"])],
        work.path(),
        out.path(),
        &[],
    )
    .expect_err("duplicate");
    assert!(
        err.to_string().contains("two files are named `same.txt`"),
        "{err}"
    );

    let err = build(
        &[config("none", None, &["*.zip"])],
        work.path(),
        out.path(),
        &[],
    )
    .expect_err("no match");
    assert!(
        err.to_string().contains("matched no file in the worktree"),
        "{err}"
    );

    let err = validate(&[config("up", None, &["../secret"])]).expect_err("dotdot");
    assert!(err.to_string().contains("contains `..`"), "{err}");
    let err = validate(&[config("abs", None, &["/etc/passwd"])]).expect_err("absolute");
    assert!(err.to_string().contains("is absolute"), "{err}");
    let err =
        validate(&[config("x", None, &["a"]), config("x", None, &["b"])]).expect_err("same name");
    assert!(err.to_string().contains("used twice"), "{err}");

    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.txt"), "s").expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            work.path().join("link.txt"),
        )
        .expect("symlink");
        let err = build(
            &[config("link", None, &["*.txt"])],
            work.path(),
            out.path(),
            &[],
        )
        .expect_err("escape");
        assert!(err.to_string().contains("outside the worktree"), "{err}");
    }
    assert_eq!(std::fs::read_dir(out.path()).expect("list").count(), 0);
}

fn write_keypair(dir: &Path, password: Option<&str>) -> (PathBuf, PathBuf) {
    let pair = match password {
        Some(p) => minisign::KeyPair::generate_encrypted_keypair(Some(p.to_owned())),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .expect("keypair");
    let sk = dir.join("release.key");
    let pk = dir.join("release.pub");
    std::fs::write(&sk, pair.sk.to_box(None).expect("sk box").into_string()).expect("write");
    std::fs::write(&pk, pair.pk.to_box().expect("pk box").into_string()).expect("write");
    (sk, pk)
}

#[test]
fn signs_with_minisign_and_verifies_with_the_public_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sk, pk) = write_keypair(dir.path(), None);
    let file = dir.path().join("app.tar.gz");
    std::fs::write(&file, b"release bytes").expect("write");
    let sig = sign(&file, &sk, None).expect("sign");
    assert_eq!(sig, dir.path().join("app.tar.gz.minisig"));
    let text = std::fs::read_to_string(&sig).expect("read sig");
    assert!(text.contains("trusted comment: timestamp:"), "{text}");
    assert!(text.contains("\tfile:app.tar.gz\thashed"), "{text}");
    verify_signature(&file, &sig, &pk).expect("verifies");

    std::fs::write(&file, b"tampered bytes").expect("write");
    let err = verify_signature(&file, &sig, &pk).expect_err("tampered");
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn an_encrypted_key_needs_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sk, pk) = write_keypair(dir.path(), Some("hunter2"));
    let file = dir.path().join(SHA256SUMS);
    std::fs::write(&file, "abc  x\n").expect("write");
    let err = sign(&file, &sk, None).expect_err("no password");
    assert!(err.to_string().contains("give its password"), "{err}");
    let err = sign(&file, &sk, Some("wrong")).expect_err("wrong password");
    assert!(
        err.to_string().contains("cannot open minisign secret key"),
        "{err}"
    );
    let sig = sign(&file, &sk, Some("hunter2")).expect("sign");
    verify_signature(&file, &sig, &pk).expect("verifies");
}

/// Why a test that checks trainyard's files with a standard tool cannot
/// run: it fails rather than passing without the check.
fn tool_missing(tool: &str, package: &str, e: &std::io::Error) -> String {
    format!(
        "this test checks the output with the `{tool}` command, which cannot be run ({e}); \
         install it (Debian package `{package}`; .ci/run installs it)"
    )
}

/// Rewrites an unencrypted secret key file as `minisign -G -W` (0.11)
/// writes it: checksum all zeros; `damage` also flips a secret byte.
fn as_cli_key(path: &Path, damage: bool) {
    use ct_codecs::{Decoder, Encoder};
    let text = std::fs::read_to_string(path).expect("read key");
    let line = text.lines().nth(1).expect("key line");
    let mut bytes = ct_codecs::Base64::decode_to_vec(line, None).expect("base64");
    assert_eq!(bytes.len(), 158);
    bytes[126..].fill(0);
    if damage {
        bytes[70] ^= 0x01;
    }
    let encoded = ct_codecs::Base64::encode_to_string(&bytes).expect("encode");
    std::fs::write(
        path,
        format!("untrusted comment: minisign encrypted secret key\n{encoded}\n"),
    )
    .expect("write key");
}

#[test]
fn signs_with_a_key_made_by_the_minisign_tool_and_refuses_a_damaged_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sk, pk) = write_keypair(dir.path(), None);
    as_cli_key(&sk, false);
    let file = dir.path().join("app.zip");
    std::fs::write(&file, b"zip").expect("write");
    let sig = sign(&file, &sk, None).expect("sign");
    verify_signature(&file, &sig, &pk).expect("verifies");
    // The minisign tool agrees: what trainyard signs, users verify.
    let out = Command::new("minisign")
        .arg("-V")
        .arg("-q")
        .arg("-p")
        .arg(&pk)
        .arg("-m")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{}", tool_missing("minisign", "minisign", &e)));
    assert!(out.status.success(), "{out:?}");

    as_cli_key(&sk, true);
    let err = sign(&file, &sk, None).expect_err("damaged");
    assert!(err.to_string().contains("cannot sign"), "{err}");
    assert_eq!(err.kind(), crate::ErrorKind::Input);
}

#[test]
fn sha256sums_are_sorted_by_name() {
    let a = |name: &str, sha: &str| Artifact {
        name: name.to_owned(),
        path: PathBuf::from(name),
        size: 0,
        sha256: sha.to_owned(),
    };
    assert_eq!(
        sha256sums(&[a("b.zip", "22"), a("a.tar.gz", "11")]),
        "11  a.tar.gz\n22  b.zip\n"
    );
}

#[test]
fn config_yaml_shape() {
    let yaml = "name: bin\nrun: make dist\npaths: [\"$TRAINYARD_OUT/*.tgz\"]\n";
    let parsed: ArtifactConfig = serde_saphyr::from_str(yaml).expect("parse");
    assert_eq!(parsed.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
    assert_eq!(parsed.run.as_deref(), Some("make dist"));
    assert!(serde_saphyr::from_str::<ArtifactConfig>("name: x\npaths: []\nextra: 1\n").is_err());
}

//! SSH signatures (SSHSIG, namespace `trainyard`): made by the user's
//! `ssh-keygen -Y sign`, so every key it can use works (a key file, an
//! encrypted one through its own prompt, a key held by ssh-agent, a
//! security key), and checked in-process with the `ssh-key` crate, so
//! verifying needs no tool at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use ssh_key::{PublicKey, SshSig};

use super::signers::{AllowedSigners, fingerprint};
use crate::{Error, Result};

/// The namespace every trainyard signature is made in, so a signature
/// made for git (or anything else) never counts here, and back.
pub const NAMESPACE: &str = "trainyard";

/// A signature over a document's canonical bytes, by a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Who signed: a principal of the allowed-signers file.
    pub principal: String,
    /// The key's SHA-256 fingerprint (`SHA256:...`).
    pub key: String,
    /// The SSHSIG, armored (`-----BEGIN SSH SIGNATURE-----`).
    pub sshsig: String,
}

/// A key to sign with: a private key file, or a public key file whose
/// private half ssh-agent holds.
#[derive(Debug)]
pub struct SigningKey {
    /// The file `ssh-keygen -f` is given.
    pub path: PathBuf,
    /// Its public key.
    pub public: PublicKey,
    /// A public key written out from git's `key::` literal, kept for as
    /// long as the key is used.
    _literal: Option<tempfile::TempPath>,
}

impl SigningKey {
    /// The key named by `spec`: a path to a private or public key file
    /// (`~` expanded), or a `key::ssh-ed25519 AAAA...` literal as git's
    /// `user.signingkey` may hold (signed through ssh-agent).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when the file does not exist or holds no
    /// key, naming it.
    pub fn from_spec(spec: &str) -> Result<Self> {
        if let Some(literal) = spec.strip_prefix("key::") {
            let public = PublicKey::from_openssh(literal.trim()).map_err(|e| {
                Error::input(format!("the signing key `{spec}` does not parse: {e}"))
            })?;
            let mut file = tempfile::Builder::new()
                .prefix("trainyard-key-")
                .suffix(".pub")
                .tempfile()
                .map_err(|e| Error::environment(format!("cannot write the public key: {e}")))?;
            std::io::Write::write_all(&mut file, literal.trim().as_bytes())
                .map_err(|e| Error::environment(format!("cannot write the public key: {e}")))?;
            let path = file.into_temp_path();
            return Ok(SigningKey {
                path: path.to_path_buf(),
                public,
                _literal: Some(path),
            });
        }
        let path = expand_home(spec);
        if !path.is_file() {
            return Err(Error::input(format!(
                "the signing key {} does not exist",
                path.display()
            )));
        }
        let public = public_key_of(&path)?;
        Ok(SigningKey {
            path,
            public,
            _literal: None,
        })
    }

    /// Its SHA-256 fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }

    /// Signs `message` in the trainyard namespace with the user's
    /// `ssh-keygen -Y sign`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when ssh-keygen is missing or
    /// fails (a wrong passphrase, an agent without the key), with its
    /// words.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let dir = tempfile::tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let file = dir.path().join("document");
        // ssh-keygen signs a file: a scratch copy in a private directory.
        #[allow(clippy::disallowed_methods)]
        std::fs::write(&file, message).map_err(|e| Error::io("cannot write", &file, e))?;
        // sshsig owns the runs of ssh-keygen.
        #[allow(clippy::disallowed_methods)]
        let output = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-q", "-n", NAMESPACE, "-f"])
            .arg(&self.path)
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::environment(format!("cannot run ssh-keygen to sign: {e}")))?;
        if !output.status.success() {
            return Err(Error::environment(format!(
                "ssh-keygen could not sign with {}: {}",
                self.path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let signature = file.with_extension("sig");
        std::fs::read_to_string(&signature).map_err(|e| Error::io("cannot read", &signature, e))
    }
}

/// Makes an ed25519 key without a passphrase at `path` (its public half
/// at `path.pub`), labelled `comment`: a sandbox's keys. Returns what
/// ssh-keygen printed and its exit status, for the caller's message.
///
/// # Errors
///
/// When ssh-keygen cannot be started.
// sshsig owns the runs of ssh-keygen.
#[allow(clippy::disallowed_methods)]
pub(crate) fn generate_key(path: &Path, comment: &str) -> std::io::Result<std::process::Output> {
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
}

/// The public half of a key file: the file itself when it is a public
/// key, its `.pub` beside it, or what `ssh-keygen -y` derives.
fn public_key_of(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    if let Ok(key) = PublicKey::from_openssh(text.trim()) {
        return Ok(key);
    }
    let beside = PathBuf::from(format!("{}.pub", path.display()));
    if let Ok(text) = std::fs::read_to_string(&beside)
        && let Ok(key) = PublicKey::from_openssh(text.trim())
    {
        return Ok(key);
    }
    // sshsig owns the runs of ssh-keygen.
    #[allow(clippy::disallowed_methods)]
    let output = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::environment(format!("cannot run ssh-keygen: {e}")))?;
    let derived = String::from_utf8_lossy(&output.stdout);
    PublicKey::from_openssh(derived.trim()).map_err(|_| {
        Error::input(format!(
            "{} holds no SSH key trainyard can sign with: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })
}

fn expand_home(spec: &str) -> PathBuf {
    match (spec.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(spec),
    }
}

/// Checks `signature` over `message`: a valid SSHSIG in the trainyard
/// namespace, by the key it names, which the allowed-signers file lets
/// its principal use at `at`.
///
/// # Errors
///
/// Returns an [`Error::Input`] saying which of these does not hold.
pub fn verify(
    signers: &AllowedSigners,
    message: &[u8],
    signature: &Signature,
    at: jiff::Timestamp,
) -> Result<()> {
    let sshsig = SshSig::from_pem(signature.sshsig.as_bytes()).map_err(|e| {
        Error::input(format!(
            "the signature of {} is not an SSH signature: {e}",
            signature.principal
        ))
    })?;
    let key = PublicKey::from(sshsig.public_key().clone());
    let fp = fingerprint(&key);
    if fp != signature.key {
        return Err(Error::input(format!(
            "the signature of {} is by the key {fp}, not the {} it names",
            signature.principal, signature.key
        )));
    }
    if sshsig.namespace() != NAMESPACE {
        return Err(Error::input(format!(
            "the signature of {} is for the namespace `{}`, not `{NAMESPACE}`",
            signature.principal,
            sshsig.namespace()
        )));
    }
    key.verify(NAMESPACE, message, &sshsig).map_err(|_| {
        Error::input(format!(
            "the signature of {} (key {fp}) does not match the document: it was changed after it was signed",
            signature.principal
        ))
    })?;
    if !signers.allows(&signature.principal, &key, NAMESPACE, at) {
        return Err(Error::input(format!(
            "{} may not sign with the key {fp}: {} does not allow it for `{NAMESPACE}`",
            signature.principal,
            signers.path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    /// A key made by ssh-keygen in `dir`, and its allowed-signers line.
    fn key(dir: &Path, name: &str, principal: &str) -> (PathBuf, String) {
        let path = dir.join(name);
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(made.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
        (path, format!("{principal} {}", public.trim()))
    }

    fn signers(dir: &Path, lines: &[&str]) -> AllowedSigners {
        let path = dir.join("allowed_signers");
        std::fs::write(&path, lines.join("\n")).expect("write");
        AllowedSigners::read(&path).expect("parse")
    }

    fn signature(key: &SigningKey, principal: &str, message: &[u8]) -> Signature {
        Signature {
            principal: principal.into(),
            key: key.fingerprint(),
            sshsig: key.sign(message).expect("sign"),
        }
    }

    #[test]
    fn a_signature_checks_out_only_for_its_document_key_and_principal() {
        let dir = tempfile::tempdir().expect("dir");
        let (ada, ada_line) = key(dir.path(), "ada", "ada@example.org");
        let (eve, _) = key(dir.path(), "eve", "eve@example.org");
        let allowed = signers(dir.path(), &[&ada_line]);
        let now = jiff::Timestamp::now();
        let key = SigningKey::from_spec(ada.to_str().expect("utf-8")).expect("key");
        let good = signature(&key, "ada@example.org", b"approve plan 1234");
        verify(&allowed, b"approve plan 1234", &good, now).expect("valid");
        // The document edited after signing.
        let err = verify(&allowed, b"approve plan 9999", &good, now).expect_err("edited");
        assert!(
            err.to_string().contains("changed after it was signed"),
            "{err}"
        );
        // A principal claiming the signature of another.
        let claimed = Signature {
            principal: "mallory@example.org".into(),
            ..good.clone()
        };
        let err = verify(&allowed, b"approve plan 1234", &claimed, now).expect_err("claimed");
        assert!(
            err.to_string()
                .contains("mallory@example.org may not sign with the key"),
            "{err}"
        );
        // A key the file does not list.
        let eve_key = SigningKey::from_spec(eve.to_str().expect("utf-8")).expect("key");
        let outsider = signature(&eve_key, "ada@example.org", b"approve plan 1234");
        let err = verify(&allowed, b"approve plan 1234", &outsider, now).expect_err("outsider");
        assert!(
            err.to_string()
                .contains("ada@example.org may not sign with the key"),
            "{err}"
        );
        // A fingerprint that is not the signature's key.
        let swapped = Signature {
            key: eve_key.fingerprint(),
            ..good
        };
        let err = verify(&allowed, b"approve plan 1234", &swapped, now).expect_err("swapped");
        assert!(err.to_string().contains("not the"), "{err}");
    }

    #[test]
    fn ssh_keygen_verifies_trainyards_signatures_and_back() {
        let dir = tempfile::tempdir().expect("dir");
        let (ada, line) = key(dir.path(), "ada", "ada@example.org");
        let allowed = signers(dir.path(), &[&line]);
        let key = SigningKey::from_spec(ada.to_str().expect("utf-8")).expect("key");
        let message = b"{\"plan_id\":\"abc\",\"approved\":true}";
        let made = signature(&key, "ada@example.org", message);
        // ssh-keygen -Y verify accepts it.
        let sig_path = dir.path().join("made.sig");
        std::fs::write(&sig_path, &made.sshsig).expect("write");
        let mut child = Command::new("ssh-keygen")
            .args([
                "-Y",
                "verify",
                "-n",
                NAMESPACE,
                "-I",
                "ada@example.org",
                "-f",
            ])
            .arg(&allowed.path)
            .arg("-s")
            .arg(&sig_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-keygen runs");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), message).expect("write");
        drop(child.stdin.take());
        assert!(child.wait().expect("wait").success());
        // And a signature ssh-keygen made by hand is accepted.
        let doc = dir.path().join("doc");
        std::fs::write(&doc, message).expect("write");
        let signed = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-q", "-n", NAMESPACE, "-f"])
            .arg(&ada)
            .arg(&doc)
            .status()
            .expect("ssh-keygen runs");
        assert!(signed.success());
        let by_hand = Signature {
            principal: "ada@example.org".into(),
            key: key.fingerprint(),
            sshsig: std::fs::read_to_string(dir.path().join("doc.sig")).expect("sig"),
        };
        verify(&allowed, message, &by_hand, jiff::Timestamp::now()).expect("valid");
        // A signature made for git does not count here.
        std::fs::remove_file(dir.path().join("doc.sig")).expect("rm");
        let for_git = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-q", "-n", "git", "-f"])
            .arg(&ada)
            .arg(&doc)
            .status()
            .expect("ssh-keygen runs");
        assert!(for_git.success());
        let git = Signature {
            sshsig: std::fs::read_to_string(dir.path().join("doc.sig")).expect("sig"),
            ..by_hand
        };
        let err = verify(&allowed, message, &git, jiff::Timestamp::now()).expect_err("git");
        assert!(err.to_string().contains("namespace `git`"), "{err}");
    }

    #[test]
    fn a_key_is_read_from_its_file_or_a_literal() {
        let dir = tempfile::tempdir().expect("dir");
        let (ada, _) = key(dir.path(), "ada", "ada@example.org");
        let public = std::fs::read_to_string(ada.with_extension("pub")).expect("pub");
        let literal = SigningKey::from_spec(&format!("key::{}", public.trim())).expect("literal");
        let file = SigningKey::from_spec(ada.to_str().expect("utf-8")).expect("file");
        assert_eq!(literal.fingerprint(), file.fingerprint());
        let err = SigningKey::from_spec("/nowhere/key").expect_err("missing");
        assert_eq!(
            err.to_string(),
            "the signing key /nowhere/key does not exist"
        );
    }
}

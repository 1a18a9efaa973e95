//! Minisign signatures: signing a file with a secret key and verifying a
//! signature with the public key.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{MINISIG_SUFFIX, file_name};
use crate::fsutil::write_atomic;
use crate::text::lower_first;
use crate::{Error, Result};

/// Signs `file` with the minisign secret key at `secret_key` and writes
/// the signature to `<file>.minisig` (atomically), returning that path.
///
/// The signature is the prehashed (`ED`) kind minisign 0.8+ writes, with
/// the trusted comment `timestamp:<unix seconds>\tfile:<name>\thashed` as
/// the `minisign` tool writes it. `password` decrypts an encrypted key; it
/// is ignored for an unencrypted one. Nothing is ever asked interactively.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the key cannot be parsed, is encrypted
/// and no password was given, or the password is wrong; an [`Error::Io`]
/// when a file cannot be read or written.
pub fn sign(file: &Path, secret_key: &Path, password: Option<&str>) -> Result<PathBuf> {
    let key_text = std::fs::read_to_string(secret_key)
        .map_err(|e| Error::io("cannot read minisign secret key", secret_key, e))?;
    let key = open_secret_key(secret_key, &key_text, password)?;
    // Sign with a self-check against the key's own public half: a damaged
    // key (see `open_secret_key`) fails here instead of producing a
    // signature nobody can verify.
    let public = minisign::PublicKey::from_secret_key(&key).map_err(|e| {
        Error::input(format!(
            "cannot use minisign secret key {}: {}",
            secret_key.display(),
            lower_first(&e.to_string())
        ))
    })?;
    let name = file_name(file)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let trusted = format!("timestamp:{timestamp}\tfile:{name}\thashed");
    let reader = File::open(file).map_err(|e| Error::io("cannot open", file, e))?;
    let signature = minisign::sign(
        Some(&public),
        &key,
        std::io::BufReader::new(reader),
        Some(&trusted),
        Some("signature from trainyard secret key"),
    )
    .map_err(|e| {
        let message = format!(
            "cannot sign {} with minisign secret key {}: {}",
            file.display(),
            secret_key.display(),
            lower_first(&e.to_string())
        );
        if matches!(e.kind(), minisign::ErrorKind::Verify) {
            // The key does not match its own public half: it is damaged.
            Error::input(message)
        } else {
            Error::environment(message)
        }
    })?;
    let mut target = file.as_os_str().to_owned();
    target.push(MINISIG_SUFFIX);
    let target = PathBuf::from(target);
    write_atomic(&target, signature.into_string().as_bytes())?;
    Ok(target)
}

/// Opens a minisign secret key: unencrypted, or decrypted with
/// `password`. Never asks for a password.
///
/// `minisign -G -W` (0.11) writes unencrypted keys with an all-zero
/// checksum, which the minisign crate rejects as corrupted; such a key is
/// read as it is, and [`sign`] checks it against its public half instead.
fn open_secret_key(path: &Path, text: &str, password: Option<&str>) -> Result<minisign::SecretKey> {
    let cannot = |what: &str, e: minisign::PError| {
        Error::input(format!(
            "cannot {what} minisign secret key {}: {}",
            path.display(),
            lower_first(&e.to_string())
        ))
    };
    let key_box = minisign::SecretKeyBox::from_string(text).map_err(|e| cannot("parse", e))?;
    let bytes = text
        .lines()
        .nth(1)
        .and_then(|line| {
            use ct_codecs::Decoder;
            ct_codecs::Base64::decode_to_vec(line.trim(), None).ok()
        })
        .unwrap_or_default();
    // sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) ops(8) mem(8) keynum(8)
    // sk(64) chk(32)
    let unencrypted = bytes.len() == 158 && bytes[2..4] == [0, 0];
    if unencrypted {
        return match minisign::SecretKey::from_unencrypted_box(key_box) {
            Ok(key) => Ok(key),
            Err(_) if bytes[126..].iter().all(|b| *b == 0) => {
                minisign::SecretKey::from_bytes(&bytes).map_err(|e| cannot("read", e))
            }
            Err(e) => Err(cannot("open", e)),
        };
    }
    let Some(password) = password else {
        return Err(Error::input(format!(
            "minisign secret key {} is encrypted: give its password (signing.password)",
            path.display()
        )));
    };
    minisign::SecretKey::from_box(key_box, Some(password.to_owned())).map_err(|e| cannot("open", e))
}

/// Checks the minisign `signature` file of `file` against the public key
/// file `public_key` (the `.pub` file `minisign -G` writes).
///
/// # Errors
///
/// Returns an [`Error::Input`] when a key or signature cannot be parsed or
/// the signature does not verify, and an [`Error::Io`] when a file cannot
/// be read.
pub fn verify_signature(file: &Path, signature: &Path, public_key: &Path) -> Result<()> {
    let key_text = std::fs::read_to_string(public_key)
        .map_err(|e| Error::io("cannot read minisign public key", public_key, e))?;
    let key = minisign::PublicKeyBox::from_string(&key_text)
        .and_then(minisign::PublicKeyBox::into_public_key)
        .map_err(|e| {
            Error::input(format!(
                "cannot parse minisign public key {}: {}",
                public_key.display(),
                lower_first(&e.to_string())
            ))
        })?;
    let sig_text = std::fs::read_to_string(signature)
        .map_err(|e| Error::io("cannot read signature", signature, e))?;
    let sig = minisign::SignatureBox::from_string(&sig_text).map_err(|e| {
        Error::input(format!(
            "cannot parse signature {}: {}",
            signature.display(),
            lower_first(&e.to_string())
        ))
    })?;
    let reader = File::open(file).map_err(|e| Error::io("cannot open", file, e))?;
    minisign::verify(&key, &sig, reader, true, false, false).map_err(|e| {
        Error::input(format!(
            "signature {} does not verify {} with public key {}: {}",
            signature.display(),
            file.display(),
            public_key.display(),
            lower_first(&e.to_string())
        ))
    })
}

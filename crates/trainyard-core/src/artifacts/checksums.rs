//! SHA-256 of files and streams, the `SHA256SUMS` file, and copies that
//! hash what they write.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Artifact, SHA256SUMS};
use crate::fsutil::{sync_dir, write_atomic};
use crate::{Error, Result};

/// The `SHA256SUMS` text for `artifacts`: `<hex>  <name>` lines sorted by
/// name, as `sha256sum` writes and `sha256sum -c` reads.
pub fn sha256sums(artifacts: &[Artifact]) -> String {
    let mut lines: Vec<(&str, &str)> = artifacts
        .iter()
        .map(|a| (a.name.as_str(), a.sha256.as_str()))
        .collect();
    lines.sort_unstable();
    lines
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect()
}

/// Writes [`sha256sums`] to `<dir>/SHA256SUMS` atomically and returns the
/// file, described as an [`Artifact`] so it can be published and signed.
///
/// # Errors
///
/// Returns an [`Error::Io`] when the file cannot be written.
pub fn write_sha256sums(dir: &Path, artifacts: &[Artifact]) -> Result<Artifact> {
    let text = sha256sums(artifacts);
    let path = dir.join(SHA256SUMS);
    write_atomic(&path, text.as_bytes())?;
    Ok(Artifact {
        name: SHA256SUMS.to_owned(),
        path,
        size: text.len() as u64,
        sha256: crate::evidence::sha256_hex(text.as_bytes()),
    })
}

/// Lowercase hex of a digest.
pub(super) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The size and SHA-256 (hex) of a file, read in chunks.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    hash_reader(&mut file).map_err(|e| Error::io("cannot read", path, e))
}

/// The size and SHA-256 (hex) of everything `reader` yields.
pub(crate) fn hash_reader(reader: &mut dyn Read) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// Copies `source` to `target` atomically (a temporary file in the target's
/// directory, flushed, renamed), returning the size and SHA-256 of the
/// bytes copied.
pub(crate) fn copy_hashing(source: &Path, target: &Path) -> Result<(u64, String)> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let mut input = File::open(source).map_err(|e| Error::io("cannot open", source, e))?;
    let mut tmp = crate::fsutil::temp_file_in(dir)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("cannot read", source, e)),
        };
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .map_err(|e| Error::io("cannot write", tmp.path().to_path_buf(), e))?;
        size += n as u64;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot flush", tmp.path().to_path_buf(), e))?;
    if let Ok(meta) = std::fs::metadata(source) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(target)
        .map_err(|e| Error::io("cannot replace", target, e.error))?;
    sync_dir(dir)?;
    Ok((size, hex(&hasher.finalize())))
}

//! Bodies: contents too large to be YAML documents (a plan's change list,
//! its full diff), recorded by the SHA-256 of their content and stored
//! gzip-compressed as `evidence/<kind>/<sha256>.gz`.
//!
//! A body is written to a temporary file under `<root>/tmp/` while it is
//! produced, hashing the content and the compressed bytes on the way, so
//! that nothing of it is held in memory; [`super::EvidenceStore::record`]
//! then moves it into place and records it, or drops it when the same
//! content is recorded already: identical bodies are stored once. Its
//! index record's `sha256` is that of the stored (compressed) bytes, like
//! any document's, so the chain covers it; its name is the hash of the
//! content, which reading it checks too.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::at::Dir;
use crate::{Error, Result};

/// The file name ending of a body.
const SUFFIX: &str = ".gz";

/// The prefix of the temporary file of a body being written.
const TEMP_PREFIX: &str = ".body-";

/// How hard bodies are compressed: fast, as they are written while a plan
/// is made (a diff of 100,000 files is hundreds of megabytes of text).
const LEVEL: u32 = 1;

/// Whether `name` is the name of a body: 64 lowercase hex digits and
/// `.gz`.
pub fn is_body_name(name: &str) -> bool {
    name.strip_suffix(SUFFIX).is_some_and(is_sha256_hex)
}

/// Whether `text` is a SHA-256 in lowercase hex.
pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name of the body whose content has this SHA-256.
pub fn body_name(sha256: &str) -> String {
    format!("{sha256}{SUFFIX}")
}

/// Lowercase hex of a digest.
fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.len)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The temporary file of a staged body, removed when dropped unless it
/// was moved into place.
#[derive(Debug)]
pub(super) struct Temp {
    pub(super) dir: Dir,
    pub(super) name: String,
    pub(super) placed: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.placed {
            let _ = self.dir.remove(&self.name);
        }
    }
}

/// A body written and hashed, not recorded yet: give it to
/// [`super::EvidenceStore::record`]. Dropped unrecorded, it leaves
/// nothing behind.
#[derive(Debug)]
pub struct StagedBody {
    pub(super) kind: String,
    pub(super) sha256: String,
    pub(super) size: u64,
    pub(super) stored_sha256: String,
    pub(super) temp: Temp,
}

impl StagedBody {
    /// The kind it is recorded under.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// SHA-256 of its content, lowercase hex: its name without `.gz`.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// How many bytes its content has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its evidence name, `<sha256>.gz`.
    pub fn name(&self) -> String {
        body_name(&self.sha256)
    }

    /// Where it is recorded, relative to the store root:
    /// `evidence/<kind>/<sha256>.gz`.
    pub fn path(&self) -> String {
        super::names::relative_path(&self.kind, &self.name())
    }
}

/// Writes a body produced by `fill` into a new temporary file of `tmp`,
/// compressed, hashing its content and the stored bytes. On error the
/// temporary file is removed.
pub(super) fn stage(
    tmp: Dir,
    kind: &str,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<StagedBody> {
    let (name, file) = tmp.create_temp(TEMP_PREFIX)?;
    let temp = Temp {
        dir: tmp,
        name,
        placed: false,
    };
    let path = temp.dir.child(&temp.name);
    let cannot_write = |e: std::io::Error| Error::io("cannot write", &path, e);
    let stored = Hashing::new(std::io::BufWriter::with_capacity(1 << 16, file));
    let mut content = Hashing::new(GzEncoder::new(stored, Compression::new(LEVEL)));
    // On an error, `temp` is dropped and removes the file.
    fill(&mut content)?;
    let (encoder, sha256, size) = content.finish();
    let stored = encoder.finish().map_err(cannot_write)?;
    let (writer, stored_sha256, _) = stored.finish();
    let file = writer
        .into_inner()
        .map_err(|e| cannot_write(e.into_error()))?;
    file.sync_all().map_err(cannot_write)?;
    Ok(StagedBody {
        kind: kind.to_owned(),
        sha256,
        size,
        stored_sha256,
        temp,
    })
}

/// SHA-256 and length of everything `file` holds from where it is.
pub(super) fn hash_stream(file: &mut File, path: &Path) -> Result<(String, u64)> {
    let mut hashing = Hashing::new(std::io::sink());
    std::io::copy(file, &mut hashing).map_err(|e| Error::io("cannot read", path, e))?;
    let (_, sha256, len) = hashing.finish();
    Ok((sha256, len))
}

/// Decompresses the body in `file` (from where it is) into `sink`, and
/// returns the SHA-256 of the content.
pub(super) fn inflate(file: &mut File, path: &Path, sink: &mut dyn Write) -> Result<String> {
    let mut decoder = GzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file));
    let mut content = Hashing::new(sink);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = decoder.read(&mut buffer).map_err(|e| {
            Error::input(format!(
                "evidence body {} cannot be decompressed: {e}",
                path.display()
            ))
        })?;
        if n == 0 {
            break;
        }
        content
            .write_all(&buffer[..n])
            .map_err(|e| Error::io("cannot write the content of", path, e))?;
    }
    let (_, sha256, _) = content.finish();
    Ok(sha256)
}

/// Rewinds `file` to its start.
pub(super) fn rewind(file: &mut File, path: &Path) -> Result<()> {
    file.seek(SeekFrom::Start(0))
        .map(|_| ())
        .map_err(|e| Error::io("cannot read", path, e))
}

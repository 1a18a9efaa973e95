//! Release artifacts: build them, collect them, checksum them, sign them.
//!
//! Step 4 of the spec's release workflow ("Release Execution") builds the
//! release artifacts. Each `release.artifacts` entry ([`ArtifactConfig`])
//! may run a build command (`sh -c`, in the release worktree) and then
//! selects the files to ship with globs. [`build`] runs the commands,
//! copies the selected files into one flat output directory and returns
//! each file's name, size and SHA-256 ([`Artifact`]). [`sha256sums`] and
//! [`write_sha256sums`] produce the usual `SHA256SUMS` file, and [`sign`]
//! writes a minisign signature (`<file>.minisig`) that [`verify_signature`]
//! (or the `minisign -V` tool) checks against the public key.
//!
//! A build command gets `TRAINYARD_VERSION` and `TRAINYARD_TAG` (from the
//! caller, see [`release_env`]) and `TRAINYARD_OUT`, an empty directory of
//! its own to write into. A glob starting with `$TRAINYARD_OUT/` selects
//! files there; any other glob is relative to the worktree. Globs use `/`,
//! `*` stays within one path component and `**` crosses components. A glob
//! that is absolute, contains `..`, or matches a file (or symbolic link)
//! outside its directory is refused, and so is a glob that matches nothing.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bounded::Timeout;
use crate::deadline::Deadline;
use crate::fsutil::{sync_dir, write_atomic};
use crate::text::lower_first;
use crate::{Error, Result};

/// The name of the checksum file written beside the artifacts.
pub const SHA256SUMS: &str = "SHA256SUMS";

/// The suffix of a minisign signature file.
pub const MINISIG_SUFFIX: &str = ".minisig";

/// The prefix that makes a glob relative to the build's output directory.
pub const OUT_PREFIX: &str = "$TRAINYARD_OUT/";

/// Default time a build command may take.
pub const DEFAULT_TIMEOUT_SECONDS: Timeout = Timeout::constant(1800);

fn default_timeout() -> Timeout {
    DEFAULT_TIMEOUT_SECONDS
}

/// One `release.artifacts` entry: how to build some files and which files
/// to ship.
///
/// ```yaml
/// - name: binaries
///   run: cargo build --release && tar czf "$TRAINYARD_OUT/app-$TRAINYARD_VERSION.tar.gz" -C target/release app
///   paths: ["$TRAINYARD_OUT/*.tar.gz", "LICENSE"]
///   timeout_seconds: 1800
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactConfig {
    /// A name for this entry, used in messages.
    pub name: String,
    /// A build command run with `sh -c` in the release worktree, with
    /// `TRAINYARD_VERSION`, `TRAINYARD_TAG` and `TRAINYARD_OUT` (an empty
    /// directory for its output) set. None: the files already exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Globs selecting the files to ship: relative to the worktree, or to
    /// the build's output directory when they start with `$TRAINYARD_OUT/`.
    /// Each must match at least one file.
    pub paths: Vec<String>,
    /// How long the build command may run before it is stopped, in
    /// seconds (at most 7 days).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: Timeout,
}

/// A minisign key to sign artifacts and `SHA256SUMS` with.
///
/// ```yaml
/// signing:
///   secret_key: ~/.minisign/release.key
///   password: env:MINISIGN_PASSWORD
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// The minisign secret key file.
    pub secret_key: PathBuf,
    /// A credential reference for the key's password, resolved by the
    /// caller; none for an unencrypted key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A file that ships with a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Artifact {
    /// The file name, unique within the release.
    pub name: String,
    /// Where the file is now.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

impl Artifact {
    /// Describes an existing file (its name, size and SHA-256), e.g. the
    /// `SHA256SUMS` file or a signature, to publish it with the others.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Io`] when the file cannot be read, and an
    /// [`Error::Input`] when its path has no file name.
    pub fn from_file(path: &Path) -> Result<Self> {
        let name = file_name(path)?;
        let (size, sha256) = hash_file(path)?;
        Ok(Artifact {
            name,
            path: path.to_path_buf(),
            size,
            sha256,
        })
    }
}

/// The environment a build command (and a command channel) gets from the
/// release: `TRAINYARD_VERSION` and `TRAINYARD_TAG`.
pub fn release_env(version: &str, tag: &str) -> Vec<(String, String)> {
    vec![
        ("TRAINYARD_VERSION".to_owned(), version.to_owned()),
        ("TRAINYARD_TAG".to_owned(), tag.to_owned()),
    ]
}

/// Checks artifact entries without running anything: names present and
/// unique, at least one glob each, every glob valid, relative and without
/// `..` (the timeout's bounds are checked as it is read).
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the entry and the glob.
pub fn validate(configs: &[ArtifactConfig]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for config in configs {
        if config.name.trim().is_empty() {
            return Err(Error::input(
                "release.artifacts: an entry has an empty name",
            ));
        }
        if !seen.insert(config.name.as_str()) {
            return Err(Error::input(format!(
                "release.artifacts: the name `{}` is used twice",
                config.name
            )));
        }
        if config.paths.is_empty() {
            return Err(Error::input(format!(
                "release.artifacts `{}`: paths is empty; list the files to ship",
                config.name
            )));
        }
        for pattern in &config.paths {
            Pattern::parse(&config.name, pattern)?;
        }
    }
    Ok(())
}

/// Runs the build commands in `worktree`, collects the selected files into
/// `out_dir` under their own file names and returns them: in entry order,
/// then glob order, then sorted by path (a file selected twice by one
/// entry counts once).
///
/// `env` is added to each command's environment (pass [`release_env`]);
/// `TRAINYARD_OUT` is set per entry. `out_dir` should be dedicated to the
/// release: files of the same name there are replaced, others are left.
/// Nothing is copied unless every command succeeded and every glob matched.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid entry, a glob that matches
/// nothing or escapes its directory, or two files with the same name; an
/// [`Error::Environment`] when a command fails or times out (quoting the
/// end of its output); an [`Error::Io`] when a file cannot be read or
/// written.
pub fn build(
    configs: &[ArtifactConfig],
    worktree: &Path,
    out_dir: &Path,
    env: &[(String, String)],
) -> Result<Vec<Artifact>> {
    validate(configs)?;
    let worktree_real = canonical(worktree)?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io("cannot create directory", out_dir, e))?;
    let out_real = canonical(out_dir)?;

    // Keep every build's output directory until the files are copied.
    let mut build_dirs = Vec::new();
    // (file name, source path, entry name)
    let mut selected: Vec<(String, PathBuf, String)> = Vec::new();
    for config in configs {
        let build_dir = tempfile::Builder::new()
            .prefix("trainyard-build-")
            .tempdir()
            .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))?;
        let build_real = canonical(build_dir.path())?;
        if let Some(command) = &config.run {
            let mut vars = env.to_vec();
            vars.push(("TRAINYARD_OUT".to_owned(), build_real.display().to_string()));
            run_shell(&ShellCommand {
                what: format!("the build command of artifact `{}`", config.name),
                command,
                dir: &worktree_real,
                env: &vars,
                timeout: config.timeout_seconds.duration(),
            })?;
        }
        let mut files = Vec::new();
        for raw in &config.paths {
            let pattern = Pattern::parse(&config.name, raw)?;
            let (root, root_label) = if pattern.in_out {
                (&build_real, "TRAINYARD_OUT")
            } else {
                (&worktree_real, "the worktree")
            };
            let matched = pattern.find(root, root_label, &out_real)?;
            if matched.is_empty() {
                return Err(Error::input(format!(
                    "release.artifacts `{}`: `{raw}` matched no file in {root_label}",
                    config.name
                )));
            }
            let mut matched = matched;
            matched.sort();
            for path in matched {
                if !files.contains(&path) {
                    files.push(path);
                }
            }
        }
        for path in files {
            selected.push((file_name(&path)?, path, config.name.clone()));
        }
        build_dirs.push(build_dir);
    }

    let mut by_name: std::collections::HashMap<&str, &(String, PathBuf, String)> =
        std::collections::HashMap::new();
    for entry in &selected {
        if entry.0 == SHA256SUMS || entry.0.ends_with(MINISIG_SUFFIX) {
            return Err(Error::input(format!(
                "release.artifacts `{}`: `{}` is a name trainyard writes itself ({SHA256SUMS}, *{MINISIG_SUFFIX}); rename the file",
                entry.2,
                entry.1.display()
            )));
        }
        if let Some(first) = by_name.insert(entry.0.as_str(), entry) {
            return Err(Error::input(format!(
                "release.artifacts: two files are named `{}`: {} (`{}`) and {} (`{}`); artifacts are collected into one directory",
                entry.0,
                first.1.display(),
                first.2,
                entry.1.display(),
                entry.2
            )));
        }
    }

    let mut artifacts = Vec::with_capacity(selected.len());
    for (name, source, _) in selected {
        let target = out_dir.join(&name);
        let (size, sha256) = copy_hashing(&source, &target)?;
        artifacts.push(Artifact {
            name,
            path: target,
            size,
            sha256,
        });
    }
    drop(build_dirs);
    Ok(artifacts)
}

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

/// A parsed, checked glob of an [`ArtifactConfig`].
struct Pattern {
    /// Relative to `TRAINYARD_OUT` rather than the worktree.
    in_out: bool,
    /// The literal directories before the first wildcard: where to walk.
    base: PathBuf,
    /// The whole pattern is a literal path.
    literal: bool,
    matcher: globset::GlobMatcher,
    text: String,
}

impl Pattern {
    fn parse(entry: &str, raw: &str) -> Result<Self> {
        let (in_out, text) = match raw
            .strip_prefix(OUT_PREFIX)
            .or_else(|| raw.strip_prefix("${TRAINYARD_OUT}/"))
        {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let bad =
            |why: &str| Error::input(format!("release.artifacts `{entry}`: glob `{raw}` {why}"));
        if text.is_empty() {
            return Err(bad("is empty"));
        }
        if text.starts_with('/') || text.starts_with('\\') || Path::new(text).is_absolute() {
            return Err(bad(
                "is absolute; write it relative to the worktree or as $TRAINYARD_OUT/...",
            ));
        }
        if text.split(['/', '\\']).any(|c| c == "..") {
            return Err(bad(
                "contains `..`; artifacts must come from inside the worktree",
            ));
        }
        if text.starts_with('$') {
            return Err(bad(
                "uses a variable other than $TRAINYARD_OUT/ at its start",
            ));
        }
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| bad(&format!("is not a valid glob: {}", e.kind())))?;
        let components: Vec<&str> = text
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let is_wild = |c: &str| c.contains(['*', '?', '[', '{', '\\']);
        let literal = !components.iter().any(|c| is_wild(c));
        let mut base = PathBuf::new();
        for c in &components {
            if is_wild(c) {
                break;
            }
            base.push(c);
        }
        Ok(Pattern {
            in_out,
            base,
            literal,
            matcher: glob.compile_matcher(),
            text: components.join("/"),
        })
    }

    /// The regular files under `root` this pattern selects. `skip` (the
    /// collection directory) is never walked.
    fn find(&self, root: &Path, root_label: &str, skip: &Path) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        if self.literal {
            let path = root.join(&self.base);
            if std::fs::symlink_metadata(&path).is_ok() {
                let real = self.inside(root, root_label, &path)?;
                if real.is_file() {
                    found.push(real);
                }
            }
            return Ok(found);
        }
        let start = root.join(&self.base);
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(Error::io("cannot list directory", dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("cannot list directory", &dir, e))?;
                let path = entry.path();
                let kind = entry
                    .file_type()
                    .map_err(|e| Error::io("cannot inspect", &path, e))?;
                if kind.is_dir() {
                    if entry.file_name() != ".git" && path != skip {
                        stack.push(path);
                    }
                    continue;
                }
                let Ok(rel) = path.strip_prefix(root) else {
                    continue;
                };
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if !self.matcher.is_match(&rel) {
                    continue;
                }
                // A symbolic link must resolve to a file inside the root;
                // links to directories are not followed.
                let real = self.inside(root, root_label, &path)?;
                if real.is_file() {
                    found.push(real);
                }
            }
        }
        Ok(found)
    }

    /// `path` resolved, refused when it leaves `root`.
    fn inside(&self, root: &Path, root_label: &str, path: &Path) -> Result<PathBuf> {
        let real = canonical(path)?;
        if !real.starts_with(root) {
            return Err(Error::input(format!(
                "glob `{}` selects {}, which resolves to {} outside {root_label}",
                self.text,
                path.display(),
                real.display()
            )));
        }
        Ok(real)
    }
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("cannot resolve", path, e))
}

fn file_name(path: &Path) -> Result<String> {
    match path.components().next_back() {
        Some(Component::Normal(name)) => Ok(name.to_string_lossy().into_owned()),
        _ => Err(Error::input(format!("{} has no file name", path.display()))),
    }
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
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

/// A shell command to run with a deadline.
pub(crate) struct ShellCommand<'a> {
    /// What it is, for messages: "the build command of artifact `x`".
    pub what: String,
    /// The `sh -c` text.
    pub command: &'a str,
    /// The working directory.
    pub dir: &'a Path,
    /// Variables added to the environment.
    pub env: &'a [(String, String)],
    /// How long it may run.
    pub timeout: Duration,
}

/// Runs a command with `sh -c`, its output captured, stopping it (and the
/// processes it started) at the deadline. Returns its standard output.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when the shell cannot be started, the
/// command exits with a failure, or it runs out of time; the message quotes
/// the end of its output.
pub(crate) fn run_shell(cmd: &ShellCommand<'_>) -> Result<String> {
    let stdout = tempfile::tempfile()
        .map_err(|e| Error::environment(format!("cannot create a temporary file: {e}")))?;
    let stderr = tempfile::tempfile()
        .map_err(|e| Error::environment(format!("cannot create a temporary file: {e}")))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd.command)
        .current_dir(cmd.dir)
        .stdin(Stdio::null())
        .stdout(
            stdout
                .try_clone()
                .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))?,
        )
        .stderr(
            stderr
                .try_clone()
                .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))?,
        );
    for (key, value) in cmd.env {
        command.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|e| {
        Error::environment(format!("cannot start {} `{}`: {e}", cmd.what, cmd.command))
    })?;
    let deadline = Deadline::after(cmd.timeout);
    let mut pause = Duration::from_millis(5);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(Error::environment(format!(
                    "cannot wait for {} `{}`: {e}",
                    cmd.what, cmd.command
                )));
            }
        }
        if deadline.passed(Instant::now()) {
            #[cfg(unix)]
            {
                // The whole process group: sh and what it started.
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg("--")
                    .arg(format!("-{}", child.id()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::environment(format!(
                "{} `{}` did not finish within {} s and was stopped{}",
                cmd.what,
                cmd.command,
                cmd.timeout.as_secs(),
                tail_of(&stderr, &stdout)
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    };
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
        return Err(Error::environment(format!(
            "{} `{}` failed (exit {code}){}",
            cmd.what,
            cmd.command,
            tail_of(&stderr, &stdout)
        )));
    }
    Ok(read_all(&stdout))
}

fn read_all(file: &File) -> String {
    use std::io::Seek;
    let mut file = file;
    let mut text = String::new();
    if file.seek(std::io::SeekFrom::Start(0)).is_ok() {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

/// `: <last lines>` of stderr, else of stdout, else nothing.
fn tail_of(stderr: &File, stdout: &File) -> String {
    let err = read_all(stderr);
    let text = if err.trim().is_empty() {
        read_all(stdout)
    } else {
        err
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(10);
    format!(": {}", lines[start..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut expected: Vec<String> =
            ["LICENSE", "a.md", "app-1.2.0.bin", "built.txt", "extra.txt"]
                .iter()
                .map(|name| format!("{}  {name}", independent_sha256(&out.path().join(name))))
                .collect();
        expected.push(String::new());
        assert_eq!(text, expected.join("\n"));
        assert_eq!(sums.sha256, independent_sha256(&sums.path));
        assert_eq!(Artifact::from_file(&sums.path).expect("describe"), sums);

        // `sha256sum -c` agrees, where the tool exists.
        if let Ok(check) = Command::new("sha256sum")
            .arg("-c")
            .arg(SHA256SUMS)
            .current_dir(out.path())
            .output()
        {
            assert!(check.status.success(), "{check:?}");
        }
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
        let mut slow = config("slow", Some("sleep 30"), &["x"]);
        slow.timeout_seconds = Timeout::constant(1);
        let started = Instant::now();
        let err = build(&[slow], work.path(), out.path(), &[]).expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            err.to_string().contains("did not finish within 1 s"),
            "{err}"
        );
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_is_no_limit() {
        let work = tempfile::tempdir().expect("tempdir");
        let stdout = run_shell(&ShellCommand {
            what: "a command".to_owned(),
            command: "echo built",
            dir: work.path(),
            env: &[],
            timeout: Duration::MAX,
        })
        .expect("runs");
        assert_eq!(stdout, "built\n");
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
        let err = validate(&[config("x", None, &["a"]), config("x", None, &["b"])])
            .expect_err("same name");
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
        // The minisign tool agrees, where it is installed.
        if let Ok(out) = Command::new("minisign")
            .arg("-V")
            .arg("-q")
            .arg("-p")
            .arg(&pk)
            .arg("-m")
            .arg(&file)
            .output()
        {
            assert!(out.status.success(), "{out:?}");
        }

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
        assert!(
            serde_saphyr::from_str::<ArtifactConfig>("name: x\npaths: []\nextra: 1\n").is_err()
        );
    }
}

//! Document kinds and names: what is valid, where a document lives, and
//! the first free name of a base.

use std::collections::HashSet;

use super::{EVIDENCE_DIR, is_body_name};
use crate::{Error, Result};

/// The longest kind accepted, in bytes.
const MAX_KIND_LEN: usize = 64;

/// The longest name accepted, in bytes (file names stay well under 255).
pub(super) const MAX_NAME_LEN: usize = 200;

/// Checks a document kind: lowercase ASCII letters, digits, `_` and `-`,
/// starting with a letter or digit, at most 64 bytes.
///
/// # Errors
///
/// [`Error::Input`] naming the bad kind.
pub fn validate_kind(kind: &str) -> Result<()> {
    let mut bytes = kind.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if first_ok && rest_ok && kind.len() <= MAX_KIND_LEN {
        Ok(())
    } else {
        Err(Error::input(format!(
            "invalid evidence kind {kind:?}: use lowercase letters, digits, _ and -, \
             starting with a letter or digit, at most {MAX_KIND_LEN} bytes"
        )))
    }
}

/// Checks a document name: ASCII letters, digits, `.`, `_`, `-`, `+` and
/// `@`, starting with a letter or digit, not ending with `.`, at most 200
/// bytes. This rules out empty names, path separators, `..` and hidden
/// files.
///
/// # Errors
///
/// [`Error::Input`] naming the bad name.
pub fn validate_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b".-_+@".contains(&b));
    if first_ok && rest_ok && !name.ends_with('.') && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(Error::input(format!(
            "invalid evidence name {name:?}: use letters, digits, ., _, -, + and @, \
             starting with a letter or digit, not ending with a dot, at most {MAX_NAME_LEN} bytes"
        )))
    }
}

/// The path of a document relative to the store root, with `/`.
pub(super) fn relative_path(kind: &str, name: &str) -> String {
    format!("{EVIDENCE_DIR}/{kind}/{}", file_name(name))
}

/// The file name of a document in its kind's directory: `<name>.yaml`,
/// or a body's own name.
pub(super) fn file_name(name: &str) -> String {
    if is_body_name(name) {
        name.to_owned()
    } else {
        format!("{name}.yaml")
    }
}

/// Which name a write records its document under.
#[derive(Debug, Clone, Copy)]
pub(super) enum NameChoice<'a> {
    /// This name, refused when it is recorded already.
    Exact(&'a str),
    /// The first of `base`, `base-2`, `base-3`, ... not recorded yet.
    FirstFree(&'a str),
}

impl NameChoice<'_> {
    /// The name asked for, or the base of the names tried.
    pub(super) fn base(&self) -> &str {
        match self {
            NameChoice::Exact(name) | NameChoice::FirstFree(name) => name,
        }
    }
}

/// `base`, or `base-2`, `base-3`, ...: the first name of `kind` not
/// taken (names compare ignoring ASCII case; `taken` holds them
/// lowercase).
pub(super) fn first_free(
    taken: &HashSet<(String, String)>,
    kind: &str,
    base: &str,
) -> Result<String> {
    let is_taken = |name: &str| taken.contains(&(kind.to_owned(), name.to_ascii_lowercase()));
    let mut name = base.to_owned();
    let mut n: u64 = 1;
    while is_taken(&name) {
        n += 1;
        name = format!("{base}-{n}");
    }
    validate_name(&name)?;
    Ok(name)
}

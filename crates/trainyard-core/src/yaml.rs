//! Strict YAML reading with errors that say where: every error names the
//! file, line, column and key, e.g.
//! `trainyard.yaml:4:7: versioning.bump_rules[0].bump: unknown variant ...`.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::{Error, Result};

/// Every `*.yaml` document in `dir` (none when it does not exist), in no
/// particular order: the state files of releases and rollbacks.
///
/// # Errors
///
/// Returns an [`Error::Io`](crate::Error::Io) for an unreadable file and an
/// [`Error::Input`](crate::Error::Input) naming the file for a bad one.
pub fn parse_dir<T: DeserializeOwned>(dir: &Path) -> Result<Vec<T>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::Error::io("cannot read", dir, e)),
    };
    let mut documents = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| crate::Error::io("cannot read", &path, e))?;
            documents.push(parse(&text, &path)?);
        }
    }
    Ok(documents)
}

/// Reads a file that must be UTF-8 text; `shown` names it in errors.
///
/// # Errors
///
/// Returns an [`Error::Io`] when it cannot be read, and an
/// [`Error::Input`] with the line and column of the first byte that is
/// not UTF-8 (bad input, not a failure of the machine).
pub fn read_text(path: &Path, shown: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        let byte = e.as_bytes().get(good.len()).copied().unwrap_or_default();
        Error::input(format!(
            "{}:{line}:{column}: not UTF-8 text (byte 0x{byte:02x}): save the file as UTF-8",
            shown.display()
        ))
    })
}

/// Deserializes `text`; `origin` names it in error messages.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the file, line, column and key.
pub fn parse<T: DeserializeOwned>(text: &str, origin: &Path) -> Result<T> {
    let mut key = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            key = e.path().to_string();
            e.into_inner()
        })
    });
    parsed.map_err(|e| located_error(origin, &key, &e))
}

fn located_error(origin: &Path, key: &str, error: &serde_saphyr::Error) -> Error {
    let position = error
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    // serde_path_to_error names a map key it has not read yet `?`.
    let key = key.strip_suffix(".?").unwrap_or(key);
    let key = if key.is_empty() || key == "." || key == "?" {
        String::new()
    } else {
        format!(" {key}:")
    };
    Error::input(format!(
        "{}{position}:{key} {}",
        origin.display(),
        plain_message(error)
    ))
}

/// The error's own words, without the source snippet and the trailing
/// position serde-saphyr adds, starting lowercase.
fn plain_message(error: &serde_saphyr::Error) -> String {
    let rendered = error.without_snippet().to_string();
    let trimmed = match rendered.rfind(" at line ") {
        Some(at) => &rendered[..at],
        None => rendered.as_str(),
    };
    // The advice on duplicate keys is for programmers, not for this file.
    let trimmed = match trimmed.find(", set DuplicateKeyPolicy") {
        Some(at) => &trimmed[..at],
        None => trimmed,
    };
    let mut message = trimmed.trim().trim_end_matches('.').to_owned();
    // Lowercase a capitalised first word, but not an acronym such as DR-01.
    let mut chars = message.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    let second_lower = chars.next().is_some_and(char::is_lowercase);
    if first_upper && second_lower {
        let lower = message[..1].to_lowercase();
        message.replace_range(..1, &lower);
    }
    message
}

/// A YAML node of any shape, as the document wrote it.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    /// Entries in document order, duplicates included.
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }

            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::UInt(v))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }

            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_owned()))
            }

            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Node>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Node::Map(entries))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Where the node at `path` (`gates.G-REL.checks[1]`, `[0].to`) starts in
/// `text`: its line and column, when the text is YAML and has it.
pub(crate) fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    };
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).ok()?;
    let mut node = &root;
    for step in path_steps(path)? {
        node = match (&node.value, step) {
            (Node::Map(entries), Step::Key(key)) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Node::Str(s) if s == key))
                .map(|(_, v)| v)?,
            (Node::Seq(items), Step::Index(i)) => items.get(i)?,
            _ => return None,
        };
    }
    let location = node.referenced;
    Some((location.line() as usize, location.column() as usize))
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[2].c` as its steps; `None` for a path that is not one.
fn path_steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']')?;
            steps.push(Step::Index(inner[..close].parse().ok()?));
            rest = &inner[close + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// An input error about the key `path` of `text`: `origin:line:column:
/// path: message`, or without the position when `path` is not in the text.
pub(crate) fn error_at(origin: &Path, text: &str, path: &str, message: &str) -> Error {
    match locate(text, path) {
        Some((line, column)) => Error::input(format!(
            "{}:{line}:{column}: {path}: {message}",
            origin.display()
        )),
        None => Error::input(format!("{}: {path}: {message}", origin.display())),
    }
}

/// A semantic error whose message starts with its key path (`key.path:
/// what is wrong`), given the position of that key in `text`.
pub(crate) fn locate_message(origin: &Path, text: &str, message: &str) -> Error {
    match message.split_once(": ") {
        Some((path, rest)) if path_steps(path).is_some() && !path.contains(' ') => {
            error_at(origin, text, path, rest)
        }
        _ => Error::input(format!("{}: {message}", origin.display())),
    }
}

//! Strict YAML reading with errors that say where: every error names the
//! file, line, column and key, e.g.
//! `trainyard.yaml:4:7: versioning.bump_rules[0].bump: unknown variant ...`.

use std::path::Path;

use serde::de::DeserializeOwned;

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

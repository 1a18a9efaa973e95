//! JSON located by byte spans: a small scanner over text `serde_json`
//! already accepted, so an edit can replace one value and keep every other
//! byte (key order, indentation, line endings) as it is.

use std::ops::Range;
use std::path::Path;

use super::display_path;
use crate::{Error, Result};

const BOM: &str = "\u{feff}";

/// Parses `text` (a leading byte order mark allowed); a syntax error
/// becomes an input error naming the file, line and column.
pub(super) fn parse_checked(path: &Path, text: &str) -> Result<serde_json::Value> {
    let body = text.strip_prefix(BOM).unwrap_or(text);
    serde_json::from_str(body).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        Error::input(format!(
            "{}: line {}, column {}: invalid JSON: {message}",
            display_path(path),
            e.line(),
            e.column()
        ))
    })
}

/// The members of the object whose `{` is at byte `start`: each key and
/// the span of its value. `None` when `start` is not an object of valid
/// JSON.
pub(super) fn members(text: &str, start: usize) -> Option<Vec<(String, Range<usize>)>> {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, start);
    if *bytes.get(pos)? != b'{' {
        return None;
    }
    pos += 1;
    let mut out = Vec::new();
    loop {
        pos = skip_ws(bytes, pos);
        match *bytes.get(pos)? {
            b'}' => return Some(out),
            b',' => {
                pos += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_start = pos;
        pos = skip_string(bytes, pos)?;
        let key: String = serde_json::from_str(text.get(key_start..pos)?).ok()?;
        pos = skip_ws(bytes, pos);
        if *bytes.get(pos)? != b':' {
            return None;
        }
        pos = skip_ws(bytes, pos + 1);
        let value_start = pos;
        pos = skip_value(bytes, pos)?;
        out.push((key, value_start..pos));
    }
}

/// The span of the value at `keys` (object keys from the top level), the
/// last one when a key is repeated; `None` when absent.
pub(super) fn find(text: &str, keys: &[&str]) -> Option<Range<usize>> {
    let body_start = text.len() - text.strip_prefix(BOM).unwrap_or(text).len();
    let mut span = body_start..text.len();
    for key in keys {
        span = members(text, span.start)?
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)?
            .1;
    }
    Some(span)
}

/// A JSON string literal holding `value`.
pub(super) fn string_literal(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// From the opening quote of a string to just past its closing quote.
fn skip_string(bytes: &[u8], mut pos: usize) -> Option<usize> {
    pos += 1;
    loop {
        match *bytes.get(pos)? {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
}

/// From the start of a value to just past its end.
fn skip_value(bytes: &[u8], mut pos: usize) -> Option<usize> {
    match *bytes.get(pos)? {
        b'"' => skip_string(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match *bytes.get(pos)? {
                    b'"' => {
                        pos = skip_string(bytes, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
        }
        _ => {
            while !matches!(
                bytes.get(pos),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                pos += 1;
            }
            Some(pos)
        }
    }
}

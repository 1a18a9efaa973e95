//! Putting a section and its link definition into the text: an update
//! checked and normalized, then replaced or inserted.

use super::document::{Doc, Key, Kind, heading_label, link_def, normalize_label, strip_v};
use super::{SectionKey, SectionUpdate};
use crate::{Error, Result};

/// An update checked and ready to apply.
pub(super) struct Prepared {
    key: Key,
    /// The section's lines without line endings, from the heading on.
    lines: Vec<String>,
    /// The label of the link definition.
    pub(super) label: String,
    pub(super) link: Option<String>,
}

impl Prepared {
    pub(super) fn new(update: &SectionUpdate) -> Result<Prepared> {
        let key = match &update.key {
            SectionKey::Unreleased => Key::Unreleased,
            SectionKey::Version(text) => Key::Version(crate::version::parse(strip_v(text.trim()))?),
        };
        let internal =
            |what: &str| Error::Internal(format!("the new changelog section for {key} {what}"));
        let mut lines: Vec<String> = update
            .markdown
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
            .skip_while(|line| line.trim().is_empty())
            .collect();
        if update.markdown.ends_with('\n') && lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        let normalized = lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>();
        let doc = Doc::parse(&normalized);
        let section = match doc.segments.as_slice() {
            [section] if section.level2 => section,
            [first, ..] if !first.level2 => {
                return Err(internal("does not start with a level-2 heading"));
            }
            _ => return Err(internal("has more than one level-1 or level-2 heading")),
        };
        if section.key.as_ref() != Some(&key) {
            return Err(internal("starts with a heading for another release"));
        }
        if doc.unclosed.is_some() {
            return Err(internal("leaves a code block or HTML comment open"));
        }
        if section.content_end != section.boundary {
            return Err(internal("ends with link reference definitions"));
        }
        let label = match key {
            Key::Unreleased => "unreleased".to_owned(),
            _ => {
                let heading = &lines[0];
                let bracketed = heading
                    .trim_start_matches(' ')
                    .trim_start_matches('#')
                    .trim();
                if bracketed.starts_with('[') {
                    heading_label(heading).trim().to_owned()
                } else {
                    key.to_string()
                }
            }
        };
        let link = match &update.link {
            Some(url) if url.trim().is_empty() || url.contains(['\n', '\r']) => {
                return Err(internal("has a link that is empty or spans lines"));
            }
            Some(url) => Some(url.trim().to_owned()),
            None => None,
        };
        Ok(Prepared {
            key,
            lines,
            label,
            link,
        })
    }

    /// The section with the given line ending, ending with a blank line.
    pub(super) fn render(&self, eol: &str) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push_str(eol);
        }
        if self
            .lines
            .last()
            .is_some_and(|line| !line.trim().is_empty())
        {
            out.push_str(eol);
        }
        out
    }
}

/// Ends `out` with a blank line, unless it is empty or already does.
fn separate(out: &mut String, eol: &str) {
    if out.is_empty() {
        return;
    }
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    let before_newline = &out[..out.len() - 1];
    let last_line = before_newline.rsplit('\n').next().unwrap_or("");
    if !last_line.trim().is_empty() {
        out.push_str(eol);
    }
}

/// Replaces or inserts one section.
pub(super) fn put_section(text: &str, update: &Prepared) -> String {
    let doc = Doc::parse(text);
    let section = update.render(doc.eol);
    if let Some(existing) = doc.find(&update.key) {
        let span = doc.span(existing);
        return [&text[..span.start], &section, &text[span.end..]].concat();
    }
    let at = doc.insertion_point(&update.key);
    let mut out = String::with_capacity(text.len() + section.len() + 4);
    out.push_str(&text[..at]);
    separate(&mut out, doc.eol);
    out.push_str(&section);
    out.push_str(&text[at..]);
    out
}

/// Sets the destination of the definition for `label`, or adds one to the
/// link block.
pub(super) fn put_link(text: &str, label: &str, url: &str) -> String {
    let doc = Doc::parse(text);
    let wanted = normalize_label(label);
    for line in doc.lines.iter().filter(|line| line.kind == Kind::LinkDef) {
        let content = &text[line.start..line.end];
        if let Some((existing, destination)) = link_def(content)
            && normalize_label(existing) == wanted
        {
            let cut = line.start + destination;
            return [&text[..cut], url, &text[line.end..]].concat();
        }
    }
    let definition = format!("[{label}]: {url}");
    let key = Key::from_label(label);
    let block = doc.link_block();
    let before = match &key {
        Key::Unreleased => block.iter().find(|(_, k)| k.is_release()),
        Key::Version(version) => block.iter().find(|(_, k)| k.is_version_older_than(version)),
        Key::Other(_) => None,
    };
    if let Some(&(index, _)) = before {
        let at = doc.lines[index].start;
        return [&text[..at], &definition, doc.eol, &text[at..]].concat();
    }
    let after = block
        .iter()
        .rev()
        .find(|(_, k)| k.is_release())
        .or(block.last());
    match after {
        Some(&(index, _)) => {
            let line = doc.lines[index];
            if line.next > line.end {
                [&text[..line.next], &definition, doc.eol, &text[line.next..]].concat()
            } else {
                [&text[..line.end], doc.eol, &definition, &text[line.end..]].concat()
            }
        }
        None => {
            let mut out = text.to_owned();
            separate(&mut out, doc.eol);
            out.push_str(&definition);
            out.push_str(doc.eol);
            out
        }
    }
}

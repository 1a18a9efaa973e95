//! Markdown release notes, rendered with minijinja.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use super::{Notes, ReleaseNotes};
use crate::changelog::Links;
use crate::{Error, Result};

/// The built-in template: the spec's release notes template, with empty
/// sections left out. Every text in a list item goes through `indent`, so
/// that a text over several lines stays inside its item.
pub const BUILTIN_TEMPLATE: &str = r#"{% set n = release_notes %}
# Release Notes: {{ tag }}

**Release Date**: {{ n.release_date }}
**Release Type**: {{ n.release_type | capitalize }}
{% if n.highlights %}

## Highlights
{% for highlight in n.highlights %}
- {{ highlight | indent(2) }}
{% endfor %}
{% endif %}
{% if n.changes.features %}

## New Features
{% for f in n.changes.features %}
- **{{ f.title | link_refs | indent(2) }}**{{ (": " ~ (f.description | link_refs)) | indent(2) if f.description else "" }}{{ " (" ~ (f.pr_ref | ref_link) ~ ")" if f.pr_ref else "" }}
{% endfor %}
{% endif %}
{% if n.changes.improvements %}

## Improvements
{% for i in n.changes.improvements %}
- **{{ i.title | link_refs | indent(2) }}**{{ (": " ~ (i.description | link_refs)) | indent(2) if i.description else "" }}
{% endfor %}
{% endif %}
{% if n.changes.bug_fixes %}

## Bug Fixes
{% for b in n.changes.bug_fixes %}
- **{{ b.issue_ref | ref_link }}**: {{ b.description | link_refs | indent(2) }}
{% endfor %}
{% endif %}
{% if n.changes.breaking_changes %}

## Breaking Changes
{% for c in n.changes.breaking_changes %}
- **{{ c.title | link_refs | indent(2) }}**{{ (": " ~ (c.description | link_refs)) | indent(2) if c.description else "" }}
{% if c.migration and c.migration != c.description %}
  - Migration: {{ c.migration | indent(4) }}
{% endif %}
{% endfor %}
{% endif %}
{% if n.changes.deprecations %}

## Deprecations
{% for d in n.changes.deprecations %}
- **{{ d.item | indent(2) }}**: {{ "to be removed in " ~ tag_prefix ~ d.timeline if d.timeline else "no removal version yet" }}{{ ("; use " ~ d.replacement ~ " instead") | indent(2) if d.replacement else "" }}
{% endfor %}
{% endif %}
{% if n.changes.security %}

## Security
{% for s in n.changes.security %}
- **{{ s.cve or "Security fix" }}**{{ " (" ~ s.severity ~ ")" if s.severity else "" }}{{ (": " ~ s.description) | indent(2) if s.description else "" }}
{% endfor %}
{% endif %}
{% if n.known_issues %}

## Known Issues
{% for k in n.known_issues %}
- **{{ k.issue | indent(2) }}**
{% if k.workaround %}
  - Workaround: {{ k.workaround | indent(4) }}
{% endif %}
{% endfor %}
{% endif %}
{% if n.upgrade_notes %}

## Upgrade Notes
{{ n.upgrade_notes }}
{% endif %}
{% if n.contributors %}

## Contributors
- {{ n.contributors | join(", ") | indent(2) }}
{% endif %}
{% set p = n.provenance %}
{% if p.commit or p.build_id or p.signed_by %}

## Provenance
{% if p.commit %}
- Commit: {{ p.commit | ref_link | indent(2) }}
{% endif %}
{% if p.build_id %}
- Build: {{ p.build_id | indent(2) }}
{% endif %}
{% if p.signed_by %}
- Signed: {{ p.signed_by | indent(2) }}
{% endif %}
{% endif %}
{% if compare_url %}

**Full Changelog**: {{ compare_url }}
{% endif %}
"#;

/// The name the built-in template goes by in errors.
const BUILTIN_NAME: &str = "built-in release notes template";

/// What templates see.
#[derive(Serialize)]
struct Context<'a> {
    release_notes: &'a Notes,
    tag: String,
    tag_prefix: &'a str,
    repository_url: Option<&'a str>,
    compare_url: Option<String>,
}

/// Where Markdown notes link to: the repository, and the tag of the
/// release before, which the changes are compared against.
#[derive(Debug, Clone)]
pub struct NotesLinks {
    /// The link shapes of the repository.
    pub links: Links,
    /// The previous release's tag, if any.
    pub previous_tag: Option<String>,
}

/// A reference value linked to its page: `#N` or `!N` to the pull
/// request, merge request or issue, an abbreviated or full commit id to
/// the commit; anything else, or everything without links, unchanged.
fn reference_link(links: Option<&Links>, text: &str) -> String {
    let Some(links) = links else {
        return text.to_owned();
    };
    let mut chars = text.chars();
    if let Some(sigil @ ('#' | '!')) = chars.next()
        && let Ok(number) = chars.as_str().parse::<u64>()
    {
        return links.reference_markdown(sigil, number);
    }
    if (7..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return format!("[{text}]({})", links.commit(text));
    }
    text.to_owned()
}

/// Renders release notes as Markdown with the built-in template
/// ([`BUILTIN_TEMPLATE`]) or with `template`, given as its name (for
/// errors) and its source. Templates see `release_notes`, `tag`
/// (`tag_prefix` and the version, e.g. `v1.2.0`) and `tag_prefix`; blocks
/// are trimmed, nothing is escaped, and printing an undefined value is an
/// error.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the template and line, e.g.
/// `notes.md.j2:3: syntax error: unexpected end of input, expected end of block`,
/// when a given template does not parse or fails to render, and an
/// [`Error::Internal`] when the built-in one does.
pub fn render_markdown(
    notes: &ReleaseNotes,
    tag_prefix: &str,
    template: Option<(&str, &str)>,
) -> Result<String> {
    render_linked(notes, tag_prefix, template, None)
}

/// As [`render_markdown`], with links: templates also see
/// `repository_url` and `compare_url` (the changes since the previous
/// release's tag, or none), and the filters `link_refs` (a text's `#N`
/// and `!N` references as links) and `ref_link` (a `#N` reference or a
/// commit id as a link) link where `links` says, and change nothing
/// without links.
///
/// # Errors
///
/// As [`render_markdown`].
pub fn render_linked(
    notes: &ReleaseNotes,
    tag_prefix: &str,
    template: Option<(&str, &str)>,
    links: Option<&NotesLinks>,
) -> Result<String> {
    let mut env = Environment::new();
    let mut syntax = SyntaxConfig::builder();
    syntax
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true);
    let syntax = syntax
        .build()
        .map_err(|e| Error::Internal(format!("cannot configure templates: {e}")))?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let shapes = links.map(|l| l.links.clone());
    let text_links = shapes.clone();
    env.add_filter("link_refs", move |text: String| match &text_links {
        Some(links) => links.link_references(&text).into_owned(),
        None => text,
    });
    env.add_filter("ref_link", move |text: String| {
        reference_link(shapes.as_ref(), &text)
    });

    let (name, source, builtin) = match template {
        Some((name, source)) => (name, source, false),
        None => (BUILTIN_NAME, BUILTIN_TEMPLATE, true),
    };
    let fail = |e: minijinja::Error| template_error(&e, name, builtin);
    let compiled = env.template_from_named_str(name, source).map_err(fail)?;
    let release_notes = &notes.release_notes;
    let tag = format!("{tag_prefix}{}", release_notes.version);
    let context = Context {
        release_notes,
        repository_url: links.map(|l| l.links.base()),
        compare_url: links.map(|l| l.links.compare(l.previous_tag.as_deref(), Some(&tag))),
        tag,
        tag_prefix,
    };
    compiled.render(Value::from(Serde(&context))).map_err(fail)
}

/// `<name>:<line>: <kind>: <detail>`, with the causes of nested errors.
fn template_error(error: &minijinja::Error, name: &str, builtin: bool) -> Error {
    let name = error.name().unwrap_or(name);
    let line = error.line().map(|l| format!(":{l}")).unwrap_or_default();
    let mut message = format!("{name}{line}: {}", error.kind());
    if let Some(detail) = error.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if builtin {
        Error::Internal(message)
    } else {
        Error::input(message)
    }
}

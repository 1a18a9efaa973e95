//! Version requirements on a package that moves to a new version: what
//! each ecosystem's requirement becomes.
//!
//! A requirement naming one version with an operator that reaches upward
//! (none, `=`, `^`, `~`, `>=`; Python's `==`, `>=`, `~=`, `===`) is
//! rewritten to the new version with the operator and spacing kept. Any
//! other requirement (several comparators, a wildcard, `<`) stays as it is
//! when it already admits the new version, and is refused otherwise.
//! Requirements that name no version (`workspace:^`, `*`, a tag, a path or
//! URL) stay as they are.

use super::{cargo, pep440};

/// What a requirement becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// It stays as written (it admits the new version, or names none).
    Keep,
    /// It becomes this text.
    To(String),
    /// It does not admit the new version and cannot be rewritten.
    Refused,
}

impl Rewrite {
    /// `To(text)`, or `Keep` when `text` is what is already written.
    fn to(text: String, written: &str) -> Rewrite {
        if text == written {
            Rewrite::Keep
        } else {
            Rewrite::To(text)
        }
    }

    fn keep_if(admits: bool) -> Rewrite {
        if admits {
            Rewrite::Keep
        } else {
            Rewrite::Refused
        }
    }

    fn prefixed(self, prefix: &str) -> Rewrite {
        match self {
            Rewrite::To(text) => Rewrite::To(format!("{prefix}{text}")),
            other => other,
        }
    }
}

/// A Cargo requirement (`0.2`, `^0.2.0`, `=0.2.0`, `>=0.2, <0.4`).
pub(crate) fn cargo(req: &str, new: &semver::Version) -> Rewrite {
    match cargo::rewrite_requirement(req, new) {
        Some(text) => Rewrite::to(text, req),
        None => Rewrite::keep_if(semver::VersionReq::parse(req).is_ok_and(|r| r.matches(new))),
    }
}

/// An npm range, with pnpm's and yarn's `workspace:` protocol and npm's
/// `npm:<name>@<range>` aliases.
pub(crate) fn npm(req: &str, new: &semver::Version) -> Rewrite {
    if let Some(rest) = req.strip_prefix("workspace:") {
        if matches!(rest.trim(), "" | "*" | "^" | "~") {
            return Rewrite::Keep;
        }
        return npm_range(rest, new).prefixed("workspace:");
    }
    if let Some(alias) = req.strip_prefix("npm:") {
        return match alias.get(1..).and_then(|s| s.rfind('@')) {
            Some(at) => npm_range(&alias[at + 2..], new).prefixed(&req[..at + 6]),
            None => Rewrite::Keep,
        };
    }
    npm_range(req, new)
}

fn npm_range(req: &str, new: &semver::Version) -> Rewrite {
    let body = req.trim();
    if !is_npm_range(body) {
        return Rewrite::Keep;
    }
    let op_len = body.len() - body.trim_start_matches(['=', '^', '~', '>', '<']).len();
    let op = &body[..op_len];
    let rest = body[op_len..].trim_start();
    let version = rest.strip_prefix('v').unwrap_or(rest);
    let single = matches!(op, "" | "=" | "^" | "~" | ">=")
        && !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains([' ', '\t', '|', 'x', 'X', '*'])
        && version.split(['-', '+']).next().is_some_and(|core| {
            core.split('.').count() <= 3 && core.split('.').all(|p| p.parse::<u64>().is_ok())
        });
    if single {
        let lead = &req[..req.len() - req.trim_start().len()];
        let trail = &req[req.trim_end().len()..];
        let spacing = &body[op_len..body.len() - rest.len()];
        return Rewrite::to(format!("{lead}{op}{spacing}{new}{trail}"), req);
    }
    Rewrite::keep_if(npm_admits(body, new).unwrap_or(false))
}

/// Whether `body` is a semver range rather than a tag, path, URL or
/// protocol (`latest`, `file:../a`, `github:user/repo`).
fn is_npm_range(body: &str) -> bool {
    body.chars()
        .all(|c| c.is_ascii_alphanumeric() || " \t.-+^~=<>|*".contains(c))
        && body
            .trim_start_matches(['=', '^', '~', '<', '>', 'v', ' ', '\t'])
            .starts_with(|c: char| c.is_ascii_digit() || matches!(c, 'x' | 'X' | '*'))
}

/// Whether the npm range `range` admits `version`; `None` when it does
/// not parse. `||` alternatives, hyphen ranges, `x` wildcards and partial
/// versions are understood.
pub(crate) fn npm_admits(range: &str, version: &semver::Version) -> Option<bool> {
    let mut any = false;
    for alternative in range.split("||") {
        any |= npm_set(alternative)?.matches(version);
    }
    Some(any)
}

/// One `||` alternative as a Cargo requirement with the same meaning.
fn npm_set(set: &str) -> Option<semver::VersionReq> {
    let tokens: Vec<&str> = set.split_whitespace().collect();
    let mut comparators = Vec::new();
    if let [from, "-", to] = tokens.as_slice() {
        comparators.push(format!(">={}", npm_version(from)?));
        comparators.push(format!("<={}", npm_version(to)?));
    } else {
        let mut i = 0;
        while i < tokens.len() {
            let mut token = tokens[i].to_owned();
            if token.chars().all(|c| "=<>^~".contains(c)) {
                i += 1;
                token.push_str(tokens.get(i)?);
            }
            i += 1;
            let op_len = token.len() - token.trim_start_matches(['=', '^', '~', '>', '<']).len();
            let (op, version) = token.split_at(op_len);
            let version = npm_version(version)?;
            comparators.push(match op {
                "" if version == "*" => version,
                "" => format!("={version}"),
                _ => format!("{op}{version}"),
            });
        }
    }
    if comparators.is_empty() {
        comparators.push("*".to_owned());
    }
    semver::VersionReq::parse(&comparators.join(", ")).ok()
}

/// An npm version (`v1.2`, `1.x`, `*`) in Cargo's syntax.
fn npm_version(text: &str) -> Option<String> {
    let text = text.strip_prefix('v').unwrap_or(text);
    if matches!(text, "*" | "x" | "X" | "") {
        return Some("*".to_owned());
    }
    let (core, rest) = match text.find(['-', '+']) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let mut parts = Vec::new();
    for part in core.split('.') {
        if matches!(part, "x" | "X" | "*") {
            parts.push("*");
            break;
        }
        part.parse::<u64>().ok()?;
        parts.push(part);
    }
    Some(format!("{}{rest}", parts.join(".")))
}

/// A PEP 440 version specifier (`>=0.2.0`, `==0.2.*`, `>=0.2,<0.4`), as in
/// a PEP 508 requirement once the name, extras and markers are set apart.
pub(crate) fn python(spec: &str, new: &semver::Version) -> Rewrite {
    let clauses: Vec<&str> = spec.split(',').collect();
    if spec.trim().is_empty() {
        return Rewrite::Keep;
    }
    if let [clause] = clauses.as_slice() {
        let body = clause.trim_start();
        let op_len = body.len() - body.trim_start_matches(['=', '~', '>', '<', '!']).len();
        let op = &body[..op_len];
        let rest = body[op_len..].trim_start();
        let version = rest.trim_end();
        if matches!(op, "==" | ">=" | "~=" | "===")
            && !version.contains('*')
            && pep440::Version::parse(version).is_some()
        {
            let lead = &spec[..spec.len() - body.len()];
            let spacing = &body[op_len..body.len() - rest.len()];
            let trail = &rest[version.len()..];
            return Rewrite::to(format!("{lead}{op}{spacing}{new}{trail}"), spec);
        }
    }
    let admits = pep440::Version::parse(&new.to_string())
        .and_then(|v| pep440::admits(spec, &v))
        .unwrap_or(false);
    Rewrite::keep_if(admits)
}

/// A PEP 508 requirement split into its name and the byte span of its
/// version specifier (parentheses excluded; empty when there is none);
/// `None` when it does not start with a name. A URL requirement
/// (`name @ https://...`) has no specifier.
pub(crate) fn pep508(requirement: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let start = requirement.len() - requirement.trim_start().len();
    let name_len = requirement[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .unwrap_or(requirement.len() - start);
    if name_len == 0 {
        return None;
    }
    let name = &requirement[start..start + name_len];
    let mut pos = start + name_len;
    let skip_ws =
        |pos: usize| pos + requirement[pos..].len() - requirement[pos..].trim_start().len();
    pos = skip_ws(pos);
    if requirement[pos..].starts_with('[') {
        pos += requirement[pos..].find(']')? + 1;
        pos = skip_ws(pos);
    }
    if requirement[pos..].starts_with('@') {
        return Some((name, pos..pos));
    }
    let (from, to) = if requirement[pos..].starts_with('(') {
        let close = pos + requirement[pos..].find(')')?;
        (pos + 1, close)
    } else {
        let end = requirement[pos..]
            .find(';')
            .map_or(requirement.len(), |i| pos + i);
        (pos, end)
    };
    let spec = &requirement[from..to];
    let lead = spec.len() - spec.trim_start().len();
    Some((name, from + lead..from + spec.trim_end().len()))
}

/// A package name as PEP 503 compares it: lower case, with every run of
/// `-`, `_` and `.` one `-`.
pub(crate) fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

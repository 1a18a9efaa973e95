//! An allowed-signers file, in the format of git's
//! `gpg.ssh.allowedSignersFile` (ssh-keygen(1), "ALLOWED SIGNERS"), so a
//! team keeps one file for signed commits and for trainyard:
//!
//! ```text
//! # principals         [options]                     key
//! ada@example.org      namespaces="git,trainyard"    ssh-ed25519 AAAA... ada
//! *@ops.example.org    valid-before="20271231"       ssh-ed25519 AAAA...
//! ```
//!
//! Principals are comma-separated patterns (`*` and `?` wildcards, a
//! leading `!` negates). Of the options, `namespaces` (the key signs only
//! for those), `valid-after` and `valid-before` are honoured; a
//! `cert-authority` line is skipped, since trainyard verifies plain keys.

use std::path::{Path, PathBuf};

use ssh_key::{HashAlg, PublicKey};

use crate::{Error, Result};

/// One line of the file.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The principal patterns, as written.
    pub principals: Vec<String>,
    /// The namespaces the key may sign for (`None`: any).
    pub namespaces: Option<Vec<String>>,
    /// Not valid before this time (`YYYYMMDD[HHMM[SS]]`, UTC).
    pub valid_after: Option<jiff::Timestamp>,
    /// Not valid from this time on.
    pub valid_before: Option<jiff::Timestamp>,
    /// The key.
    pub key: PublicKey,
    /// The line it came from, for messages.
    pub line: usize,
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its signers, in file order.
    pub signers: Vec<Signer>,
}

impl AllowedSigners {
    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the file and line of a line that
    /// is not a signer, and an [`Error::Io`] when the file cannot be read.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses the text of an allowed-signers file; `path` names it.
    ///
    /// # Errors
    ///
    /// As [`AllowedSigners::read`].
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut signers = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at =
                |message: String| Error::input(format!("{}:{}: {message}", path.display(), n + 1));
            let mut fields = Fields::new(line);
            let principals = fields
                .next()
                .ok_or_else(|| at("expected `principals [options] key`".into()))?;
            let mut rest: Vec<String> = fields.collect();
            // Options come before the key type, which starts `ssh-`,
            // `ecdsa-` or `sk-`.
            let key_at = rest
                .iter()
                .position(|f| is_key_type(f))
                .ok_or_else(|| at("no key (`ssh-ed25519 AAAA...`) on the line".into()))?;
            let options: Vec<String> = rest.drain(..key_at).collect();
            let key_text = rest.join(" ");
            let key = PublicKey::from_openssh(&key_text)
                .map_err(|e| at(format!("the key does not parse: {e}")))?;
            let mut signer = Signer {
                principals: principals.split(',').map(str::to_owned).collect(),
                namespaces: None,
                valid_after: None,
                valid_before: None,
                key,
                line: n + 1,
            };
            let mut authority = false;
            for option in options.iter().flat_map(|o| split_options(o)) {
                let (name, value) = match option.split_once('=') {
                    Some((name, value)) => (name.to_ascii_lowercase(), unquote(value)),
                    None => (option.to_ascii_lowercase(), String::new()),
                };
                match name.as_str() {
                    "cert-authority" => authority = true,
                    "namespaces" => {
                        signer.namespaces =
                            Some(value.split(',').map(|s| s.trim().to_owned()).collect());
                    }
                    "valid-after" => signer.valid_after = Some(parse_time(&value).map_err(at)?),
                    "valid-before" => {
                        signer.valid_before = Some(parse_time(&value).map_err(at)?);
                    }
                    other => return Err(at(format!("unknown option `{other}`"))),
                }
            }
            if !authority {
                signers.push(signer);
            }
        }
        Ok(AllowedSigners {
            path: path.to_path_buf(),
            signers,
        })
    }

    /// The signers of `key` allowed to sign for `namespace` at `at`.
    pub fn of_key<'a>(
        &'a self,
        key: &'a PublicKey,
        namespace: &'a str,
        at: jiff::Timestamp,
    ) -> impl Iterator<Item = &'a Signer> {
        self.signers.iter().filter(move |s| {
            s.key.key_data() == key.key_data()
                && s.namespaces
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|n| n == namespace))
                && s.valid_after.is_none_or(|t| at >= t)
                && s.valid_before.is_none_or(|t| at < t)
        })
    }

    /// Whether `principal` may sign with `key` for `namespace` at `at`.
    pub fn allows(
        &self,
        principal: &str,
        key: &PublicKey,
        namespace: &str,
        at: jiff::Timestamp,
    ) -> bool {
        self.of_key(key, namespace, at)
            .any(|s| matches_principals(&s.principals, principal))
    }

    /// The principals written literally (no wildcard) for `key`: who a
    /// signature by it can be attributed to when nobody is named.
    pub fn principals_of(
        &self,
        key: &PublicKey,
        namespace: &str,
        at: jiff::Timestamp,
    ) -> Vec<String> {
        let mut out: Vec<String> = self
            .of_key(key, namespace, at)
            .flat_map(|s| s.principals.iter())
            .filter(|p| !p.starts_with('!') && !p.contains(['*', '?']))
            .cloned()
            .collect();
        out.dedup();
        out
    }
}

/// The SHA-256 fingerprint of a key, as ssh-keygen prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn is_key_type(field: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-", "rsa-"]
        .iter()
        .any(|p| field.starts_with(p))
}

/// Whether `principal` matches the comma-separated patterns: some pattern
/// matches and no negated one does.
fn matches_principals(patterns: &[String], principal: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if wildcard(negated, principal) => return false,
            Some(_) => {}
            None => matched |= wildcard(pattern, principal),
        }
    }
    matched
}

/// `*` any run of characters, `?` one, everything else itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Splits a field of options (`a,b="x,y"`) at the commas outside quotes.
fn split_options(field: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in field.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(value: &str) -> String {
    value.trim_matches('"').to_owned()
}

/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, UTC (a trailing `Z`
/// allowed).
fn parse_time(text: &str) -> std::result::Result<jiff::Timestamp, String> {
    let digits = text.trim_end_matches(['Z', 'z']);
    let bad = || format!("`{text}` is not a time: expected YYYYMMDD[HHMM[SS]]");
    if !digits.chars().all(|c| c.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let part = |a: usize, b: usize| digits.get(a..b).and_then(|s| s.parse::<i16>().ok());
    let (y, mo, d) = (part(0, 4), part(4, 6), part(6, 8));
    let (h, mi, s) = (
        part(8, 10).unwrap_or(0),
        part(10, 12).unwrap_or(0),
        part(12, 14).unwrap_or(0),
    );
    let (Some(y), Some(mo), Some(d)) = (y, mo, d) else {
        return Err(bad());
    };
    let date = jiff::civil::Date::new(
        y,
        i8::try_from(mo).map_err(|_| bad())?,
        i8::try_from(d).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let time = jiff::civil::Time::new(
        i8::try_from(h).map_err(|_| bad())?,
        i8::try_from(mi).map_err(|_| bad())?,
        i8::try_from(s).map_err(|_| bad())?,
        0,
    )
    .map_err(|_| bad())?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(time))
        .map_err(|_| bad())
}

/// Whitespace-separated fields, a double-quoted field kept whole.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    fn new(line: &'a str) -> Self {
        Fields { rest: line }
    }
}

impl Iterator for Fields<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let rest = self.rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                if *c == '"' {
                    quoted = !quoted;
                }
                c.is_whitespace() && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        self.rest = &rest[end..];
        Some(rest[..end].to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGSZTzxQcDYy+cO9+d0idw2lXp/dQu776Q41SSd1li3w ada";

    fn key() -> PublicKey {
        PublicKey::from_openssh(ADA).expect("key")
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().expect("time")
    }

    #[test]
    fn principals_options_and_keys_are_read() {
        let text = format!(
            "# the team\nada@example.org,ada {ADA}\n*@ops.example.org,!bot@ops.example.org namespaces=\"git,trainyard\",valid-before=\"20270101\" {ADA}\nca@example.org cert-authority {ADA}\n"
        );
        let signers = AllowedSigners::parse(&text, Path::new("allowed_signers")).expect("parse");
        assert_eq!(signers.signers.len(), 2, "the CA line is skipped");
        let now = at("2026-06-01T00:00:00Z");
        assert!(signers.allows("ada@example.org", &key(), "trainyard", now));
        assert!(signers.allows("lin@ops.example.org", &key(), "trainyard", now));
        assert!(!signers.allows("bot@ops.example.org", &key(), "trainyard", now));
        assert!(!signers.allows("mallory@example.org", &key(), "trainyard", now));
        // The second line's key is no longer valid in 2027.
        assert!(!signers.allows(
            "lin@ops.example.org",
            &key(),
            "trainyard",
            at("2027-02-01T00:00:00Z")
        ));
        assert_eq!(
            signers.principals_of(&key(), "trainyard", now),
            ["ada@example.org", "ada"]
        );
    }

    #[test]
    fn a_namespace_list_limits_the_key() {
        let text = format!("ada@example.org namespaces=\"git\" {ADA}\n");
        let signers = AllowedSigners::parse(&text, Path::new("s")).expect("parse");
        let now = at("2026-06-01T00:00:00Z");
        assert!(!signers.allows("ada@example.org", &key(), "trainyard", now));
        assert!(signers.allows("ada@example.org", &key(), "git", now));
    }

    #[test]
    fn bad_lines_name_their_line() {
        for (text, message) in [
            (
                "ada@example.org\n",
                "s:1: no key (`ssh-ed25519 AAAA...`) on the line",
            ),
            (
                "\nada ssh-ed25519 AAAAnope\n",
                "s:2: the key does not parse",
            ),
            (
                &*format!("ada bogus=1 {ADA}\n"),
                "s:1: unknown option `bogus`",
            ),
            (
                &*format!("ada valid-after=\"2026\" {ADA}\n"),
                "s:1: `2026` is not a time",
            ),
        ] {
            let err = AllowedSigners::parse(text, Path::new("s")).expect_err(text);
            assert!(err.to_string().starts_with(message), "{err}");
        }
    }

    #[test]
    fn wildcards_match_like_ssh() {
        assert!(wildcard("*@example.org", "ada@example.org"));
        assert!(wildcard("a?a", "ada"));
        assert!(!wildcard("a?a", "adda"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("ada", "adam"));
    }
}

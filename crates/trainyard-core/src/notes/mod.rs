//! Release notes: built from a release's commits and a hand-written file,
//! checked for gaps, and rendered as the spec's `release_notes` YAML
//! document or as Markdown.
//!
//! # Where entries come from
//!
//! Every Conventional Commit of the release is read once (commits that are
//! not conventional only count as contributions):
//!
//! - a security fix (type `security`, a `fix` with scope `security` or
//!   naming a CVE id, or any commit with a `Security:` footer; see
//!   [`Conventional::security`]) gives one `security` entry per CVE id it
//!   names, or one entry without a CVE when it names none; the severity is
//!   the hand-written `security` entry's, else the `Severity:` footer's;
//! - a breaking commit gives a `breaking_changes` entry: the title is the
//!   description, the description the `BREAKING CHANGE:` footer or else
//!   the body, the migration the hand-written `migrations` entry, else a
//!   `Migration:` footer, else the breaking footer when it explains the way
//!   (it says "migrat..." or "instead");
//! - any other commit goes to the section its type maps to in the
//!   [`NotesPolicy`] (`feat` to features, `perf` and `refactor` to
//!   improvements, `fix` to bug fixes), or to none;
//! - each `Deprecated:` footer, whatever the commit, gives a
//!   `deprecations` entry (see [`build`]).
//!
//! So a commit appears in one of the type sections or as a breaking change
//! or security fix, never twice, and its deprecations come in addition.
//!
//! # Template context
//!
//! [`render_markdown`] renders a minijinja template with `release_notes`
//! (the document's content, as in the YAML), `tag` (the tag prefix and the
//! version, e.g. `v1.2.0`) and `tag_prefix`; [`render_linked`] adds the
//! repository's links (`repository_url`, `compare_url`, and the filters
//! `link_refs` and `ref_link`). Blocks are trimmed
//! (`trim_blocks` and `lstrip_blocks`), nothing is escaped, and printing an
//! undefined value is an error.

mod gather;
mod handwritten;
mod markdown;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use gather::{NotesReport, NotesRequest, generate, markdown};
pub use handwritten::{
    CommitPrefix, CveId, FeatureOverride, Handwritten, HandwrittenDeprecation, HandwrittenSecurity,
    Timeline, parse_handwritten,
};
pub use markdown::{BUILTIN_TEMPLATE, NotesLinks, render_linked, render_markdown};

use crate::commit::{Commit, Conventional};
use crate::version::{Bump, Version};

/// A person as git names them: a name and an email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// The name, e.g. `Ada Lovelace`.
    pub name: String,
    /// The email address, e.g. `ada@example.org`; may be empty.
    pub email: String,
}

impl Person {
    /// Reads `Name <email>` as git writes identities; text without an
    /// `<email>` is a name alone. Returns `None` for blank text.
    pub fn parse(text: &str) -> Option<Person> {
        let text = text.trim();
        let (name, email) = match (text.find('<'), text.rfind('>')) {
            (Some(open), Some(close)) if open < close => {
                (text[..open].trim(), text[open + 1..close].trim())
            }
            _ => (text, ""),
        };
        if name.is_empty() && email.is_empty() {
            return None;
        }
        Some(Person {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}

/// The co-authors a commit names in `Co-authored-by: Name <email>`
/// footers, in order, before any mailmap. A commit that is not a
/// Conventional Commit has no parsed footers: use
/// [`co_authors_in_message`] on its message instead.
pub fn co_authors(commit: &Commit) -> Vec<Person> {
    commit
        .conventional
        .as_ref()
        .map(|c| {
            footer_values(c, "Co-authored-by")
                .filter_map(Person::parse)
                .collect()
        })
        .unwrap_or_default()
}

/// The co-authors named by `Co-authored-by:` lines anywhere in a commit
/// message, conventional or not, in order.
pub fn co_authors_in_message(message: &str) -> Vec<Person> {
    const TOKEN: &str = "co-authored-by:";
    message
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let head = line.get(..TOKEN.len())?;
            head.eq_ignore_ascii_case(TOKEN)
                .then(|| Person::parse(&line[TOKEN.len()..]))
                .flatten()
        })
        .collect()
}

/// One commit of a release with its people, already resolved through the
/// mailmap by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseCommit {
    /// The parsed commit.
    pub commit: Commit,
    /// Its author.
    pub author: Person,
    /// Its co-authors, from `Co-authored-by:` footers (see [`co_authors`]).
    pub co_authors: Vec<Person>,
}

/// Which commit types go to which section of the notes. Types are
/// compared lowercase; a type in none of the lists (`docs`, `chore`,
/// `test`, `ci`, `build`, `style`, ...) gives no entry unless the commit is
/// breaking, a security fix or deprecates something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotesPolicy {
    /// Types listed under "New Features"; default `feat`.
    pub features: Vec<String>,
    /// Types listed under "Improvements"; default `perf`, `refactor`.
    pub improvements: Vec<String>,
    /// Types listed under "Bug Fixes"; default `fix`.
    pub bug_fixes: Vec<String>,
}

impl Default for NotesPolicy {
    fn default() -> Self {
        NotesPolicy {
            features: vec!["feat".into()],
            improvements: vec!["perf".into(), "refactor".into()],
            bug_fixes: vec!["fix".into()],
        }
    }
}

/// Everything the notes of one release are made from. The caller gathers
/// it from git and the hand-written file.
#[derive(Debug, Clone)]
pub struct NotesInput<'a> {
    /// The version being released.
    pub version: &'a Version,
    /// The release date, `YYYY-MM-DD`.
    pub release_date: String,
    /// The kind of release; [`Bump::None`] is written as `patch`.
    pub release_type: Bump,
    /// The release before this one, if any. "The next major release" in a
    /// deprecation means the major release after the later of this and
    /// `version`.
    pub previous: Option<&'a Version>,
    /// The release's commits, newest first, with merges and reverted pairs
    /// already removed.
    pub commits: &'a [ReleaseCommit],
    /// The hand-written notes, when the release has a file.
    pub handwritten: Option<&'a Handwritten>,
    /// Where the release was built from and who signed it; filled in when
    /// publishing, empty before.
    pub provenance: Provenance,
    /// Which commit types go to which section.
    pub policy: NotesPolicy,
}

/// The release notes document. It serialises to the spec's schema key for
/// key under a top-level `release_notes:` key; every key is always
/// present, with `null` or `[]` when there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseNotes {
    /// The content of the document.
    pub release_notes: Notes,
}

/// The content of a `release_notes` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    /// The version released, without tag prefix.
    pub version: Version,
    /// The release date, `YYYY-MM-DD`.
    pub release_date: String,
    /// `major`, `minor` or `patch`.
    pub release_type: ReleaseType,
    /// One-line summaries: hand-written, or else one generated line that
    /// counts the entries.
    pub highlights: Vec<String>,
    /// The changes, by section.
    pub changes: Changes,
    /// Known issues, hand-written.
    pub known_issues: Vec<KnownIssue>,
    /// How to upgrade, hand-written.
    pub upgrade_notes: Option<String>,
    /// Names of authors and co-authors, sorted, plus hand-written names.
    pub contributors: Vec<String>,
    /// Where the release was built from and who signed it.
    pub provenance: Provenance,
}

/// The kind of release, as the notes name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseType {
    /// Breaking changes.
    Major,
    /// New features.
    Minor,
    /// Fixes only.
    Patch,
}

impl ReleaseType {
    /// The lowercase name: `major`, `minor` or `patch`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::Major => "major",
            ReleaseType::Minor => "minor",
            ReleaseType::Patch => "patch",
        }
    }
}

impl From<Bump> for ReleaseType {
    fn from(bump: Bump) -> Self {
        match bump {
            Bump::Major => ReleaseType::Major,
            Bump::Minor => ReleaseType::Minor,
            Bump::Patch | Bump::None => ReleaseType::Patch,
        }
    }
}

/// The `changes:` of the notes, by section, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// New features.
    pub features: Vec<Feature>,
    /// Improvements: performance, refactoring.
    pub improvements: Vec<Improvement>,
    /// Bug fixes.
    pub bug_fixes: Vec<BugFix>,
    /// Breaking changes and how to migrate.
    pub breaking_changes: Vec<BreakingChange>,
    /// Deprecated items and when they go away.
    pub deprecations: Vec<Deprecation>,
    /// Security fixes.
    pub security: Vec<SecurityFix>,
}

/// A new feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// The commit description, or the hand-written title.
    pub title: String,
    /// The first paragraph of the commit body, or the hand-written one.
    pub description: Option<String>,
    /// The pull request, `#N`.
    pub pr_ref: Option<String>,
}

/// An improvement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Improvement {
    /// The commit description.
    pub title: String,
    /// The first paragraph of the commit body.
    pub description: Option<String>,
}

/// A bug fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BugFix {
    /// The first issue the commit fixes (`#N`), else its pull request
    /// (`#N`), else its abbreviated commit id.
    pub issue_ref: String,
    /// The commit description.
    pub description: String,
}

/// A breaking change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakingChange {
    /// The commit description.
    pub title: String,
    /// The `BREAKING CHANGE:` footer, else the first paragraph of the body.
    pub description: Option<String>,
    /// How to migrate, when anyone said.
    pub migration: Option<String>,
}

/// A deprecated item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprecation {
    /// What is deprecated.
    pub item: String,
    /// The version that removes it, when known.
    pub timeline: Option<Version>,
    /// What to use instead.
    pub replacement: Option<String>,
}

/// A security fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityFix {
    /// The CVE id, when the fix has one.
    pub cve: Option<String>,
    /// The severity, when known.
    pub severity: Option<Severity>,
    /// What was fixed.
    pub description: Option<String>,
}

/// The severity of a vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// Reads a severity from the first word of `text`, in any case;
    /// `moderate` is read as medium.
    pub fn parse(text: &str) -> Option<Severity> {
        let word = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| !w.is_empty())?
            .to_ascii_lowercase();
        match word.as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            _ => None,
        }
    }
}

/// A known issue of the release, hand-written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    /// What goes wrong.
    pub issue: String,
    /// How to avoid it.
    #[serde(default)]
    pub workaround: Option<String>,
}

/// Where a release was built from and who signed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The commit the release was built from.
    pub commit: Option<String>,
    /// The build's id.
    pub build_id: Option<String>,
    /// Who signed the release.
    pub signed_by: Option<String>,
}

/// Something the notes of a release are missing, traced to its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotesProblem {
    /// What is missing.
    pub kind: NotesProblemKind,
    /// The full id of the commit the entry comes from.
    pub commit: String,
    /// The entry: the breaking change's or fix's title, the CVE id or the
    /// deprecated item.
    pub title: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The kinds of [`NotesProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotesProblemKind {
    /// A breaking change says nowhere how to migrate.
    BreakingWithoutMigration,
    /// A security fix names no CVE id.
    SecurityWithoutCve,
    /// A security fix has no (valid) severity.
    SecurityWithoutSeverity,
    /// A deprecation names no removal version.
    DeprecationWithoutRemovalVersion,
}

impl NotesProblemKind {
    /// The snake-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            NotesProblemKind::BreakingWithoutMigration => "breaking_without_migration",
            NotesProblemKind::SecurityWithoutCve => "security_without_cve",
            NotesProblemKind::SecurityWithoutSeverity => "security_without_severity",
            NotesProblemKind::DeprecationWithoutRemovalVersion => {
                "deprecation_without_removal_version"
            }
        }
    }
}

/// Builds the notes of a release.
///
/// Hand-written values win over generated ones. Deprecations: the item is
/// the `Deprecated:` footer up to its removal clause (`..., removed in
/// 3.0.0`, `... will be removed in the next major release`), or the
/// commit's description when the footer is only the clause; the timeline
/// is the hand-written one (matched by item, ignoring case and backticks),
/// else a version in the removal clause, else "next major" there resolved
/// to `(major + 1).0.0` of the later of `version` and `previous`; the
/// replacement is the hand-written one, else the commit's `Replacement:`
/// footer (paired by position with its `Deprecated:` footers, or the only
/// one). Hand-written deprecations and CVEs that no commit names are added
/// after the generated ones. Contributors are deduplicated by email
/// (ignoring case), then by name.
pub fn build(input: &NotesInput<'_>) -> ReleaseNotes {
    assemble(input).0
}

/// The problems of a release's notes, in commit order (newest first):
/// breaking changes without migration, security fixes without CVE id or
/// severity, deprecations without removal version. The hand-written file
/// counts: an entry there fills the gap.
pub fn validate(input: &NotesInput<'_>) -> Vec<NotesProblem> {
    assemble(input).1
}

/// [`build`] and [`validate`] in one pass.
pub fn build_checked(input: &NotesInput<'_>) -> (ReleaseNotes, Vec<NotesProblem>) {
    assemble(input)
}

/// What the notes are gathered into while the commits are read.
struct Assembly<'a> {
    input: &'a NotesInput<'a>,
    handwritten: &'a Handwritten,
    /// The version "next major release" counts from.
    base: &'a Version,
    changes: Changes,
    problems: Vec<NotesProblem>,
    used_deprecations: HashSet<&'a str>,
    used_cves: HashSet<&'a str>,
}

fn assemble(input: &NotesInput<'_>) -> (ReleaseNotes, Vec<NotesProblem>) {
    let empty = Handwritten::default();
    let handwritten = input.handwritten.unwrap_or(&empty);
    let base = match input.previous {
        Some(previous) if previous.cmp_precedence(input.version).is_gt() => previous,
        _ => input.version,
    };
    let mut assembly = Assembly {
        input,
        handwritten,
        base,
        changes: Changes::default(),
        problems: Vec::new(),
        used_deprecations: HashSet::new(),
        used_cves: HashSet::new(),
    };
    for release_commit in input.commits {
        let commit = &release_commit.commit;
        if let Some(conventional) = &commit.conventional {
            assembly.read(commit, conventional);
        }
    }
    assembly.add_handwritten_only();
    let Assembly {
        changes, problems, ..
    } = assembly;

    let highlights = if handwritten.highlights.is_empty() {
        summary(&changes).into_iter().collect()
    } else {
        handwritten
            .highlights
            .iter()
            .map(|h| h.trim().to_owned())
            .collect()
    };
    let notes = Notes {
        version: input.version.clone(),
        release_date: input.release_date.clone(),
        release_type: input.release_type.into(),
        highlights,
        changes,
        known_issues: handwritten
            .known_issues
            .iter()
            .map(|k| KnownIssue {
                issue: k.issue.trim().to_owned(),
                workaround: k.workaround.as_deref().map(|w| w.trim().to_owned()),
            })
            .collect(),
        upgrade_notes: handwritten
            .upgrade_notes
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        contributors: contributors(input.commits, &handwritten.contributors),
        provenance: input.provenance.clone(),
    };
    (
        ReleaseNotes {
            release_notes: notes,
        },
        problems,
    )
}

impl<'a> Assembly<'a> {
    fn read(&mut self, commit: &Commit, conventional: &Conventional) {
        let title = strip_pr_ref(&conventional.description).to_owned();
        let body = first_paragraph(conventional.body.as_deref());
        self.read_deprecations(commit, conventional, &title);
        if conventional.security {
            self.read_security(commit, conventional, &title);
        }
        if conventional.breaking {
            self.read_breaking(commit, conventional, &title, body.clone());
        }
        if conventional.security || conventional.breaking {
            return;
        }
        let policy = &self.input.policy;
        let kind = conventional.kind.as_str();
        let listed = |types: &[String]| types.iter().any(|t| t.eq_ignore_ascii_case(kind));
        if listed(&policy.features) {
            let pr_ref = commit.pr_ref.map(|n| format!("#{n}"));
            let hand = self
                .handwritten
                .features
                .iter()
                .find(|(prefix, _)| prefix.matches(&commit.id))
                .map(|(_, o)| o);
            self.changes.features.push(Feature {
                title: hand
                    .and_then(|o| o.title.as_deref())
                    .map(|t| t.trim().to_owned())
                    .unwrap_or(title),
                description: hand
                    .and_then(|o| o.description.as_deref())
                    .map(|d| d.trim().to_owned())
                    .or(body),
                pr_ref,
            });
        } else if listed(&policy.improvements) {
            self.changes.improvements.push(Improvement {
                title,
                description: body,
            });
        } else if listed(&policy.bug_fixes) {
            let issue_ref = commit
                .issue_refs
                .first()
                .or(commit.pr_ref.as_ref())
                .map(|n| format!("#{n}"))
                .unwrap_or_else(|| commit.short_id().to_owned());
            self.changes.bug_fixes.push(BugFix {
                issue_ref,
                description: title,
            });
        }
    }

    fn read_deprecations(&mut self, commit: &Commit, conventional: &Conventional, title: &str) {
        let replacements: Vec<&str> = footer_values(conventional, "Replacement").collect();
        let deprecated: Vec<&str> = footer_values(conventional, "Deprecated").collect();
        for (i, text) in deprecated.iter().enumerate() {
            let (item, removal) = split_deprecation(text);
            // `Deprecated: removed in 3.0.0` names the item in the header.
            let item = if item.is_empty() {
                item_from_title(title)
            } else {
                item
            };
            let key = item_key(&item);
            let hand = self
                .handwritten
                .deprecations
                .iter()
                .find(|(k, _)| item_key(k) == key);
            if let Some((k, _)) = hand {
                self.used_deprecations.insert(k.as_str());
            }
            let hand = hand.map(|(_, h)| h);
            let timeline = hand
                .map(|h| h.timeline.clone())
                .or_else(|| removal.and_then(Timeline::find_in))
                .map(|t| t.resolve(self.base));
            let replacement = hand
                .and_then(|h| h.replacement.as_deref())
                .or_else(|| match replacements.as_slice() {
                    [only] => Some(*only),
                    all => all.get(i).copied(),
                })
                .map(|r| r.trim().to_owned());
            if timeline.is_none() {
                self.problem(
                    NotesProblemKind::DeprecationWithoutRemovalVersion,
                    commit,
                    &item,
                    format!(
                        "deprecation of {} names no removal version: say \
                         `removed in X.Y.Z` or `removed in the next major release`, or \
                         give a `deprecations` entry in the hand-written notes",
                        quote(&item)
                    ),
                );
            }
            self.changes.deprecations.push(Deprecation {
                item,
                timeline,
                replacement,
            });
        }
    }

    fn read_security(&mut self, commit: &Commit, conventional: &Conventional, title: &str) {
        let footer = footer_values(conventional, "Severity").next();
        let footer_severity = footer.and_then(Severity::parse);
        let invalid = footer.filter(|_| footer_severity.is_none());
        if conventional.cves.is_empty() {
            self.problem(
                NotesProblemKind::SecurityWithoutCve,
                commit,
                title,
                format!("security fix {} names no cve id", quote(title)),
            );
            if footer_severity.is_none() {
                self.severity_problem(commit, title, invalid, false);
            }
            self.changes.security.push(SecurityFix {
                cve: None,
                severity: footer_severity,
                description: Some(title.to_owned()),
            });
            return;
        }
        for cve in &conventional.cves {
            let hand = self.handwritten.security.get_key_value(&CveId(cve.clone()));
            if let Some((key, _)) = hand {
                self.used_cves.insert(key.0.as_str());
            }
            let hand = hand.map(|(_, h)| h);
            let severity = hand.map(|h| h.severity).or(footer_severity);
            let description = hand
                .and_then(|h| h.description.as_deref())
                .map(|d| d.trim().to_owned())
                .unwrap_or_else(|| title.to_owned());
            let existing = self
                .changes
                .security
                .iter_mut()
                .find(|s| s.cve.as_deref() == Some(cve.as_str()));
            if let Some(existing) = existing {
                // An older commit about the same CVE: it may know the severity.
                if existing.severity.is_none() && severity.is_some() {
                    existing.severity = severity;
                    self.problems.retain(|p| {
                        !(p.kind == NotesProblemKind::SecurityWithoutSeverity && p.title == *cve)
                    });
                }
                continue;
            }
            if severity.is_none() {
                self.severity_problem(commit, cve, invalid, true);
            }
            self.changes.security.push(SecurityFix {
                cve: Some(cve.clone()),
                severity,
                description: Some(description),
            });
        }
    }

    fn severity_problem(&mut self, commit: &Commit, title: &str, invalid: Option<&str>, cve: bool) {
        let what = if cve {
            quote(title)
        } else {
            format!("security fix {}", quote(title))
        };
        let message = match invalid {
            Some(value) => format!(
                "{what} has severity {}, which is not one of critical, high, medium, low",
                quote(value.trim())
            ),
            None if cve => format!(
                "{what} has no severity: add a `Severity:` footer or a `security` entry to \
                 the hand-written notes"
            ),
            None => format!("{what} has no severity: add a `Severity:` footer"),
        };
        self.problem(
            NotesProblemKind::SecurityWithoutSeverity,
            commit,
            title,
            message,
        );
    }

    fn read_breaking(
        &mut self,
        commit: &Commit,
        conventional: &Conventional,
        title: &str,
        body: Option<String>,
    ) {
        let hand = self.handwritten.migrations.iter().find(|(key, _)| {
            let key = key.trim();
            (handwritten::is_commit_prefix(key) && CommitPrefix(key.to_owned()).matches(&commit.id))
                || key.eq_ignore_ascii_case(title.trim())
        });
        let breaking_text = conventional
            .breaking_description
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let migration = hand
            .map(|(_, steps)| steps.as_str())
            .or_else(|| footer_values(conventional, "Migration").next())
            .or_else(|| breaking_text.filter(|t| explains_migration(t)))
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty());
        if migration.is_none() {
            self.problem(
                NotesProblemKind::BreakingWithoutMigration,
                commit,
                title,
                format!(
                    "breaking change {} has no migration: add a `Migration:` footer or \
                     a `migrations` entry to the hand-written notes",
                    quote(title)
                ),
            );
        }
        self.changes.breaking_changes.push(BreakingChange {
            title: title.to_owned(),
            description: breaking_text.map(collapse).or(body),
            migration,
        });
    }

    /// Adds the hand-written deprecations and CVEs no commit named.
    fn add_handwritten_only(&mut self) {
        for (item, hand) in &self.handwritten.deprecations {
            if self.used_deprecations.contains(item.as_str()) {
                continue;
            }
            self.changes.deprecations.push(Deprecation {
                item: item.trim().to_owned(),
                timeline: Some(hand.timeline.resolve(self.base)),
                replacement: hand.replacement.as_deref().map(|r| r.trim().to_owned()),
            });
        }
        for (cve, hand) in &self.handwritten.security {
            if self.used_cves.contains(cve.0.as_str()) {
                continue;
            }
            self.changes.security.push(SecurityFix {
                cve: Some(cve.0.clone()),
                severity: Some(hand.severity),
                description: hand.description.as_deref().map(|d| d.trim().to_owned()),
            });
        }
    }

    fn problem(&mut self, kind: NotesProblemKind, commit: &Commit, title: &str, message: String) {
        self.problems.push(NotesProblem {
            kind,
            commit: commit.id.clone(),
            title: title.to_owned(),
            message,
        });
    }
}

/// Text quoted for a message: in backticks, or in double quotes when it
/// has backticks of its own.
fn quote(text: &str) -> String {
    if text.contains('`') {
        format!("\"{text}\"")
    } else {
        format!("`{text}`")
    }
}

/// The values of the footers with `token`, ignoring case.
fn footer_values<'c>(
    conventional: &'c Conventional,
    token: &'static str,
) -> impl Iterator<Item = &'c str> + 'c {
    conventional
        .footers
        .iter()
        .filter(move |f| f.token.eq_ignore_ascii_case(token))
        .map(|f| f.value.as_str())
}

/// A breaking-change text that tells how to migrate.
fn explains_migration(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("migrat") || lower.contains("instead")
}

/// The description without a trailing `(#N)` pull request reference.
fn strip_pr_ref(text: &str) -> &str {
    let trimmed = text.trim();
    match trimmed
        .strip_suffix(')')
        .and_then(|r| r.rfind("(#").map(|i| (r, i)))
    {
        Some((rest, open)) if rest[open + 2..].parse::<u64>().is_ok() => rest[..open].trim_end(),
        _ => trimmed,
    }
}

/// The first paragraph of a body, its lines joined with spaces.
fn first_paragraph(body: Option<&str>) -> Option<String> {
    let body = body?.trim();
    let paragraph = body.split("\n\n").next().unwrap_or(body);
    Some(collapse(paragraph)).filter(|p| !p.is_empty())
}

/// Text on one line: lines trimmed and joined with spaces.
fn collapse(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a `Deprecated:` footer into the item and its removal clause
/// (from the first word starting `remov`, `dropped`, `deleted`, `until`,
/// `goes away` or `going away`), if any. The item is empty when the
/// footer is only the clause (`Deprecated: removed in 3.0.0`).
fn split_deprecation(text: &str) -> (String, Option<&str>) {
    const MARKERS: [&str; 6] = [
        "remov",
        "dropped",
        "deleted",
        "until",
        "goes away",
        "going away",
    ];
    const FILLERS: [&str; 12] = [
        "and",
        "it",
        "which",
        "is",
        "will",
        "be",
        "to",
        "scheduled",
        "slated",
        "for",
        "that",
        "are",
    ];
    let text = text.trim();
    // ASCII lowercase keeps byte offsets, so `lower`'s are `text`'s.
    let lower = text.to_ascii_lowercase();
    let clause_start = MARKERS
        .iter()
        .filter_map(|marker| {
            lower.match_indices(marker).map(|(at, _)| at).find(|&at| {
                at == 0 || !lower[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
        .min();
    let Some(at) = clause_start else {
        return (collapse(text.trim_end_matches('.')), None);
    };
    let mut item = &text[..at];
    loop {
        let before = item;
        item = item.trim_end_matches(|c: char| c.is_whitespace() || ",;:(-\u{2014}".contains(c));
        if let Some((head, last)) = item.rsplit_once(char::is_whitespace)
            && FILLERS
                .iter()
                .any(|f| last.trim_start_matches('(').eq_ignore_ascii_case(f))
        {
            item = head;
        }
        if item == before {
            break;
        }
    }
    (collapse(item), Some(removal_clause(&text[at..])))
}

/// A removal clause without the sentence's end: a final full stop,
/// comma or semicolon, and the closing parenthesis of a clause that was
/// written in parentheses (`(to be removed in v4.1)`).
fn removal_clause(clause: &str) -> &str {
    let mut clause = clause.trim_end();
    loop {
        let before = clause;
        clause = clause.trim_end_matches(['.', ',', ';']).trim_end();
        if clause.matches(')').count() > clause.matches('(').count() {
            clause = clause.strip_suffix(')').unwrap_or(clause).trim_end();
        }
        if clause == before {
            return clause;
        }
    }
}

/// The deprecated item of a commit whose `Deprecated:` footer is only a
/// removal clause: its description, without a leading "deprecate".
fn item_from_title(title: &str) -> String {
    let title = title.trim();
    let rest = ["deprecates ", "deprecate "].iter().find_map(|word| {
        title
            .get(..word.len())
            .filter(|head| head.eq_ignore_ascii_case(word))
            .map(|_| &title[word.len()..])
    });
    collapse(rest.unwrap_or(title).trim())
}

/// How a deprecated item is matched with a hand-written key: without
/// backticks, trimmed, ignoring case.
fn item_key(item: &str) -> String {
    item.replace('`', "").trim().to_lowercase()
}

/// The generated highlight: `1 breaking change, 3 new features, ...`.
fn summary(changes: &Changes) -> Option<String> {
    let counts = [
        (
            changes.breaking_changes.len(),
            "breaking change",
            "breaking changes",
        ),
        (changes.features.len(), "new feature", "new features"),
        (changes.improvements.len(), "improvement", "improvements"),
        (changes.bug_fixes.len(), "bug fix", "bug fixes"),
        (changes.security.len(), "security fix", "security fixes"),
        (changes.deprecations.len(), "deprecation", "deprecations"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Authors and co-authors, one per email address (ignoring case; the
/// newest name wins), plus the hand-written names, sorted ignoring case,
/// without repeated names.
fn contributors(commits: &[ReleaseCommit], extra: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut names: Vec<String> = Vec::new();
    let people = commits
        .iter()
        .flat_map(|c| std::iter::once(&c.author).chain(&c.co_authors));
    for person in people {
        let name = person.name.trim();
        let email = person.email.trim();
        let key = if email.is_empty() {
            format!("name:{}", name.to_lowercase())
        } else {
            email.to_lowercase()
        };
        let shown = if name.is_empty() { email } else { name };
        if !shown.is_empty() && seen.insert(key) {
            names.push(shown.to_owned());
        }
    }
    names.extend(
        extra
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty()),
    );
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    names
}

//! The versioning operations: where the repository stands, the next
//! version and why, every release's bump, and writing a version into the
//! manifests. Each takes a request and returns a report; none prints.

use std::path::PathBuf;

use serde::Serialize;

pub mod bump;
mod history;
#[cfg(test)]
mod props;

pub use history::{HistoryReport, RangeSummary, ReleaseEntry, history, history_report};

use self::bump::{NextInputs, Reason};
use crate::commit::Commit;
use crate::config::BumpPolicy;
use crate::history::{IgnoredTag, TagScan};
use crate::ledger::Ledger;
use crate::manifest::{self, BumpPlan};
use crate::releases;
use crate::version::{self, Bump, Channel, Version};
pub use crate::workspace::Workspace;
use crate::{Error, Result};

/// A commit in a report, with the bump it calls for.
#[derive(Debug, Clone, Serialize)]
pub struct CommitEntry {
    /// Full commit id.
    pub id: String,
    /// First line of the message.
    pub summary: String,
    /// Conventional type, when the message conforms.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Conventional scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A breaking change.
    pub breaking: bool,
    /// A security fix.
    pub security: bool,
    /// CVE ids named in the message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    /// What this commit bumps.
    pub bump: Bump,
    /// Why.
    #[serde(flatten)]
    pub reason: Reason,
    /// Why the message is not conventional, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonconforming: Option<String>,
}

impl CommitEntry {
    fn new(commit: &Commit, policy: &BumpPolicy) -> Self {
        let decided = policy.classify(commit);
        let conventional = commit.conventional.as_ref();
        CommitEntry {
            id: commit.id.clone(),
            summary: commit.summary.clone(),
            kind: conventional.map(|c| c.kind.clone()),
            scope: conventional.and_then(|c| c.scope.clone()),
            breaking: conventional.is_some_and(|c| c.breaking),
            security: conventional.is_some_and(|c| c.security),
            cves: conventional.map(|c| c.cves.clone()).unwrap_or_default(),
            bump: decided.bump,
            reason: decided.reason,
            nonconforming: commit.nonconforming.clone(),
        }
    }

    /// The abbreviated id for human output.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(10)]
    }
}

/// `version next`: which version comes next.
#[derive(Debug, Clone, Default)]
pub struct NextRequest {
    /// The revision to compute from (default `HEAD`).
    pub rev: Option<String>,
    /// Make a pre-release on this channel.
    pub channel: Option<Channel>,
    /// Build metadata to append.
    pub build: Option<String>,
    /// A bump the release gets at least, and why: a package's release
    /// passed on by a dependency it uses.
    pub at_least: Option<(Bump, String)>,
}

/// The release under way, as `version next` sees it.
#[derive(Debug, Clone, Serialize)]
pub struct InProgress {
    /// Its version.
    pub version: Version,
    /// Its standing (`started`, `a candidate`, `validated`, `published`).
    pub standing: String,
}

/// The next version and the commits that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct NextReport {
    /// The package (or fixed group) it is about, in a monorepo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The commit the computation started from.
    pub revision: String,
    /// The release in effect: the highest release reachable from the
    /// revision that was not withdrawn by a rollback.
    pub current: Option<Version>,
    /// Its tag.
    pub current_tag: Option<String>,
    /// The highest release reachable from the revision, withdrawn or not:
    /// the version the bump counts from.
    pub latest: Option<Version>,
    /// Its tag.
    pub latest_tag: Option<String>,
    /// Releases above `current` that rollbacks withdrew.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<Version>,
    /// The release under way, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<InProgress>,
    /// The open pre-release line continued or finalised, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_prerelease: Option<Version>,
    /// The next version; `None` when nothing calls for a release.
    pub next: Option<Version>,
    /// The tag it would get.
    pub next_tag: Option<String>,
    /// The bump the unreleased commits call for, against `latest`.
    pub bump: Bump,
    /// Whether a release is called for at all.
    pub release_needed: bool,
    /// A security fix is among the changes: release soon.
    pub urgent: bool,
    /// The commits whose bump decided `bump`.
    pub deciding: Vec<CommitEntry>,
    /// Every unreleased commit, newest first.
    pub commits: Vec<CommitEntry>,
    /// How many of them are not Conventional Commits.
    pub nonconforming: usize,
    /// What called for the release besides the package's own commits: a
    /// dependency's release, a linked package's changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<String>,
    /// Things worth knowing: ignored tags, a shallow clone, the first
    /// release.
    pub notes: Vec<String>,
}

/// Computes the next version: the bump the unreleased commits call for
/// from the highest release reached, moved past every version the
/// [release ledger](crate::ledger) says is used up; the release under way
/// when there is one.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a bad revision, a shallow clone without
/// tags, invalid build metadata or a pre-release that would go backwards.
pub fn next(ws: &Workspace, request: &NextRequest) -> Result<NextReport> {
    let rev = request.rev.as_deref().unwrap_or("HEAD");
    if rev == "HEAD" {
        ws.repo.head()?;
    }
    let tip = ws.repo.resolve(rev)?;
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let ledger = Ledger::read_with(ws, &tags)?;
    let mut state = releases::unreleased_with(&ws.repo, tip, &tags, &ledger.cut_points())?;
    let walked = std::mem::take(&mut state.commits);
    let policy = ws.policy();
    let classify = |raws: &[crate::history::RawCommit]| -> Vec<CommitEntry> {
        crate::parallel::map(raws, |raw| CommitEntry::new(&raw.parse(), &policy))
    };
    // A linked package's bump is decided by every member's commits; its
    // own commits are what it reports.
    let deciding_all = match ws.package.as_ref().filter(|u| u.is_linked()) {
        Some(_) => Some(classify(&ws.linked_commits(walked.clone())?)),
        None => None,
    };
    state.commits = ws.own_commits(walked)?;
    let commits: Vec<CommitEntry> = classify(&state.commits);
    let deciding_pool = deciding_all.as_ref().unwrap_or(&commits);
    let latest = state.current.as_ref().map(|t| &t.version);
    let strongest = deciding_pool
        .iter()
        .map(|c| c.bump)
        .max()
        .unwrap_or(Bump::None);
    let mut because = Vec::new();
    if deciding_all.is_some()
        && strongest > commits.iter().map(|c| c.bump).max().unwrap_or(Bump::None)
    {
        because.push(format!(
            "linked group `{}`: its members' changes call for {}",
            ws.package
                .as_ref()
                .and_then(|u| u.linked_with.as_deref())
                .unwrap_or_default(),
            strongest.as_str()
        ));
    }
    let mut bump = if latest.is_none() && !deciding_pool.is_empty() {
        strongest.max(Bump::Patch)
    } else {
        policy.effective(latest, strongest)
    };
    if let Some((floor, why)) = &request.at_least
        && *floor > bump
    {
        bump = *floor;
        because.push(why.clone());
    }
    let tagged = tags.all_versions();
    let initial = first_release(ws)?;
    let under_way = ledger.in_progress();
    // Until it is tagged, the release under way is the next one; once
    // published, it is the latest release and the bump counts from it.
    let under_way_version = under_way
        .filter(|e| e.tag.is_none())
        .map(|e| e.version.clone());
    let claimed = ledger.claimed();
    let mut next = bump::next_version(&NextInputs {
        current: latest,
        open_prerelease: state.open_prerelease.as_ref().map(|t| &t.version),
        tagged: &tagged,
        bump,
        channel: request.channel,
        initial: &initial.version,
        claimed: &claimed,
        in_progress: under_way_version.as_ref(),
    })?;
    if let Some(build) = &request.build {
        next = version::with_build(next, build)?;
    }
    let release_needed = match latest {
        Some(l) => next.cmp_precedence(l).is_gt(),
        None => !deciding_pool.is_empty() || bump > Bump::None,
    };
    let own_ignored: Vec<IgnoredTag> = tags
        .ignored
        .iter()
        .filter(|t| !ws.is_other_units_tag(&t.name))
        .cloned()
        .collect();
    let mut notes = prefix_notes(
        &ws.config.versioning.tag_prefix,
        &TagScan {
            versions: tags.versions.clone(),
            ignored: own_ignored.clone(),
        },
    );
    notes.extend(tag_notes(&own_ignored));
    if latest.is_none() && release_needed {
        notes.push(format!(
            "no release tag yet: the first release is {}",
            initial.why
        ));
    }
    if state.truncated_by_shallow_clone {
        notes.push("the history ends at a shallow clone's boundary before any release: run `git fetch --tags --unshallow` for a complete answer".into());
    }
    if let Some(entry) = under_way {
        notes.push(format!(
            "release {} is under way ({}): `trainyard release status`",
            entry.version,
            entry.standing.as_str()
        ));
    }
    let computed = latest.map(|l| version::bumped(l, bump));
    if let Some(computed) = computed.filter(|c| release_needed && *c != version::release_of(&next))
        && let Some(entry) = ledger.claim(&computed)
    {
        notes.push(format!(
            "{computed} is already {}{}: the next free version is {}",
            entry.standing.as_str(),
            entry
                .tag
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            version::release_of(&next)
        ));
    }
    let (current, current_tag) = in_effect(ws, &ledger, &tags, tip, state.current.as_ref())?;
    let withdrawn = ledger
        .withdrawn()
        .into_iter()
        .filter(|e| {
            latest.is_some_and(|l| e.version.cmp_precedence(l) != std::cmp::Ordering::Greater)
        })
        .filter(|e| {
            current
                .as_ref()
                .is_none_or(|c| e.version.cmp_precedence(c).is_gt())
        })
        .map(|e| e.version.clone())
        .collect();
    let strongest_nonzero = deciding_pool
        .iter()
        .map(|c| c.bump)
        .max()
        .unwrap_or(Bump::None);
    let deciding = deciding_pool
        .iter()
        .filter(|c| strongest_nonzero != Bump::None && c.bump == strongest_nonzero)
        .cloned()
        .collect();
    Ok(NextReport {
        package: ws.package.as_ref().map(|u| u.name.clone()),
        revision: tip.to_string(),
        current,
        current_tag,
        latest_tag: state.current.as_ref().map(|t| t.name.clone()),
        latest: latest.cloned(),
        withdrawn,
        in_progress: under_way.map(|e| InProgress {
            version: e.version.clone(),
            standing: e.standing.as_str().into(),
        }),
        open_prerelease: state.open_prerelease.map(|t| t.version),
        next_tag: release_needed.then(|| ws.tag_name(&next)),
        next: release_needed.then_some(next),
        bump,
        release_needed,
        urgent: commits.iter().any(|c| c.security),
        deciding,
        nonconforming: commits.iter().filter(|c| c.nonconforming.is_some()).count(),
        commits,
        because,
        notes,
    })
}

/// The release in effect from `tip`: the highest release reached that is
/// out (posted, or tagged outside the release workflow) and that no
/// rollback withdrew; `latest` itself unless it was withdrawn or is still
/// between its publication and its post.
fn in_effect(
    ws: &Workspace,
    ledger: &Ledger,
    tags: &TagScan,
    tip: gix::ObjectId,
    latest: Option<&crate::history::VersionTag>,
) -> Result<(Option<Version>, Option<String>)> {
    let Some(latest) = latest else {
        return Ok((None, None));
    };
    let in_effect = |v: &Version| {
        ledger
            .get(v)
            .is_none_or(|e| e.is_out() && e.withdrawn_by.is_none())
    };
    if in_effect(&latest.version) {
        return Ok((Some(latest.version.clone()), Some(latest.name.clone())));
    }
    let cut_points = ledger.cut_points();
    for tag in tags.versions.iter().rev() {
        if !version::is_stable(&tag.version)
            || tag.version.cmp_precedence(&latest.version).is_ge()
            || !in_effect(&tag.version)
        {
            continue;
        }
        let on_line = ws.repo.is_ancestor(tag.id(), tip)?
            || cut_points
                .iter()
                .any(|(id, v)| *v == tag.version && ws.repo.is_ancestor(*id, tip).unwrap_or(false));
        if on_line {
            return Ok((Some(tag.version.clone()), Some(tag.name.clone())));
        }
    }
    Ok((None, None))
}

/// The first release of a repository without release tags, and why.
#[derive(Debug, Clone)]
pub struct FirstRelease {
    /// The version.
    pub version: Version,
    /// The version and where it comes from, as a phrase.
    pub why: String,
}

/// The first release when there is no release tag: the configured initial
/// version, or the highest release version the manifests already carry
/// when that is higher (a version is never written backwards).
///
/// # Errors
///
/// Returns an error when a configured manifest cannot be read.
pub fn first_release(ws: &Workspace) -> Result<FirstRelease> {
    let initial = version::release_of(&ws.config.versioning.initial_version.0);
    let specs = ws.manifests().unwrap_or_default();
    let carried = manifest::read_versions(&ws.root, &specs)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let text = m.version.as_deref()?;
            let v = version::parse(text.trim()).ok()?;
            Some((version::release_of(&v), m.path))
        })
        .max_by(|a, b| a.0.cmp_precedence(&b.0));
    Ok(match carried {
        Some((v, path)) if v.cmp_precedence(&initial).is_gt() => FirstRelease {
            why: format!("{v}, the version {} carries", path.display()),
            version: v,
        },
        _ => FirstRelease {
            why: format!("the initial version {initial} (versioning.initial_version)"),
            version: initial,
        },
    })
}

/// A note when tags under another prefix name a higher version than every
/// tag with the configured one: the prefix is likely the wrong one (a
/// project that dropped its `v` keeps counting from its last `v` tag).
fn prefix_notes(prefix: &str, tags: &TagScan) -> Vec<String> {
    let highest = tags
        .versions
        .iter()
        .map(|t| &t.version)
        .max_by(|a, b| a.cmp_precedence(b));
    let higher = tags
        .ignored
        .iter()
        .filter_map(|t| {
            let (other, version) = t.under_another_prefix()?;
            highest
                .is_none_or(|h| version.cmp_precedence(h).is_gt())
                .then(|| (version, other.to_owned(), t.name.clone()))
        })
        .max_by(|a, b| a.0.cmp_precedence(&b.0));
    let mut notes = match higher {
        Some((_, other, name)) if other != prefix => vec![format!(
            "tag `{name}` names a higher version than any tag with the prefix `{prefix}`: set versioning.tag_prefix to {} if it is a release",
            serde_json::to_string(&other).unwrap_or_default()
        )],
        _ => Vec::new(),
    };
    // The prefix most other tags share, when more tags share it.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (other, _) in tags
        .ignored
        .iter()
        .filter_map(IgnoredTag::under_another_prefix)
    {
        match counts.iter_mut().find(|(p, _)| *p == other) {
            Some((_, n)) => *n += 1,
            None => counts.push((other, 1)),
        }
    }
    if let Some((other, n)) = counts.into_iter().max_by_key(|(_, n)| *n)
        && n > tags.versions.len()
        && other != prefix
    {
        notes.push(format!(
            "{n} tag(s) are `{other}<version>` and {} `{prefix}<version>`: set versioning.tag_prefix to {} if those are the releases",
            tags.versions.len(),
            serde_json::to_string(other).unwrap_or_default()
        ));
    }
    notes
}

fn tag_notes(ignored: &[IgnoredTag]) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut notes: Vec<String> = ignored
        .iter()
        .take(SHOWN)
        .map(|t| format!("tag `{}` ignored: {}", t.name, t.reason))
        .collect();
    if ignored.len() > SHOWN {
        notes.push(format!("{} more tags ignored", ignored.len() - SHOWN));
    }
    notes
}

/// How `version bump` chooses the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BumpTarget {
    /// The next version from the commits, as `version next` computes it.
    Auto,
    /// Force a major, minor or patch bump of the current release.
    Part(Bump),
    /// The next pre-release on a channel.
    Pre(Channel),
    /// Exactly this version.
    Set(Version),
}

/// `version bump`: write a version into the manifests.
#[derive(Debug, Clone)]
pub struct BumpRequest {
    /// How to choose the version.
    pub target: BumpTarget,
    /// Edit manifests that have uncommitted changes.
    pub allow_dirty: bool,
}

/// The version chosen and the edits that write it.
#[derive(Debug, Clone, Serialize)]
pub struct BumpReport {
    /// The latest release, if any.
    pub current: Option<Version>,
    /// The version written.
    pub version: Version,
    /// The edits, one per file.
    pub plan: BumpPlan,
}

impl BumpReport {
    /// The evidence document recording this bump.
    pub fn evidence(&self, now: jiff::Timestamp) -> BumpEvidence {
        BumpEvidence {
            version_bump: BumpEvidenceBody {
                version: self.version.to_string(),
                previous: self.current.as_ref().map(ToString::to_string),
                recorded_at: now.to_string(),
                files: self
                    .plan
                    .edits
                    .iter()
                    .map(|e| e.path.display().to_string())
                    .collect(),
                diff_sha256: crate::evidence::sha256_hex(self.plan.unified_diff().as_bytes()),
            },
        }
    }
}

/// The `version_bump` evidence document.
#[derive(Debug, Clone, Serialize)]
pub struct BumpEvidence {
    /// The document's single top-level key.
    pub version_bump: BumpEvidenceBody,
}

/// What a `version_bump` document records.
#[derive(Debug, Clone, Serialize)]
pub struct BumpEvidenceBody {
    /// The version written.
    pub version: String,
    /// The release it follows.
    pub previous: Option<String>,
    /// When it was written (RFC 3339, UTC).
    pub recorded_at: String,
    /// The files changed.
    pub files: Vec<String>,
    /// SHA-256 of the unified diff applied.
    pub diff_sha256: String,
}

/// Chooses the version and computes the manifest edits; writes nothing.
///
/// # Errors
///
/// As [`next`], and when a manifest is missing or malformed.
pub fn plan_bump(ws: &Workspace, request: &BumpRequest) -> Result<BumpReport> {
    let auto = next(ws, &next_request_for(request))?;
    plan_bump_after(ws, request, auto, |specs, version| {
        manifest::plan_bump(&ws.root, specs, version)
    })
}

/// The `version next` request a bump's version is chosen from.
pub fn next_request_for(request: &BumpRequest) -> NextRequest {
    NextRequest {
        channel: match request.target {
            BumpTarget::Pre(channel) => Some(channel),
            _ => None,
        },
        ..NextRequest::default()
    }
}

/// As [`plan_bump`], from a `version next` answer already computed and
/// with the edits planned by `plan_files` (a package's bump also rewrites
/// its dependents' requirements).
///
/// # Errors
///
/// As [`plan_bump`].
pub fn plan_bump_after(
    ws: &Workspace,
    request: &BumpRequest,
    auto: NextReport,
    plan_files: impl FnOnce(&[manifest::ManifestSpec], &Version) -> Result<BumpPlan>,
) -> Result<BumpReport> {
    let version = match &request.target {
        BumpTarget::Auto | BumpTarget::Pre(_) => auto.next.clone().ok_or_else(|| {
            Error::input(format!(
                "nothing to release: no commit since {} calls for a new version; pass --major, --minor, --patch or --set to write one anyway",
                auto.latest_tag.as_deref().unwrap_or("the start of history")
            ))
        })?,
        BumpTarget::Set(v) => v.clone(),
        BumpTarget::Part(part) => match &auto.latest {
            Some(latest) => crate::version::next_free(
                version::bumped(latest, *part),
                *part,
                &Ledger::read(ws)?.claimed(),
            ),
            None => first_release(ws)?.version,
        },
    };
    if let (BumpTarget::Set(v), Some(latest)) = (&request.target, &auto.latest)
        && v.cmp_precedence(latest).is_lt()
    {
        return Err(Error::input(format!(
            "version {v} sorts before the latest release {latest}: a version never goes backwards"
        )));
    }
    let specs = ws.manifests()?;
    if specs.is_empty() {
        return Err(Error::input(format!(
            "no manifests to write the version into: none found at {} and none configured under versioning.manifests",
            ws.root.display()
        )));
    }
    refuse_backwards(ws, &specs, &version)?;
    let plan = plan_files(&specs, &version)?;
    if !request.allow_dirty {
        refuse_dirty(ws, &plan)?;
    }
    Ok(BumpReport {
        current: auto.latest,
        version,
        plan,
    })
}

/// Refuses a plan that would write over uncommitted changes.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the files with uncommitted changes.
pub fn refuse_dirty(ws: &Workspace, plan: &BumpPlan) -> Result<()> {
    let dirty = crate::git_cli::uncommitted(&ws.root, &plan.paths())?;
    if dirty.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = dirty.iter().map(|p| p.display().to_string()).collect();
    Err(Error::input(format!(
        "uncommitted changes in {}: commit or stash them first, or pass --allow-dirty",
        names.join(", ")
    )))
}

/// Refuses to write `version` into a manifest that carries a higher one:
/// a manifest's version never goes backwards.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the manifest.
pub fn refuse_backwards(
    ws: &Workspace,
    specs: &[manifest::ManifestSpec],
    version: &Version,
) -> Result<()> {
    for found in manifest::read_versions(&ws.root, specs)? {
        let Some(text) = found.version.as_deref() else {
            continue;
        };
        let Ok(carried) = version::parse(text.trim()) else {
            continue;
        };
        if carried.cmp_precedence(version).is_gt() {
            return Err(Error::input(format!(
                "{} ({}) carries {carried}, above {version}: a manifest's version never goes backwards; pass --set {carried} or higher",
                found.path.display(),
                found.key
            )));
        }
    }
    Ok(())
}

/// What [`apply_bump`] did.
#[derive(Debug, Clone)]
pub struct AppliedBump {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The `version_bump` evidence recorded, when anything was written.
    pub evidence: Option<String>,
}

/// Writes a planned bump and records its `version_bump` evidence (none
/// when the plan writes nothing). Take [`Workspace::lock`] around the plan
/// and this.
///
/// # Errors
///
/// Returns an [`Error::Input`] when a file changed since the plan, and the
/// evidence store's errors.
pub fn apply_bump(ws: &Workspace, report: &BumpReport) -> Result<AppliedBump> {
    let files = manifest::apply(&ws.root, &report.plan)?;
    let evidence = record_bump(ws, report)?;
    Ok(AppliedBump { files, evidence })
}

/// Records the `version_bump` evidence of a bump that was written (none
/// when its plan writes nothing), named after the version (and in a
/// package's view, the package).
///
/// # Errors
///
/// The evidence store's errors.
pub fn record_bump(ws: &Workspace, report: &BumpReport) -> Result<Option<String>> {
    if report.plan.is_empty() {
        return Ok(None);
    }
    let name = format!(
        "{}-{}",
        ws.scoped_name(&report.version.to_string()),
        ws.stamp()
    );
    let written =
        ws.evidence_store()
            .write_value_unique("version_bump", &name, &report.evidence(ws.now))?;
    Ok(Some(written.record.path))
}

//! Sign-offs: who approved what, when, on which commit. Recorded as
//! evidence (`signoff` documents), so they are as tamper-evident as the
//! rest of the trail.
//!
//! The final review has two layers, and the spec wants two different
//! people for them: a second-layer sign-off by the person who signed the
//! first layer is refused.

use serde::{Deserialize, Serialize};

use crate::evidence::Lookup;
use crate::version::Version;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What a sign-off approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// RL-06: the security review.
    Security,
    /// RL-08: the release notes.
    Notes,
    /// The two-layer final review of the release.
    Review,
    /// The human approval a major release needs besides G-REL.
    Major,
}

impl Item {
    /// Parses an item name; the checklist ids RL-06 and RL-08 name their
    /// items too.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the accepted items.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "security" | "rl-06" => Ok(Item::Security),
            "notes" | "rl-08" => Ok(Item::Notes),
            "review" => Ok(Item::Review),
            "major" => Ok(Item::Major),
            other => Err(Error::input(format!(
                "unknown sign-off item `{other}`: expected RL-06 (security), RL-08 (notes), review or major"
            ))),
        }
    }

    /// The name used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Item::Security => "security",
            Item::Notes => "notes",
            Item::Review => "review",
            Item::Major => "major",
        }
    }
}

/// One recorded sign-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signoff {
    /// The version approved.
    pub version: String,
    /// What was approved.
    pub item: Item,
    /// The review layer (1 or 2), for `review`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u8>,
    /// Who approved: an email or another identity.
    pub by: String,
    /// In which role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The commit approved: the latest candidate of the version's release
    /// in progress, else the commit HEAD was on.
    pub commit: String,
    /// When (RFC 3339).
    pub signed_at: String,
}

/// The `signoff` evidence document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignoffDocument {
    signoff: Signoff,
}

/// `signoff`: what to record.
#[derive(Debug, Clone)]
pub struct SignoffRequest {
    /// The version.
    pub version: Version,
    /// The item.
    pub item: Item,
    /// The layer, required for `review`.
    pub layer: Option<u8>,
    /// The identity; defaults to git's `user.email`.
    pub by: Option<String>,
    /// The role.
    pub role: Option<String>,
}

/// Records a sign-off.
///
/// # Errors
///
/// Returns an [`Error::Input`] when a review sign-off has no layer 1 or 2,
/// when a layer is given for another item, when nobody can be named (no
/// `--by` and no `user.email`), or when the second layer is signed by the
/// first layer's signer.
pub fn record(ws: &Workspace, request: &SignoffRequest) -> Result<Signoff> {
    match (request.item, request.layer) {
        (Item::Review, Some(1 | 2)) | (Item::Security | Item::Notes | Item::Major, None) => {}
        (Item::Review, _) => {
            return Err(Error::input(
                "a review sign-off needs --layer 1 or --layer 2",
            ));
        }
        (item, Some(_)) => {
            return Err(Error::input(format!(
                "--layer applies to review sign-offs only, not to {}",
                item.as_str()
            )));
        }
    }
    let by = match &request.by {
        Some(by) if !by.trim().is_empty() => by.trim().to_owned(),
        _ => git_identity(ws)?,
    };
    let version = request.version.to_string();
    let commit = approved_commit(ws, &version)?;
    let existing = on_commit(list(ws, &request.version)?, &commit);
    if request.item == Item::Review {
        let other_layer = if request.layer == Some(1) { 2 } else { 1 };
        if let Some(other) = existing.iter().find(|s| {
            s.item == Item::Review && s.layer == Some(other_layer) && same_person(&s.by, &by)
        }) {
            return Err(Error::input(format!(
                "{by} already signed review layer {other_layer} of {version} (at {}): the two review layers need two different people",
                other.signed_at
            )));
        }
    }
    let signoff = Signoff {
        version: version.clone(),
        item: request.item,
        layer: request.layer,
        by,
        role: request.role.clone(),
        commit,
        signed_at: ws.now.to_string(),
    };
    let layer = signoff
        .layer
        .map(|l| format!("-layer{l}"))
        .unwrap_or_default();
    let name = format!("{version}-{}{layer}-{}", request.item.as_str(), ws.stamp());
    let store = ws.evidence_store();
    store.write_value_unique(
        "signoff",
        &name,
        &SignoffDocument {
            signoff: signoff.clone(),
        },
    )?;
    Ok(signoff)
}

/// The commit a sign-off of `version` approves: the latest candidate of
/// its release when one was cut, else `HEAD`.
fn approved_commit(ws: &Workspace, version: &str) -> Result<String> {
    let candidate = crate::release::all(ws)?
        .into_iter()
        .filter(|s| s.version == version && s.step != crate::release::Step::Aborted)
        .find_map(|s| s.candidate().map(|c| c.commit.clone()));
    match candidate {
        Some(commit) => Ok(commit),
        None => Ok(ws.repo.head()?.commit),
    }
}

/// The sign-offs of `signoffs` given on `commit`: a sign-off approves the
/// commit it was given on, and no other (a new candidate needs new ones).
pub fn on_commit(signoffs: Vec<Signoff>, commit: &str) -> Vec<Signoff> {
    signoffs
        .into_iter()
        .filter(|s| s.commit == commit)
        .collect()
}

fn same_person(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn git_identity(ws: &Workspace) -> Result<String> {
    ws.git_email()
        .ok_or_else(|| Error::input("no identity to sign with: pass --by, or set git's user.email"))
}

/// Every sign-off recorded for a version, oldest first.
///
/// # Errors
///
/// Returns an error when the evidence store cannot be read or holds a
/// malformed sign-off, and an [`Error::Input`] naming a sign-off whose
/// bytes no longer match the evidence index (edited by hand).
pub fn list(ws: &Workspace, version: &Version) -> Result<Vec<Signoff>> {
    let store = ws.evidence_store();
    let wanted = version.to_string();
    let mut out = Vec::new();
    for record in store.list(Some("signoff"))? {
        let entry = store.get(&Lookup::Seq(record.seq))?;
        if !entry.intact {
            return Err(store.edited(
                &entry.record,
                "a changed sign-off is never counted; restore the recorded document (`trainyard evidence verify` lists what changed), or sign off again once it is restored",
            ));
        }
        let document: SignoffDocument =
            crate::yaml::parse(&entry.text, std::path::Path::new(&record.path))?;
        if document.signoff.version == wanted {
            out.push(document.signoff);
        }
    }
    Ok(out)
}

/// Whether the two review layers are signed by two different people.
pub fn review_complete(signoffs: &[Signoff]) -> std::result::Result<(String, String), String> {
    let layer = |n: u8| {
        signoffs
            .iter()
            .filter(|s| s.item == Item::Review && s.layer == Some(n))
            .map(|s| s.by.clone())
            .collect::<Vec<_>>()
    };
    let (first, second) = (layer(1), layer(2));
    match (
        first.first(),
        second
            .iter()
            .find(|b| !first.iter().any(|a| same_person(a, b))),
    ) {
        (Some(a), Some(b)) => Ok((a.clone(), b.clone())),
        (None, _) => Err("review layer 1 is not signed".into()),
        (Some(_), None) if second.is_empty() => Err("review layer 2 is not signed".into()),
        (Some(_), None) => Err("review layer 2 is signed by the layer 1 reviewer".into()),
    }
}

/// Whether `item` is signed for the version.
pub fn has(signoffs: &[Signoff], item: Item) -> Option<&Signoff> {
    signoffs.iter().find(|s| s.item == item)
}

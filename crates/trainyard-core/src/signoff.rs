//! Sign-offs: who approved what, when, on which commit. Recorded as
//! evidence (`signoff` documents), so they are as tamper-evident as the
//! rest of the trail.
//!
//! The final review has two layers, and the spec wants two different
//! people for them: a second-layer sign-off by the person who signed the
//! first layer is refused.
//!
//! In team mode (`identity.roles`) a sign-off is signed by its actor's
//! key, as the principal the allowed-signers file gives that key, and is
//! checked each time it is read: its signature, the role it claims (or
//! the one `identity.signoff_roles` requires for its item), and for the
//! review, two principals with two different keys.

use serde::{Deserialize, Serialize};

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
    /// The signer's signature over the rest, in team mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::identity::Signature>,
}

impl Signoff {
    /// The key that signed it, in team mode.
    fn key(&self) -> Option<&str> {
        self.signature.as_ref().map(|s| s.key.as_str())
    }
}

/// The `signoff` evidence document.
impl crate::evidence::Document for Signoff {
    const KIND: &'static str = "signoff";
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
    let team = ws.team()?;
    let version = request.version.to_string();
    let commit = approved_commit(ws, &version)?;
    let mut signoff = Signoff {
        version: version.clone(),
        item: request.item,
        layer: request.layer,
        by: String::new(),
        role: request.role.clone(),
        commit: commit.clone(),
        signed_at: ws.now.to_string(),
        signature: None,
    };
    match &team {
        // The key says who signs.
        Some(team) => {
            let key = ws.signing_key()?;
            signoff.by = team.principal_of(&key, request.by.as_deref())?;
            check_role(ws, team, &signoff, "")?;
            signoff.signature = Some(team.sign_as(&key, signoff.by.clone(), &signoff)?);
        }
        None => {
            signoff.by = match &request.by {
                Some(by) if !by.trim().is_empty() => by.trim().to_owned(),
                _ => git_identity(ws)?,
            };
        }
    }
    let by = &signoff.by;
    let existing = on_commit(list(ws, &request.version)?, &commit);
    if request.item == Item::Review {
        let other_layer = if request.layer == Some(1) { 2 } else { 1 };
        if let Some(other) = existing.iter().find(|s| {
            s.item == Item::Review && s.layer == Some(other_layer) && same_person(&s.by, by)
        }) {
            return Err(Error::input(format!(
                "{by} already signed review layer {other_layer} of {version} (at {}): the two review layers need two different people",
                other.signed_at
            )));
        }
        if let Some(other) = existing.iter().find(|s| {
            s.item == Item::Review
                && s.layer == Some(other_layer)
                && s.key().is_some()
                && s.key() == signoff.key()
        }) {
            return Err(Error::input(format!(
                "review layer {other_layer} of {version} was signed by {} with the same key {}: the two review layers need two different people with two different keys",
                other.by,
                other.key().unwrap_or_default()
            )));
        }
    }
    let layer = signoff
        .layer
        .map(|l| format!("-layer{l}"))
        .unwrap_or_default();
    let name = format!(
        "{}-{}{layer}-{}",
        ws.scoped_name(&version.to_string()),
        request.item.as_str(),
        ws.stamp()
    );
    let store = ws.evidence_store();
    store.record_document(&name, &signoff)?;
    Ok(signoff)
}

/// The commit a sign-off of `version` approves: the latest candidate of
/// its release when one was cut, else `HEAD`.
fn approved_commit(ws: &Workspace, version: &str) -> Result<String> {
    let candidate = crate::states::release::all(ws)?
        .into_iter()
        .filter(|s| s.version == version && s.step != crate::states::release::Step::Aborted)
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
    let team = ws.team()?;
    let store = ws.evidence_store();
    let wanted = version.to_string();
    let mut out = Vec::new();
    // Sign-offs are named after their version, but `1.2.0` is a prefix
    // of `1.2.0-rc.1`'s names too: every one is read and matched exactly.
    for (signoff, record) in store.trusted_documents::<Signoff>(
        "",
        "a changed sign-off is never counted; restore the recorded document (`trainyard evidence verify` lists what changed), or sign off again once it is restored",
    )? {
        // In a package's view, only that package's sign-offs count.
        let own = ws.package.is_none() || record.name.starts_with(&format!("{}-", ws.scoped_name(&wanted)));
        if signoff.version == wanted && own {
            if let Some(team) = &team {
                check(ws, team, &signoff, &record.path)?;
            }
            out.push(signoff);
        }
    }
    Ok(out)
}

/// Checks a recorded sign-off in team mode: signed, by a principal the
/// allowed-signers file lets use the key, who holds the role it needs.
fn check(ws: &Workspace, team: &crate::identity::Team, signoff: &Signoff, at: &str) -> Result<()> {
    let what = format!(
        "the {} sign-off of {} by {} ({at})",
        signoff.item.as_str(),
        signoff.version,
        signoff.by
    );
    let mut unsigned = signoff.clone();
    unsigned.signature = None;
    team.check_signed(
        &unsigned,
        signoff.signature.as_ref(),
        &signoff.by,
        &what,
        "sign off again with a signing key",
    )?;
    check_role(ws, team, signoff, at)
}

/// The role a sign-off claims, and the one `identity.signoff_roles`
/// requires for its item, must be held by its signer.
fn check_role(
    ws: &Workspace,
    team: &crate::identity::Team,
    signoff: &Signoff,
    at: &str,
) -> Result<()> {
    let doc = if at.is_empty() {
        format!(
            "the {} sign-off of {}",
            signoff.item.as_str(),
            signoff.version
        )
    } else {
        format!(
            "the {} sign-off of {} ({at})",
            signoff.item.as_str(),
            signoff.version
        )
    };
    if let Some(required) = ws.config.identity.signoff_roles.get(signoff.item.as_str()) {
        team.require(
            &signoff.by,
            required,
            &format!("{doc} needs the role {required}"),
        )?;
    }
    if let Some(role) = &signoff.role {
        team.require(&signoff.by, role, &format!("{doc}: the role claimed"))?;
    }
    Ok(())
}

/// Whether the two review layers are signed by two different people.
pub fn review_complete(signoffs: &[Signoff]) -> std::result::Result<(String, String), String> {
    let layer = |n: u8| {
        signoffs
            .iter()
            .filter(|s| s.item == Item::Review && s.layer == Some(n))
            .collect::<Vec<_>>()
    };
    let (first, second) = (layer(1), layer(2));
    // Two people, and in team mode two keys: one key under two names is
    // one person.
    let distinct = |a: &Signoff, b: &Signoff| {
        !same_person(&a.by, &b.by) && (a.key().is_none() || a.key() != b.key())
    };
    match (
        first.first(),
        second.iter().find(|b| first.iter().all(|a| distinct(a, b))),
    ) {
        (Some(a), Some(b)) => Ok((a.by.clone(), b.by.clone())),
        (None, _) => Err("review layer 1 is not signed".into()),
        (Some(_), None) if second.is_empty() => Err("review layer 2 is not signed".into()),
        (Some(_), None) => Err("review layer 2 is signed by the layer 1 reviewer".into()),
    }
}

/// Whether `item` is signed for the version.
pub fn has(signoffs: &[Signoff], item: Item) -> Option<&Signoff> {
    signoffs.iter().find(|s| s.item == item)
}

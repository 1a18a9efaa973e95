//! Who decided: roles, their principals and the keys they sign with.
//!
//! With `identity.roles` configured (team mode), every decision trainyard
//! records (an approval or rejection of a sync or rollback plan, a
//! sign-off, a rollback decision, a release start or publication) is
//! signed by its actor with an SSH key ([`sshsig`]), and checked where it
//! is used: the signature, that the allowed-signers file lets the
//! principal use that key ([`signers`]), that the principal holds the
//! role the decision needs, and, with separation of duties, that nobody
//! approves their own plan.
//!
//! Without roles (solo use) decisions are recorded unsigned, as typed,
//! and every command that relies on one says that approvals are
//! unverified.

pub mod signers;
pub mod sshsig;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use signers::AllowedSigners;
pub use sshsig::{Signature, SigningKey};

use crate::{Error, Result};

/// `identity:` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Roles and the principals who hold them, e.g. `Director:
    /// [dana@example.org]`. Any name works: the decision matrix's
    /// Director, Orchestrator and QA Agent, a sync's approver, reviewers.
    /// With at least one role, decisions are signed and verified.
    pub roles: BTreeMap<String, Vec<String>>,
    /// The principals' public keys, in the format of git's
    /// `gpg.ssh.allowedSignersFile`, relative to the repository root
    /// (default: git's `gpg.ssh.allowedSignersFile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_signers: Option<PathBuf>,
    /// The key to sign with: a private key file, a public key whose
    /// private half ssh-agent holds, or a `key::` literal (default:
    /// `TRAINYARD_SIGNING_KEY`, else git's `user.signingkey`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// Nobody approves a plan they made (default: on with roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub separation_of_duties: Option<bool>,
    /// The role each sign-off item needs (`security`, `notes`, `review`,
    /// `major`), e.g. `review: reviewers`; an item not listed needs only
    /// the role its signer claims.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub signoff_roles: BTreeMap<String, String>,
}

impl IdentityConfig {
    /// Checks what the types cannot: sign-off items and the roles they
    /// name.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] starting with the key at fault.
    pub fn validate(&self) -> Result<()> {
        for (item, role) in &self.signoff_roles {
            if !["security", "notes", "review", "major"].contains(&item.as_str()) {
                return Err(Error::input(format!(
                    "identity.signoff_roles.{item}: unknown sign-off item: expected security, notes, review or major"
                )));
            }
            if !self.roles.keys().any(|r| r.eq_ignore_ascii_case(role)) {
                return Err(Error::input(format!(
                    "identity.signoff_roles.{item}: `{role}` is not a role of identity.roles"
                )));
            }
        }
        for (role, members) in &self.roles {
            if members.iter().any(|m| m.trim().is_empty()) {
                return Err(Error::input(format!(
                    "identity.roles.{role}: an empty principal"
                )));
            }
        }
        Ok(())
    }
}

/// The team: its roles, the keys its principals sign with, its rules.
#[derive(Debug, Clone)]
pub struct Team {
    /// Roles to principals (patterns as in the allowed-signers file).
    pub roles: BTreeMap<String, Vec<String>>,
    /// The allowed signers.
    pub signers: AllowedSigners,
    /// Whether a plan's author may not approve it.
    pub separation_of_duties: bool,
}

/// A principal whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The principal.
    pub principal: String,
    /// The key's fingerprint.
    pub key: String,
}

impl Verified {
    /// `ada@example.org (key SHA256:...)`, as the spec's `approved_by`,
    /// `signed_by` and `decided_by` carry it.
    pub fn label(&self) -> String {
        format!("{} (key {})", self.principal, self.key)
    }
}

/// What a command prints once when decisions are not verified.
pub const UNVERIFIED: &str = "approvals are unverified: no roles are configured (identity.roles), so a decision is whoever it says it is";

impl Team {
    /// The team `config` describes for the repository at `home`, as
    /// [`Team::of`] finds it.
    ///
    /// # Errors
    ///
    /// As [`Team::of`].
    pub fn configured(home: &Path, config: &IdentityConfig) -> Result<Option<Team>> {
        if config.roles.is_empty() {
            return Ok(None);
        }
        let path = match &config.allowed_signers {
            Some(path) => home.join(path),
            None => crate::git_cli::run(home, &["config", "gpg.ssh.allowedSignersFile"])
                .ok()
                .map(|p| PathBuf::from(p.trim()))
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| home.join(p))
                .ok_or_else(|| {
                    Error::input(
                        "identity.roles are configured but no allowed-signers file is: set identity.allowed_signers (or git's gpg.ssh.allowedSignersFile)",
                    )
                })?,
        };
        // A file that is not there is a setting to mend, not a failure of
        // the machine.
        if !path.is_file() {
            return Err(Error::input(format!(
                "identity.allowed_signers: {} does not exist: it lists the keys of the principals of identity.roles (git's gpg.ssh.allowedSignersFile format)",
                path.display()
            )));
        }
        Ok(Some(Team {
            roles: config.roles.clone(),
            signers: AllowedSigners::read(&path)?,
            separation_of_duties: config.separation_of_duties.unwrap_or(true),
        }))
    }

    /// Whether `principal` holds `role`: it is listed under that role, or
    /// `role` names the principal itself.
    pub fn holds(&self, principal: &str, role: &str) -> bool {
        if principal == role {
            return true;
        }
        self.roles
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(role))
            .is_some_and(|(_, members)| members.iter().any(|m| m == principal))
    }

    /// Refuses `principal` for `role`, naming who holds it.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when the principal does not hold it.
    pub fn require(&self, principal: &str, role: &str, what: &str) -> Result<()> {
        if self.holds(principal, role) {
            return Ok(());
        }
        let holders = self
            .roles
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(role))
            .map(|(_, members)| members.join(", "));
        Err(Error::input(match holders {
            Some(holders) => {
                format!("{what}: {principal} does not hold the role {role} (held by {holders})")
            }
            None => {
                format!("{what}: {role} is neither a role of identity.roles nor {principal} itself")
            }
        }))
    }

    /// Signs `decision` (its canonical bytes) with `key`, as `by` or as
    /// the one principal the key belongs to (see [`Team::principal_of`]).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when the key may not sign as `by` (or
    /// as anyone), and the errors of signing.
    pub fn sign_with<T: Serialize>(
        &self,
        key: &SigningKey,
        by: Option<&str>,
        decision: &T,
    ) -> Result<Signature> {
        let principal = self.principal_of(key, by)?;
        self.sign_as(key, principal, decision)
    }

    /// The principal `key` signs as: `by` when the allowed-signers file
    /// lets the key sign as it, else the one principal it lists the key
    /// for. A decision that records its maker names them before it is
    /// signed.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when the key may not sign as `by`, or
    /// belongs to nobody or to several principals and `by` is not given.
    pub fn principal_of(&self, key: &SigningKey, by: Option<&str>) -> Result<String> {
        let now = jiff::Timestamp::now();
        let fp = key.fingerprint();
        if let Some(by) = by {
            if !self.signers.allows(by, &key.public, sshsig::NAMESPACE, now) {
                return Err(Error::input(format!(
                    "the signing key {fp} ({}) may not sign as {by}: {} does not list it for that principal",
                    key.path.display(),
                    self.signers.path.display()
                )));
            }
            return Ok(by.to_owned());
        }
        let mut known = self
            .signers
            .principals_of(&key.public, sshsig::NAMESPACE, now);
        match known.len() {
            1 => Ok(known.remove(0)),
            0 => Err(Error::input(format!(
                "the signing key {fp} ({}) belongs to nobody in {}: add it, or sign with another key",
                key.path.display(),
                self.signers.path.display()
            ))),
            _ => Err(Error::input(format!(
                "the signing key {fp} may sign as {}: name one with --by",
                known.join(", ")
            ))),
        }
    }

    /// Signs `decision` with `key` as `principal`, found by
    /// [`Team::principal_of`].
    ///
    /// # Errors
    ///
    /// The errors of signing.
    pub fn sign_as<T: Serialize>(
        &self,
        key: &SigningKey,
        principal: String,
        decision: &T,
    ) -> Result<Signature> {
        let bytes = canonical(decision)?;
        Ok(Signature {
            principal,
            key: key.fingerprint(),
            sshsig: key.sign(&bytes)?,
        })
    }

    /// Checks a recorded decision where it is used: `signature` (the
    /// decision's own, `unsigned` being the decision without it) is
    /// there, is by `named`, the principal the decision names, and holds.
    /// `what` names the decision in errors.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] starting with `what` when the decision
    /// is unsigned, signed by someone else, or its signature fails, and
    /// saying `remedy` for an unsigned one.
    pub fn check_signed<T: Serialize>(
        &self,
        unsigned: &T,
        signature: Option<&Signature>,
        named: &str,
        what: &str,
        remedy: &str,
    ) -> Result<Verified> {
        let Some(signature) = signature else {
            return Err(Error::input(format!(
                "{what} is not signed, and decisions are signed in this repository (identity.roles): {remedy}"
            )));
        };
        if signature.principal != named {
            return Err(Error::input(format!(
                "{what} is signed by {}, not by whom it names",
                signature.principal
            )));
        }
        self.verify(unsigned, signature)
            .map_err(|e| e.within(&format!("{what}: "), ""))
    }

    /// Checks that `signature` is `decision`'s, by a principal the
    /// allowed-signers file lets use that key.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming what does not hold.
    pub fn verify<T: Serialize>(&self, decision: &T, signature: &Signature) -> Result<Verified> {
        let bytes = canonical(decision)?;
        sshsig::verify(&self.signers, &bytes, signature, jiff::Timestamp::now())?;
        Ok(Verified {
            principal: signature.principal.clone(),
            key: signature.key.clone(),
        })
    }
}

/// The key a run in the repository at `home` signs with under `config`,
/// as [`signing_key`] finds it.
///
/// # Errors
///
/// As [`signing_key`].
pub fn signing_key_of(home: &Path, config: &IdentityConfig) -> Result<SigningKey> {
    let spec = std::env::var("TRAINYARD_SIGNING_KEY")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| config.signing_key.clone())
        .or_else(|| {
            crate::git_cli::run(home, &["config", "user.signingkey"])
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .ok_or_else(|| {
            Error::input(
                "decisions are signed in this repository, and there is no key to sign with: set TRAINYARD_SIGNING_KEY, identity.signing_key or git's user.signingkey",
            )
        })?;
    SigningKey::from_spec(&spec)
}

/// The bytes a signature covers: the decision as compact JSON, its
/// fields in their declared order.
fn canonical<T: Serialize>(decision: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(decision)
        .map_err(|e| Error::Internal(format!("cannot serialise a decision: {e}")))
}

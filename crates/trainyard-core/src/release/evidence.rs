//! The spec's `release_evidence`, the release notes and the SLSA
//! provenance written when a release is published.

use serde::{Deserialize, Serialize};

use super::{ReleaseState, state_dir};
use crate::git_cli;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The spec's `release_evidence`, key for key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseEvidence {
    /// `X.Y.Z`.
    pub version: String,
    /// When it was published (RFC 3339).
    pub release_date: String,
    /// Who released it.
    pub released_by: String,
    /// Gates and checklist.
    pub validation: EvidenceValidation,
    /// References to the documents that go with the release.
    pub artifacts: EvidenceArtifacts,
    /// Where it came from.
    pub provenance: EvidenceProvenance,
    /// Where it went.
    pub distribution: EvidenceDistribution,
}

impl crate::evidence::Document for ReleaseEvidence {
    const KIND: &'static str = "release_evidence";
}

/// `release_evidence.validation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceValidation {
    /// The gate figures.
    pub gate_results: GateResults,
    /// Every checklist item's status.
    pub checklist: Vec<ChecklistEntry>,
}

/// `release_evidence.validation.gate_results`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateResults {
    /// Whether the release gate passed (G-MRG for patches).
    pub g_rel_passed: bool,
    /// Percent of checks that passed.
    pub success_rate: f64,
    /// Percent of rework commits in the release.
    pub rework_rate: f64,
    /// Whether every check passed.
    pub all_tasks_passed: bool,
}

/// One `checklist` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChecklistEntry {
    /// `RL-01` ...
    pub check: String,
    /// `pass`, `fail` or `na`.
    pub status: crate::states::release::Status,
}

/// `release_evidence.artifacts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceArtifacts {
    /// The changelog.
    pub changelog_ref: String,
    /// The release notes written for this release.
    pub release_notes_ref: String,
    /// The gate result evidence (`null` when none was recorded).
    pub verification_log_ref: Option<String>,
}

/// `release_evidence.provenance`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceProvenance {
    /// The released commit.
    pub commit: String,
    /// The release branch.
    pub branch: String,
    /// The build.
    pub build_id: String,
    /// The tag's signer, or `unsigned`.
    pub signed_by: String,
}

/// `release_evidence.distribution`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceDistribution {
    /// The channels published to.
    pub channels: Vec<String>,
    /// When the last one was published.
    pub published_at: String,
}

fn build_id(ws: &Workspace) -> String {
    for var in [
        "TRAINYARD_BUILD_ID",
        "GITHUB_RUN_ID",
        "CI_PIPELINE_ID",
        "BUILD_ID",
    ] {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            return value;
        }
    }
    format!("local-{}", ws.stamp())
}

/// Who signed the release: the verified principal of its publication
/// (team mode), else the tag's signer, else `unsigned`.
fn tag_signer(ws: &Workspace, verified: Option<&crate::identity::Verified>) -> String {
    if let Some(verified) = verified {
        return verified.label();
    }
    let signs = ws.config.release.sign_tags
        || git_cli::run(&ws.root, &["config", "--bool", "tag.gpgSign"])
            .map(|s| s.trim() == "true")
            .unwrap_or(false);
    if !signs {
        return "unsigned".into();
    }
    git_cli::run(&ws.root, &["config", "user.signingkey"])
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| super::identity(ws))
}

pub(super) fn write_release_evidence(
    ws: &Workspace,
    state: &ReleaseState,
    commit: &str,
    branch: &str,
    signer: Option<&crate::identity::Verified>,
) -> Result<Vec<String>> {
    let store = ws.evidence_store();
    let version = state.version()?;
    let validation = state
        .validation
        .as_ref()
        .ok_or_else(|| Error::Internal("a published release without validation".into()))?;
    let build_id = build_id(ws);
    let signed_by = tag_signer(ws, signer);
    let published_at = state
        .publication
        .published_at
        .clone()
        .unwrap_or_else(|| ws.now.to_string());
    let stamp = ws.stamp();
    // The notes, with their Provenance section filled in.
    let notes = crate::notes::generate(
        ws,
        &crate::notes::NotesRequest {
            version: Some(version.clone()),
            provenance: crate::notes::Provenance {
                commit: Some(commit.to_owned()),
                build_id: Some(build_id.clone()),
                signed_by: Some(signed_by.clone()),
            },
        },
    )?;
    let notes_markdown = crate::notes::markdown(ws, &notes.notes)?;
    let notes_path = state_dir(ws).join(&state.version).join("RELEASE_NOTES.md");
    crate::fsutil::write_atomic(&notes_path, notes_markdown.as_bytes())?;
    let notes_record = store.write_value_unique(
        "release_notes",
        &format!("{}-{stamp}", ws.scoped_name(&state.version)),
        &notes.notes,
    )?;
    let verification = store
        .list(Some("gate_result"))?
        .into_iter()
        .rev()
        .find(|r| r.name.contains(&validation.commit[..10]))
        .map(|r| r.path);
    let relative =
        |p: &std::path::Path| p.strip_prefix(&ws.home).unwrap_or(p).display().to_string();
    let evidence = ReleaseEvidence {
        version: state.version.clone(),
        release_date: published_at.clone(),
        released_by: signer.map_or_else(|| super::identity(ws), crate::identity::Verified::label),
        validation: EvidenceValidation {
            gate_results: GateResults {
                g_rel_passed: validation.gate_passed,
                success_rate: validation.success_rate,
                rework_rate: validation.rework_rate,
                all_tasks_passed: validation.all_tasks_passed,
            },
            checklist: validation
                .checklist
                .iter()
                .map(|i| ChecklistEntry {
                    check: i.id.clone(),
                    status: i.status,
                })
                .collect(),
        },
        artifacts: EvidenceArtifacts {
            changelog_ref: ws.config.changelog.path.display().to_string(),
            release_notes_ref: relative(&notes_path),
            verification_log_ref: verification,
        },
        provenance: EvidenceProvenance {
            commit: commit.to_owned(),
            branch: branch.to_owned(),
            build_id: build_id.clone(),
            signed_by,
        },
        distribution: EvidenceDistribution {
            channels: state.publication.channels.keys().cloned().collect(),
            published_at: published_at.clone(),
        },
    };
    let evidence_record = store.record_document(
        &format!("{}-{stamp}", ws.scoped_name(&state.version)),
        &evidence,
    )?;
    let repository = git_cli::run(&ws.root, &["config", "--get", "remote.origin.url"])
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| ws.home.display().to_string());
    let statement = crate::provenance::slsa_statement(
        &state.publication.artifacts,
        &crate::provenance::BuildInfo {
            builder_id: format!("trainyard/{}", env!("CARGO_PKG_VERSION")),
            build_type: crate::provenance::BUILD_TYPE.into(),
            version: state.version.clone(),
            tag: ws.tag_name(&version),
            commit: commit.to_owned(),
            repository,
            started_on: state.started_at.parse().unwrap_or(ws.now),
            finished_on: published_at.parse().unwrap_or(ws.now),
            build_id,
            internal_parameters: None,
        },
    );
    let statement_text = serde_json::to_string_pretty(&statement)
        .map_err(|e| Error::Internal(format!("cannot render the provenance statement: {e}")))?;
    let slsa_record = store.write(
        "slsa_provenance",
        &format!("{}-{stamp}", ws.scoped_name(&state.version)),
        &statement_text,
    )?;
    Ok(vec![
        evidence_record.record.path,
        slsa_record.record.path,
        notes_record.record.path,
    ])
}

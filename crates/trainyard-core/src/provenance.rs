//! Build provenance: a SLSA Provenance v1 predicate in an in-toto
//! Statement v1.
//!
//! The spec's release evidence records `provenance: {commit, branch,
//! build_id, signed_by}`; this module says the same in the standard,
//! machine-checkable form (<https://slsa.dev/provenance/v1>,
//! <https://in-toto.io/Statement/v1>): which files ([`Artifact`]s, by
//! SHA-256) were built from which source (the repository at
//! `refs/tags/<tag>`, by commit), by what builder, when.
//!
//! ```json
//! {
//!   "_type": "https://in-toto.io/Statement/v1",
//!   "subject": [{"name": "app.tar.gz", "digest": {"sha256": "…"}}],
//!   "predicateType": "https://slsa.dev/provenance/v1",
//!   "predicate": {
//!     "buildDefinition": {
//!       "buildType": "…",
//!       "externalParameters": {"repository": "…", "ref": "refs/tags/v1.2.0", "version": "1.2.0"},
//!       "resolvedDependencies": [{"uri": "git+https://…@refs/tags/v1.2.0", "digest": {"gitCommit": "…"}}]
//!     },
//!     "runDetails": {
//!       "builder": {"id": "…"},
//!       "metadata": {"invocationId": "…", "startedOn": "…", "finishedOn": "…"}
//!     }
//!   }
//! }
//! ```
//!
//! The types are plain serde structs (no in-toto crate), so a statement
//! can also be read back. The statement is unsigned; sign its file like
//! any other artifact.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::artifacts::Artifact;
use crate::fsutil::write_atomic;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// `predicateType` of SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// The build type trainyard's own release builds record: the build
/// commands of `release.artifacts` run in a worktree of the release tag.
pub const BUILD_TYPE: &str =
    "https://github.com/trainyard/trainyard/blob/main/docs/build-type/release/v1.md";

/// What is known about one release build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildInfo {
    /// The builder's identity (`runDetails.builder.id`), e.g. the CI
    /// workflow's URI or `https://github.com/trainyard/trainyard@v0.1.0`.
    pub builder_id: String,
    /// The build type URI (`buildDefinition.buildType`), e.g.
    /// [`BUILD_TYPE`].
    pub build_type: String,
    /// The released version, e.g. `1.2.0`.
    pub version: String,
    /// The release tag, e.g. `v1.2.0`.
    pub tag: String,
    /// The full commit the tag points to.
    pub commit: String,
    /// The repository URI, e.g. `https://github.com/o/r`.
    pub repository: String,
    /// When the build started.
    pub started_on: jiff::Timestamp,
    /// When the build finished.
    pub finished_on: jiff::Timestamp,
    /// The build's identifier (`runDetails.metadata.invocationId`).
    pub build_id: String,
    /// Parameters the builder chose itself (`internalParameters`), if any.
    pub internal_parameters: Option<serde_json::Value>,
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artifacts the statement is about.
    pub subject: Vec<ResourceDescriptor>,
    /// Always [`PREDICATE_TYPE`] here.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The SLSA provenance.
    pub predicate: Provenance,
}

/// An in-toto ResourceDescriptor: a name or URI and its digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// The artifact's file name (subjects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The resource's URI (dependencies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm: `sha256`, `gitCommit`.
    pub digest: BTreeMap<String, String>,
}

/// The SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built, how, from what.
    pub build_definition: BuildDefinition,
    /// Who built it and when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// The build type URI.
    pub build_type: String,
    /// The parameters under outside control: repository, ref, version.
    pub external_parameters: serde_json::Value,
    /// Parameters the builder chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<serde_json::Value>,
    /// The source the build read: the repository at the tag.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    /// The builder.
    pub builder: Builder,
    /// The invocation.
    pub metadata: BuildMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// The builder's identity URI.
    pub id: String,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The build's identifier.
    pub invocation_id: String,
    /// When it started (RFC 3339).
    pub started_on: jiff::Timestamp,
    /// When it finished (RFC 3339).
    pub finished_on: jiff::Timestamp,
}

/// The provenance of `subjects` built as `build`, as a typed
/// [`Statement`].
pub fn statement(subjects: &[Artifact], build: &BuildInfo) -> Statement {
    let tag_ref = format!("refs/tags/{}", build.tag);
    let mut external = serde_json::Map::new();
    external.insert(
        "repository".to_owned(),
        serde_json::Value::String(build.repository.clone()),
    );
    external.insert("ref".to_owned(), serde_json::Value::String(tag_ref.clone()));
    external.insert(
        "version".to_owned(),
        serde_json::Value::String(build.version.clone()),
    );
    let repository = if build.repository.starts_with("git+") {
        build.repository.clone()
    } else {
        format!("git+{}", build.repository)
    };
    Statement {
        type_: STATEMENT_TYPE.to_owned(),
        subject: subjects
            .iter()
            .map(|a| ResourceDescriptor {
                name: Some(a.name.clone()),
                uri: None,
                digest: BTreeMap::from([("sha256".to_owned(), a.sha256.clone())]),
            })
            .collect(),
        predicate_type: PREDICATE_TYPE.to_owned(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: build.build_type.clone(),
                external_parameters: serde_json::Value::Object(external),
                internal_parameters: build.internal_parameters.clone(),
                resolved_dependencies: vec![ResourceDescriptor {
                    name: None,
                    uri: Some(format!("{repository}@{tag_ref}")),
                    digest: BTreeMap::from([("gitCommit".to_owned(), build.commit.clone())]),
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: build.builder_id.clone(),
                },
                metadata: BuildMetadata {
                    invocation_id: build.build_id.clone(),
                    started_on: build.started_on,
                    finished_on: build.finished_on,
                },
            },
        },
    }
}

/// The provenance of `subjects` built as `build`: an in-toto Statement v1
/// with a SLSA Provenance v1 predicate, as JSON.
pub fn slsa_statement(subjects: &[Artifact], build: &BuildInfo) -> serde_json::Value {
    match serde_json::to_value(statement(subjects, build)) {
        Ok(value) => value,
        // Strings, string-keyed maps and timestamps always serialize.
        Err(e) => unreachable!("a provenance statement always serializes: {e}"),
    }
}

/// Writes a statement as pretty JSON (with a final newline) to `path`,
/// atomically.
///
/// # Errors
///
/// Returns an [`crate::Error::Io`] when the file cannot be written.
pub fn write(path: &Path, statement: &serde_json::Value) -> Result<()> {
    let mut text = match serde_json::to_string_pretty(statement) {
        Ok(text) => text,
        Err(e) => unreachable!("a JSON value always serializes: {e}"),
    };
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn artifact(name: &str, sha256: &str) -> Artifact {
        Artifact {
            name: name.to_owned(),
            path: PathBuf::from("dist").join(name),
            size: 1,
            sha256: sha256.to_owned(),
        }
    }

    fn build() -> BuildInfo {
        BuildInfo {
            builder_id: "https://github.com/trainyard/trainyard@v0.1.0".to_owned(),
            build_type: BUILD_TYPE.to_owned(),
            version: "1.2.0".to_owned(),
            tag: "v1.2.0".to_owned(),
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            repository: "https://github.com/example/app".to_owned(),
            started_on: "2026-04-20T10:00:00Z".parse().expect("time"),
            finished_on: "2026-04-20T10:04:30Z".parse().expect("time"),
            build_id: "release-1.2.0-20260420T100000Z".to_owned(),
            internal_parameters: None,
        }
    }

    fn subjects() -> Vec<Artifact> {
        vec![
            artifact(
                "app-1.2.0-linux-x86_64.tar.gz",
                "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
            ),
            artifact(
                "SHA256SUMS",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ]
    }

    #[test]
    fn slsa_provenance_statement() {
        insta::assert_json_snapshot!(slsa_statement(&subjects(), &build()));
    }

    #[test]
    fn internal_parameters_appear_when_given_and_the_statement_reads_back() {
        let mut info = build();
        info.repository = "git+https://github.com/example/app".to_owned();
        info.internal_parameters = Some(serde_json::json!({"artifacts": ["binaries"]}));
        let value = slsa_statement(&subjects(), &info);
        let definition = &value["predicate"]["buildDefinition"];
        assert_eq!(
            definition["internalParameters"],
            serde_json::json!({"artifacts": ["binaries"]})
        );
        assert_eq!(
            definition["resolvedDependencies"][0]["uri"],
            "git+https://github.com/example/app@refs/tags/v1.2.0"
        );
        let back: Statement = serde_json::from_value(value).expect("read back");
        assert_eq!(back, statement(&subjects(), &info));

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("provenance.intoto.json");
        write(&path, &slsa_statement(&subjects(), &info)).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.ends_with("}\n"));
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(parsed["_type"], STATEMENT_TYPE);
    }
}

//! The evidence chain anchored outside the store, in the repository's git.
//!
//! The index of a [`DirStore`](crate::evidence::DirStore) is hash-chained,
//! but someone who rewrites it consistently (recomputing every hash), or
//! removes its newest records with their documents, leaves a chain that
//! checks out. So after every write the workspace's store anchors its new
//! head in git: the ref [`ANCHOR_REF`] (`refs/trainyard/evidence`) is a
//! chain of commits, each the parent of the next, one per write. Each
//! commit records an [`Anchor`], the head's [`AnchorHead`] (`seq`, `hash`,
//! `recorded_at` and the store's path in the repository) and, in team mode
//! with a signing key, the head's [`Signature`], as JSON: the commit
//! message's last line, and `anchor.json` in its tree.
//!
//! The ref moves by compare-and-swap (`git update-ref REF NEW OLD`), retried
//! on a race, so two runs never lose an anchor. A store outside the
//! repository, or a repository git cannot write to, is not anchored.
//!
//! [`verify`] checks the index against every anchored head: the record at
//! an anchored `seq` must have the anchored `hash`, and must be there at
//! all. With a remote (`--against origin`), it fetches the remote's ref and
//! checks the index against those heads too, and that the local ref still
//! holds the remote's: a local ref rewritten with the index is caught by a
//! copy the forger could not rewrite.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::evidence::{
    AfterWrite, DirStore, EvidenceStore, Problem, ProblemKind, Record, VerifyReport,
};
use crate::git_cli;
use crate::identity::{self, IdentityConfig, Signature, SigningKey, Team};
use crate::{Error, Result};

/// The ref that anchors the evidence chain.
pub const ANCHOR_REF: &str = "refs/trainyard/evidence";

/// The file of an anchor commit's tree that holds the [`Anchor`].
const ANCHOR_FILE: &str = "anchor.json";

/// The identity anchor commits are made with: the signature, not the
/// commit, says who anchored a head.
const IDENTITY: (&str, &str) = ("trainyard", "evidence@trainyard.invalid");

/// How many times an anchor is retried when another run moved the ref.
const CAS_ATTEMPTS: usize = 16;

/// What an anchor commit says about the index after a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorHead {
    /// The head record's sequence number.
    pub seq: u64,
    /// The head record's hash (which covers every earlier record).
    pub hash: String,
    /// When the head record was recorded.
    pub recorded_at: String,
    /// The store's directory relative to the repository root, with `/`.
    pub store: String,
}

/// One anchor: the head, and its signature in team mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The index head after the write.
    pub head: AnchorHead,
    /// The head's signature (over its canonical JSON), when a team is
    /// configured and a signing key was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

/// A team's signer, made once per store.
struct Signer {
    team: Team,
    key: SigningKey,
}

/// Anchors a store's heads in a repository.
#[derive(Clone)]
pub struct Anchorer {
    repo: PathBuf,
    store: String,
    clock: Option<jiff::Timestamp>,
    /// In team mode, the identity settings to find the signer with, at the
    /// first write (a store that is only read never looks for a key).
    identity: Option<Arc<IdentityConfig>>,
    signer: Arc<OnceLock<Option<Signer>>>,
}

impl std::fmt::Debug for Anchorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchorer")
            .field("repo", &self.repo)
            .field("store", &self.store)
            .field("team", &self.identity.is_some())
            .finish()
    }
}

/// The store's directory relative to `repo`, with `/`, or `None` when it
/// is not inside it.
fn store_in_repo(repo: &Path, store: &Path) -> Option<String> {
    let relative = store.strip_prefix(repo).ok()?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Anchorer {
    /// Anchors heads of the store at `store` in the repository at `repo`,
    /// unsigned; `None` when the store is not inside the repository.
    pub fn new(repo: &Path, store: &Path) -> Option<Anchorer> {
        Some(Anchorer {
            store: store_in_repo(repo, store)?,
            repo: repo.to_path_buf(),
            clock: None,
            identity: None,
            signer: Arc::new(OnceLock::new()),
        })
    }

    /// The same anchorer, dating its anchors by the pinned clock `now`.
    pub fn dated(mut self, now: jiff::Timestamp) -> Anchorer {
        self.clock = Some(now);
        self
    }

    /// The same anchorer, signing heads in team mode (roles configured)
    /// when a signing key is available.
    pub fn signing_for(mut self, identity: &IdentityConfig) -> Anchorer {
        if !identity.roles.is_empty() {
            self.identity = Some(Arc::new(identity.clone()));
        }
        self
    }

    /// The team's signer, found once: `None` in solo use, or when the team
    /// or a signing key cannot be found (the head is anchored unsigned).
    fn signer(&self) -> Option<&Signer> {
        self.signer
            .get_or_init(|| {
                let config = self.identity.as_deref()?;
                let team = Team::configured(&self.repo, config).ok()??;
                let key = identity::signing_key_of(&self.repo, config).ok()?;
                Some(Signer { team, key })
            })
            .as_ref()
    }

    /// The store hook that anchors every new head, failures ignored: the
    /// write is recorded already, and `evidence verify` says which records
    /// are not anchored.
    pub fn hook(self) -> AfterWrite {
        AfterWrite(Arc::new(move |head: &Record| {
            let _ = self.anchor(head);
        }))
    }

    /// Anchors `head`: a new commit on [`ANCHOR_REF`], whose parent is the
    /// ref's commit, moved by compare-and-swap. Returns the commit.
    ///
    /// # Errors
    ///
    /// [`Error::Environment`] when git fails, or other runs kept moving
    /// the ref.
    pub fn anchor(&self, head: &Record) -> Result<String> {
        let head = AnchorHead {
            seq: head.seq,
            hash: head.hash.clone(),
            recorded_at: head.recorded_at.clone(),
            store: self.store.clone(),
        };
        let signature = self
            .signer()
            .and_then(|s| s.team.sign_with(&s.key, None, &head).ok());
        let anchor = Anchor { head, signature };
        let json = serde_json::to_string(&anchor)
            .map_err(|e| Error::Internal(format!("cannot encode an evidence anchor: {e}")))?;
        let date = format!(
            "@{} +0000",
            self.clock.unwrap_or_else(jiff::Timestamp::now).as_second()
        );
        let env = [
            ("GIT_AUTHOR_NAME", IDENTITY.0),
            ("GIT_AUTHOR_EMAIL", IDENTITY.1),
            ("GIT_COMMITTER_NAME", IDENTITY.0),
            ("GIT_COMMITTER_EMAIL", IDENTITY.1),
            ("GIT_AUTHOR_DATE", date.as_str()),
            ("GIT_COMMITTER_DATE", date.as_str()),
        ];
        let repo = &self.repo;
        let blob = git_cli::run_input(
            repo,
            &["hash-object", "-w", "--stdin"],
            &env,
            format!("{json}\n").as_bytes(),
        )?;
        let tree = git_cli::run_input(
            repo,
            &["mktree"],
            &env,
            format!("100644 blob {}\t{ANCHOR_FILE}\n", blob.trim()).as_bytes(),
        )?;
        let message = format!("evidence anchor: seq {}\n\n{json}\n", anchor.head.seq);
        let mut last_error = None;
        for _ in 0..CAS_ATTEMPTS {
            let old = local_ref(repo, ANCHOR_REF);
            let mut args = vec!["commit-tree", "--no-gpg-sign", tree.trim(), "-m", &message];
            if let Some(old) = &old {
                args.extend(["-p", old.as_str()]);
            }
            let commit = git_cli::run_env(repo, &args, &env)?;
            let commit = commit.trim();
            let update = [
                "update-ref",
                "-m",
                "trainyard: anchor the evidence head",
                ANCHOR_REF,
                commit,
                old.as_deref().unwrap_or(""),
            ];
            match git_cli::run_env(repo, &update, &env) {
                Ok(_) => return Ok(commit.to_owned()),
                // Another run moved the ref: anchor on top of its commit.
                Err(e) => {
                    last_error = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| {
            Error::environment(format!("cannot move {ANCHOR_REF} in {}", repo.display()))
        }))
    }
}

/// The object id a local ref points to, if it exists.
fn local_ref(repo: &Path, full_ref: &str) -> Option<String> {
    git_cli::run(repo, &["rev-parse", "--verify", "--quiet", full_ref])
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// One commit of an anchor ref, read back.
#[derive(Debug, Clone)]
struct Anchored {
    /// The commit.
    commit: String,
    /// Its anchor, or why it is not one.
    anchor: std::result::Result<Anchor, String>,
}

/// Every commit of `full_ref` (first parents, newest first), read with one
/// `git log`; `None` when the ref does not exist.
fn read_anchors(repo: &Path, full_ref: &str) -> Result<Option<Vec<Anchored>>> {
    if local_ref(repo, full_ref).is_none() {
        return Ok(None);
    }
    let out = git_cli::run(
        repo,
        &["log", "--first-parent", "--format=%H%x00%B%x1e", full_ref],
    )?;
    let mut anchors = Vec::new();
    for entry in out.split('\u{1e}') {
        let entry = entry.trim_start_matches('\n');
        let Some((commit, body)) = entry.split_once('\0') else {
            continue;
        };
        let anchor = match body.lines().rev().find(|l| l.starts_with('{')) {
            None => Err("its message holds no anchor".to_owned()),
            Some(line) => serde_json::from_str::<Anchor>(line).map_err(|e| e.to_string()),
        };
        anchors.push(Anchored {
            commit: commit.trim().to_owned(),
            anchor,
        });
    }
    Ok(Some(anchors))
}

/// The remote whose anchor `evidence verify --against` checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteAnchor {
    /// The remote, as given.
    pub remote: String,
    /// The local ref its anchor was fetched into.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The remote anchor's commit.
    pub commit: String,
    /// The remote's last anchored sequence number.
    pub last_seq: Option<u64>,
}

/// How the index compares with its anchors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorReport {
    /// The anchor ref.
    #[serde(rename = "ref")]
    pub reference: String,
    /// True when the local ref anchors heads of this store.
    pub anchored: bool,
    /// The local ref's commit.
    pub commit: Option<String>,
    /// The last anchored sequence number.
    pub last_seq: Option<u64>,
    /// How many distinct heads were checked (local and remote).
    pub heads: usize,
    /// How many of them are signed and verified.
    pub signed: usize,
    /// Records of the index after the last anchored head (anchored by the
    /// next write, not yet checked).
    pub unanchored: u64,
    /// The remote checked against, with `--against`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub against: Option<RemoteAnchor>,
    /// What the check could not cover, one sentence each.
    pub notes: Vec<String>,
}

/// `evidence verify` with anchors: the store's report, with anchor
/// problems among its problems, and how the index compares with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchoredVerify {
    /// The store's checks, and the anchor's problems.
    #[serde(flatten)]
    pub report: VerifyReport,
    /// The anchors.
    pub anchor: AnchorReport,
}

/// The local ref a remote's anchor is fetched into.
pub fn remote_ref_name(remote: &str) -> String {
    let name: String = remote
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("refs/trainyard/remotes/{name}/evidence")
}

/// Fetches `remote`'s anchor into [`remote_ref_name`] and returns its commit.
///
/// # Errors
///
/// [`Error::Environment`] when the remote cannot be reached or the fetch
/// fails; [`Error::Input`] when the remote has no anchor ref.
pub fn fetch(repo: &Path, remote: &str) -> Result<String> {
    let listed = git_cli::run(repo, &["ls-remote", "--refs", remote, ANCHOR_REF]).map_err(|e| {
        Error::environment(format!(
            "cannot read {ANCHOR_REF} from remote {remote}: {e}"
        ))
    })?;
    if !listed.lines().any(|l| {
        l.split_once('\t')
            .is_some_and(|(_, r)| r.trim() == ANCHOR_REF)
    }) {
        return Err(Error::input(format!(
            "remote {remote} has no {ANCHOR_REF}: push it first (`git push {remote} {ANCHOR_REF}`, or publish a release through a git_remote channel)"
        )));
    }
    let local = remote_ref_name(remote);
    git_cli::run(
        repo,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            remote,
            &format!("+{ANCHOR_REF}:{local}"),
        ],
    )?;
    local_ref(repo, &local).ok_or_else(|| {
        Error::environment(format!(
            "fetching {ANCHOR_REF} from {remote} left no {local} in {}",
            repo.display()
        ))
    })
}

/// Index records by sequence number: their line and hash.
type BySeq = HashMap<u64, (usize, String)>;

/// The index's records by sequence number, read leniently (the store's own
/// checks report what does not parse): the first record of each `seq`,
/// with its line; and the highest `seq`.
fn index_by_seq(index: &Path) -> Result<(BySeq, u64)> {
    let bytes = match std::fs::read(index) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("cannot read", index, e)),
    };
    let mut by_seq = HashMap::new();
    let mut last = 0;
    for (i, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
        if let Ok(record) = serde_json::from_str::<Record>(line) {
            last = last.max(record.seq);
            by_seq.entry(record.seq).or_insert((i + 1, record.hash));
        }
    }
    Ok((by_seq, last))
}

/// The first 12 characters of an object id.
fn short(oid: &str) -> &str {
    oid.get(..12).unwrap_or(oid)
}

/// Verifies the workspace's store ([`EvidenceStore::verify`]) and checks
/// its index against the anchor ref, and with `against` against that
/// remote's anchor ref too (fetched first).
///
/// # Errors
///
/// The errors of [`EvidenceStore::verify`] and [`fetch`]; problems with the
/// evidence or its anchors are in the report.
pub fn verify(
    repo: &Path,
    root: &Path,
    identity: &IdentityConfig,
    store: &dyn EvidenceStore,
    against: Option<&str>,
) -> Result<AnchoredVerify> {
    let anchorer = Anchorer::new(repo, root);
    let remote_commit = match (against, &anchorer) {
        (Some(remote), Some(_)) => Some(fetch(repo, remote)?),
        (Some(remote), None) => {
            return Err(Error::input(format!(
                "cannot check against {remote}: the evidence store {} is not inside the repository {}, so it is not anchored",
                root.display(),
                repo.display()
            )));
        }
        (None, _) => None,
    };
    let mut report = store.verify()?;
    let mut anchor = AnchorReport {
        reference: ANCHOR_REF.to_owned(),
        anchored: false,
        commit: None,
        last_seq: None,
        heads: 0,
        signed: 0,
        unanchored: 0,
        against: None,
        notes: Vec::new(),
    };
    let Some(anchorer) = anchorer else {
        anchor.notes.push(format!(
            "the evidence chain is not anchored: the store {} is not inside the repository {}",
            root.display(),
            repo.display()
        ));
        return Ok(AnchoredVerify { report, anchor });
    };
    let index = DirStore::new(root).index_path();
    let index_display = index.display().to_string();
    let (by_seq, last_seq) = index_by_seq(&index)?;

    // Every anchor commit, local first, then the remote's.
    let mut sources: Vec<(String, Vec<Anchored>)> = Vec::new();
    let local = read_anchors(repo, ANCHOR_REF)?;
    anchor.commit = local_ref(repo, ANCHOR_REF);
    if let Some(local) = local {
        sources.push((ANCHOR_REF.to_owned(), local));
    }
    if let (Some(remote), Some(commit)) = (against, &remote_commit) {
        let name = remote_ref_name(remote);
        let anchors = read_anchors(repo, &name)?.unwrap_or_default();
        let remote_last = anchors
            .iter()
            .filter_map(|a| a.anchor.as_ref().ok())
            .find(|a| a.head.store == anchorer.store)
            .map(|a| a.head.seq);
        // The local ref must still hold the remote's anchor.
        let held = anchor.commit.as_ref().is_some_and(|local| {
            git_cli::run(repo, &["merge-base", local, commit])
                .is_ok_and(|base| base.trim() == commit.as_str())
        });
        if !held {
            report.problems.push(Problem {
                kind: ProblemKind::AnchorRewritten,
                path: ANCHOR_REF.to_owned(),
                seq: remote_last,
                line: None,
                message: format!(
                    "{ANCHOR_REF} does not contain {remote}'s anchor commit {} (seq {}): the local anchor ref was rewritten or deleted",
                    short(commit),
                    remote_last.map_or("none".to_owned(), |s| s.to_string())
                ),
            });
        }
        anchor.against = Some(RemoteAnchor {
            remote: remote.to_owned(),
            reference: name.clone(),
            commit: commit.clone(),
            last_seq: remote_last,
        });
        sources.push((format!("{remote}'s {ANCHOR_REF}"), anchors));
    }

    let team = match Team::configured(repo, identity) {
        Ok(team) => team,
        Err(e) => {
            anchor
                .notes
                .push(format!("signed heads are not checked: {e}"));
            None
        }
    };
    let mut seen: HashSet<(u64, String)> = HashSet::new();
    let mut signed_seen: HashSet<(u64, String, String)> = HashSet::new();
    let mut unchecked_signatures = 0;
    let mut other_stores = 0;
    for (source, anchors) in &sources {
        for anchored in anchors {
            let found = match &anchored.anchor {
                Ok(found) => found,
                Err(why) => {
                    report.problems.push(Problem {
                        kind: ProblemKind::MalformedAnchor,
                        path: ANCHOR_REF.to_owned(),
                        seq: None,
                        line: None,
                        message: format!(
                            "{source} commit {} is not an evidence anchor: {why}",
                            short(&anchored.commit)
                        ),
                    });
                    continue;
                }
            };
            let head = &found.head;
            if head.store != anchorer.store {
                other_stores += 1;
                continue;
            }
            if source == ANCHOR_REF && anchor.last_seq.is_none() {
                anchor.last_seq = Some(head.seq);
                anchor.anchored = true;
            }
            // Every signature, also of a head anchored twice.
            if let Some(signature) = &found.signature
                && signed_seen.insert((head.seq, head.hash.clone(), signature.sshsig.clone()))
            {
                match &team {
                    None => unchecked_signatures += 1,
                    Some(team) => match team.verify(head, signature) {
                        Ok(_) => anchor.signed += 1,
                        Err(e) => report.problems.push(Problem {
                            kind: ProblemKind::AnchorSignature,
                            path: ANCHOR_REF.to_owned(),
                            seq: Some(head.seq),
                            line: None,
                            message: format!(
                                "{source} commit {} (seq {}): the head's signature by {} does not verify: {e}",
                                short(&anchored.commit),
                                head.seq,
                                signature.principal
                            ),
                        }),
                    },
                }
            }
            if !seen.insert((head.seq, head.hash.clone())) {
                continue;
            }
            anchor.heads += 1;
            match by_seq.get(&head.seq) {
                Some((_, hash)) if *hash == head.hash => {}
                Some((line, hash)) => report.problems.push(Problem {
                    kind: ProblemKind::AnchorMismatch,
                    path: index_display.clone(),
                    seq: Some(head.seq),
                    line: Some(*line),
                    message: format!(
                        "evidence index {index_display} line {line} (seq {}): the record's hash is {hash}, but {source} commit {} anchored {}: the chain was rewritten after it was anchored",
                        head.seq,
                        short(&anchored.commit),
                        head.hash
                    ),
                }),
                None => report.problems.push(Problem {
                    kind: ProblemKind::AnchoredRecordMissing,
                    path: index_display.clone(),
                    seq: Some(head.seq),
                    line: None,
                    message: format!(
                        "evidence index {index_display} has no record seq {} (its last is seq {last_seq}), but {source} commit {} anchored it with hash {}: records were deleted after they were anchored",
                        head.seq,
                        short(&anchored.commit),
                        head.hash
                    ),
                }),
            }
        }
    }
    if !anchor.anchored {
        anchor.notes.push(format!(
            "the evidence chain is not anchored: no {ANCHOR_REF} in {} anchors {}",
            repo.display(),
            anchorer.store
        ));
    }
    if let Some(anchored) = anchor.last_seq {
        anchor.unanchored = last_seq.saturating_sub(anchored);
        if anchor.unanchored > 0 {
            anchor.notes.push(format!(
                "{} record(s) after the last anchored head (seq {anchored}) are not anchored yet",
                anchor.unanchored
            ));
        }
    }
    if unchecked_signatures > 0 {
        anchor.notes.push(format!(
            "{unchecked_signatures} signed head(s) not checked: no identity.roles are configured"
        ));
    }
    if other_stores > 0 {
        anchor.notes.push(format!(
            "{other_stores} anchor(s) of another store directory skipped"
        ));
    }
    report.ok = report.problems.is_empty();
    Ok(AnchoredVerify { report, anchor })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    // The tests build their repositories with git directly.
    #![allow(clippy::disallowed_methods)]

    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn each_write_anchors_its_head_on_a_chain_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let root = dir.path().join(".trainyard");
        let anchorer = Anchorer::new(dir.path(), &root).unwrap();
        let store = DirStore::new(&root).with_after_write(anchorer.clone().hook());
        store.write("release_evidence", "1.0.0", "a: 1\n").unwrap();
        store
            .write_unique("release_evidence", "1.0.0", "a: 2\n")
            .unwrap();
        let records = store.list(None).unwrap();
        let anchors = read_anchors(dir.path(), ANCHOR_REF).unwrap().unwrap();
        let heads: Vec<(u64, String)> = anchors
            .iter()
            .map(|a| {
                let a = a.anchor.as_ref().unwrap();
                assert_eq!(a.head.store, ".trainyard");
                assert!(a.signature.is_none());
                (a.head.seq, a.head.hash.clone())
            })
            .collect();
        assert_eq!(
            heads,
            [(2, records[1].hash.clone()), (1, records[0].hash.clone())]
        );
        // The second commit's parent is the first.
        let parent = git(dir.path(), &["rev-parse", &format!("{ANCHOR_REF}^")]);
        assert_eq!(parent, anchors[1].commit);
        let blob = git(
            dir.path(),
            &["show", &format!("{ANCHOR_REF}:{ANCHOR_FILE}")],
        );
        assert!(blob.contains("\"seq\":2"), "{blob}");
    }

    /// The heads `ANCHOR_REF` anchors, newest first.
    fn anchored_seqs(repo: &Path) -> Vec<u64> {
        read_anchors(repo, ANCHOR_REF)
            .unwrap()
            .unwrap_or_default()
            .iter()
            .map(|a| a.anchor.as_ref().unwrap().head.seq)
            .collect()
    }

    #[test]
    fn a_batch_with_bodies_anchors_its_last_record_once() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let root = dir.path().join(".trainyard");
        let store =
            DirStore::new(&root).with_after_write(Anchorer::new(dir.path(), &root).unwrap().hook());
        let body = store
            .stage_body("sync_changes", &mut |w| {
                w.write_all(b"change list")
                    .map_err(|e| Error::Internal(e.to_string()))
            })
            .unwrap();
        let document = crate::evidence::NewDocument {
            kind: "sync_plan",
            name: "flags",
            unique: false,
            yaml: "a: 1\n",
        };
        store.record(vec![body], &[document]).unwrap();
        assert_eq!(anchored_seqs(dir.path()), [2]);
        // A failed write anchors nothing.
        assert!(store.write("sync_plan", "flags", "a: 2\n").is_err());
        assert_eq!(anchored_seqs(dir.path()), [2]);
    }

    #[test]
    fn runs_anchoring_at_once_lose_no_anchor() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let anchorer = Anchorer::new(dir.path(), &dir.path().join(".trainyard")).unwrap();
        let record = |seq: u64| Record {
            seq,
            kind: "k".into(),
            name: format!("n{seq}"),
            path: format!("evidence/k/n{seq}.yaml"),
            recorded_at: "2027-01-13T10:00:00Z".into(),
            sha256: "0".repeat(64),
            prev: "0".repeat(64),
            hash: format!("{seq:064}"),
        };
        std::thread::scope(|scope| {
            for thread in 0..2u64 {
                let anchorer = anchorer.clone();
                scope.spawn(move || {
                    for i in 0..5 {
                        anchorer.anchor(&record(thread * 10 + i)).unwrap();
                    }
                });
            }
        });
        let mut seqs = anchored_seqs(dir.path());
        seqs.sort_unstable();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    }

    #[test]
    fn a_store_outside_the_repository_is_not_anchored() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Anchorer::new(&dir.path().join("repo"), dir.path()).is_none());
        assert!(Anchorer::new(dir.path(), &dir.path().join("../x")).is_none());
        assert_eq!(
            store_in_repo(dir.path(), &dir.path().join("a/./b")).as_deref(),
            Some("a/b")
        );
    }

    #[test]
    fn remote_names_make_valid_refs() {
        assert_eq!(
            remote_ref_name("origin"),
            "refs/trainyard/remotes/origin/evidence"
        );
        assert_eq!(
            remote_ref_name("/srv/git/x.git"),
            "refs/trainyard/remotes/_srv_git_x_git/evidence"
        );
    }
}

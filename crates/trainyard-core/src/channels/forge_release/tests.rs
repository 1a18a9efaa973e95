//! Tests of the forge release channels against the fake GitHub, GitLab
//! and Gitea: publishing, resuming, refusing, withdrawing.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use fake_services::Server;
use fake_services::gitea::FakeGitea;
use fake_services::github::FakeGithub;
use fake_services::gitlab::FakeGitlab;

use super::*;

const TOKEN: &str = "tok_PlantedReleaseToken0123456789abcdef";
const REPO: &str = "acme/widget";

/// One fake forge, seen the same way whichever it is.
struct Fake {
    forge: ReleaseForge,
    server: Server,
    api_url: String,
    github: Option<FakeGithub>,
    gitlab: Option<FakeGitlab>,
    gitea: Option<FakeGitea>,
}

impl Fake {
    fn start(forge: ReleaseForge) -> Fake {
        let mut fake = Fake {
            forge,
            server: Server::start(|_, _| fake_services::Response::text(500, "unused")),
            api_url: String::new(),
            github: None,
            gitlab: None,
            gitea: None,
        };
        match forge {
            ReleaseForge::Github => {
                let f = FakeGithub::start(REPO, TOKEN);
                (fake.server, fake.api_url) = (f.server.clone(), f.api_url());
                fake.github = Some(f);
            }
            ReleaseForge::Gitlab => {
                let f = FakeGitlab::start(REPO, TOKEN);
                (fake.server, fake.api_url) = (f.server.clone(), f.api_url());
                fake.gitlab = Some(f);
            }
            ReleaseForge::Gitea => {
                let f = FakeGitea::start(REPO, TOKEN);
                (fake.server, fake.api_url) = (f.server.clone(), f.api_url());
                fake.gitea = Some(f);
            }
        }
        fake
    }

    fn channel(&self, on_rollback: OnRollback) -> ForgeReleaseChannel {
        ForgeReleaseChannel {
            name: "forge".to_owned(),
            forge: self.forge,
            api_url: Some(self.api_url.clone()),
            repository: Some(REPO.to_owned()),
            credentials: Some("env:FORGE_TOKEN".to_owned()),
            draft: false,
            make_latest: None,
            on_rollback,
        }
    }

    fn assets(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        match self.forge {
            ReleaseForge::Github => self.github.as_ref().expect("github").assets(tag),
            ReleaseForge::Gitlab => self.gitlab.as_ref().expect("gitlab").assets(tag),
            ReleaseForge::Gitea => self.gitea.as_ref().expect("gitea").assets(tag),
        }
    }

    /// The release of `tag`'s name and whether it is a pre-release.
    fn release(&self, tag: &str) -> Option<(String, bool)> {
        match self.forge {
            ReleaseForge::Github => self
                .github
                .as_ref()
                .expect("github")
                .release(tag)
                .map(|r| (r.name, r.prerelease)),
            ReleaseForge::Gitlab => self
                .gitlab
                .as_ref()
                .expect("gitlab")
                .release(tag)
                .map(|r| (r.name, false)),
            ReleaseForge::Gitea => self
                .gitea
                .as_ref()
                .expect("gitea")
                .release(tag)
                .map(|r| (r.name, r.prerelease)),
        }
    }

    /// The method and path (with query) that upload `file` as the first
    /// release's asset.
    fn upload(&self, file: &str) -> (&'static str, String) {
        match self.forge {
            ReleaseForge::Github => (
                "POST",
                format!("/uploads/repos/{REPO}/releases/1/assets?name={file}"),
            ),
            ReleaseForge::Gitea => (
                "POST",
                format!("/api/v1/repos/{REPO}/releases/1/assets?name={file}"),
            ),
            ReleaseForge::Gitlab => (
                "PUT",
                format!("/api/v4/projects/acme%2Fwidget/packages/generic/widget/1.2.0/{file}"),
            ),
        }
    }

    /// The requests from the `from`th on that write something.
    fn writes_since(&self, from: usize) -> Vec<String> {
        self.server.log()[from..]
            .iter()
            .filter(|l| !l.starts_with("GET "))
            .cloned()
            .collect()
    }
}

fn artifact(dir: &Path, name: &str, content: &[u8]) -> Artifact {
    std::fs::write(dir.join(name), content).expect("write");
    Artifact::from_file(&dir.join(name)).expect("describe")
}

fn release(dir: &Path) -> PublishRelease {
    PublishRelease {
        version: "1.2.0".to_owned(),
        tag: "v1.2.0".to_owned(),
        repo_root: dir.to_path_buf(),
        artifacts_dir: dir.to_path_buf(),
        artifacts: vec![
            artifact(dir, "a.tar.gz", b"archive a"),
            artifact(dir, "b.zip", b"zip b, a little longer"),
            artifact(dir, "SHA256SUMS", b"sums of a and b\n"),
        ],
        token: Some(TOKEN.to_owned()),
        published_at: "2026-04-20T10:00:00Z".parse().expect("timestamp"),
        title: "v1.2.0".to_owned(),
        notes: "## 1.2.0\n\n- a change\n".to_owned(),
        prerelease: false,
        package_dirs: Vec::new(),
        artifacts_pending: false,
    }
}

fn withdrawal(dir: &Path) -> WithdrawRelease {
    WithdrawRelease {
        version: "1.2.0".to_owned(),
        tag: "v1.2.0".to_owned(),
        restored_version: "1.1.0".to_owned(),
        restored_tag: "v1.1.0".to_owned(),
        repo_root: dir.to_path_buf(),
        token: Some(TOKEN.to_owned()),
        package_dirs: Vec::new(),
        reason: "rolled back: INC-7".to_owned(),
    }
}

fn names(assets: &[(String, Vec<u8>)]) -> Vec<&str> {
    assets.iter().map(|(n, _)| n.as_str()).collect()
}

const FORGES: [ReleaseForge; 3] = [
    ReleaseForge::Github,
    ReleaseForge::Gitlab,
    ReleaseForge::Gitea,
];

#[test]
fn a_first_publish_creates_the_release_and_a_second_writes_nothing() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let release = release(dir.path());
        let channel = fake.channel(OnRollback::Demote);

        let items = publish(&channel, &release).expect("first publish");
        assert!(
            items[0].starts_with("release v1.2.0 created: "),
            "{forge:?}: {items:?}"
        );
        assert_eq!(
            items[1..],
            [
                "a.tar.gz uploaded (9 bytes)",
                "b.zip uploaded (22 bytes)",
                "SHA256SUMS uploaded (16 bytes)"
            ],
            "{forge:?}"
        );
        let assets = fake.assets("v1.2.0");
        assert_eq!(
            names(&assets),
            ["a.tar.gz", "b.zip", "SHA256SUMS"],
            "{forge:?}"
        );
        assert_eq!(assets[1].1, b"zip b, a little longer", "{forge:?}");
        assert_eq!(fake.release("v1.2.0"), Some(("v1.2.0".to_owned(), false)));

        let before = fake.server.log().len();
        let items = publish(&channel, &release).expect("second publish");
        assert!(
            items[0].starts_with("release v1.2.0 already there: "),
            "{items:?}"
        );
        assert_eq!(
            items[1..],
            [
                "a.tar.gz already there",
                "b.zip already there",
                "SHA256SUMS already there"
            ]
        );
        assert_eq!(fake.writes_since(before), Vec::<String>::new(), "{forge:?}");
        // Three assets, two a page: the listing was followed to its end.
        assert!(fake.server.log()[before..].len() >= 3, "{forge:?}");
    }
}

#[test]
fn changed_notes_update_the_release() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let mut release = release(dir.path());
        let channel = fake.channel(OnRollback::Demote);
        publish(&channel, &release).expect("first publish");
        release.title = "widget v1.2.0".to_owned();
        let items = publish(&channel, &release).expect("second publish");
        assert!(
            items[0].starts_with("release v1.2.0 updated: "),
            "{items:?}"
        );
        assert_eq!(
            fake.release("v1.2.0").map(|r| r.0),
            Some("widget v1.2.0".to_owned())
        );
    }
}

#[test]
fn a_failing_upload_stops_and_the_next_run_uploads_only_what_is_missing() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let release = release(dir.path());
        let channel = fake.channel(OnRollback::Demote);
        let (method, path) = fake.upload("b.zip");
        fake.server.fail(method, &path, 503, 3);

        let error = publish(&channel, &release).expect_err("b.zip fails three times");
        assert!(
            matches!(error, Error::Environment(_)),
            "{forge:?}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("channel `forge`"), "{message}");
        assert!(message.contains("b.zip was not uploaded"), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
        assert_eq!(names(&fake.assets("v1.2.0")), ["a.tar.gz"], "{forge:?}");
        assert_eq!(fake.server.requests(&format!("{method} {path}")).len(), 3);

        let before = fake.server.log().len();
        let items = publish(&channel, &release).expect("resumed");
        assert_eq!(
            items[1..],
            [
                "a.tar.gz already there",
                "b.zip uploaded (22 bytes)",
                "SHA256SUMS uploaded (16 bytes)"
            ],
            "{forge:?}"
        );
        let writes = fake.writes_since(before);
        assert!(
            writes.iter().all(|w| !w.contains("a.tar.gz")),
            "{forge:?}: {writes:?}"
        );
        assert!(writes.iter().any(|w| w.contains("b.zip")), "{writes:?}");
        assert_eq!(
            names(&fake.assets("v1.2.0")),
            ["a.tar.gz", "b.zip", "SHA256SUMS"]
        );
    }
}

#[test]
fn an_asset_with_other_content_is_refused_before_any_upload() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let mut release = release(dir.path());
        let channel = fake.channel(OnRollback::Demote);
        publish(&channel, &release).expect("first publish");

        // Rebuilt with other bytes, and a new file that comes first.
        release.artifacts[1] = artifact(dir.path(), "b.zip", b"zip b, rebuilt");
        release
            .artifacts
            .insert(0, artifact(dir.path(), "c.txt", b"new"));
        let before = fake.server.log().len();
        let error = publish(&channel, &release).expect_err("b.zip differs");
        assert!(matches!(error, Error::Input(_)), "{forge:?}: {error:?}");
        let message = error.to_string();
        assert!(message.contains("b.zip"), "{message}");
        assert!(message.contains("nothing was uploaded"), "{message}");
        assert_eq!(fake.writes_since(before), Vec::<String>::new(), "{forge:?}");
        assert_eq!(fake.assets("v1.2.0").len(), 3);
    }
}

#[test]
fn an_artifact_changed_since_it_was_built_is_refused_without_asking_the_forge() {
    let fake = Fake::start(ReleaseForge::Github);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let release = release(dir.path());
    std::fs::write(dir.path().join("b.zip"), b"tampered").expect("write");
    let error = publish(&fake.channel(OnRollback::Demote), &release).expect_err("changed");
    assert!(
        error.to_string().contains("changed since it was built"),
        "{error}"
    );
    assert_eq!(fake.server.log(), Vec::<String>::new());
}

#[test]
fn a_refused_token_is_an_input_error_that_does_not_show_it() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let mut release = release(dir.path());
        let wrong = "tok_WrongTokenThatMustNotLeak42";
        release.token = Some(wrong.to_owned());
        let error = publish(&fake.channel(OnRollback::Demote), &release).expect_err("401");
        assert!(matches!(error, Error::Input(_)), "{forge:?}: {error:?}");
        let message = error.to_string();
        assert!(message.contains("refused the token (HTTP 401"), "{message}");
        assert!(message.contains("channel `forge`"), "{message}");
        assert!(
            !message.contains(wrong) && !message.contains(TOKEN),
            "{message}"
        );

        let mut withdrawal = withdrawal(dir.path());
        withdrawal.token = Some(wrong.to_owned());
        let error = withdraw(&fake.channel(OnRollback::Delete), &withdrawal).expect_err("401");
        assert!(matches!(error, Error::Input(_)), "{error:?}");
        assert!(!error.to_string().contains(wrong), "{error}");
    }
}

#[test]
fn missing_credentials_and_plain_http_elsewhere_are_refused() {
    let fake = Fake::start(ReleaseForge::Github);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let mut release = release(dir.path());
    release.token = None;
    let error = publish(&fake.channel(OnRollback::Demote), &release).expect_err("no token");
    assert_eq!(
        error.to_string(),
        "channel `forge`: needs credentials (e.g. credentials: env:GITHUB_TOKEN)"
    );
    release.token = Some(TOKEN.to_owned());
    let mut channel = fake.channel(OnRollback::Demote);
    channel.api_url = Some("http://forge.example.com/api/v3".to_owned());
    let error = publish(&channel, &release).expect_err("plain http");
    assert!(error.to_string().contains("must use https"), "{error}");
    assert_eq!(fake.server.log(), Vec::<String>::new());
}

#[test]
fn demoting_twice_changes_the_release_once_and_deleting_twice_too() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        if let Some(github) = &fake.github {
            github.add_release("v1.1.0", "v1.1.0", true);
        }
        let dir = tempfile::TempDir::new().expect("tempdir");
        publish(&fake.channel(OnRollback::Demote), &release(dir.path())).expect("publish");
        if let Some(github) = &fake.github {
            assert_eq!(github.release("v1.1.0").map(|r| r.latest), Some(false));
        }
        let withdrawal = withdrawal(dir.path());

        let channel = fake.channel(OnRollback::Demote);
        let items = withdraw(&channel, &withdrawal).expect("demote");
        assert_eq!(
            items[0], "release v1.2.0 demoted as `v1.2.0 (withdrawn)`",
            "{forge:?}"
        );
        let (name, prerelease) = fake.release("v1.2.0").expect("still there");
        assert_eq!(name, "v1.2.0 (withdrawn)");
        assert_eq!(prerelease, forge != ReleaseForge::Gitlab, "{forge:?}");
        match forge {
            ReleaseForge::Github => {
                let github = fake.github.as_ref().expect("github");
                assert_eq!(items[1], "release v1.1.0 made the latest again");
                assert_eq!(github.release("v1.1.0").map(|r| r.latest), Some(true));
                assert_eq!(github.release("v1.2.0").map(|r| r.latest), Some(false));
            }
            ReleaseForge::Gitlab => {
                let gitlab = fake.gitlab.as_ref().expect("gitlab");
                let description = gitlab.release("v1.2.0").expect("there").description;
                assert!(
                    description.starts_with("**Withdrawn: rolled back: INC-7**\n\n## 1.2.0"),
                    "{description}"
                );
            }
            ReleaseForge::Gitea => {}
        }

        let before = fake.server.log().len();
        let items = withdraw(&channel, &withdrawal).expect("demote again");
        assert_eq!(items[0], "release v1.2.0 already demoted", "{forge:?}");
        if forge == ReleaseForge::Github {
            assert_eq!(items[1], "release v1.1.0 already the latest");
        }
        assert_eq!(fake.writes_since(before), Vec::<String>::new(), "{forge:?}");

        let channel = fake.channel(OnRollback::Delete);
        let items = withdraw(&channel, &withdrawal).expect("delete");
        assert_eq!(
            items,
            ["release v1.2.0 deleted (the tag stays)"],
            "{forge:?}"
        );
        assert_eq!(fake.release("v1.2.0"), None);
        let items = withdraw(&channel, &withdrawal).expect("delete again");
        assert_eq!(items, ["release v1.2.0 already deleted"]);
    }
}

#[test]
fn plans_say_what_would_happen_and_touch_nothing() {
    for forge in FORGES {
        let fake = Fake::start(forge);
        let dir = tempfile::TempDir::new().expect("tempdir");
        let mut release = release(dir.path());
        release.prerelease = true;
        let mut channel = fake.channel(OnRollback::Demote);
        channel.draft = forge != ReleaseForge::Gitlab;
        let lines = plan(&channel, &release);
        let kind = forge.as_str();
        let flags = match forge {
            ReleaseForge::Gitlab => String::new(),
            _ => " (pre-release, draft)".to_owned(),
        };
        assert_eq!(
            lines[0],
            format!(
                "create or update the {kind} release v1.2.0 of acme/widget at {}{flags}: body of 21 bytes",
                fake.api_url
            )
        );
        let sha = &release.artifacts[0].sha256[..12];
        let target = if forge == ReleaseForge::Gitlab {
            " to the generic package `widget` 1.2.0 and link it"
        } else {
            ""
        };
        assert_eq!(
            lines[1],
            format!("upload a.tar.gz (9 bytes, sha256 {sha}){target} unless already there")
        );
        assert_eq!(lines.len(), 4);

        let deletion = withdraw_plan(&fake.channel(OnRollback::Delete), &withdrawal(dir.path()));
        assert_eq!(
            deletion.automatic[0],
            format!(
                "delete the {kind} release v1.2.0 of acme/widget (the tag stays), unless already deleted"
            )
        );
        assert_eq!(
            deletion.manual[0],
            "the tag v1.2.0 stays: a published tag is never moved or deleted"
        );
        let demote = withdraw_plan(&fake.channel(OnRollback::Demote), &withdrawal(dir.path()));
        assert!(
            demote.automatic[0].contains("v1.2.0 of acme/widget"),
            "{demote:?}"
        );
        assert_eq!(fake.server.log(), Vec::<String>::new(), "{forge:?}");
    }
}

#[test]
fn github_drafts_are_found_by_listing_so_a_rerun_does_not_create_another() {
    let fake = Fake::start(ReleaseForge::Github);
    let dir = tempfile::TempDir::new().expect("tempdir");
    let mut channel = fake.channel(OnRollback::Demote);
    channel.draft = true;
    let release = release(dir.path());
    publish(&channel, &release).expect("first");
    let items = publish(&channel, &release).expect("second");
    assert!(
        items[0].starts_with("release v1.2.0 already there"),
        "{items:?}"
    );
    let github = fake.github.as_ref().expect("github");
    assert_eq!(github.releases().len(), 1);
    assert!(github.releases()[0].draft);
}

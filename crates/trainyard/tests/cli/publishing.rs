//! One release published to a GitHub, a GitLab and a Gitea release, a
//! crate registry, an npm registry and a package index, all fakes on
//! loopback driven by the real `cargo` and `npm`: a failed upload
//! resumed, a second publish that publishes nothing, and a rollback that
//! withdraws the release from each.

use std::path::PathBuf;

use fake_services::crates_registry::FakeCratesRegistry;
use fake_services::gitea::FakeGitea;
use fake_services::github::FakeGithub;
use fake_services::gitlab::FakeGitlab;
use fake_services::npm_registry::FakeNpmRegistry;
use fake_services::pypi::FakePypi;

use crate::support::{Run, TestRepo, sign_everything};

const TOKEN: &str = "s3cret-token";

struct Services {
    github: FakeGithub,
    gitlab: FakeGitlab,
    gitea: FakeGitea,
    crates: FakeCratesRegistry,
    npm: FakeNpmRegistry,
    pypi: FakePypi,
}

impl Services {
    fn start() -> Services {
        Services {
            github: FakeGithub::start("acme/widget", TOKEN),
            gitlab: FakeGitlab::start("acme/widget", TOKEN),
            gitea: FakeGitea::start("acme/widget", TOKEN),
            crates: FakeCratesRegistry::start(TOKEN),
            npm: FakeNpmRegistry::start(TOKEN),
            pypi: FakePypi::start(TOKEN),
        }
    }

    /// Every server's request log, in one order.
    fn logs(&self) -> Vec<Vec<String>> {
        vec![
            self.github.server.log(),
            self.gitlab.server.log(),
            self.gitea.server.log(),
            self.crates.server.log(),
            self.npm.server.log(),
            self.pypi.server.log(),
        ]
    }

    /// The requests that write, on every server.
    fn writes(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .flatten()
            .filter(|line| !line.starts_with("GET ") && !line.starts_with("HEAD "))
            .collect()
    }
}

/// A crate that is also an npm package and a Python project, released
/// as 1.0.0, with a feature since.
struct Fixture {
    repo: TestRepo,
    services: Services,
    cargo_home: PathBuf,
    outputs: PathBuf,
}

fn fixture() -> Fixture {
    let repo = TestRepo::new();
    let services = Services::start();
    let cargo_home = repo.home().join("cargo-home");
    std::fs::create_dir_all(&cargo_home).expect("cargo home");
    std::fs::write(
        cargo_home.join("config.toml"),
        format!(
            "[registries.fake]\nindex = \"{}\"\n",
            services.crates.index()
        ),
    )
    .expect("cargo config");
    let s = &services;
    let config = format!(
        "checklist:\n  security_audit: \"true\"\n\
         release:\n  artifacts:\n    - name: tarball\n      run: tar -czf \"$TRAINYARD_OUT/widget-$TRAINYARD_VERSION.tgz\" README.md\n      paths: [\"$TRAINYARD_OUT/*.tgz\"]\n  channels:\n\
         \x20   - {{ type: github, name: github, api_url: \"{github}\", repository: acme/widget, credentials: \"env:GH_TOKEN\" }}\n\
         \x20   - {{ type: gitlab, name: gitlab, api_url: \"{gitlab}\", repository: acme/widget, credentials: \"env:GL_TOKEN\" }}\n\
         \x20   - {{ type: gitea, name: gitea, api_url: \"{gitea}\", repository: acme/widget, credentials: \"env:GITEA_TOKEN\" }}\n\
         \x20   - {{ type: crates, name: crates, registry: fake, credentials: \"env:CARGO_TOKEN\" }}\n\
         \x20   - {{ type: npm, name: npm, registry: \"{npm}\", credentials: \"env:NPM_TOKEN\" }}\n\
         \x20   - {{ type: pypi, name: pypi, upload_url: \"{upload}\", index_url: \"{index}\", credentials: \"env:PYPI_TOKEN\" }}\n",
        github = s.github.api_url(),
        gitlab = s.gitlab.api_url(),
        gitea = s.gitea.api_url(),
        npm = s.npm.url(),
        upload = s.pypi.upload_url(),
        index = s.pypi.index_url(),
    );
    repo.write("trainyard.yaml", &config);
    repo.write(".gitignore", ".trainyard/\ndist/\ntarget/\n");
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"widget\"\nversion = \"1.0.0\"\nedition = \"2021\"\ndescription = \"a widget\"\nlicense = \"MIT\"\n",
    );
    repo.write("src/lib.rs", "pub fn widget() -> u8 { 1 }\n");
    repo.write(
        "package.json",
        "{\n  \"name\": \"widget\",\n  \"version\": \"1.0.0\",\n  \"license\": \"MIT\"\n}\n",
    );
    repo.write("README.md", "# widget\n");
    repo.commit("feat: first release");
    repo.tag("v1.0.0");
    repo.write("README.md", "# widget\n\nNow with exports.\n");
    repo.commit("feat(export): add csv export (#7)");
    let outputs = repo.home().join("github-output");
    Fixture {
        repo,
        services,
        cargo_home,
        outputs,
    }
}

impl Fixture {
    /// A trainyard command with the services' tokens, cargo's home with
    /// the registry, and GitHub Actions' output file.
    fn run(&self, args: &[&str]) -> Run {
        let rustup_home = std::env::var("RUSTUP_HOME")
            .unwrap_or_else(|_| format!("{}/.rustup", std::env::var("HOME").expect("HOME")));
        let cargo_home = self.cargo_home.display().to_string();
        let target = self.repo.home().join("target").display().to_string();
        let outputs = self.outputs.display().to_string();
        self.repo.run_env(
            args,
            &[
                ("GH_TOKEN", TOKEN),
                ("GL_TOKEN", TOKEN),
                ("GITEA_TOKEN", TOKEN),
                ("CARGO_TOKEN", TOKEN),
                ("NPM_TOKEN", TOKEN),
                ("PYPI_TOKEN", TOKEN),
                ("CARGO_HOME", &cargo_home),
                ("RUSTUP_HOME", &rustup_home),
                ("CARGO_TARGET_DIR", &target),
                ("GITHUB_OUTPUT", &outputs),
            ],
        )
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code(), 0, "{args:?}: {}", run.transcript());
        run
    }

    /// The built Python distributions of `version`, where `pypi` looks.
    fn build_python(&self, version: &str) {
        let dist = self.repo.path().join("dist");
        std::fs::create_dir_all(&dist).expect("dist");
        std::fs::write(dist.join(format!("widget-{version}.tar.gz")), b"sdist").expect("sdist");
        std::fs::write(
            dist.join(format!("widget-{version}-py3-none-any.whl")),
            b"wheel",
        )
        .expect("wheel");
    }
}

fn names(assets: &[(String, Vec<u8>)]) -> Vec<&str> {
    assets.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn a_release_reaches_six_channels_once_resumes_a_failed_upload_and_is_withdrawn() {
    let f = fixture();
    let s = &f.services;
    f.ok(&["release", "start", "minor"]);
    f.ok(&["release", "rc"]);
    sign_everything(&f.repo, "1.1.0");
    f.ok(&["release", "validate"]);
    f.build_python("1.1.0");

    // The dry run lists, per channel, what would be created or uploaded,
    // and asks no server anything.
    let dry = f.run(&["release", "publish", "--dry-run"]);
    assert_eq!(dry.code(), 1, "{}", dry.transcript());
    for line in [
        "publish to github: create or update the github release v1.1.0 of acme/widget",
        "publish to gitlab: create or update the gitlab release v1.1.0 of acme/widget",
        "publish to gitea: create or update the gitea release v1.1.0 of acme/widget",
        "upload each artifact built and SHA256SUMS",
        "publish to crates: cargo publish widget 1.1.0 to registry `fake`",
        "publish to npm: npm publish widget 1.1.0 --tag latest",
        "upload widget-1.1.0.tar.gz (5 bytes, sha256 714772a9f82b)",
    ] {
        assert!(dry.stdout().contains(line), "{line}: {}", dry.stdout());
    }
    assert!(s.logs().iter().all(Vec::is_empty), "{:?}", s.logs());

    // The GitHub release's second asset fails three times: the publish
    // stops there, saying so, with the first asset uploaded.
    s.github.server.fail(
        "POST",
        "/uploads/repos/acme/widget/releases/1/assets?name=SHA256SUMS",
        503,
        3,
    );
    let failed = f.run(&["release", "publish"]);
    assert_eq!(failed.code(), 3, "{}", failed.transcript());
    assert!(
        failed.stderr().contains("channel github") && failed.stderr().contains("SHA256SUMS"),
        "{}",
        failed.stderr()
    );
    assert!(!failed.stderr().contains(TOKEN), "{}", failed.stderr());
    assert_eq!(names(&s.github.assets("v1.1.0")), ["widget-1.1.0.tgz"]);

    // Run again, it uploads only the missing asset, then the rest.
    f.ok(&["release", "publish"]);
    let github = s.github.release("v1.1.0").expect("github release");
    assert_eq!(s.github.releases().len(), 1);
    assert!(!github.prerelease && github.latest, "{github:?}");
    assert!(github.body.contains("csv export"), "{}", github.body);
    assert_eq!(names(&github.assets), ["widget-1.1.0.tgz", "SHA256SUMS"]);
    let uploads = s.github.server.requests("POST /uploads/");
    assert_eq!(
        uploads
            .iter()
            .filter(|r| r.contains("name=widget-1.1.0.tgz"))
            .count(),
        1,
        "{uploads:?}"
    );
    assert_eq!(s.github.server.requests("POST /repos/").len(), 1);
    assert_eq!(
        names(&s.gitlab.assets("v1.1.0")),
        ["widget-1.1.0.tgz", "SHA256SUMS"]
    );
    assert_eq!(
        names(&s.gitea.assets("v1.1.0")),
        ["widget-1.1.0.tgz", "SHA256SUMS"]
    );
    assert_eq!(s.crates.versions("widget"), [("1.1.0".to_owned(), false)]);
    assert_eq!(s.npm.versions("widget"), ["1.1.0"]);
    assert_eq!(s.npm.dist_tags("widget")["latest"], "1.1.0");
    let mut uploaded: Vec<String> = s.pypi.uploads().into_iter().map(|u| u.filename).collect();
    uploaded.sort();
    assert_eq!(
        uploaded,
        ["widget-1.1.0-py3-none-any.whl", "widget-1.1.0.tar.gz"]
    );

    // What was created, for the workflow's next steps.
    let outputs = std::fs::read_to_string(&f.outputs).expect("outputs");
    assert!(outputs.contains("released=true\n"), "{outputs}");
    assert!(
        outputs.contains(&format!(
            "release_url={}/acme/widget/releases/tag/v1.1.0\n",
            s.github.server.url
        )),
        "{outputs}"
    );
    assert!(
        outputs.contains("packages=crates: widget 1.1.0 published"),
        "{outputs}"
    );

    // A third run publishes nothing: the release is done, and no server
    // is written to.
    let writes = s.writes();
    let again = f.run(&["release", "publish"]);
    assert_eq!(again.code(), 2, "{}", again.transcript());
    assert!(
        again
            .stderr()
            .contains("release 1.1.0 is already published"),
        "{}",
        again.stderr()
    );
    assert_eq!(s.writes(), writes);

    // Rolled back, the release is withdrawn from every channel that can
    // withdraw it, and the index's yank is left to a person.
    f.ok(&["release", "post"]);
    let planned = f.run(&["rollback", "plan", "--to", "1.0.0", "--json"]);
    assert_eq!(planned.code(), 1, "{}", planned.transcript());
    let plan = planned.json();
    let channels = plan["plan"]["channels"].as_array().expect("channels");
    let of = |name: &str| {
        channels
            .iter()
            .find(|c| c["channel"] == name)
            .unwrap_or_else(|| panic!("{name}: {plan}"))
            .clone()
    };
    for name in ["github", "gitlab", "gitea", "crates", "npm"] {
        assert!(
            !of(name)["actions"].as_array().expect("actions").is_empty(),
            "{name}: {plan}"
        );
    }
    assert!(of("pypi").get("actions").is_none(), "{plan}");
    assert!(
        of("pypi")["manual"][0]
            .as_str()
            .expect("manual")
            .contains("yank"),
        "{plan}"
    );
    let id = plan["plan_id"].as_str().expect("plan id")[..16].to_owned();
    let started = f.run(&[
        "rollback",
        "start",
        &id,
        "--issue",
        "INC-9",
        "--severity",
        "critical",
        "--impact",
        "widespread",
        "--description",
        "exports corrupt data",
    ]);
    assert!(
        started.code() == 0 || started.code() == 1,
        "{}",
        started.transcript()
    );
    let github = s.github.release("v1.1.0").expect("github release");
    assert!(github.prerelease && !github.latest, "{github:?}");
    assert!(
        s.gitlab
            .release("v1.1.0")
            .expect("gitlab release")
            .name
            .contains("withdrawn")
    );
    assert!(s.gitea.release("v1.1.0").expect("gitea release").prerelease);
    assert_eq!(s.crates.versions("widget"), [("1.1.0".to_owned(), true)]);
    let deprecated = s.npm.deprecated("widget", "1.1.0").expect("deprecated");
    assert!(deprecated.contains("INC-9"), "{deprecated}");
}

//! A fake Gitea (or Forgejo) releases API under `/api/v1`: GitHub's
//! shapes (see [`crate::github`]) with `Authorization: token X`, no
//! `make_latest`, and assets uploaded as a multipart `attachment`.

use std::sync::{Arc, Mutex};

use crate::github::{Flavor, Release, State, start};
use crate::http::Server;

/// A fake Gitea holding one repository's releases.
pub struct FakeGitea {
    /// The server.
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeGitea {
    /// Serves the releases of `repo` (`owner/name`) to requests with
    /// `Authorization: token TOKEN`.
    pub fn start(repo: &str, token: &str) -> FakeGitea {
        let (server, state) = start(Flavor::Gitea, repo, token);
        FakeGitea { server, state }
    }

    /// The API's base URL, `{server}/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.server.url)
    }

    /// The releases, in creation order.
    pub fn releases(&self) -> Vec<Release> {
        crate::github::releases(&self.state)
    }

    /// The release of `tag`.
    pub fn release(&self, tag: &str) -> Option<Release> {
        self.releases().into_iter().find(|r| r.tag == tag)
    }

    /// The assets of the release of `tag`.
    pub fn assets(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        self.release(tag).map(|r| r.assets).unwrap_or_default()
    }
}

//! GitLab's open merge requests, with the `X-Next-Page` pages.

use serde::Deserialize;

use super::PullRequest;
use super::client::{Client, Milestone};
use crate::Result;

impl Client<'_> {
    /// The open merge requests of the project.
    pub(super) fn gitlab(&self) -> Result<Vec<PullRequest>> {
        #[derive(Deserialize)]
        struct Merge {
            iid: u64,
            title: String,
            web_url: String,
            target_branch: String,
            milestone: Option<Milestone>,
        }
        let first = format!(
            "{}/projects/{}/merge_requests?state=opened&per_page=100",
            self.api,
            encode_component(self.config.repository.trim())
        );
        let pages: Vec<Vec<Merge>> = self.pages(&first, |answer| {
            // Offset pagination: the next page's number, empty on the last.
            let next = answer.header("x-next-page").filter(|n| !n.is_empty())?;
            let next: u64 = next.parse().ok()?;
            Some(format!("{first}&page={next}"))
        })?;
        Ok(pages
            .into_iter()
            .flatten()
            .map(|m| PullRequest {
                number: m.iid,
                title: m.title,
                url: m.web_url,
                base: m.target_branch,
                milestone: m.milestone.map(|m| m.title),
            })
            .collect())
    }
}

/// Percent-encodes everything but unreserved characters, so that
/// `group/project` becomes one path segment, `group%2Fproject`.
pub(super) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

//! GitHub's open pull requests, with the `Link` header's pages.

use serde::Deserialize;

use super::PullRequest;
use super::client::{Client, Milestone};
use crate::Result;

impl Client<'_> {
    /// The open pull requests of the repository.
    pub(super) fn github(&self) -> Result<Vec<PullRequest>> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
            title: String,
            html_url: String,
            base: Base,
            milestone: Option<Milestone>,
        }
        #[derive(Deserialize)]
        struct Base {
            #[serde(rename = "ref")]
            name: String,
        }
        let first = format!(
            "{}/repos/{}/pulls?state=open&per_page=100",
            self.api,
            self.config.repository.trim()
        );
        let pages: Vec<Vec<Pull>> = self.pages(&first, |_| None)?;
        Ok(pages
            .into_iter()
            .flatten()
            .map(|p| PullRequest {
                number: p.number,
                title: p.title,
                url: p.html_url,
                base: p.base.name,
                milestone: p.milestone.map(|m| m.title),
            })
            .collect())
    }
}

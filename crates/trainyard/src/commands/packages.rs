//! How a monorepo's packages are shown together: one row per package.

use serde::Serialize;
use trainyard_core::monorepo::plan::PackagesNext;

use super::CliError;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

/// Every package's standing: current, unreleased, next and why, on
/// stdout; the `--package` hint on stderr.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Table<'a>(pub &'a PackagesNext);

impl Render for Table<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let rows: Vec<[String; 5]> = self
            .0
            .packages
            .iter()
            .map(|p| {
                let next = &p.next;
                let why = next.because.first().cloned().or_else(|| {
                    next.deciding
                        .first()
                        .map(|c| format!("{} {}", c.short_id(), c.summary))
                });
                [
                    p.package.clone(),
                    next.current
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    next.commits.len().to_string(),
                    match &next.next {
                        Some(v) => format!("{v} ({})", next.bump.as_str()),
                        None => "-".to_owned(),
                    },
                    why.unwrap_or_default(),
                ]
            })
            .collect();
        let header = ["package", "current", "unreleased", "next", "why"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 5]| {
            let mut text = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 4 {
                    text.push_str(cell);
                } else if i == 2 {
                    text.push_str(&format!("{cell:>w$}  "));
                } else {
                    text.push_str(&format!("{cell:<w$}  "));
                }
            }
            format!("{}\n", text.trim_end())
        };
        let mut text = paint(style::LABEL, line(&header.map(String::from)));
        for row in &rows {
            text.push_str(&line(row));
        }
        out.data(&text)?;
        let due = self
            .0
            .packages
            .iter()
            .filter(|p| p.next.release_needed)
            .count();
        Ok(out.status(&format!(
            "{} package(s), {due} due for a release; `--package NAME` for one\n",
            self.0.packages.len()
        ))?)
    }
}

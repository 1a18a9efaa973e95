//! The one output channel: data to stdout, status to stderr; colour only
//! on a terminal and never with `NO_COLOR` (anstream decides both).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

/// Styles used in human output.
pub mod style {
    use super::*;

    /// Labels in aligned key/value blocks.
    pub const LABEL: Style = Style::new().bold();
    /// Good news: versions, passing checks.
    pub const GOOD: Style = AnsiColor::Green.on_default().bold();
    /// Warnings and pending changes.
    pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
    /// Failures.
    pub const BAD: Style = AnsiColor::Red.on_default().bold();
    /// Secondary text: ids, hints.
    pub const DIM: Style = Style::new().dimmed();
}

/// Writes command output.
pub struct Printer {
    json: bool,
}

impl Printer {
    /// A printer for human output, or JSON with `json`.
    pub fn new(json: bool) -> Self {
        Printer { json }
    }

    /// Whether the user asked for JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Writes a report as one pretty JSON document on stdout.
    pub fn write_json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = anstream::stdout().lock();
        // `From` keeps an I/O error's kind, so a closed pipe stays one.
        serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
        writeln!(out)
    }

    /// Writes data (possibly styled) to stdout.
    pub fn data(&self, text: &str) -> io::Result<()> {
        let mut out = anstream::stdout().lock();
        out.write_all(text.as_bytes())
    }

    /// Stdout, for data written as it comes (a diff of any size).
    pub fn data_writer(&self) -> impl Write {
        anstream::stdout().lock()
    }

    /// Writes status text (possibly styled) to stderr.
    pub fn status(&self, text: &str) -> io::Result<()> {
        let mut err = anstream::stderr().lock();
        err.write_all(text.as_bytes())
    }
}

/// `text` in `style`.
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Aligned `label  value` lines; continuation lines start with an empty
/// label.
#[derive(Default)]
pub struct Block {
    rows: Vec<(String, String)>,
}

impl Block {
    /// Adds a row.
    pub fn row(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.rows.push((label.to_owned(), value.into()));
        self
    }

    /// Renders the rows with labels padded to the widest.
    pub fn render(&self) -> String {
        let width = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.rows {
            let pad = " ".repeat(width - label.len());
            out.push_str(&format!("{}{pad}  {value}\n", paint(style::LABEL, label)));
        }
        out
    }
}

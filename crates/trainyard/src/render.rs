//! One value per report, printed two ways: the human text and the `--json`
//! document come from the same report, so the two cannot disagree.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use crate::error::CliError;
use crate::printer::Printer;

/// A report a command prints, through [`Printer::render`].
///
/// Its `--json` form is its `Serialize`: a core report as it is, or for a
/// binary-side wrapper the one field it serializes (`#[serde(transparent)]`
/// with the human-only context skipped) or the shape it writes by hand.
pub trait Render: Serialize {
    /// Writes the report for people: data on stdout, status on stderr.
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError>;
}

/// Where a report's human form goes: the printer's data and status
/// channels, and no JSON.
pub struct HumanOut<'a> {
    printer: &'a Printer,
}

impl<'a> HumanOut<'a> {
    pub(crate) fn new(printer: &'a Printer) -> Self {
        HumanOut { printer }
    }

    /// Writes data (possibly styled) to stdout.
    pub fn data(&self, text: &str) -> io::Result<()> {
        self.printer.data(text)
    }

    /// Stdout, for data written as it comes (a diff of any size).
    pub fn data_writer(&self) -> impl Write {
        self.printer.data_writer()
    }

    /// Writes status text (possibly styled) to stderr.
    pub fn status(&self, text: &str) -> io::Result<()> {
        self.printer.status(text)
    }

    /// Writes bytes to stdout exactly as they are: the printer's colour
    /// handling has no business with a generated script or page.
    pub fn raw_data(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }
}

/// Serializes bytes as a string, invalid UTF-8 replaced: a generated script
/// or page inside a JSON document.
pub fn lossy_text<S: Serializer>(
    bytes: &impl AsRef<[u8]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(bytes.as_ref()))
}

impl Printer {
    /// Prints a report: its JSON document with `--json`, its human form
    /// otherwise.
    pub fn render<R: Render + ?Sized>(&self, report: &R) -> Result<(), CliError> {
        if self.json() {
            Ok(self.write_json(report)?)
        } else {
            report.human(&HumanOut::new(self))
        }
    }
}

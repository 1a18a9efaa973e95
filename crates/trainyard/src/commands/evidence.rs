//! `trainyard evidence list|show|verify`.

use serde::Serialize;
use trainyard_core::evidence::{Entry, EvidenceStore, Record};
use trainyard_core::evidence_anchor::AnchoredVerify;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::EvidenceCommand;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &EvidenceCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let store = ws.evidence_store();
    match command {
        EvidenceCommand::List { kind } => {
            let records = store.list(kind.as_deref())?;
            ctx.printer.render(&Listed {
                records: &records,
                store: store.as_ref(),
            })?;
            Ok(Exit::Success)
        }
        EvidenceCommand::Show { kind, name } => {
            if !ctx.printer.json()
                && let Some(sha256) = name
                    .strip_suffix(".gz")
                    .filter(|_| trainyard_core::evidence::is_body_name(name))
            {
                // A body is written as it is decompressed, however large;
                // one that was edited is refused before any of it is.
                store.read_body(kind, sha256, &mut ctx.printer.data_writer())?;
                return Ok(Exit::Success);
            }
            let entry = store.show(kind, name)?;
            ctx.printer.render(&Shown(&entry))?;
            Ok(if entry.intact {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        EvidenceCommand::Verify { against } => {
            let checked = trainyard_core::evidence_anchor::verify(
                &ws.home,
                &ws.home.join(&ws.config.evidence.dir),
                &ws.config.identity,
                store.as_ref(),
                against.as_deref(),
            )?;
            ctx.printer.render(&Verified(&checked))?;
            Ok(if checked.report.ok {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
    }
}

/// `evidence list`: one line per document, and how many.
#[derive(Serialize)]
#[serde(transparent)]
struct Listed<'a> {
    records: &'a [Record],
    #[serde(skip)]
    store: &'a dyn EvidenceStore,
}

impl Render for Listed<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for r in self.records {
            text.push_str(&format!(
                "{:>4}  {}  {:<16}  {}  {}\n",
                r.seq,
                r.recorded_at,
                r.kind,
                r.name,
                paint(style::DIM, &r.sha256[..12])
            ));
        }
        out.data(&text)?;
        Ok(out.status(&format!(
            "{} document(s) in {}\n",
            self.records.len(),
            self.store.location()
        ))?)
    }
}

/// `evidence show`: a document's text, and a warning when it was edited.
#[derive(Serialize)]
#[serde(transparent)]
struct Shown<'a>(&'a Entry);

impl Render for Shown<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let entry = self.0;
        out.data(&entry.text)?;
        if !entry.intact {
            out.status(&format!(
                "{} {} no longer matches its recorded sha256\n",
                paint(style::BAD, "warning:"),
                entry.record.path
            ))?;
        }
        Ok(())
    }
}

/// `evidence verify`: the problems found, the anchor checked, the verdict.
#[derive(Serialize)]
#[serde(transparent)]
struct Verified<'a>(&'a AnchoredVerify);

impl Render for Verified<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let (report, anchor) = (&self.0.report, &self.0.anchor);
        let mut text = String::new();
        for problem in &report.problems {
            text.push_str(&format!(
                "{} {}: {}\n",
                paint(style::BAD, problem.kind.as_str()),
                problem.path,
                problem.message
            ));
        }
        out.data(&text)?;
        let mut status = String::new();
        if let Some(seq) = anchor.last_seq {
            let signed = if anchor.signed > 0 {
                format!(", {} signed", anchor.signed)
            } else {
                String::new()
            };
            status.push_str(&format!(
                "anchored: head seq {seq} in {}, {} head(s) checked{signed}\n",
                anchor.reference, anchor.heads
            ));
        }
        if let Some(remote) = &anchor.against {
            status.push_str(&format!(
                "against: {}'s anchor {} (head seq {})\n",
                remote.remote,
                &remote.commit[..remote.commit.len().min(12)],
                remote.last_seq.map_or("none".to_owned(), |s| s.to_string())
            ));
        }
        for note in &anchor.notes {
            status.push_str(&format!("{} {note}\n", paint(style::DIM, "note:")));
        }
        let verdict = if report.ok {
            paint(style::GOOD, "intact:")
        } else {
            paint(style::BAD, "tampered:")
        };
        status.push_str(&format!(
            "{verdict} {} document(s), {} problem(s) in {}\n",
            report.documents,
            report.problems.len(),
            report.store
        ));
        Ok(out.status(&status)?)
    }
}

//! `trainyard evidence list|show|verify`.

use super::{CmdResult, Context, Exit};
use crate::cli::EvidenceCommand;
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, command: &EvidenceCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let store = ws.evidence_store();
    match command {
        EvidenceCommand::List { kind } => {
            let records = store.list(kind.as_deref())?;
            if ctx.printer.json() {
                ctx.printer.write_json(&records)?;
            } else {
                let mut out = String::new();
                for r in &records {
                    out.push_str(&format!(
                        "{:>4}  {}  {:<16}  {}  {}\n",
                        r.seq,
                        r.recorded_at,
                        r.kind,
                        r.name,
                        paint(style::DIM, &r.sha256[..12])
                    ));
                }
                ctx.printer.data(&out)?;
                ctx.printer.status(&format!(
                    "{} document(s) in {}\n",
                    records.len(),
                    store.location()
                ))?;
            }
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
            if ctx.printer.json() {
                ctx.printer.write_json(&entry)?;
            } else {
                ctx.printer.data(&entry.text)?;
                if !entry.intact {
                    ctx.printer.status(&format!(
                        "{} {} no longer matches its recorded sha256\n",
                        paint(style::BAD, "warning:"),
                        entry.record.path
                    ))?;
                }
            }
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
            let (report, anchor) = (&checked.report, &checked.anchor);
            if ctx.printer.json() {
                ctx.printer.write_json(&checked)?;
            } else {
                let mut out = String::new();
                for p in &report.problems {
                    out.push_str(&format!(
                        "{} {}: {}
",
                        paint(style::BAD, p.kind.as_str()),
                        p.path,
                        p.message
                    ));
                }
                ctx.printer.data(&out)?;
                let mut status = String::new();
                if let Some(seq) = anchor.last_seq {
                    let signed = if anchor.signed > 0 {
                        format!(", {} signed", anchor.signed)
                    } else {
                        String::new()
                    };
                    status.push_str(&format!(
                        "anchored: head seq {seq} in {}, {} head(s) checked{signed}
",
                        anchor.reference, anchor.heads
                    ));
                }
                if let Some(remote) = &anchor.against {
                    status.push_str(&format!(
                        "against: {}'s anchor {} (head seq {})
",
                        remote.remote,
                        &remote.commit[..remote.commit.len().min(12)],
                        remote.last_seq.map_or("none".to_owned(), |s| s.to_string())
                    ));
                }
                for note in &anchor.notes {
                    status.push_str(&format!(
                        "{} {note}
",
                        paint(style::DIM, "note:")
                    ));
                }
                let verdict = if report.ok {
                    paint(style::GOOD, "intact:")
                } else {
                    paint(style::BAD, "tampered:")
                };
                status.push_str(&format!(
                    "{verdict} {} document(s), {} problem(s) in {}
",
                    report.documents,
                    report.problems.len(),
                    report.store
                ));
                ctx.printer.status(&status)?;
            }
            Ok(if report.ok {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
    }
}

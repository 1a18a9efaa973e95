//! GitHub Actions: when trainyard runs in a workflow step, a command's key
//! results become step outputs (`$GITHUB_OUTPUT`) and a few lines of the
//! job summary (`$GITHUB_STEP_SUMMARY`), so workflows need not parse human
//! output. Outside Actions (neither variable set) nothing happens.

use std::io::Write;
use std::path::PathBuf;

use crate::printer::{Printer, paint, style};

/// Publishes a command's key `outputs` (name, value) to GitHub Actions.
///
/// `title` names the command in the summary (`version next`). A file that
/// cannot be written is a warning on stderr, never an error: the command
/// itself did its work.
pub fn publish(printer: &Printer, title: &str, outputs: &[(&str, String)]) {
    if let Some(path) = target("GITHUB_OUTPUT") {
        let seed = delimiter_seed();
        let text: String = outputs
            .iter()
            .map(|(name, value)| output_entry(name, value, &seed))
            .collect();
        append_or_warn(printer, "GITHUB_OUTPUT", &path, &text);
    }
    if let Some(path) = target("GITHUB_STEP_SUMMARY") {
        append_or_warn(
            printer,
            "GITHUB_STEP_SUMMARY",
            &path,
            &summary(title, outputs),
        );
    }
}

/// The file a variable names; an empty value counts as unset, as in the
/// runner itself.
fn target(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn append_or_warn(printer: &Printer, var: &str, path: &std::path::Path, text: &str) {
    // Append, never truncate: earlier steps' outputs share the file.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(e) = written {
        let _ = printer.status(&format!(
            "{} cannot write {var} ({}): {e}\n",
            paint(style::WARN, "warning:"),
            path.display()
        ));
    }
}

/// Something no value is likely to contain, different on every run, for
/// multi-line values' heredoc delimiters (GitHub's own toolkit uses a
/// random UUID; the clock and process id serve the same purpose here).
fn delimiter_seed() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}{:x}", std::process::id())
}

/// One output in GitHub's format: `name=value`, or for a multi-line value
/// `name<<DELIMITER`, the lines, and `DELIMITER`.
fn output_entry(name: &str, value: &str, seed: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    let mut delimiter = format!("ghadelimiter_{seed}");
    // The runner rejects a value that contains its delimiter.
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// A heading and a table of the outputs, in GitHub-flavoured Markdown.
fn summary(title: &str, outputs: &[(&str, String)]) -> String {
    let mut out = format!("### trainyard {title}\n\n| output | value |\n| --- | --- |\n");
    for (name, value) in outputs {
        // A table cell is one line and `|` ends it.
        let cell = value
            .trim_end()
            .replace('|', "\\|")
            .replace("\r\n", "<br>")
            .replace('\n', "<br>");
        out.push_str(&format!("| {name} | {cell} |\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_values_are_name_equals_value() {
        assert_eq!(output_entry("version", "1.2.3", "s"), "version=1.2.3\n");
    }

    #[test]
    fn multi_line_values_use_a_delimiter_they_do_not_contain() {
        assert_eq!(
            output_entry("notes", "a\nb", "s"),
            "notes<<ghadelimiter_s\na\nb\nghadelimiter_s\n"
        );
        assert_eq!(
            output_entry("notes", "x\nghadelimiter_s", "s"),
            "notes<<ghadelimiter_s_\nx\nghadelimiter_s\nghadelimiter_s_\n"
        );
    }

    #[test]
    fn the_summary_is_a_table_with_escaped_cells() {
        let text = summary(
            "sync plan docs",
            &[("plan_id", "abc".into()), ("odd", "a|b\nc".into())],
        );
        assert_eq!(
            text,
            "### trainyard sync plan docs\n\n| output | value |\n| --- | --- |\n\
             | plan_id | abc |\n| odd | a\\|b<br>c |\n\n"
        );
    }
}

//! Test support: checks on the Markdown trainyard renders.

/// Fails the test when a line of `markdown` would end the list item above
/// it: after a `- ` item line, every non-empty line up to the next item or
/// heading (a `#` line after a blank line) must be indented by at least two
/// spaces, so that it stays in the item.
pub(crate) fn assert_list_items_hold_together(markdown: &str) {
    let mut in_item = false;
    let mut previous_blank = true;
    for (number, line) in markdown.lines().enumerate() {
        let blank = line.trim().is_empty();
        if line.starts_with("- ") {
            in_item = true;
        } else if line.starts_with('#') && previous_blank {
            in_item = false;
        } else if in_item && !blank {
            assert!(
                line.starts_with("  "),
                "line {} ends the list item above it: {line:?}\n{markdown}",
                number + 1
            );
        }
        previous_blank = blank;
    }
}

/// The lines of `markdown` that start a top-level list item.
pub(crate) fn list_items(markdown: &str) -> Vec<&str> {
    markdown.lines().filter(|l| l.starts_with("- ")).collect()
}

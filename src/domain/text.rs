//! Spreadsheet-safe text (OWASP CSV injection). A leaf: imports nothing of the crate, so every
//! reader and writer can use it.

/// Whether a spreadsheet could take `s` for a formula: it starts with `=`, `+`, `-`, `@`, tab,
/// CR, LF or NUL, or its first non-space character is `=`, `+`, `-` or `@` (an import that
/// trims spaces, as LibreOffice Calc's "Trim spaces" does, would turn ` =1+1` into a formula).
fn needs_quote(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n' | b'\0') => true,
        Some(_) => s.trim_start().starts_with(['=', '+', '-', '@']),
        None => false,
    }
}

/// Neutralises a text cell a spreadsheet could run (see [`needs_quote`]) with a leading `'`.
pub fn safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Undoes [`safe_text`] on a cell read back from a CSV the tool wrote: for a sheet, whose
/// string cells are never run. (A text that itself began with `'` before a formula character
/// reads back without its quote: the one case the CSV cannot tell apart.)
pub fn unsafe_text(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_text("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(safe_text("-1"), "'-1");
        assert_eq!(safe_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_text("\tx"), "'\tx");
        assert_eq!(safe_text("openai/gpt-5.4"), "openai/gpt-5.4");
    }

    #[test]
    fn a_formula_behind_spaces_is_neutralised_too() {
        assert_eq!(safe_text(" =1+1"), "' =1+1");
        assert_eq!(safe_text("   +1"), "'   +1");
        assert_eq!(safe_text(" -2"), "' -2");
        assert_eq!(safe_text("  @A1"), "'  @A1");
        // A no-break space is trimmed by imports too.
        assert_eq!(safe_text("\u{a0}=1"), "'\u{a0}=1");
        // Spaces before ordinary text, or a formula character later on, are no formula.
        assert_eq!(safe_text(" a=1"), " a=1");
        assert_eq!(safe_text("   "), "   ");
        assert_eq!(safe_text(""), "");
        assert_eq!(safe_text("a - b"), "a - b");
    }

    #[test]
    fn unsafe_text_undoes_safe_text() {
        for s in [
            "=1+1", " =1+1", "  -2", "+x", "@A1", "\tx", "\nx", "\0", "\u{a0}@x", "plain",
            " spaced", "", "'quoted", "' ", "a'=b",
        ] {
            assert_eq!(unsafe_text(&safe_text(s)), s, "{s:?}");
        }
        // Only a quote that safe_text would have added is taken off.
        assert_eq!(unsafe_text("'plain"), "'plain");
        assert_eq!(unsafe_text("' a"), "' a");
        assert_eq!(unsafe_text("' =1"), " =1");
    }
}

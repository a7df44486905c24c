//! Spreadsheet-safe text (OWASP CSV injection). A leaf: imports nothing of the crate, so every
//! reader and writer can use it.

/// Neutralises a text cell that starts with `=`, `+`, `-`, `@`, tab, CR, LF or NUL.
pub fn safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n' | b'\0') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Undoes [`safe_text`] on a cell read back from a CSV the tool wrote: for a sheet, whose
/// string cells are never run. (A text that itself began with `'` and a formula character reads
/// back without its quote: the one case the CSV cannot tell apart.)
pub fn unsafe_text(s: &str) -> &str {
    match s.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n' | b'\0', ..] => &s[1..],
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
}

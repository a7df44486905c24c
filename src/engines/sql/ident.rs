//! Names that go into the SQL: the table (`--table db.schema.table`) and the columns and fields
//! of a schema. Each part is checked against a small alphabet and then quoted, so nothing a user
//! writes can end an identifier or start a statement.

use anyhow::{bail, Result};

use super::dialect::Dialect;

/// At most this many dotted parts in a table name (catalog.schema.table, project.dataset.table).
const MAX_PARTS: usize = 3;
const MAX_LEN: usize = 128;

/// One part of a name: ASCII letters, digits, `_`, `$` and `-` (BigQuery project ids), not
/// empty. Quotes, spaces, semicolons, dots and comment marks are refused.
pub(crate) fn check_part(part: &str, what: &str) -> Result<()> {
    if part.is_empty() {
        bail!("{what}: an empty name (two dots, or a dot at an end)");
    }
    if part.len() > MAX_LEN {
        bail!("{what}: a name part longer than {MAX_LEN} characters");
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-')))
    {
        bail!(
            "{what}: `{}` holds {c:?}; a name is parts of ASCII letters, digits, `_`, `$` and `-` joined by dots",
            part.escape_debug()
        );
    }
    if part.starts_with('-') || part.contains("--") {
        bail!("{what}: `{part}` starts with `-` or holds `--`");
    }
    Ok(())
}

/// A table name as given (`calls`, `logs.calls`, `my-project.logs.calls`), checked part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table(Vec<String>);

impl Table {
    pub(crate) fn parse(name: &str) -> Result<Table> {
        let parts: Vec<String> = name.split('.').map(str::to_string).collect();
        if parts.len() > MAX_PARTS {
            bail!("--table `{name}`: at most {MAX_PARTS} dotted parts (catalog.schema.table)");
        }
        for p in &parts {
            check_part(p, &format!("--table `{}`", name.escape_debug()))?;
        }
        Ok(Table(parts))
    }

    /// Each part quoted for `d`, joined by dots.
    pub(crate) fn sql(&self, d: Dialect) -> String {
        let q: Vec<String> = self.0.iter().map(|p| d.quote(p)).collect();
        q.join(".")
    }
}

/// A literal's text must not hold control characters (a newline in a provider name would end a
/// line of the query; no engine needs them here).
pub(crate) fn check_literal(s: &str, what: &str) -> Result<()> {
    if s.chars().any(char::is_control) {
        bail!("{what}: `{}` holds a control character", s.escape_debug());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_qualified_names_are_quoted_part_by_part() {
        let t = Table::parse("analytics.logs.calls").unwrap();
        assert_eq!(t.sql(Dialect::Postgres), "\"analytics\".\"logs\".\"calls\"");
        assert_eq!(t.sql(Dialect::Spark), "`analytics`.`logs`.`calls`");
        assert_eq!(
            t.sql(Dialect::Snowflake),
            "\"ANALYTICS\".\"LOGS\".\"CALLS\""
        );
        let bq = Table::parse("my-project.logs.calls_2026").unwrap();
        assert_eq!(
            bq.sql(Dialect::Bigquery),
            "`my-project`.`logs`.`calls_2026`"
        );
        assert_eq!(
            Table::parse("LiteLLM_SpendLogs")
                .unwrap()
                .sql(Dialect::Postgres),
            "\"LiteLLM_SpendLogs\""
        );
    }

    #[test]
    fn injection_attempts_are_refused() {
        for bad in [
            "calls; DROP TABLE calls",
            "calls\"; DROP TABLE calls; --",
            "calls` UNION SELECT 1 --",
            "calls'",
            "calls--x",
            "calls /* x */",
            "a..b",
            ".calls",
            "calls.",
            "",
            "a.b.c.d",
            "calls\n",
            "-calls",
            "cälls",
        ] {
            assert!(Table::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let e = Table::parse("calls; DROP TABLE x").unwrap_err().to_string();
        assert!(e.contains("holds ';'"), "{e}");
    }

    #[test]
    fn literals_refuse_control_characters() {
        assert!(check_literal("openrouter", "p").is_ok());
        assert!(check_literal("o'neil", "p").is_ok());
        assert!(check_literal("a\nb", "p").is_err());
    }
}

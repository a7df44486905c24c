//! `spendrecon schema show NAME` and `schema list`: the built-in log schemas as schema files, the
//! starting point for a mapping of one's own (docs/schemas.md).

use anyhow::{bail, Context, Result};

use crate::domain::Outcome;
use crate::output::to_stdout;
use crate::sources::schema::{builtin_text, BUILTIN};

pub(crate) fn show(name: &str) -> Result<Outcome> {
    let Some(text) = builtin_text(name) else {
        bail!(
            "no built-in schema `{name}` (built-in: {})",
            BUILTIN.map(|(n, _)| n).join(", ")
        );
    };
    to_stdout(text.as_bytes()).context("writing the schema")?;
    Ok(Outcome::Reconciled)
}

pub(crate) fn list() -> Result<Outcome> {
    let names: String = BUILTIN.iter().map(|(n, _)| format!("{n}\n")).collect();
    to_stdout(names.as_bytes()).context("writing the list")?;
    Ok(Outcome::Reconciled)
}

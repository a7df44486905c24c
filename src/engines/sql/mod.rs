//! `spendrecon sql`: one SELECT statement that computes the usage groups of docs/engines.md (or
//! the duplicate request ids) in the engine where the logs live. The cut decides the per-call
//! parts (bands, allowances, zone); the dialect writes what differs between engines; the source
//! says how each field is read from the user's table.

pub(crate) mod dialect;
mod groups;
pub(crate) mod ident;
mod source;

use anyhow::Result;

pub(crate) use dialect::Dialect;
pub(crate) use ident::Table;

use crate::domain::{Month, Period};
use crate::engines::cut::Cut;
use crate::sources::schema::Schema;

/// Which statement to print (`--query`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Query {
    /// The usage groups (docs/engines.md, the usage file).
    Groups,
    /// Request ids logged more than once: day, provider, request_id, model, records.
    Duplicates,
    /// Per-call queries the local path computes (not written as SQL).
    Rollout,
    Shadow,
}

/// What the statement reads and covers.
pub(crate) struct Request<'a> {
    pub dialect: Dialect,
    pub table: &'a Table,
    pub schema: &'a Schema,
    pub period: Period,
}

/// The statement, ending in a newline (no semicolon: clients that run one statement take it
/// as it is).
pub(crate) fn render(query: Query, req: &Request<'_>, cut: &Cut) -> Result<String> {
    let src = source::Source::new(req.schema, req.dialect)?;
    let q = groups::Writer::new(req, cut, &src);
    match query {
        Query::Groups => Ok(q.groups()),
        Query::Duplicates => Ok(q.duplicates()),
        Query::Rollout | Query::Shadow => anyhow::bail!(
            "--query {}: the {} table needs every call's latency, pairs and shares, which spendrecon computes from the logs themselves (the per-call local path): run `spendrecon {}` on the logs",
            if query == Query::Rollout { "rollout" } else { "shadow" },
            if query == Query::Rollout { "rollout" } else { "shadow" },
            if query == Query::Rollout { "rollout" } else { "shadow" },
        ),
    }
}

/// The days whose calls the allowance numbering must see: the whole months of the period.
pub(crate) fn months_of(period: Period) -> Period {
    Period {
        from: period.from.map(|d| Month::of(d).first_day()),
        to: period.to.map(|d| Month::of(d).last_day()),
    }
}

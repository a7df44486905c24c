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
    /// Not written as SQL (exit 2): the rollout table needs every call, read from the logs.
    Rollout,
    /// Not written as SQL (exit 2): the shadow pairs need every call, read from the logs.
    Shadow,
}

/// What the statement reads and covers.
pub(crate) struct Request<'a> {
    pub dialect: Dialect,
    pub table: &'a Table,
    pub schema: &'a Schema,
    pub period: Period,
    /// `--by`: the group column's name; the schema reads the field into its tenant slot.
    pub by: Option<&'a str>,
}

/// The statement, ending in a newline (no semicolon: clients that run one statement take it
/// as it is).
pub(crate) fn render(query: Query, req: &Request<'_>, cut: &Cut) -> Result<String> {
    let src = source::Source::new(req.schema, req.dialect, req.by.is_some())?;
    let q = groups::Writer::new(req, cut, &src);
    match query {
        Query::Groups => Ok(q.groups()),
        Query::Duplicates => Ok(q.duplicates()),
        Query::Rollout | Query::Shadow => {
            let name = if query == Query::Rollout {
                "rollout"
            } else {
                "shadow"
            };
            anyhow::bail!(
                "--query {name}: the {name} table needs every call (latency, shares, pairs), which spendrecon computes from the logs themselves (the per-call local path): run `spendrecon {name}` on the logs"
            )
        }
    }
}

/// The days whose calls the allowance numbering must see: the whole months of the period.
pub(crate) fn months_of(period: Period) -> Period {
    Period {
        from: period.from.map(|d| Month::of(d).first_day()),
        to: period.to.map(|d| Month::of(d).last_day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Day;
    use crate::engines::cut::Allowance;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn cut(allowances: Vec<Allowance>) -> Cut {
        Cut {
            tz: "UTC".into(),
            thresholds: vec![],
            allowances,
        }
    }

    fn render_with(c: &Cut, period: Period) -> String {
        let table = Table::parse("calls").unwrap();
        let req = Request {
            dialect: Dialect::Trino,
            table: &table,
            schema: &Schema::Native,
            period,
            by: None,
        };
        render(Query::Groups, &req, c).unwrap()
    }

    #[test]
    fn the_numbering_sees_the_whole_months_of_the_period() {
        let p = Period {
            from: Some(day("2026-02-10")),
            to: Some(day("2026-03-05")),
        };
        let m = months_of(p);
        assert_eq!(
            (m.from, m.to),
            (Some(day("2026-02-01")), Some(day("2026-03-31")))
        );
        let open = months_of(Period {
            from: None,
            to: Some(day("2024-02-03")),
        });
        assert_eq!((open.from, open.to), (None, Some(day("2024-02-29"))));
        let q = render_with(&cut(vec![]), p);
        assert!(
            q.contains("c_day BETWEEN DATE '2026-02-01' AND DATE '2026-03-31'"),
            "{q}"
        );
        assert!(
            q.contains("c_day BETWEEN DATE '2026-02-10' AND DATE '2026-03-05'"),
            "{q}"
        );
    }

    #[test]
    fn without_allowances_or_thresholds_nothing_is_numbered_or_banded() {
        let q = render_with(&cut(vec![]), Period::default());
        assert!(!q.contains("ROW_NUMBER"), "{q}");
        assert!(q.contains("FALSE AS c_past"), "{q}");
        assert!(q.contains("0 AS c_band"), "{q}");
        assert!(!q.contains("WHERE c_day"), "{q}");
        let one = cut(vec![Allowance {
            provider: "o'brien".into(),
            requests: 7,
            from: day("2026-01-01"),
            to: None,
        }]);
        let q = render_with(&one, Period::default());
        assert!(q.contains("ROW_NUMBER() OVER ("), "{q}");
        assert!(
            q.contains("c_provider = 'o''brien' AND c_day >= DATE '2026-01-01' THEN c_seq > 7"),
            "{q}"
        );
    }

    #[test]
    fn rollout_and_shadow_are_refused() {
        let table = Table::parse("calls").unwrap();
        let req = Request {
            dialect: Dialect::Duckdb,
            table: &table,
            schema: &Schema::Native,
            period: Period::default(),
            by: None,
        };
        for q in [Query::Rollout, Query::Shadow] {
            let e = render(q, &req, &cut(vec![])).unwrap_err().to_string();
            assert!(e.contains("per-call local path"), "{e}");
        }
    }
}

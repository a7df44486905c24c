//! The statements: the usage groups and the duplicate request ids, as common table expressions
//! every engine reads alike (docs/engines.md, "spendrecon sql"):
//!
//! - `raw` (with a schema file): each path read once from the table;
//! - `src`: each row's fields read through the schema (§1 columns by default);
//! - `valid`: rows the local reader would accept, with `billable`, the local and the UTC day;
//! - `calls`: the whole months of the period, with the per-call decisions (BYOK, band) and the
//!   billable tokens;
//! - `numbered`: each billable BYOK call's place in its provider's month;
//! - `flagged`: past the allowance in force on the call's day, within the period;
//! - the groups: sums per key, ordered by the key.
//!
//! Internal columns are named `c_*`/`t_*`, apart from every output name, so no engine (ClickHouse
//! resolves aliases anywhere in a SELECT) mistakes one for another.

use super::dialect::Dialect;
use super::source::{Source, ROW};
use super::{months_of, Request};
use crate::domain::{Day, Period};
use crate::engines::cut::{Cut, FORMAT};
use crate::sources::usage_file::COLUMNS;

pub(crate) struct Writer<'a> {
    d: Dialect,
    req: &'a Request<'a>,
    cut: &'a Cut,
    src: &'a Source,
}

/// `lines` joined as the body of a clause, one item a line, each indented by `indent`.
fn list(lines: &[String], indent: &str, sep: &str) -> String {
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join(sep)
}

impl<'a> Writer<'a> {
    pub(crate) fn new(req: &'a Request<'a>, cut: &'a Cut, src: &'a Source) -> Writer<'a> {
        Writer {
            d: req.dialect,
            req,
            cut,
            src,
        }
    }

    /// `col BETWEEN from AND to` (or one side) for a period; `None` for all days.
    fn within(&self, col: &str, p: Period) -> Option<String> {
        let d = |x: Day| self.d.date(x);
        match (p.from, p.to) {
            (Some(f), Some(t)) => Some(format!("{col} BETWEEN {} AND {}", d(f), d(t))),
            (Some(f), None) => Some(format!("{col} >= {}", d(f))),
            (None, Some(t)) => Some(format!("{col} <= {}", d(t))),
            (None, None) => None,
        }
    }

    /// `src` and `valid`: the rows the local reader would accept, with their days.
    fn read(&self) -> String {
        let (d, s) = (self.d, self.src);
        let fields = [
            (s.ts.clone(), "c_ts"),
            (format!("lower({})", s.provider), "c_provider"),
            (s.model.clone(), "c_model"),
            (s.prompt.clone(), "c_prompt"),
            (s.completion.clone(), "c_completion"),
            (s.cached.clone(), "c_cached"),
            (s.cache_write.clone(), "c_cache_write"),
            (s.cache_write_1h.clone(), "c_cache_write_1h"),
            (s.reasoning.clone(), "c_reasoning"),
            (s.status.clone(), "c_status"),
            (s.byok.clone(), "c_byok"),
            (s.request_id.clone(), "c_request_id"),
            (s.cost.clone(), "c_cost"),
        ];
        let mut fields: Vec<String> = fields.iter().map(|(e, a)| format!("{e} AS {a}")).collect();
        if let Some(t) = &s.tenant {
            fields.push(format!("{t} AS c_tenant"));
        }
        let table = format!("{} AS {ROW}", self.req.table.sql(d));
        let (raw, from) = if s.raw.is_empty() {
            (String::new(), table)
        } else {
            (
                format!(
                    "raw AS (\n  SELECT\n{}\n  FROM {table}\n),\n",
                    list(&s.raw, "    ", ",\n")
                ),
                "raw".to_string(),
            )
        };
        let mut src = format!(
            "{raw}src AS (\n  SELECT\n{}\n  FROM {from}",
            list(&fields, "    ", ",\n"),
        );
        if !s.keep.is_empty() {
            src.push_str(&format!("\n  WHERE {}", s.keep.join("\n    AND ")));
        }
        src.push_str("\n)");
        let checks = [
            "c_ts IS NOT NULL",
            "c_provider IS NOT NULL",
            "trim(c_provider) <> ''",
            "c_model IS NOT NULL",
            "trim(c_model) <> ''",
            "c_prompt IS NOT NULL",
            "c_completion IS NOT NULL",
            "c_prompt >= 0",
            "c_completion >= 0",
            "c_cached >= 0",
            "c_cache_write >= 0",
            "c_cache_write_1h >= 0",
            "c_reasoning >= 0",
            "c_cached + c_cache_write <= c_prompt",
            "c_cache_write_1h <= c_cache_write",
            "(c_status IS NULL OR c_status BETWEEN 100 AND 599)",
        ];
        let valid = format!(
            "valid AS (\n  SELECT\n    *,\n    (c_status IS NULL OR c_status BETWEEN 200 AND 299) AS c_billable,\n    {} AS c_day,\n    {} AS c_utc_day\n  FROM src\n  WHERE {}\n)",
            d.local_day("c_ts", &self.cut.tz),
            d.utc_day("c_ts"),
            checks.join("\n    AND ")
        );
        format!("{src},\n{valid}")
    }

    /// The usage groups: the columns of docs/engines.md in order, one row per key.
    pub(crate) fn groups(&self) -> String {
        let d = self.d;
        let cut = self.cut;
        let band = if cut.thresholds.is_empty() {
            "0".to_string()
        } else {
            let t: Vec<String> = cut
                .thresholds
                .iter()
                .map(|t| format!("CASE WHEN c_prompt > {t} THEN 1 ELSE 0 END"))
                .collect();
            format!("CASE WHEN c_billable THEN ({}) ELSE 0 END", t.join(" + "))
        };
        let billed = |c: &str, t: &str| format!("CASE WHEN c_billable THEN {c} ELSE 0 END AS {t}");
        let mut calls_cols = vec![
            "c_day".to_string(),
            "c_utc_day".into(),
            "c_provider".into(),
            "c_model".into(),
            "c_billable".into(),
            format!("{} AS c_order", d.ts_order("c_ts")),
            "c_request_id".into(),
            format!("{} AS c_byok_call", d.bool_out("(c_byok AND c_billable)")),
            format!("{band} AS c_band"),
        ];
        if self.src.tenant.is_some() {
            calls_cols.push("c_tenant".into());
        }
        for (c, t) in [
            ("c_prompt", "t_prompt"),
            ("c_completion", "t_completion"),
            ("c_cached", "t_cached"),
            ("c_cache_write", "t_cache_write"),
            ("c_cache_write_1h", "t_cache_write_1h"),
            ("c_reasoning", "t_reasoning"),
        ] {
            calls_cols.push(billed(c, t));
        }
        calls_cols.push(
            "CASE WHEN c_billable AND c_cost IS NOT NULL THEN 1 ELSE 0 END AS t_reported".into(),
        );
        calls_cols.push(format!(
            "CASE WHEN c_billable AND c_cost IS NOT NULL THEN {} ELSE 0 END AS t_cost_nanos",
            d.nanos("c_cost")
        ));
        let mut calls = format!(
            "calls AS (\n  SELECT\n{}\n  FROM valid",
            list(&calls_cols, "    ", ",\n")
        );
        if let Some(w) = self.within("c_day", months_of(self.req.period)) {
            calls.push_str(&format!("\n  WHERE {w}"));
        }
        calls.push_str("\n)");

        let period = self.within("c_day", self.req.period);
        let flagged = if cut.allowances.is_empty() {
            let mut f = format!(
                "flagged AS (\n  SELECT\n    *,\n    {} AS c_past\n  FROM calls",
                d.boolean(false)
            );
            if let Some(w) = &period {
                f.push_str(&format!("\n  WHERE {w}"));
            }
            f + "\n)"
        } else {
            // Only BYOK calls are numbered: the window sorts a tenth of the calls, not all of
            // them (PostgreSQL, 10M calls: 36 s instead of 88 s), and the rest pass with 0.
            let numbered = format!(
                "numbered AS (\n  SELECT\n    *,\n    CAST(ROW_NUMBER() OVER (\n      PARTITION BY c_provider, EXTRACT(YEAR FROM c_day), EXTRACT(MONTH FROM c_day)\n      ORDER BY c_order, t_prompt + t_completion, t_prompt, {}, {} NULLS FIRST\n    ) AS {int}) AS c_seq\n  FROM calls\n  WHERE c_byok_call\n  UNION ALL\n  SELECT\n    *,\n    CAST(0 AS {int}) AS c_seq\n  FROM calls\n  WHERE NOT c_byok_call\n)",
                d.bytewise("c_model"),
                d.bytewise("c_request_id"),
                int = d.int_type()
            );
            let mut case = String::from("CASE");
            for a in &cut.allowances {
                let days = self
                    .within(
                        "c_day",
                        Period {
                            from: Some(a.from),
                            to: a.to,
                        },
                    )
                    .unwrap_or_default();
                case.push_str(&format!(
                    "\n      WHEN c_byok_call AND c_provider = {} AND {days} THEN c_seq > {}",
                    d.string(&a.provider),
                    a.requests
                ));
            }
            case.push_str(&format!("\n      ELSE {}\n    END", d.boolean(false)));
            let mut f = format!(
                "{numbered},\nflagged AS (\n  SELECT\n    *,\n    {} AS c_past\n  FROM numbered",
                d.bool_out(&case)
            );
            if let Some(w) = &period {
                f.push_str(&format!("\n  WHERE {w}"));
            }
            f + "\n)"
        };

        let mut key = vec![
            "c_day",
            "c_utc_day",
            "c_provider",
            "c_model",
            "c_byok_call",
            "c_band",
            "c_past",
        ];
        // The columns of the usage file, in its order: the cut, the key, the sums.
        let mut exprs: Vec<String> = vec![
            d.string(FORMAT),
            d.string(&cut.fingerprint()),
            d.string(&cut.tz),
        ];
        exprs.extend(key.iter().map(|k| k.to_string()));
        // With --by, its value is the last key and the last column ('' for none).
        let by = self.req.by.filter(|_| self.src.tenant.is_some());
        for e in [
            "CASE WHEN c_billable THEN 1 ELSE 0 END",
            "CASE WHEN c_billable THEN 0 ELSE 1 END",
            "t_prompt",
            "t_cached",
            "t_cache_write",
            "t_cache_write_1h",
            "t_completion",
            "t_reasoning",
            "t_reported",
            "t_cost_nanos",
        ] {
            exprs.push(format!("CAST(SUM({e}) AS {})", d.int_type()));
        }
        debug_assert_eq!(exprs.len(), COLUMNS.len());
        let mut out: Vec<String> = exprs
            .iter()
            .zip(COLUMNS)
            .map(|(e, name)| format!("{e} AS {}", d.alias(name)))
            .collect();
        if let Some(name) = by {
            out.push(format!("c_tenant AS {}", d.alias(name)));
            key.push("c_tenant");
        }
        let order: Vec<String> = key
            .iter()
            .map(|k| match *k {
                "c_provider" | "c_model" | "c_tenant" => d.bytewise(k),
                _ => k.to_string(),
            })
            .collect();
        format!(
            "WITH {},\n{calls},\n{flagged}\nSELECT\n{}\nFROM flagged\nGROUP BY {}\nORDER BY {}\n",
            self.read(),
            list(&out, "  ", ",\n"),
            key.join(", "),
            order.join(", ")
        )
    }

    /// Request ids logged more than once (per provider): the local day of the first record, the
    /// provider, the id, the first record's model and how many records carry it. The same rows
    /// as `GROUP BY provider, request_id HAVING count(*) > 1`, written with window functions so
    /// the first record's model needs no engine-specific arg-min.
    pub(crate) fn duplicates(&self) -> String {
        let d = self.d;
        let mut ranked = format!(
            "ranked AS (\n  SELECT\n    c_day,\n    c_provider,\n    c_request_id,\n    c_model,\n    ROW_NUMBER() OVER (\n      PARTITION BY c_provider, c_request_id\n      ORDER BY {}, c_prompt + c_completion, {}\n    ) AS c_rank,\n    COUNT(*) OVER (PARTITION BY c_provider, c_request_id) AS c_records\n  FROM valid\n  WHERE c_request_id IS NOT NULL",
            d.ts_order("c_ts"),
            d.bytewise("c_model")
        );
        if let Some(w) = self.within("c_day", self.req.period) {
            ranked.push_str(&format!("\n    AND {w}"));
        }
        ranked.push_str("\n)");
        let out = [
            format!("c_day AS {}", d.alias("day")),
            format!("c_provider AS {}", d.alias("provider")),
            format!("c_request_id AS {}", d.alias("request_id")),
            format!("c_model AS {}", d.alias("model")),
            format!(
                "CAST(c_records AS {}) AS {}",
                d.int_type(),
                d.alias("records")
            ),
        ];
        format!(
            "WITH {},\n{ranked}\nSELECT\n{}\nFROM ranked\nWHERE c_rank = 1\n  AND c_records > 1\nORDER BY c_day, {}, {}\n",
            self.read(),
            list(&out, "  ", ",\n"),
            d.bytewise("c_provider"),
            d.bytewise("c_request_id"),
        )
    }
}

//! A table of formatted cells and its renderings: CSV that drops into a spreadsheet safely, JSON
//! lines, an aligned terminal table. How a column is shown depends on what it holds, decided once
//! by its name ([`kind_of`]), so every writer treats a column alike.

use crate::domain::text::safe_text;
use crate::domain::{Money, Status};

/// What a column holds, which decides how each writer shows it: text is neutralised in CSV
/// and written as a string cell in XLSX; numbers are right-aligned; days become date cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Words, or text that came from an input (slugs, providers, files, reasons): never trusted.
    Text,
    /// The tool's own vocabulary (`status`, `kind`, `method`): flagged values are marked.
    Code,
    /// A whole number (calls, tokens, lines); may be negative (a delta).
    Count,
    /// An exact amount in USD.
    Money,
    /// Any other number (percentages, milliseconds).
    Number,
    /// A calendar day, `YYYY-MM-DD`.
    Day,
    /// A calendar month, `YYYY-MM`.
    Month,
}

/// The kind of a column, by its name: column names are the contract's, the same in every table.
/// A name not listed is text, the safe default.
pub(crate) fn kind_of(column: &str) -> Kind {
    match column {
        "day" | "first_day" | "last_day" | "retired_on" => Kind::Day,
        "month" => Kind::Month,
        "status" | "kind" | "method" | "scenario_kind" => Kind::Code,
        "delta_pct" | "share_pct" | "error_rate_pct" | "p50_latency_ms" | "p95_latency_ms" => {
            Kind::Number
        }
        "requests" | "failed_requests" | "log_requests" | "calls" | "errors" | "pairs"
        | "unpaired" | "over_tolerance" | "rows" | "count" | "line" | "tokens" | "days_seen"
        | "days_in_month" | "rows_read" | "rows_used" | "rows_out_of_range" | "rows_rejected"
        | "rows_skipped" | "delta_tokens" | "unpriced_calls" => Kind::Count,
        c if c.ends_with("_tokens") || c.ends_with("_drift") => Kind::Count,
        // FOCUS (`--focus`): its cost columns are amounts, its quantities counts.
        "BilledCost" | "EffectiveCost" | "ListCost" | "ContractedCost" => Kind::Money,
        "PricingQuantity" | "ConsumedQuantity" | "x_Calls" => Kind::Count,
        c if c.starts_with("x_") && c.ends_with("Tokens") => Kind::Count,
        c if c.ends_with("_usd") || c.ends_with("_usd_per_mtok") => Kind::Money,
        // summary.csv counts rows per reconciliation status.
        c if Status::ALL.iter().any(|s| s.as_str() == c) => Kind::Count,
        _ => Kind::Text,
    }
}

/// A table of formatted cells. Cells hold the text as it is (a slug from a log is kept as
/// logged); each writer makes it safe for where it goes (CSV: [`safe_text`] on text columns).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn kinds(&self) -> Vec<Kind> {
        self.header.iter().map(|h| kind_of(h)).collect()
    }

    /// RFC 4180 CSV, LF line ends.
    pub(crate) fn csv(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = csv_writer(&mut out);
            w.write_record(&self.header).expect("writing to memory");
        }
        out.extend(self.csv_rows());
        out
    }

    /// The rows as CSV without the header, to append to a file that has one.
    pub(crate) fn csv_rows(&self) -> Vec<u8> {
        let kinds = self.kinds();
        let mut out = Vec::new();
        let mut w = csv_writer(&mut out);
        for r in &self.rows {
            w.write_record(r.iter().zip(&kinds).map(|(cell, k)| {
                match k {
                    Kind::Text | Kind::Code => safe_text(cell),
                    _ => std::borrow::Cow::from(cell.as_str()),
                }
                .into_owned()
            }))
            .expect("writing to memory");
        }
        drop(w);
        out
    }

    /// An aligned table for a terminal (`--format table`): numbers right-aligned, money shown
    /// to the cent (the CSV keeps the exact amount), a flagged status marked with `!`, and
    /// control characters from inputs shown as `?` so a log line cannot drive the terminal.
    pub(crate) fn terminal(&self) -> String {
        use comfy_table::{presets, CellAlignment};
        let kinds = self.kinds();
        let mut t = comfy_table::Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_header(self.header.iter().copied());
        for r in &self.rows {
            t.add_row(
                r.iter()
                    .zip(&self.header)
                    .zip(&kinds)
                    .map(|((cell, h), k)| match k {
                        Kind::Money => cent(cell),
                        Kind::Code if *h == "status" && is_flagged(cell) => format!("! {cell}"),
                        Kind::Text | Kind::Code => printable(cell),
                        _ => cell.clone(),
                    }),
            );
        }
        for (i, k) in kinds.iter().enumerate() {
            if matches!(k, Kind::Count | Kind::Money | Kind::Number) {
                if let Some(c) = t.column_mut(i) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        let mut out = t.to_string();
        out.push('\n');
        out
    }

    /// JSON lines with the CSV's columns; every value a string (exact decimals), empty as null.
    pub(crate) fn json_lines(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for r in &self.rows {
            let obj: serde_json::Map<String, serde_json::Value> = self
                .header
                .iter()
                .zip(r)
                .map(|(h, v)| {
                    let v = if v.is_empty() {
                        serde_json::Value::Null
                    } else {
                        serde_json::Value::String(v.clone())
                    };
                    (h.to_string(), v)
                })
                .collect();
            serde_json::to_writer(&mut out, &obj).expect("writing to memory");
            out.push(b'\n');
        }
        out
    }
}

/// A status that asks for attention: anything but ok, drift (within tolerance) and unchecked.
pub(crate) fn is_flagged(status: &str) -> bool {
    !matches!(status, "" | "ok" | "drift" | "unchecked")
}

/// An exact amount shown to the cent, half away from zero (`0.0045` → `0.00`, `2.345` → `2.35`).
fn cent(cell: &str) -> String {
    match cell.parse::<Money>() {
        Ok(m) => {
            let mut r =
                m.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            r.rescale(2);
            r.to_string()
        }
        Err(_) => cell.to_string(),
    }
}

/// Text with control characters (an escape sequence in a slug, say) replaced by `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_have_kinds_by_name_and_only_text_is_neutralised() {
        assert_eq!(kind_of("cost_usd"), Kind::Money);
        assert_eq!(kind_of("effective_usd_per_mtok"), Kind::Money);
        assert_eq!(kind_of("invoice_prompt_tokens"), Kind::Count);
        assert_eq!(kind_of("token_mismatch"), Kind::Count);
        assert_eq!(kind_of("max_prompt_drift"), Kind::Count);
        assert_eq!(kind_of("first_day"), Kind::Day);
        assert_eq!(kind_of("month"), Kind::Month);
        assert_eq!(kind_of("status"), Kind::Code);
        assert_eq!(kind_of("model"), Kind::Text);
        assert_eq!(kind_of("something_new"), Kind::Text);
        let t = Table {
            header: vec!["model", "delta_tokens", "delta_usd", "status"],
            rows: vec![vec!["-2".into(), "-5".into(), "-0.50".into(), "=x".into()]],
        };
        assert_eq!(
            String::from_utf8(t.csv()).unwrap(),
            "model,delta_tokens,delta_usd,status\n'-2,-5,-0.50,'=x\n"
        );
    }
}

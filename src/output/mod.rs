//! Output writers: CSV that drops into a spreadsheet safely, written whole or not at all.
//!
//! Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV injection):
//! a leading single quote, and RFC 4180 quoting by the `csv` crate.

pub mod focus;
pub mod html;
pub mod xlsx;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::aggregate::Daily;
use crate::domain::text::safe_text;
use crate::domain::{money, Money};
use crate::fees::{FeeRow, PurchaseCheck};
use crate::forecast::run_rate::ForecastRow;
use crate::forecast::whatif::ScenarioRow;
use crate::insight::audit::AuditRow;
use crate::sources::{FileStats, Rejection};

/// Where a table goes: a file in `--out` (atomically) or stdout.
pub enum Sink {
    Dir(PathBuf),
    Stdout,
}

impl Sink {
    /// Writes `name` via a temporary file in the same directory, renamed into place, so a killed
    /// run never leaves half a CSV behind.
    pub fn write(&self, name: &str, body: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => to_stdout(body),
            Sink::Dir(dir) => write_atomic(&dir.join(name), body),
        }
    }

    /// Copies a finished file into `--out` (atomically); nothing on stdout.
    pub fn copy_secondary(&self, name: &str, from: &Path) -> io::Result<()> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::Dir(dir) => write_atomic_from(&dir.join(name), &mut std::fs::File::open(from)?),
        }
    }

    /// Secondary tables only go to `--out`; on stdout there is room for one table.
    pub fn write_secondary(&self, name: &str, body: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::Dir(_) => self.write(name, body),
        }
    }
}

/// Writes to stdout; a reader that stopped early (`| head`) is no error.
pub fn to_stdout(body: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(body).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

pub fn write_atomic(path: &Path, body: &[u8]) -> io::Result<()> {
    write_atomic_from(path, &mut &body[..])
}

/// As [`write_atomic`], streaming the body from a reader.
pub fn write_atomic_from(path: &Path, body: &mut dyn io::Read) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        io::copy(body, &mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    // Temporary files are private (0600); a report is as shareable as any file the user writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What a column holds, which decides how each writer shows it: text is neutralised in CSV
/// and written as a string cell in XLSX; numbers are right-aligned; days become date cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
pub fn kind_of(column: &str) -> Kind {
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
        | "delta_tokens" => Kind::Count,
        c if c.ends_with("_tokens") || c.ends_with("_drift") => Kind::Count,
        // FOCUS (`--focus`): its cost columns are amounts, its quantities counts.
        "BilledCost" | "EffectiveCost" | "ListCost" | "ContractedCost" => Kind::Money,
        "PricingQuantity" | "ConsumedQuantity" | "x_Calls" => Kind::Count,
        c if c.starts_with("x_") && c.ends_with("Tokens") => Kind::Count,
        c if c.ends_with("_usd") || c.ends_with("_usd_per_mtok") => Kind::Money,
        // summary.csv counts rows per reconciliation status.
        c if crate::domain::Status::ALL.iter().any(|s| s.as_str() == c) => Kind::Count,
        _ => Kind::Text,
    }
}

/// A table of formatted cells. Cells hold the text as it is (a slug from a log is kept as
/// logged); each writer makes it safe for where it goes (CSV: [`safe_text`] on text columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn kinds(&self) -> Vec<Kind> {
        self.header.iter().map(|h| kind_of(h)).collect()
    }

    /// RFC 4180 CSV, LF line ends.
    pub fn csv(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = csv_writer(&mut out);
            w.write_record(&self.header).expect("writing to memory");
        }
        out.extend(self.csv_rows());
        out
    }

    /// The rows as CSV without the header, to append to a file that has one.
    pub fn csv_rows(&self) -> Vec<u8> {
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
    pub fn terminal(&self) -> String {
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
    pub fn json_lines(&self) -> Vec<u8> {
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
pub fn is_flagged(status: &str) -> bool {
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

fn table(header: &[&'static str], rows: impl IntoIterator<Item = Vec<String>>) -> Table {
    Table {
        header: header.to_vec(),
        rows: rows.into_iter().collect(),
    }
}

pub const DAILY_HEADER: [&str; 11] = [
    "day",
    "provider",
    "model",
    "requests",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "failed_requests",
];

/// `daily.csv` (CONTRACT §6). `cost_usd` is empty where a billable call had no rate.
pub fn daily_table(d: &Daily) -> Table {
    table(
        &DAILY_HEADER,
        d.rows.iter().map(|r| {
            vec![
                r.day.to_string(),
                r.provider.to_string(),
                r.model.to_string(),
                r.requests.to_string(),
                r.prompt_tokens.to_string(),
                r.cached_tokens.to_string(),
                r.cache_write_tokens.to_string(),
                r.completion_tokens.to_string(),
                r.total_tokens().to_string(),
                r.cost_usd.map(money).unwrap_or_default(),
                r.failed_requests.to_string(),
            ]
        }),
    )
}

/// Per-file accounting: read = used + out_of_range + rejected.
pub fn files_table(files: &[FileStats]) -> Table {
    table(
        &[
            "file",
            "rows_read",
            "rows_used",
            "rows_out_of_range",
            "rows_rejected",
        ],
        files.iter().map(|f| {
            vec![
                f.file.to_string(),
                f.read.to_string(),
                f.used.to_string(),
                f.out_of_range.to_string(),
                f.rejected.to_string(),
            ]
        }),
    )
}

/// Rejected rows of inputs read whole (invoices, ledgers), in `rejected.csv`'s columns.
pub fn rejections_table(rows: &[Rejection]) -> Table {
    table(
        &crate::sources::rejects::REJECTED_HEADER,
        rows.iter().map(|r| {
            vec![
                r.file.to_string(),
                r.line.to_string(),
                r.column.unwrap_or("").to_string(),
                r.reason.to_string(),
                r.raw.to_string(),
            ]
        }),
    )
}

fn opt_money(m: Option<Money>) -> String {
    m.map(money).unwrap_or_default()
}

/// `fees.csv` (CONTRACT §6) plus a `note` in words.
pub fn fees_table(rows: &[FeeRow]) -> Table {
    table(
        &[
            "month",
            "provider",
            "kind",
            "basis_usd",
            "fee_usd",
            "expected_fee_usd",
            "status",
            "note",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.provider.to_string(),
                r.kind.as_str().to_string(),
                opt_money(r.basis_usd),
                opt_money(r.fee_usd),
                opt_money(r.expected_fee_usd),
                r.status.as_str().to_string(),
                r.note.to_string(),
            ]
        }),
    )
}

/// `topups.csv`: every purchase with its expected fee and what the credits cost with it, in
/// ledger order.
pub fn topups_table(checks: &[PurchaseCheck]) -> Table {
    table(
        &[
            "day",
            "provider",
            "method",
            "amount_usd",
            "fee_usd",
            "expected_fee_usd",
            "delta_usd",
            "expected_total_usd",
            "status",
            "file",
            "line",
        ],
        checks.iter().map(|c| {
            let p = &c.purchase;
            vec![
                p.day.to_string(),
                p.provider.to_string(),
                p.method.as_str().to_string(),
                money(p.amount_usd),
                opt_money(p.fee_usd),
                opt_money(c.expected_fee_usd),
                opt_money(c.delta_usd()),
                opt_money(c.expected_fee_usd.map(|f| p.amount_usd + f)),
                c.status.as_str().to_string(),
                p.file.to_string(),
                p.line.to_string(),
            ]
        }),
    )
}

/// `audit.csv` (CONTRACT §6).
pub fn audit_table(rows: &[AuditRow]) -> Table {
    table(
        &[
            "provider",
            "model",
            "status",
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "first_day",
            "last_day",
            "retired_on",
            "replacement",
            "note",
        ],
        rows.iter().map(|r| {
            vec![
                r.provider.to_string(),
                r.model.to_string(),
                r.status.as_str().to_string(),
                r.calls.to_string(),
                r.prompt_tokens.to_string(),
                r.completion_tokens.to_string(),
                opt_money(r.cost_usd),
                r.first_day.to_string(),
                r.last_day.to_string(),
                r.retired_on.map(|d| d.to_string()).unwrap_or_default(),
                safe_text(r.replacement.as_deref().unwrap_or("")).into_owned(),
                r.note.to_string(),
            ]
        }),
    )
}

/// `forecast.csv` (CONTRACT §6).
pub fn forecast_table(rows: &[ForecastRow]) -> Table {
    table(
        &[
            "month",
            "provider",
            "model",
            "days_seen",
            "days_in_month",
            "actual_usd",
            "forecast_usd",
            "low_usd",
            "high_usd",
            "method",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.provider.to_string(),
                r.model.to_string(),
                r.days_seen.to_string(),
                r.days_in_month.to_string(),
                opt_money(r.actual_usd),
                opt_money(r.forecast_usd),
                opt_money(r.low_usd),
                opt_money(r.high_usd),
                r.method.to_string(),
            ]
        }),
    )
}

/// `whatif.csv` (CONTRACT §6), also `fees --months`' `scenarios.csv`.
pub fn scenarios_table(rows: &[ScenarioRow]) -> Table {
    table(
        &[
            "month",
            "scenario",
            "provider",
            "usage_usd",
            "topup_fee_usd",
            "byok_fee_usd",
            "subscription_usd",
            "total_usd",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.scenario.to_string(),
                r.provider.to_string(),
                money(r.usage_usd),
                money(r.topup_fee_usd),
                money(r.byok_fee_usd),
                money(r.subscription_usd),
                money(r.total_usd()),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_text("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(safe_text("-1"), "'-1");
        assert_eq!(safe_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_text("\tx"), "'\tx");
        assert_eq!(safe_text("openai/gpt-5.4"), "openai/gpt-5.4");
    }

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

    #[test]
    fn money_is_plain_decimal() {
        assert_eq!(money(dec!(1055)), "1055.00");
        assert_eq!(money(dec!(0.0054000)), "0.0054");
        assert_eq!(money(dec!(12.5)), "12.50");
        assert_eq!(money(dec!(0.000000001)), "0.000000001");
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        write_atomic(&p, b"a\n").unwrap();
        write_atomic(&p, b"b\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

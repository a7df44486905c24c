//! Output writers: CSV that drops into a spreadsheet safely, written whole or not at all.
//!
//! Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV injection):
//! a leading single quote, and RFC 4180 quoting by the `csv` crate.

pub mod html;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::aggregate::Daily;
use crate::domain::Money;
use crate::fees::{FeeRow, PurchaseCheck};
use crate::forecast::run_rate::ForecastRow;
use crate::forecast::whatif::ScenarioRow;
use crate::input::{FileStats, Rejection};
use crate::insight::audit::AuditRow;

/// Neutralises a text cell that starts with `=`, `+`, `-`, `@`, tab, CR, LF or NUL.
pub fn safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n' | b'\0') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Money as exact decimal text: no exponent, no thousands separator, at least two decimals.
pub fn money(m: Money) -> String {
    let m = m.normalize();
    if m.scale() < 2 {
        let mut r = m;
        r.rescale(2);
        r.to_string()
    } else {
        m.to_string()
    }
}

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
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(body)?;
                out.flush()
            }
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

/// A table of already formatted cells (text cells already made spreadsheet-safe).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// RFC 4180 CSV, LF line ends.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(&self.header).expect("writing to memory");
        for r in &self.rows {
            w.write_record(r).expect("writing to memory");
        }
        w.into_inner().expect("writing to memory")
    }

    /// The rows as CSV without the header, to append to a file that has one.
    pub fn csv_rows(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for r in &self.rows {
            w.write_record(r).expect("writing to memory");
        }
        w.into_inner().expect("writing to memory")
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
                safe_text(&r.provider).into_owned(),
                safe_text(&r.model).into_owned(),
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
                safe_text(&f.file).into_owned(),
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
        &crate::input::rejects::REJECTED_HEADER,
        rows.iter().map(|r| {
            vec![
                safe_text(&r.file).into_owned(),
                r.line.to_string(),
                r.column.unwrap_or("").to_string(),
                safe_text(&r.reason).into_owned(),
                safe_text(&r.raw).into_owned(),
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
                safe_text(&r.provider).into_owned(),
                r.kind.as_str().to_string(),
                opt_money(r.basis_usd),
                opt_money(r.fee_usd),
                opt_money(r.expected_fee_usd),
                r.status.as_str().to_string(),
                safe_text(&r.note).into_owned(),
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
                safe_text(&p.provider).into_owned(),
                p.method.as_str().to_string(),
                money(p.amount_usd),
                opt_money(p.fee_usd),
                opt_money(c.expected_fee_usd),
                opt_money(c.delta_usd()),
                opt_money(c.expected_fee_usd.map(|f| p.amount_usd + f)),
                c.status.as_str().to_string(),
                safe_text(&p.file).into_owned(),
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
                safe_text(&r.provider).into_owned(),
                safe_text(&r.model).into_owned(),
                r.status.as_str().to_string(),
                r.calls.to_string(),
                r.prompt_tokens.to_string(),
                r.completion_tokens.to_string(),
                opt_money(r.cost_usd),
                r.first_day.to_string(),
                r.last_day.to_string(),
                r.retired_on.map(|d| d.to_string()).unwrap_or_default(),
                safe_text(r.replacement.as_deref().unwrap_or("")).into_owned(),
                safe_text(&r.note).into_owned(),
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
                safe_text(&r.provider).into_owned(),
                safe_text(&r.model).into_owned(),
                r.days_seen.to_string(),
                r.days_in_month.to_string(),
                opt_money(r.actual_usd),
                opt_money(r.forecast_usd),
                opt_money(r.low_usd),
                opt_money(r.high_usd),
                safe_text(&r.method).into_owned(),
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
                safe_text(&r.scenario).into_owned(),
                safe_text(&r.provider).into_owned(),
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

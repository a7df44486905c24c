//! The top-up ledger (`--topups PATH`, docs/formats.md §4): the credits bought from each gateway, one
//! row per purchase, so that the fee each purchase bore can be checked against the provider's
//! fee policy.
//!
//! Files, the header search (within the first 20 rows, case-insensitive, other columns ignored),
//! line numbers, cell references and masked raw rows work as for invoices (see
//! [`super::sheet`]): the two files come from the same people and the same spreadsheets.
//! Header: `date,provider,amount_usd,method`, optional `fee_usd`.
//!
//! - `date`: a plain day (`2026-04-28`, a date cell whose time is 00:00:00, a whole Excel serial
//!   number) is that calendar day as written: a ledger that records days has already decided
//!   which day a purchase belongs to, and moving it by `--tz` would push a month-end top-up into
//!   the wrong month. A date-time (text with a time, a date-time cell, a serial number with a
//!   fraction) is an instant, UTC unless it carries an offset (as invoices read them), and
//!   its day is the one in `--tz`, as for calls, so a purchase lands in the same month as the
//!   usage around it; a purchase exactly at local midnight belongs to the new day. A date-time
//!   cell at exactly 00:00:00 cannot be told from a date cell and counts as a plain day.
//! - `amount_usd`: an exact decimal above 0. A top-up buys credits; a refund or a zero row bears
//!   no top-up fee, and netting it in would lower the fee basis, so it is rejected, not summed.
//! - `method`: `card`, `crypto` or `invoice`, any case. The fee policy differs per method, so an
//!   unknown method cannot be priced and is rejected rather than guessed.
//! - `fee_usd`: empty means the ledger does not say (the fee can then only be modelled, not
//!   checked); else an exact decimal ≥ 0. It may exceed the amount (a minimum fee on a small
//!   top-up), so that is not checked here.
//! - `provider`: required, lower-cased to match the providers of the logs.
//!
//! Rows are not summed or de-duplicated: two equal rows are two purchases, and a minimum fee
//! applies per purchase.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, TimeZone};

use super::sheet::{
    self, decimal, instant_text, serial, text, Cell, Columns, Row, RowError, Shape,
};
use super::{FileStats, InputError, Rejection};
use crate::domain::{Day, Money, Period, TopupMethod};

/// One purchase of credits (a domain type: the fee model reads it too).
pub use crate::domain::Purchase;

/// Everything read from the `--topups` files.
#[derive(Debug, Clone, Default)]
pub struct TopupRead {
    /// In file order, then line order.
    pub purchases: Vec<Purchase>,
    /// In file order, then line order.
    pub rejections: Vec<Rejection>,
    /// One per file: read = used + rejected (out_of_range stays 0).
    pub files: Vec<FileStats>,
}

const SHAPES: [Shape<()>; 1] = [Shape {
    kind: (),
    title: "top-up ledger",
    required: &["date", "provider", "amount_usd", "method"],
    optional: &["fee_usd"],
}];

/// Reads every top-up ledger file: the purchases, the rejected rows and per-file counts. `sheet`
/// picks the XLSX sheet (default: the first); `tz` cuts date-times into days (default UTC).
pub fn read_topups(
    paths: &[PathBuf],
    sheet: Option<&str>,
    tz: Option<chrono_tz::Tz>,
) -> Result<TopupRead, InputError> {
    let files = sheet::expand(paths, "--topups", "top-up")?;
    let mut out = TopupRead::default();
    for path in &files {
        let name = path.display().to_string();
        let mut stats = FileStats {
            file: name.clone(),
            ..Default::default()
        };
        let each = |source: &sheet::Source, cols: &Columns<()>, row: &Row| {
            stats.read += 1;
            match parse_row(&name, row, source.is_csv(), cols, tz) {
                Ok(p) => {
                    stats.used += 1;
                    out.purchases.push(p);
                }
                Err(e) => {
                    stats.rejected += 1;
                    out.rejections.push(cols.rejection(&name, source, row, e));
                }
            }
        };
        sheet::read_table(path, sheet, "top-up", &SHAPES, "top-up ledger header", each)?;
        out.files.push(stats);
    }
    Ok(out)
}

fn parse_row(
    file: &str,
    row: &Row,
    is_csv: bool,
    cols: &Columns<()>,
    tz: Option<chrono_tz::Tz>,
) -> Result<Purchase, RowError> {
    cols.check_row(row, is_csv)?;
    let field = RowError::field;
    let required = |name: &'static str| cols.required(row, name);
    let day = purchase_day(required("date")?, tz).map_err(field("date"))?;
    let provider = text(required("provider")?)
        .map_err(field("provider"))?
        .to_ascii_lowercase();
    let amount_usd = purchase_amount(required("amount_usd")?).map_err(field("amount_usd"))?;
    let method = method(required("method")?).map_err(field("method"))?;
    let fee_usd = cols
        .optional(row, "fee_usd")
        .map(|c| fee(c).map_err(field("fee_usd")))
        .transpose()?;
    Ok(Purchase {
        file: file.to_string(),
        line: row.line,
        day,
        provider,
        amount_usd,
        method,
        fee_usd,
    })
}

/// A plain day as written, or a date-time's day in `tz` (UTC when `None`).
fn purchase_day(c: &Cell, tz: Option<chrono_tz::Tz>) -> Result<Day, String> {
    let at = match c {
        Cell::Text(s) if s.len() == 10 => {
            return NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Day::from_date)
                .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"));
        }
        Cell::Text(s) => instant_text(s).map_err(|_| {
            format!(
                "`{s}` is not a date (2026-04-28) or a date-time (2026-04-28 23:30:00, UTC \
                 unless it ends in Z or an offset such as +02:00)"
            )
        })?,
        Cell::DateTime(Some(dt)) => *dt,
        Cell::DateTime(None) => return Err("the date cell holds no real date".into()),
        Cell::Int(i) => serial(*i as f64)?,
        Cell::Float(f) => serial(*f)?,
        other => return Err(format!("`{}` is not a date", other.shown())),
    };
    // A cell or serial number at midnight is a day without a time; a text that writes a time
    // means the instant.
    if at.time() == NaiveTime::MIN && !matches!(c, Cell::Text(_)) {
        return Ok(Day::from_date(at.date()));
    }
    let date = match tz {
        None => at.date(),
        Some(tz) => tz.from_utc_datetime(&at).date_naive(),
    };
    Ok(Day::from_date(date))
}

fn purchase_amount(c: &Cell) -> Result<Money, String> {
    let m = decimal(c)?;
    if m <= Money::ZERO {
        return Err(format!(
            "amount_usd {} is not above 0: a top-up buys credits; refunds and zero rows are not \
             fee-bearing purchases",
            c.shown()
        ));
    }
    Ok(m)
}

fn method(c: &Cell) -> Result<TopupMethod, String> {
    let parsed = match c {
        Cell::Text(s) => TopupMethod::parse(s),
        _ => None,
    };
    parsed.ok_or_else(|| {
        let allowed: Vec<&str> = TopupMethod::ALL.iter().map(|m| m.as_str()).collect();
        format!(
            "`{}` is not a top-up method: expected {}",
            c.shown(),
            allowed.join(", ")
        )
    })
}

fn fee(c: &Cell) -> Result<Money, String> {
    let mut m = decimal(c)?;
    if m.is_sign_negative() && !m.is_zero() {
        return Err(format!(
            "negative fee_usd {}: a fee charged is 0 or more",
            c.shown()
        ));
    }
    // `-0` is a zero fee.
    m.set_sign_positive(true);
    Ok(m)
}

/// The ledger of a run: `read_topups` with the purchases outside `--from`/`--to` left out and
/// counted as out of range in `files.csv`, as log rows are. No paths: an empty ledger.
pub(crate) fn read_ledger(
    paths: &[PathBuf],
    sheet: Option<&str>,
    tz: Option<chrono_tz::Tz>,
    strict: bool,
    period: Period,
) -> Result<TopupRead, InputError> {
    if paths.is_empty() {
        return Ok(TopupRead::default());
    }
    let read = read_topups(paths, sheet, tz)?;
    if strict {
        if let Some(r) = read.rejections.first() {
            return Err(super::strict_stop(r));
        }
    }
    let mut files = read.files;
    let (purchases, outside): (Vec<Purchase>, Vec<Purchase>) = read
        .purchases
        .into_iter()
        .partition(|p| period.contains(p.day));
    for p in &outside {
        if let Some(f) = files.iter_mut().find(|f| f.file == p.file) {
            f.used -= 1;
            f.out_of_range += 1;
        }
    }
    Ok(TopupRead {
        purchases,
        rejections: read.rejections,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use rust_decimal_macros::dec;
    use std::path::Path;

    const BERLIN: Option<chrono_tz::Tz> = Some(chrono_tz::Europe::Berlin);
    const NEW_YORK: Option<chrono_tz::Tz> = Some(chrono_tz::America::New_York);

    fn dt(s: &str) -> Cell {
        Cell::DateTime(Some(
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap(),
        ))
    }

    fn day_of(c: Cell, tz: Option<chrono_tz::Tz>) -> Result<String, String> {
        purchase_day(&c, tz).map(|d| d.to_string())
    }

    #[test]
    fn plain_days_are_not_moved_by_the_time_zone() {
        for tz in [None, BERLIN, NEW_YORK] {
            assert_eq!(
                day_of(Cell::text("2026-04-01"), tz),
                Ok("2026-04-01".into())
            );
            assert_eq!(
                day_of(dt("2026-04-01 00:00:00"), tz),
                Ok("2026-04-01".into())
            );
            // Excel serial 46113 is 2026-04-01.
            assert_eq!(day_of(Cell::Int(46113), tz), Ok("2026-04-01".into()));
            assert_eq!(day_of(Cell::Float(46113.0), tz), Ok("2026-04-01".into()));
        }
    }

    #[test]
    fn date_times_are_instants_cut_in_the_time_zone() {
        // 22:00 UTC on 31 March is midnight in Berlin (CEST, UTC+2): the new day.
        let midnight = || Cell::text("2026-03-31T22:00:00Z");
        assert_eq!(day_of(midnight(), None), Ok("2026-03-31".into()));
        assert_eq!(day_of(midnight(), BERLIN), Ok("2026-04-01".into()));
        assert_eq!(
            day_of(Cell::text("2026-03-31T21:59:59.999Z"), BERLIN),
            Ok("2026-03-31".into())
        );
        // Without an offset a text date-time is UTC; with one it is honoured.
        assert_eq!(
            day_of(Cell::text("2026-03-31 23:30:00"), BERLIN),
            Ok("2026-04-01".into())
        );
        assert_eq!(
            day_of(Cell::text("2026-04-01 00:30:00+02:00"), None),
            Ok("2026-03-31".into())
        );
        // A text date-time at UTC midnight is still an instant (unlike a cell).
        assert_eq!(
            day_of(Cell::text("2026-04-01T00:00:00"), NEW_YORK),
            Ok("2026-03-31".into())
        );
        // Date-time cells and serial numbers with a fraction are instants too.
        assert_eq!(
            day_of(dt("2026-04-30 22:30:00"), BERLIN),
            Ok("2026-05-01".into())
        );
        assert_eq!(
            day_of(Cell::Float(46113.125), NEW_YORK),
            Ok("2026-03-31".into())
        );
    }

    #[test]
    fn bad_dates_say_what_was_expected() {
        assert_eq!(
            day_of(Cell::text("2026-04-31"), None),
            Err("`2026-04-31` is not a date (YYYY-MM-DD)".into())
        );
        let e = day_of(Cell::text("28.04.2026 10:00"), None).unwrap_err();
        assert!(
            e.contains("is not a date (2026-04-28) or a date-time"),
            "{e}"
        );
        assert!(day_of(Cell::Bool(true), None)
            .unwrap_err()
            .contains("`TRUE` is not a date"));
        assert!(day_of(Cell::Int(-1), None)
            .unwrap_err()
            .contains("Excel serial"));
        assert_eq!(
            day_of(Cell::DateTime(None), None),
            Err("the date cell holds no real date".into())
        );
    }

    #[test]
    fn amounts_methods_and_fees() {
        assert_eq!(purchase_amount(&Cell::text("100.50")), Ok(dec!(100.50)));
        assert_eq!(purchase_amount(&Cell::Float(0.1)), Ok(dec!(0.1)));
        for bad in ["0", "0.00", "-0", "-25"] {
            let e = purchase_amount(&Cell::text(bad)).unwrap_err();
            assert!(
                e.contains("is not above 0: a top-up buys credits"),
                "{bad}: {e}"
            );
        }
        assert!(purchase_amount(&Cell::text("$5"))
            .unwrap_err()
            .contains("`$5` is not a number"));
        assert_eq!(method(&Cell::text("CARD")), Ok(TopupMethod::Card));
        assert_eq!(method(&Cell::text("Crypto")), Ok(TopupMethod::Crypto));
        assert_eq!(method(&Cell::text("invoice")), Ok(TopupMethod::Invoice));
        assert_eq!(
            method(&Cell::text("paypal")),
            Err("`paypal` is not a top-up method: expected card, crypto, invoice".into())
        );
        assert!(method(&Cell::Int(1)).is_err());
        assert_eq!(fee(&Cell::text("0")), Ok(dec!(0)));
        let zero = fee(&Cell::text("-0.00")).unwrap();
        assert!(zero.is_zero() && zero.is_sign_positive());
        assert_eq!(fee(&Cell::Float(5.5)), Ok(dec!(5.5)));
        assert_eq!(
            fee(&Cell::text("-0.80")),
            Err("negative fee_usd -0.80: a fee charged is 0 or more".into())
        );
    }

    #[test]
    fn rows_parse_with_optional_fee() {
        let rows = sheet::csv_rows(
            Path::new("t.csv"),
            b"note,METHOD,amount_usd,provider,date,fee_usd\n\
              x,card, 12.5 , OpenRouter ,2026-04-02,\n\
              y,crypto,40,ominigate,2026-04-03,2\n",
        )
        .unwrap();
        let (h, cols) = sheet::find_header(&rows, &sheet::Source::Csv, &SHAPES, "h").unwrap();
        assert_eq!(h, 0);
        let p = parse_row("t.csv", &rows[1], true, &cols, None)
            .ok()
            .unwrap();
        assert_eq!(
            p,
            Purchase {
                file: "t.csv".into(),
                line: 2,
                day: Day::parse("2026-04-02").unwrap(),
                provider: "openrouter".into(),
                amount_usd: dec!(12.5),
                method: TopupMethod::Card,
                fee_usd: None,
            }
        );
        let p = parse_row("t.csv", &rows[2], true, &cols, None)
            .ok()
            .unwrap();
        assert_eq!((p.line, p.fee_usd), (3, Some(dec!(2))));
    }
}

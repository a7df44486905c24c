//! A cell and a row as read, where they came from (for cell references), and the parsers that
//! turn a cell into text, a token count, an amount, a day or an instant: what every table reader
//! takes from a row, apart from how the rows are read.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};

use super::{MAX_TOKENS, MAX_USD};
use crate::domain::{Day, Money};
use crate::sources::mask_secrets;

/// A cell as read, CSV fields being text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    /// Trimmed, never empty.
    Text(String),
    Int(i64),
    Float(f64),
    /// A date or date-time cell; `None` when it names no real date (Excel's 1900-02-29).
    DateTime(Option<NaiveDateTime>),
    Bool(bool),
    /// A spreadsheet error (`#N/A`) or a value of a kind no column takes (a duration).
    Other(String),
}

impl Cell {
    pub(crate) fn text(s: &str) -> Cell {
        let t = s.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    }

    pub(crate) fn shown(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => "".into(),
            Cell::Text(s) | Cell::Other(s) => s.as_str().into(),
            Cell::Int(i) => i.to_string().into(),
            Cell::Float(f) => f.to_string().into(),
            Cell::DateTime(Some(dt)) if dt.time() == chrono::NaiveTime::MIN => {
                dt.format("%Y-%m-%d").to_string().into()
            }
            Cell::DateTime(Some(dt)) => dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string().into(),
            Cell::DateTime(None) => "(invalid date)".into(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        }
    }
}

/// One physical row of a file.
pub(crate) struct Row {
    /// CSV: the line the record starts on; XLSX: the 1-based sheet row.
    pub line: u64,
    pub cells: Vec<Cell>,
    /// A problem with the row as a whole (CSV: invalid UTF-8).
    pub problem: Option<String>,
}

impl Row {
    pub(crate) fn is_blank(&self) -> bool {
        self.problem.is_none() && self.cells.iter().all(|c| *c == Cell::Empty)
    }

    /// The row as text, with empty fields up to `width` cells (a sheet row is shown as wide as
    /// the sheet's used range).
    pub(crate) fn raw_padded(&self, width: usize) -> String {
        // Past 200 characters the text is cut anyway.
        let pad = width.saturating_sub(self.cells.len()).min(201);
        let joined = self
            .cells
            .iter()
            .map(|c| c.shown())
            .chain(std::iter::repeat_n(Cow::Borrowed(""), pad))
            .collect::<Vec<_>>()
            .join(",");
        let masked = mask_secrets(&joined);
        if masked.chars().count() > 200 {
            masked.chars().take(200).collect::<String>() + "..."
        } else {
            masked
        }
    }
}

/// Where the rows came from, for cell references.
pub(crate) enum Source {
    Csv,
    Xlsx { sheet: String, first_col: u32 },
}

impl Source {
    pub(crate) fn is_csv(&self) -> bool {
        matches!(self, Source::Csv)
    }

    pub(crate) fn cell_ref(&self, line: u64, col: usize) -> Option<String> {
        match self {
            Source::Csv => None,
            Source::Xlsx { sheet, first_col } => {
                let quoted = if sheet.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    sheet.clone()
                } else {
                    format!("'{}'", sheet.replace('\'', "''"))
                };
                Some(format!(
                    "{quoted}!{}{line}",
                    column_letters(*first_col + col as u32)
                ))
            }
        }
    }
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`.
pub(crate) fn column_letters(mut col: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

pub(crate) fn civil(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())?.and_hms_milli_opt(
        h.into(),
        mi.into(),
        s.into(),
        ms.into(),
    )
}

pub(crate) fn text(c: &Cell) -> Result<String, String> {
    match c {
        Cell::Text(s) => Ok(s.clone()),
        Cell::Int(_) | Cell::Float(_) => Ok(c.shown().into_owned()),
        other => Err(format!("`{}` is not text", other.shown())),
    }
}

/// A number written as text: optional sign, digits with at most one `.`, optional exponent.
pub(crate) fn decimal_text(s: &str) -> Result<Money, String> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (mut digits, mut dot) = (0, false);
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    let mantissa_ok = digits > 0;
    let exp = i < b.len() && matches!(b[i], b'e' | b'E');
    if exp {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            i = usize::MAX;
        }
    }
    if !mantissa_ok || i != b.len() {
        return Err(format!("`{s}` is not a number"));
    }
    let parsed = if exp {
        Money::from_scientific(s)
    } else {
        Money::from_str_exact(s.strip_prefix('+').unwrap_or(s))
    };
    parsed.map_err(|_| format!("`{s}` is out of range for an exact decimal"))
}

pub(crate) fn non_number(c: &Cell) -> String {
    match c {
        Cell::DateTime(_) => format!("a date cell ({}) is not a number", c.shown()),
        Cell::Other(s) if s.starts_with('#') => format!("the cell holds the error {s}"),
        _ => format!("`{}` is not a number", c.shown()),
    }
}

pub(crate) fn tokens(c: &Cell) -> Result<u128, String> {
    let n = match c {
        Cell::Text(s) => decimal_text(s)?,
        Cell::Int(i) => Money::from(*i),
        Cell::Float(f) if f.is_finite() => {
            Money::from_str(&f.to_string()).map_err(|_| format!("{f} is not a token count"))?
        }
        other => return Err(non_number(other)),
    };
    if n.is_sign_negative() && !n.is_zero() {
        return Err(format!("negative token count {}", c.shown()));
    }
    if !n.fract().is_zero() {
        return Err(format!("{} is not a whole number of tokens", c.shown()));
    }
    let v = n.trunc().normalize().mantissa().unsigned_abs();
    if v > MAX_TOKENS {
        return Err(format!("token count {} is over 2^53", c.shown()));
    }
    Ok(v)
}

/// An exact decimal of either sign, from text or a number cell, at most [`MAX_USD`] either way.
pub(crate) fn decimal(c: &Cell) -> Result<Money, String> {
    let m = match c {
        Cell::Text(s) => decimal_text(s),
        Cell::Int(i) => Ok(Money::from(*i)),
        Cell::Float(f) if f.is_finite() => Money::from_str_exact(&f.to_string())
            .map_err(|_| format!("{f} cannot be held as an exact decimal amount")),
        other => Err(non_number(other)),
    }?;
    if m.abs() > Money::from(MAX_USD) {
        return Err(format!(
            "{} is over USD 10^15: not a real amount",
            c.shown()
        ));
    }
    Ok(m)
}

/// An exact decimal ≥ 0.
pub(crate) fn amount(c: &Cell) -> Result<Money, String> {
    let m = decimal(c)?;
    if m.is_sign_negative() && !m.is_zero() {
        return Err(format!("negative amount {}", c.shown()));
    }
    Ok(m)
}

/// Excel serial days (1900 date system) to a date-time; whole numbers are midnights.
pub(crate) fn serial(v: f64) -> Result<NaiveDateTime, String> {
    if !(1.0..2_958_466.0).contains(&v) {
        return Err(format!(
            "{v} is not a date (Excel serial dates run from 1 to 2958465)"
        ));
    }
    let (y, mo, d, h, mi, s, ms) =
        calamine::ExcelDateTime::new(v, calamine::ExcelDateTimeType::DateTime, false)
            .to_ymd_hms_milli();
    civil(y, mo, d, h, mi, s, ms).ok_or_else(|| format!("{v} is not a real date"))
}

/// A day as written: `YYYY-MM-DD` (a date-time text gives its date), a date or date-time cell,
/// or an Excel serial number. No time zone is applied.
pub(crate) fn day(c: &Cell) -> Result<Day, String> {
    let date = match c {
        Cell::Text(s) => {
            let ok = s.len() == 10 || matches!(s.as_bytes().get(10), Some(b'T' | b' '));
            let d = s
                .get(..10)
                .filter(|_| ok)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|_| s.len() == 10 || instant_text(s).is_ok());
            d.ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD)"))?
        }
        Cell::DateTime(Some(dt)) => dt.date(),
        Cell::DateTime(None) => return Err("the date cell holds no real date".into()),
        Cell::Int(i) => serial(*i as f64)?.date(),
        Cell::Float(f) => serial(*f)?.date(),
        other => return Err(format!("`{}` is not a date", other.shown())),
    };
    Ok(Day::from_date(date))
}

/// A UTC date-time as text: `2026-02-06 18:54:30.040` (or `T`), a `Z` or an offset honoured.
pub(crate) fn instant_text(s: &str) -> Result<NaiveDateTime, String> {
    let plain = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(plain, fmt) {
            return Ok(t);
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Ok(t.naive_utc());
        }
    }
    Err(format!(
        "`{s}` is not a date-time (expected e.g. 2026-02-06 18:54:30.040, UTC)"
    ))
}

/// A UTC date-time from text, a date-time cell or an Excel serial number.
pub(crate) fn instant(c: &Cell) -> Result<NaiveDateTime, String> {
    match c {
        Cell::Text(s) => instant_text(s),
        Cell::DateTime(Some(dt)) => Ok(*dt),
        Cell::DateTime(None) => Err("the date cell holds no real date".into()),
        Cell::Int(i) => serial(*i as f64),
        Cell::Float(f) => serial(*f),
        other => Err(format!("`{}` is not a date-time", other.shown())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn column_letters_are_excel_names() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn numbers() {
        let t = |s: &str| tokens(&Cell::text(s));
        assert_eq!(t("1200"), Ok(1200));
        assert_eq!(t("1200.0"), Ok(1200));
        assert_eq!(t("+7"), Ok(7));
        assert_eq!(t("-0"), Ok(0));
        assert!(t("-5").unwrap_err().contains("negative"));
        assert!(t("12.5").unwrap_err().contains("whole number"));
        assert!(t("1,200").unwrap_err().contains("not a number"));
        assert!(t("1_200").unwrap_err().contains("not a number"));
        assert!(t("abc").unwrap_err().contains("not a number"));
        assert!(t("9007199254740993").unwrap_err().contains("2^53"));
        assert_eq!(tokens(&Cell::Float(3.0)), Ok(3));
        assert!(tokens(&Cell::Float(3.5)).is_err());
        assert!(tokens(&Cell::Int(-1)).is_err());
        assert!(tokens(&Cell::Other("#N/A".into()))
            .unwrap_err()
            .contains("error #N/A"));
        let a = |s: &str| amount(&Cell::text(s));
        assert_eq!(a("12.34"), Ok(dec!(12.34)));
        assert_eq!(a("1.5E-05"), Ok(dec!(0.000015)));
        assert!(a("-1.00").unwrap_err().contains("negative"));
        assert!(a("$1.00").unwrap_err().contains("not a number"));
        assert!(a("1.").is_ok());
        assert!(a(".").is_err());
        // The float 0.1 + 0.2 is not 0.3; its shortest text is what the cell holds.
        assert_eq!(amount(&Cell::Float(0.1)), Ok(dec!(0.1)));
        assert_eq!(
            amount(&Cell::Float(0.1 + 0.2)),
            Ok(dec!(0.30000000000000004))
        );
        // Signed: what a reader with its own sign rule starts from.
        assert_eq!(decimal(&Cell::text("-1.50")), Ok(dec!(-1.50)));
        assert_eq!(decimal(&Cell::Int(-3)), Ok(dec!(-3)));
        assert!(decimal(&Cell::Bool(true))
            .unwrap_err()
            .contains("`TRUE` is not a number"));
        // No sum of real amounts leaves the decimal range.
        assert_eq!(a("1000000000000000"), Ok(dec!(1000000000000000)));
        assert!(a("1000000000000000.01")
            .unwrap_err()
            .contains("over USD 10^15"));
        assert!(decimal(&Cell::text("-79228162514264337593543950335"))
            .unwrap_err()
            .contains("over USD 10^15"));
        assert!(amount(&Cell::Float(1e20))
            .unwrap_err()
            .contains("over USD 10^15"));
    }

    #[test]
    fn dates_and_instants() {
        let d = |c: Cell| day(&c).map(|d| d.to_string());
        assert_eq!(d(Cell::text("2026-04-28")), Ok("2026-04-28".into()));
        assert_eq!(
            d(Cell::text("2026-04-28T00:00:00")),
            Ok("2026-04-28".into())
        );
        assert!(d(Cell::text("2026-04-31")).is_err());
        assert!(d(Cell::text("28/04/2026")).is_err());
        assert!(d(Cell::text("2026-04-28x")).is_err());
        // Excel serial 46140 is 2026-04-28.
        assert_eq!(d(Cell::Float(46140.0)), Ok("2026-04-28".into()));
        assert_eq!(d(Cell::Float(46140.75)), Ok("2026-04-28".into()));
        assert!(d(Cell::Float(-3.0)).is_err());
        let i = |s: &str| instant_text(s).map(|t| t.to_string());
        assert_eq!(
            i("2026-02-06 18:54:30.040"),
            Ok("2026-02-06 18:54:30.040".into())
        );
        assert_eq!(i("2026-02-06T18:54:30Z"), Ok("2026-02-06 18:54:30".into()));
        assert_eq!(
            i("2026-02-06 20:54:30+02:00"),
            Ok("2026-02-06 18:54:30".into())
        );
        assert!(i("2026-02-06").is_err());
        assert!(i("yesterday").is_err());
    }

    #[test]
    fn cell_references_quote_sheet_names() {
        let plain = Source::Xlsx {
            sheet: "Ledger".into(),
            first_col: 0,
        };
        assert_eq!(plain.cell_ref(7, 2).as_deref(), Some("Ledger!C7"));
        let spaced = Source::Xlsx {
            sheet: "Top-ups 'Q2'".into(),
            first_col: 1,
        };
        assert_eq!(
            spaced.cell_ref(3, 0).as_deref(),
            Some("'Top-ups ''Q2'''!B3")
        );
        assert_eq!(Source::Csv.cell_ref(3, 0), None);
    }
}

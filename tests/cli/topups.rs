//! Top-up ledger reading (docs/formats.md §4, §7) on hand-written fixtures in `tests/fixtures/topups/`,
//! plus an XLSX built here with rust_xlsxwriter (no binary is committed).

use std::path::{Path, PathBuf};

use crate::util::{fixture, rejected, stats};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use spendrecon::domain::{Day, TopupMethod};
use spendrecon::sources::topups::{read_topups, Purchase, TopupRead};
use spendrecon::sources::InputError;

const BERLIN: Option<chrono_tz::Tz> = Some(chrono_tz::Europe::Berlin);
const NEW_YORK: Option<chrono_tz::Tz> = Some(chrono_tz::America::New_York);

fn read(paths: &[PathBuf], sheet: Option<&str>, tz: Option<chrono_tz::Tz>) -> TopupRead {
    read_topups(paths, sheet, tz).unwrap()
}

fn read_err(paths: &[PathBuf], sheet: Option<&str>) -> String {
    match read_topups(paths, sheet, None) {
        Err(e @ InputError::File { .. }) => e.to_string(),
        Err(e) => panic!("expected a file error, got {e}"),
        Ok(r) => panic!("expected an error, read {r:?}"),
    }
}

fn purchase(
    file: &Path,
    line: u64,
    day: &str,
    provider: &str,
    amount: Decimal,
    method: TopupMethod,
    fee: Option<Decimal>,
) -> Purchase {
    Purchase {
        file: file.display().to_string(),
        line,
        day: Day::parse(day).unwrap(),
        provider: provider.into(),
        amount_usd: amount,
        method,
        fee_usd: fee,
    }
}

/// (line, day) of each purchase.
fn days(r: &TopupRead) -> Vec<(u64, String)> {
    r.purchases
        .iter()
        .map(|p| (p.line, p.day.to_string()))
        .collect()
}

use TopupMethod::{Card, Crypto, Invoice};

#[test]
fn every_method_with_and_without_fee() {
    let f = fixture("topups/ledger.csv");
    let g = fixture("topups/ledger_no_fee.csv");
    let r = read(&[f.clone(), g.clone()], None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(r.files, vec![stats(&f, 5, 5, 0), stats(&g, 2, 2, 0)]);
    assert_eq!(
        r.purchases,
        vec![
            // Header names in any case; `Note` is ignored; providers lower-cased and trimmed.
            purchase(
                &f,
                2,
                "2026-04-01",
                "openrouter",
                dec!(100.00),
                Card,
                Some(dec!(5.50))
            ),
            // An empty fee_usd is absent, not zero.
            purchase(&f, 3, "2026-04-02", "openrouter", dec!(20), Card, None),
            purchase(
                &f,
                4,
                "2026-04-03",
                "openrouter",
                dec!(250.00),
                Crypto,
                Some(dec!(12.50))
            ),
            // A fee of 0 is given, and is zero.
            purchase(
                &f,
                5,
                "2026-04-15",
                "ominigate",
                dec!(500),
                Invoice,
                Some(dec!(0))
            ),
            // A date-time without an offset is UTC: 23:30 on 04-28.
            purchase(
                &f,
                6,
                "2026-04-28",
                "openrouter",
                dec!(10),
                Card,
                Some(dec!(0.80))
            ),
            // No fee_usd column at all; columns in another order.
            purchase(&g, 2, "2026-04-20", "openrouter", dec!(75.25), Crypto, None),
            purchase(&g, 3, "2026-04-30", "ominigate", dec!(1000), Invoice, None),
        ]
    );
    // Under Berlin (CEST, UTC+2) only the date-time moves: 23:30 UTC is 01:30 on 04-29.
    let r = read(std::slice::from_ref(&f), None, BERLIN);
    assert_eq!(
        days(&r),
        vec![
            (2, "2026-04-01".into()),
            (3, "2026-04-02".into()),
            (4, "2026-04-03".into()),
            (5, "2026-04-15".into()),
            (6, "2026-04-29".into()),
        ]
    );
}

#[test]
fn each_bad_row_is_rejected_with_line_and_column() {
    let f = fixture("topups/bad.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let got = rejected(&r.rejections);
    let above_0 = "is not above 0: a top-up buys credits; refunds and zero rows are not fee-bearing purchases";
    let want: Vec<(u64, Option<&str>, String)> = vec![
        (
            3,
            Some("date"),
            "`2026-04-31` is not a date (YYYY-MM-DD)".into(),
        ),
        (
            4,
            Some("date"),
            "`yesterday` is not a date (2026-04-28) or a date-time (2026-04-28 23:30:00, UTC \
             unless it ends in Z or an offset such as +02:00)"
                .into(),
        ),
        (5, Some("date"), "date is empty".into()),
        (6, Some("provider"), "provider is empty".into()),
        (7, Some("amount_usd"), format!("amount_usd 0 {above_0}")),
        (
            8,
            Some("amount_usd"),
            format!("amount_usd -25.00 {above_0}"),
        ),
        (9, Some("amount_usd"), "`USD 10` is not a number".into()),
        (
            10,
            Some("method"),
            "`paypal` is not a top-up method: expected card, crypto, invoice".into(),
        ),
        (11, Some("method"), "method is empty".into()),
        (
            12,
            Some("fee_usd"),
            "negative fee_usd -0.55: a fee charged is 0 or more".into(),
        ),
        (13, Some("fee_usd"), "`abc` is not a number".into()),
        // Line 14 is blank: not a row.
        (15, None, "row has 4 fields, the header has 5".into()),
        // An unquoted thousands separator shifts the row.
        (16, None, "row has 6 fields, the header has 5".into()),
        (17, Some("amount_usd"), "`1,000` is not a number".into()),
    ];
    assert_eq!(got, want);
    // Lines 2–13 and 15–18: 16 rows read, lines 2 and 18 used.
    assert_eq!(r.files, vec![stats(&f, 16, 2, 14)]);
    assert_eq!(
        r.purchases,
        vec![
            purchase(
                &f,
                2,
                "2026-04-01",
                "openrouter",
                dec!(100),
                Card,
                Some(dec!(5.50))
            ),
            // 23:00 at +02:00 is 21:00 UTC, still 04-30.
            purchase(
                &f,
                18,
                "2026-04-30",
                "openrouter",
                dec!(30),
                Crypto,
                Some(dec!(1.50))
            ),
        ]
    );
    let first = &r.rejections[0];
    assert_eq!(first.file, f.display().to_string());
    assert_eq!(first.raw, "2026-04-31,openrouter,100,card,5.50");
    assert_eq!(
        first.to_string(),
        format!(
            "{}:3: column date: `2026-04-31` is not a date (YYYY-MM-DD)",
            f.display()
        )
    );
}

#[test]
fn local_midnight_belongs_to_the_new_day() {
    let f = fixture("topups/midnight.csv");
    // Rows: 2 22:00Z 03-31, 3 21:59:59.999Z 03-31, 4 plain day 04-01, 5 00:30+02:00 04-01
    // (22:30Z 03-31), 6 23:30 (no offset: UTC) 03-31.
    let utc = read(std::slice::from_ref(&f), None, None);
    assert!(utc.rejections.is_empty(), "{:?}", utc.rejections);
    assert_eq!(
        days(&utc),
        vec![
            (2, "2026-03-31".into()),
            (3, "2026-03-31".into()),
            (4, "2026-04-01".into()),
            (5, "2026-03-31".into()),
            (6, "2026-03-31".into()),
        ]
    );
    // Berlin is on summer time (UTC+2) since 29 March: 22:00Z is exactly local midnight.
    let berlin = read(std::slice::from_ref(&f), None, BERLIN);
    assert_eq!(
        days(&berlin),
        vec![
            (2, "2026-04-01".into()),
            (3, "2026-03-31".into()),
            (4, "2026-04-01".into()),
            (5, "2026-04-01".into()),
            (6, "2026-04-01".into()),
        ]
    );
    // New York (EDT, UTC−4): every instant is on 03-31; the plain day stays 04-01 rather than
    // being read as UTC midnight and moved back.
    let ny = read(&[f], None, NEW_YORK);
    assert_eq!(
        days(&ny),
        vec![
            (2, "2026-03-31".into()),
            (3, "2026-03-31".into()),
            (4, "2026-04-01".into()),
            (5, "2026-03-31".into()),
            (6, "2026-03-31".into()),
        ]
    );
    // The amounts follow their rows whatever the zone: 10 + 20 + 30 + 40 + 50.
    let total: Decimal = berlin.purchases.iter().map(|p| p.amount_usd).sum();
    assert_eq!(total, dec!(150));
}

#[test]
fn title_row_bom_crlf_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ledger.csv");
    let mut bytes = "\u{feff}Top-up ledger, April 2026\r\n\
                     \r\n\
                     DATE , Provider,AMOUNT_USD,Method\r\n\
                     2026-04-05,openrouter,40,card\r\n\
                     2026-04-06,openrouter,x,card\r\n"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(b"2026-04-07,open\xffrouter,1,card\r\n");
    bytes.extend_from_slice(b"2026-04-08,\"Omini\r\nGate\",2,invoice\r\n");
    std::fs::write(&f, bytes).unwrap();
    let r = read(std::slice::from_ref(&f), None, None);
    // The title is line 1, line 2 is blank, the header line 3; the quoted provider spans
    // lines 7–8.
    assert_eq!(
        r.purchases,
        vec![
            purchase(&f, 4, "2026-04-05", "openrouter", dec!(40), Card, None),
            purchase(&f, 7, "2026-04-08", "omini\r\ngate", dec!(2), Invoice, None),
        ]
    );
    assert_eq!(
        rejected(&r.rejections),
        vec![
            (5, Some("amount_usd"), "`x` is not a number".to_string()),
            (6, None, "field 2 is not valid UTF-8".to_string()),
        ]
    );
    assert_eq!(r.files, vec![stats(&f, 4, 2, 2)]);
}

#[test]
fn unknown_header_lists_the_expected_and_the_seen_columns() {
    let f = fixture("topups/unknown_header.csv");
    let e = read_err(std::slice::from_ref(&f), None);
    assert_eq!(
        e,
        format!(
            "{}: unknown top-up ledger header: no row in the first 20 holds the required columns. \
             Expected: top-up ledger (date, provider, amount_usd, method; optional fee_usd). \
             Columns seen on line 2: date, vendor, usd, how (top-up ledger lacks provider, \
             amount_usd, method)",
            f.display()
        )
    );
    // An invoice is no ledger: it lacks only `method`.
    let inv = fixture("invoices/daily_lines.csv");
    let e = read_err(&[inv], None);
    assert!(e.ends_with("(top-up ledger lacks method)"), "{e}");
}

#[test]
fn files_directories_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let header = "date,provider,amount_usd,method\n";
    std::fs::write(
        dir.path().join("b.csv"),
        format!("{header}2026-04-02,x,2,card\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.csv"),
        format!("{header}2026-04-01,x,1,card\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a ledger").unwrap();
    // A directory is its .csv and .xlsx files in name order; other files are not read.
    let r = read(&[dir.path().to_path_buf()], None, None);
    let files: Vec<String> = r.files.iter().map(|s| s.file.clone()).collect();
    assert_eq!(
        files,
        vec![
            dir.path().join("a.csv").display().to_string(),
            dir.path().join("b.csv").display().to_string()
        ]
    );
    let amounts: Vec<Decimal> = r.purchases.iter().map(|p| p.amount_usd).collect();
    assert_eq!(amounts, vec![dec!(1), dec!(2)]);

    let txt = dir.path().join("notes.txt");
    assert!(read_err(&[txt], None).ends_with("unknown top-up format: expected .csv or .xlsx"));
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    assert!(read_err(&[empty_dir], None).ends_with("directory holds no .csv or .xlsx top-up files"));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(read_err(&[empty], None).contains("no header row"));
    match read_topups(&[], None, None) {
        Err(InputError::Usage(m)) => assert_eq!(m, "no top-up files given (--topups)"),
        other => panic!("expected a usage error, got {other:?}"),
    }
}

/// A `Summary` sheet first, then `Ledger`: a title row, the header on row 3 (another column
/// order, an extra column), a real date cell, a date-time cell, an Excel serial number, a
/// date-time cell at midnight, numbers as text, a blank row and three bad rows.
fn build_xlsx(path: &Path) {
    let mut wb = Workbook::new();
    let summary = wb.add_worksheet();
    summary.set_name("Summary").unwrap();
    summary.write_string(0, 0, "Bought").unwrap();
    summary.write_number(0, 1, 285).unwrap();

    let date = Format::new().set_num_format("yyyy-mm-dd");
    let date_time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = wb.add_worksheet();
    ws.set_name("Ledger").unwrap();
    ws.write_string(0, 0, "Credits bought, April 2026").unwrap();
    for (c, h) in [
        "Date",
        "Provider",
        "Method",
        "Amount_USD",
        "Note",
        "Fee_USD",
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_string(2, c as u16, h).unwrap();
    }
    // Row 4: a real date cell, number cells.
    ws.write_datetime_with_format(3, 0, ExcelDateTime::from_ymd(2026, 4, 28).unwrap(), &date)
        .unwrap();
    ws.write_string(3, 1, "OpenRouter").unwrap();
    ws.write_string(3, 2, "card").unwrap();
    ws.write_number(3, 3, 100).unwrap();
    ws.write_number(3, 5, 5.5).unwrap();
    // Row 5: a date-time cell (22:30 UTC on 04-30); the amount as text; no fee.
    let at = ExcelDateTime::from_ymd(2026, 4, 30)
        .unwrap()
        .and_hms(22, 30, 0)
        .unwrap();
    ws.write_datetime_with_format(4, 0, &at, &date_time)
        .unwrap();
    ws.write_string(4, 1, "openrouter").unwrap();
    ws.write_string(4, 2, "Crypto").unwrap();
    ws.write_string(4, 3, "25.00").unwrap();
    ws.write_string(4, 4, "USDC").unwrap();
    // Row 6: the date as a plain serial number (46141 = 2026-04-29); amount and fee as text.
    ws.write_number(5, 0, 46141).unwrap();
    ws.write_string(5, 1, "OminiGate").unwrap();
    ws.write_string(5, 2, "INVOICE").unwrap();
    ws.write_string(5, 3, "1.5E+02").unwrap();
    ws.write_string(5, 5, "0").unwrap();
    // Row 7: a date-time cell at 00:00:00 counts as the plain day.
    let midnight = ExcelDateTime::from_ymd(2026, 4, 28)
        .unwrap()
        .and_hms(0, 0, 0)
        .unwrap();
    ws.write_datetime_with_format(6, 0, &midnight, &date_time)
        .unwrap();
    ws.write_string(6, 1, "openrouter").unwrap();
    ws.write_string(6, 2, "card").unwrap();
    ws.write_number(6, 3, 10).unwrap();
    ws.write_number(6, 5, 0.8).unwrap();
    // Row 8 blank. Row 9: an unknown method (column C).
    ws.write_string(8, 0, "2026-04-29").unwrap();
    ws.write_string(8, 1, "openrouter").unwrap();
    ws.write_string(8, 2, "wire").unwrap();
    ws.write_number(8, 3, 10).unwrap();
    // Row 10: a refund (column D).
    ws.write_string(9, 0, "2026-04-29").unwrap();
    ws.write_string(9, 1, "openrouter").unwrap();
    ws.write_string(9, 2, "card").unwrap();
    ws.write_number(9, 3, -20).unwrap();
    // Row 11: a boolean where the fee belongs (column F).
    ws.write_string(10, 0, "2026-04-29").unwrap();
    ws.write_string(10, 1, "openrouter").unwrap();
    ws.write_string(10, 2, "card").unwrap();
    ws.write_number(10, 3, 10).unwrap();
    ws.write_boolean(10, 5, true).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_date_cells_date_time_cells_and_numbers_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ledger.xlsx");
    build_xlsx(&f);
    let r = read(std::slice::from_ref(&f), Some("Ledger"), None);
    assert_eq!(
        r.purchases,
        vec![
            purchase(
                &f,
                4,
                "2026-04-28",
                "openrouter",
                dec!(100),
                Card,
                Some(dec!(5.5))
            ),
            purchase(&f, 5, "2026-04-30", "openrouter", dec!(25.00), Crypto, None),
            purchase(
                &f,
                6,
                "2026-04-29",
                "ominigate",
                dec!(150),
                Invoice,
                Some(dec!(0))
            ),
            purchase(
                &f,
                7,
                "2026-04-28",
                "openrouter",
                dec!(10),
                Card,
                Some(dec!(0.8))
            ),
        ]
    );
    // Rows 4–7 and 9–11 are read (row 8 is blank; rows 1–3 are the title and the header).
    assert_eq!(r.files, vec![stats(&f, 7, 4, 3)]);
    let above_0 = "is not above 0: a top-up buys credits; refunds and zero rows are not fee-bearing purchases";
    assert_eq!(
        rejected(&r.rejections),
        vec![
            (
                9,
                Some("method"),
                "Ledger!C9: `wire` is not a top-up method: expected card, crypto, invoice".into()
            ),
            (
                10,
                Some("amount_usd"),
                format!("Ledger!D10: amount_usd -20 {above_0}")
            ),
            (
                11,
                Some("fee_usd"),
                "Ledger!F11: `TRUE` is not a number".into()
            ),
        ]
    );
    assert_eq!(r.rejections[0].raw, "2026-04-29,openrouter,wire,10,,");

    // Under Berlin only the date-time cell moves (22:30 UTC is 00:30 on 05-01); the date cell,
    // the serial number and the midnight cell are days as written.
    let r = read(std::slice::from_ref(&f), Some("Ledger"), BERLIN);
    assert_eq!(
        days(&r),
        vec![
            (4, "2026-04-28".into()),
            (5, "2026-05-01".into()),
            (6, "2026-04-29".into()),
            (7, "2026-04-28".into()),
        ]
    );

    // Under New York (UTC−4) a day taken for UTC midnight would fall back a day; days as written
    // do not move, and 22:30 UTC is 18:30 on 04-30.
    let r = read(std::slice::from_ref(&f), Some("Ledger"), NEW_YORK);
    assert_eq!(
        days(&r),
        vec![
            (4, "2026-04-28".into()),
            (5, "2026-04-30".into()),
            (6, "2026-04-29".into()),
            (7, "2026-04-28".into()),
        ]
    );

    // Without a sheet name the first sheet is read, and it is no ledger.
    let e = read_err(std::slice::from_ref(&f), None);
    assert!(
        e.contains("Columns seen on sheet `Summary` row 1: Bought, 285"),
        "{e}"
    );
}

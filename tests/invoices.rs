//! Invoice reading (CONTRACT §3, §7) on hand-computed fixtures in `tests/fixtures/invoices/`,
//! plus an XLSX built here with rust_xlsxwriter (no binary is committed).

use std::path::{Path, PathBuf};

use rust_decimal_macros::dec;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use spendrecon::domain::Day;
use spendrecon::input::invoices::{read_invoices, InvoiceLine, InvoiceRead};
use spendrecon::input::{FileStats, InputError};
use spendrecon::pricing::slugs::SlugMap;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/invoices")
        .join(name)
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn read(paths: &[PathBuf], sheet: Option<&str>, tz: Option<chrono_tz::Tz>) -> InvoiceRead {
    read_invoices(paths, sheet, tz, &SlugMap::builtin()).unwrap()
}

fn read_err(paths: &[PathBuf], sheet: Option<&str>) -> String {
    match read_invoices(paths, sheet, None, &SlugMap::builtin()) {
        Err(e @ InputError::File { .. }) => e.to_string(),
        Err(e) => panic!("expected a file error, got {e}"),
        Ok(r) => panic!("expected an error, read {r:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    d: &str,
    provider: &str,
    model: &str,
    prompt: u128,
    completion: u128,
    cached: Option<u128>,
    cache_write: Option<u128>,
    requests: Option<u64>,
    amount: rust_decimal::Decimal,
) -> InvoiceLine {
    InvoiceLine {
        day: day(d),
        provider: provider.into(),
        model: model.into(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: cached,
        cache_write_tokens: cache_write,
        requests,
        amount_usd: amount,
    }
}

fn stats(file: &Path, read: u64, used: u64, rejected: u64) -> FileStats {
    FileStats {
        file: file.display().to_string(),
        read,
        used,
        out_of_range: 0,
        rejected,
    }
}

/// (line, column, start of reason) of each rejection, for compact assertions.
fn rejected(r: &InvoiceRead) -> Vec<(u64, Option<&'static str>, String)> {
    r.rejections
        .iter()
        .map(|x| (x.line, x.column, x.reason.clone()))
        .collect()
}

#[test]
fn daily_lines_csv_sums_lines_of_the_same_key() {
    let f = fixture("daily_lines.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    // Header names are trimmed and matched case-insensitively; `memo` is ignored; the blank
    // line 5 is not a row, so 4 rows are read.
    assert_eq!(r.files, vec![stats(&f, 4, 4, 0)]);
    assert_eq!(
        r.lines,
        vec![
            // A lone line; its empty optional cells stay absent.
            line(
                "2026-04-01",
                "ominigate",
                "openai/gpt-5-mini",
                300_000,
                40_000,
                None,
                None,
                None,
                dec!(0.155)
            ),
            // Lines 2 and 3 (provider `OpenRouter` lower-cased to `openrouter`):
            //   prompt      1,000,000 + 500,000 = 1,500,000
            //   completion    200,000 + 100,000 =   300,000
            //   cached        400,000 + 100,000 =   500,000
            //   cache write     (empty) + 50,000 =    50,000
            //   requests          120 + 60      =       180
            //   amount         5.1234 + 2.0001  =    7.1235
            line(
                "2026-04-01",
                "openrouter",
                "anthropic/claude-sonnet-4.6",
                1_500_000,
                300_000,
                Some(500_000),
                Some(50_000),
                Some(180),
                dec!(7.1235)
            ),
            line(
                "2026-04-02",
                "openrouter",
                "anthropic/claude-sonnet-4.6",
                10,
                5,
                None,
                None,
                Some(1),
                dec!(0.0001)
            ),
        ]
    );
}

const SONNET: &str = "anthropic/claude-sonnet-4.6";
/// `anthropic/claude-4.8-haiku-20260701` is in no slugs.csv row: the prefix rule cuts the date
/// and puts the family first.
const HAIKU: &str = "anthropic/claude-haiku-4.8";

#[test]
fn activity_export_in_utc() {
    let f = fixture("activity.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0)]);
    // Rows (UTC): a1 02-06 18:54:30.040, a2 02-06 23:59:59.999, a3 02-07 00:00:00.000 (midnight
    // belongs to the new day), a4 02-07 04:59:59.999, a5 02-07 05:00, a6 02-07 12:00.
    // a1, a2, a3 and a6 carry anthropic/claude-4.6-sonnet-20260217 (a slugs.csv row).
    assert_eq!(
        r.lines,
        vec![
            // a1 + a2: prompt 1000 + 20000 = 21000, completion 200 + 1000 = 1200,
            // cached 400 + 0 = 400, amount 0.0123 + 0.5 = 0.5123.
            line(
                "2026-02-06",
                "openrouter",
                SONNET,
                21_000,
                1_200,
                Some(400),
                None,
                Some(2),
                dec!(0.5123)
            ),
            // a4 + a5 (a5 cancelled, still billed): prompt 300 + 600 = 900, completion
            // 30 + 60 = 90, cached (empty) 0 + 0 = 0, amount 0.001 + 0.002 = 0.003.
            line(
                "2026-02-07",
                "openrouter",
                HAIKU,
                900,
                90,
                Some(0),
                None,
                Some(2),
                dec!(0.003)
            ),
            // a3 + a6 (a6 is BYOK: cost_total 0, byok_usage_inference 0.0456 not added):
            // prompt 10000 + 3000 = 13000, completion 500 + 100 = 600, cached 5000 + 0,
            // amount 0.25 + 0 = 0.25.
            line(
                "2026-02-07",
                "openrouter",
                SONNET,
                13_000,
                600,
                Some(5_000),
                None,
                Some(2),
                dec!(0.25)
            ),
        ]
    );
}

#[test]
fn activity_export_in_new_york() {
    let f = fixture("activity.csv");
    let r = read(&[f], None, Some(chrono_tz::America::New_York));
    // February: EST = UTC−5. a1 13:54 02-06, a2 18:59 02-06, a3 19:00 02-06,
    // a4 23:59:59.999 02-06, a5 00:00:00.000 02-07 (local midnight: the new day), a6 07:00 02-07.
    assert_eq!(
        r.lines,
        vec![
            // a4 alone.
            line(
                "2026-02-06",
                "openrouter",
                HAIKU,
                300,
                30,
                Some(0),
                None,
                Some(1),
                dec!(0.001)
            ),
            // a1 + a2 + a3: prompt 1000 + 20000 + 10000 = 31000, completion 200 + 1000 + 500
            // = 1700, cached 400 + 0 + 5000 = 5400, amount 0.0123 + 0.5 + 0.25 = 0.7623.
            line(
                "2026-02-06",
                "openrouter",
                SONNET,
                31_000,
                1_700,
                Some(5_400),
                None,
                Some(3),
                dec!(0.7623)
            ),
            // a5 alone.
            line(
                "2026-02-07",
                "openrouter",
                HAIKU,
                600,
                60,
                Some(0),
                None,
                Some(1),
                dec!(0.002)
            ),
            // a6 alone (BYOK, nothing billed by OpenRouter).
            line(
                "2026-02-07",
                "openrouter",
                SONNET,
                3_000,
                100,
                Some(0),
                None,
                Some(1),
                dec!(0)
            ),
        ]
    );
    // Same totals either way: 0.5123 + 0.003 + 0.25 = 0.7653 = 0.001 + 0.7623 + 0.002 + 0.
    let total: rust_decimal::Decimal = r.lines.iter().map(|l| l.amount_usd).sum();
    assert_eq!(total, dec!(0.7653));
}

#[test]
fn overlapping_activity_exports_do_not_count_a_generation_twice() {
    let f = fixture("activity.csv");
    // The same file named twice is read once.
    let r = read(&[f.clone(), f.clone()], None, None);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0)]);
    // A second export holding the same generations (another file) has them all rejected.
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("activity-again.csv");
    std::fs::copy(&f, &g).unwrap();
    let r = read(&[f.clone(), g.clone()], None, None);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0), stats(&g, 6, 0, 6)]);
    assert_eq!(r.rejections[0].line, 2);
    assert_eq!(r.rejections[0].column, Some("generation_id"));
    assert!(
        r.rejections[0]
            .reason
            .contains("gen-1770404070-a1` already read from"),
        "{}",
        r.rejections[0]
    );
    assert_eq!(r.lines, read(&[f], None, None).lines);
}

#[test]
fn bad_daily_rows_are_rejected_with_line_and_column() {
    let f = fixture("daily_bad.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let got = rejected(&r);
    let want: Vec<(u64, Option<&str>, &str)> = vec![
        (3, Some("date"), "`2026-02-30` is not a date"),
        (4, Some("prompt_tokens"), "negative token count -100"),
        (5, Some("completion_tokens"), "10.5 is not a whole number"),
        (6, Some("amount_usd"), "`USD 3` is not a number"),
        // Line 7 is blank: not a row.
        (8, Some("model"), "model is empty"),
        (9, Some("amount_usd"), "negative amount -0.01"),
        (10, None, "row has 7 fields, the header has 6"),
        (11, None, "row has 5 fields, the header has 6"),
        (12, Some("prompt_tokens"), "`1,000` is not a number"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, col, reason), (wl, wc, wr)) in got.iter().zip(&want) {
        assert_eq!((line, col), (wl, wc), "{reason}");
        assert!(reason.starts_with(wr), "line {line}: {reason:?} vs {wr:?}");
    }
    // Rows on lines 2–6 and 8–13: 11 read, the two good ones used.
    assert_eq!(r.files, vec![stats(&f, 11, 2, 9)]);
    // Lines 2 and 13: prompt 100 + 200, completion 10 + 20, amount 0.01 + 0.02.
    assert_eq!(
        r.lines,
        vec![line(
            "2026-04-03",
            "ominigate",
            "openai/gpt-5",
            300,
            30,
            None,
            None,
            None,
            dec!(0.03)
        )]
    );
    let first = &r.rejections[0];
    assert_eq!(first.file, f.display().to_string());
    assert_eq!(first.raw, "2026-02-30,ominigate,openai/gpt-5,100,10,0.01");
}

#[test]
fn bad_activity_rows_are_rejected_with_line_and_column() {
    let f = fixture("activity_bad.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let got = rejected(&r);
    // Line 1 is a title above the header on line 2.
    let want: Vec<(u64, Option<&str>, &str)> = vec![
        (
            4,
            Some("created_at"),
            "`2026-02-06 25:00:00.000` is not a date-time",
        ),
        (
            5,
            Some("model_permaslug"),
            "permaslug `gpt-5.4` maps to no public slug",
        ),
        (
            6,
            Some("generation_id"),
            "generation `gen-b1` already read from",
        ),
        (
            7,
            Some("tokens_cached"),
            "tokens_cached (200) exceed tokens_prompt (100)",
        ),
        (8, Some("cost_total"), "cost_total is empty"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, col, reason), (wl, wc, wr)) in got.iter().zip(&want) {
        assert_eq!((line, col), (wl, wc), "{reason}");
        assert!(reason.starts_with(wr), "line {line}: {reason:?} vs {wr:?}");
    }
    assert!(
        got[2].2.ends_with("activity_bad.csv:3; not counted twice"),
        "{}",
        got[2].2
    );
    assert_eq!(r.files, vec![stats(&f, 7, 2, 5)]);
    // Lines 3 and 9 (openai/gpt-5.4-20260305 is a slugs.csv row; line 9 is cancelled and
    // billed): prompt 100 + 200, completion 10 + 20, cached 0 + (empty) 0, amount 0.01 + 0.02.
    assert_eq!(
        r.lines,
        vec![line(
            "2026-02-06",
            "openrouter",
            "openai/gpt-5.4",
            300,
            30,
            Some(0),
            None,
            Some(2),
            dec!(0.03)
        )]
    );
}

#[test]
fn unknown_header_lists_known_shapes_and_the_columns_seen() {
    let f = fixture("unknown_header.csv");
    let e = read_err(&[f], None);
    assert!(e.contains("unknown_header.csv"), "{e}");
    assert!(e.contains("unknown invoice header"), "{e}");
    assert!(e.contains("daily invoice lines (date, provider, model, prompt_tokens, completion_tokens, amount_usd"), "{e}");
    assert!(
        e.contains("OpenRouter activity export (created_at, cost_total"),
        "{e}"
    );
    // No row names a required column; of those rows the widest is shown (line 2, not the
    // title on line 1), with what each shape lacks.
    assert!(
        e.contains("Columns seen on line 2: day, vendor, sku, qty, total"),
        "{e}"
    );
    assert!(
        e.contains("daily invoice lines lacks date, provider, model"),
        "{e}"
    );
}

#[test]
fn unknown_extension_and_missing_file_are_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("invoice.txt");
    std::fs::write(&txt, "date,provider\n").unwrap();
    assert!(read_err(&[txt], None).contains("expected .csv or .xlsx"));
    let missing = dir.path().join("missing.csv");
    assert!(read_err(&[missing], None).contains("missing.csv"));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(read_err(&[empty], None).contains("no header row"));
}

#[test]
fn bom_crlf_and_quoted_newlines_keep_physical_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("crlf.csv");
    std::fs::write(
        &f,
        "\u{feff}date,provider,model,prompt_tokens,completion_tokens,amount_usd\r\n\
         2026-04-01,ominigate,\"odd\r\nmodel\",1,1,0.01\r\n\
         2026-04-31,ominigate,m,1,1,0.01\r\n\
         \r\n\
         2026-04-01,ominigate,m,x,1,0.01\r\n",
    )
    .unwrap();
    let r = read(std::slice::from_ref(&f), None, None);
    let got: Vec<(u64, Option<&str>)> = r.rejections.iter().map(|x| (x.line, x.column)).collect();
    // The quoted record spans lines 2–3; the bad date is on line 4, line 5 is blank, the bad
    // token count on line 6.
    assert_eq!(got, vec![(4, Some("date")), (6, Some("prompt_tokens"))]);
    assert_eq!(r.files, vec![stats(&f, 3, 1, 2)]);
    assert_eq!(r.lines[0].model, "odd\r\nmodel");
}

/// Builds a workbook: a `Summary` sheet first, then `Usage` with a title row, a blank row, the
/// header on row 3 (columns in another order than the contract's), a real date cell, a date-time
/// cell, an Excel serial number, numbers stored as text, a blank row and a bad row.
fn build_xlsx(path: &Path) {
    let mut wb = Workbook::new();
    let summary = wb.add_worksheet();
    summary.set_name("Summary").unwrap();
    summary.write_string(0, 0, "Total").unwrap();
    summary.write_number(0, 1, 1.6).unwrap();

    let date = Format::new().set_num_format("yyyy-mm-dd");
    let date_time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = wb.add_worksheet();
    ws.set_name("Usage").unwrap();
    ws.write_string(0, 0, "OminiGate invoice INV-2026-04 (USD)")
        .unwrap();
    // Row 2 is left blank; the header is on row 3.
    for (c, h) in [
        "Model",
        "Date",
        "Provider",
        "Prompt_Tokens",
        "Completion_Tokens",
        "Amount_USD",
        "Requests",
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_string(2, c as u16, h).unwrap();
    }
    // Row 4: a real date cell; prompt tokens and requests stored as text; amount a float cell.
    ws.write_string(3, 0, "openai/gpt-5-mini").unwrap();
    ws.write_datetime_with_format(3, 1, ExcelDateTime::from_ymd(2026, 4, 28).unwrap(), &date)
        .unwrap();
    ws.write_string(3, 2, "OminiGate").unwrap();
    ws.write_string(3, 3, "120000").unwrap();
    ws.write_number(3, 4, 3400).unwrap();
    ws.write_number(3, 5, 0.4221).unwrap();
    ws.write_string(3, 6, "40").unwrap();
    // Row 5: the date as text; completion and amount stored as text.
    ws.write_string(4, 0, "openai/gpt-5-mini").unwrap();
    ws.write_string(4, 1, "2026-04-28").unwrap();
    ws.write_string(4, 2, "ominigate").unwrap();
    ws.write_number(4, 3, 80000).unwrap();
    ws.write_string(4, 4, "600").unwrap();
    ws.write_string(4, 5, "0.1779").unwrap();
    ws.write_number(4, 6, 20).unwrap();
    // Row 6: a date-time cell (its date counts); no requests.
    ws.write_string(5, 0, "anthropic/claude-sonnet-4.6")
        .unwrap();
    ws.write_datetime_with_format(
        5,
        1,
        ExcelDateTime::from_ymd(2026, 4, 29)
            .unwrap()
            .and_hms(13, 30, 0)
            .unwrap(),
        &date_time,
    )
    .unwrap();
    ws.write_string(5, 2, "ominigate").unwrap();
    ws.write_number(5, 3, 50000).unwrap();
    ws.write_number(5, 4, 2000).unwrap();
    ws.write_number(5, 5, 1.1).unwrap();
    // Row 7: the date as a plain Excel serial number (46141 = 2026-04-29), all else text.
    ws.write_string(6, 0, "anthropic/claude-sonnet-4.6")
        .unwrap();
    ws.write_number(6, 1, 46141).unwrap();
    ws.write_string(6, 2, "ominigate").unwrap();
    ws.write_string(6, 3, "25000").unwrap();
    ws.write_string(6, 4, "1000").unwrap();
    ws.write_string(6, 5, "0.5").unwrap();
    // Row 8 blank. Row 9: a negative token count, as text, in column D.
    ws.write_string(8, 0, "anthropic/claude-sonnet-4.6")
        .unwrap();
    ws.write_string(8, 1, "2026-04-29").unwrap();
    ws.write_string(8, 2, "ominigate").unwrap();
    ws.write_string(8, 3, "-5").unwrap();
    ws.write_number(8, 4, 1).unwrap();
    ws.write_number(8, 5, 0.01).unwrap();
    // Row 10: a boolean where a number belongs (column F).
    ws.write_string(9, 0, "anthropic/claude-sonnet-4.6")
        .unwrap();
    ws.write_string(9, 1, "2026-04-29").unwrap();
    ws.write_string(9, 2, "ominigate").unwrap();
    ws.write_number(9, 3, 1).unwrap();
    ws.write_number(9, 4, 1).unwrap();
    ws.write_boolean(9, 5, true).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_sheet_with_title_row_date_cells_and_numbers_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("invoice.xlsx");
    build_xlsx(&f);
    let r = read(std::slice::from_ref(&f), Some("Usage"), None);
    assert_eq!(
        r.lines,
        vec![
            // Sheet rows 4 and 5 (2026-04-28): prompt 120000 + 80000 = 200000, completion
            // 3400 + 600 = 4000, requests 40 + 20 = 60, amount 0.4221 + 0.1779 = 0.6000.
            line(
                "2026-04-28",
                "ominigate",
                "openai/gpt-5-mini",
                200_000,
                4_000,
                None,
                None,
                Some(60),
                dec!(0.6000)
            ),
            // Sheet rows 6 and 7 (2026-04-29): prompt 50000 + 25000 = 75000, completion
            // 2000 + 1000 = 3000, amount 1.1 + 0.5 = 1.6 (the float cell 1.1 read as exactly 1.1).
            line(
                "2026-04-29",
                "ominigate",
                "anthropic/claude-sonnet-4.6",
                75_000,
                3_000,
                None,
                None,
                None,
                dec!(1.6)
            ),
        ]
    );
    // Rows 4–7, 9 and 10 are read (row 8 is blank; rows 1–3 are the title and the header).
    assert_eq!(r.files, vec![stats(&f, 6, 4, 2)]);
    let got = rejected(&r);
    assert_eq!(
        got,
        vec![
            (
                9,
                Some("prompt_tokens"),
                "Usage!D9: negative token count -5".to_string()
            ),
            (
                10,
                Some("amount_usd"),
                "Usage!F10: `TRUE` is not a number".to_string()
            ),
        ]
    );
    assert_eq!(
        r.rejections[0].raw,
        "anthropic/claude-sonnet-4.6,2026-04-29,ominigate,-5,1,0.01,"
    );
}

#[test]
fn xlsx_first_sheet_by_default_and_missing_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("invoice.xlsx");
    build_xlsx(&f);
    // Without --sheet the first sheet (`Summary`) is read, and it is no invoice.
    let e = read_err(std::slice::from_ref(&f), None);
    assert!(
        e.contains("Columns seen on sheet `Summary` row 1: Total, 1.6"),
        "{e}"
    );
    let e = read_err(std::slice::from_ref(&f), Some("Nope"));
    assert!(
        e.contains("no sheet named `Nope`; the workbook has: Summary, Usage"),
        "{e}"
    );
    // A file that is not a workbook.
    let fake = dir.path().join("fake.xlsx");
    std::fs::write(&fake, "date,provider\n").unwrap();
    assert!(read_err(&[fake], None).contains("cannot open as XLSX"));
}

#[test]
fn xlsx_activity_export_with_date_time_cells() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("activity.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000");
    for (c, h) in [
        "generation_id",
        "created_at",
        "cost_total",
        "tokens_prompt",
        "tokens_completion",
        "tokens_cached",
        "model_permaslug",
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, h).unwrap();
    }
    // 2026-02-06 23:59:59.999 UTC and 2026-02-07 00:00:00 UTC, as date-time cells.
    let cells = [
        (
            ExcelDateTime::from_ymd(2026, 2, 6)
                .unwrap()
                .and_hms_milli(23, 59, 59, 999)
                .unwrap(),
            "0.5",
        ),
        (
            ExcelDateTime::from_ymd(2026, 2, 7)
                .unwrap()
                .and_hms(0, 0, 0)
                .unwrap(),
            "0.25",
        ),
    ];
    for (i, (t, cost)) in cells.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, format!("gen-x{i}")).unwrap();
        ws.write_datetime_with_format(r, 1, t, &fmt).unwrap();
        ws.write_string(r, 2, *cost).unwrap();
        ws.write_number(r, 3, 1000).unwrap();
        ws.write_number(r, 4, 10).unwrap();
        ws.write_number(r, 5, 0).unwrap();
        ws.write_string(r, 6, "anthropic/claude-4.6-sonnet-20260217")
            .unwrap();
    }
    wb.save(&f).unwrap();
    let r = read(&[f], None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    let days: Vec<(String, rust_decimal::Decimal)> = r
        .lines
        .iter()
        .map(|l| (l.day.to_string(), l.amount_usd))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-02-06".to_string(), dec!(0.5)),
            ("2026-02-07".to_string(), dec!(0.25))
        ]
    );
}

//! Invoice reading (docs/formats.md §3, §7) on hand-computed fixtures in `tests/fixtures/invoices/`,
//! plus an XLSX built here with rust_xlsxwriter (no binary is committed).

use std::path::{Path, PathBuf};

use crate::util::{day, declare_size, fixture, rejected, stats};
use rust_decimal_macros::dec;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use spendrecon::pricing::aliases::ModelNames;
use spendrecon::sources::invoices::{read_invoices, InvoiceLine, InvoiceRead};
use spendrecon::sources::InputError;

fn read(paths: &[PathBuf], sheet: Option<&str>, tz: Option<chrono_tz::Tz>) -> InvoiceRead {
    read_invoices(paths, sheet, tz, &ModelNames::builtin()).unwrap()
}

fn read_err(paths: &[PathBuf], sheet: Option<&str>) -> String {
    match read_invoices(paths, sheet, None, &ModelNames::builtin()) {
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
        tokens_known: true,
        amount_known: true,
        grain: spendrecon::sources::invoices::Grain::DayModel,
        invoice_id: None,
        written: Vec::new(),
    }
}

/// `l` with the names the bill wrote for its model (docs/formats.md §2 "Model names").
fn wrote(l: InvoiceLine, written: &[&str]) -> InvoiceLine {
    InvoiceLine {
        written: written.iter().map(|w| w.to_string()).collect(),
        ..l
    }
}

/// The activity fixture's lines with the permaslug each model was written as.
fn permaslugs(lines: Vec<InvoiceLine>) -> Vec<InvoiceLine> {
    lines
        .into_iter()
        .map(|l| match l.model.as_str() {
            SONNET => wrote(l, &["anthropic/claude-4.6-sonnet-20260217"]),
            HAIKU => wrote(l, &["anthropic/claude-4.8-haiku-20260701"]),
            _ => l,
        })
        .collect()
}

#[test]
fn daily_lines_csv_sums_lines_of_the_same_key() {
    let f = fixture("invoices/daily_lines.csv");
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
/// `anthropic/claude-4.8-haiku-20260701` resolves to no priced slug: the permaslug prefix rule
/// (docs/formats.md §3) cuts the date and puts the family first.
const HAIKU: &str = "anthropic/claude-haiku-4.8";

#[test]
fn activity_export_in_utc() {
    let f = fixture("invoices/activity.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0)]);
    // Rows (UTC): a1 02-06 18:54:30.040, a2 02-06 23:59:59.999, a3 02-07 00:00:00.000 (midnight
    // belongs to the new day), a4 02-07 04:59:59.999, a5 02-07 05:00, a6 02-07 12:00.
    // a1, a2, a3 and a6 carry anthropic/claude-4.6-sonnet-20260217 (a rates/aliases.csv row).
    assert_eq!(
        r.lines,
        permaslugs(vec![
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
        ])
    );
}

#[test]
fn activity_export_in_new_york() {
    let f = fixture("invoices/activity.csv");
    let r = read(&[f], None, Some(chrono_tz::America::New_York));
    // February: EST = UTC−5. a1 13:54 02-06, a2 18:59 02-06, a3 19:00 02-06,
    // a4 23:59:59.999 02-06, a5 00:00:00.000 02-07 (local midnight: the new day), a6 07:00 02-07.
    assert_eq!(
        r.lines,
        permaslugs(vec![
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
        ])
    );
    // Same totals either way: 0.5123 + 0.003 + 0.25 = 0.7653 = 0.001 + 0.7623 + 0.002 + 0.
    let total: rust_decimal::Decimal = r.lines.iter().map(|l| l.amount_usd).sum();
    assert_eq!(total, dec!(0.7653));
}

#[test]
fn a_generation_listed_again_is_billed_again() {
    let f = fixture("invoices/activity.csv");
    // The same file named twice is read once.
    let r = read(&[f.clone(), f.clone()], None, None);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0)]);
    assert_eq!(r.calls.len(), 6);
    // A second export holding the same generations (another file): every row is a charge the
    // gateway lists, counted on the bill (reconcile claims the repeats as `billed_twice`). It
    // used to be rejected as "already read; not counted twice", which hid a double charge.
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("activity-again.csv");
    std::fs::copy(&f, &g).unwrap();
    let r = read(&[f.clone(), g.clone()], None, None);
    assert_eq!(r.files, vec![stats(&f, 6, 6, 0), stats(&g, 6, 6, 0)]);
    assert!(r.rejections.is_empty());
    assert_eq!(r.calls.len(), 12);
    let once = read(&[f], None, None).lines;
    let twice: Vec<_> = once
        .iter()
        .map(|l| InvoiceLine {
            prompt_tokens: 2 * l.prompt_tokens,
            completion_tokens: 2 * l.completion_tokens,
            cached_tokens: l.cached_tokens.map(|c| 2 * c),
            requests: l.requests.map(|n| 2 * n),
            amount_usd: l.amount_usd + l.amount_usd,
            ..l.clone()
        })
        .collect();
    assert_eq!(r.lines, twice);
}

#[test]
fn bad_daily_rows_are_rejected_with_line_and_column() {
    let f = fixture("invoices/daily_bad.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let got = rejected(&r.rejections);
    let want: Vec<(u64, Option<&str>, &str)> = vec![
        (3, Some("date"), "`2026-02-30` is not a date"),
        (4, Some("prompt_tokens"), "negative token count -100"),
        (5, Some("completion_tokens"), "10.5 is not a whole number"),
        (6, Some("amount_usd"), "`USD 3` is not a number"),
        // Line 7 is blank: not a row. Line 8 has no model: the day's total (below), not an error.
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
    // Rows on lines 2–6 and 8–13: 11 read, the three good ones used.
    assert_eq!(r.files, vec![stats(&f, 11, 3, 8)]);
    // Line 8: the day's total of every model (`*`, sorted first); lines 2 and 13: prompt
    // 100 + 200, completion 10 + 20, amount 0.01 + 0.02.
    let total = InvoiceLine {
        grain: spendrecon::sources::invoices::Grain::Day,
        ..line(
            "2026-04-03",
            "ominigate",
            "*",
            100,
            10,
            None,
            None,
            None,
            dec!(0.01),
        )
    };
    assert_eq!(
        r.lines,
        vec![
            total,
            line(
                "2026-04-03",
                "ominigate",
                "openai/gpt-5",
                300,
                30,
                None,
                None,
                None,
                dec!(0.03)
            )
        ]
    );
    let first = &r.rejections[0];
    assert_eq!(first.file, f.display().to_string());
    assert_eq!(first.raw, "2026-02-30,ominigate,openai/gpt-5,100,10,0.01");
}

#[test]
fn bad_activity_rows_are_rejected_with_line_and_column() {
    let f = fixture("invoices/activity_bad.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let got = rejected(&r.rejections);
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
            "permaslug `not a model` maps to no public slug",
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
    // Line 6 repeats line 3's generation: billed again, so counted (per-call matching claims it).
    assert_eq!(r.files, vec![stats(&f, 7, 3, 4)]);
    // Lines 3, 6 and 9 (openai/gpt-5.4-20260305 is a rates/aliases.csv row; line 9 is cancelled
    // and billed): prompt 100 + 100 + 200, completion 10 + 10 + 20, cached 0 + 0 + (empty) 0,
    // amount 0.01 + 0.01 + 0.02.
    assert_eq!(
        r.lines,
        vec![wrote(
            line(
                "2026-02-06",
                "openrouter",
                "openai/gpt-5.4",
                400,
                40,
                Some(0),
                None,
                Some(3),
                dec!(0.04),
            ),
            &["openai/gpt-5.4-20260305"],
        )]
    );
}

#[test]
fn unknown_header_lists_known_shapes_and_the_columns_seen() {
    let f = fixture("invoices/unknown_header.csv");
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
    let got = rejected(&r.rejections);
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

// ---- XLSX edge cases and limits (streamed reading, docs/formats.md §7: a clear outcome for each) ----

const DAILY_HEADER: [&str; 6] = [
    "date",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "amount_usd",
];

/// Writes the daily-lines header on sheet row `row` (0-based) of `ws`.
fn daily_header(ws: &mut rust_xlsxwriter::Worksheet, row: u32) {
    for (c, h) in DAILY_HEADER.into_iter().enumerate() {
        ws.write_string(row, c as u16, h).unwrap();
    }
}

/// Writes a daily line on sheet row `row` (0-based), columns A–E; the amount (F) is left to the
/// caller.
fn daily_row(ws: &mut rust_xlsxwriter::Worksheet, row: u32, prompt: u32) {
    ws.write_string(row, 0, "2026-04-28").unwrap();
    ws.write_string(row, 1, "ominigate").unwrap();
    ws.write_string(row, 2, "openai/gpt-5-mini").unwrap();
    ws.write_number(row, 3, prompt).unwrap();
    ws.write_number(row, 4, 10).unwrap();
}

#[test]
fn xlsx_formula_cells_are_read_by_their_cached_result() {
    use rust_xlsxwriter::Formula;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("formulas.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    daily_header(ws, 0);
    // Row 2: a formula with the result the spreadsheet computed (as Excel saves it): read.
    daily_row(ws, 1, 100);
    ws.write_formula(1, 5, Formula::new("=0.25*2").set_result("0.5"))
        .unwrap();
    // Row 3: a formula in a token column, its result computed too.
    daily_row(ws, 2, 0);
    ws.write_formula(2, 3, Formula::new("=D2*2").set_result("200"))
        .unwrap();
    ws.write_number(2, 5, 0.25).unwrap();
    wb.save(&f).unwrap();
    let r = read(std::slice::from_ref(&f), None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(
        (r.lines[0].prompt_tokens, r.lines[0].amount_usd),
        (300, dec!(0.75))
    );

    // A writer that computes nothing may leave the result empty (rust_xlsxwriter with an empty
    // default result): the cell holds no value, and the row is rejected as an empty amount.
    let g = dir.path().join("uncomputed.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_formula_result_default("");
    daily_header(ws, 0);
    daily_row(ws, 1, 100);
    ws.write_formula(1, 5, "=0.25*2").unwrap();
    wb.save(&g).unwrap();
    let r = read(std::slice::from_ref(&g), None, None);
    assert_eq!(
        rejected(&r.rejections),
        vec![(
            2,
            Some("amount_usd"),
            "Sheet1!F2: amount_usd is empty".into()
        )]
    );

    // rust_xlsxwriter's default placeholder result is 0, and a file cannot tell a placeholder
    // from a computed 0: it is read as 0 (reconcile then shows the day's whole amount as a
    // difference).
    let h = dir.path().join("placeholder.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    daily_header(ws, 0);
    daily_row(ws, 1, 100);
    ws.write_formula(1, 5, "=0.25*2").unwrap();
    wb.save(&h).unwrap();
    let r = read(std::slice::from_ref(&h), None, None);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(r.lines[0].amount_usd, dec!(0));
}

#[test]
fn xlsx_error_cells_reject_their_row_naming_the_error() {
    use rust_xlsxwriter::Formula;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("errors.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Usage").unwrap();
    daily_header(ws, 0);
    daily_row(ws, 1, 100);
    ws.write_formula(
        1,
        5,
        Formula::new("=VLOOKUP(A2,Z:Z,2,0)").set_result("#N/A"),
    )
    .unwrap();
    daily_row(ws, 2, 100);
    ws.write_formula(2, 3, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    ws.write_number(2, 5, 0.5).unwrap();
    daily_row(ws, 3, 100);
    ws.write_formula(3, 0, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    ws.write_number(3, 5, 0.5).unwrap();
    daily_row(ws, 4, 100);
    ws.write_number(4, 5, 0.5).unwrap();
    wb.save(&f).unwrap();
    let r = read(std::slice::from_ref(&f), None, None);
    assert_eq!(
        rejected(&r.rejections),
        vec![
            (
                2,
                Some("amount_usd"),
                "Usage!F2: the cell holds the error #N/A".into()
            ),
            (
                3,
                Some("prompt_tokens"),
                "Usage!D3: the cell holds the error #DIV/0!".into()
            ),
            (4, Some("date"), "Usage!A4: `#DIV/0!` is not a date".into()),
        ]
    );
    assert_eq!(r.files, vec![stats(&f, 4, 1, 3)]);
}

#[test]
fn xlsx_merged_title_and_merged_header_cells() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("merged.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Usage").unwrap();
    // A title merged across the table (A1:G1), as invoices often have: its value is in A1 and
    // the other cells are empty, so the row is a title, not a header.
    ws.merge_range(0, 0, 0, 6, "OminiGate invoice, April 2026", &Format::new())
        .unwrap();
    // The header on row 2, `amount_usd` merged across F2:G2: the column is F, where the value is.
    for (c, h) in DAILY_HEADER[..5].iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    ws.merge_range(1, 5, 1, 6, "amount_usd", &Format::new())
        .unwrap();
    daily_row(ws, 2, 100);
    ws.write_number(2, 5, 0.5).unwrap();
    // An amount typed under the merged header's second column (G) is under no header: the row's
    // amount (F) is empty, and it is rejected with the cell reference.
    daily_row(ws, 3, 100);
    ws.write_number(3, 6, 0.5).unwrap();
    wb.save(&f).unwrap();
    let r = read(std::slice::from_ref(&f), None, None);
    assert_eq!(r.lines.len(), 1);
    assert_eq!(r.lines[0].amount_usd, dec!(0.5));
    assert_eq!(
        rejected(&r.rejections),
        vec![(
            4,
            Some("amount_usd"),
            "Usage!F4: amount_usd is empty".into()
        )]
    );
    assert_eq!(
        r.rejections[0].raw,
        "2026-04-28,ominigate,openai/gpt-5-mini,100,10,,0.5"
    );
}

/// Rewrites the parts of an XLSX archive through `edit(name, text)`.
fn rewrite_xlsx(path: &Path, edit: impl Fn(&str, String) -> String) {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        let mut text = String::new();
        e.read_to_string(&mut text).unwrap();
        let name = e.name().unwrap().into_owned();
        let text = edit(&name, text);
        parts.push((name, text));
    }
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, text) in parts {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap();
}

/// A one-sheet invoice: the header and one line with the amount 0.5, on sheet rows 1 and 2.
fn small_xlsx(path: &Path) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Usage").unwrap();
    daily_header(ws, 0);
    daily_row(ws, 1, 100);
    ws.write_string(1, 5, "0.5").unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_beyond_excel_rows_columns_or_cell_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("limits.xlsx");
    small_xlsx(&f);
    assert_eq!(read(std::slice::from_ref(&f), None, None).lines.len(), 1);

    // Row 2 moved below row 1,048,576.
    let rows = dir.path().join("rows.xlsx");
    std::fs::copy(&f, &rows).unwrap();
    rewrite_xlsx(&rows, |name, text| {
        if !name.contains("worksheets/") {
            return text;
        }
        let mut t = text.replace(r#"<row r="2""#, r#"<row r="1048577""#);
        for col in ["A", "B", "C", "D", "E", "F"] {
            t = t.replace(&format!(r#"r="{col}2""#), &format!(r#"r="{col}1048577""#));
        }
        t
    });
    let e = read_err(&[rows], None);
    assert!(
        e.ends_with(
            "rows.xlsx: cell Usage!A1048577 is below row 1,048,576, the last row a sheet can have"
        ),
        "{e}"
    );

    // The amount moved right of column XFD.
    let cols = dir.path().join("cols.xlsx");
    std::fs::copy(&f, &cols).unwrap();
    rewrite_xlsx(&cols, |name, text| {
        if name.contains("worksheets/") {
            text.replace(r#"r="F2""#, r#"r="XFE2""#)
        } else {
            text
        }
    });
    let e = read_err(&[cols], None);
    assert!(
        e.ends_with(
            "cell Usage!XFE2 is right of column XFD (16,384), the last column a sheet can have"
        ),
        "{e}"
    );

    // A text longer than a cell can hold (a spreadsheet cannot write it; a crafted file can).
    let long = dir.path().join("long.xlsx");
    std::fs::copy(&f, &long).unwrap();
    rewrite_xlsx(&long, |name, text| {
        if name.ends_with("sharedStrings.xml") {
            text.replace("openai/gpt-5-mini", &"x".repeat(40_000))
        } else {
            text
        }
    });
    let e = read_err(&[long], None);
    assert!(
        e.ends_with("cell Usage!C2 holds 40000 characters, more than a cell can hold (32767)"),
        "{e}"
    );
}

#[test]
fn xlsx_zip_bombs_are_refused_before_or_while_inflating() {
    let dir = tempfile::tempdir().unwrap();
    // A sheet that would uncompress to 3 GiB is refused from the zip directory, unread.
    let bomb = dir.path().join("bomb.xlsx");
    small_xlsx(&bomb);
    declare_size(&bomb, "xl/worksheets/sheet1.xml", 3 << 30);
    let e = read_err(&[bomb], None);
    assert!(
        e.ends_with(
            "XLSX part `xl/worksheets/sheet1.xml` uncompresses to 3 GiB (3221225472 bytes), \
             over the 2 GiB limit for one part (a sheet's XML): refused, as a zip bomb would be"
        ),
        "{e}"
    );
    // Shared strings are held whole in memory: their limit is 512 MiB.
    let strings = dir.path().join("strings.xlsx");
    small_xlsx(&strings);
    declare_size(&strings, "xl/sharedStrings.xml", 600 << 20);
    let e = read_err(&[strings], None);
    assert!(
        e.contains("uncompresses to 600 MiB (629145600 bytes), over the 512 MiB limit for a part read whole into memory"),
        "{e}"
    );
    // A directory that understates a part's size gets no more bytes than it declares: the zip
    // reader stops at the declared size with an error.
    let liar = dir.path().join("liar.xlsx");
    small_xlsx(&liar);
    declare_size(&liar, "xl/worksheets/sheet1.xml", 300);
    let e = read_err(&[liar], None);
    assert!(
        e.contains("cannot read sheet `Usage`: ")
            && e.contains("larger than its declared uncompressed size"),
        "{e}"
    );
}

#[test]
fn csv_record_over_64_mib_or_16384_fields_is_refused() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // An unclosed quote on line 3 swallows the rest of the file into one record.
    let f = dir.path().join("unclosed.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&f).unwrap());
    writeln!(w, "{}", DAILY_HEADER.join(",")).unwrap();
    writeln!(w, "2026-04-28,ominigate,openai/gpt-5-mini,100,10,0.5").unwrap();
    writeln!(w, "2026-04-28,ominigate,\"openai/gpt-5-mini,100,10,0.5").unwrap();
    let line = "2026-04-28,ominigate,openai/gpt-5-mini,100,10,0.5\n".repeat(1000);
    for _ in 0..(65 << 20) / line.len() + 1 {
        w.write_all(line.as_bytes()).unwrap();
    }
    drop(w);
    let e = read_err(std::slice::from_ref(&f), None);
    assert!(
        e.ends_with(
            "unclosed.csv: the CSV record starting on line 3 is longer than 64 MiB, the limit \
             for one record (an unclosed quote?)"
        ),
        "{e}"
    );
    std::fs::remove_file(&f).unwrap();

    let g = dir.path().join("wide.csv");
    let wide = format!("{}\n{}\n", DAILY_HEADER.join(","), ",".repeat(20_000));
    std::fs::write(&g, wide).unwrap();
    let e = read_err(&[g], None);
    assert!(
        e.ends_with(
            "the CSV record starting on line 2 has more than 16384 fields, the limit (a \
             spreadsheet's 16,384 columns)"
        ),
        "{e}"
    );
}

/// OpenRouter's aggregated activity export (one row per day × model, every value quoted, `Date`
/// with a midnight time): `Usage` is the amount; `BYOK Usage` (paid upstream) is not added;
/// permaslugs map to public slugs as in the per-generation export; `Reasoning Tokens` are part of
/// the completion and not added again.
#[test]
fn openrouter_aggregated_activity_export() {
    let f = fixture("invoices/openrouter_aggregated.csv");
    let r = read(std::slice::from_ref(&f), None, None);
    let or = "openrouter";
    let sonnet = "anthropic/claude-sonnet-4.6";
    let mini = "openai/gpt-5.4-mini";
    assert_eq!(
        r.lines,
        vec![
            line(
                "2026-05-12",
                or,
                sonnet,
                500_000,
                40_000,
                None,
                None,
                Some(120),
                dec!(1.234567)
            ),
            line(
                "2026-05-12",
                or,
                mini,
                100_000,
                20_000,
                None,
                None,
                Some(30),
                dec!(0.05)
            ),
            // The permaslug row of 05-13 is the same model as the public slug.
            wrote(
                line(
                    "2026-05-13",
                    or,
                    sonnet,
                    150_000,
                    10_000,
                    None,
                    None,
                    Some(40),
                    dec!(0.5),
                ),
                &["anthropic/claude-4.6-sonnet-20260217"],
            ),
            line(
                "2026-05-13",
                or,
                mini,
                40_000,
                8_000,
                None,
                None,
                Some(10),
                dec!(0.02)
            ),
        ]
    );
    assert_eq!(
        rejected(&r.rejections),
        vec![
            (6, Some("usage"), "`n/a` is not a number".into()),
            (
                7,
                Some("completion tokens"),
                "1.5 is not a whole number of tokens".into()
            ),
        ]
    );
    assert_eq!(r.files, vec![stats(&f, 6, 4, 2)]);
}

//! Bills at any grain (docs/formats.md §3, docs/commands/reconcile.md): OpenAI's costs export
//! without line items (day totals), its usage export with an idle bucket, monthly statements,
//! daily lines with day totals, and one gateway billed at two grains at once. The fixtures
//! (tests/fixtures/grain, sources in its README) are real OpenAI exports where one was published;
//! every expected row below is worked out by hand in that README:
//!
//! | day | logged (list prices) | costs export (day total) |
//! |---|---|---|
//! | 2025-10-05 | 0.24726 | 0.895874 |
//! | 2025-10-06 | 0.81584275 | 0.56177125 |
//! | 2025-10-07 | 0.569788 | 0.569788 |
//! | 2025-10-08 | (none) | 0.5455665 |
//! | 2025-10-10 | 0.3409 | 0.3409 |
//! | 2025-10-11 | 0.072054 | 0.072054 |

use std::path::{Path, PathBuf};

use crate::util::{day, fixture, read, root, run_out, spendrecon, stats};
use rust_decimal_macros::dec;
use spendrecon::pricing::aliases::ModelNames;
use spendrecon::pricing::slugs::SlugMap;
use spendrecon::pricing::RateTable;
use spendrecon::sources::invoices::{read_invoices, Grain, InvoiceRead};

fn g(name: &str) -> PathBuf {
    fixture("grain").join(name)
}

/// A bill read with the fixture's rate table: its names resolve to the slugs it prices.
fn read_bill(name: &str) -> InvoiceRead {
    let models = g("rates/models.csv");
    let rates = RateTable::parse(&models, &std::fs::read(&models).unwrap()).unwrap();
    let names = ModelNames::builtin_with(&rates, &SlugMap::builtin());
    read_invoices(&[g(name)], None, None, &names).unwrap()
}

/// `reconcile` of the fixture logs against `invoices` with the fixture rates; the output
/// directory and the exit status.
fn reconcile(invoices: &[PathBuf], extra: &[&str]) -> (tempfile::TempDir, i32, String) {
    let mut c = spendrecon();
    c.current_dir(root())
        .args(["reconcile", "--rates"])
        .arg(g("rates"))
        .arg("--logs")
        .arg(g("logs.jsonl"))
        .args(extra);
    for f in invoices {
        c.arg("--invoices").arg(f);
    }
    let (out, o) = run_out(&mut c);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    (out, o.status.code().unwrap(), stderr)
}

/// recon.csv without its header.
fn recon(out: &Path) -> Vec<String> {
    read(out, "recon.csv")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// A column of summary.csv's only row.
fn summary(out: &Path, column: &str) -> String {
    let text = read(out, "summary.csv");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let i = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap();
    rdr.records().next().unwrap().unwrap()[i].to_string()
}

const HEADER: &str = "day,provider,model,log_requests,log_prompt_tokens,log_completion_tokens,invoice_prompt_tokens,invoice_completion_tokens,delta_tokens,delta_pct,expected_usd,invoiced_usd,delta_usd,status,note";

#[test]
fn costs_export_without_line_items_bills_day_totals_and_skips_idle_buckets() {
    let r = read_bill("openai_costs_daily.csv");
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    // 8 rows: 6 amounts used, the idle buckets of 10-09 and 10-12 skipped, none rejected.
    let mut want = stats(&g("openai_costs_daily.csv"), 8, 6, 0);
    want.skipped = 2;
    assert_eq!(r.files, vec![want]);
    let got: Vec<_> = r
        .lines
        .iter()
        .map(|l| {
            (
                l.day,
                l.model.as_str(),
                l.grain,
                l.amount_usd,
                l.tokens_known,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (day("2025-10-05"), "*", Grain::Day, dec!(0.895874), false),
            (day("2025-10-06"), "*", Grain::Day, dec!(0.56177125), false),
            (day("2025-10-07"), "*", Grain::Day, dec!(0.569788), false),
            (day("2025-10-08"), "*", Grain::Day, dec!(0.5455665), false),
            (day("2025-10-10"), "*", Grain::Day, dec!(0.3409), false),
            (day("2025-10-11"), "*", Grain::Day, dec!(0.072054), false),
        ]
    );

    // End to end: one `*` row a day, compared on money; the day total owns the day's logged
    // tokens too (no line has tokens), shown and not compared.
    let (out, code, stderr) = reconcile(&[g("openai_costs_daily.csv")], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        recon(out.path()),
        [
            "2025-10-05,openai,*,1,59200,10646,,,,,0.24726,0.895874,0.648614,cost_mismatch,\"day total, every model; invoice USD 0.895874 vs USD 0.24726 at list prices (+0.648614)\"",
            "2025-10-06,openai,*,2,52047,76000,,,,,0.81584275,0.56177125,-0.2540715,cost_mismatch,\"day total, every model; invoice USD 0.561771 vs USD 0.815843 at list prices (-0.254072)\"",
            "2025-10-07,openai,*,1,80992,274770,,,,,0.569788,0.569788,0.00,ok,\"day total, every model\"",
            "2025-10-08,openai,*,,,,,,,,,0.5455665,,missing_in_logs,\"day total, every model; bills USD 0.545566 that the logs never called\"",
            "2025-10-10,openai,*,1,124784,154852,,,,,0.3409,0.3409,0.00,ok,\"day total, every model\"",
            "2025-10-11,openai,*,1,22688,33191,,,,,0.072054,0.072054,0.00,ok,\"day total, every model\"",
        ]
    );
    // files.csv: read = used + out of range + rejected + skipped; the summary says it too.
    assert!(
        read(out.path(), "files.csv").contains("openai_costs_daily.csv,8,6,0,0,2\n"),
        "{}",
        read(out.path(), "files.csv")
    );
    assert!(
        stderr.contains("8 rows read, 6 used, 0 outside --from/--to, 0 rejected, 2 skipped"),
        "{stderr}"
    );
    // Every bill dollar once: 0.895874 + 0.56177125 + 0.569788 + 0.5455665 + 0.3409 + 0.072054.
    assert_eq!(summary(out.path(), "invoiced_usd"), "2.98595375");
    assert_eq!(summary(out.path(), "logged_usd"), "2.04584475");
}

#[test]
fn usage_export_skips_its_idle_bucket_and_still_rejects_a_bucket_with_values_but_no_model() {
    let r = read_bill("openai_usage_by_model.csv");
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    let mut want = stats(&g("openai_usage_by_model.csv"), 7, 6, 0);
    want.skipped = 1;
    assert_eq!(r.files, vec![want]);
    // The two gpt-5 buckets of 10-06 are one line: 46,264 + 5,783 in, 60,000 + 16,000 out.
    let l = &r.lines[1];
    assert_eq!(
        (
            l.day,
            l.model.as_str(),
            l.prompt_tokens,
            l.completion_tokens,
            l.cached_tokens,
            l.requests
        ),
        (
            day("2025-10-06"),
            "openai/gpt-5-2025-08-07",
            52047,
            76000,
            Some(8192),
            Some(9)
        )
    );
    assert_eq!(r.lines.len(), 5);

    // The older synthetic export's bucket has zeros and no model: not idle, still rejected.
    let old = read_invoices(
        &[fixture("exports/openai_usage.csv")],
        None,
        None,
        &ModelNames::builtin(),
    )
    .unwrap();
    assert_eq!((old.files[0].skipped, old.files[0].rejected), (0, 1));
    assert_eq!(old.rejections[0].column, Some("model"));
}

/// The pair Guardian published: usage grouped by model (tokens) and costs not grouped (money).
/// Tokens are compared per day × model, money per day; each on one row only.
#[test]
fn usage_by_model_and_daily_costs_compare_tokens_per_model_and_money_per_day() {
    let (out, code, stderr) = reconcile(
        &[g("openai_usage_by_model.csv"), g("openai_costs_daily.csv")],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let t = "day total, every model; tokens compared on the day x model lines";
    let m = "money compared on the day total (model *)";
    assert_eq!(
        recon(out.path()),
        [
            format!("2025-10-05,openai,*,,,,,,,,0.24726,0.895874,0.648614,cost_mismatch,\"{t}; invoice USD 0.895874 vs USD 0.24726 at list prices (+0.648614)\""),
            format!("2025-10-05,openai,openai/gpt-4o-2024-08-06,1,59200,10646,59200,10646,0,0.00,,,,ok,{m}; invoice wrote gpt-4o-2024-08-06"),
            format!("2025-10-06,openai,*,,,,,,,,0.81584275,0.56177125,-0.2540715,cost_mismatch,\"{t}; invoice USD 0.561771 vs USD 0.815843 at list prices (-0.254072)\""),
            format!("2025-10-06,openai,openai/gpt-5-2025-08-07,2,52047,76000,52047,76000,0,0.00,,,,ok,{m}; invoice wrote gpt-5-2025-08-07"),
            format!("2025-10-07,openai,*,,,,,,,,0.569788,0.569788,0.00,ok,\"{t}\""),
            format!("2025-10-07,openai,openai/gpt-5-mini-2025-08-07,1,80992,274770,80992,274770,0,0.00,,,,ok,{m}; invoice wrote gpt-5-mini-2025-08-07"),
            "2025-10-08,openai,*,,,,,,,,,0.5455665,,missing_in_logs,\"day total, every model; bills USD 0.545566 that the logs never called\"".to_string(),
            format!("2025-10-10,openai,*,,,,,,,,0.3409,0.3409,0.00,ok,\"{t}\""),
            format!("2025-10-10,openai,openai/gpt-5-mini-2025-08-07,1,124784,154852,124784,154852,0,0.00,,,,ok,{m}; invoice wrote gpt-5-mini-2025-08-07"),
            format!("2025-10-11,openai,*,,,,,,,,0.072054,0.072054,0.00,ok,\"{t}\""),
            format!("2025-10-11,openai,openai/gpt-5-mini-2025-08-07,1,22688,33191,22688,33191,0,0.00,,,,ok,{m}; invoice wrote gpt-5-mini-2025-08-07"),
        ]
    );
    // The money is counted once: the same totals as the costs export alone.
    assert_eq!(summary(out.path(), "invoiced_usd"), "2.98595375");
    assert_eq!(summary(out.path(), "logged_usd"), "2.04584475");
}

/// One gateway at two grains with money at both: line items (day × model) and day totals of the
/// same days. The finest line wins for its usage; the day total compares what it bills beyond
/// its line items with the usage no line item covers.
///   10-07: items 0.020248 + 0.54954 = 0.569788 = the total: item row ok, total's rest 0 vs 0 ok
///   10-11: item 0.005672 (input only) vs logged 0.072054 → cost_mismatch −0.066382; the total's
///          rest 0.072054 − 0.005672 = 0.066382 vs no uncovered usage → cost_mismatch +0.066382
///   other days: no items, the day total compares the whole day as before
#[test]
fn a_day_total_over_its_line_items_compares_only_what_they_leave() {
    let (out, code, stderr) = reconcile(
        &[
            g("openai_costs_line_items.csv"),
            g("openai_costs_daily.csv"),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let rest = "day total, every model; 1 finer line(s) itemised in their own rows; compared here: what the total bills beyond them";
    let rows = recon(out.path());
    let of = |d: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.starts_with(d))
            .map(String::as_str)
            .collect()
    };
    assert_eq!(
        of("2025-10-07"),
        [
            format!("2025-10-07,openai,*,,,,,,,,0.00,0.00,0.00,ok,\"{rest}\""),
            "2025-10-07,openai,openai/gpt-5-mini-2025-08-07,1,80992,274770,,,,,0.569788,0.569788,0.00,ok,invoice wrote gpt-5-mini-2025-08-07".to_string(),
        ]
    );
    assert_eq!(
        of("2025-10-11"),
        [
            format!("2025-10-11,openai,*,,,,,,,,0.00,0.066382,0.066382,cost_mismatch,\"{rest}; invoice USD 0.066382 vs USD 0.00 at list prices (+0.066382)\""),
            "2025-10-11,openai,openai/gpt-5-mini-2025-08-07,1,22688,33191,,,,,0.072054,0.005672,-0.066382,cost_mismatch,invoice wrote gpt-5-mini-2025-08-07; invoice USD 0.005672 vs USD 0.072054 at list prices (-0.066382)".to_string(),
        ]
    );
    assert_eq!(rows.len(), 8, "{rows:#?}");
    // Never counted twice: invoiced is the day totals' sum (the items are inside them), logged
    // the logs' once.
    assert_eq!(summary(out.path(), "invoiced_usd"), "2.98595375");
    assert_eq!(summary(out.path(), "logged_usd"), "2.04584475");
    assert!(
        read(out.path(), "files.csv").contains("openai_costs_line_items.csv,5,3,0,0,2\n"),
        "{}",
        read(out.path(), "files.csv")
    );
}

#[test]
fn a_monthly_statement_alone_and_over_the_daily_totals() {
    // Alone: one `*` row dated the month's first day, every logged group in it.
    let (out, code, _) = reconcile(&[g("monthly_statement.csv")], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        recon(out.path()),
        ["2025-10-01,openai,*,6,339711,549459,,,,,2.04584475,2.99,0.94415525,cost_mismatch,\"month 2025-10 statement, every model, invoice INV-2025-10-0042; invoice USD 2.99 vs USD 2.045845 at list prices (+0.944155)\""]
    );
    // 339,711 = 59,200 + 52,047 + 80,992 + 124,784 + 22,688 prompt tokens of the month.

    // Over the daily costs export: the statement less the six day totals (2.98595375) is
    // 0.00404625, within the cent against no uncovered usage: ok. The day rows are as alone.
    let (out, _, _) = reconcile(
        &[g("monthly_statement.csv"), g("openai_costs_daily.csv")],
        &[],
    );
    let rows = recon(out.path());
    assert_eq!(
        rows[0],
        "2025-10-01,openai,*,,,,,,,,0.00,0.00404625,0.00404625,ok,\"month 2025-10 statement, every model, invoice INV-2025-10-0042; 6 finer line(s) itemised in their own rows; compared here: what the total bills beyond them\""
    );
    assert_eq!(rows.len(), 7);
    assert!(
        rows[1].starts_with("2025-10-05,openai,*,1,59200,"),
        "{rows:#?}"
    );
    // Invoiced is the statement (2.99), not the statement plus its days.
    assert_eq!(summary(out.path(), "invoiced_usd"), "2.99");
    assert_eq!(summary(out.path(), "logged_usd"), "2.04584475");

    // --from/--to inside the month: the note says which days the logs cover.
    let (out, _, _) = reconcile(
        &[g("monthly_statement.csv")],
        &["--from", "2025-10-06", "--to", "2025-10-31"],
    );
    let rows = recon(out.path());
    // 2.04584475 − 0.24726 (10-05, now outside) = 1.79858475.
    assert!(
        rows[0].starts_with("2025-10-01,openai,*,5,280511,538813,,,,,1.79858475,2.99,1.19141525,cost_mismatch,\"month 2025-10 statement, every model, invoice INV-2025-10-0042; --from/--to cover only 2025-10-06..2025-10-31 of the month"),
        "{rows:#?}"
    );
}

/// A statement typed into a spreadsheet: the month as a date cell (its first day) or as text;
/// another day is no month and is rejected with its cell.
#[test]
fn a_monthly_statement_in_xlsx() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statements.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Statements").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(0, 0, "Statements typed from the PDFs")
        .unwrap();
    for (c, h) in ["Month", "Provider", "Amount_USD", "Invoice_ID"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    ws.write_datetime_with_format(3, 0, ExcelDateTime::from_ymd(2025, 10, 1).unwrap(), &date)
        .unwrap();
    ws.write_string(3, 1, "openai").unwrap();
    ws.write_number(3, 2, 2.99).unwrap();
    ws.write_number(3, 3, 42).unwrap();
    ws.write_string(4, 0, "2025-09").unwrap();
    ws.write_string(4, 1, "anthropic").unwrap();
    ws.write_number(4, 2, 5).unwrap();
    ws.write_datetime_with_format(5, 0, ExcelDateTime::from_ymd(2025, 10, 31).unwrap(), &date)
        .unwrap();
    ws.write_string(5, 1, "openai").unwrap();
    ws.write_number(5, 2, 1).unwrap();
    wb.save(&path).unwrap();

    let (out, code, stderr) = reconcile(std::slice::from_ref(&path), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        recon(out.path()),
        [
            "2025-09-01,anthropic,*,,,,,,,,,5.00,,missing_in_logs,\"month 2025-09 statement, every model; bills USD 5.00 that the logs never called\"",
            "2025-10-01,openai,*,6,339711,549459,,,,,2.04584475,2.99,0.94415525,cost_mismatch,\"month 2025-10 statement, every model, invoice 42; invoice USD 2.99 vs USD 2.045845 at list prices (+0.944155)\"",
        ]
    );
    let rejected = read(out.path(), "rejected.csv");
    assert!(
        rejected.contains(
            "statements.xlsx,6,month,\"Statements!A6: `2025-10-31` is not a month (YYYY-MM, or the month's first day)\""
        ),
        "{rejected}"
    );
    assert!(
        read(out.path(), "files.csv").contains("statements.xlsx,3,2,0,1,0\n"),
        "{}",
        read(out.path(), "files.csv")
    );
}

/// Daily invoice lines with totals: a day total with tokens, a total under its own line (a
/// spreadsheet's total row), an explicit `*`, a money-only total; a half-given token pair is
/// still rejected, and a logged day no line covers is still missing.
#[test]
fn daily_lines_with_day_totals() {
    let (out, code, stderr) = reconcile(&[g("daily_lines_totals.csv")], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(read(out.path(), "recon.csv").lines().next(), Some(HEADER));
    assert_eq!(
        recon(out.path()),
        [
            "2025-10-05,openai,openai/gpt-4o-2024-08-06,1,59200,10646,,,,,0.24726,,,missing_in_invoice,no invoice line for this day",
            // 0.82 typed to the cent vs 0.81584275: within USD 0.01.
            "2025-10-06,openai,*,2,52047,76000,52047,76000,0,0.00,0.81584275,0.82,0.00415725,ok,\"day total, every model\"",
            // 0.57 − 0.569788 and 0 tokens left beyond the line above it, against nothing left.
            "2025-10-07,openai,*,0,0,0,0,0,0,,0.00,0.000212,0.000212,ok,\"day total, every model; 1 finer line(s) itemised in their own rows; compared here: what the total bills beyond them\"",
            "2025-10-07,openai,openai/gpt-5-mini-2025-08-07,1,80992,274770,80992,274770,0,0.00,0.569788,0.569788,0.00,ok,",
            "2025-10-10,openai,*,1,124784,154852,124784,154852,0,0.00,0.3409,0.3409,0.00,ok,\"day total, every model\"",
            // Money only: 0.07 vs 0.072054.
            "2025-10-11,openai,*,1,22688,33191,,,,,0.072054,0.07,-0.002054,ok,\"day total, every model\"",
        ]
    );
    assert_eq!(
        read(out.path(), "rejected.csv").lines().nth(1),
        Some("tests/fixtures/grain/daily_lines_totals.csv,7,completion_tokens,completion_tokens is empty,\"2025-10-12,openai,,1000,,0.01\"")
            .map(|s| s.replace("tests/fixtures/grain/", &format!("{}/", fixture("grain").display())))
            .as_deref()
    );
}

/// Item 5 of the issue: the exit statuses hold. Idle rows are no rejection, so `--strict` goes
/// on; a rejected row under `--strict` still stops the run with status 2.
#[test]
fn strict_runs_pass_idle_rows_and_stop_at_a_rejected_row() {
    let (_, code, stderr) = reconcile(&[g("openai_costs_daily.csv")], &["--strict"]);
    assert_eq!(code, 1, "idle rows are not rejections: {stderr}");
    let (_, code, stderr) = reconcile(&[g("daily_lines_totals.csv")], &["--strict"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("completion_tokens is empty"), "{stderr}");
    // Day totals that all agree, with logs only on their days: exit 0.
    let dir = tempfile::tempdir().unwrap();
    let bill = dir.path().join("totals.csv");
    std::fs::write(
        &bill,
        "date,provider,model,prompt_tokens,completion_tokens,amount_usd\n\
         2025-10-10,openai,,,,0.34\n2025-10-11,openai,,,,0.07\n",
    )
    .unwrap();
    let logs = dir.path().join("logs.jsonl");
    let all = std::fs::read_to_string(g("logs.jsonl")).unwrap();
    let two: String = all
        .lines()
        .filter(|l| l.contains("2025-10-10") || l.contains("2025-10-11"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&logs, two).unwrap();
    let (_, o) = run_out(
        spendrecon()
            .args(["reconcile", "--rates"])
            .arg(g("rates"))
            .arg("--logs")
            .arg(&logs)
            .arg("--invoices")
            .arg(&bill),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// summary.csv, the report page and the workbook use the same rows: the statement's `*` row is
/// in the Reconciliation sheet, and the page's summary has the statement's amount.
#[test]
fn the_report_and_the_workbook_show_the_grain_rows() {
    let bills = [g("monthly_statement.csv"), g("openai_costs_daily.csv")];
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("recon.xlsx");
    let (_, code, stderr) = reconcile(&bills, &["--xlsx", book.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    use calamine::{Data, Reader};
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    let sheet = wb.worksheet_range("Reconciliation").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 1 + 7);
    assert_eq!(rows[1][2], "*");
    assert!(
        rows[1][14].starts_with("month 2025-10 statement"),
        "{:?}",
        rows[1]
    );
    let files = wb.worksheet_range("Files").unwrap();
    let header: Vec<String> = files
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header.last().map(String::as_str), Some("rows_skipped"));
    let costs = files
        .rows()
        .find(|r| r[0].to_string().ends_with("openai_costs_daily.csv"))
        .unwrap();
    assert_eq!(costs[5], Data::Float(2.0));

    let out = tempfile::tempdir().unwrap();
    let mut c = spendrecon();
    c.current_dir(root())
        .args(["report", "-q", "--rates"])
        .arg(g("rates"))
        .arg("--logs")
        .arg(g("logs.jsonl"))
        .arg("--out")
        .arg(out.path());
    for b in &bills {
        c.arg("--invoices").arg(b);
    }
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = read(out.path(), "report.html");
    let row_start = page.find("data-provider=\"openai\"").unwrap();
    let row = &page[row_start..row_start + page[row_start..].find("</tr>").unwrap()];
    assert!(
        row.contains("data-col=\"invoiced_usd\" data-usd=\"2.99\""),
        "{row}"
    );
    assert!(
        row.contains("data-col=\"logged_usd\" data-usd=\"2.04584475\""),
        "{row}"
    );
    // 2 skipped idle rows in the page's row accounting.
    assert!(
        page.contains("data-col=\"skipped\">2<"),
        "skipped count missing"
    );
}

/// `--focus` over bills at other grains: a coarser bill lays only what its finer lines leave, so
/// BilledCost adds up to the coarsest bill (the statement, USD 2.99), never to the statement plus
/// its days; the rows the statement bills carry its invoice number.
#[test]
fn focus_bills_each_grain_once_and_names_the_statement() {
    let billed = |out: &Path| {
        let mut r = csv::Reader::from_path(out.join("focus.csv")).unwrap();
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (cost, inv, cat) = (col("BilledCost"), col("InvoiceId"), col("ChargeCategory"));
        let mut total = rust_decimal::Decimal::ZERO;
        let mut with_id = Vec::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            if &rec[cat] == "Usage" {
                total += rec[cost].parse::<rust_decimal::Decimal>().unwrap();
                with_id.push(rec[inv].to_string());
            }
        }
        (total, with_id)
    };
    // The statement alone: every logged row is billed by it and names it.
    let dir = tempfile::tempdir().unwrap();
    let focus = dir.path().join("focus.csv");
    let run = |bills: &[&str]| {
        let mut c = spendrecon();
        c.current_dir(root())
            .args(["reconcile", "-q", "--rates"])
            .arg(g("rates"))
            .arg("--logs")
            .arg(g("logs.jsonl"))
            .arg("--focus")
            .arg(&focus);
        for b in bills {
            c.arg("--invoices").arg(g(b));
        }
        c.output().unwrap();
        billed(dir.path())
    };
    let (total, ids) = run(&["monthly_statement.csv"]);
    assert_eq!(total.normalize().to_string(), "2.99");
    assert!(
        !ids.is_empty() && ids.iter().all(|i| i == "INV-2025-10-0042"),
        "{ids:?}"
    );

    // Over the six day totals: the days bill their rows (2.98595375), the statement only the
    // rest (0.00404625) on a row of its own that names it.
    let (total, ids) = run(&["monthly_statement.csv", "openai_costs_daily.csv"]);
    assert_eq!(total.normalize().to_string(), "2.99");
    assert_eq!(
        ids.iter().filter(|i| *i == "INV-2025-10-0042").count(),
        1,
        "{ids:?}"
    );
}

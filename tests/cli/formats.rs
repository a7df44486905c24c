//! The other ways out of the same tables: `--xlsx FILE` (read back with calamine), `--format
//! table` and `--format json`, each checked against the CSV the same run writes.
//!
//! Inputs: the reconcile fixture (tests/fixtures/reconcile, its planted faults described in
//! tests/cli/reconcile.rs) plus one call to a model slug that a spreadsheet would run as a formula.

use std::path::Path;

use crate::util::{fixture, spendrecon};
use calamine::{Data, Reader};

const EVIL: &str = "=cmd|' /C calc'!A0";

/// Runs `reconcile` on the fixture and an extra log holding [`EVIL`] as a model.
fn reconcile(extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let o = reconcile_in(dir.path(), extra);
    (dir, o)
}

/// As [`reconcile`], with the extra log in `dir`.
fn reconcile_in(dir: &Path, extra: &[&str]) -> std::process::Output {
    let evil = dir.join("evil.jsonl");
    std::fs::write(
        &evil,
        format!(
            r#"{{"ts":"2026-04-02T11:00:00Z","provider":"openrouter","model":"{EVIL}","prompt_tokens":1,"completion_tokens":1}}"#
        ),
    )
    .unwrap();
    spendrecon()
        .arg("reconcile")
        .args(["--logs".as_ref(), fixture("daily/logs.jsonl").as_os_str()])
        .args([
            "--logs".as_ref(),
            fixture("reconcile/extra.jsonl").as_os_str(),
        ])
        .args(["--logs".as_ref(), evil.as_os_str()])
        .args([
            "--invoices".as_ref(),
            fixture("reconcile/invoice.csv").as_os_str(),
        ])
        .args(["--rates".as_ref(), fixture("reconcile/rates").as_os_str()])
        .arg("-q")
        .args(extra)
        .output()
        .unwrap()
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn xlsx_workbook_has_the_sheets_typed_cells_and_no_formulas() {
    let (dir, o) = reconcile(&[]);
    let out = dir.path().join("out");
    let book = dir.path().join("month.xlsx");
    let o2 = reconcile_in(
        dir.path(),
        &[
            "--out",
            out.to_str().unwrap(),
            "--xlsx",
            book.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        o2.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o2.stderr)
    );
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Reconciliation",
            "Findings",
            "Daily",
            "Disputes",
            "Claims",
            "Rejected",
            "Files"
        ]
    );

    // Reconciliation: the same rows as recon.csv; days are date cells, tokens and amounts
    // numbers equal to the CSV's, statuses and slugs strings.
    let recon = csv_rows(&out.join("recon.csv"));
    let sheet = wb.worksheet_range("Reconciliation").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), recon.len());
    for (h, c) in recon[0].iter().zip(rows[0]) {
        assert_eq!(c, &Data::String(h.clone()));
    }
    let col = |name: &str| recon[0].iter().position(|h| h == name).unwrap();
    for (csv, cells) in recon[1..].iter().zip(&rows[1..]) {
        let Data::DateTime(day) = &cells[col("day")] else {
            panic!("not a date cell: {:?}", cells[col("day")]);
        };
        assert!(day.is_datetime());
        let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
        let date = epoch + chrono::Days::new(day.as_f64() as u64);
        assert_eq!(date.to_string(), csv[col("day")]);
        assert_eq!(
            cells[col("model")],
            Data::String(csv[col("model")].trim_start_matches('\'').to_string())
        );
        assert_eq!(
            cells[col("status")],
            Data::String(csv[col("status")].clone())
        );
        for name in [
            "log_prompt_tokens",
            "delta_tokens",
            "expected_usd",
            "invoiced_usd",
            "delta_usd",
        ] {
            let v = &csv[col(name)];
            match &cells[col(name)] {
                Data::Empty => assert_eq!(v, "", "{name}"),
                Data::Float(f) => assert_eq!(*f, v.parse::<f64>().unwrap(), "{name}"),
                Data::Int(i) => assert_eq!(*i as f64, v.parse::<f64>().unwrap(), "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
    // The 04-02 openrouter acme/long cost_mismatch keeps every decimal: 0.4936998.
    let long = rows
        .iter()
        .find(|r| r[col("model")] == Data::String("acme/long".into()))
        .unwrap();
    assert_eq!(long[col("delta_usd")], Data::Float(0.4936998));

    // The slug a spreadsheet would run is a plain string, in the CSV neutralised with a quote;
    // nowhere in the workbook is there a formula.
    let evil = rows
        .iter()
        .find(|r| r[col("model")] == Data::String(EVIL.into()))
        .expect("the evil slug's row, as a string");
    assert_eq!(
        evil[col("status")],
        Data::String("missing_in_invoice".into())
    );
    assert!(recon.iter().any(|r| r[col("model")] == format!("'{EVIL}")));
    for name in wb.sheet_names() {
        let f = wb.worksheet_formula(&name).unwrap();
        assert!(
            f.used_cells().all(|(_, _, s)| s.is_empty()),
            "{name} has formulas"
        );
    }

    // Summary equals summary.csv; Files equals files.csv (read = used + … per file).
    let summary = csv_rows(&out.join("summary.csv"));
    let sheet = wb.worksheet_range("Summary").unwrap();
    let srows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(srows.len(), summary.len());
    let invoiced = summary[0].iter().position(|h| h == "invoiced_usd").unwrap();
    assert_eq!(
        srows[1][invoiced],
        Data::Float(summary[1][invoiced].parse().unwrap())
    );
    let files = csv_rows(&out.join("files.csv"));
    let sheet = wb.worksheet_range("Files").unwrap();
    assert_eq!(sheet.rows().count(), files.len());

    // Rerun: the same bytes.
    let book2 = dir.path().join("again.xlsx");
    reconcile_in(dir.path(), &["--xlsx", book2.to_str().unwrap()]);
    assert!(
        std::fs::read(&book).unwrap() == std::fs::read(&book2).unwrap(),
        "a rerun wrote other bytes"
    );
}

#[test]
fn rejected_rows_of_logs_and_invoices_are_in_the_rejected_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("daily.xlsx");
    let out = dir.path().join("out");
    let o = spendrecon()
        .arg("daily")
        .args(["--logs".as_ref(), fixture("daily/bad.jsonl").as_os_str()])
        .args(["--rates".as_ref(), fixture("daily/rates").as_os_str()])
        .args(["--out".as_ref(), out.as_os_str()])
        .args(["--xlsx".as_ref(), book.as_os_str()])
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    assert_eq!(wb.sheet_names(), ["Daily", "Rejected", "Files"]);
    let rejected = csv_rows(&out.join("rejected.csv"));
    let sheet = wb.worksheet_range("Rejected").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), rejected.len());
    assert!(rejected.len() > 1);
    for (csv, cells) in rejected.iter().zip(&rows).skip(1) {
        assert_eq!(cells[1], Data::Float(csv[1].parse().unwrap()), "line");
        assert_eq!(cells[3], Data::String(csv[3].clone()), "reason");
    }
}

#[test]
fn table_format_aligns_rounds_to_the_cent_and_marks_flags() {
    let (dir, o) = reconcile(&["--format", "table"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Border, header, separator, 9 rows (8 planted + the evil slug, not invoiced), border.
    assert_eq!(lines.len(), 13, "{text}");
    let header: Vec<&str> = lines[1].split(['│', '┆']).map(str::trim).collect();
    assert!(header.contains(&"delta_usd") && header.contains(&"status"));
    let long = lines.iter().find(|l| l.contains("acme/long")).unwrap();
    // 0.4936998 shown to the cent; right-aligned: the cell ends at its border.
    assert!(long.contains(" 0.49 ┆"), "{long}");
    assert!(long.contains("! cost_mismatch"), "{long}");
    let ok = lines
        .iter()
        .find(|l| l.contains("ominigate") && l.contains("2026-04-01"))
        .unwrap();
    assert!(ok.contains(" ok ") && !ok.contains('!'), "{ok}");
    assert!(text.contains(EVIL), "{text}");
    // Without --out nothing else is written; CSV stays the default.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let (_, csv) = reconcile(&[]);
    assert!(String::from_utf8(csv.stdout)
        .unwrap()
        .starts_with("day,provider,model,"));
}

#[test]
fn json_format_has_the_csv_columns_with_text_as_logged() {
    let (_, o) = reconcile(&["--format", "json"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 9);
    let long = rows.iter().find(|r| r["model"] == "acme/long").unwrap();
    assert_eq!(long["delta_usd"], "0.4936998");
    assert_eq!(long["status"], "cost_mismatch");
    assert!(rows.iter().any(|r| r["model"] == EVIL));
}

#[test]
fn control_characters_from_logs_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("esc.jsonl");
    std::fs::write(
        &log,
        r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":"acme/\u001b[2Jbig","prompt_tokens":1,"completion_tokens":1}"#,
    )
    .unwrap();
    let o = spendrecon()
        .args(["daily", "--format", "table", "-q", "--logs"])
        .arg(&log)
        .args(["--rates".as_ref(), fixture("daily/rates").as_os_str()])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("acme/?[2Jbig"), "{text}");
    assert!(!text.contains('\u{1b}'));
}

/// The number format of each cell in `sheet`, by (row, column), as the workbook stores it.
fn number_formats(book: &Path, sheet: &str) -> calamine::StyleRange {
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(book).unwrap();
    wb.worksheet_style(sheet).unwrap()
}

fn format_at(styles: &calamine::StyleRange, row: usize, col: usize) -> String {
    styles
        .get((row as u32, col as u32))
        .and_then(|s| s.number_format.as_ref())
        .map(|f| f.format_code.clone())
        .unwrap_or_else(|| panic!("no number format at ({row}, {col})"))
}

/// Each column's number format shows what it holds: amounts with every decimal they have (a
/// delta of USD 0.00045 is not shown as $0.00), per-million-token amounts to 6 decimals,
/// percentages to 2, counts with a thousands separator, line numbers without one.
#[test]
fn xlsx_number_formats_show_what_each_column_holds() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("month.xlsx");
    let bad = fixture("daily/bad.jsonl");
    let o = reconcile_in(
        dir.path(),
        &[
            "--xlsx",
            book.to_str().unwrap(),
            "--logs",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut wb = calamine::open_workbook_auto(&book).unwrap();

    const MONEY: &str = "[$$-409]#,##0.00########";
    let recon = wb.worksheet_range("Reconciliation").unwrap();
    let styles = number_formats(&book, "Reconciliation");
    let header: Vec<String> = recon
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // 04-01 ominigate acme/big: expected 0.00045, invoiced 0.00 → delta_usd -0.00045.
    let (r, row) = recon
        .rows()
        .enumerate()
        .find(|(_, r)| {
            r[col("provider")] == Data::String("ominigate".into())
                && r[col("model")] == Data::String("acme/big".into())
                && r[col("status")] == Data::String("ok".into())
        })
        .unwrap();
    assert_eq!(row[col("delta_usd")], Data::Float(-0.00045));
    for (name, want) in [
        ("delta_usd", MONEY),
        ("expected_usd", MONEY),
        ("invoiced_usd", MONEY),
        ("delta_pct", "0.00"),
        ("log_prompt_tokens", "#,##0"),
        ("log_requests", "#,##0"),
        ("day", "yyyy-mm-dd"),
        ("model", "@"),
    ] {
        assert_eq!(format_at(&styles, r, col(name)), want, "{name}");
    }

    // Summary: the fee-inclusive rate per million tokens, rounded to 6 decimals, shows all 6.
    let summary = wb.worksheet_range("Summary").unwrap();
    let header: Vec<String> = summary
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let c = header
        .iter()
        .position(|h| h == "effective_usd_per_mtok")
        .unwrap();
    let styles = number_formats(&book, "Summary");
    let priced = summary
        .rows()
        .position(|r| matches!(r[c], Data::Float(_)))
        .expect("a provider with a rate per million tokens");
    assert_eq!(format_at(&styles, priced, c), "[$$-409]#,##0.000000");
    let logged = header.iter().position(|h| h == "logged_usd").unwrap();
    assert_eq!(format_at(&styles, priced, logged), MONEY);

    // Rejected: a line number is a number without a thousands separator.
    let rejected = wb.worksheet_range("Rejected").unwrap();
    let header: Vec<String> = rejected
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let line = header.iter().position(|h| h == "line").unwrap();
    let styles = number_formats(&book, "Rejected");
    let rows: Vec<_> = rejected.rows().skip(1).collect();
    assert!(!rows.is_empty());
    for (i, r) in rows.iter().enumerate() {
        assert!(
            matches!(r[line], Data::Float(_) | Data::Int(_)),
            "{:?}",
            r[line]
        );
        assert_eq!(format_at(&styles, i + 1, line), "0");
    }
}

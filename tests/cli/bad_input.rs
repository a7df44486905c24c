//! Hostile and broken input, one table row per case: every bad row is rejected with its file,
//! line and column and a reason in words, the rest is used, and the accounting adds up
//! (`files.csv`: read = used + out of range + rejected, per file); bad tables (rates, fees) stop
//! the run with exit status 2 and a message naming the file and line. Then: outputs are
//! deterministic (a rerun writes the same bytes) and text from logs cannot run in a spreadsheet.
//!
//! Rate: tests/fixtures/daily/rates (acme/big: 3 USD per million prompt tokens, 15 per million
//! completion tokens).

use std::io::Write;
use std::path::Path;

use crate::util::{daily_rates, declare_size, root, run_out, spendrecon};

const GOOD: &str = r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":"acme/big","prompt_tokens":1000,"completion_tokens":100}"#;
const CSV_HEADER: &str = "ts,provider,model,prompt_tokens,completion_tokens";
const CSV_GOOD: &str = "2026-04-01T10:00:00Z,openrouter,acme/big,1000,100";

fn json(ts: &str, prompt: &str) -> String {
    format!(
        r#"{{"ts":"{ts}","provider":"openrouter","model":"acme/big","prompt_tokens":{prompt},"completion_tokens":100}}"#
    )
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

/// One case: files to write, and what the run must give.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    /// Exit status.
    code: i32,
    /// Rejected rows: (file name, line, column, words in the reason).
    rejected: Vec<(&'static str, u64, &'static str, &'static str)>,
    /// (file name, rows read, rows used); rejected = read − used for every file.
    accounting: Vec<(&'static str, u64, u64)>,
    /// Words on stderr.
    stderr: Vec<&'static str>,
}

fn log_cases() -> Vec<Case> {
    let lines = |v: &[String]| v.join("\n").into_bytes();
    let truncated = {
        let mut text = String::new();
        for _ in 0..2000 {
            text.push_str(GOOD);
            text.push('\n');
        }
        let gz = gzip(&text);
        gz[..gz.len() - 30].to_vec()
    };
    vec![
        Case {
            name: "truncated gzip keeps the rows before the break and rejects the rest once",
            files: vec![("cut.jsonl.gz", truncated)],
            code: 1,
            rejected: vec![("cut.jsonl.gz", 0, "", "unreadable from here on")],
            accounting: vec![],
            stderr: vec!["cut.jsonl.gz"],
        },
        Case {
            name: "a JSON line cut in half",
            files: vec![(
                "cut.jsonl",
                lines(&[GOOD.into(), GOOD[..40].into(), GOOD.into()]),
            )],
            code: 1,
            rejected: vec![("cut.jsonl", 2, "", "")],
            accounting: vec![("cut.jsonl", 3, 2)],
            stderr: vec!["cut.jsonl:2:"],
        },
        Case {
            name: "CSV rows with too many and too few fields",
            files: vec![(
                "fields.csv",
                lines(&[
                    CSV_HEADER.into(),
                    CSV_GOOD.into(),
                    format!("{CSV_GOOD},extra"),
                    "2026-04-01T10:00:00Z,openrouter,acme/big,1000".into(),
                ]),
            )],
            code: 1,
            rejected: vec![
                ("fields.csv", 3, "", "expected 5 fields as in the header, found 6"),
                ("fields.csv", 4, "", "expected 5 fields as in the header, found 4"),
            ],
            accounting: vec![("fields.csv", 3, 1)],
            stderr: vec![],
        },
        Case {
            name: "quoted newlines, a UTF-8 BOM and CRLF line ends are read, line numbers kept",
            files: vec![(
                "quoted.csv",
                format!(
                    "\u{FEFF}{CSV_HEADER},tenant\r\n{CSV_GOOD},\"two\r\nlines\"\r\n{CSV_GOOD},x\r\n2026-04-01T10:00:00Z,openrouter,acme/big,-1,100,y\r\n"
                )
                .into_bytes(),
            )],
            code: 1,
            rejected: vec![("quoted.csv", 5, "prompt_tokens", "negative token count -1")],
            accounting: vec![("quoted.csv", 3, 2)],
            stderr: vec![],
        },
        Case {
            name: "Latin-1 bytes",
            files: vec![("latin1.csv", {
                let mut b = format!("{CSV_HEADER}\n{CSV_GOOD}\n").into_bytes();
                b.extend_from_slice(b"2026-04-01T10:00:00Z,openrouter,acme/b\xe9g,1000,100\n");
                b
            })],
            code: 1,
            rejected: vec![("latin1.csv", 3, "model", "not valid UTF-8")],
            accounting: vec![("latin1.csv", 2, 1)],
            stderr: vec![],
        },
        Case {
            name: "token counts: negative, fractional, over 2^53, over u64",
            files: vec![(
                "counts.jsonl",
                lines(&[
                    json("2026-04-01T10:00:00Z", "-5"),
                    json("2026-04-01T10:00:00Z", "12.5"),
                    json("2026-04-01T10:00:00Z", "9007199254740993"),
                    json("2026-04-01T10:00:00Z", "18446744073709551616"),
                    json("2026-04-01T10:00:00Z", "\"many\""),
                    GOOD.into(),
                ]),
            )],
            code: 1,
            rejected: vec![
                ("counts.jsonl", 1, "prompt_tokens", "negative token count -5"),
                ("counts.jsonl", 2, "prompt_tokens", "12.5 is not an integer"),
                ("counts.jsonl", 3, "prompt_tokens", "exceeds 2^53"),
                ("counts.jsonl", 4, "prompt_tokens", "exceeds 2^53"),
                ("counts.jsonl", 5, "prompt_tokens", "expected an integer token count"),
            ],
            accounting: vec![("counts.jsonl", 6, 1)],
            stderr: vec![],
        },
        Case {
            name: "timestamps without a zone and impossible dates",
            files: vec![(
                "times.jsonl",
                lines(&[
                    json("2026-04-01T10:00:00", "1"),
                    json("2026-02-30T10:00:00Z", "1"),
                    json("2026-04-01T25:00:00Z", "1"),
                    GOOD.into(),
                ]),
            )],
            code: 1,
            rejected: vec![
                ("times.jsonl", 1, "ts", "has no UTC offset"),
                ("times.jsonl", 2, "ts", "2026-02-30T10:00:00Z"),
                ("times.jsonl", 3, "ts", "2026-04-01T25:00:00Z"),
            ],
            accounting: vec![("times.jsonl", 4, 1)],
            stderr: vec![],
        },
        Case {
            name: "an empty file and a header-only file hold no rows, and say so",
            files: vec![
                ("empty.jsonl", Vec::new()),
                ("header.csv", format!("{CSV_HEADER}\n").into_bytes()),
                ("good.jsonl", GOOD.into()),
            ],
            code: 0,
            rejected: vec![],
            accounting: vec![("empty.jsonl", 0, 0), ("header.csv", 0, 0), ("good.jsonl", 1, 1)],
            stderr: vec!["empty.jsonl: 0 rows read", "holds no rows"],
        },
        Case {
            name: "a directory with unrelated files reads the logs and names what it skipped",
            files: vec![
                ("notes.txt", b"not a log".to_vec()),
                ("report.pdf", b"%PDF".to_vec()),
                ("good.jsonl", GOOD.into()),
            ],
            code: 0,
            rejected: vec![],
            accounting: vec![("good.jsonl", 1, 1)],
            stderr: vec!["skipped", "notes.txt (not a log file)", "report.pdf"],
        },
    ]
}

fn run(dir: &Path, args: &[&std::ffi::OsStr]) -> (i32, String, tempfile::TempDir) {
    let (out, o) = run_out(spendrecon().current_dir(dir).args(args));
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        out,
    )
}

#[test]
fn bad_log_input_is_rejected_row_by_row_and_accounted_for() {
    for case in log_cases() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &case.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let (code, stderr, out) = run(
            dir.path(),
            &[
                "daily".as_ref(),
                "--rates".as_ref(),
                daily_rates().as_os_str(),
                "--logs".as_ref(),
                ".".as_ref(),
            ],
        );
        let name = case.name;
        assert_eq!(code, case.code, "{name}: exit status\n{stderr}");
        for words in &case.stderr {
            assert!(
                stderr.contains(words),
                "{name}: stderr lacks {words:?}\n{stderr}"
            );
        }
        let rejected = std::fs::read_to_string(out.path().join("rejected.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(rejected.as_bytes());
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(
            rows.len(),
            case.rejected.len(),
            "{name}: rejected rows\n{rejected}"
        );
        for (r, (file, line, column, words)) in rows.iter().zip(&case.rejected) {
            assert!(r[0].ends_with(file), "{name}: {r:?}");
            if *line > 0 {
                assert_eq!(r[1].parse::<u64>().unwrap(), *line, "{name}: {r:?}");
            }
            assert_eq!(&r[2], *column, "{name}: {r:?}");
            assert!(r[3].contains(words), "{name}: {r:?} lacks {words:?}");
            assert!(!r[3].contains('\n'), "{name}: one-line reason {r:?}");
        }
        // Accounting: read = used + out of range + rejected + skipped for every file; the
        // rejected rows of a file are those listed.
        let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(files.as_bytes());
        for r in rdr.records().map(Result::unwrap) {
            let n = |i: usize| r[i].parse::<u64>().unwrap();
            assert_eq!(n(1), n(2) + n(3) + n(4) + n(5), "{name}: {r:?}");
            let listed = rows.iter().filter(|x| x[0] == r[0]).count() as u64;
            assert_eq!(n(4), listed, "{name}: {r:?}");
            if let Some((_, read, used)) = case.accounting.iter().find(|(f, ..)| r[0].ends_with(f))
            {
                assert_eq!((n(1), n(2)), (*read, *used), "{name}: {r:?}");
            }
        }
        for (f, ..) in &case.accounting {
            assert!(files.contains(f), "{name}: {f} not in files.csv\n{files}");
        }
    }
}

/// Bad tables stop the run: exit status 2, one line naming the file, the line and the fault.
#[test]
fn bad_rate_and_fee_tables_stop_with_file_and_line() {
    let header = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n";
    let cases: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        (
            "models.csv",
            "overlapping periods",
            "*,acme/big,2026-01-01,2026-04-30,3,15,,,,,\n*,acme/big,2026-04-30,,3,15,,,,,\n",
            vec!["models.csv:3:", "overlaps the row on line 2"],
        ),
        (
            "models.csv",
            "a negative price",
            "*,acme/big,2026-01-01,,-3,15,,,,,\n",
            vec!["models.csv:2:", "negative"],
        ),
        (
            "fees.toml",
            "an unknown key",
            "[[policy]]\nprovider = \"openrouter\"\neffective_from = \"2026-01-01\"\ntopup.card = { pct = 5.5, minimum = 0.8 }\n",
            vec!["fees.toml", "line 4", "unknown field `minimum`"],
        ),
    ];
    for (file, what, body, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let models = if file == "models.csv" {
            format!("{header}{body}")
        } else {
            format!("{header}*,acme/big,2026-01-01,,3,15,,,,,\n")
        };
        std::fs::write(dir.path().join("models.csv"), models).unwrap();
        if file == "fees.toml" {
            std::fs::write(dir.path().join("fees.toml"), body).unwrap();
        }
        let log = dir.path().join("good.jsonl");
        std::fs::write(&log, GOOD).unwrap();
        let cmd = if file == "fees.toml" { "fees" } else { "daily" };
        let o = spendrecon()
            .arg(cmd)
            .arg("--rates")
            .arg(dir.path())
            .arg("--logs")
            .arg(&log)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{what}: one line\n{stderr}"
        );
        for w in words {
            assert!(stderr.contains(w), "{what}: {stderr} lacks {w:?}");
        }
    }
}

/// Crash safety and determinism: a rerun writes byte-identical files (no timestamps, a fixed
/// row order whatever the thread count), and no temporary file is left beside them.
#[test]
fn reruns_write_the_same_bytes() {
    let run_once = |threads: &str| {
        let out = tempfile::tempdir().unwrap();
        spendrecon()
            .current_dir(root())
            .args([
                "reconcile",
                "--logs",
                "sample-data/logs",
                "--rates",
                "rates",
            ])
            .args(["--invoices", "sample-data/invoices/ominigate-2026-04.csv"])
            .args(["--topups", "sample-data/topups/ledger-2026-04.csv"])
            .args(["--threads", threads, "-q", "--out"])
            .arg(out.path())
            .assert()
            .code(1);
        out
    };
    let (a, b) = (run_once("1"), run_once("2"));
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(a.path()),
        [
            "daily.csv",
            "disputes.csv",
            "evidence",
            "fees.csv",
            "files.csv",
            "findings.csv",
            "recon.csv",
            "rejected.csv",
            "run.json",
            "summary.csv",
            "topups.csv"
        ]
    );
    let manifest = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("run.json")).unwrap()).unwrap()
    };
    // run.json holds the command line (--threads and --out differ); the outputs it lists agree.
    assert_eq!(manifest(a.path())["outputs"], manifest(b.path())["outputs"]);
    assert_eq!(manifest(a.path())["inputs"], manifest(b.path())["inputs"]);
    let evidence = names(&a.path().join("evidence"))
        .into_iter()
        .map(|f| format!("evidence/{f}"));
    for n in names(a.path())
        .into_iter()
        .chain(evidence)
        .filter(|n| n != "run.json" && n != "evidence")
    {
        assert_eq!(
            std::fs::read(a.path().join(&n)).unwrap(),
            std::fs::read(b.path().join(&n)).unwrap(),
            "{n} differs between runs"
        );
    }
}

/// Spreadsheet safety: a model slug or tenant that a spreadsheet would run as a formula is
/// written as text (a leading `'`), in every CSV; an API key in a bad row is masked.
#[test]
fn formulas_from_logs_are_neutralised_and_keys_masked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("evil.jsonl");
    std::fs::write(
        &log,
        [
            r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":"=cmd|' /C calc'!A0","prompt_tokens":1,"completion_tokens":1}"#,
            r#"{"ts":"2026-04-01T10:00:00Z","provider":"@SUM(A1)","model":"+1","prompt_tokens":1,"completion_tokens":1}"#,
            r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":"-2","prompt_tokens":"sk-or-v1-0123456789abcdef","completion_tokens":1}"#,
            // A formula behind spaces: an import that trims spaces would run it.
            r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":" =1+1","prompt_tokens":1,"completion_tokens":1}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    for cmd in ["daily", "audit", "rollout", "shadow", "forecast"] {
        let out = tempfile::tempdir().unwrap();
        let o = spendrecon()
            .arg(cmd)
            .arg("--rates")
            .arg(daily_rates())
            .arg("--logs")
            .arg(&log)
            .arg("--out")
            .arg(out.path())
            .arg("-q")
            .output()
            .unwrap();
        if String::from_utf8_lossy(&o.stderr).contains("unrecognized subcommand") {
            continue; // a command not built in this version
        }
        assert_ne!(
            o.status.code(),
            Some(2),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for entry in std::fs::read_dir(out.path()).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let csv_rows = if path.extension().is_some_and(|x| x == "csv") {
                text.as_bytes()
            } else {
                &b""[..]
            };
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(csv_rows);
            for r in rdr.records().map(Result::unwrap) {
                for cell in r.iter() {
                    // Negative numbers the tool computes (`-0.50`) are numbers; the slugs are not.
                    assert!(
                        !cell.trim_start().starts_with(['=', '+', '@']) && cell.trim() != "-2",
                        "{cmd}: {} has a live cell {cell:?}",
                        path.display()
                    );
                }
            }
            assert!(
                !text.contains("0123456789abcdef"),
                "{cmd}: key in {}",
                path.display()
            );
        }
    }
}

/// Bounded memory on any number of distinct models: past 100,000 provider × model pairs (per
/// reading thread) a new pair is rejected with the reason, and everything else is used.
#[test]
fn too_many_distinct_models_are_rejected_not_grown_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    writeln!(w, "{CSV_HEADER}").unwrap();
    for i in 0..100_003 {
        writeln!(w, "2026-04-01T10:00:00Z,openrouter,acme/m{i},1,1").unwrap();
    }
    // A pair seen before is still used after the limit.
    writeln!(w, "2026-04-01T10:00:00Z,openrouter,acme/m7,1,1").unwrap();
    drop(w);
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .args(["daily", "--threads", "1", "-q", "--logs"])
        .arg(&log)
        .arg("--rates")
        .arg(daily_rates())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let rejected = std::fs::read_to_string(out.path().join("rejected.csv")).unwrap();
    let rows: Vec<&str> = rejected.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", &rejected[..rejected.len().min(500)]);
    // Lines 100,002..100,004 hold the 100,001st to 100,003rd pairs.
    assert!(
        rows[0].contains(",100002,model,\"more than 100,000 distinct provider x model pairs"),
        "{}",
        rows[0]
    );
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    assert!(files.ends_with(",100004,100001,0,3,0\n"), "{files}");
}

// ---------------------------------------------------------------------------------------------
// Spreadsheets: invoices as XLSX, read by `reconcile` against one logged call (GOOD: 2026-04-01,
// openrouter, acme/big, 1000 + 100 tokens = USD 0.0045 at the fixture rate).

const INVOICE_HEADER: [&str; 6] = [
    "date",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "amount_usd",
];

/// Writes a daily invoice line for GOOD's day, provider and model on sheet row `row` (0-based),
/// columns A–E; the amount (F) is left to the caller.
fn invoice_row(ws: &mut rust_xlsxwriter::Worksheet, row: u32, prompt: u32) {
    ws.write_string(row, 0, "2026-04-01").unwrap();
    ws.write_string(row, 1, "openrouter").unwrap();
    ws.write_string(row, 2, "acme/big").unwrap();
    ws.write_number(row, 3, prompt).unwrap();
    ws.write_number(row, 4, 100).unwrap();
}

fn invoice_header(ws: &mut rust_xlsxwriter::Worksheet, row: u32) {
    for (c, h) in INVOICE_HEADER.into_iter().enumerate() {
        ws.write_string(row, c as u16, h).unwrap();
    }
}

/// One spreadsheet case: the workbook, and what `reconcile` must give.
struct SheetCase {
    name: &'static str,
    build: fn(&Path),
    /// Exit status: 1 when a row is rejected or a line flagged.
    code: i32,
    /// Rejected rows: (sheet row, column, words in the reason).
    rejected: Vec<(u64, &'static str, &'static str)>,
    /// (rows read, rows used) of the workbook.
    accounting: (u64, u64),
    /// The invoiced amount the run reports, as `summary.csv` writes it.
    invoiced_usd: &'static str,
}

fn sheet_cases() -> Vec<SheetCase> {
    use rust_xlsxwriter::{Format, Formula, Workbook};
    vec![
        SheetCase {
            name: "formulas are read by the result the spreadsheet saved; none saved is rejected",
            build: |p| {
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet();
                ws.set_formula_result_default("");
                invoice_header(ws, 0);
                invoice_row(ws, 1, 0);
                ws.write_formula(1, 3, Formula::new("=500*2").set_result("1000"))
                    .unwrap();
                ws.write_formula(1, 5, Formula::new("=0.0015*3").set_result("0.0045"))
                    .unwrap();
                // A formula without a saved result (a writer that computes nothing).
                invoice_row(ws, 2, 1000);
                ws.write_formula(2, 5, "=0.0045").unwrap();
                wb.save(p).unwrap();
            },
            code: 1,
            rejected: vec![(3, "amount_usd", "Sheet1!F3: amount_usd is empty")],
            accounting: (2, 1),
            invoiced_usd: "0.0045",
        },
        SheetCase {
            name: "error cells reject their row, naming the cell and the error",
            build: |p| {
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet();
                ws.set_name("Usage").unwrap();
                invoice_header(ws, 0);
                invoice_row(ws, 1, 1000);
                ws.write_number(1, 5, 0.0045).unwrap();
                invoice_row(ws, 2, 1000);
                ws.write_formula(
                    2,
                    5,
                    Formula::new("=VLOOKUP(A3,Z:Z,2,0)").set_result("#N/A"),
                )
                .unwrap();
                invoice_row(ws, 3, 0);
                ws.write_formula(3, 3, Formula::new("=1/0").set_result("#DIV/0!"))
                    .unwrap();
                ws.write_number(3, 5, 0.0045).unwrap();
                wb.save(p).unwrap();
            },
            code: 1,
            rejected: vec![
                (3, "amount_usd", "Usage!F3: the cell holds the error #N/A"),
                (
                    4,
                    "prompt_tokens",
                    "Usage!D4: the cell holds the error #DIV/0!",
                ),
            ],
            accounting: (3, 1),
            invoiced_usd: "0.0045",
        },
        SheetCase {
            name: "a merged title above a header with a merged cell; a value under its second half",
            build: |p| {
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet();
                ws.merge_range(
                    0,
                    0,
                    0,
                    6,
                    "=HYPERLINK(\"x\") April invoice",
                    &Format::new(),
                )
                .unwrap();
                for (c, h) in INVOICE_HEADER[..5].iter().enumerate() {
                    ws.write_string(1, c as u16, *h).unwrap();
                }
                ws.merge_range(1, 5, 1, 6, "amount_usd", &Format::new())
                    .unwrap();
                invoice_row(ws, 2, 1000);
                ws.write_number(2, 5, 0.0045).unwrap();
                // Typed under G, the second half of the merged header: under no column.
                invoice_row(ws, 3, 1000);
                ws.write_number(3, 6, 0.0045).unwrap();
                wb.save(p).unwrap();
            },
            code: 1,
            rejected: vec![(4, "amount_usd", "Sheet1!F4: amount_usd is empty")],
            accounting: (2, 1),
            invoiced_usd: "0.0045",
        },
        SheetCase {
            name: "a wrong amount is a finding, not a rejection",
            build: |p| {
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet();
                invoice_header(ws, 0);
                invoice_row(ws, 1, 1000);
                ws.write_number(1, 5, 4.5).unwrap();
                wb.save(p).unwrap();
            },
            code: 1,
            rejected: vec![],
            accounting: (1, 1),
            invoiced_usd: "4.5",
        },
    ]
}

/// Runs `reconcile` on GOOD and the workbook `invoice.xlsx` in `dir`.
fn reconcile_sheet(dir: &Path) -> (i32, String, tempfile::TempDir) {
    std::fs::write(dir.join("logs.jsonl"), GOOD).unwrap();
    run(
        dir,
        &[
            "reconcile".as_ref(),
            "-q".as_ref(),
            "--rates".as_ref(),
            daily_rates().as_os_str(),
            "--logs".as_ref(),
            "logs.jsonl".as_ref(),
            "--invoices".as_ref(),
            "invoice.xlsx".as_ref(),
        ],
    )
}

/// The value of `column` in the one data row of CSV `text`.
fn csv_value(text: &str, column: &str) -> String {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let i = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let row = rdr.records().next().unwrap().unwrap();
    row[i].to_string()
}

#[test]
fn bad_spreadsheets_are_rejected_cell_by_cell_and_accounted_for() {
    for case in sheet_cases() {
        let name = case.name;
        let dir = tempfile::tempdir().unwrap();
        (case.build)(&dir.path().join("invoice.xlsx"));
        let (code, stderr, out) = reconcile_sheet(dir.path());
        assert_eq!(code, case.code, "{name}: exit status\n{stderr}");
        let rejected = std::fs::read_to_string(out.path().join("rejected.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(rejected.as_bytes());
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), case.rejected.len(), "{name}\n{rejected}");
        for (r, (line, column, words)) in rows.iter().zip(&case.rejected) {
            assert!(r[0].ends_with("invoice.xlsx"), "{name}: {r:?}");
            assert_eq!(r[1].parse::<u64>().unwrap(), *line, "{name}: {r:?}");
            assert_eq!(&r[2], *column, "{name}: {r:?}");
            assert!(r[3].contains(words), "{name}: {r:?} lacks {words:?}");
        }
        let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
        let row = files
            .lines()
            .find(|l| l.contains("invoice.xlsx"))
            .unwrap_or_else(|| panic!("{name}: no invoice in files.csv\n{files}"));
        let n: Vec<u64> = row.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
        let (read, used) = case.accounting;
        assert_eq!((n[0], n[1]), (read, used), "{name}: {row}");
        assert_eq!(n[0], n[1] + n[2] + n[3] + n[4], "{name}: {row}");
        assert_eq!(n[3], rows.len() as u64, "{name}: {row}");
        let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
        assert_eq!(
            csv_value(&summary, "invoiced_usd")
                .parse::<rust_decimal::Decimal>()
                .unwrap(),
            case.invoiced_usd.parse::<rust_decimal::Decimal>().unwrap(),
            "{name}\n{summary}"
        );
    }
}

/// Limits instead of surprises: an XLSX whose sheet would inflate to 3 GiB is refused from the
/// zip directory, unread (exit 2, one line); a gzip log that inflates to 100 MiB with no line
/// end is one rejected row at the 64 MiB record limit, not an unbounded buffer.
#[test]
fn zip_and_gzip_bombs_get_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("invoice.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    invoice_header(ws, 0);
    invoice_row(ws, 1, 1000);
    ws.write_number(1, 5, 0.0045).unwrap();
    wb.save(&xlsx).unwrap();
    declare_size(&xlsx, "xl/worksheets/sheet1.xml", 3 << 30);
    let (code, stderr, _out) = reconcile_sheet(dir.path());
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("invoice.xlsx: XLSX part `xl/worksheets/sheet1.xml` uncompresses to 3 GiB")
            && stderr.contains("refused, as a zip bomb would be"),
        "{stderr}"
    );

    let logs = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writeln!(enc, "{GOOD}").unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        enc.write_all(&block).unwrap();
    }
    let gz = enc.finish().unwrap();
    assert!(gz.len() < 1 << 20, "{} bytes", gz.len());
    std::fs::write(logs.path().join("bomb.jsonl.gz"), gz).unwrap();
    let (code, stderr, out) = run(
        logs.path(),
        &[
            "daily".as_ref(),
            "-q".as_ref(),
            "--rates".as_ref(),
            daily_rates().as_os_str(),
            "--logs".as_ref(),
            "bomb.jsonl.gz".as_ref(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let rejected = std::fs::read_to_string(out.path().join("rejected.csv")).unwrap();
    assert_eq!(
        rejected,
        "file,line,column,reason,raw\nbomb.jsonl.gz,2,,file unreadable from here on: a record \
         longer than 64 MiB (no line end found): not a log file?,\n"
    );
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    assert!(files.ends_with("bomb.jsonl.gz,2,1,0,1,0\n"), "{files}");
}

/// The most rows a sheet can have (1,048,576: the header and 1,048,575 invoice lines, written in
/// constant-memory mode) are all read and summed. About 20 s in a test build (the spreadsheet
/// crates are optimised in test builds too, Cargo.toml); the reader holds one row at a time.
#[test]
fn a_sheet_of_1048576_rows_is_read_to_the_last_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    invoice_header(ws, 0);
    for r in 1..1_048_576u32 {
        // Excel serial 46113 is 2026-04-01: the lines cycle through the 30 days of April.
        ws.write_number(r, 0, 46113 + (r % 30)).unwrap();
        ws.write_string(r, 1, "openrouter").unwrap();
        ws.write_string(r, 2, "acme/big").unwrap();
        ws.write_number(r, 3, 1000).unwrap();
        ws.write_number(r, 4, 100).unwrap();
        ws.write_number(r, 5, if r == 1_048_575 { 1.0 } else { 0.5 })
            .unwrap();
    }
    wb.save(dir.path().join("invoice.xlsx")).unwrap();
    let (code, stderr, out) = reconcile_sheet(dir.path());
    // 29 invoiced days have no logged call: flagged.
    assert_eq!(code, 1, "{stderr}");
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    assert!(
        files.contains("invoice.xlsx,1048575,1048575,0,0,0\n"),
        "{files}"
    );
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    // 1,048,574 lines of 0.5 and the last row's 1.
    assert_eq!(
        csv_value(&summary, "invoiced_usd")
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        rust_decimal::Decimal::from(524_288)
    );
    let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    assert_eq!(recon.lines().count(), 1 + 30, "{recon}");
}

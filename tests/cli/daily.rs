//! End-to-end tests of `spendrecon daily` on hand-computed fixtures (tests/fixtures/daily).
//!
//! Rates (tests/fixtures/daily/rates/models.csv), USD per million tokens:
//!   *          acme/big   input 3, output 15, cache read 0.30, cache write 3.75
//!   ominigate  acme/big   from 2026-04-02: input 2, output 10, cache read 0.20, cache write 2.50
//!   *          acme/long  input 2, output 12, cache read 0.20; over 1000 prompt tokens 4 / 18
//!
//! The ten calls of logs.jsonl / logs.csv, cost = Σ tokens × price / 1e6:
//!  1 04-01 10:00Z openrouter big  p1000 (400 cached, 100 written) c200
//!        500×3 + 400×0.30 + 100×3.75 + 200×15 = 1500 + 120 + 375 + 3000 = 4995 → 0.004995
//!  2 04-01 23:59:59.999Z openrouter big p2000 c100: 6000 + 1500 = 7500 → 0.0075
//!  3 04-01 12:00Z openrouter big status 500: not billed, counted in failed_requests
//!  4 04-02 00:00Z ominigate big (nested usage) p1000 (500 cached) c100, gateway price:
//!        500×2 + 500×0.20 + 100×10 = 1000 + 100 + 1000 = 2100 → 0.0021
//!  5 04-01 15:00+02:00 = 13:00Z ominigate big p100 c10, `*` price (gateway row starts 04-02):
//!        300 + 150 = 450 → 0.00045
//!  6 04-02 08:00Z openrouter big, Anthropic usage: input 100 + cache read 1000 + cache write 200
//!        = prompt 1300, c50: 300 + 300 + 750 + 750 = 2100 → 0.0021
//!  7 04-02 09:00Z openrouter long p1001 > 1000 → long tier, 1 cached, c10:
//!        1000×4 + 1×0.20 + 10×18 = 4000 + 0.2 + 180 = 4180.2 → 0.0041802
//!  8 04-02 09:30Z openrouter long p1000 (not over) c10: 2000 + 120 = 2120 → 0.00212
//!  9 epoch s 1775131200 = 04-02 12:00Z openrouter acme/unknown p10 c5: no rate → cost empty
//! 10 epoch ms 1775134800000 = 04-02 13:00Z ominigate big p10 c1: 20 + 10 = 30 → 0.00003
//!
//! UTC rows: 04-01 ominigate big = #5; 04-01 openrouter big = #1 + #2 = 0.012495 (+1 failed);
//! 04-02 ominigate big = #4 + #10 = 0.00213; 04-02 openrouter big = #6; long = #7 + #8 = 0.0063002.
//! In America/New_York (UTC−4) call #4 (04-02 00:00Z) falls on local 04-01 but keeps the gateway
//! price of its UTC day: 04-01 ominigate big = #4 + #5 = 0.00255; 04-02 ominigate big = #10.

use std::path::Path;

use crate::util::{fixture, read, run_out, spendrecon};
use assert_cmd::Command;
use predicates::str::contains;

fn daily(args: &[&str]) -> Command {
    let mut cmd = spendrecon();
    cmd.arg("daily")
        .arg("--rates")
        .arg(fixture("daily/rates"))
        .args(args);
    cmd
}

fn run_to_dir(logs: &[&Path], extra: &[&str]) -> (tempfile::TempDir, i32) {
    let mut cmd = daily(extra);
    for l in logs {
        cmd.arg("--logs").arg(l);
    }
    let (out, o) = run_out(&mut cmd);
    (out, o.status.code().unwrap())
}

#[test]
fn jsonl_matches_hand_computed_daily() {
    let (out, code) = run_to_dir(&[&fixture("daily/logs.jsonl")], &[]);
    assert_eq!(
        read(out.path(), "daily.csv"),
        read(fixture("daily"), "expected_daily_utc.csv")
    );
    // acme/unknown has no rate: flagged, exit status 1.
    assert_eq!(code, 1);
    assert_eq!(
        read(out.path(), "files.csv").lines().nth(1).unwrap(),
        format!("{},10,10,0,0,0", fixture("daily/logs.jsonl").display())
    );
}

#[test]
fn csv_matches_hand_computed_daily() {
    let (out, _) = run_to_dir(&[&fixture("daily/logs.csv")], &[]);
    assert_eq!(
        read(out.path(), "daily.csv"),
        read(fixture("daily"), "expected_daily_utc.csv")
    );
}

#[test]
fn gzip_matches_plain() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("logs.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&std::fs::read(fixture("daily/logs.jsonl")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let (out, _) = run_to_dir(&[&gz], &[]);
    assert_eq!(
        read(out.path(), "daily.csv"),
        read(fixture("daily"), "expected_daily_utc.csv")
    );
}

#[test]
fn time_zone_cuts_days_but_rates_follow_utc_day() {
    let (out, _) = run_to_dir(
        &[&fixture("daily/logs.jsonl")],
        &["--tz", "America/New_York"],
    );
    assert_eq!(
        read(out.path(), "daily.csv"),
        read(fixture("daily"), "expected_daily_new_york.csv")
    );
}

#[test]
fn from_to_filter_inclusively_and_account_for_rows() {
    // Calls 1, 2, 3 and 5 are on 2026-04-01 UTC: outside --from 2026-04-02.
    let (out, code) = run_to_dir(
        &[&fixture("daily/logs.jsonl")],
        &["--from", "2026-04-02", "--to", "2026-04-02"],
    );
    let daily = read(out.path(), "daily.csv");
    assert!(
        daily.lines().skip(1).all(|l| l.starts_with("2026-04-02,")),
        "{daily}"
    );
    assert_eq!(daily.lines().count(), 1 + 4);
    assert!(read(out.path(), "files.csv").contains(",10,6,4,0"));
    assert_eq!(code, 1);
    // 04-01 alone is fully priced and clean: exit 0.
    let (_, code) = run_to_dir(&[&fixture("daily/logs.jsonl")], &["--to", "2026-04-01"]);
    assert_eq!(code, 0);
}

#[test]
fn stdout_without_out_dir() {
    let expected = read(fixture("daily"), "expected_daily_utc.csv");
    daily(&[
        "--logs",
        fixture("daily/logs.jsonl").to_str().unwrap(),
        "--quiet",
    ])
    .assert()
    .code(1)
    .stdout(expected);
}

#[test]
fn json_format_has_csv_columns() {
    let out = daily(&[
        "--logs",
        fixture("daily/logs.jsonl").to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ])
    .output()
    .unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["day"], "2026-04-01");
    assert_eq!(first["cost_usd"], "0.00045");
    assert_eq!(first["failed_requests"], "0");
}

#[test]
fn bad_jsonl_rows_are_rejected_with_line_and_reason() {
    let (out, code) = run_to_dir(&[&fixture("daily/bad.jsonl")], &[]);
    assert_eq!(code, 1);
    let rejected = read(out.path(), "rejected.csv");
    let lines: Vec<&str> = rejected.lines().collect();
    let file = fixture("daily/bad.jsonl").display().to_string();
    let expect = [
        (2, "", "cut short"),
        (3, "prompt_tokens", "negative token count -5"),
        (4, "ts", "no UTC offset"),
        (5, "ts", "not an RFC 3339 timestamp or a valid date-time"),
        (7, "model", "missing required field `model`"),
        (8, "cached_tokens", "exceed prompt tokens"),
    ];
    assert_eq!(lines.len(), 1 + expect.len(), "{rejected}");
    for (row, (line, column, reason)) in lines[1..].iter().zip(expect) {
        assert!(
            row.starts_with(&format!("{file},{line},{column},")),
            "{row}"
        );
        assert!(row.contains(reason), "{row} lacks {reason}");
    }
    // The API key on line 7 is masked.
    assert!(rejected.contains("sk-***") && !rejected.contains("0123456789abcdef"));
    // Lines 1 and 9 are used: p 1000 + 0, c 0 + 1000 → 3000 + 15000 = 18000 / 1e6.
    assert!(read(out.path(), "daily.csv")
        .contains("2026-04-01,openrouter,acme/big,2,1000,0,0,1000,2000,0.018,0"));
    assert!(read(out.path(), "files.csv").contains(",8,2,0,6"));
}

#[test]
fn bad_csv_rows_keep_physical_line_numbers() {
    let (out, _) = run_to_dir(&[&fixture("daily/bad.csv")], &[]);
    let rejected = read(out.path(), "rejected.csv");
    let lines: Vec<&str> = rejected.lines().skip(1).collect();
    assert_eq!(lines.len(), 4, "{rejected}");
    assert!(
        lines[0].contains(",3,,\"expected 6 fields as in the header, found 4\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(",4,,\"expected 6 fields as in the header, found 7\""),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",5,prompt_tokens,token count 12.5 is not an integer"),
        "{}",
        lines[2]
    );
    // The record on lines 6–7 holds a quoted newline, so the missing provider is on line 9.
    assert!(
        lines[3].contains(",9,provider,missing required field"),
        "{}",
        lines[3]
    );
    // Used: lines 2, 6–7, 8 → p 1000 + 1 + 0 = 1001, c 0 + 1 + 1000 = 1001;
    // 1001 × 3 + 1001 × 15 = 18018 → 0.018018.
    assert!(read(out.path(), "daily.csv").contains(",3,1001,0,0,1001,2002,0.018018,0"));
}

#[test]
fn bom_crlf_and_latin1() {
    let (out, _) = run_to_dir(&[&fixture("daily/bom_crlf_latin1.csv")], &[]);
    let rejected = read(out.path(), "rejected.csv");
    assert!(rejected.contains(",3,model,not valid UTF-8"), "{rejected}");
    // The raw row is kept (lossily decoded) so the analyst can find it.
    assert!(
        rejected.contains("openrouter,acme/b\u{FFFD}g,1,1"),
        "{rejected}"
    );
    assert!(read(out.path(), "daily.csv")
        .contains("2026-04-01,openrouter,acme/big,2,1000,0,0,1000,2000,0.018,0"));
}

#[test]
fn strict_stops_with_status_2_and_location() {
    daily(&[
        "--logs",
        fixture("daily/bad.jsonl").to_str().unwrap(),
        "--strict",
    ])
    .assert()
    .code(2)
    .stderr(contains("bad.jsonl:2:"))
    .stderr(contains("--strict"));
}

#[test]
fn unknown_format_and_missing_file_are_usage_errors() {
    daily(&["--logs", "/nonexistent/logs.jsonl"])
        .assert()
        .code(2);
    daily(&[
        "--logs",
        fixture("daily/rates/models.csv")
            .parent()
            .unwrap()
            .to_str()
            .unwrap(),
    ])
    .assert()
    .code(2)
    .stderr(contains("header lacks required column"));
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    daily(&["--logs", txt.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains("unknown log format"));
}

#[test]
fn directory_reads_every_log_file_and_skips_others() {
    let dir = tempfile::tempdir().unwrap();
    // The ten calls split over two formats in one directory, plus an unrelated file.
    let jsonl = std::fs::read_to_string(fixture("daily/logs.jsonl")).unwrap();
    let (a, b): (Vec<_>, Vec<_>) = jsonl.lines().enumerate().partition(|(i, _)| i % 2 == 0);
    let join = |v: Vec<(usize, &str)>| {
        v.into_iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect::<String>()
    };
    std::fs::write(dir.path().join("a.jsonl"), join(a)).unwrap();
    std::fs::write(dir.path().join("b.ndjson"), join(b)).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not logs").unwrap();
    let (out, _) = run_to_dir(&[dir.path()], &[]);
    assert_eq!(
        read(out.path(), "daily.csv"),
        read(fixture("daily"), "expected_daily_utc.csv")
    );
}

#[test]
fn overlapping_rate_periods_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut rates = std::fs::read_to_string(fixture("daily/rates/models.csv")).unwrap();
    rates.push_str("*,acme/big,2026-03-01,2026-03-31,1,1,,,,,,overlaps line 2\n");
    std::fs::write(dir.path().join("models.csv"), rates).unwrap();
    spendrecon()
        .args([
            "daily",
            "--logs",
            fixture("daily/logs.jsonl").to_str().unwrap(),
            "--rates",
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("models.csv:5:"))
        .stderr(contains("overlaps the row on line 2"));
}

#[test]
fn truncated_gzip_keeps_rows_before_the_break_and_says_where() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // 3000 copies of call #2 (p2000 c100 → 0.0075 each), compressed, then cut short.
    let line = std::fs::read_to_string(fixture("daily/logs.jsonl"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..3000 {
        writeln!(enc, "{line}").unwrap();
    }
    let gz = enc.finish().unwrap();
    let cut = dir.path().join("cut.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() - 20]).unwrap();
    let (out, code) = run_to_dir(&[&cut], &[]);
    assert_eq!(code, 1);
    let rejected = read(out.path(), "rejected.csv");
    assert!(
        rejected.contains("file unreadable from here on"),
        "{rejected}"
    );
    // read = used + rejected, the break counted as one rejected row.
    let files = read(out.path(), "files.csv");
    let cells: Vec<u64> = files
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .take(5)
        .map(|c| c.parse().unwrap())
        .collect();
    let (skipped, rejected_n, out_of_range, used, read_n) =
        (cells[0], cells[1], cells[2], cells[3], cells[4]);
    assert_eq!((rejected_n, out_of_range, skipped), (1, 0, 0));
    assert_eq!(read_n, used + 1);
    assert!(used > 0 && used < 3000, "{files}");
}

#[test]
fn many_bad_rows_are_all_listed_in_input_order() {
    // 50,000 broken lines interleaved with 50,000 good ones: enough to spill to disk.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("daily/logs.jsonl"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut body = String::new();
    for i in 0..50_000 {
        body.push_str(&good);
        body.push('\n');
        body.push_str(&format!("{{\"ts\":\"2026-04-01T00:00:00Z\",\"provider\":\"p\",\"model\":\"m\",\"prompt_tokens\":-{},\"completion_tokens\":1}}\n",
            i + 1
        ));
    }
    let f = dir.path().join("many.jsonl");
    std::fs::write(&f, body).unwrap();
    let (out, _) = run_to_dir(&[&f], &["--threads", "2"]);
    let rejected = read(out.path(), "rejected.csv");
    let lines: Vec<u64> = rejected
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, (1..=50_000).map(|i| 2 * i).collect::<Vec<u64>>());
    // 50,000 × 0.0075 = 375
    assert!(
        read(out.path(), "daily.csv").contains(",50000,100000000,0,0,5000000,105000000,375.00,0")
    );
}

/// Parquet is read in slices that end on row-group boundaries; a row group larger than four
/// slices is still cut. Both files hold 300,000 calls of 1 prompt + 1 completion token on
/// 2026-04-01 to acme/big (3 USD per million prompt tokens, 15 per million completion tokens),
/// one with row groups of 7,000 rows, one with a single row group; row 150,001 of each has −1
/// prompt tokens and is rejected under that row number.
#[test]
fn parquet_row_groups_and_slices_keep_every_row_and_its_number() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let n = 300_000usize;
    let t0 = 1_775_001_600i64; // 2026-04-01T00:00:00Z, epoch seconds
    let mut paths = Vec::new();
    for (name, group) in [("small_groups", Some(7_000usize)), ("one_group", None)] {
        let prompt: Vec<i64> = (0..n).map(|i| if i == 150_000 { -1 } else { 1 }).collect();
        let mut df = DataFrame::new(
            n,
            vec![
                Column::new(
                    "ts".into(),
                    (0..n).map(|i| t0 + (i % 80_000) as i64).collect::<Vec<_>>(),
                ),
                Column::new("provider".into(), vec!["openrouter"; n]),
                Column::new("model".into(), vec!["acme/big"; n]),
                Column::new("prompt_tokens".into(), prompt),
                Column::new("completion_tokens".into(), vec![1i64; n]),
            ],
        )
        .unwrap();
        let path = dir.path().join(format!("{name}.parquet"));
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(group.or(Some(n)))
            .finish(&mut df)
            .unwrap();
        paths.push(path);
    }
    for p in &paths {
        let (out, code) = run_to_dir(&[p], &[]);
        assert_eq!(code, 1, "one row rejected");
        let daily = read(out.path(), "daily.csv");
        // 299,999 calls: 299,999 × (3 + 15) / 1e6 = 5.399982
        assert!(
            daily.contains(
                "2026-04-01,openrouter,acme/big,299999,299999,0,0,299999,599998,5.399982,0"
            ),
            "{daily}"
        );
        let rejected = read(out.path(), "rejected.csv");
        assert!(
            rejected.contains(".parquet,150001,prompt_tokens,"),
            "{rejected}"
        );
        assert!(read(out.path(), "files.csv").ends_with(",300000,299999,0,1,0\n"));
    }
}

/// An API key in a bad value is masked in the reason as in the raw row, in rejected.csv and on
/// stderr.
#[test]
fn api_keys_in_rejection_reasons_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("k.jsonl");
    std::fs::write(
        &log,
        "{\"ts\":\"2026-04-01T00:00:00Z\",\"provider\":\"p\",\"model\":\"m\",\"prompt_tokens\":\"sk-or-v1-abcdef0123456789\",\"completion_tokens\":1}\n",
    )
    .unwrap();
    let (out, code) = run_to_dir(&[&log], &[]);
    assert_eq!(code, 1);
    let rejected = read(out.path(), "rejected.csv");
    assert!(rejected.contains("found `sk-***`"), "{rejected}");
    assert!(!rejected.contains("abcdef0123456789"), "{rejected}");
}

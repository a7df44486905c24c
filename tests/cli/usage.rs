//! Usage groups (docs/engines.md, CONTRACT §10): `daily --usage-out` writes them, `--usage`
//! reads them in place of the logs with the same outputs, shards merge by summing, and files cut
//! differently are refused. tests/fixtures/usage/README.md works the fixture's groups by hand.

use std::path::{Path, PathBuf};

use crate::util::{fixture, read, root, run_out, spendrecon, SAMPLE_MONTH};

/// Runs `daily` with `args`, writing the usage groups to `usage` (when given); the output dir.
fn daily(args: &[&str], usage_out: Option<&Path>) -> (tempfile::TempDir, String) {
    let mut c = spendrecon();
    c.current_dir(root()).arg("daily").args(args);
    if let Some(u) = usage_out {
        c.arg("--usage-out").arg(u);
    }
    let (out, o) = run_out(&mut c);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
    (out, stderr)
}

fn fixture_rates() -> String {
    fixture("usage/rates").display().to_string()
}

/// The usage file without its first two columns (format, fingerprint), which are checked
/// apart: every row says `spendrecon-usage/1` and carries one 16-hex-digit fingerprint.
fn groups_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fingerprints = std::collections::BTreeSet::new();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(3, ',');
        let (format, fp, rest) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        if i > 0 {
            assert_eq!(format, "spendrecon-usage/1");
            assert!(
                fp.len() == 16 && fp.bytes().all(|b| b.is_ascii_hexdigit()),
                "{fp}"
            );
            fingerprints.insert(fp.to_string());
        } else {
            assert_eq!((format, fp), ("format", "rates_fingerprint"));
        }
        out.push_str(rest);
        out.push('\n');
    }
    assert!(fingerprints.len() <= 1, "{fingerprints:?}");
    out
}

#[test]
fn usage_out_cuts_the_groups_as_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("groups.csv");
    let logs = fixture("usage/logs.jsonl").display().to_string();
    let rates = fixture_rates();
    let (_out, _) = daily(&["--rates", &rates, "--logs", &logs], Some(&usage));
    assert_eq!(
        groups_of(&usage),
        std::fs::read_to_string(fixture("usage/expected_groups.csv")).unwrap()
    );
}

#[test]
fn daily_from_usage_equals_daily_from_the_logs_with_thresholds_moving_mid_month() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("groups.csv");
    let logs = fixture("usage/logs.jsonl").display().to_string();
    let rates = fixture_rates();
    let (a, _) = daily(&["--rates", &rates, "--logs", &logs], Some(&usage));
    let u = usage.display().to_string();
    let (b, stderr) = daily(&["--rates", &rates, "--usage", &u], None);
    assert_eq!(
        read(a.path(), "daily.csv"),
        read(b.path(), "daily.csv"),
        "{stderr}"
    );
    // a7 (04-20) is long-context under the 128,000 row: 150,000 × 2.50 + 2,000 × 15 per Mtok.
    assert!(
        read(b.path(), "daily.csv").contains(
            "2026-04-20,openrouter,google/gemini-2.5-pro,1,150000,0,0,2000,152000,0.405,0\n"
        ),
        "{}",
        read(b.path(), "daily.csv")
    );
    // run.json names the usage file as an input.
    assert!(read(b.path(), "run.json").contains("\"usage\""));
    assert_eq!(
        read(b.path(), "files.csv"),
        format!(
            "file,rows_read,rows_used,rows_out_of_range,rows_rejected,rows_skipped\n{u},7,7,0,0,0\n"
        )
    );
}

/// The sample month in New York time: the UTC files split local days, so two shards of files
/// carry groups with the same key, and their sum must be the month read at once.
#[test]
fn shards_merge_by_summing_and_equal_one_read_of_all_logs() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("sample-data/logs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let tz = ["--tz", "America/New_York"];
    let mut usage_args: Vec<String> = Vec::new();
    for (k, half) in files.chunks(files.len().div_ceil(2)).enumerate() {
        let u = dir.path().join(format!("shard{k}.csv"));
        let mut args: Vec<String> = tz.iter().map(|s| s.to_string()).collect();
        for f in half {
            args.push("--logs".into());
            args.push(f.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        daily(&args, Some(&u));
        usage_args.push("--usage".into());
        usage_args.push(u.display().to_string());
    }
    let all = dir.path().join("all.csv");
    let (whole, _) = daily(&[tz[0], tz[1], "--logs", "sample-data/logs"], Some(&all));
    let mut args: Vec<&str> = usage_args.iter().map(String::as_str).collect();
    args.extend(tz);
    // Merging the shards into one file gives the file of all logs, byte for byte.
    let merged = dir.path().join("merged.csv");
    let (from_usage, stderr) = daily(&args, Some(&merged));
    assert_eq!(
        read(whole.path(), "daily.csv"),
        read(from_usage.path(), "daily.csv"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&all).unwrap(),
        std::fs::read_to_string(&merged).unwrap()
    );
}

#[test]
fn files_cut_differently_do_not_merge_and_a_bad_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let logs = fixture("usage/logs.jsonl").display().to_string();
    let rates = fixture_rates();
    daily(&["--rates", &rates, "--logs", &logs], Some(&a));
    daily(&["--logs", &logs], Some(&b));
    let run = |args: &[&str]| {
        let o = spendrecon()
            .current_dir(root())
            .arg("daily")
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (sa, sb) = (a.display().to_string(), b.display().to_string());
    let (code, err) = run(&["--rates", &rates, "--usage", &sa, "--usage", &sb]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("do not merge"), "{err}");
    // Read with the shipped rates, the fixture's file was cut with other thresholds.
    let (code, err) = run(&["--usage", &sa]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cut them again"), "{err}");
    // Another zone.
    let (code, err) = run(&["--rates", &rates, "--usage", &sa, "--tz", "Europe/Berlin"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("run with --tz UTC"), "{err}");
    // A row whose sums do not add up: the file and line, exit 2.
    let text = std::fs::read_to_string(&a).unwrap();
    let bad = text.replacen(",4000,1000,0,0,400,100", ",4000,5000,0,0,400,100", 1);
    assert_ne!(bad, text);
    std::fs::write(&a, bad).unwrap();
    let (code, err) = run(&["--rates", &rates, "--usage", &sa]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 6: the token sums do not add up"),
        "{err}"
    );
    // --by with groups cut without its column (tests/cli/showback.rs reads groups cut by it).
    let (code, err) = run(&["--usage", &sb, "--by", "tenant"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("carry no group column"), "{err}");
    // Commands that need the records one by one say so.
    let o = spendrecon()
        .current_dir(root())
        .args(["rollout", "--usage", &sb])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs the log records one by one"));
}

/// The sample month: `reconcile`, `fees`, `audit` and `forecast` from its usage groups write the same
/// result files as from its logs; only the accounting (files.csv, rejected.csv, run.json) tells
/// the inputs apart (the logs' rejected rows are not in the groups).
#[test]
fn reconcile_fees_audit_and_forecast_from_usage_equal_reading_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("month.csv");
    daily(&["--logs", "sample-data/logs"], Some(&usage));
    let u = usage.display().to_string();
    // The sample month's invoices and ledger.
    let bills = &SAMPLE_MONTH[2..];
    let ledger = &bills[4..];
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "reconcile",
            bills,
            &[
                "recon.csv",
                "findings.csv",
                "daily.csv",
                "summary.csv",
                "disputes.csv",
                "fees.csv",
                "topups.csv",
            ],
        ),
        ("fees", ledger, &["fees.csv", "topups.csv"]),
        ("audit", &[], &["audit.csv"]),
        (
            "forecast",
            &["--months", "2", "--move", "openrouter=ominigate:50"],
            &["forecast.csv", "whatif.csv"],
        ),
    ];
    for (command, extra, files) in cases {
        let run = |input: &[&str]| {
            let mut c = spendrecon();
            c.current_dir(root()).arg(command).args(extra).args(input);
            let (out, o) = run_out(&mut c);
            (out, o.status.code())
        };
        let (logs, a) = run(&["--logs", "sample-data/logs"]);
        let (groups, b) = run(&["--usage", &u]);
        // Both flag: the logs for their rejected rows and the bills' findings, the groups for
        // the bills' findings alone.
        assert_eq!((a, b), (Some(1), Some(1)), "{command}");
        for f in files {
            assert_eq!(
                read(logs.path(), f),
                read(groups.path(), f),
                "{command} {f}"
            );
        }
    }
}

/// The fixture's BYOK allowance of 3 runs out inside the minute 10:01 (README.md): the fee from
/// the groups' allowance numbering equals the fee from the calls. Charged: a3, a5 and a7, at
/// 5 % of their list cost: (2,000 × 1.25 + 200 × 10 + 3,000 × 1.25 + 300 × 10) per Mtok
/// = 0.01125, and a7 long-context 0.405: basis 0.41625, fee 0.0208125.
#[test]
fn byok_fees_from_usage_equal_the_fees_from_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("groups.csv");
    let logs = fixture("usage/logs.jsonl").display().to_string();
    let rates = fixture_rates();
    daily(&["--rates", &rates, "--logs", &logs], Some(&usage));
    let u = usage.display().to_string();
    let run = |input: &[&str]| {
        let mut c = spendrecon();
        c.current_dir(root())
            .args(["fees", "--rates", &rates])
            .args(input);
        let (out, o) = run_out(&mut c);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        read(out.path(), "fees.csv")
    };
    let from_logs = run(&["--logs", &logs]);
    assert_eq!(from_logs, run(&["--usage", &u]));
    assert!(
        from_logs.contains("2026-04,openrouter,byok,0.41625,,0.0208125,"),
        "{from_logs}"
    );
}

//! The shipped sample month (sample-data/, made by `cargo run --example gen_sample`): every planted
//! bad row is rejected at its file and line, nothing else is, and the accounting adds up.

use crate::util::{root, spendrecon};

#[test]
fn sample_month_rejects_exactly_the_planted_rows() {
    let out = tempfile::tempdir().unwrap();
    let assert = spendrecon()
        .current_dir(root())
        .args([
            "daily",
            "--logs",
            "sample-data/logs",
            "--rates",
            "rates",
            "--out",
        ])
        .arg(out.path())
        .assert();
    // Planted bad rows and the never-listed google/gemini-3.1-pro (no rate) are flagged.
    assert.code(1);

    let planted = std::fs::read_to_string(root().join("sample-data/bad_rows.csv")).unwrap();
    let mut want: Vec<(String, u64, String)> = planted
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            (
                format!("sample-data/{}", f[0]),
                f[1].parse().unwrap(),
                f[3].to_string(),
            )
        })
        .collect();
    want.sort();
    let rejected = std::fs::read_to_string(out.path().join("rejected.csv")).unwrap();
    let mut got: Vec<(String, u64, String)> = csv::Reader::from_reader(rejected.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse().unwrap(), r[2].to_string())
        })
        .collect();
    got.sort();
    assert_eq!(got, want);

    // Every file: read = used + out of range + rejected + skipped; 30 files, 7 rejections in
    // all, nothing skipped.
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    let mut rejected_total = 0;
    for r in csv::Reader::from_reader(files.as_bytes()).records() {
        let r = r.unwrap();
        let n: Vec<u64> = (1..6).map(|i| r[i].parse().unwrap()).collect();
        assert_eq!(n[0], n[1] + n[2] + n[3] + n[4], "{r:?}");
        assert_eq!(n[4], 0, "{r:?}");
        rejected_total += n[3];
    }
    assert_eq!(rejected_total, 7);
    assert_eq!(files.lines().count(), 1 + 30);

    // Both gateways on every day of the month.
    let daily = std::fs::read_to_string(out.path().join("daily.csv")).unwrap();
    for day in 1..=30 {
        let d = format!("2026-04-{day:02},");
        assert!(daily.lines().any(|l| l.starts_with(&d)), "no rows for {d}");
    }
    let unpriced: Vec<&str> = daily.lines().filter(|l| l.contains(",,")).collect();
    assert!(
        unpriced
            .iter()
            .all(|l| l.contains("google/gemini-3.1-pro,")),
        "{unpriced:?}"
    );
}

/// Spreadsheets read CSV in a local code page by default (LibreOffice Calc 7.4 shows `×` as
/// `Ã—`), so the text the tool writes itself is ASCII: every CSV of every command on the sample
/// month holds no byte over 0x7F outside text copied from an input (rejected.csv's `raw`).
#[test]
fn every_csv_of_the_sample_month_is_ascii_outside_input_text() {
    use crate::util::SAMPLE_MONTH;
    let logs = &SAMPLE_MONTH[..2];
    let ledger = &SAMPLE_MONTH[6..];
    let runs: Vec<Vec<&str>> = vec![
        [&["reconcile"], SAMPLE_MONTH].concat(),
        [&["fees", "--months", "3"][..], logs, ledger].concat(),
        [
            &[
                "forecast",
                "--to",
                "2026-04-18",
                "--move",
                "openrouter=ominigate:25",
                "--months",
                "2",
            ][..],
            logs,
        ]
        .concat(),
        [&["audit"][..], logs].concat(),
        [&["shadow"][..], logs].concat(),
        [&["rollout"][..], logs].concat(),
    ];
    let outs: Vec<(tempfile::TempDir, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|args| {
                s.spawn(move || {
                    let out = tempfile::tempdir().unwrap();
                    let focus = out.path().join("focus.csv");
                    let mut cmd = spendrecon();
                    cmd.current_dir(root())
                        .args(args)
                        .arg("-q")
                        .arg("--out")
                        .arg(out.path());
                    if args[0] == "reconcile" {
                        cmd.arg("--focus").arg(&focus);
                    }
                    let o = cmd.output().unwrap();
                    (out, o)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut csvs = 0;
    for ((out, o), args) in outs.iter().zip(&runs) {
        assert_eq!(
            o.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for e in std::fs::read_dir(out.path()).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "csv") {
                continue;
            }
            csvs += 1;
            let mut rdr = csv::Reader::from_path(&path).unwrap();
            let header = rdr.headers().unwrap().clone();
            assert!(header.iter().all(|h| h.is_ascii()), "{}", path.display());
            let from_input = |c: &str| path.ends_with("rejected.csv") && c == "raw";
            for (i, r) in rdr.records().enumerate() {
                for (cell, h) in r.unwrap().iter().zip(&header) {
                    assert!(
                        cell.is_ascii() || from_input(h),
                        "{} row {} column {h}: {cell:?}",
                        path.display(),
                        i + 2
                    );
                }
            }
        }
    }
    // reconcile 9 (disputes.csv included) + focus, fees 3, forecast 2, audit, shadow 2, rollout;
    // rejected and files each.
    assert_eq!(
        csvs,
        10 + 3 + 2 + 1 + 2 + 1 + 2 * 5,
        "the CSV files looked at"
    );
}

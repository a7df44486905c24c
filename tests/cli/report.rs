//! End-to-end tests of `spendrecon report`: the page's figures are `reconcile`'s, text from the
//! inputs is escaped, nothing is fetched, and a real browser (Debian's headless Chromium) draws
//! every chart with marks.
//!
//! Fixtures (tests/fixtures/report): `hostile.jsonl` calls models named
//! `<script>alert(1)</script>` (USD 2.00 on openrouter) and `=cmd|' /C calc'!A0` (2.00 on
//! ominigate), priced in `rates/`; `clean.jsonl` and `clean-invoice.csv` match to the cent
//! (0.45 + 0.90 on openrouter, 0.30 on ominigate), so that run reconciles.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{fixture, root, run_out, spendrecon, SAMPLE_MONTH};

/// Runs spendrecon with `args` and `--out` a fresh directory; the directory and the exit status.
fn run(args: &[&str]) -> (tempfile::TempDir, i32) {
    let (out, o) = run_out(spendrecon().current_dir(root()).args(args).arg("-q"));
    (out, o.status.code().unwrap())
}

/// The sample month's report and reconcile outputs, made once: each run reads 202,271 calls.
fn sample() -> &'static (tempfile::TempDir, i32, tempfile::TempDir, i32) {
    static SAMPLE_RUNS: OnceLock<(tempfile::TempDir, i32, tempfile::TempDir, i32)> =
        OnceLock::new();
    SAMPLE_RUNS.get_or_init(|| {
        let mut report = vec!["report"];
        report.extend(SAMPLE_MONTH);
        let (r, rc) = run(&report);
        let mut recon = vec!["reconcile"];
        recon.extend(SAMPLE_MONTH);
        let (c, cc) = run(&recon);
        (r, rc, c, cc)
    })
}

fn html(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.html")).unwrap()
}

/// The `<tr>` of the summary table for `provider` ("" for the total row).
fn summary_row<'a>(page: &'a str, provider: &str) -> &'a str {
    let key = format!("data-provider=\"{provider}\"");
    let start = page.find(&key).unwrap_or_else(|| panic!("no row {key}"));
    let rest = &page[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// The exact amount a money cell holds (`data-col="COL" data-usd="…"`), `None` when empty.
fn cell(row: &str, col: &str) -> Option<String> {
    let key = format!("data-col=\"{col}\"");
    let at = row
        .find(&key)
        .unwrap_or_else(|| panic!("no cell {col} in {row}"));
    let rest = &row[at + key.len()..];
    let rest = rest.strip_prefix(" data-usd=\"")?;
    Some(rest[..rest.find('"').unwrap()].to_string())
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// No script, no URL, no attribute that loads anything.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element");
    assert!(
        !lower.contains("http://") && !lower.contains("https://"),
        "a URL"
    );
    for attr in [" src=", " href=", "@import", "url("] {
        assert!(!lower.contains(attr), "{attr} in the page");
    }
}

#[test]
fn sample_month_page_has_every_section_and_reconciles_figures() {
    let (dir, code, recon, recon_code) = sample();
    assert_eq!(*code, 1, "the sample month is flagged, as reconcile says");
    assert_eq!(*recon_code, 1);
    let page = html(dir.path());
    for h in [
        "<h1>spendrecon report</h1>",
        "<h2 id=\"summary\">Summary</h2>",
        "<h2 id=\"daily\">Daily cost per provider</h2>",
        "<h2 id=\"tokens\">Logged vs invoiced tokens per day</h2>",
        "<h2 id=\"models\">Top models by cost</h2>",
        "<h2 id=\"fees\">Fees</h2>",
        "<h2 id=\"forecast\">Month-end forecast</h2>",
        "<h2 id=\"inputs\">Inputs</h2>",
    ] {
        assert!(page.contains(h), "missing {h}");
    }
    assert_eq!(page.matches("<svg").count(), 5, "one chart per section");
    assert_self_contained(&page);
    assert!(
        page.contains("2026-04-09"),
        "the double-billed day is listed"
    );

    // Per provider, the money figures are summary.csv's, to the last digit.
    let summary = csv_rows(&recon.path().join("summary.csv"));
    assert_eq!(summary.len(), 2);
    for s in &summary {
        let row = summary_row(&page, &s["provider"]);
        for col in [
            "logged_usd",
            "invoiced_usd",
            "difference_usd",
            "topup_fee_usd",
            "byok_fee_usd",
            "subscription_usd",
            "effective_usd",
        ] {
            assert_eq!(
                cell(row, col).as_deref(),
                Some(s[col].as_str()),
                "{} {col}",
                s["provider"]
            );
        }
    }
    // The README's figures: openrouter 1587.10 usage + 123.10 top-up fees.
    let or = summary_row(&page, "openrouter");
    assert!(or.contains(">1710.20<") && or.contains(">123.10<"), "{or}");

    // Priced cost is daily.csv's, and the rows are files.csv's.
    let daily = csv_rows(&recon.path().join("daily.csv"));
    let priced: rust_decimal::Decimal = daily
        .iter()
        .filter(|r| !r["cost_usd"].is_empty())
        .map(|r| r["cost_usd"].parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    let total = summary_row(&page, "");
    assert_eq!(
        cell(total, "priced_usd")
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        priced
    );
    let files = csv_rows(&recon.path().join("files.csv"));
    let sum = |c: &str| -> u64 { files.iter().map(|f| f[c].parse::<u64>().unwrap()).sum() };
    for (col, name) in [
        ("read", "rows_read"),
        ("used", "rows_used"),
        ("rejected", "rows_rejected"),
    ] {
        let key = format!("data-col=\"{col}\">{}<", sum(name));
        assert!(page.contains(&key), "{key}");
    }
    // The same rejected rows are written beside the page.
    assert_eq!(
        std::fs::read(dir.path().join("rejected.csv")).unwrap(),
        std::fs::read(recon.path().join("rejected.csv")).unwrap()
    );
}

#[test]
fn hostile_slugs_are_escaped_and_the_run_reconciles_without_invoices() {
    let logs = fixture("report/hostile.jsonl");
    let rates = fixture("report/rates");
    let (dir, code) = run(&[
        "report",
        "--logs",
        logs.to_str().unwrap(),
        "--rates",
        rates.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "every call priced, nothing to compare");
    let page = html(dir.path());
    assert_self_contained(&page);
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert!(page.contains("<td>=cmd|&#39; /C calc&#39;!A0</td>"));
    // The chart's axis label is escaped by the SVG writer.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\n</text>"));
    assert!(page.contains("No invoices were given"));
    assert!(page.contains("Everything reconciled (exit status 0)"));
    // Total: 2.00 + 2.00 + 4.50 at the fixture's rates.
    assert_eq!(cell(summary_row(&page, ""), "priced_usd").unwrap(), "8.50");
}

#[test]
fn matching_invoice_exits_0_and_a_rerun_gives_the_same_bytes() {
    let logs = fixture("report/clean.jsonl");
    let inv = fixture("report/clean-invoice.csv");
    let rates = fixture("report/rates");
    let args = [
        "report",
        "--logs",
        logs.to_str().unwrap(),
        "--invoices",
        inv.to_str().unwrap(),
        "--rates",
        rates.to_str().unwrap(),
    ];
    let (a, code) = run(&args);
    assert_eq!(code, 0);
    let (b, _) = run(&args);
    assert_eq!(html(a.path()), html(b.path()));
    let page = html(a.path());
    assert!(page.contains("No flagged day."));
    let or = summary_row(&page, "openrouter");
    assert_eq!(cell(or, "logged_usd").unwrap(), "1.35");
    assert_eq!(cell(or, "invoiced_usd").unwrap(), "1.35");
}

#[test]
fn a_top_up_ledger_fills_the_fee_table() {
    let logs = fixture("report/clean.jsonl");
    let (dir, code) = run(&[
        "report",
        "--logs",
        logs.to_str().unwrap(),
        "--topups",
        fixture("report/topups.csv").to_str().unwrap(),
        "--rates",
        fixture("report/rates").to_str().unwrap(),
    ]);
    // 5.5 % of 100 is 5.50: charged right, so only the fee table shows, unflagged.
    assert_eq!(code, 0);
    let page = html(dir.path());
    assert!(page.contains("<table id=\"fees-table\">"));
    assert!(page.contains("<td>topup_card</td>"));
}

#[test]
fn bad_input_and_usage_exit_2() {
    let (_, code) = run(&[
        "report",
        "--logs",
        "tests/fixtures/report/no-such-file.jsonl",
    ]);
    assert_eq!(code, 2);
    let out = spendrecon()
        .current_dir(root())
        .args(["report", "--logs", "tests/fixtures/report/clean.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no --out");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
}

// ---- the page in a real browser ----

/// Debian's `chromium` (.ci/run installs it): the first `chromium` or `chromium-browser` on
/// PATH, else /usr/bin/chromium or /usr/bin/chromium-browser.
fn chromium() -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    ["chromium", "chromium-browser"]
        .into_iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// Whether this is a CI run (`CI=true`, as .ci/run is run): there the browser test must run.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Runs headless Chromium (`browser`) on `page` with `mode` (`--dump-dom` or `--screenshot=…`); stdout.
fn browse(browser: &Path, page: &Path, mode: &str, size: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={size}"))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {mode} failed: {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium {mode} did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// The value of attribute `name` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// Data marks of one chart: filled rectangles other than the white background with an area,
/// lines wider than the axes through two or more points, circles with a radius.
fn marks(svg: &str) -> usize {
    let num = |t: &str, a: &str| {
        attr(t, a)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    svg.split('<')
        .filter(|t| {
            if t.starts_with("rect ") {
                let fill = attr(t, "fill").unwrap_or("none").to_ascii_uppercase();
                fill != "#FFFFFF"
                    && fill != "NONE"
                    && num(t, "width") > 0.0
                    && num(t, "height") > 0.0
            } else if t.starts_with("polyline ") {
                // Axes and ticks are 1 px wide; data lines and the forecast tick are wider.
                num(t, "stroke-width") >= 2.0
                    && attr(t, "points").is_some_and(|p| p.split_whitespace().count() >= 2)
            } else if t.starts_with("circle ") {
                num(t, "r") > 0.0
            } else {
                false
            }
        })
        .count()
}

/// Skipped where Chromium is missing (a developer's machine without it), with a line on stderr
/// that says so; under CI (`CI=true`) a missing Chromium fails the test instead, since .ci/run
/// installs it.
#[test]
fn chromium_renders_every_chart_with_marks() {
    let Some(browser) = chromium() else {
        assert!(
            !in_ci(),
            "chromium not on PATH with CI=true: .ci/run installs it \
             (`apt-get install -y --no-install-recommends chromium`), and CI must run this test"
        );
        // Straight to the process's stderr, past the test harness's capture of `eprintln!`, so
        // that `cargo test` shows the skip although the test passes.
        writeln!(
            std::io::stderr(),
            "skipped: report::chromium_renders_every_chart_with_marks: chromium not on PATH; \
             CI installs it (.ci/run); locally: apt-get install -y --no-install-recommends chromium"
        )
        .unwrap();
        return;
    };
    let (dir, _, _, _) = sample();
    let page = dir.path().join("report.html");
    let dom = browse(&browser, &page, "--dump-dom", "1280,2400");
    for text in [
        "Daily cost per provider",
        "Logged vs invoiced tokens per day",
        "Top models by cost",
        "Month-end forecast",
        "openrouter",
        "ominigate",
        "anthropic/claude-sonnet-4.6",
        "Flagged (exit status 1)",
    ] {
        assert!(
            dom.contains(text),
            "{} shows no {text:?}",
            browser.display()
        );
    }
    assert!(!dom.contains("<script"), "the browser saw a script");
    let charts: Vec<&str> = dom
        .split("<svg")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").unwrap()])
        .collect();
    assert_eq!(charts.len(), 5);
    // Daily cost: a bar per day and gateway on the ramp; tokens: two lines and the flagged days;
    // nine models; one fee bar (OminiGate's fees are 0); two gateways' forecast bars and ticks.
    let least = [30, 2, 9, 1, 4];
    for (i, (svg, least)) in charts.iter().zip(least).enumerate() {
        let n = marks(svg);
        assert!(n >= least, "chart {i} has {n} marks, fewer than {least}");
    }
    let lines = charts[1]
        .split('<')
        .filter(|t| t.starts_with("polyline ") && t.contains("stroke-width=\"2\""))
        .count();
    assert_eq!(lines, 2, "logged and invoiced");

    let shot_dir = tempfile::tempdir().unwrap();
    let shot = shot_dir.path().join("shot.png");
    browse(
        &browser,
        &page,
        &format!("--screenshot={}", shot.display()),
        "1280,2400",
    );
    let bytes = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2400));
    assert!(
        bytes.len() > 20_000,
        "a {} byte screenshot is blank",
        bytes.len()
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()]
        .chunks(px)
        .take(2_000_000)
        .collect();
    assert!(colours.len() > 20, "{} colours only", colours.len());
}

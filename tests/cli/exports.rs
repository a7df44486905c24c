//! The console exports a finance team downloads, read as they come (tests/fixtures/exports, made
//! from the documented headers with synthetic values): OpenAI's costs export (new and old column
//! sets) and Anthropic's usage export, then a reconciliation of both against logs of the month.
//!
//! Shipped rates: openai/gpt-5-nano 0.05 / 0.40 USD per Mtok; anthropic/claude-haiku-4.5 1 / 5.

use std::path::PathBuf;

use crate::util::{day, fixture, root, run_out, spendrecon};
use rust_decimal_macros::dec;
use spendrecon::pricing::aliases::ModelNames;
use spendrecon::sources::invoices::{read_invoices, InvoiceRead};

fn read(name: &str) -> InvoiceRead {
    read_invoices(
        &[fixture("exports").join(name)],
        None,
        None,
        &ModelNames::builtin(),
    )
    .unwrap()
}

/// Runs `reconcile` on the month's logs (fixture `logs.jsonl`) and `invoices`, with the shipped
/// rates; the output directory and the process's output.
fn reconcile(invoices: &[PathBuf]) -> (tempfile::TempDir, std::process::Output) {
    let mut c = spendrecon();
    c.current_dir(root())
        .args(["reconcile", "-q", "--rates", "rates", "--logs"])
        .arg(fixture("exports/logs.jsonl"));
    for f in invoices {
        c.arg("--invoices").arg(f);
    }
    run_out(&mut c)
}

#[test]
fn openai_costs_export_sums_line_items_per_day_and_model() {
    let r = read("openai_costs.csv");
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    // Five rows read and used; the idle 04-03 bucket (no amount) makes no line.
    assert_eq!((r.files[0].read, r.files[0].used), (5, 5));
    let got: Vec<_> = r
        .lines
        .iter()
        .map(|l| (l.day, l.provider.as_str(), l.model.as_str(), l.amount_usd))
        .collect();
    // 0.0005 + 0.000800000000000000000000000001 (30 decimals: rounded at the 28th digit).
    assert_eq!(
        got,
        [
            (
                day("2026-04-01"),
                "openai",
                "openai/gpt-5-nano",
                dec!(0.0013)
            ),
            (
                day("2026-04-02"),
                "openai",
                "openai/gpt-5-nano",
                dec!(0.0164)
            ),
        ]
    );
    assert!(r.lines.iter().all(|l| l.amount_known && !l.tokens_known));
}

#[test]
fn older_openai_costs_export_with_fewer_columns_reads_too() {
    let r = read("openai_costs_old.csv");
    let got: Vec<_> = r.lines.iter().map(|l| (l.day, l.amount_usd)).collect();
    // Days from the Unix `start_time` (no ISO column); the EUR row is rejected.
    assert_eq!(
        got,
        [
            (day("2026-04-01"), dec!(0.0013)),
            (day("2026-04-02"), dec!(0.001))
        ]
    );
    let rej: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.line, x.column, x.reason.as_str()))
        .collect();
    assert_eq!(
        rej,
        [(5, Some("amount_currency"), "amount in `eur`, not USD")]
    );
}

#[test]
fn anthropic_usage_export_adds_cache_reads_and_writes_to_the_prompt() {
    let r = read("anthropic_usage.csv");
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    let got: Vec<_> = r
        .lines
        .iter()
        .map(|l| {
            (
                l.day,
                l.model.as_str(),
                l.prompt_tokens,
                l.completion_tokens,
                l.cached_tokens,
                l.cache_write_tokens,
            )
        })
        .collect();
    // 04-01: 3,500 uncached + 500 written (5 min) + 0 (1 h) + 1,000 read = 5,000 prompt tokens.
    assert_eq!(
        got,
        [
            (
                day("2026-04-01"),
                "anthropic/claude-haiku-4.5",
                5000,
                800,
                Some(1000),
                Some(500)
            ),
            (
                day("2026-04-02"),
                "anthropic/claude-haiku-4.5",
                4000,
                900,
                Some(0),
                Some(0)
            ),
        ]
    );
    assert!(r.lines.iter().all(|l| l.tokens_known && !l.amount_known));
}

/// OpenAI's costs (amounts only) and Anthropic's usage (tokens only) against the same month's
/// logs: each is compared on what it holds.
///   openai 04-01: logged 10,000 × 0.05 + 2,000 × 0.40 per Mtok = 0.0013, billed 0.0013 → ok
///   openai 04-02: logged 0.001 + 0.0004 = 0.0014, billed 0.0164: Δ 0.015 > 0.01 → cost_mismatch
///   anthropic 04-01: 5,000 / 800 tokens both sides → ok (no amount to compare)
///   anthropic 04-02: completion 400 logged, 900 billed: Δ 500 > 10 → token_mismatch
#[test]
fn openai_costs_and_anthropic_usage_reconcile_against_the_logs() {
    let (out, o) = reconcile(&[
        fixture("exports/openai_costs.csv"),
        fixture("exports/anthropic_usage.csv"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(recon.as_bytes());
    let rows: Vec<(String, String, String, String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].to_string(),
                r[6].to_string(),
                r[11].to_string(),
                r[13].to_string(),
            )
        })
        .collect();
    let row = |d: &str, p: &str, inv_prompt: &str, invoiced: &str, s: &str| {
        (
            d.into(),
            p.into(),
            inv_prompt.into(),
            invoiced.into(),
            s.into(),
        )
    };
    assert_eq!(
        rows,
        [
            row("2026-04-01", "anthropic", "5000", "", "ok"),
            row("2026-04-01", "openai", "", "0.0013", "ok"),
            row("2026-04-02", "anthropic", "4000", "", "token_mismatch"),
            row("2026-04-02", "openai", "", "0.0164", "cost_mismatch"),
        ]
    );
}

#[test]
fn openai_usage_export_new_and_old_column_sets() {
    let r = read("openai_usage.csv");
    let got: Vec<_> = r
        .lines
        .iter()
        .map(|l| {
            (
                l.day,
                l.model.as_str(),
                l.prompt_tokens,
                l.completion_tokens,
                l.cached_tokens,
                l.requests,
            )
        })
        .collect();
    // Counts written as `10000.0` are whole numbers; cached input is part of the input.
    assert_eq!(
        got,
        [
            (
                day("2026-04-01"),
                "openai/gpt-5-nano",
                10000,
                2000,
                Some(0),
                Some(1)
            ),
            (
                day("2026-04-02"),
                "openai/gpt-5-nano",
                20000,
                1000,
                Some(5000),
                Some(1)
            ),
        ]
    );
    assert!(r.lines.iter().all(|l| l.tokens_known && !l.amount_known));
    // A bucket with no model (usage not grouped by model) is rejected, saying so.
    let rej: Vec<_> = r.rejections.iter().map(|x| (x.line, x.column)).collect();
    assert_eq!(rej, [(4, Some("model"))]);
    assert!(r.rejections[0].reason.contains("grouped by model"));

    let old = read("openai_usage_old.csv");
    assert_eq!(old.lines.len(), 1);
    assert_eq!(old.lines[0].prompt_tokens, 10000);
    let rej: Vec<_> = old.rejections.iter().map(|x| (x.line, x.column)).collect();
    assert_eq!(rej, [(3, Some("output_tokens"))]);
}

#[test]
fn anthropic_cost_export_maps_display_names_and_sums_token_types() {
    let r = read("anthropic_cost.csv");
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    let got: Vec<_> = r
        .lines
        .iter()
        .map(|l| (l.day, l.provider.as_str(), l.model.as_str(), l.amount_usd))
        .collect();
    // 0.0035 + 0.000625 + 0.0001 + 0.004: Haiku 4.5 at 1 / 1.25 / 0.10 / 5 per Mtok on the
    // usage export's 3,500 / 500 / 1,000 / 800 tokens.
    assert_eq!(
        got,
        [(
            day("2026-04-01"),
            "anthropic",
            "anthropic/claude-haiku-4.5",
            dec!(0.008225)
        )]
    );
    assert!(r.lines.iter().all(|l| l.amount_known && !l.tokens_known));
}

/// A usage and a costs export of the same gateway together: one line per day × model with both
/// tokens and money, compared on both. 04-01 matches; 04-02 bills 0.0164 for 0.0014 of logged
/// usage (cost_mismatch) with the tokens equal. The note keeps the export's own name for the
/// slug (`gpt-5-nano`).
#[test]
fn a_usage_and_a_costs_export_together_are_compared_on_both() {
    let (out, o) = reconcile(&[
        fixture("exports/openai_costs.csv"),
        fixture("exports/openai_usage.csv"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    let lines: Vec<&str> = recon.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "2026-04-01,openai,openai/gpt-5-nano,1,10000,2000,10000,2000,0,0.00,0.0013,0.0013,0.00,ok,invoice wrote gpt-5-nano",
            "2026-04-02,openai,openai/gpt-5-nano,1,20000,1000,20000,1000,0,0.00,0.0014,0.0164,0.015,cost_mismatch,invoice wrote gpt-5-nano; invoice USD 0.0164 vs USD 0.0014 at list prices (+0.015)",
        ]
    );
}

/// Every export shape end to end through the binary: `reconcile` reads the file, accounts for
/// every row in files.csv and writes one recon row per day × model it holds or logged.
#[test]
fn every_export_shape_reconciles_end_to_end() {
    // (file, rows read, rows rejected, recon rows)
    let cases = [
        (fixture("exports/openai_costs.csv"), 5, 0, 2),
        (fixture("exports/openai_costs_old.csv"), 4, 1, 2),
        (fixture("exports/openai_usage.csv"), 3, 1, 2),
        (fixture("exports/openai_usage_old.csv"), 2, 1, 2),
        (fixture("exports/anthropic_usage.csv"), 2, 0, 2),
        // The cost export holds 04-01 only; the 04-02 logged call is missing in it.
        (fixture("exports/anthropic_cost.csv"), 4, 0, 2),
        // OpenRouter's exports bill no provider these logs call: every line is missing in logs.
        (fixture("invoices/openrouter_aggregated.csv"), 6, 2, 4),
        (fixture("invoices/activity.csv"), 6, 0, 3),
    ];
    for (file, read, rejected, recon_rows) in cases {
        let (out, o) = reconcile(std::slice::from_ref(&file));
        let name = file.display().to_string();
        assert_ne!(
            o.status.code(),
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
        let row = files
            .lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_else(|| panic!("{name} not in files.csv:\n{files}"));
        let n: Vec<u64> = row
            .rsplitn(6, ',')
            .take(5)
            .map(|x| x.parse().unwrap())
            .collect();
        // rsplitn: skipped, rejected, out_of_range, used, read.
        assert_eq!((n[4], n[1]), (read, rejected), "{name}: {row}");
        assert_eq!(n[4], n[3] + n[2] + n[1] + n[0], "{name}: {row}");
        let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
        assert_eq!(recon.lines().count() - 1, recon_rows, "{name}:\n{recon}");
    }
}

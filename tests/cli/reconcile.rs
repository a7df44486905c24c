//! End-to-end tests of `spendrecon reconcile` (tests/fixtures/reconcile): every planted fault is
//! found with its status, nothing else is flagged, and the tolerances bite exactly at their edge.
//!
//! Logs: tests/fixtures/daily/logs.jsonl (the ten hand-priced calls of tests/cli/daily.rs) plus
//! extra.jsonl, two calls to the retired acme/old (rate 1 / 2 per Mtok: 100×1 + 10×2 = 120 →
//! 0.00012 each, 0.00024 together) that share one request_id, one with total_tokens 999 and a
//! reported cost of 0.5, the other answered by `acme/older`.
//!
//! Logged day rows (from tests/cli/daily.rs) against invoice.csv:
//!   04-01 ominigate big   p100 c10, USD 0.00045 vs 100/10, 0.00: |Δ$| 0.00045 ≤ 0.01 → ok
//!   04-01 openrouter big  p3000 c300 vs 3000/600: completion Δ +300 > max(10, 0.3) → token_mismatch
//!   04-02 ominigate big   logged, no invoice line → missing_in_invoice
//!   04-02 openrouter big  p1300 vs 1305: Δ +5 ≤ 10, USD 0.0021 vs 0.00 → drift
//!   04-02 openrouter long USD 0.0063002 vs 0.50: Δ$ 0.4936998 > 0.01 → cost_mismatch
//!   04-02 openrouter unknown: no rate → unpriced
//!   04-02 openrouter ghost: invoiced, never logged → missing_in_logs
//!   04-02 openrouter old  p200 c20 vs 200/20, USD 0.00024 vs 0.00, retired 2026-03-01 → retired_model

use std::path::Path;

use crate::util::{fixture, run_out, spendrecon};

fn reconcile(invoice: &Path, extra: &[&str]) -> (tempfile::TempDir, i32) {
    let (out, o) = run_out(
        spendrecon()
            .arg("reconcile")
            .arg("--logs")
            .arg(fixture("daily/logs.jsonl"))
            .arg("--logs")
            .arg(fixture("reconcile/extra.jsonl"))
            .arg("--invoices")
            .arg(invoice)
            .arg("--rates")
            .arg(fixture("reconcile/rates"))
            .arg("-q")
            .args(extra),
    );
    (out, o.status.code().unwrap())
}

fn statuses(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("recon.csv")).unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[2].to_string() + "@" + &r[1],
                r[13].to_string(),
            )
        })
        .collect()
}

fn status_of(dir: &Path, day: &str, provider: &str, model: &str) -> String {
    statuses(dir)
        .into_iter()
        .find(|(d, k, _)| d == day && *k == format!("{model}@{provider}"))
        .map(|(_, _, s)| s)
        .unwrap_or_else(|| panic!("no row {day} {provider} {model}"))
}

#[test]
fn each_planted_fault_gets_its_status_and_nothing_else_is_flagged() {
    let (out, code) = reconcile(&fixture("reconcile/invoice.csv"), &[]);
    assert_eq!(code, 1);
    let got = statuses(out.path());
    let want = [
        ("2026-04-01", "acme/big@ominigate", "ok"),
        ("2026-04-01", "acme/big@openrouter", "token_mismatch"),
        ("2026-04-02", "acme/big@ominigate", "missing_in_invoice"),
        ("2026-04-02", "acme/big@openrouter", "drift"),
        ("2026-04-02", "acme/ghost@openrouter", "missing_in_logs"),
        ("2026-04-02", "acme/long@openrouter", "cost_mismatch"),
        ("2026-04-02", "acme/old@openrouter", "retired_model"),
        ("2026-04-02", "acme/unknown@openrouter", "unpriced"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);

    let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    assert!(
        recon.contains("invoice bills 2.00x the logged completion tokens (600 vs 300, delta +300)")
    );
    assert!(recon.contains("model retired on 2026-03-01, replacement acme/big"));
    // delta_tokens 3600 − 3300 = 300 = 9.09 % of the logged 3300; Δ$ 0.02 − 0.012495 = 0.007505.
    assert!(recon.contains(",3000,300,3000,600,300,9.09,0.012495,0.02,0.007505,token_mismatch,"));
    // 0.50 − 0.0063002
    assert!(recon.contains(",0.0063002,0.50,0.4936998,cost_mismatch,"));

    let findings = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
    let kinds: Vec<&str> = findings
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "duplicate_request_id",
            "gateway_cost_mismatch",
            "response_model_mismatch",
            "total_tokens_mismatch"
        ]
    );
    // Reported 0.5 against 0.00012 at list price for that one call.
    assert!(findings.contains("gateway-reported cost USD 0.5 vs rate table USD 0.00012 (+0.49988)"));

    // Summary: openrouter logged 0.012495 + 0.0021 + 0.0063002 + 0.00024 = 0.0211352 (unpriced
    // and ghost rows add nothing), invoiced 0.02 + 0 + 0.50 + 0 + 0.01 + 0 = 0.53.
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert!(
        summary.contains("openrouter,0.0211352,0.53,0.5088648,6,0,1,1,1,0,1,1,1"),
        "{summary}"
    );
    assert!(
        summary.contains("ominigate,0.00258,0.00,-0.00258,2,1,0,0,0,1,0,0,0"),
        "{summary}"
    );
    for f in ["daily.csv", "rejected.csv", "files.csv"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn token_tolerance_edge() {
    // The drift row has prompt Δ +5: within a tolerance of 5, one over at 4.
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-tokens", "5"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-02", "openrouter", "acme/big"),
        "drift"
    );
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-tokens", "4"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-02", "openrouter", "acme/big"),
        "token_mismatch"
    );
    // Percent tolerance: 0.5 % of 300 logged completion tokens is 1.5 — still far from Δ 300;
    // 100 % of 300 is exactly 300, so the doubled completion becomes drift.
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-pct", "100"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-01", "openrouter", "acme/big"),
        "drift"
    );
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-pct", "99.9"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-01", "openrouter", "acme/big"),
        "token_mismatch"
    );
}

#[test]
fn money_tolerance_edge() {
    // |0.50 − 0.0063002| = 0.4936998: exactly at the tolerance is ok, a hair under it is not.
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-usd", "0.4936998"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-02", "openrouter", "acme/long"),
        "ok"
    );
    let (out, _) = reconcile(
        &fixture("reconcile/invoice.csv"),
        &["--tolerance-usd", "0.4936997"],
    );
    assert_eq!(
        status_of(out.path(), "2026-04-02", "openrouter", "acme/long"),
        "cost_mismatch"
    );
}

#[test]
fn clean_invoice_reconciles_with_exit_0() {
    // An invoice made from the logged rows themselves (04-01 only, all priced, no findings).
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(
        &inv,
        "date,provider,model,prompt_tokens,completion_tokens,amount_usd\n\
         2026-04-01,ominigate,acme/big,100,10,0.00\n\
         2026-04-01,openrouter,acme/big,3000,300,0.01\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    spendrecon()
        .args(["reconcile", "--to", "2026-04-01", "-q", "--logs"])
        .arg(fixture("daily/logs.jsonl"))
        .arg("--invoices")
        .arg(&inv)
        .arg("--rates")
        .arg(fixture("reconcile/rates"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(0);
    let s = statuses(out.path());
    assert!(s.iter().all(|(_, _, st)| st == "ok"), "{s:?}");
}

#[test]
fn days_without_logs_are_findings() {
    // --to 2026-04-03 extends the period past the last logged day.
    let (out, _) = reconcile(&fixture("reconcile/invoice.csv"), &["--to", "2026-04-03"]);
    let findings = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
    assert!(
        findings.contains("missing_log_day,2026-04-03,,,0,no log record at all on this day"),
        "{findings}"
    );
}

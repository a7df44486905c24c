//! The shipped sample month reconciled against the sample invoices (sample-data/invoices, made by
//! `cargo run --example gen_sample`): every planted invoice fault gets its status, the never-listed
//! `google/gemini-3.1-pro` is unpriced, and every other row is `ok` (sample-data/README.md,
//! "Planted faults"); with the sample top-up ledger, only its one wrong fee is flagged.

use std::collections::BTreeMap;

use crate::util::{root, spendrecon, SAMPLE_MONTH};

/// One row of recon.csv, by column name.
type Row = BTreeMap<String, String>;

/// recon.csv's rows and fees.csv's lines.
fn recon() -> (Vec<Row>, Vec<String>) {
    let out = tempfile::tempdir().unwrap();
    spendrecon()
        .current_dir(root())
        .arg("reconcile")
        .args(SAMPLE_MONTH)
        .args(["--rates", "rates", "--out"])
        .arg(out.path())
        .assert()
        .code(1);
    let fees = std::fs::read_to_string(out.path().join("fees.csv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let text = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (rows, fees)
}

fn is(r: &Row, day: &str, provider: &str) -> bool {
    r["day"] == day && r["provider"] == provider
}

fn num(r: &Row, col: &str) -> u64 {
    r[col].parse().unwrap_or_else(|_| panic!("{col} of {r:?}"))
}

#[test]
fn sample_invoices_flag_exactly_the_planted_faults() {
    let (rows, fees) = recon();
    // The ledger's one wrong fee (sample-data/README.md, "Top-ups"): 18.00 charged on a card
    // top-up of 300 where 5.5 % is 16.50. BYOK calls all report a cost of 0, as expected
    // within the free allowance.
    assert_eq!(
        fees,
        [
            "month,provider,kind,basis_usd,fee_usd,expected_fee_usd,status,note",
            "2026-04,ominigate,topup_card,200.00,0.00,0.00,ok,1 purchase",
            "2026-04,ominigate,topup_invoice,800.00,0.00,0.00,ok,1 purchase",
            "2026-04,openrouter,topup_card,1324.55,74.60,73.10,fee_mismatch,\"5 purchases; fee differs on 2026-04-22 charged 18.00, policy says 16.50\"",
            "2026-04,openrouter,topup_crypto,1000.00,50.00,50.00,ok,1 purchase",
            "2026-04,openrouter,byok,0.00,0.00,0.00,ok,\"10646 BYOK calls, list USD 125.101375156; 0 charged\"",
        ]
    );
    // Each check takes its rows out of `left`; what is left at the end must all be `ok`.
    let mut left: Vec<&Row> = rows.iter().collect();
    let mut take = |pred: &dyn Fn(&Row) -> bool| -> Vec<&Row> {
        let (hit, miss) = left.drain(..).partition(|r| pred(r));
        left = miss;
        hit
    };

    // (1) OpenRouter 2026-04-09 billed twice: every row of the day is a token mismatch.
    let doubled = take(&|r| is(r, "2026-04-09", "openrouter"));
    assert!(doubled.len() >= 7, "{doubled:?}");
    for r in &doubled {
        assert_eq!(r["status"], "token_mismatch", "{r:?}");
        for what in ["prompt", "completion"] {
            assert!(
                r["note"].contains(&format!("invoice bills 2.00x the logged {what} tokens")),
                "{r:?}"
            );
            assert_eq!(
                num(r, &format!("invoice_{what}_tokens")),
                2 * num(r, &format!("log_{what}_tokens")),
                "{r:?}"
            );
        }
    }

    // (2) No OminiGate line for 2026-04-27: every logged row of the day is missing in the invoice.
    let missing = take(&|r| is(r, "2026-04-27", "ominigate"));
    assert!(missing.len() >= 7, "{missing:?}");
    for r in &missing {
        assert_eq!(r["status"], "missing_in_invoice", "{r:?}");
        assert!(r["invoice_prompt_tokens"].is_empty(), "{r:?}");
    }

    // (3) OminiGate 2026-04-16: a few prompt tokens more than logged, amounts unchanged: drift.
    let drifted = take(&|r| is(r, "2026-04-16", "ominigate"));
    assert!(drifted.len() >= 7, "{drifted:?}");
    for r in &drifted {
        assert_eq!(r["status"], "drift", "{r:?}");
        let delta = num(r, "invoice_prompt_tokens") - num(r, "log_prompt_tokens");
        assert!((1..=8).contains(&delta), "{r:?}");
        assert_eq!(
            num(r, "invoice_completion_tokens"),
            num(r, "log_completion_tokens"),
            "{r:?}"
        );
    }

    // (4) openai/o3 billed by OpenRouter on 2026-04-15, never called.
    let o3 = take(&|r| r["model"] == "openai/o3");
    assert_eq!(o3.len(), 1, "{o3:?}");
    assert!(is(o3[0], "2026-04-15", "openrouter"), "{o3:?}");
    assert_eq!(o3[0]["status"], "missing_in_logs", "{o3:?}");
    assert!(o3[0]["log_requests"].is_empty(), "{o3:?}");

    // What the logs cause: the never-listed slug has no rate; its invoice tokens match.
    let unpriced = take(&|r| r["model"] == "google/gemini-3.1-pro");
    assert_eq!(unpriced.len(), 11, "{unpriced:?}");
    for r in &unpriced {
        assert_eq!(r["status"], "unpriced", "{r:?}");
        assert_eq!(r["delta_tokens"], "0", "{r:?}");
    }

    // Everything else reconciles exactly, the dated snapshot (retired only in June) included.
    let rest = take(&|_| true);
    assert!(rest.len() > 350, "{}", rest.len());
    let snapshot = rest
        .iter()
        .filter(|r| r["model"] == "anthropic/claude-sonnet-4-20250514")
        .count();
    assert!(snapshot >= 20, "{snapshot}");
    for r in &rest {
        assert_eq!(r["status"], "ok", "{r:?}");
        assert_eq!(r["delta_tokens"], "0", "{r:?}");
    }
}

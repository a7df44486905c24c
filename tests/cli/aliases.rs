//! One model identity (docs/formats.md §2 "Model names"): an OpenAI completions usage export
//! that names `gpt-5-mini-2025-08-07` (the column set of a published export, as in
//! tests/fixtures/grain) against logs that name `openai/gpt-5-mini`, and on one day also the
//! bare `gpt-5-mini`: every spelling meets on one recon row per day, and the names written stay
//! visible in the note, the summary and the audit. Shipped rates: openai/gpt-5-mini 0.25 / 2 USD
//! per Mtok; `openai/gpt-4o-2024-08-06` is priced by no row and resolves to nothing.
//!
//!   04-01: logs 10,000 + 5,000 prompt, 2,000 + 1,000 completion (two spellings) → 0.00375 +
//!          0.006 = 0.00975; the export bills 15,000 / 3,000 → ok
//!   04-02: logs 20,000 / 4,000 → 0.005 + 0.008 = 0.013; the export bills the same → ok
//!   04-02: openai/gpt-4o-2024-08-06, 1,000 / 100, no bill line → missing_in_invoice, unpriced

use crate::util::{fixture, read, root, run_out, spendrecon};

fn logs() -> std::path::PathBuf {
    fixture("aliases/logs.jsonl")
}

#[test]
fn an_export_snapshot_name_and_the_logs_slug_reconcile_on_one_row() {
    let mut c = spendrecon();
    c.current_dir(root())
        .args(["reconcile", "--rates", "rates", "--logs"])
        .arg(logs())
        .arg("--invoices")
        .arg(fixture("aliases/openai_usage.csv"));
    let (out, o) = run_out(&mut c);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        read(out.path(), "recon.csv"),
        "day,provider,model,log_requests,log_prompt_tokens,log_completion_tokens,invoice_prompt_tokens,invoice_completion_tokens,delta_tokens,delta_pct,expected_usd,invoiced_usd,delta_usd,status,note
2026-04-01,openai,openai/gpt-5-mini,2,15000,3000,15000,3000,0,0.00,0.00975,,,ok,logs wrote gpt-5-mini; invoice wrote gpt-5-mini-2025-08-07
2026-04-02,openai,openai/gpt-4o-2024-08-06,1,1000,100,,,,,,,,missing_in_invoice,no invoice line for this day; no rate for openai/gpt-4o-2024-08-06 on openai: 1 billable call(s) cannot be priced
2026-04-02,openai,openai/gpt-5-mini,1,20000,4000,20000,4000,0,0.00,0.013,,,ok,invoice wrote gpt-5-mini-2025-08-07
"
    );
    // daily.csv keeps its columns (docs/formats.md §6): one row per slug and day.
    assert_eq!(
        read(out.path(), "daily.csv"),
        "day,provider,model,requests,prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,total_tokens,cost_usd,failed_requests
2026-04-01,openai,openai/gpt-5-mini,2,15000,0,0,3000,18000,0.00975,0
2026-04-02,openai,openai/gpt-4o-2024-08-06,1,1000,0,0,100,1100,,0
2026-04-02,openai,openai/gpt-5-mini,1,20000,0,0,4000,24000,0.013,0
"
    );
    // The summary names each spelling and how it resolved; the name that resolves to nothing
    // is listed once, with its calls.
    for want in [
        "name: logs openai gpt-5-mini counted as openai/gpt-5-mini (naming rule): 1 calls",
        "name: invoices openai gpt-5-mini-2025-08-07 counted as openai/gpt-5-mini (aliases.csv line 3): 2 rows",
        "UNPRICED: openai openai/gpt-4o-2024-08-06: 1 calls, 1100 tokens have no rate (cost left empty in daily.csv): the name resolves to no priced slug",
    ] {
        assert!(stderr.contains(want), "{want}\n{stderr}");
    }
    assert_eq!(
        stderr.matches("gpt-4o-2024-08-06").count(),
        1,
        "listed once: {stderr}"
    );
}

#[test]
fn audit_sums_the_spellings_into_the_slug_and_lists_the_name_that_resolves_to_nothing() {
    let o = spendrecon()
        .current_dir(root())
        .args(["audit", "--rates", "rates", "--logs"])
        .arg(logs())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "provider,model,status,calls,prompt_tokens,completion_tokens,cost_usd,first_day,last_day,retired_on,replacement,note
openai,openai/gpt-4o-2024-08-06,never_listed,1,1000,100,,2026-04-02,2026-04-02,,,\"resolves to no priced slug: not in rates/models.csv, rates/slugs.csv or rates/aliases.csv, and no naming rule maps it to one; pinned to the snapshot of 2024-08-06; no rate for openai/gpt-4o-2024-08-06 on openai\"
openai,openai/gpt-5-mini,ok,3,35000,7000,0.02275,2026-04-01,2026-04-02,,,\"written as gpt-5-mini (naming rule, 1 call)\"
"
    );
    assert_eq!(
        stderr.matches("gpt-4o-2024-08-06: 1 calls").count(),
        1,
        "{stderr}"
    );
}

/// `--rates DIR` with an aliases.csv of its own: its rows replace the shipped table's.
#[test]
fn an_alias_table_in_the_rates_directory_is_the_one_read() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["models.csv", "slugs.csv", "fees.toml"] {
        std::fs::copy(root().join("rates").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("aliases.csv"),
        "alias,slug,source,note\nmini-of-the-month,openai/gpt-5-mini,test,\n",
    )
    .unwrap();
    let logs = dir.path().join("logs.jsonl");
    std::fs::write(
        &logs,
        "{\"ts\":\"2026-04-01T09:00:00Z\",\"provider\":\"openrouter\",\"model\":\"mini-of-the-month\",\"prompt_tokens\":1000000,\"completion_tokens\":0}\n",
    )
    .unwrap();
    let o = spendrecon()
        .arg("daily")
        .arg("--rates")
        .arg(dir.path())
        .arg("--logs")
        .arg(&logs)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("2026-04-01,openrouter,openai/gpt-5-mini,1,1000000,0,0,0,1000000,0.25,0"),
        "{text}"
    );
}

/// A response that names the requested model in another spelling (OpenAI answers
/// `gpt-5-mini-2025-08-07` to a request for `gpt-5-mini`) is no `response_model_mismatch`; a
/// response naming another model still is.
#[test]
fn a_response_model_in_another_spelling_is_the_model_requested() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs.jsonl");
    let call = |id: &str, response: &str| {
        format!("{{\"ts\":\"2026-04-01T09:00:00Z\",\"provider\":\"openai\",\"model\":\"openai/gpt-5-mini\",\"prompt_tokens\":1000,\"completion_tokens\":100,\"request_id\":\"{id}\",\"response_model\":\"{response}\"}}\n")
    };
    std::fs::write(
        &logs,
        call("r1", "gpt-5-mini-2025-08-07")
            + &call("r2", "openai/gpt-5-mini-2025-08-07")
            + &call("r3", "openai/gpt-5"),
    )
    .unwrap();
    let invoice = dir.path().join("invoice.csv");
    std::fs::write(
        &invoice,
        "date,provider,model,prompt_tokens,completion_tokens,amount_usd\n2026-04-01,openai,gpt-5-mini,3000,300,0.00\n",
    )
    .unwrap();
    let mut c = spendrecon();
    c.current_dir(root())
        .args(["reconcile", "--rates", "rates", "--logs"])
        .arg(&logs)
        .arg("--invoices")
        .arg(&invoice);
    let (out, o) = run_out(&mut c);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let findings = read(out.path(), "findings.csv");
    let mismatches: Vec<&str> = findings
        .lines()
        .filter(|l| l.starts_with("response_model_mismatch"))
        .collect();
    assert_eq!(mismatches.len(), 1, "{findings}");
    assert!(
        mismatches[0].contains(",openai,openai/gpt-5-mini,1,"),
        "{findings}"
    );
    // The daily line `gpt-5-mini` meets the logs' `openai/gpt-5-mini` (0.00075 + 0.0006 at list
    // prices, billed 0.00: a cost mismatch beyond USD 0.01 is not, so the row is ok).
    assert!(
        read(out.path(), "recon.csv").contains(
            "2026-04-01,openai,openai/gpt-5-mini,3,3000,300,3000,300,0,0.00,0.00135,0.00,-0.00135,ok,invoice wrote gpt-5-mini\n"
        ),
        "{}",
        read(out.path(), "recon.csv")
    );
}

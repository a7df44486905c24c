//! End-to-end test of `spendrecon audit` on tests/fixtures/audit: one slug per status, with the
//! slug map's retirement dates around the period (the logs' last day is 2026-04-30) and the
//! rate table's prices (every priced slug at 1 USD per million prompt tokens, 2 per million
//! completion tokens).
//!
//!   acme/ghost        no row in models.csv or slugs.csv → never_listed (acme/ghost-preview is)
//!   acme/gone         retired 2026-04-10, last called 04-05 → ok, with a note
//!   acme/later        retires 2026-06-30, 61 days after 04-30 → ok
//!   acme/m            two calls 1000/100: (1000 + 200) / 1e6 = 0.0012 each → 0.0024
//!   acme/m-20250514   a dated snapshot: 1000 prompt tokens → 0.001
//!   acme/norate       in slugs.csv, no price → unpriced
//!   acme/old          retired 2026-04-10 in the middle of the period, called 04-05 (500/50 →
//!                     0.0006) and on 04-12 (a 404: counted as a call, no tokens) → retired
//!   acme/soon         retires 2026-06-29, exactly 60 days after 04-30 → retiring

use crate::util::{fixture, root, spendrecon};

#[test]
fn each_slug_gets_its_status() {
    let out = spendrecon()
        .arg("audit")
        .arg("--logs")
        .arg(fixture("audit/logs.jsonl"))
        .arg("--rates")
        .arg(fixture("audit/rates"))
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "rows not ok are flagged");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "provider,model,status,calls,prompt_tokens,completion_tokens,cost_usd,first_day,last_day,retired_on,replacement,note
openrouter,acme/ghost,never_listed,1,100,10,,2026-04-21,2026-04-21,,,\"resolves to no priced slug: not in rates/models.csv, rates/slugs.csv or rates/aliases.csv, and no naming rule maps it to one; the gateways serve acme/ghost-preview; no rate for acme/ghost on openrouter\"
openrouter,acme/gone,ok,1,100,10,0.00012,2026-04-05,2026-04-05,2026-04-10,acme/m,\"retired on 2026-04-10; not called since, replacement acme/m\"
openrouter,acme/later,ok,1,100,10,0.00012,2026-04-20,2026-04-20,2026-06-30,acme/m,
openrouter,acme/m,ok,2,2000,200,0.0024,2026-04-05,2026-04-30,,,
openrouter,acme/m-20250514,dated_snapshot,1,1000,0,0.001,2026-04-22,2026-04-22,,,pinned to the snapshot of 20250514
openrouter,acme/norate,unpriced,1,100,10,,2026-04-23,2026-04-23,,,no rate for acme/norate on openrouter
openrouter,acme/old,retired,2,500,50,0.0006,2026-04-05,2026-04-12,2026-04-10,acme/m,\"called until 2026-04-12 though retired on 2026-04-10, replacement acme/m\"
openrouter,acme/soon,retiring,1,100,10,0.00012,2026-04-20,2026-04-20,2026-06-29,acme/m,\"retires on 2026-06-29, 60 days after the last logged day, replacement acme/m\"
"
    );
}

/// With `--to 2026-04-09` the period ends before acme/old's retirement: its only call in the
/// period is on 04-05 (the last logged day too), and 04-10 is 5 days later → `retiring`.
#[test]
fn the_period_decides_retired_or_retiring() {
    let out = spendrecon()
        .args(["audit", "--to", "2026-04-09", "--logs"])
        .arg(fixture("audit/logs.jsonl"))
        .arg("--rates")
        .arg(fixture("audit/rates"))
        .arg("-q")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let old = text.lines().find(|l| l.contains("acme/old")).unwrap();
    assert!(
        old.starts_with(
            "openrouter,acme/old,retiring,1,500,50,0.0006,2026-04-05,2026-04-05,2026-04-10,"
        ),
        "{old}"
    );
}

/// The sample month (sample-data/README.md): the never-listed `google/gemini-3.1-pro` on both
/// gateways and the dated snapshot retiring on 2026-06-15 are the only rows not `ok`.
#[test]
fn sample_month_flags_the_never_listed_and_the_retiring_slug() {
    let out = spendrecon()
        .current_dir(root())
        .args([
            "audit",
            "--logs",
            "sample-data/logs",
            "--rates",
            "rates",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let flagged: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.contains(",ok,"))
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        flagged,
        [
            "ominigate,google/gemini-3.1-pro,never_listed",
            "openrouter,anthropic/claude-sonnet-4-20250514,retiring",
            "openrouter,google/gemini-3.1-pro,never_listed",
        ]
    );
    assert_eq!(text.lines().count(), 1 + 17, "17 provider × model rows");
}

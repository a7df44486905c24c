//! `--by tenant` (docs/formats.md §6 `showback.csv`): a hand-computed allocation on a small
//! fixture, the other commands that take `--by`, the sample month end to end, and a property
//! test: per provider and month, every column of showback.csv sums to fees.csv and summary.csv.
//!
//! tests/fixtures/showback: acme/m costs 1 USD per million prompt tokens and 2 per million
//! completion tokens; OpenRouter charges card top-ups 5.5 % (at least 0.80) and 5 % on BYOK
//! calls past two a month; OminiGate a BYOK subscription of 10 USD a month. The logs, line by
//! line (April 2026, UTC):
//!
//! | # | provider | tenant | usage | |
//! |---|---|---|---|---|
//! | 1 | openrouter | search | 0.50 | BYOK, 1st of the month: free |
//! | 2 | openrouter | support | 1.00 | BYOK, 2nd: free |
//! | 3 | openrouter | support | 1.00 | BYOK, 3rd: 5 % = 0.05 |
//! | 4 | openrouter | search | 0.50 | BYOK, 4th: 5 % = 0.025 |
//! | 5 | openrouter | (none) | 0.60 + 0.40 | no tenant |
//! | 6 | openrouter | search | 1.00 | |
//! | 7 | openrouter | support | 1.50 + 0.50 | |
//! | 8 | openrouter | search | — | acme/unknown: no rate |
//! | 9 | openrouter | support | — | status 500: not billable, not a BYOK request |
//! | 10 | ominigate | search | 1.00 | |
//! | 11 | ominigate | support | 2.00 | |
//! | 12 | ominigate | `" "` | 0 | blank: (none) |
//! | 13 | ominigate | `=1+2` | 0 | written as text |
//!
//! OpenRouter's April usage is (none) 1.00 : search 2.00 : support 4.00, i.e. 1 : 2 : 4 of 7.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::util::{fixture, read, root, run_out, spendrecon};

const HEADER: &str = "month,tenant,provider,calls,prompt_tokens,completion_tokens,usage_usd,topup_fee_usd,byok_fee_usd,subscription_usd,effective_usd,unpriced_calls,note";

/// `command` on the fixture's logs and rates with `--by tenant` and `extra`, into a fresh
/// `--out`.
fn run(command: &str, extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    run_out(
        spendrecon()
            .arg(command)
            .arg("--logs")
            .arg(fixture("showback/logs.jsonl"))
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .args(["--by", "tenant"])
            .args(extra),
    )
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The April rows every command writes; `topup` is the top-up column of the three OpenRouter
/// rows ((none), search, support): shares of the 0.80 card fee when the ledger is read.
fn april(topup: [&str; 3]) -> Vec<String> {
    let [none, search, support] = topup;
    let eff = |usage: &str, fees: &[&str]| -> String {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let t: Decimal = d(usage) + fees.iter().map(|f| d(f)).sum::<Decimal>();
        spendrecon::domain::money(t)
    };
    vec![
        // Usage 0: no share of the subscription.
        "2026-04,(none),ominigate,1,0,0,0.00,0.00,0.00,0.00,0.00,0,".into(),
        // BYOK fee 0.075 = 75 thousandths by 1 : 2 : 4: quotas 10.71, 21.43, 42.86; floors
        // 10 + 21 + 42 = 73, the 2 left to the largest remainders (.86 support, .71 (none)):
        // 0.011, 0.021, 0.043.
        format!(
            "2026-04,(none),openrouter,1,600000,200000,1.00,{none},0.011,0.00,{},0,",
            eff("1.00", &[none, "0.011"])
        ),
        "2026-04,'=1+2,ominigate,1,0,0,0.00,0.00,0.00,0.00,0.00,0,".into(),
        // Subscription 10.00 by 1 : 2 (of 3): 333.33 and 666.67 cents → 3.33, 6.67.
        "2026-04,search,ominigate,1,1000000,0,1.00,0.00,0.00,3.33,4.33,0,".into(),
        // Calls 1, 4, 6 and the unpriced 8: prompt 500,000 × 2 + 1,000,000 + 1,000.
        format!(
            "2026-04,search,openrouter,4,2001000,500,2.00,{search},0.021,0.00,{},1,\"1 call without a rate, not in usage_usd: acme/unknown (1)\"",
            eff("2.00", &[search, "0.021"])
        ),
        "2026-04,support,ominigate,1,2000000,0,2.00,0.00,0.00,6.67,8.67,0,".into(),
        format!(
            "2026-04,support,openrouter,3,3500000,250000,4.00,{support},0.043,0.00,{},0,",
            eff("4.00", &[support, "0.043"])
        ),
    ]
}

#[test]
fn reconcile_shares_each_fee_of_a_provider_month_to_the_cent() {
    let (out, o) = run(
        "reconcile",
        &[
            "--invoices",
            fixture("showback/invoice.csv").to_str().unwrap(),
            "--topups",
            fixture("showback/topups.csv").to_str().unwrap(),
        ],
    );
    // Exit 0: the one invoiced provider reconciles (OpenRouter, with the unpriced call, has no
    // invoice to reconcile).
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = read(&out, "showback.csv");
    let mut want = vec![HEADER.to_string()];
    // The card fee: USD 10 × 5.5 % = 0.55, the minimum 0.80; 80 cents by 1 : 2 : 4: quotas
    // 11.43, 22.86, 45.71; floors 78, the 2 left to .86 (search) and .71 (support).
    want.extend(april(["0.11", "0.23", "0.46"]));
    // May: a purchase (0.80) and the subscription (10.00), no call to share them by.
    want.extend([
        "2026-05,(unallocated),ominigate,0,0,0,0.00,0.00,0.00,10.00,10.00,0,fees of ominigate in 2026-05 with no priced usage to share them by".to_string(),
        "2026-05,(unallocated),openrouter,0,0,0,0.00,0.80,0.00,0.00,0.80,0,fees of openrouter in 2026-05 with no priced usage to share them by".to_string(),
    ]);
    assert_eq!(text.lines().collect::<Vec<_>>(), want);

    let err = stderr(&o);
    for line in [
        "showback by tenant: 5 tenants, usage USD 10.00 + fees 21.68 = USD 31.68 effective (showback.csv)",
        "UNPRICED: tenant search on openrouter acme/unknown in 2026-04: 1 call, 1500 tokens have no rate (left out of usage_usd)",
        "note: showback: USD 0.80 of openrouter's fees in 2026-05 had no priced usage to share them by: charged to (unallocated)",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
}

#[test]
fn daily_shares_the_fees_the_logs_and_policies_give() {
    // No ledger: no top-up fees, and no May (no purchase makes it a month of the run).
    let (out, o) = run("daily", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let mut want = vec![HEADER.to_string()];
    want.extend(april(["0.00", "0.00", "0.00"]));
    assert_eq!(read(&out, "showback.csv").lines().collect::<Vec<_>>(), want);

    // --by changes nothing in daily.csv.
    let (plain, _) = run_out(
        spendrecon()
            .arg("daily")
            .arg("--logs")
            .arg(fixture("showback/logs.jsonl"))
            .arg("--rates")
            .arg(fixture("showback/rates")),
    );
    assert_eq!(read(&out, "daily.csv"), read(&plain, "daily.csv"));
    assert!(!plain.path().join("showback.csv").exists());
}

#[test]
fn by_any_other_field_is_refused_naming_what_is_supported() {
    for command in ["daily", "reconcile", "forecast", "report"] {
        let out = tempfile::tempdir().unwrap();
        let o = spendrecon()
            .args([command, "--logs", "x.jsonl", "--by", "api_key", "--out"])
            .arg(out.path())
            .args(if command == "reconcile" {
                &["--invoices", "i.csv"][..]
            } else {
                &[]
            })
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{command}");
        let err = stderr(&o);
        assert!(
            err.contains("supported: --by tenant") && err.contains("`api_key`"),
            "{command}: {err}"
        );
    }
}

#[test]
fn daily_stops_when_a_subscription_needs_a_price_it_cannot_take() {
    // tests/fixtures/fees/policy_change prices a subscription by --byok-subscription.
    let dir = fixture("fees/policy_change");
    let o = spendrecon()
        .arg("daily")
        .arg("--logs")
        .arg(dir.join("logs.jsonl"))
        .arg("--rates")
        .arg(&dir)
        .args(["--by", "tenant", "-q"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("daily takes no --byok-subscription"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_config_file_sets_by() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spendrecon.toml"), "by = \"tenant\"\n").unwrap();
    let o = spendrecon()
        .current_dir(dir.path())
        .arg("daily")
        .arg("--logs")
        .arg(fixture("showback/logs.jsonl"))
        .arg("--rates")
        .arg(fixture("showback/rates"))
        .args(["-q", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        read(dir.path().join("out"), "showback.csv").lines().next(),
        Some(HEADER)
    );
}

#[test]
fn forecast_projects_each_tenant_on_the_month_s_days() {
    // Days seen: Wed 1 – Sun 5 April (3 weekdays, 2 weekend days); not seen: 19 weekdays and 6
    // weekend days. search on openrouter: 0.50, 0.50, 1.00 on the weekdays, nothing on the
    // weekend: forecast 2 + 19 × 2/3 = 14.67, low 2 + 19 × 0.50 = 11.50, high 2 + 19 = 21.00.
    // search on ominigate: 1.00 on Sunday: 1 + 6 × 0.50 = 4.00, low 1.00, high 1 + 6 = 7.00.
    let (out, o) = run("forecast", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = read(&out, "showback_forecast.csv");
    let rows: BTreeMap<(String, String), Vec<String>> = csv_rows(&text)
        .into_iter()
        .skip(1)
        .map(|r| ((r[1].clone(), r[2].clone()), r))
        .collect();
    let amounts = |t: &str, p: &str| rows[&(t.to_string(), p.to_string())][3..9].join(",");
    assert_eq!(
        amounts("search", "openrouter"),
        "5,30,2.00,14.67,11.50,21.00"
    );
    assert_eq!(amounts("search", "ominigate"), "5,30,1.00,4.00,1.00,7.00");
    // support: 1, 1, 2 → 4 + 19 × 4/3 = 29.33, low 4 + 19 = 23, high 4 + 38 = 42.
    assert_eq!(
        amounts("support", "openrouter"),
        "5,30,4.00,29.33,23.00,42.00"
    );
    let search = &rows[&("search".to_string(), "openrouter".to_string())];
    assert!(search[9].ends_with("1 call without a rate left out (see showback.csv)"));
    assert_eq!(search[10], "1");
    // forecast also writes showback.csv (as daily: fees from the logs and policies).
    assert_eq!(
        read(&out, "showback.csv").lines().nth(2).unwrap(),
        april(["0.00"; 3])[1]
    );
}

#[test]
fn report_draws_the_cost_per_tenant_and_writes_the_same_showback() {
    let ledger = fixture("showback/topups.csv");
    let (out, o) = run("report", &["--topups", ledger.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let html = read(&out, "report.html");
    let section = &html[html.find("id=\"showback\"").expect("the showback section")..];
    assert!(section.contains("<svg"), "the chart of cost per tenant");
    assert!(section.contains("id=\"showback-table\""));
    // The total row: usage 10.00 + fees 1.60 + 0.075 + 20.00, exact in data-usd.
    assert!(
        section.contains("data-col=\"effective_usd\" data-usd=\"31.675\""),
        "{section}"
    );
    assert!(section.contains("<td>=1+2</td>"));
    let (rec, _) = run(
        "reconcile",
        &[
            "--invoices",
            fixture("showback/invoice.csv").to_str().unwrap(),
            "--topups",
            ledger.to_str().unwrap(),
        ],
    );
    assert_eq!(read(&out, "showback.csv"), read(&rec, "showback.csv"));
}

#[test]
fn xlsx_gets_a_showback_sheet() {
    use calamine::{Data, Reader};
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.xlsx");
    let (out, _) = run("daily", &["--xlsx", book.to_str().unwrap()]);
    let mut wb = calamine::open_workbook_auto(&book).unwrap();
    assert_eq!(wb.sheet_names(), ["Daily", "Showback", "Rejected", "Files"]);
    let sheet = wb.worksheet_range("Showback").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let csv = csv_rows(&read(&out, "showback.csv"));
    assert_eq!(rows.len(), csv.len());
    // (none) on openrouter: byok_fee_usd 0.011 as a number, the tenant as text.
    assert_eq!(rows[2][1], Data::String("(none)".into()));
    assert_eq!(rows[2][8], Data::Float(0.011));
}

/// `daily --usage-out FILE --by tenant` on the fixture: the usage groups with a last column
/// `tenant`, worked by hand from the module's table (no long-context threshold: band 0; BYOK
/// calls 1 and 2 within OpenRouter's allowance of two, 3 and 4 past it; the failed call 9 is no
/// BYOK call and sums no tokens; a blank tenant is none, written empty and sorted first).
const TENANT_GROUPS: &str = "\
tz,day,utc_day,provider,model,byok,band,past_allowance,calls,failed_calls,prompt_tokens,cached_tokens,cache_write_tokens,cache_write_1h_tokens,completion_tokens,reasoning_tokens,reported_calls,reported_cost_nanos,tenant
UTC,2026-04-01,2026-04-01,openrouter,acme/m,true,0,false,1,0,500000,0,0,0,0,0,0,0,search
UTC,2026-04-01,2026-04-01,openrouter,acme/m,true,0,false,1,0,1000000,0,0,0,0,0,0,0,support
UTC,2026-04-02,2026-04-02,openrouter,acme/m,true,0,true,1,0,500000,0,0,0,0,0,0,0,search
UTC,2026-04-02,2026-04-02,openrouter,acme/m,true,0,true,1,0,1000000,0,0,0,0,0,0,0,support
UTC,2026-04-03,2026-04-03,openrouter,acme/m,false,0,false,1,0,600000,0,0,0,200000,0,0,0,
UTC,2026-04-03,2026-04-03,openrouter,acme/m,false,0,false,1,0,1000000,0,0,0,0,0,0,0,search
UTC,2026-04-03,2026-04-03,openrouter,acme/m,false,0,false,1,0,1500000,0,0,0,250000,0,0,0,support
UTC,2026-04-04,2026-04-04,openrouter,acme/m,false,0,false,0,1,0,0,0,0,0,0,0,0,support
UTC,2026-04-04,2026-04-04,openrouter,acme/unknown,false,0,false,1,0,1000,0,0,0,500,0,0,0,search
UTC,2026-04-05,2026-04-05,ominigate,acme/m,false,0,false,1,0,0,0,0,0,0,0,0,0,
UTC,2026-04-05,2026-04-05,ominigate,acme/m,false,0,false,1,0,0,0,0,0,0,0,0,0,=1+2
UTC,2026-04-05,2026-04-05,ominigate,acme/m,false,0,false,1,0,1000000,0,0,0,0,0,0,0,search
UTC,2026-04-05,2026-04-05,ominigate,acme/m,false,0,false,1,0,2000000,0,0,0,0,0,0,0,support
";

#[test]
fn usage_files_carry_the_tenant_and_give_the_same_showback() {
    let dir = tempfile::tempdir().unwrap();
    let groups = dir.path().join("groups.csv");
    let (_d, o) = run("daily", &["--usage-out", groups.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Every row carries the format and the fingerprint; the rest is the hand-worked table.
    let text = std::fs::read_to_string(&groups).unwrap();
    let rest: Vec<&str> = text
        .lines()
        .map(|l| l.splitn(3, ',').nth(2).unwrap())
        .collect();
    assert_eq!(rest, TENANT_GROUPS.lines().collect::<Vec<_>>());

    let from = |command: &str, extra: &[&str], by: bool| {
        let mut c = spendrecon();
        c.arg(command)
            .arg("--usage")
            .arg(&groups)
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .args(extra);
        if by {
            c.args(["--by", "tenant"]);
        }
        run_out(&mut c)
    };
    // daily from the groups: the same showback.csv as from the logs (worked in `april`).
    let (out, o) = from("daily", &[], true);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let mut want = vec![HEADER.to_string()];
    want.extend(april(["0.00", "0.00", "0.00"]));
    assert_eq!(read(&out, "showback.csv").lines().collect::<Vec<_>>(), want);
    // reconcile and forecast alike.
    let (invoice, topups) = (
        fixture("showback/invoice.csv").display().to_string(),
        fixture("showback/topups.csv").display().to_string(),
    );
    let ledger = ["--invoices", invoice.as_str(), "--topups", topups.as_str()];
    for (command, extra, files) in [
        ("reconcile", &ledger[..], &["showback.csv"][..]),
        (
            "forecast",
            &[][..],
            &["showback.csv", "showback_forecast.csv"][..],
        ),
    ] {
        let (logs, _) = run(command, extra);
        let (usage, o) = from(command, extra, true);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        for f in files {
            assert_eq!(read(&logs, f), read(&usage, f), "{command} {f}");
        }
    }
    // Without --by the tenant column is summed over: daily.csv and the groups cut again equal
    // those of the logs without --by.
    let plain = dir.path().join("plain.csv");
    let (logs, _) = run_out(
        spendrecon()
            .arg("daily")
            .arg("--logs")
            .arg(fixture("showback/logs.jsonl"))
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .arg("--usage-out")
            .arg(&plain),
    );
    let again = dir.path().join("again.csv");
    let (usage, _) = from("daily", &["--usage-out", again.to_str().unwrap()], false);
    assert_eq!(read(&logs, "daily.csv"), read(&usage, "daily.csv"));
    assert_eq!(
        std::fs::read_to_string(&plain).unwrap(),
        std::fs::read_to_string(&again).unwrap()
    );
    assert!(!usage.path().join("showback.csv").exists());
    // --by with a file cut without the column, or by another field: refused, exit 2.
    let (_, o) = run_out(
        spendrecon()
            .arg("daily")
            .arg("--usage")
            .arg(&plain)
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .args(["--by", "tenant"]),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--by tenant: the usage groups carry no group column"),
        "{}",
        stderr(&o)
    );
    let (_, o) = from("daily", &["--by", "api_key"], false);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--by api_key: the usage groups were cut by `tenant`, not `api_key`"),
        "{}",
        stderr(&o)
    );
}

/// A schema file naming two group fields besides `tenant` (its `[by]` table): `api_key` (a
/// column) and `project` (nested in `meta`).
const GROUPED_SCHEMA: &str = r#"
[schema]
name = "app"
[fields]
ts = "ts"
provider = "provider"
model = "model"
prompt_tokens = "usage.in"
completion_tokens = "usage.out"
byok = "byok"
tenant = "team"
[by]
api_key = "key"
project = "meta.project"
"#;

/// Five OpenRouter calls of acme/m (1 USD per million prompt tokens, 2 per million completion
/// tokens) in April 2026, four of them BYOK (two free a month, then 5 %):
///
/// | # | key | team | project | usage | BYOK fee |
/// |---|---|---|---|---|---|
/// | 1 | k1 | a | p1 | 1,000,000 prompt = 1.00 | 1st: free |
/// | 2 | k2 | a | p1 | 2,000,000 prompt = 2.00 | 2nd: free |
/// | 3 | k1 | b | p2 | 1,000,000 prompt = 1.00 | 3rd: 0.05 |
/// | 4 | k2 | b | — | 500,000 + 250,000 = 0.50 + 0.50 | 4th: 0.05 |
/// | 5 | — | a | p2 | 3,000,000 prompt = 3.00 | not BYOK |
const GROUPED_LOGS: &str = r#"{"ts":"2026-04-01T10:00:00Z","provider":"openrouter","model":"acme/m","usage":{"in":1000000,"out":0},"byok":true,"key":"k1","team":"a","meta":{"project":"p1"}}
{"ts":"2026-04-02T10:00:00Z","provider":"openrouter","model":"acme/m","usage":{"in":2000000,"out":0},"byok":true,"key":"k2","team":"a","meta":{"project":"p1"}}
{"ts":"2026-04-03T10:00:00Z","provider":"openrouter","model":"acme/m","usage":{"in":1000000,"out":0},"byok":true,"key":"k1","team":"b","meta":{"project":"p2"}}
{"ts":"2026-04-04T10:00:00Z","provider":"openrouter","model":"acme/m","usage":{"in":500000,"out":250000},"byok":true,"key":"k2","team":"b","meta":{}}
{"ts":"2026-04-05T10:00:00Z","provider":"openrouter","model":"acme/m","usage":{"in":3000000,"out":0},"byok":false,"team":"a","meta":{"project":"p2"}}
"#;

/// `daily --by NAME` through [`GROUPED_SCHEMA`] on [`GROUPED_LOGS`]: showback.csv, and the exit
/// status.
fn grouped(by: &str) -> (Option<String>, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let (schema, logs) = (dir.path().join("app.toml"), dir.path().join("calls.jsonl"));
    std::fs::write(&schema, GROUPED_SCHEMA).unwrap();
    std::fs::write(&logs, GROUPED_LOGS).unwrap();
    let (out, o) = run_out(
        spendrecon()
            .arg("daily")
            .arg("--schema")
            .arg(&schema)
            .arg("--logs")
            .arg(&logs)
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .args(["--by", by, "-q"]),
    );
    let text = std::fs::read_to_string(out.path().join("showback.csv")).ok();
    (text, o)
}

#[test]
fn by_any_group_field_a_schema_file_names() {
    // The BYOK fee of April is 0.05 + 0.05 = 10 cents, shared by usage_usd.
    // --by api_key: (none) 3.00 (call 5), k1 1.00 + 1.00 = 2.00, k2 2.00 + 1.00 = 3.00, of 8.00:
    // quotas 3.75, 2.50, 3.75 cents; floors 3 + 2 + 3 = 8, the 2 left to the .75s: 4, 2, 4.
    let (text, o) = grouped("api_key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut want = vec![HEADER];
    want.extend([
        "2026-04,(none),openrouter,1,3000000,0,3.00,0.00,0.04,0.00,3.04,0,",
        "2026-04,k1,openrouter,2,2000000,0,2.00,0.00,0.02,0.00,2.02,0,",
        "2026-04,k2,openrouter,2,2500000,250000,3.00,0.00,0.04,0.00,3.04,0,",
    ]);
    assert_eq!(text.unwrap().lines().collect::<Vec<_>>(), want);
    assert!(stderr(&o).is_empty(), "quiet: no summary ({})", stderr(&o));

    // --by project (a nested path): (none) 1.00 (call 4), p1 1.00 + 2.00 = 3.00, p2 1.00 + 3.00
    // = 4.00: quotas 1.25, 3.75, 5.00 cents; floors 1 + 3 + 5 = 9, the 1 left to .75 (p1).
    let (text, _) = grouped("project");
    let mut want = vec![HEADER];
    want.extend([
        "2026-04,(none),openrouter,1,500000,250000,1.00,0.00,0.01,0.00,1.01,0,",
        "2026-04,p1,openrouter,2,3000000,0,3.00,0.00,0.04,0.00,3.04,0,",
        "2026-04,p2,openrouter,2,4000000,0,4.00,0.00,0.05,0.00,4.05,0,",
    ]);
    assert_eq!(text.unwrap().lines().collect::<Vec<_>>(), want);

    // --by tenant reads `team` as before: a 6.00 (calls 1, 2, 5), b 2.00: quotas 7.5 and 2.5;
    // floors 7 + 2, the tie of remainders goes to the larger usage (a): 8 and 2.
    let (text, _) = grouped("tenant");
    let mut want = vec![HEADER];
    want.extend([
        "2026-04,a,openrouter,3,6000000,0,6.00,0.00,0.08,0.00,6.08,0,",
        "2026-04,b,openrouter,2,1500000,250000,2.00,0.00,0.02,0.00,2.02,0,",
    ]);
    assert_eq!(text.unwrap().lines().collect::<Vec<_>>(), want);

    // A name the schema does not map: exit 2 before reading, naming the ones it does.
    let (text, o) = grouped("team");
    assert_eq!(o.status.code(), Some(2));
    assert!(text.is_none());
    let err = stderr(&o);
    assert!(
        err.contains("--by team: the log schema `app` maps no field `team`")
            && err.contains("supported: --by tenant, api_key, project"),
        "{err}"
    );
}

#[test]
fn builtin_schemas_name_their_group_fields() {
    // tests/fixtures/schemas/litellm_spendlogs.csv: three OpenRouter calls under one hashed key
    // (88dc…) and team (a6c4…), two OminiGate calls under another key (2f1e…) and team (e0b7…),
    // no `user` on any row.
    let run = |by: &str| {
        run_out(
            spendrecon()
                .arg("daily")
                .args(["--schema", "litellm", "--logs"])
                .arg(fixture("schemas/litellm_spendlogs.csv"))
                .arg("--rates")
                .arg(fixture("schemas/rates"))
                .args(["--by", by, "-q"]),
        )
    };
    let tenants = |dir: &tempfile::TempDir| -> Vec<(String, String, String)> {
        csv_rows(&read(dir, "showback.csv"))[1..]
            .iter()
            .map(|r| (r[1].clone(), r[2].clone(), r[3].clone()))
            .collect()
    };
    let (key, o) = run("api_key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        tenants(&key),
        [
            t(
                "2f1e0d9c8b7a69584736251403f2e1d0c9b8a79685746352413029f1e0d9c8b7",
                "ominigate",
                "2"
            ),
            t(
                "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
                "openrouter",
                "3"
            ),
        ]
    );
    let (user, _) = run("user");
    assert_eq!(
        tenants(&user),
        [
            t("(none)", "ominigate", "2"),
            t("(none)", "openrouter", "3")
        ]
    );
    // --by team_id reads what the built-in's tenant reads first (team_id is on every row).
    let (team, _) = run("team_id");
    let (tenant, _) = run("tenant");
    assert_eq!(read(&team, "showback.csv"), read(&tenant, "showback.csv"));
}

/// The sample month: every record carries one of five tenants; per provider the tenants' usage
/// is the README's priced total, the top-up fees summary.csv's, and the 11 unpriced calls are
/// all counted.
#[test]
fn sample_month_by_tenant() {
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .current_dir(root())
        .arg("reconcile")
        .args(crate::util::SAMPLE_MONTH)
        .args(["--rates", "rates", "--by", "tenant", "-q", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows = csv_rows(&read(&out, "showback.csv"));
    assert_eq!(rows[0].join(","), HEADER);
    let tenants: std::collections::BTreeSet<&str> =
        rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        tenants.into_iter().collect::<Vec<_>>(),
        [
            "analytics",
            "doc-summaries",
            "internal-tools",
            "search",
            "support-bot"
        ]
    );
    let sum = |provider: &str, col: usize| -> Decimal {
        rows[1..]
            .iter()
            .filter(|r| r[2] == provider)
            .map(|r| r[col].parse::<Decimal>().unwrap())
            .sum()
    };
    // sample-data/README.md: the rate-table cost of the 2xx calls per provider.
    assert_eq!(sum("openrouter", 6).to_string(), "1587.098785354");
    assert_eq!(sum("ominigate", 6).to_string(), "822.895398422");
    assert_eq!(sum("openrouter", 7).to_string(), "123.10");
    let calls: Decimal = sum("openrouter", 3) + sum("ominigate", 3);
    assert_eq!(calls.to_string(), "199620");
    let unpriced: Decimal = sum("openrouter", 11) + sum("ominigate", 11);
    assert_eq!(unpriced.to_string(), "11");
    check_sums(out.path());
}

/// Reads CSV text into rows of cells (the header first).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A CSV file of `dir` as maps from column to cell.
fn records(dir: &Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let rows = csv_rows(&read(dir, name));
    rows[1..]
        .iter()
        .map(|r| rows[0].iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn dec(s: &str) -> Decimal {
    if s.is_empty() {
        Decimal::ZERO
    } else {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }
}

/// The invariants between showback.csv and the run's other files (a `reconcile` output
/// directory): per month × provider, each fee column sums to fees.csv's expected fees and the
/// calls, tokens and usage to daily.csv's; per provider, the columns sum to summary.csv's
/// effective total; every row's effective_usd is its usage plus its fees. Returns the rows.
fn check_sums(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let showback = records(dir, "showback.csv");
    let fees = if dir.join("fees.csv").exists() {
        records(dir, "fees.csv")
    } else {
        Vec::new()
    };
    let daily = records(dir, "daily.csv");
    let summary = records(dir, "summary.csv");

    type Cols = [Decimal; 7];
    // calls, prompt, completion, usage, top-up, BYOK, subscription
    let mut got: BTreeMap<(String, String), Cols> = BTreeMap::new();
    for r in &showback {
        let e = got
            .entry((r["month"].clone(), r["provider"].clone()))
            .or_default();
        for (i, c) in [
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "usage_usd",
            "topup_fee_usd",
            "byok_fee_usd",
            "subscription_usd",
        ]
        .iter()
        .enumerate()
        {
            e[i] += dec(&r[*c]);
        }
        let fees: Decimal = ["topup_fee_usd", "byok_fee_usd", "subscription_usd"]
            .iter()
            .map(|c| dec(&r[*c]))
            .sum();
        assert_eq!(
            dec(&r["effective_usd"]),
            dec(&r["usage_usd"]) + fees,
            "{r:?}"
        );
    }
    let mut want: BTreeMap<(String, String), Cols> = BTreeMap::new();
    for r in &daily {
        let e = want
            .entry((r["day"][..7].to_string(), r["provider"].clone()))
            .or_default();
        e[0] += dec(&r["requests"]);
        e[1] += dec(&r["prompt_tokens"]);
        e[2] += dec(&r["completion_tokens"]);
        e[3] += dec(&r["cost_usd"]);
    }
    for r in &fees {
        let e = want
            .entry((r["month"].clone(), r["provider"].clone()))
            .or_default();
        let col = match r["kind"].as_str() {
            "byok" => 5,
            "subscription" => 6,
            _ => 4,
        };
        e[col] += dec(&r["expected_fee_usd"]);
    }
    // A provider-month with neither calls nor fees writes no row.
    want.retain(|_, v| v.iter().any(|x| !x.is_zero()));
    got.retain(|_, v| v.iter().any(|x| !x.is_zero()));
    assert_eq!(
        got, want,
        "per month × provider: showback.csv against daily.csv and fees.csv"
    );

    for s in &summary {
        let p = &s["provider"];
        let rows = showback.iter().filter(|r| &r["provider"] == p);
        let (mut eff, mut top, mut byok, mut sub) = Default::default();
        for r in rows {
            eff += dec(&r["effective_usd"]);
            top += dec(&r["topup_fee_usd"]);
            byok += dec(&r["byok_fee_usd"]);
            sub += dec(&r["subscription_usd"]);
        }
        let cols = |c: &str| dec(&s[c]);
        assert_eq!(
            (eff, top, byok, sub),
            (
                cols("effective_usd"),
                cols("topup_fee_usd"),
                cols("byok_fee_usd"),
                cols("subscription_usd")
            ),
            "summary.csv, {p}"
        );
    }
    showback
}

// ---------------------------------------------------------------------------------------------
// The property: random calls, tenants, BYOK flags, statuses, top-ups and time zones
// ---------------------------------------------------------------------------------------------

/// 2026-03-29T00:00:00Z: calls fall over four days around the end of March (two months).
const START_MS: i64 = 1_774_742_400_000;
const DAY_MS: i64 = 86_400_000;
const TENANTS: [Option<&str>; 5] = [None, Some("search"), Some("support"), Some(""), Some("ops")];
const PROVIDERS: [&str; 3] = ["openrouter", "ominigate", "acme"];

#[derive(Debug, Clone)]
struct Call {
    ts_ms: i64,
    provider: &'static str,
    priced: bool,
    tenant: Option<&'static str>,
    prompt: u64,
    completion: u64,
    byok: bool,
    status: u16,
}

fn arb_call() -> impl Strategy<Value = Call> {
    (
        0..4 * DAY_MS,
        0..PROVIDERS.len(),
        prop::bool::weighted(0.9),
        0..TENANTS.len(),
        0u64..3_000_000,
        0u64..1_000_000,
        prop::bool::weighted(0.4),
        prop::sample::select(vec![200u16, 200, 200, 200, 200, 429, 500]),
    )
        .prop_map(
            |(t, p, priced, tenant, prompt, completion, byok, status)| Call {
                ts_ms: START_MS + t,
                provider: PROVIDERS[p],
                priced,
                tenant: TENANTS[tenant],
                prompt,
                completion,
                byok,
                status,
            },
        )
}

/// (day offset from START, provider, amount in cents)
fn arb_purchases() -> impl Strategy<Value = Vec<(i64, &'static str, u32)>> {
    prop::collection::vec((0i64..4, 0..2usize, 1u32..50_000), 0..4).prop_map(|v| {
        v.into_iter()
            .map(|(d, p, c)| (d, PROVIDERS[p], c))
            .collect()
    })
}

fn write_inputs(dir: &Path, calls: &[Call], purchases: &[(i64, &str, u32)]) {
    let mut logs = std::fs::File::create(dir.join("logs.jsonl")).unwrap();
    for c in calls {
        let tenant = c
            .tenant
            .map_or(String::new(), |t| format!(",\"tenant\":\"{t}\""));
        writeln!(
            logs,
            "{{\"ts\":{},\"provider\":\"{}\",\"model\":\"{}\",\"prompt_tokens\":{},\"completion_tokens\":{},\"byok\":{},\"status\":{}{tenant}}}",
            c.ts_ms,
            c.provider,
            if c.priced { "acme/m" } else { "acme/unknown" },
            c.prompt,
            c.completion,
            c.byok,
            c.status
        )
        .unwrap();
    }
    let day = |offset: i64| {
        chrono::DateTime::from_timestamp_millis(START_MS + offset * DAY_MS)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut ledger = String::from("date,provider,amount_usd,method\n");
    for (d, p, cents) in purchases {
        ledger.push_str(&format!(
            "{},{p},{},card\n",
            day(*d),
            Decimal::new(*cents as i64, 2)
        ));
    }
    std::fs::write(dir.join("topups.csv"), ledger).unwrap();
    // One line per provider, so that summary.csv has a row for each.
    let mut invoice =
        String::from("date,provider,model,prompt_tokens,completion_tokens,amount_usd\n");
    for p in PROVIDERS {
        invoice.push_str(&format!("{},{p},acme/m,0,0,0\n", day(1)));
    }
    std::fs::write(dir.join("invoice.csv"), invoice).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Per provider and month every column of showback.csv sums to fees.csv, daily.csv and
    /// summary.csv to the cent; the calls without a tenant are (none)'s; unpriced calls are all
    /// counted; each fee share is within one unit of its exact proportion.
    #[test]
    fn showback_columns_sum_to_the_provider_totals(
        calls in prop::collection::vec(arb_call(), 1..60),
        purchases in arb_purchases(),
        tz in prop::sample::select(vec!["UTC", "Asia/Kolkata", "America/New_York"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), &calls, &purchases);
        let out = dir.path().join("out");
        let o = spendrecon()
            .current_dir(dir.path())
            .args(["reconcile", "--logs", "logs.jsonl", "--invoices", "invoice.csv", "--topups", "topups.csv", "--by", "tenant", "-q", "--tz", tz])
            .arg("--rates")
            .arg(fixture("showback/rates"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        prop_assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        let rows = check_sums(&out);

        let billable = |c: &&Call| (200..300).contains(&c.status);
        let count = |f: &dyn Fn(&Call) -> bool| -> Decimal {
            Decimal::from(calls.iter().filter(billable).filter(|c| f(c)).count())
        };
        let total = |t: Option<&str>, col: &str| -> Decimal {
            rows.iter()
                .filter(|r| t.is_none_or(|t| r["tenant"] == t))
                .map(|r| dec(&r[col]))
                .sum()
        };
        prop_assert_eq!(
            total(Some("(none)"), "calls"),
            count(&|c| c.tenant.is_none_or(str::is_empty))
        );
        prop_assert_eq!(total(Some("ops"), "calls"), count(&|c| c.tenant == Some("ops")));
        prop_assert_eq!(total(None, "unpriced_calls"), count(&|c| !c.priced));

        // Each share against the exact proportion of its provider-month's fee.
        let mut weight: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for r in &rows {
            *weight.entry((r["month"].clone(), r["provider"].clone())).or_default() +=
                dec(&r["usage_usd"]);
        }
        for col in ["topup_fee_usd", "byok_fee_usd", "subscription_usd"] {
            let mut fee: BTreeMap<(String, String), Decimal> = BTreeMap::new();
            for r in &rows {
                *fee.entry((r["month"].clone(), r["provider"].clone())).or_default() += dec(&r[col]);
            }
            for r in &rows {
                let key = (r["month"].clone(), r["provider"].clone());
                let (f, w) = (fee[&key], weight[&key]);
                if w.is_zero() {
                    // No usage to share by: the whole fee on (unallocated).
                    if r["tenant"] != "(unallocated)" {
                        prop_assert!(dec(&r[col]).is_zero(), "{col} {r:?}");
                    }
                    continue;
                }
                let unit = Decimal::new(1, f.normalize().scale().max(2));
                let exact = f * dec(&r["usage_usd"]) / w;
                prop_assert!((dec(&r[col]) - exact).abs() < unit, "{col} {r:?}: exact {exact}");
            }
        }
    }
}

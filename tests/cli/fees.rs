//! End-to-end tests of `spendrecon fees`: the BYOK allowance at its threshold with the shipped
//! policy (tests/fixtures/fees/rates holds only models.csv, so the built-in fees.toml applies),
//! top-up fees at theirs, and a policy change in the middle of a month.
//!
//! Rate: acme/m costs 1 USD per million prompt tokens, so a call of n prompt tokens costs
//! n / 1,000,000 USD.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{fixture, run_out, spendrecon};

/// Runs `spendrecon fees` with the fixture rates; returns fees.csv's rows (header dropped) and
/// the exit status.
fn fees(args: &[&std::ffi::OsStr]) -> (Vec<String>, i32, tempfile::TempDir) {
    let (out, o) = run_out(
        spendrecon()
            .arg("fees")
            .args(args)
            .arg("--rates")
            .arg(fixture("fees/rates"))
            .arg("-q"),
    );
    let text = std::fs::read_to_string(out.path().join("fees.csv")).unwrap();
    let mut lines = text.lines().map(str::to_string);
    assert_eq!(
        lines.next().unwrap(),
        "month,provider,kind,basis_usd,fee_usd,expected_fee_usd,status,note"
    );
    (lines.collect(), o.status.code().unwrap(), out)
}

/// A CSV log of BYOK calls on OpenRouter one millisecond apart from 2026-04-01T00:00:00Z, with
/// the given prompt tokens per call.
fn byok_log(dir: &Path, prompts: impl Iterator<Item = u64>) -> PathBuf {
    let path = dir.join("byok.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "ts,provider,model,prompt_tokens,completion_tokens,byok").unwrap();
    let t0: u64 = 1_775_001_600_000; // 2026-04-01T00:00:00Z
    for (i, p) in prompts.enumerate() {
        writeln!(w, "{},openrouter,acme/m,{p},0,true", t0 + i as u64).unwrap();
    }
    path
}

#[test]
fn the_millionth_byok_call_is_free_and_the_next_is_charged() {
    let dir = tempfile::tempdir().unwrap();
    // 999,999 calls of 1 token, then a 2,000,000-token call (2 USD) as the 1,000,000th: free.
    let log = byok_log(
        dir.path(),
        std::iter::repeat_n(1, 999_999).chain([2_000_000]),
    );
    let (rows, code, _o) = fees(&["--logs".as_ref(), log.as_os_str()]);
    assert_eq!(
        rows,
        ["2026-04,openrouter,byok,0.00,,0.00,unchecked,\"1000000 BYOK calls, list USD 2.999999; 0 charged\""]
    );
    assert_eq!(code, 0);

    // The same with a 1,000,001st call of 2,000,000 tokens: 5 % of 2 USD = 0.10.
    let log = byok_log(
        dir.path(),
        std::iter::repeat_n(1, 999_999).chain([2_000_000, 2_000_000]),
    );
    let (rows, code, _o) = fees(&["--logs".as_ref(), log.as_os_str()]);
    assert_eq!(
        rows,
        ["2026-04,openrouter,byok,2.00,,0.10,unchecked,\"1000001 BYOK calls, list USD 4.999999; 1 charged\""]
    );
    assert_eq!(code, 0);
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// tests/fixtures/fees/topups.csv, line by line (header = line 1), card fee 5.5 % ≥ 0.80:
///   2  openrouter 1000.00 card, charged 55.00: expected 55.00 (1,000 costs 1,055.00) → ok
///   3  openrouter   10.00 card, charged  0.80: 5.5 % = 0.55 < 0.80 → 0.80 → ok
///   4  openrouter   14.54 card, charged  0.80: 0.7997 → the minimum 0.80 → ok
///   5  openrouter   14.55 card, charged  0.80: 0.80025 → 0.80 (5.5 % equals the minimum) → ok
///   6  openrouter   14.64 card, charged  0.81: 0.8052 → 0.81 → ok
///   7  openrouter  100.00 card, charged  5.00: expected 5.50, Δ −0.50 → fee_mismatch
///   8  openrouter  200.00 crypto, no fee given: 5 % = 10.00 → unchecked
///   9  openrouter  500.00 invoice, charged 0: 0.00 → ok
///  10  ominigate  1000.00 card, charged 0: no top-up fee (1,000 costs 1,000.00) → ok
///  11  acme         50.00 card: no policy in fees.toml → no_policy
///  12  openrouter   20.00 card at 2026-04-30T21:59:59Z, charged 1.10 → ok (April in UTC and Berlin)
///  13  openrouter   40.00 card at 2026-04-30T22:00:00Z, charged 2.20 → ok (Berlin: May 1st, 00:00)
#[test]
fn top_up_fees_at_and_around_the_minimum() {
    let ledger = fixture("fees/topups.csv");
    let (rows, code, out) = fees(&[os("--topups"), ledger.as_os_str()]);
    assert_eq!(
        rows,
        [
            "2026-04,acme,topup_card,50.00,1.00,,no_policy,1 purchase; 1 without a fee policy for the day in fees.toml",
            "2026-04,ominigate,topup_card,1000.00,0.00,0.00,ok,1 purchase",
            // basis 1000 + 10 + 14.54 + 14.55 + 14.64 + 100 + 20 + 40 = 1213.73
            // charged 55 + 0.80 × 3 + 0.81 + 5.00 + 1.10 + 2.20 = 66.51; expected 67.01
            "2026-04,openrouter,topup_card,1213.73,66.51,67.01,fee_mismatch,\"8 purchases; fee differs on 2026-04-06 charged 5.00, policy says 5.50\"",
            "2026-04,openrouter,topup_crypto,200.00,,10.00,unchecked,1 purchase",
            "2026-04,openrouter,topup_invoice,500.00,0.00,0.00,ok,1 purchase",
        ]
    );
    assert_eq!(
        code, 1,
        "a fee mismatch and a provider without policy are flagged"
    );
    let topups = std::fs::read_to_string(out.path().join("topups.csv")).unwrap();
    let lines: Vec<&str> = topups.lines().collect();
    assert_eq!(
        lines[0],
        "day,provider,method,amount_usd,fee_usd,expected_fee_usd,delta_usd,expected_total_usd,status,file,line"
    );
    let cells = |i: usize| lines[i].split(',').take(9).collect::<Vec<_>>().join(",");
    assert_eq!(
        cells(1),
        "2026-04-01,openrouter,card,1000.00,55.00,55.00,0.00,1055.00,ok"
    );
    assert_eq!(
        cells(2),
        "2026-04-02,openrouter,card,10.00,0.80,0.80,0.00,10.80,ok"
    );
    assert_eq!(
        cells(6),
        "2026-04-06,openrouter,card,100.00,5.00,5.50,-0.50,105.50,fee_mismatch"
    );
    assert_eq!(
        cells(9),
        "2026-04-09,ominigate,card,1000.00,0.00,0.00,0.00,1000.00,ok"
    );
    assert_eq!(cells(10), "2026-04-10,acme,card,50.00,1.00,,,,no_policy");
    assert!(
        lines[6].ends_with(",7"),
        "file and line of the purchase: {}",
        lines[6]
    );

    // In Berlin the purchase at 22:00 UTC on April 30th is May's.
    let (rows, _, _o) = fees(&[
        os("--topups"),
        ledger.as_os_str(),
        os("--tz"),
        os("Europe/Berlin"),
    ]);
    let card: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("openrouter,topup_card"))
        .collect();
    assert_eq!(card.len(), 2);
    assert!(
        card[0].starts_with("2026-04,openrouter,topup_card,1173.73,64.31,64.81,fee_mismatch"),
        "{}",
        card[0]
    );
    assert!(
        card[1].starts_with("2026-05,openrouter,topup_card,40.00,2.20,2.20,ok"),
        "{}",
        card[1]
    );
}

/// tests/fixtures/fees/policy_change: until 2026-04-15 card 5.5 % and BYOK 5 % on every call;
/// from the 16th card 4 % and a BYOK subscription priced on the command line.
///   top-ups: 100 on the 15th → 5.50; 100 on the 16th → 4.00; 9.50 in all
///   BYOK: 2 USD at 23:59:59.999 on the 15th → 5 % = 0.10; 4 USD at midnight → the new policy, 0
///   subscription 30 USD a month, in force 16..30 April = 15 of 30 days → 15.00
#[test]
fn a_policy_change_in_the_middle_of_the_month() {
    let dir = fixture("fees/policy_change");
    let run = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let o = spendrecon()
            .arg("fees")
            .arg("--logs")
            .arg(dir.join("logs.jsonl"))
            .arg("--topups")
            .arg(dir.join("topups.csv"))
            .arg("--rates")
            .arg(&dir)
            .arg("--out")
            .arg(out.path())
            .args(extra)
            .output()
            .unwrap();
        (out, o)
    };
    let (_o, o) = run(&[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "the subscription has no price yet"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--byok-subscription"), "{err}");

    let (out, o) = run(&["--byok-subscription", "30"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("fees.csv")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        rows,
        [
            "2026-04,openrouter,topup_card,200.00,,9.50,unchecked,2 purchases",
            "2026-04,openrouter,byok,2.00,,0.10,unchecked,\"2 BYOK calls, list USD 6.00; 1 charged\"",
            "2026-04,openrouter,subscription,,,15.00,unchecked,BYOK subscription in force 15 of 30 days",
        ]
    );
}

/// tests/fixtures/fees/scenario: April's traffic is 105 USD without BYOK (100 on gw1, 5 on gw2)
/// and four BYOK calls of 1 USD. `--months 2 --growth-pct 50 --byok-subscription 3`:
///   May  (× 1.5):  usage 157.50 + BYOK 6.00 (6 calls) = 163.50
///     gw1: top-up 5.5 % × 157.50 = 8.6625 → 8.66; BYOK 5 % × 6 × (6 − 2)/6 = 0.20 → 172.36
///     gw1 subscription: 163.50 + 8.66 + 3.00 = 175.16;  gw2: 163.50
///   June (× 2.25): usage 236.25 + BYOK 9.00 (9 calls) = 245.25
///     gw1: top-up 12.99375 → 12.99; BYOK 5 % × 9 × 7/9 = 0.35 → 258.59
///     gw1 subscription: 245.25 + 12.99 + 3.00 = 261.24;  gw2: 245.25
#[test]
fn twelve_month_view_prices_the_same_traffic_on_each_gateway() {
    let dir = fixture("fees/scenario");
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .args([
            "fees",
            "--months",
            "2",
            "--growth-pct",
            "50",
            "--byok-subscription",
            "3",
        ])
        .arg("--logs")
        .arg(dir.join("logs.csv"))
        .arg("--rates")
        .arg(&dir)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("scenarios.csv")).unwrap();
    assert_eq!(
        text,
        "month,scenario,provider,usage_usd,topup_fee_usd,byok_fee_usd,subscription_usd,total_usd\n\
         2026-05,all_on_gw1,gw1,163.50,8.66,0.20,0.00,172.36\n\
         2026-05,all_on_gw1_byok_subscription,gw1,163.50,8.66,0.00,3.00,175.16\n\
         2026-05,all_on_gw2,gw2,163.50,0.00,0.00,0.00,163.50\n\
         2026-06,all_on_gw1,gw1,245.25,12.99,0.35,0.00,258.59\n\
         2026-06,all_on_gw1_byok_subscription,gw1,245.25,12.99,0.00,3.00,261.24\n\
         2026-06,all_on_gw2,gw2,245.25,0.00,0.00,0.00,245.25\n"
    );
}

/// tests/fixtures/fees/reconcile: two OpenRouter calls on 2026-04-01 (acme/m: 1 USD per million
/// prompt tokens, 2 per million completion tokens):
///   1,000,000 prompt + 500,000 completion = 1 + 1 = 2.00 USD, billed by the gateway;
///   a BYOK call of 3,000,000 prompt tokens = 3.00 USD, paid upstream; the gateway reports a
///   cost (its BYOK fee) of 0, and the call is within the free allowance: fee 0.
/// The invoice line has both calls' tokens and bills 2.00 → ok. One card top-up of 100 charged
/// 5.50, as the policy says. Effective: usage 5.00 + top-up fee 5.50 = 10.50 USD for 4,500,000
/// tokens = 2.333333 USD per million.
#[test]
fn reconcile_with_topups_reports_fees_and_the_effective_total() {
    let dir = fixture("fees/reconcile");
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .arg("reconcile")
        .arg("--logs")
        .arg(dir.join("logs.jsonl"))
        .arg("--invoices")
        .arg(dir.join("invoice.csv"))
        .arg("--topups")
        .arg(dir.join("topups.csv"))
        .arg("--rates")
        .arg(fixture("fees/rates"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
    assert!(
        recon.contains("2026-04-01,openrouter,acme/m,2,4000000,500000,4000000,500000,0,0.00,2.00,2.00,0.00,ok,"),
        "{recon}"
    );
    let fees = std::fs::read_to_string(out.path().join("fees.csv")).unwrap();
    assert_eq!(
        fees.lines().skip(1).collect::<Vec<_>>(),
        [
            "2026-04,openrouter,topup_card,100.00,5.50,5.50,ok,1 purchase",
            "2026-04,openrouter,byok,0.00,0.00,0.00,ok,\"1 BYOK call, list USD 3.00; 0 charged\"",
        ]
    );
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(summary.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let get = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(get("logged_usd"), "2.00");
    assert_eq!(get("invoiced_usd"), "2.00");
    assert_eq!(get("topup_fee_usd"), "5.50");
    assert_eq!(get("byok_fee_usd"), "0.00");
    assert_eq!(get("effective_usd"), "10.50");
    assert_eq!(get("tokens"), "4500000");
    assert_eq!(get("effective_usd_per_mtok"), "2.333333");
    assert!(
        stderr.contains("= USD 10.50 effective, 2.333333 per million tokens"),
        "{stderr}"
    );
}

/// Purchases outside `--from`/`--to` are out of range, not lost: the two of April 30th.
#[test]
fn purchases_outside_the_period_are_counted_out_of_range() {
    let ledger = fixture("fees/topups.csv");
    let (rows, _, out) = fees(&[
        os("--topups"),
        ledger.as_os_str(),
        os("--from"),
        os("2026-04-01"),
        os("--to"),
        os("2026-04-29"),
    ]);
    let card = rows
        .iter()
        .find(|r| r.contains("openrouter,topup_card"))
        .unwrap();
    // 1213.73 − 20 − 40
    assert!(
        card.starts_with("2026-04,openrouter,topup_card,1153.73,"),
        "{card}"
    );
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    assert!(files.ends_with("topups.csv,12,10,2,0,0\n"), "{files}");
}

//! End-to-end tests of `spendrecon rollout` on hand-computed fixtures (tests/fixtures/rollout).
//!
//! Rates (tests/fixtures/rollout/rates/models.csv), USD per million tokens, input / output:
//!   *          acme/big    3 / 15
//!   ominigate  acme/big    2 / 10
//!   *          acme/small  1 / 5      (acme/unknown has no rate)
//!
//! logs.csv, 78 rows (`shadow` empty = false):
//!
//! 2026-04-01, 32 user calls:
//! - ominigate acme/big, 12:00–12:30Z, 31 calls: 28 × 200 with p100 c10, and 504, 500, 429.
//!   20 of them have a latency: 5 10 10 15 20 25 30 35 40 45 | 50 55 60 65 70 75 80 85 90 1000
//!   (the 1000 is the 504). p50 = ⌈0.5 × 20⌉ = 10th smallest = 45 (not the 47.5 an interpolating
//!   median gives), p95 = ⌈0.95 × 20⌉ = 19th = 90 (not the max, 1000); 11 calls have none.
//!   Cost 28 × (100×2 + 10×10)/1e6 = 28 × 0.0003 = 0.0084; per call 0.000300;
//!   per Mtok 0.0084 × 1e6 / (28 × 110) = 8400/3080 = 2.7272… → 2.727273.
//!   Share 31/32 = 96.875 % → 96.88 (half-up); errors 3/31 = 9.677… % → 9.68.
//! - ominigate, 12:30:30Z: a shadow call (500, latency 999999): left out everywhere. Counted, the
//!   row would have 32 calls, 4 errors and p95 1000.
//! - openrouter acme/big, 13:00Z, 1 call p1000 c100, latency logged as `2713.50` → shown 2713.5,
//!   p50 = p95 = 2713.5 (one latency). Cost 3000 + 1500 = 4500 → 0.0045; per Mtok
//!   4500/1100 = 4.090909…; share 1/32 = 3.125 % → 3.13 (the two shares sum to 100.01).
//!
//! 2026-04-02, 40 user calls:
//! - ominigate, 01:00–01:07Z, 8 calls, all 502, no latency: error rate 100.00, latency columns
//!   empty, cost 0.00 (no 2xx call, nothing billed), per call and per Mtok empty (divisor 0).
//!   Share 8/40 = 20.00.
//! - openrouter acme/big, 10:00–10:31Z, 32 calls with latencies 1.5, 2.5, …, 32.5 (shuffled):
//!   p50 = 16th = 16.5, p95 = ⌈30.4⌉ = 31st = 31.5. One 429: errors 1/32 = 3.125 % → 3.13.
//!   2xx: 30 × p1000 c100 (0.0045 each) + 1 × p1 c0 (0.000003) = 0.135003;
//!   per call 0.135003/31 = 0.0043549… → 0.004355; per Mtok 135003/33001 = 4.0908760… → 4.090876.
//!   Share 32/40 = 80.00.
//!
//! 2026-04-03, 5 user calls:
//! - ominigate acme/small, 2 calls (200, 201): p10 c1 = 10 + 5 = 15, p10 c0 = 10 → 0.000025;
//!   per call 0.0000125 → 0.000013 (half-up); per Mtok 25/21 = 1.190476…; one latency 250.
//!   Share 2/5 = 40.00.
//! - openrouter, 3 calls: 2 × acme/unknown (no rate) + 1 × acme/big with latency 300: the cost
//!   columns are empty (never silently free), the run exits 1. Share 60.00.
//!
//! In America/New_York (UTC−4) the eight 502s of 04-02 01:0xZ fall on local 04-01: 04-01
//! ominigate has 39 calls (share 39/40 = 97.50), 11 errors (28.205… → 28.21); openrouter's share
//! becomes 1/40 = 2.50; 04-02 keeps only openrouter (100.00).

use crate::util::{fixture, read, run_out, spendrecon};
use assert_cmd::Command;
use predicates::str::contains;

fn rollout(logs: &str, args: &[&str]) -> Command {
    let mut cmd = spendrecon();
    cmd.arg("rollout")
        .arg("--rates")
        .arg(fixture("rollout/rates"))
        .arg("--logs")
        .arg(fixture("rollout").join(logs))
        .args(args);
    cmd
}

fn run_to_dir(logs: &str, args: &[&str]) -> (tempfile::TempDir, i32, String) {
    let (out, o) = run_out(&mut rollout(logs, args));
    let stderr = String::from_utf8(o.stderr).unwrap();
    (out, o.status.code().unwrap(), stderr)
}

/// The row of `csv` for `day` and `provider`.
fn row<'a>(csv: &'a str, day: &str, provider: &str) -> &'a str {
    csv.lines()
        .find(|l| l.starts_with(&format!("{day},{provider},")))
        .unwrap_or_else(|| panic!("no row {day} {provider} in\n{csv}"))
}

#[test]
fn utc_matches_hand_computed_dashboard() {
    let (out, code, stderr) = run_to_dir("logs.csv", &[]);
    let csv = read(out.path(), "rollout.csv");
    assert_eq!(csv, read(fixture("rollout"), "expected_rollout_utc.csv"));
    // Spelled out, so the expected file cannot drift from the hand computation above.
    assert_eq!(
        csv.lines().next().unwrap(),
        "day,provider,calls,share_pct,errors,error_rate_pct,p50_latency_ms,p95_latency_ms,cost_usd,cost_per_call_usd,cost_per_mtok_usd"
    );
    assert_eq!(
        row(&csv, "2026-04-01", "ominigate"),
        "2026-04-01,ominigate,31,96.88,3,9.68,45,90,0.0084,0.000300,2.727273"
    );
    assert_eq!(
        row(&csv, "2026-04-01", "openrouter"),
        "2026-04-01,openrouter,1,3.13,0,0.00,2713.5,2713.5,0.0045,0.004500,4.090909"
    );
    assert_eq!(
        row(&csv, "2026-04-02", "ominigate"),
        "2026-04-02,ominigate,8,20.00,8,100.00,,,0.00,,"
    );
    assert_eq!(
        row(&csv, "2026-04-02", "openrouter"),
        "2026-04-02,openrouter,32,80.00,1,3.13,16.5,31.5,0.135003,0.004355,4.090876"
    );
    assert_eq!(
        row(&csv, "2026-04-03", "ominigate"),
        "2026-04-03,ominigate,2,40.00,0,0.00,250,250,0.000025,0.000013,1.190476"
    );
    assert_eq!(
        row(&csv, "2026-04-03", "openrouter"),
        "2026-04-03,openrouter,3,60.00,0,0.00,300,300,,,"
    );
    assert_eq!(csv.lines().count(), 7);
    // Unpriced: flagged, named on stderr.
    assert_eq!(code, 1);
    assert!(
        stderr.contains("UNPRICED: openrouter acme/unknown: 2 calls, 30 tokens"),
        "{stderr}"
    );
    assert!(stderr.contains("1 shadow calls left out"), "{stderr}");
    // The shadow row is read and valid: used, not rejected or out of range.
    assert_eq!(
        read(out.path(), "files.csv").lines().nth(1).unwrap(),
        format!("{},78,78,0,0,0", fixture("rollout/logs.csv").display())
    );
    assert_eq!(read(out.path(), "rejected.csv").lines().count(), 1);
}

#[test]
fn tz_moves_calls_to_the_local_day() {
    let (out, _, _) = run_to_dir("logs.csv", &["--tz", "America/New_York"]);
    let csv = read(out.path(), "rollout.csv");
    assert_eq!(
        csv,
        read(fixture("rollout"), "expected_rollout_new_york.csv")
    );
    assert_eq!(
        row(&csv, "2026-04-01", "ominigate"),
        "2026-04-01,ominigate,39,97.50,11,28.21,45,90,0.0084,0.000300,2.727273"
    );
    assert_eq!(
        row(&csv, "2026-04-01", "openrouter"),
        "2026-04-01,openrouter,1,2.50,0,0.00,2713.5,2713.5,0.0045,0.004500,4.090909"
    );
    assert_eq!(
        row(&csv, "2026-04-02", "openrouter"),
        "2026-04-02,openrouter,32,100.00,1,3.13,16.5,31.5,0.135003,0.004355,4.090876"
    );
    assert!(!csv.contains("2026-04-02,ominigate"));
}

#[test]
fn from_to_keeps_one_day_and_counts_the_rest_out_of_range() {
    let (out, code, _) = run_to_dir("logs.csv", &["--from", "2026-04-02", "--to", "2026-04-02"]);
    let csv = read(out.path(), "rollout.csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("2026-04-02,")));
    // The unpriced day is outside: nothing flagged, exit 0.
    assert_eq!(code, 0);
    // 40 rows of 04-02 used; 33 of 04-01 (shadow included) and 5 of 04-03 out of range.
    assert_eq!(
        read(out.path(), "files.csv").lines().nth(1).unwrap(),
        format!("{},78,40,38,0,0", fixture("rollout/logs.csv").display())
    );
}

#[test]
fn json_shadow_flag_and_fractional_latency() {
    // logs.jsonl: a 200 with latency 2713.5, a 503 with latency 120, and a shadow call (9000 ms).
    // Without the shadow call: 2 calls, 1 error (50.00 %), p50 = 1st of 2 = 120,
    // p95 = ⌈1.9⌉ = 2nd = 2713.5. --format json writes every value as a string, empty as null.
    let assert = rollout("logs.jsonl", &["--format", "json", "-q"])
        .assert()
        .success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["calls"], "2");
    assert_eq!(v["errors"], "1");
    assert_eq!(v["error_rate_pct"], "50.00");
    assert_eq!(v["p50_latency_ms"], "120");
    assert_eq!(v["p95_latency_ms"], "2713.5");
    assert_eq!(v["cost_per_call_usd"], "0.004500");
}

#[test]
fn bad_latencies_are_rejected_like_every_command_rejects_them() {
    // -5 and NaN are rejected by the log reader (latency must be a number ≥ 0); -0 is 0.
    let (out, code, _) = run_to_dir("bad_latency.csv", &[]);
    assert_eq!(code, 1);
    let rejected = read(out.path(), "rejected.csv");
    assert_eq!(rejected.lines().count(), 3, "{rejected}");
    assert!(rejected.contains("bad_latency.csv,2,latency_ms,"));
    assert!(rejected.contains("bad_latency.csv,4,latency_ms,"));
    let csv = read(out.path(), "rollout.csv");
    // The provider `=cmd` is written as text, not as a formula.
    assert_eq!(
        row(&csv, "2026-04-01", "'=cmd"),
        "2026-04-01,'=cmd,1,50.00,0,0.00,0,0,0.0045,0.004500,4.090909"
    );
    assert_eq!(
        row(&csv, "2026-04-01", "openrouter"),
        "2026-04-01,openrouter,1,50.00,0,0.00,120,120,0.0045,0.004500,4.090909"
    );
}

#[test]
fn strict_stops_at_a_bad_latency() {
    rollout("bad_latency.csv", &["--strict"])
        .assert()
        .code(2)
        .stderr(contains("latency_ms"));
}

#[test]
fn stdout_without_out_dir() {
    rollout("logs.csv", &["-q"])
        .assert()
        .code(1)
        .stdout(contains(
            "2026-04-02,openrouter,32,80.00,1,3.13,16.5,31.5,0.135003,0.004355,4.090876\n",
        ));
}

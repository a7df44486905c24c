//! End-to-end tests of `spendrecon forecast`: the weekday/weekend run-rate with its range on a
//! half-seen month, a complete month, and the what-if table with a slug moved to its
//! replacement on the other gateway. Prices: tests/fixtures/fees/rates (acme/m 1 USD per million
//! prompt tokens), and the built-in fees.toml (OpenRouter card top-ups 5.5 %, OminiGate none).

use crate::util::{fixture, run_out, spendrecon};

fn forecast(logs: &str, rates: &str, extra: &[&str]) -> (String, String, i32) {
    let (out, o) = run_out(
        spendrecon()
            .arg("forecast")
            .arg("--logs")
            .arg(fixture(logs))
            .arg("--rates")
            .arg(fixture(rates))
            .arg("-q")
            .args(extra),
    );
    let read = |f: &str| std::fs::read_to_string(out.path().join(f)).unwrap_or_default();
    (
        read("forecast.csv"),
        read("whatif.csv"),
        o.status.code().unwrap(),
    )
}

/// tests/fixtures/forecast/logs.jsonl: OpenRouter acme/m, one call a day from Wed 2026-04-01 to
/// Tue 04-14 (14 days seen: 10 weekdays, 4 weekend days). Weekdays cost 10 USD, but Mon 13th 12;
/// weekend days 2 USD, but Sun 12th 3. Actual = 9 × 10 + 12 + 3 × 2 + 3 = 111.
///   Weekdays seen: sum 102, average 10.2, cheapest 10, dearest 12.
///   Weekend days seen: sum 9, average 2.25, cheapest 2, dearest 3.
///   Not seen, 15–30 April: 12 weekdays (15–17, 20–24, 27–30) and 4 weekend days (18, 19, 25, 26).
///   forecast = 111 + 12 × 10.2 + 4 × 2.25 = 242.40; low = 111 + 120 + 8 = 239.00;
///   high = 111 + 144 + 12 = 267.00.
/// OminiGate acme/m: one call of 5 USD on the 14th; the other 13 days seen cost it nothing.
///   Weekdays: average 0.5, cheapest 0, dearest 5; weekend days: 0.
///   forecast = 5 + 12 × 0.5 = 11.00; low = 5.00; high = 5 + 12 × 5 = 65.00.
/// What-if, April as forecast, 25 % of OpenRouter moved to OminiGate:
///   as logged: OpenRouter 242.40 + 5.5 % top-up 13.332 → 13.33 = 255.73; OminiGate 11.00.
///   moved: OpenRouter 181.80 + 9.999 → 10.00 = 191.80; OminiGate 11.00 + 60.60 = 71.60.
#[test]
fn weekday_weekend_run_rate_with_a_range_and_a_move() {
    let (fc, whatif, code) = forecast(
        "forecast/logs.jsonl",
        "fees/rates",
        &["--move", "openrouter=ominigate:25"],
    );
    assert_eq!(code, 0);
    let method = |wd: &str, we: &str| {
        format!(
            "weekday/weekend run-rate: 12 weekdays x {wd} + 4 weekend days x {we} not seen yet \
             (averages of the 10 weekdays and 4 weekend days seen); low/high: each such day like \
             the cheapest/dearest seen day of its kind"
        )
    };
    assert_eq!(
        fc,
        format!(
            "month,provider,model,days_seen,days_in_month,actual_usd,forecast_usd,low_usd,high_usd,method\n\
             2026-04,ominigate,acme/m,14,30,5.00,11.00,5.00,65.00,{}\n\
             2026-04,openrouter,acme/m,14,30,111.00,242.40,239.00,267.00,{}\n",
            method("0.50", "0.00"),
            method("10.20", "2.25")
        )
    );
    assert_eq!(
        whatif,
        "month,scenario,provider,usage_usd,topup_fee_usd,byok_fee_usd,subscription_usd,total_usd\n\
         2026-04,as_logged,ominigate,11.00,0.00,0.00,0.00,11.00\n\
         2026-04,as_logged,openrouter,242.40,13.33,0.00,0.00,255.73\n\
         2026-04,move openrouter=ominigate:25,ominigate,71.60,0.00,0.00,0.00,71.60\n\
         2026-04,move openrouter=ominigate:25,openrouter,181.80,10.00,0.00,0.00,191.80\n"
    );
}

/// `--month` picks another month; `--to` cuts the days seen.
#[test]
fn month_and_period_choose_the_days_seen() {
    let (fc, whatif, code) = forecast("forecast/logs.jsonl", "fees/rates", &["--to", "2026-04-07"]);
    assert_eq!(code, 0);
    assert!(
        whatif.is_empty(),
        "no whatif.csv without --move or --months"
    );
    // 1–7 April: weekdays 1, 2, 3, 6, 7 at 10; weekend 4, 5 at 2 → actual 54; not seen 8–30:
    // 17 weekdays, 6 weekend days → 54 + 170 + 12 = 236.00.
    let row = fc.lines().find(|l| l.contains("openrouter")).unwrap();
    assert!(
        row.starts_with("2026-04,openrouter,acme/m,7,30,54.00,236.00,236.00,236.00,"),
        "{row}"
    );
    let out = spendrecon()
        .args(["forecast", "--month", "2026-05", "--logs"])
        .arg(fixture("forecast/logs.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no call in 2026-05"));
}

/// tests/fixtures/forecast/moved: OpenRouter's acme/old (1 USD per million prompt tokens),
/// retired 2026-03-01 and served by OminiGate as acme/new (2 USD), called with 1M prompt tokens
/// every day of April: a complete month, forecast = actual = 30.00.
/// Moving half to OminiGate prices that half as acme/new: 15M × 2 = 30.00; OpenRouter keeps
/// 15.00 + 5.5 % = 0.825 → 0.83. May (`--months 1`, growth 10 %): × 1.1, 16.50 + 0.9075 → 0.91.
/// `--byok-subscription 7` adds each scenario with a 7 USD subscription on OpenRouter.
#[test]
fn moved_traffic_is_priced_at_the_replacement_slug() {
    let (fc, whatif, _) = forecast(
        "forecast/moved/logs.jsonl",
        "forecast/moved/rates",
        &[
            "--move",
            "openrouter=ominigate:50",
            "--months",
            "1",
            "--growth-pct",
            "10",
            "--byok-subscription",
            "7",
        ],
    );
    assert!(fc.ends_with(
        "2026-04,openrouter,acme/old,30,30,30.00,30.00,30.00,30.00,complete month: the priced cost of its days\n"
    ));
    let has = |l: &str| assert!(whatif.lines().any(|w| w == l), "{l} not in\n{whatif}");
    has("2026-04,move openrouter=ominigate:50,ominigate,30.00,0.00,0.00,0.00,30.00");
    has("2026-04,move openrouter=ominigate:50,openrouter,15.00,0.83,0.00,0.00,15.83");
    has("2026-04,move openrouter=ominigate:50 byok_subscription,openrouter,15.00,0.83,0.00,7.00,22.83");
    has("2026-04,all_on_ominigate,ominigate,60.00,0.00,0.00,0.00,60.00");
    has("2026-05,move openrouter=ominigate:50,openrouter,16.50,0.91,0.00,0.00,17.41");
    has("2026-05,as_logged,openrouter,33.00,1.82,0.00,0.00,34.82");
    assert_eq!(whatif.lines().count(), 1 + 2 * 9);
}

#[test]
fn a_move_of_more_than_all_traffic_is_refused() {
    let out = spendrecon()
        .args([
            "forecast",
            "--move",
            "openrouter=ominigate:60",
            "--move",
            "openrouter=acme:50",
            "--logs",
        ])
        .arg(fixture("forecast/logs.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 100 %"));
}

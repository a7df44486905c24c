//! `--focus FILE`: a FinOps FOCUS 1.2 cost and usage dataset, checked against the 21 columns the
//! specification makes mandatory (its `specification/columns/*.md` at tag v1.2) and their types,
//! with hand-computed amounts.
//!
//! Fixture (tests/fixtures/report): three calls of acme/big at 3 / 15 USD per Mtok: openrouter
//! 04-01 100,000 + 10,000 tokens = 0.45, 04-02 200,000 + 20,000 = 0.90; ominigate 04-02
//! 100,000 prompt tokens = 0.30. The invoice bills exactly that (1.65); the ledger holds one card
//! top-up of 100 with a 5.50 fee on openrouter.

use std::path::Path;

use crate::util::{fixture, spendrecon};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The mandatory columns of FOCUS 1.2 (Column IDs of the specification's mandatory columns).
const MANDATORY: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

struct Focus {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Focus {
    fn read(path: &Path) -> Focus {
        let mut rdr = csv::Reader::from_path(path).unwrap();
        let header = rdr.headers().unwrap().iter().map(String::from).collect();
        let rows = rdr
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        Focus { header, rows }
    }

    fn col(&self, name: &str) -> Vec<&str> {
        let i = self.header.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }

    fn money(&self, name: &str) -> Vec<Decimal> {
        self.col(name).iter().map(|v| v.parse().unwrap()).collect()
    }

    /// The sum of `name` over rows whose ChargeCategory is `category`.
    fn sum(&self, name: &str, category: &str) -> Decimal {
        self.money(name)
            .into_iter()
            .zip(self.col("ChargeCategory"))
            .filter(|(_, c)| *c == category)
            .map(|(v, _)| v)
            .sum()
    }
}

fn run(args: &[&str]) -> (tempfile::TempDir, Focus, i32) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("focus.csv");
    let o = spendrecon()
        .args(args)
        .args(["--logs".as_ref(), fixture("report/clean.jsonl").as_os_str()])
        .args(["--rates".as_ref(), fixture("report/rates").as_os_str()])
        .args(["--focus".as_ref(), file.as_os_str()])
        .arg("-q")
        .output()
        .unwrap();
    let f = Focus::read(&file);
    (dir, f, o.status.code().unwrap())
}

/// Header and types as the specification states them: the 21 mandatory columns present,
/// Decimal columns decimal and never null, Date/Time columns ISO 8601 UTC, the allowed values.
fn check_conformance(f: &Focus) {
    for m in MANDATORY {
        assert!(f.header.iter().any(|h| h == m), "missing {m}");
    }
    for h in &f.header {
        assert!(
            MANDATORY.contains(&h.as_str())
                || h.starts_with("x_")
                || [
                    "ChargeFrequency",
                    "ConsumedQuantity",
                    "ConsumedUnit",
                    "SkuId"
                ]
                .contains(&h.as_str()),
            "{h} is neither a FOCUS column nor an x_ extension"
        );
    }
    for d in [
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "PricingQuantity",
    ] {
        for v in f.col(d) {
            v.parse::<Decimal>()
                .unwrap_or_else(|_| panic!("{d}: `{v}` is not a decimal"));
        }
    }
    let instant = |v: &str| {
        v.len() == 20 && chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%SZ").is_ok()
    };
    for d in [
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
    ] {
        for v in f.col(d) {
            assert!(instant(v), "{d}: `{v}`");
        }
    }
    for m in MANDATORY.iter().filter(|m| **m != "ChargeClass") {
        assert!(f.col(m).iter().all(|v| !v.is_empty()), "{m} has a null");
    }
    assert!(f.col("ChargeClass").iter().all(|v| v.is_empty()));
    assert!(f.col("BillingCurrency").iter().all(|v| *v == "USD"));
    assert!(f
        .col("ServiceCategory")
        .iter()
        .all(|v| *v == "AI and Machine Learning"));
    assert!(f
        .col("ChargeCategory")
        .iter()
        .all(|v| ["Usage", "Purchase"].contains(v)));
}

#[test]
fn reconcile_focus_bills_the_invoice_and_spreads_fees_onto_usage() {
    let (_dir, f, code) = run(&[
        "reconcile",
        "--invoices",
        fixture("report/clean-invoice.csv").to_str().unwrap(),
        "--topups",
        fixture("report/topups.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    check_conformance(&f);
    assert_eq!(f.rows.len(), 4);
    // BilledCost of the usage is the invoice's total; the fee is its own Purchase row.
    assert_eq!(f.sum("BilledCost", "Usage"), dec!(1.65));
    assert_eq!(f.sum("BilledCost", "Purchase"), dec!(5.50));
    // The 5.50 fee amortised onto openrouter's April usage by tokens: 110,000 and 220,000 of
    // 330,000 → 1.8333333333 and 3.6666666667 (the remainder on the larger row); ominigate has
    // no fee; the purchase row's EffectiveCost is 0.
    assert_eq!(
        f.money("EffectiveCost"),
        [
            dec!(2.2833333333),
            dec!(0.30),
            dec!(4.5666666667),
            dec!(0.00)
        ]
    );
    assert_eq!(
        f.money("EffectiveCost").iter().sum::<Decimal>(),
        f.money("BilledCost").iter().sum::<Decimal>()
    );
    assert_eq!(
        f.col("ChargeCategory"),
        ["Usage", "Usage", "Usage", "Purchase"]
    );
    assert_eq!(
        f.col("ChargePeriodStart"),
        [
            "2026-04-01T00:00:00Z",
            "2026-04-02T00:00:00Z",
            "2026-04-02T00:00:00Z",
            "2026-04-01T00:00:00Z"
        ]
    );
    assert_eq!(f.col("ChargePeriodEnd")[3], "2026-05-01T00:00:00Z");
    assert_eq!(f.col("x_FeeKind")[3], "topup_card");
    assert_eq!(
        f.col("PricingQuantity")[..3],
        ["110000", "100000", "220000"]
    );
    assert_eq!(f.col("x_PromptTokens")[..3], ["100000", "100000", "200000"]);
    assert_eq!(f.col("SkuId")[0], "acme/big");
    assert_eq!(f.col("PublisherName")[0], "acme");
}

#[test]
fn daily_focus_bills_list_prices_in_local_days() {
    let (_dir, f, code) = run(&["daily", "--tz", "Europe/Berlin"]);
    assert_eq!(code, 0);
    check_conformance(&f);
    assert_eq!(f.money("BilledCost"), [dec!(0.45), dec!(0.30), dec!(0.90)]);
    assert_eq!(f.money("BilledCost"), f.money("EffectiveCost"));
    // A Berlin day starts at 22:00 UTC the day before (summer time).
    assert_eq!(f.col("ChargePeriodStart")[0], "2026-03-31T22:00:00Z");
    assert_eq!(f.col("BillingPeriodStart")[0], "2026-03-31T22:00:00Z");
}

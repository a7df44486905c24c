//! Matching on generated months: the claims add up to the flagged difference, through the
//! sorted runs on disk too; evidence names stay inside `evidence/`.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::claims::{evidence_name, safe_part};
use super::sink::{LoggedCall, LoggedIter};
use super::*;
use crate::sources::invoices::BilledCalls;
use crate::sources::spill::{call_key, Sorter};

const TOL: Tolerance = Tolerance {
    tokens: 10,
    pct: dec!(0.1),
    usd: dec!(0.01),
};

fn price(p: u64, c: u64) -> Money {
    Money::from(p) * dec!(0.000002) + Money::from(c) * dec!(0.00001)
}

/// One generated call: its tokens and the fault planted on it.
#[derive(Debug, Clone)]
struct Planted {
    prompt: u64,
    completion: u64,
    /// 0 exact, 1 billed 2–3 times, 2 never logged, 3 never billed, 4 tokens inflated, 5 cost
    /// over.
    fault: u8,
    copies: usize,
    extra_cents: u64,
}

fn planted() -> impl Strategy<Value = Planted> {
    (0u64..50_000, 0u64..5_000, 0u8..6, 2usize..4, 2u64..500).prop_map(
        |(prompt, completion, fault, copies, extra_cents)| Planted {
            prompt,
            completion,
            fault,
            copies,
            extra_cents,
        },
    )
}

/// The month's two sides, sorted with a budget of a few records (so through runs on disk), and
/// what was billed and expected in all.
fn sides(calls: &[Planted], budget: usize) -> (LoggedIter, BilledCalls, Money, Money) {
    let mut logged = Sorter::new(budget);
    let mut billed = BilledCalls::with_budget(budget);
    billed.files = vec!["bill.csv".into()];
    let (mut billed_total, mut expected_total) = (Money::ZERO, Money::ZERO);
    for (i, c) in calls.iter().enumerate() {
        let id = format!("gen-{i}");
        let day = Day(20_000 + (i % 3) as i32);
        let ts_ms = i as i64 * 1000;
        let expected = price(c.prompt, c.completion);
        if c.fault != 2 {
            let l = LoggedCall {
                provider: "openrouter".into(),
                id: id.clone(),
                model: "acme/big".into(),
                ts_ms,
                day,
                prompt: c.prompt,
                completion: c.completion,
                expected: Some(expected),
                byok: false,
            };
            logged
                .push(call_key("openrouter", &id), ts_ms as u64, &l.encode())
                .unwrap();
            expected_total += expected;
        }
        if c.fault == 3 {
            continue;
        }
        let (prompt, amount) = match c.fault {
            4 => {
                let extra = 11 + c.prompt;
                (c.prompt + extra, expected + price(extra, 0))
            }
            5 => (c.prompt, expected + Money::new(c.extra_cents as i64, 2)),
            _ => (c.prompt, expected),
        };
        let rows = if c.fault == 1 { c.copies } else { 1 };
        for r in 0..rows {
            billed.push(&BilledCall {
                provider: "openrouter".into(),
                id: id.clone(),
                model: "acme/big".into(),
                ts_ms: ts_ms + 500,
                day,
                prompt,
                completion: c.completion,
                amount,
                file: 0,
                line: (i * 10 + r) as u64 + 2,
            });
            billed_total += amount;
        }
    }
    (
        LoggedIter(logged.finish().unwrap()),
        billed,
        billed_total,
        expected_total,
    )
}

proptest! {
    /// Where every difference is a planted fault, the claims less the calls not billed are the
    /// billed total less the expected, exactly; and so per day.
    #[test]
    fn claims_add_up_to_the_flagged_difference(calls in prop::collection::vec(planted(), 1..60), budget in 64usize..4096) {
        let (logged, billed, billed_total, expected_total) = sides(&calls, budget);
        let files = billed.files.clone();
        let providers: BTreeSet<String> = ["openrouter".to_string()].into();
        let per = match_calls(logged, billed.sorted().unwrap(), &files, &providers, &TOL, Period::default()).unwrap();
        let claims: Money = per.disputes.iter().map(|d| d.amount_usd).sum();
        let favour: Money = per.disputes.iter().map(|d| d.unbilled_usd).sum();
        prop_assert_eq!(claims - favour, billed_total - expected_total);
        let n = |k: DisputeKind| per.disputes.iter().filter(|d| d.kind == k).map(|d| d.calls).sum::<u64>();
        let planted = |f: u8| calls.iter().filter(|c| c.fault == f).count() as u64;
        prop_assert_eq!(n(DisputeKind::BilledTwice), calls.iter().filter(|c| c.fault == 1).map(|c| c.copies as u64 - 1).sum::<u64>());
        prop_assert_eq!(n(DisputeKind::BilledNotLogged), planted(2));
        prop_assert_eq!(n(DisputeKind::LoggedNotBilled), planted(3));
        prop_assert_eq!(n(DisputeKind::TokensOverbilled), planted(4));
        prop_assert_eq!(n(DisputeKind::CostOverbilled), planted(5));
        for d in &per.disputes {
            prop_assert_eq!(d.rows.len() as u64, d.calls);
            prop_assert!(d.amount_usd >= Money::ZERO);
        }
    }
}

#[test]
fn evidence_names_are_safe_parts_inside_the_evidence_directory() {
    for name in [
        "../../x",
        "CON",
        "con",
        "",
        "/",
        "a/b",
        "Open Router",
        "é",
        "nul.txt",
        "lpt1",
        "x\u{0}y",
        &"a".repeat(300),
    ] {
        let f = evidence_name(name, Day(20_000), DisputeKind::BilledTwice);
        let p = Path::new(&f);
        let parts: Vec<Component> = p.components().collect();
        assert_eq!(parts.len(), 2, "{f}");
        assert!(
            parts.iter().all(|c| matches!(c, Component::Normal(_))),
            "{f}"
        );
        assert!(f.starts_with("evidence/"), "{f}");
        let file = p.file_name().unwrap().to_str().unwrap();
        assert!(
            file.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)),
            "{f}"
        );
        let first = safe_part(name);
        assert!(!first.is_empty() && first.len() <= 49, "{first}");
        assert!(
            !["con", "nul", "lpt1", ""].contains(&first.as_str()),
            "{first}"
        );
    }
    assert_eq!(safe_part("openrouter"), "openrouter");
    // Two names that sanitise alike stay apart.
    assert_ne!(safe_part("a/b"), safe_part("a.b"));
}

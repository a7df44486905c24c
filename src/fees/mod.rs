//! Fees on top of usage: top-up surcharges, BYOK fees and BYOK subscriptions, per the dated
//! policies of `rates/fees.toml`, checked against what the ledger says was charged.
//!
//! Expected fees are the model: a top-up fee per purchase (rounded to the cent, as a card charge
//! is), the BYOK percentage per call (exact: the gateway deducts it call by call) and a
//! subscription per month (prorated by the days it is in force, rounded to the cent).

pub(crate) mod byok;
pub mod policy;
mod report;

pub(crate) use report::{
    apply_subscription, effective, fee_report, Effective, FeeInputs, FeeReport, FIELDS,
};

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::RoundingStrategy;

use crate::domain::{Money, Month, Purchase, TopupMethod};
use byok::ByokMonth;
use policy::{FeeBook, SubscriptionPrice};

/// `fees.csv` `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FeeKind {
    TopupCard,
    TopupCrypto,
    TopupInvoice,
    Byok,
    Subscription,
}

impl FeeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FeeKind::TopupCard => "topup_card",
            FeeKind::TopupCrypto => "topup_crypto",
            FeeKind::TopupInvoice => "topup_invoice",
            FeeKind::Byok => "byok",
            FeeKind::Subscription => "subscription",
        }
    }

    pub(crate) fn topup(m: TopupMethod) -> FeeKind {
        match m {
            TopupMethod::Card => FeeKind::TopupCard,
            TopupMethod::Crypto => FeeKind::TopupCrypto,
            TopupMethod::Invoice => FeeKind::TopupInvoice,
        }
    }

    pub(crate) fn is_topup(self) -> bool {
        matches!(
            self,
            FeeKind::TopupCard | FeeKind::TopupCrypto | FeeKind::TopupInvoice
        )
    }
}

/// A fee row's status, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FeeStatus {
    /// No policy covers the provider on the day: the fee is unknown.
    NoPolicy,
    /// Charged calls without a rate: part of the fee is unknown.
    Unpriced,
    /// A charged fee differs from the policy by more than `--tolerance-usd`.
    FeeMismatch,
    /// Nothing charged was given to check against (the expected fee is the model's).
    Unchecked,
    Ok,
}

impl FeeStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FeeStatus::NoPolicy => "no_policy",
            FeeStatus::Unpriced => "unpriced",
            FeeStatus::FeeMismatch => "fee_mismatch",
            FeeStatus::Unchecked => "unchecked",
            FeeStatus::Ok => "ok",
        }
    }

    /// `ok` and `unchecked` are not flagged; the rest make the exit status 1.
    pub(crate) fn flagged(self) -> bool {
        !matches!(self, FeeStatus::Ok | FeeStatus::Unchecked)
    }
}

/// One purchase checked against its policy (`topups.csv`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PurchaseCheck {
    pub purchase: Purchase,
    pub expected_fee_usd: Option<Money>,
    pub status: FeeStatus,
}

impl PurchaseCheck {
    /// Charged − expected, when both are known.
    pub(crate) fn delta_usd(&self) -> Option<Money> {
        Some(self.purchase.fee_usd? - self.expected_fee_usd?)
    }
}

/// The expected fee of every purchase, and whether the charged one agrees within `tolerance`.
pub(crate) fn check_purchases(
    book: &FeeBook,
    purchases: &[Purchase],
    tolerance: Money,
) -> Vec<PurchaseCheck> {
    purchases
        .iter()
        .map(|p| {
            let expected = book
                .on(&p.provider, p.day)
                .map(|pol| pol.topup(p.method).on(p.amount_usd));
            let status = match (expected, p.fee_usd) {
                (None, _) => FeeStatus::NoPolicy,
                (Some(_), None) => FeeStatus::Unchecked,
                (Some(e), Some(f)) if (f - e).abs() > tolerance => FeeStatus::FeeMismatch,
                _ => FeeStatus::Ok,
            };
            PurchaseCheck {
                purchase: p.clone(),
                expected_fee_usd: expected,
                status,
            }
        })
        .collect()
}

/// A BYOK subscription charged for a month.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubscriptionMonth {
    pub month: Month,
    pub provider: String,
    /// Days of the month the subscription policy is in force.
    pub days: u32,
    pub usd: Money,
}

/// The subscription of every provider in `providers` for every month in `months`: the monthly
/// price prorated by the days its policy is in force. `price` fills policies whose price is left
/// to the command line; without it such a policy is an error.
pub(crate) fn subscriptions(
    book: &FeeBook,
    providers: &BTreeSet<String>,
    months: &BTreeSet<Month>,
    price: Option<Money>,
) -> Result<Vec<SubscriptionMonth>, String> {
    let mut out = Vec::new();
    for &month in months {
        for provider in providers {
            // Price per day in force, summed: a price change within the month prorates both.
            let mut days = 0;
            let mut usd = Money::ZERO;
            for d in month.first_day().0..=month.last_day().0 {
                let day = crate::domain::Day(d);
                let Some(sub) = book.on(provider, day).and_then(|p| p.byok.subscription) else {
                    continue;
                };
                let monthly = match sub {
                    SubscriptionPrice::Usd(m) => m,
                    SubscriptionPrice::FromCommandLine => price.ok_or_else(|| {
                        format!(
                            "the BYOK subscription of {provider} on {day} has no public price: give it with --byok-subscription USD"
                        )
                    })?,
                };
                days += 1;
                usd += monthly / Money::from(month.days());
            }
            if days > 0 {
                // Σ price / days-in-month over the days in force; a whole month rounds back to
                // the price itself.
                let usd = usd.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                out.push(SubscriptionMonth {
                    month,
                    provider: provider.clone(),
                    days,
                    usd,
                });
            }
        }
    }
    Ok(out)
}

/// One row of `fees.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeeRow {
    pub month: Month,
    pub provider: String,
    pub kind: FeeKind,
    /// What the fee is charged on: the purchases' amount, the BYOK list cost past the allowance;
    /// empty for a subscription.
    pub basis_usd: Option<Money>,
    /// What was charged, where the input says: the ledger's `fee_usd`, or for BYOK the `cost`
    /// the gateway reported on every BYOK call.
    pub fee_usd: Option<Money>,
    pub expected_fee_usd: Option<Money>,
    pub status: FeeStatus,
    pub note: String,
}

/// `fees.csv`: purchases summed per month × provider × kind, BYOK fees and subscriptions;
/// sorted by month, provider, kind.
pub(crate) fn fee_rows(
    checks: &[PurchaseCheck],
    byok: &[ByokMonth],
    subs: &[SubscriptionMonth],
    tolerance: Money,
) -> Vec<FeeRow> {
    let mut rows: BTreeMap<(Month, String, FeeKind), FeeRow> = BTreeMap::new();
    let mut purchases: BTreeMap<(Month, String, FeeKind), Vec<&PurchaseCheck>> = BTreeMap::new();
    for c in checks {
        let p = &c.purchase;
        purchases
            .entry((
                Month::of(p.day),
                p.provider.clone(),
                FeeKind::topup(p.method),
            ))
            .or_default()
            .push(c);
    }
    for ((month, provider, kind), list) in purchases {
        let given: Vec<Money> = list.iter().filter_map(|c| c.purchase.fee_usd).collect();
        let expected: Option<Money> = list.iter().map(|c| c.expected_fee_usd).sum();
        let status = list.iter().map(|c| c.status).min().unwrap_or(FeeStatus::Ok);
        let mut note = vec![format!(
            "{} purchase{}",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        )];
        let differ: Vec<String> = list
            .iter()
            .filter(|c| c.status == FeeStatus::FeeMismatch)
            .map(|c| {
                format!(
                    "{} charged {}, policy says {}",
                    c.purchase.day,
                    crate::domain::money(c.purchase.fee_usd.unwrap_or_default()),
                    crate::domain::money(c.expected_fee_usd.unwrap_or_default())
                )
            })
            .collect();
        if !differ.is_empty() {
            note.push(format!("fee differs on {}", differ.join("; ")));
        }
        let no_policy = list
            .iter()
            .filter(|c| c.status == FeeStatus::NoPolicy)
            .count();
        if no_policy > 0 {
            note.push(format!(
                "{no_policy} without a fee policy for the day in fees.toml"
            ));
        }
        let unchecked = list.len() - given.len();
        if unchecked > 0 && !given.is_empty() {
            note.push(format!(
                "{unchecked} without fee_usd (fee_usd sums the others)"
            ));
        }
        rows.insert(
            (month, provider.clone(), kind),
            FeeRow {
                month,
                provider,
                kind,
                basis_usd: Some(list.iter().map(|c| c.purchase.amount_usd).sum()),
                fee_usd: (!given.is_empty()).then(|| given.iter().sum()),
                expected_fee_usd: expected,
                status,
                note: note.join("; "),
            },
        );
    }
    for b in byok {
        // The fee reported on the calls counts as charged only when every call reports one.
        let charged = (b.calls > 0 && b.reported_calls == b.calls).then_some(b.reported_fee_usd);
        let status = if b.no_policy_calls > 0 {
            FeeStatus::NoPolicy
        } else if b.unpriced_charged > 0 {
            FeeStatus::Unpriced
        } else {
            match charged {
                None => FeeStatus::Unchecked,
                Some(c) if (c - b.fee_usd).abs() > tolerance => FeeStatus::FeeMismatch,
                Some(_) => FeeStatus::Ok,
            }
        };
        let mut note = vec![format!(
            "{} BYOK call{}, list USD {}; {} charged",
            b.calls,
            if b.calls == 1 { "" } else { "s" },
            crate::domain::money(b.list_usd),
            b.charged_calls
        )];
        if b.unpriced_charged > 0 {
            note.push(format!("{} charged calls have no rate", b.unpriced_charged));
        }
        if b.no_policy_calls > 0 {
            note.push(format!(
                "{} calls on days without a fee policy",
                b.no_policy_calls
            ));
        }
        if b.reported_calls > 0 && b.reported_calls < b.calls {
            note.push(format!(
                "only {} of {} calls report the gateway's cost, so the charged fee is not known",
                b.reported_calls, b.calls
            ));
        }
        if status == FeeStatus::FeeMismatch {
            note.push(format!(
                "the calls report USD {} charged",
                crate::domain::money(b.reported_fee_usd)
            ));
        }
        rows.insert(
            (b.month, b.provider.clone(), FeeKind::Byok),
            FeeRow {
                month: b.month,
                provider: b.provider.clone(),
                kind: FeeKind::Byok,
                basis_usd: Some(b.basis_usd),
                fee_usd: charged,
                expected_fee_usd: Some(b.fee_usd),
                status,
                note: note.join("; "),
            },
        );
    }
    for s in subs {
        rows.insert(
            (s.month, s.provider.clone(), FeeKind::Subscription),
            FeeRow {
                month: s.month,
                provider: s.provider.clone(),
                kind: FeeKind::Subscription,
                basis_usd: None,
                fee_usd: None,
                expected_fee_usd: Some(s.usd),
                status: FeeStatus::Unchecked,
                note: format!(
                    "BYOK subscription in force {} of {} days",
                    s.days,
                    s.month.days()
                ),
            },
        );
    }
    rows.into_values().collect()
}

/// Expected fees per provider, for the effective totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FeeTotals {
    pub topup_usd: Money,
    pub byok_usd: Money,
    pub subscription_usd: Money,
}

impl FeeTotals {
    pub(crate) fn total(&self) -> Money {
        self.topup_usd + self.byok_usd + self.subscription_usd
    }
}

pub(crate) fn totals(rows: &[FeeRow]) -> BTreeMap<String, FeeTotals> {
    let mut out: BTreeMap<String, FeeTotals> = BTreeMap::new();
    for r in rows {
        let t = out.entry(r.provider.clone()).or_default();
        let e = r.expected_fee_usd.unwrap_or_default();
        match r.kind {
            k if k.is_topup() => t.topup_usd += e,
            FeeKind::Byok => t.byok_usd += e,
            _ => t.subscription_usd += e,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Day;
    use rust_decimal_macros::dec;
    use std::path::Path;

    fn april() -> Month {
        Month::parse("2026-04").unwrap()
    }

    fn byok_month(calls: u64, reported_calls: u64, reported: Money, fee: Money) -> ByokMonth {
        ByokMonth {
            month: april(),
            provider: "p".into(),
            calls,
            reported_calls,
            reported_fee_usd: reported,
            fee_usd: fee,
            ..Default::default()
        }
    }

    #[test]
    fn byok_fee_is_checked_against_the_cost_every_call_reports() {
        let rows = fee_rows(
            &[],
            &[byok_month(3, 3, dec!(0.30), dec!(0.10))],
            &[],
            dec!(0.01),
        );
        assert_eq!(rows[0].status, FeeStatus::FeeMismatch);
        assert_eq!(rows[0].fee_usd, Some(dec!(0.30)));
        assert!(
            rows[0].note.contains("the calls report USD 0.30 charged"),
            "{}",
            rows[0].note
        );
        // Within the tolerance: ok.
        let rows = fee_rows(
            &[],
            &[byok_month(3, 3, dec!(0.105), dec!(0.10))],
            &[],
            dec!(0.01),
        );
        assert_eq!(rows[0].status, FeeStatus::Ok);
        // Two of three calls report a cost: nothing to compare with.
        let rows = fee_rows(
            &[],
            &[byok_month(3, 2, dec!(0.30), dec!(0.10))],
            &[],
            dec!(0.01),
        );
        assert_eq!(
            (rows[0].status, rows[0].fee_usd),
            (FeeStatus::Unchecked, None)
        );
        assert!(
            rows[0].note.contains("only 2 of 3 calls"),
            "{}",
            rows[0].note
        );
    }

    #[test]
    fn subscription_is_prorated_by_the_days_in_force() {
        let book = FeeBook::parse(
            Path::new("fees.toml"),
            "[[policy]]\nprovider = \"p\"\neffective_from = \"2026-01-01\"\neffective_to = \"2026-04-20\"\n\
             [[policy]]\nprovider = \"p\"\neffective_from = \"2026-04-21\"\n\
             byok = { subscription_usd_per_month = \"parameter\" }\n",
        )
        .unwrap();
        let providers = BTreeSet::from(["p".to_string(), "q".to_string()]);
        let months = BTreeSet::from([april(), april().next()]);
        assert!(subscriptions(&book, &providers, &months, None).is_err());
        let subs = subscriptions(&book, &providers, &months, Some(dec!(100))).unwrap();
        // April: 21..30 = 10 of 30 days → 33.33; May: whole month → 100.00. q has no policy.
        let got: Vec<_> = subs
            .iter()
            .map(|s| (s.month.to_string(), s.days, s.usd))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-04".into(), 10, dec!(33.33)),
                ("2026-05".into(), 31, dec!(100.00))
            ]
        );
    }

    #[test]
    fn purchases_are_checked_by_the_policy_of_their_day() {
        let book = FeeBook::builtin();
        let purchase = |provider: &str, amount, fee| Purchase {
            file: "t.csv".into(),
            line: 2,
            day: Day::parse("2026-04-10").unwrap(),
            provider: provider.into(),
            amount_usd: amount,
            method: TopupMethod::Card,
            fee_usd: fee,
        };
        let checks = check_purchases(
            &book,
            &[
                purchase("openrouter", dec!(1000), Some(dec!(55.01))),
                purchase("openrouter", dec!(1000), Some(dec!(55.02))),
                purchase("ominigate", dec!(1000), None),
                purchase("nobody", dec!(1000), None),
            ],
            dec!(0.01),
        );
        let got: Vec<_> = checks
            .iter()
            .map(|c| (c.expected_fee_usd, c.status))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(dec!(55.00)), FeeStatus::Ok),
                (Some(dec!(55.00)), FeeStatus::FeeMismatch),
                (Some(dec!(0.00)), FeeStatus::Unchecked),
                (None, FeeStatus::NoPolicy),
            ]
        );
        assert_eq!(checks[1].delta_usd(), Some(dec!(0.02)));
    }
}

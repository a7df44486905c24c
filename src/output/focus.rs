//! `--focus FILE`: the priced usage and the fees as a FinOps FOCUS 1.2 cost and usage dataset
//! (CSV), for the tools a FinOps team already feeds from its cloud bills.
//!
//! Columns: the 21 that FOCUS 1.2 makes mandatory (checked against the specification's own
//! `specification/columns/*.md` at tag v1.2), then `ChargeFrequency`, `ConsumedQuantity`,
//! `ConsumedUnit` and `SkuId`, then `x_` extension columns for what FOCUS has no column for
//! (token kinds, calls, unpriced calls, the fee kind).
//!
//! Rows:
//! - *Usage*: one per day × gateway × model. `BilledCost` is what the gateway billed: the
//!   invoice's amount when invoices are given for that gateway (0 for a logged day the invoice
//!   lacks), else the list cost of the calls the gateway bills (BYOK usage is paid upstream, not
//!   to the gateway: it is not billed). `ListCost` and `ContractedCost` are that list cost (no
//!   negotiated prices are known). Tokens (prompt + completion) are the pricing and consumed
//!   quantity; the model is the SKU.
//! - *Purchase*: each fee of `fees.csv` (top-up surcharges, BYOK fees, subscriptions), billed as
//!   charged (or as expected where the input does not say what was charged). FOCUS amortises a
//!   prepaid purchase onto the usage it covers: the fees of a gateway × month are spread onto that
//!   gateway's usage rows of the month in proportion to their tokens, into `EffectiveCost`, and
//!   the purchase row's `EffectiveCost` is 0. So `EffectiveCost` differs from `BilledCost` row by
//!   row while both sum to the same total. A month with fees and no usage keeps them on the
//!   purchase row.
//!
//! Periods are ISO 8601 instants in UTC with an exclusive end: a day in `--tz` starts at its
//! local midnight. Billing periods are calendar months.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone};
use rust_decimal::RoundingStrategy;

use super::Table;
use crate::aggregate::DailyRow;
use crate::domain::{money, Day, Money, Month};
use crate::fees::{FeeKind, FeeRow};
use crate::sources::invoices::InvoiceLine;

/// The 21 mandatory columns of FOCUS 1.2, in the specification's alphabetical order.
pub(crate) const MANDATORY: [&str; 21] = [
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

/// Recommended and conditional columns written, then the extensions.
const MORE: [&str; 10] = [
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuId",
    "x_PromptTokens",
    "x_CompletionTokens",
    "x_CachedTokens",
    "x_CacheWriteTokens",
    "x_Calls",
    "x_FeeKind",
];

/// Decimal places an amortised share keeps; the rounding remainder goes to the largest row so
/// the shares add up to the fee exactly.
const SHARE_DP: u32 = 10;

/// What the dataset is made of.
pub(crate) struct FocusInput<'a> {
    pub daily: &'a [DailyRow],
    /// The invoices' daily lines, when the command read invoices (`reconcile`).
    pub invoices: Option<&'a [InvoiceLine]>,
    pub fees: &'a [FeeRow],
    pub tz: Option<chrono_tz::Tz>,
}

struct Usage<'a> {
    day: Day,
    provider: &'a str,
    model: &'a str,
    log: Option<&'a DailyRow>,
    billed: Money,
    list: Money,
    tokens: u128,
    effective: Money,
}

pub(crate) fn focus_table(input: &FocusInput) -> Table {
    let invoiced: BTreeSet<&str> = input
        .invoices
        .unwrap_or_default()
        .iter()
        .map(|l| l.provider.as_str())
        .collect();
    // Usage rows keyed by day × gateway × model: the logs', and the invoice lines'.
    let mut usage: BTreeMap<(Day, &str, &str), Usage> = BTreeMap::new();
    for r in input.daily.iter().filter(|r| r.requests > 0) {
        let list = r.gateway_usd().unwrap_or_default();
        let billed = if invoiced.contains(r.provider.as_str()) {
            Money::ZERO
        } else {
            list
        };
        usage.insert(
            (r.day, &r.provider, &r.model),
            Usage {
                day: r.day,
                provider: &r.provider,
                model: &r.model,
                log: Some(r),
                billed,
                list,
                tokens: r.total_tokens(),
                effective: billed,
            },
        );
    }
    for l in input.invoices.unwrap_or_default() {
        let u = usage
            .entry((l.day, &l.provider, &l.model))
            .or_insert(Usage {
                day: l.day,
                provider: &l.provider,
                model: &l.model,
                log: None,
                billed: Money::ZERO,
                list: Money::ZERO,
                tokens: l.prompt_tokens + l.completion_tokens,
                effective: Money::ZERO,
            });
        u.billed += l.amount_usd;
        u.effective = u.billed;
    }

    // Fees spread onto the gateway's usage of their month, by tokens.
    let mut fee_effective = vec![Money::ZERO; input.fees.len()];
    for (i, f) in input.fees.iter().enumerate() {
        let amount = fee_billed(f);
        let rows: Vec<&mut Usage> = usage
            .values_mut()
            .filter(|u| u.provider == f.provider && Month::of(u.day) == f.month)
            .collect();
        let total: u128 = rows.iter().map(|u| u.tokens).sum();
        if total == 0 || amount.is_zero() {
            fee_effective[i] = amount;
            continue;
        }
        let total = Money::from_i128_with_scale(total.min(i64::MAX as u128) as i128, 0);
        let mut given = Money::ZERO;
        let mut largest: Option<(u128, usize)> = None;
        let mut rows = rows;
        for (k, u) in rows.iter_mut().enumerate() {
            let q = Money::from_i128_with_scale(u.tokens.min(i64::MAX as u128) as i128, 0);
            let share = (amount * q / total)
                .round_dp_with_strategy(SHARE_DP, RoundingStrategy::MidpointNearestEven);
            u.effective += share;
            given += share;
            if largest.is_none_or(|(t, _)| u.tokens > t) {
                largest = Some((u.tokens, k));
            }
        }
        if let Some((_, k)) = largest {
            rows[k].effective += amount - given;
        }
    }

    let mut header: Vec<&'static str> = MANDATORY.to_vec();
    header.extend(MORE);
    let mut rows = Vec::new();
    for u in usage.values() {
        let month = Month::of(u.day);
        let calls = u.log.map_or(0, |l| l.requests);
        let unpriced = u.log.is_some_and(|l| l.cost_usd.is_none());
        let description = format!(
            "{} via {}: {} tokens in {} logged calls{}",
            u.model,
            u.provider,
            u.tokens,
            calls,
            if unpriced {
                " (some calls have no rate: list cost incomplete)"
            } else {
                ""
            }
        );
        let cells: [(&str, String); 31] = [
            ("BilledCost", money(u.billed)),
            ("BillingAccountId", u.provider.to_string()),
            ("BillingAccountName", u.provider.to_string()),
            ("BillingCurrency", "USD".into()),
            (
                "BillingPeriodEnd",
                instant(month.next().first_day(), input.tz),
            ),
            ("BillingPeriodStart", instant(month.first_day(), input.tz)),
            ("ChargeCategory", "Usage".into()),
            ("ChargeClass", String::new()),
            ("ChargeDescription", description),
            ("ChargePeriodEnd", instant(Day(u.day.0 + 1), input.tz)),
            ("ChargePeriodStart", instant(u.day, input.tz)),
            ("ContractedCost", money(u.list)),
            ("EffectiveCost", money(u.effective)),
            ("InvoiceIssuerName", u.provider.to_string()),
            ("ListCost", money(u.list)),
            ("PricingQuantity", u.tokens.to_string()),
            ("PricingUnit", "Tokens".into()),
            ("ProviderName", u.provider.to_string()),
            ("PublisherName", publisher(u.model).to_string()),
            ("ServiceCategory", "AI and Machine Learning".into()),
            ("ServiceName", format!("{} LLM API", u.provider)),
            ("ChargeFrequency", "Usage-Based".into()),
            ("ConsumedQuantity", u.tokens.to_string()),
            ("ConsumedUnit", "Tokens".into()),
            ("SkuId", u.model.to_string()),
            ("x_PromptTokens", opt(u.log.map(|l| l.prompt_tokens))),
            (
                "x_CompletionTokens",
                opt(u.log.map(|l| l.completion_tokens)),
            ),
            ("x_CachedTokens", opt(u.log.map(|l| l.cached_tokens))),
            (
                "x_CacheWriteTokens",
                opt(u.log.map(|l| l.cache_write_tokens)),
            ),
            ("x_Calls", calls.to_string()),
            ("x_FeeKind", String::new()),
        ];
        debug_assert!(cells.iter().map(|c| c.0).eq(header.iter().copied()));
        rows.push(cells.into_iter().map(|c| c.1).collect());
    }
    for (f, effective) in input.fees.iter().zip(fee_effective) {
        let frequency = match f.kind {
            FeeKind::Subscription => "Recurring",
            FeeKind::Byok => "Usage-Based",
            _ => "One-Time",
        };
        let cells: [(&str, String); 31] = [
            ("BilledCost", money(fee_billed(f))),
            ("BillingAccountId", f.provider.clone()),
            ("BillingAccountName", f.provider.clone()),
            ("BillingCurrency", "USD".into()),
            (
                "BillingPeriodEnd",
                instant(f.month.next().first_day(), input.tz),
            ),
            ("BillingPeriodStart", instant(f.month.first_day(), input.tz)),
            ("ChargeCategory", "Purchase".into()),
            ("ChargeClass", String::new()),
            (
                "ChargeDescription",
                format!("{} fee: {}", f.kind.as_str(), f.note),
            ),
            (
                "ChargePeriodEnd",
                instant(f.month.next().first_day(), input.tz),
            ),
            ("ChargePeriodStart", instant(f.month.first_day(), input.tz)),
            (
                "ContractedCost",
                money(f.expected_fee_usd.unwrap_or(fee_billed(f))),
            ),
            ("EffectiveCost", money(effective)),
            ("InvoiceIssuerName", f.provider.clone()),
            (
                "ListCost",
                money(f.expected_fee_usd.unwrap_or(fee_billed(f))),
            ),
            ("PricingQuantity", "1".into()),
            ("PricingUnit", "Fee".into()),
            ("ProviderName", f.provider.clone()),
            ("PublisherName", f.provider.clone()),
            ("ServiceCategory", "AI and Machine Learning".into()),
            ("ServiceName", format!("{} LLM API", f.provider)),
            ("ChargeFrequency", frequency.into()),
            ("ConsumedQuantity", String::new()),
            ("ConsumedUnit", String::new()),
            ("SkuId", String::new()),
            ("x_PromptTokens", String::new()),
            ("x_CompletionTokens", String::new()),
            ("x_CachedTokens", String::new()),
            ("x_CacheWriteTokens", String::new()),
            ("x_Calls", String::new()),
            ("x_FeeKind", f.kind.as_str().into()),
        ];
        debug_assert!(cells.iter().map(|c| c.0).eq(header.iter().copied()));
        rows.push(cells.into_iter().map(|c| c.1).collect());
    }
    Table { header, rows }
}

/// What a fee row bills: the charge the input reports, else the fee the policy expects.
fn fee_billed(f: &FeeRow) -> Money {
    f.fee_usd.or(f.expected_fee_usd).unwrap_or_default()
}

/// The model's author (`openai/gpt-5.4` → `openai`), as FOCUS's publisher of the service.
fn publisher(model: &str) -> &str {
    model.split_once('/').map_or(model, |(a, _)| a)
}

fn opt(v: Option<u128>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// The start of `day` in `tz` (UTC by default), as an ISO 8601 UTC instant.
fn instant(day: Day, tz: Option<chrono_tz::Tz>) -> String {
    let date: NaiveDate = day.date();
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let utc = match tz {
        None => midnight.and_utc(),
        Some(tz) => tz
            .from_local_datetime(&midnight)
            .earliest()
            .unwrap_or_else(|| tz.from_utc_datetime(&midnight))
            .with_timezone(&chrono::Utc),
    };
    utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_starts_at_its_midnight_in_utc() {
        let d = Day::parse("2026-04-01").unwrap();
        assert_eq!(instant(d, None), "2026-04-01T00:00:00Z");
        assert_eq!(
            instant(d, Some(chrono_tz::Europe::Berlin)),
            "2026-03-31T22:00:00Z"
        );
    }
}

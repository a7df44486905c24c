//! Reconciliation: logged usage (priced at the rate table) against what the gateways billed, one
//! row per day × provider × model with exactly one status (docs/formats.md §6) and a note in plain words.

pub(crate) mod findings;
mod run;

pub(crate) use run::{compute, Inputs, Reconciliation};

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::RoundingStrategy;

use crate::aggregate::{Daily, DailyRow};
use crate::domain::{Day, Money, Period, Status, Tolerance};
use crate::pricing::slugs::SlugMap;
use crate::sources::invoices::InvoiceLine;

/// One row of `recon.csv`. A side that has no line leaves its columns empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReconRow {
    pub day: Day,
    pub provider: String,
    pub model: String,
    pub log_requests: Option<u64>,
    pub log_prompt_tokens: Option<u128>,
    pub log_completion_tokens: Option<u128>,
    pub invoice_prompt_tokens: Option<u128>,
    pub invoice_completion_tokens: Option<u128>,
    /// (invoice prompt + completion) − (logged prompt + completion).
    pub delta_tokens: Option<i128>,
    /// `delta_tokens` as a percentage of the logged tokens, rounded half-up to 2 decimals.
    pub delta_pct: Option<Money>,
    pub expected_usd: Option<Money>,
    pub invoiced_usd: Option<Money>,
    pub delta_usd: Option<Money>,
    pub status: Status,
    pub note: String,
}

fn signed(n: i128) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// Amounts in notes: to the micro-dollar, so a sub-cent list price does not read as zero.
fn usd(m: Money) -> String {
    crate::domain::money(m.round_dp(6))
}

/// Matches the daily log rows to the invoice lines of every provider that has an invoice line;
/// providers without any are left out (nothing was given to reconcile them against).
pub(crate) fn reconcile(
    daily: &Daily,
    invoices: &[InvoiceLine],
    slugs: &SlugMap,
    tol: &Tolerance,
    period: Period,
) -> Vec<ReconRow> {
    let invoiced: BTreeSet<&str> = invoices.iter().map(|l| l.provider.as_str()).collect();
    type Pair<'a> = (Option<&'a DailyRow>, Option<&'a InvoiceLine>);
    let mut keys: BTreeMap<(Day, &str, &str), Pair> = BTreeMap::new();
    for r in daily
        .rows
        .iter()
        .filter(|r| r.requests > 0 && invoiced.contains(r.provider.as_str()))
    {
        keys.entry((r.day, &r.provider, &r.model)).or_default().0 = Some(r);
    }
    for l in invoices.iter().filter(|l| period.contains(l.day)) {
        keys.entry((l.day, &l.provider, &l.model)).or_default().1 = Some(l);
    }
    keys.into_iter()
        .map(|((day, provider, model), (log, inv))| row(day, provider, model, log, inv, slugs, tol))
        .collect()
}

fn row(
    day: Day,
    provider: &str,
    model: &str,
    log: Option<&DailyRow>,
    inv: Option<&InvoiceLine>,
    slugs: &SlugMap,
    tol: &Tolerance,
) -> ReconRow {
    let mut issues: Vec<(Status, String)> = Vec::new();
    let mut drift: Vec<String> = Vec::new();
    match (log, inv) {
        (Some(_), None) => issues.push((Status::MissingInInvoice, "no invoice line for this day".into())),
        (None, Some(i)) => issues.push((
            Status::MissingInLogs,
            format!(
                "invoice bills {} prompt and {} completion tokens (USD {}) that the logs never called",
                i.prompt_tokens,
                i.completion_tokens,
                usd(i.amount_usd)
            ),
        )),
        // A cost export bills amounts only: there are no tokens to compare.
        (Some(_), Some(i)) if !i.tokens_known => {}
        (Some(l), Some(i)) => {
            for (what, logged, billed) in [
                ("prompt", l.prompt_tokens, i.prompt_tokens),
                ("completion", l.completion_tokens, i.completion_tokens),
            ] {
                let delta = billed as i128 - logged as i128;
                let allowed = tol.tokens_for(logged);
                if Money::from_i128_with_scale(delta.abs(), 0) > allowed {
                    let note = if logged > 0 {
                        let ratio = Money::from_i128_with_scale(billed as i128, 0)
                            / Money::from_i128_with_scale(logged as i128, 0);
                        format!(
                            "invoice bills {:.2}x the logged {what} tokens ({billed} vs {logged}, delta {})",
                            ratio.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
                            signed(delta)
                        )
                    } else {
                        format!("invoice bills {billed} {what} tokens, none logged")
                    };
                    issues.push((Status::TokenMismatch, note));
                } else if delta != 0 {
                    drift.push(format!("{what} delta {}", signed(delta)));
                }
            }
        }
        (None, None) => {}
    }
    // BYOK usage is paid upstream with the customer's own key: the gateway does not bill it.
    let expected = log.and_then(|l| l.gateway_usd());
    if let Some(l) = log {
        if l.cost_usd.is_none() {
            issues.push((
                Status::Unpriced,
                format!(
                    "no rate for {model} on {provider}: {} billable call(s) cannot be priced",
                    l.unpriced_requests
                ),
            ));
        }
    }
    // A usage export bills tokens only: there is no amount to compare.
    let invoiced = inv.filter(|i| i.amount_known).map(|i| i.amount_usd);
    let delta_usd = match (expected, invoiced) {
        (Some(e), Some(i)) => Some(i - e),
        _ => None,
    };
    if let (Some(d), Some(e), Some(i)) = (delta_usd, expected, invoiced) {
        if d.abs() > tol.usd {
            issues.push((
                Status::CostMismatch,
                format!(
                    "invoice USD {} vs USD {} at list prices ({}{})",
                    usd(i),
                    usd(e),
                    if d.is_sign_positive() { "+" } else { "-" },
                    usd(d.abs())
                ),
            ));
        }
    }
    if let Some(r) = slugs
        .retirement(provider, model)
        .filter(|r| r.retired_on <= day)
    {
        issues.push((
            Status::RetiredModel,
            format!(
                "model retired on {}, replacement {}",
                r.retired_on, r.replacement
            ),
        ));
    }
    if issues.is_empty() && !drift.is_empty() {
        issues.push((
            Status::Drift,
            format!("token drift within tolerance: {}", drift.join(", ")),
        ));
    }
    issues.sort_by_key(|(s, _)| *s);
    let status = issues.first().map_or(Status::Ok, |(s, _)| *s);
    let note = issues
        .into_iter()
        .map(|(_, n)| n)
        .collect::<Vec<_>>()
        .join("; ");

    let log_total = log.map(|l| l.prompt_tokens + l.completion_tokens);
    let inv = |f: fn(&InvoiceLine) -> u128| inv.filter(|i| i.tokens_known).map(f);
    let inv_total = inv(|i| i.prompt_tokens + i.completion_tokens);
    let delta_tokens = match (log_total, inv_total) {
        (Some(a), Some(b)) => Some(b as i128 - a as i128),
        _ => None,
    };
    let delta_pct = match (delta_tokens, log_total) {
        (Some(d), Some(t)) if t > 0 => Some(
            (Money::from_i128_with_scale(d, 0) * Money::ONE_HUNDRED
                / Money::from_i128_with_scale(t as i128, 0))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        ),
        _ => None,
    };
    ReconRow {
        day,
        provider: provider.to_string(),
        model: model.to_string(),
        log_requests: log.map(|l| l.requests),
        log_prompt_tokens: log.map(|l| l.prompt_tokens),
        log_completion_tokens: log.map(|l| l.completion_tokens),
        invoice_prompt_tokens: inv(|i| i.prompt_tokens),
        invoice_completion_tokens: inv(|i| i.completion_tokens),
        delta_tokens,
        delta_pct,
        expected_usd: expected,
        invoiced_usd: invoiced,
        delta_usd,
        status,
        note,
    }
}

/// Per provider: logged (list-price) cost, invoiced cost, their difference, rows by status.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProviderSummary {
    pub provider: String,
    pub logged_usd: Money,
    pub invoiced_usd: Money,
    pub rows: BTreeMap<&'static str, u64>,
}

pub(crate) fn summarize(rows: &[ReconRow]) -> Vec<ProviderSummary> {
    let mut by: BTreeMap<&str, ProviderSummary> = BTreeMap::new();
    for r in rows {
        let s = by.entry(&r.provider).or_insert_with(|| ProviderSummary {
            provider: r.provider.clone(),
            ..Default::default()
        });
        s.logged_usd += r.expected_usd.unwrap_or_default();
        s.invoiced_usd += r.invoiced_usd.unwrap_or_default();
        *s.rows.entry(r.status.as_str()).or_default() += 1;
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn tolerance_is_the_larger_of_tokens_and_percent() {
        let t = Tolerance {
            tokens: 10,
            pct: dec!(0.1),
            usd: dec!(0.01),
        };
        assert_eq!(t.tokens_for(1_000), dec!(10));
        assert_eq!(t.tokens_for(50_000), dec!(50));
    }

    #[test]
    fn status_order_is_the_contracts() {
        let mut v = vec![
            Status::RetiredModel,
            Status::CostMismatch,
            Status::Unpriced,
            Status::TokenMismatch,
        ];
        v.sort();
        assert_eq!(
            v,
            [
                Status::TokenMismatch,
                Status::Unpriced,
                Status::CostMismatch,
                Status::RetiredModel
            ]
        );
        assert!(Status::MissingInInvoice < Status::MissingInLogs && Status::Drift < Status::Ok);
    }
}

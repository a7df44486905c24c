//! The fee part of a run, as `fees`, `reconcile` and `report` share it: BYOK fees from the logs
//! (the minutes where an allowance runs out taken call by call), top-up checks and subscriptions
//! for the months of the run; then each gateway's effective cost, usage plus fees.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::byok::{ByokMonth, ByokTally};
use super::policy::FeeBook;
use super::{FeeRow, FeeTotals, PurchaseCheck};
use crate::aggregate::Daily;
use crate::domain::{money, Money, Month, Period, Purchase};
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::InputError;

/// What the BYOK tally reads of a record (the flag, and the fee the gateway reported), beside
/// daily aggregation's fields.
pub(crate) const FIELDS: FieldSet = crate::aggregate::FIELDS.with(&[FieldId::Byok, FieldId::Cost]);

/// `--byok-subscription` applied to the policies: fills dated subscription policies whose price
/// is "parameter"; without one, replaces every BYOK percentage for the whole run. The notes say
/// what it changed.
pub(crate) fn apply_subscription(
    book: &mut FeeBook,
    price: Option<Money>,
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    if let Some(price) = price {
        if price.is_sign_negative() {
            return Err(format!("--byok-subscription {price} is negative"));
        }
        if !book.needs_subscription_price() {
            for p in book.replace_byok_pct_by_subscription() {
                notes.push(format!(
                    "--byok-subscription: {p}'s BYOK percentage is replaced by USD {} a month for the whole run (fees.toml has no dated subscription policy)",
                    money(price)
                ));
            }
        }
    }
    Ok(notes)
}

/// The fee part's result.
pub(crate) struct FeeReport {
    pub rows: Vec<FeeRow>,
    pub checks: Vec<PurchaseCheck>,
}

impl FeeReport {
    pub(crate) fn flagged(&self) -> bool {
        self.rows.iter().any(|r| r.status.flagged())
    }

    pub(crate) fn totals(&self) -> BTreeMap<String, FeeTotals> {
        super::totals(&self.rows)
    }
}

/// What the fee model reads once the logs are read.
pub(crate) struct FeeInputs<'a> {
    pub book: &'a FeeBook,
    pub tz: Option<chrono_tz::Tz>,
    pub period: Period,
    pub daily: Option<&'a Daily>,
    pub tally: Option<&'a ByokTally<'a>>,
    /// BYOK fees already settled from usage groups (`--usage`), in place of `tally`.
    pub byok_months: Option<&'a [ByokMonth]>,
    pub purchases: &'a [Purchase],
    /// `--byok-subscription`.
    pub subscription_price: Option<Money>,
    /// Money drift allowed between a charged and an expected fee.
    pub tolerance: Money,
}

/// BYOK fees, top-up checks and subscriptions for the months of the run.
pub(crate) fn fee_report(i: &FeeInputs<'_>) -> Result<FeeReport, InputError> {
    let period = i.period;
    // The months of the run: of the period, of the logged days and of the purchases.
    let mut months: BTreeSet<Month> = BTreeSet::new();
    if let (Some(f), Some(t)) = (period.from, period.to) {
        let mut m = Month::of(f);
        while m <= Month::of(t) {
            months.insert(m);
            m = m.next();
        }
    }
    let mut providers: BTreeSet<String> = BTreeSet::new();
    for r in i.daily.map(|d| &d.rows[..]).unwrap_or_default() {
        months.insert(Month::of(r.day));
        providers.insert(r.provider.clone());
    }
    for p in i.purchases {
        months.insert(Month::of(p.day));
        providers.insert(p.provider.clone());
    }
    let in_run = |m: Month| match (period.from, period.to) {
        (None, None) => true,
        (f, t) => f.is_none_or(|f| m >= Month::of(f)) && t.is_none_or(|t| m <= Month::of(t)),
    };

    let mut byok = Vec::new();
    if let Some(months) = i.byok_months {
        byok = months.to_vec();
        byok.retain(|b| in_run(b.month));
        providers.extend(months.iter().map(|b| b.provider.clone()));
    }
    if let Some(tally) = i.tally {
        if let Some(e) = tally.error() {
            return Err(InputError::Usage(format!(
                "BYOK fees: sorting the BYOK calls in the temporary directory {}: {e}",
                std::env::temp_dir().display()
            )));
        }
        let (first, missing) = tally.fees(i.book, i.tz, &FxHashMap::default());
        byok = if missing.is_empty() {
            first
        } else {
            // The allowance runs out inside these minutes: take their calls one by one.
            let look = tally.calls_in(&missing).map_err(|e| {
                InputError::Usage(format!(
                    "BYOK fees: reading back the BYOK calls sorted in the temporary directory {}: {e}",
                    std::env::temp_dir().display()
                ))
            })?;
            tally.fees(i.book, i.tz, &look).0
        };
        byok.retain(|b| in_run(b.month));
        providers.extend(tally.providers().map(str::to_string));
    }
    let checks = super::check_purchases(i.book, i.purchases, i.tolerance);
    let subs = super::subscriptions(i.book, &providers, &months, i.subscription_price)
        .map_err(InputError::Usage)?;
    Ok(FeeReport {
        rows: super::fee_rows(&checks, &byok, &subs, i.tolerance),
        checks,
    })
}

/// A provider's usage and fees: what its traffic really cost.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effective {
    pub usage_usd: Money,
    pub tokens: u128,
    pub fees: FeeTotals,
}

impl Effective {
    pub(crate) fn total(&self) -> Money {
        self.usage_usd + self.fees.total()
    }

    /// Fee-inclusive USD per million tokens.
    pub(crate) fn per_mtok(&self) -> Option<Money> {
        let t =
            Money::try_from_i128_with_scale(self.tokens.min(i64::MAX as u128) as i128, 0).ok()?;
        (!t.is_zero()).then(|| self.total() * Money::from(1_000_000) / t)
    }
}

/// Usage (priced rows at list prices) and expected fees per provider.
pub(crate) fn effective(daily: &Daily, report: &FeeReport) -> BTreeMap<String, Effective> {
    let mut out: BTreeMap<String, Effective> = Default::default();
    for r in &daily.rows {
        let e = out.entry(r.provider.clone()).or_default();
        e.usage_usd += r.cost_usd.unwrap_or_default();
        e.tokens += r.total_tokens();
    }
    for (p, t) in report.totals() {
        out.entry(p).or_default().fees = t;
    }
    out
}

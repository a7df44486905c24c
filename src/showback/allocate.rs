//! Sharing a provider's monthly fees among its tenants (docs/formats.md §6 `showback.csv`).
//!
//! Each fee column of a provider's month (top-ups, BYOK fees, subscriptions: the expected fees
//! of `fees.csv`, as `summary.csv` sums them) is shared in proportion to the tenants'
//! `usage_usd`, by largest remainder (Hamilton's method), so the shares sum to the fee exactly:
//! - the unit is the cent, or the fee's own last decimal when it has more (a BYOK fee is exact
//!   per call, e.g. 0.075, and is shared in thousandths);
//! - each tenant first gets the whole units of its exact quota; the units left over go one each
//!   to the largest remainders; a tie goes to the larger usage, then to the tenant first in
//!   byte order, so the same inputs always give the same shares;
//! - a month whose fees have no priced usage to be shared by (only unpriced calls, or no calls)
//!   charges them to the tenant [`UNALLOCATED`], so the columns still sum to the fees.
//!
//! The arithmetic is on integers: the quotas' floors and remainders are exact (a 256-bit
//! product), not rounded decimals.

use std::collections::BTreeMap;

use super::sink::{Grain, TenantDay, TenantPart, TenantUsage, UnpricedCalls};
use super::GroupBy;
use crate::domain::{Money, Month};
use crate::fees::{FeeKind, FeeRow};

/// The tenant that carries fees no usage can share.
pub(crate) const UNALLOCATED: &str = "(unallocated)";

/// One row of `showback.csv`: a tenant's month on one provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ShowbackRow {
    pub month: Month,
    pub tenant: String,
    pub provider: String,
    /// Billable (2xx) calls, unpriced ones included.
    pub calls: u64,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    /// Priced calls at list price, BYOK calls included (the team pays them upstream).
    pub usage_usd: Money,
    pub topup_fee_usd: Money,
    pub byok_fee_usd: Money,
    pub subscription_usd: Money,
    /// Calls without a rate: in `calls`, not in `usage_usd` (never shown as free: named in
    /// `note`).
    pub unpriced_calls: u64,
    pub note: String,
}

impl ShowbackRow {
    /// Usage plus the fee shares: what the tenant's traffic really cost.
    pub(crate) fn effective_usd(&self) -> Money {
        self.usage_usd + self.topup_fee_usd + self.byok_fee_usd + self.subscription_usd
    }
}

/// Fees of a provider's month that had no priced usage to be shared by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unallocated {
    pub month: Month,
    pub provider: String,
    pub usd: Money,
}

/// The showback of a run.
#[derive(Debug, Clone)]
pub(crate) struct Showback {
    pub by: GroupBy,
    /// Sorted by month, tenant, provider.
    pub rows: Vec<ShowbackRow>,
    /// Per day × tenant × provider (the report's chart, the forecast).
    pub days: Vec<TenantDay>,
    pub unpriced: Vec<UnpricedCalls>,
    pub unallocated: Vec<Unallocated>,
    /// More tenants than one worker keeps apart: the rest were summed as `(other)`.
    pub capped: bool,
    /// How finely `days` and `parts` keep the calendar.
    pub grain: Grain,
    /// The tokens per day (or month) × tenant × provider × model and price: the FOCUS rows'
    /// split per tenant.
    pub parts: Vec<TenantPart>,
}

/// The month rows of `usage`, with `fees` (the rows of `fees.csv`) shared among them.
pub(crate) fn allocate(usage: TenantUsage, fees: &[FeeRow]) -> Showback {
    let mut rows: BTreeMap<(Month, String, String), ShowbackRow> = BTreeMap::new();
    for d in &usage.days {
        let month = Month::of(d.day);
        let r = rows
            .entry((month, d.provider.clone(), d.tenant.clone()))
            .or_insert_with(|| ShowbackRow {
                month,
                tenant: d.tenant.clone(),
                provider: d.provider.clone(),
                ..Default::default()
            });
        r.calls += d.calls;
        r.prompt_tokens += d.prompt_tokens;
        r.completion_tokens += d.completion_tokens;
        r.usage_usd += d.usage_usd;
        r.unpriced_calls += d.unpriced_calls;
    }

    // The expected fees per month × provider, by column, as summary.csv adds them up.
    let mut totals: BTreeMap<(Month, String), [Money; 3]> = BTreeMap::new();
    for f in fees {
        let col = match f.kind {
            k if k.is_topup() => 0,
            FeeKind::Byok => 1,
            _ => 2,
        };
        totals.entry((f.month, f.provider.clone())).or_default()[col] +=
            f.expected_fee_usd.unwrap_or_default();
    }

    let mut unallocated = Vec::new();
    for ((month, provider), fee) in totals {
        if fee.iter().all(|f| f.is_zero()) {
            continue;
        }
        // The provider's tenants this month, in tenant order (the ties' last rule).
        let lo = (month, provider.clone(), String::new());
        let mut tenants: Vec<&mut ShowbackRow> = rows
            .range_mut(lo..)
            .take_while(|((m, p, _), _)| *m == month && *p == provider)
            .map(|(_, r)| r)
            .collect();
        let weights: Vec<Money> = tenants.iter().map(|r| r.usage_usd).collect();
        if weights.iter().all(|w| w.is_zero()) {
            unallocated.push(Unallocated {
                month,
                provider: provider.clone(),
                usd: fee.iter().sum(),
            });
            let r = rows
                .entry((month, provider.clone(), UNALLOCATED.to_string()))
                .or_insert_with(|| ShowbackRow {
                    month,
                    tenant: UNALLOCATED.to_string(),
                    provider: provider.clone(),
                    ..Default::default()
                });
            r.topup_fee_usd += fee[0];
            r.byok_fee_usd += fee[1];
            r.subscription_usd += fee[2];
            continue;
        }
        for (col, amount) in fee.iter().enumerate() {
            for (r, s) in tenants.iter_mut().zip(share(*amount, &weights)) {
                match col {
                    0 => r.topup_fee_usd += s,
                    1 => r.byok_fee_usd += s,
                    _ => r.subscription_usd += s,
                }
            }
        }
    }

    let mut out: Vec<ShowbackRow> = rows.into_values().collect();
    for r in &mut out {
        r.note = note(r, &usage.unpriced);
    }
    out.sort_by(|a, b| (a.month, &a.tenant, &a.provider).cmp(&(b.month, &b.tenant, &b.provider)));
    Showback {
        by: usage.by,
        rows: out,
        days: usage.days,
        grain: usage.grain,
        parts: usage.parts,
        unpriced: usage.unpriced,
        unallocated,
        capped: usage.capped,
    }
}

/// The row's note in words: unpriced calls by model, fees without usage.
fn note(r: &ShowbackRow, unpriced: &[UnpricedCalls]) -> String {
    let mut parts = Vec::new();
    if r.tenant == UNALLOCATED {
        parts.push(format!(
            "fees of {} in {} with no priced usage to share them by",
            r.provider, r.month
        ));
    }
    if r.unpriced_calls > 0 {
        let models: Vec<String> = unpriced
            .iter()
            .filter(|u| u.month == r.month && u.tenant == r.tenant && u.provider == r.provider)
            .map(|u| format!("{} ({})", u.model, u.calls))
            .collect();
        parts.push(format!(
            "{} call{} without a rate, not in usage_usd: {}",
            r.unpriced_calls,
            if r.unpriced_calls == 1 { "" } else { "s" },
            models.join(", ")
        ));
    }
    parts.join("; ")
}

/// `amount` shared in proportion to `weights` (≥ 0, not all zero) by largest remainder, in
/// units of the cent or of the amount's last decimal when it has more; the shares sum to
/// `amount` exactly. Ties: the larger weight, then the earlier position.
pub(crate) fn share(amount: Money, weights: &[Money]) -> Vec<Money> {
    if amount.is_zero() || weights.is_empty() {
        return vec![Money::ZERO; weights.len()];
    }
    let a = amount.abs().normalize();
    let (mut units, mut scale) = (a.mantissa() as u128, a.scale());
    if scale < 2 {
        let wide = units * 10u128.pow(2 - scale);
        // Kept at the amount's own scale when the cents would not fit a decimal (no real fee).
        if wide <= MAX_MANTISSA {
            (units, scale) = (wide, 2);
        }
    }
    let ints = integer_weights(weights);
    let total: u128 = ints.iter().sum();
    let mut quota: Vec<(u128, u128)> = ints.iter().map(|&w| mul_div(units, w, total)).collect();
    let left = units - quota.iter().map(|q| q.0).sum::<u128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&i, &j| {
        (quota[j].1, ints[j])
            .cmp(&(quota[i].1, ints[i]))
            .then(i.cmp(&j))
    });
    for &i in order.iter().take(left as usize) {
        quota[i].0 += 1;
    }
    quota
        .into_iter()
        .map(|(q, _)| {
            let m = Money::from_i128_with_scale(q as i128, scale);
            if amount.is_sign_negative() {
                -m
            } else {
                m
            }
        })
        .collect()
}

/// The largest mantissa a decimal holds (2^96 − 1).
const MAX_MANTISSA: u128 = (1 << 96) - 1;

/// The weights as integers of one scale, their proportions kept; their sum fits a `u128`. Only
/// weights too far apart in size to share a scale are rounded, to the finest scale that fits.
fn integer_weights(weights: &[Money]) -> Vec<u128> {
    let norm: Vec<Money> = weights
        .iter()
        .map(|w| (*w).max(Money::ZERO).normalize())
        .collect();
    let mut scale = norm.iter().map(|w| w.scale()).max().unwrap_or(0);
    loop {
        let ints: Option<Vec<u128>> = norm
            .iter()
            .map(|w| {
                let w = w.round_dp(scale);
                let up = scale.checked_sub(w.scale())?;
                (w.mantissa() as u128).checked_mul(10u128.checked_pow(up)?)
            })
            .collect();
        if let Some(ints) = ints.filter(|v| {
            v.iter()
                .try_fold(0u128, |a, &w| a.checked_add(w))
                .is_some_and(|s| s > 0)
        }) {
            return ints;
        }
        if scale == 0 {
            // Weights beyond any common scale: shared equally among the non-zero ones.
            return norm.iter().map(|w| u128::from(!w.is_zero())).collect();
        }
        scale -= 1;
    }
}

/// ⌊a·b / c⌋ and a·b mod c, exact through a 256-bit product; `c` > 0 and b ≤ c, so the quotient
/// fits.
fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let lo = (p00 & LOW) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    if hi == 0 {
        return (lo / c, lo % c);
    }
    let (mut q, mut r) = (0u128, 0u128);
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = r >> 127;
        r = (r << 1) | bit;
        q <<= 1;
        if carry == 1 || r >= c {
            r = r.wrapping_sub(c);
            q |= 1;
        }
    }
    (q, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn eighty_cents_among_three_tenants_go_to_the_largest_remainders() {
        // Usage 1 : 2 : 4 of 7. Quotas 11.43, 22.86, 45.71 cents: floors 78, two cents left,
        // to .86 and .71.
        let s = share(dec!(0.80), &[dec!(1), dec!(2), dec!(4)]);
        assert_eq!(s, vec![dec!(0.11), dec!(0.23), dec!(0.46)]);
    }

    #[test]
    fn a_fee_with_more_decimals_is_shared_in_its_own_last_decimal() {
        // 75 thousandths by 1 : 2 : 4: 10.71, 21.43, 42.86 → 11, 21, 43.
        let s = share(dec!(0.075), &[dec!(1), dec!(2), dec!(4)]);
        assert_eq!(s, vec![dec!(0.011), dec!(0.021), dec!(0.043)]);
    }

    #[test]
    fn ties_go_to_the_larger_usage_then_the_first_tenant() {
        // Three equal quotas of 26.67 cents: the two cents left go to the first two.
        let s = share(dec!(0.80), &[dec!(1), dec!(1), dec!(1)]);
        assert_eq!(s, vec![dec!(0.27), dec!(0.27), dec!(0.26)]);
        // 1 cent by 1 : 3 : 1 ... quotas 0.2, 0.6, 0.2: the larger weight wins the cent.
        assert_eq!(
            share(dec!(0.01), &[dec!(1), dec!(3), dec!(1)]),
            vec![dec!(0), dec!(0.01), dec!(0)]
        );
        // Remainders 0.5 and 0.5 (weights 1 and 3 of 4, 2 cents): the larger weight first.
        assert_eq!(
            share(dec!(0.02), &[dec!(1), dec!(3)]),
            vec![dec!(0.00), dec!(0.02)]
        );
    }

    #[test]
    fn zero_weights_get_nothing_and_whole_amounts_are_shared_in_cents() {
        assert_eq!(
            share(dec!(10), &[dec!(0), dec!(1), dec!(2)]),
            vec![dec!(0), dec!(3.33), dec!(6.67)]
        );
    }

    #[test]
    fn wide_products_divide_exactly() {
        let big = u128::MAX / 3;
        // big·big / big = big, remainder 0; (2^127)·3 / 4 = 3·2^125.
        assert_eq!(mul_div(big, big, big), (big, 0));
        assert_eq!(mul_div(1 << 127, 3, 4), (3 << 125, 0));
        assert_eq!(
            mul_div(u128::MAX, u128::MAX - 1, u128::MAX),
            (u128::MAX - 1, 0)
        );
    }

    proptest! {
        #[test]
        fn mul_div_agrees_with_narrow_arithmetic(a in any::<u64>(), b in any::<u64>(), c in 1u64..) {
            let (b, c) = (b.min(c) as u128, c as u128);
            let p = a as u128 * b;
            prop_assert_eq!(mul_div(a as u128, b, c), (p / c, p % c));
        }

        #[test]
        fn shares_sum_exactly_and_stay_within_a_unit_of_the_quota(
            cents in 0i64..10_000_000,
            extra in 0u32..4,
            ws in prop::collection::vec(0i64..1_000_000_000, 1..8),
            wscale in 0u32..9,
        ) {
            let amount = Money::new(cents, 2 + extra);
            let weights: Vec<Money> = ws.iter().map(|w| Money::new(*w, wscale)).collect();
            prop_assume!(weights.iter().any(|w| !w.is_zero()));
            let s = share(amount, &weights);
            prop_assert_eq!(s.iter().sum::<Money>(), amount);
            let total: Money = weights.iter().sum();
            let unit = Money::new(1, amount.normalize().scale().max(2));
            for (x, w) in s.iter().zip(&weights) {
                prop_assert!(*x >= Money::ZERO);
                let exact = amount * *w / total;
                prop_assert!((*x - exact).abs() < unit, "{} vs {}", x, exact);
                if w.is_zero() {
                    prop_assert!(x.is_zero());
                }
            }
        }
    }
}

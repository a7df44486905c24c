//! How much drift counts as a mismatch: tokens and money (docs/formats.md §6).

use super::money::Money;

/// Drift allowed before a mismatch (docs/formats.md §6).
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub tokens: u64,
    /// Percent of the logged count.
    pub pct: Money,
    pub usd: Money,
}

impl Tolerance {
    /// |Δ| allowed for a logged count: max(tokens, pct % of logged).
    pub fn tokens_for(&self, logged: u128) -> Money {
        let pct = Money::from_i128_with_scale(logged.min(i64::MAX as u128) as i128, 0) * self.pct
            / Money::ONE_HUNDRED;
        pct.max(Money::from(self.tokens))
    }
}

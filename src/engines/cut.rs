//! The cut: what a usage-groups query decides per call (docs/engines.md), written as text and
//! fingerprinted, so usage files cut alike merge and files cut differently are refused.

use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};

use crate::domain::Day;
use crate::fees::policy::{AllowanceUnit, FeeBook};
use crate::pricing::RateTable;

/// The version of the usage-file layout, written in its `format` column.
pub(crate) const FORMAT: &str = "spendrecon-usage/1";

/// A BYOK allowance in requests: the first `requests` BYOK calls of a provider's calendar month
/// are free under the policy in force from `from` to `to` (days in the run's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allowance {
    pub provider: String,
    pub requests: u64,
    pub from: Day,
    pub to: Option<Day>,
}

/// What the query decides per call, from the run's rate table, fee book and zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cut {
    /// The zone of `day` (`UTC` or an IANA name).
    pub tz: String,
    /// The distinct long-context thresholds of the rate table, ascending.
    pub thresholds: Vec<u64>,
    /// Allowances in requests, sorted by provider and start.
    pub allowances: Vec<Allowance>,
}

impl Cut {
    pub(crate) fn new(rates: &RateTable, book: &FeeBook, tz: Option<chrono_tz::Tz>) -> Cut {
        let mut thresholds: Vec<u64> = rates
            .rates()
            .iter()
            .filter_map(|r| r.long_context_threshold)
            .collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        let mut allowances: Vec<Allowance> = book
            .policies()
            .filter(|p| p.byok.unit == Some(AllowanceUnit::Requests) && !p.byok.pct.is_zero())
            .map(|p| Allowance {
                provider: p.provider.clone(),
                requests: p.byok.allowance.trunc().to_u64().unwrap_or(u64::MAX),
                from: p.effective_from,
                to: p.effective_to,
            })
            .collect();
        allowances.sort_by(|a, b| (&a.provider, a.from).cmp(&(&b.provider, b.from)));
        Cut {
            tz: tz.map_or_else(|| "UTC".to_string(), |z| z.name().to_string()),
            thresholds,
            allowances,
        }
    }

    /// The cut as text, one item a line (docs/engines.md).
    pub(crate) fn text(&self) -> String {
        let mut s = format!("{FORMAT}\ntz={}\nthresholds=", self.tz);
        let t: Vec<String> = self.thresholds.iter().map(u64::to_string).collect();
        s.push_str(&t.join(","));
        s.push('\n');
        for a in &self.allowances {
            let to = a.to.map(|d| d.to_string()).unwrap_or_default();
            s.push_str(&format!(
                "allowance={}:{}:{}:{to}\n",
                a.provider, a.requests, a.from
            ));
        }
        s
    }

    /// 16 hex digits of the SHA-256 of [`Cut::text`]: the `rates_fingerprint` column.
    pub(crate) fn fingerprint(&self) -> String {
        let d = Sha256::digest(self.text().as_bytes());
        d.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// How many thresholds `prompt` exceeds: the call's `band`.
    pub(crate) fn band(&self, prompt: u64) -> u8 {
        self.thresholds.iter().filter(|&&t| prompt > t).count() as u8
    }

    /// The allowance in force on `day` for `provider`, if it has one in requests.
    pub(crate) fn allowance(&self, provider: &str, day: Day) -> Option<u64> {
        self.allowances
            .iter()
            .find(|a| a.provider == provider && day >= a.from && a.to.is_none_or(|t| day <= t))
            .map(|a| a.requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_cut_reads_thresholds_and_the_openrouter_allowance() {
        let cut = Cut::new(&RateTable::builtin(), &FeeBook::builtin(), None);
        assert!(!cut.thresholds.is_empty());
        assert!(cut.thresholds.windows(2).all(|w| w[0] < w[1]));
        let text = cut.text();
        assert!(
            text.starts_with("spendrecon-usage/1\ntz=UTC\nthresholds="),
            "{text}"
        );
        assert!(
            text.contains("allowance=openrouter:1000000:2025-01-01:\n"),
            "{text}"
        );
        assert_eq!(cut.fingerprint().len(), 16);
        let day = Day::parse("2026-04-28").unwrap();
        assert_eq!(cut.allowance("openrouter", day), Some(1_000_000));
        assert_eq!(cut.allowance("ominigate", day), None);
        let t = cut.thresholds[0];
        assert_eq!(cut.band(t), 0);
        assert_eq!(cut.band(t + 1), 1);
        let ny = Cut::new(
            &RateTable::builtin(),
            &FeeBook::builtin(),
            Some(chrono_tz::America::New_York),
        );
        assert_ne!(ny.fingerprint(), cut.fingerprint());
    }
}

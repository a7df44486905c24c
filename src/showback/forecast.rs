//! Each tenant's month end on each provider (`showback_forecast.csv`): the run-rate of
//! `forecast.csv` ([`crate::forecast::run_rate`]) over the tenant's priced usage per day, on
//! the same days seen and to come as the month's other forecasts.

use std::collections::BTreeMap;

use super::TenantDay;
use crate::domain::{Day, Money, Month};
use crate::forecast::run_rate::MonthSpan;

/// One row of `showback_forecast.csv`: `forecast.csv`'s columns with the tenant for the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TenantForecast {
    pub month: Month,
    pub tenant: String,
    pub provider: String,
    pub days_seen: u32,
    pub days_in_month: u32,
    pub actual_usd: Money,
    pub forecast_usd: Money,
    pub low_usd: Money,
    pub high_usd: Money,
    pub method: String,
    /// Calls of the days seen without a rate: not in the amounts (the method says so).
    pub unpriced_calls: u64,
}

/// One tenant × provider's priced usage per day, and its unpriced calls.
type Series = (BTreeMap<Day, Money>, u64);

/// The forecast of `span`'s month per tenant × provider, sorted by tenant, provider.
pub(crate) fn forecast(days: &[TenantDay], span: &MonthSpan) -> Vec<TenantForecast> {
    let mut series: BTreeMap<(&str, &str), Series> = BTreeMap::new();
    for d in days.iter().filter(|d| Month::of(d.day) == span.month) {
        let s = series.entry((&d.tenant, &d.provider)).or_default();
        *s.0.entry(d.day).or_default() += d.usage_usd;
        s.1 += d.unpriced_calls;
    }
    series
        .into_iter()
        .map(|((tenant, provider), (by_day, unpriced))| {
            let p = span.project(|d| by_day.get(d).copied().unwrap_or_default());
            let mut method = p.method;
            if unpriced > 0 {
                method.push_str(&format!(
                    "; {unpriced} call{} without a rate left out (see showback.csv)",
                    if unpriced == 1 { "" } else { "s" }
                ));
            }
            TenantForecast {
                month: span.month,
                tenant: tenant.to_string(),
                provider: provider.to_string(),
                days_seen: span.days_seen(),
                days_in_month: span.month.days(),
                actual_usd: p.actual_usd,
                forecast_usd: p.forecast_usd,
                low_usd: p.low_usd,
                high_usd: p.high_usd,
                method,
                unpriced_calls: unpriced,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(s: &str, tenant: &str, usd: Money, unpriced: u64) -> TenantDay {
        TenantDay {
            day: Day::parse(s).unwrap(),
            tenant: tenant.into(),
            provider: "p".into(),
            calls: 1 + unpriced,
            usage_usd: usd,
            unpriced_calls: unpriced,
            ..Default::default()
        }
    }

    #[test]
    fn each_tenant_is_projected_over_the_days_the_month_has_seen() {
        // Mon 6 – Wed 8 April seen (by any tenant). a: 1, 2, 3 → as forecast.csv's example:
        // 60 (low 33, high 87). b: only 3 on the 8th: days 6 and 7 cost it nothing; all days
        // avg 1, min 0, max 3 → 3 + 27 × 1 = 30, low 3, high 3 + 81 = 84.
        let days = vec![
            day("2026-04-06", "a", dec!(1), 0),
            day("2026-04-07", "a", dec!(2), 0),
            day("2026-04-08", "a", dec!(3), 0),
            day("2026-04-08", "b", dec!(3), 2),
        ];
        let span =
            MonthSpan::of(Month::parse("2026-04").unwrap(), days.iter().map(|d| d.day)).unwrap();
        let f = forecast(&days, &span);
        let got: Vec<_> = f
            .iter()
            .map(|r| {
                (
                    r.tenant.as_str(),
                    r.actual_usd,
                    r.forecast_usd,
                    r.low_usd,
                    r.high_usd,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", dec!(6), dec!(60), dec!(33), dec!(87)),
                ("b", dec!(3), dec!(30), dec!(3), dec!(84)),
            ]
        );
        assert_eq!((f[1].days_seen, f[1].unpriced_calls), (3, 2));
        assert!(f[1]
            .method
            .ends_with("2 calls without a rate left out (see showback.csv)"));
    }
}

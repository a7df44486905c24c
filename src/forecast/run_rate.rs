//! Month-end spend per provider × model from the days seen so far: a run-rate with
//! weekday/weekend seasonality and a range (docs/formats.md §6 `forecast.csv`).
//!
//! The days seen are the days of the month from the first to the last day with any log record
//! (a day inside that window without calls to a model counts as a day it cost nothing). Each
//! remaining day of the month is a weekday or a weekend day (Saturday, Sunday, in `--tz`):
//! - forecast = actual + Σ remaining days × the average seen day of the same kind;
//! - low / high = actual + Σ remaining days × the cheapest / dearest seen day of the same kind.
//!
//! So actual ≤ low ≤ forecast ≤ high, and a month whose every day is seen has all four equal.
//! A kind not seen yet (no weekend day in the first five days) takes the figures of all days
//! seen. All four amounts are rounded half-up to the cent (rounding keeps their order).

use std::collections::BTreeMap;

use rust_decimal::RoundingStrategy;

use crate::aggregate::Daily;
use crate::domain::{Day, Money, Month};

/// One row of `forecast.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForecastRow {
    pub month: Month,
    pub provider: String,
    pub model: String,
    pub days_seen: u32,
    pub days_in_month: u32,
    /// `None` (with the forecast) when some billable call has no rate.
    pub actual_usd: Option<Money>,
    pub forecast_usd: Option<Money>,
    pub low_usd: Option<Money>,
    pub high_usd: Option<Money>,
    pub method: String,
    /// Unrounded forecast ÷ actual: how the seen traffic scales to the whole month.
    pub scale: Money,
}

/// Saturday or Sunday.
pub(crate) fn is_weekend(day: Day) -> bool {
    // 1970-01-01 was a Thursday (index 3 with Monday = 0).
    (day.0 + 3).rem_euclid(7) >= 5
}

/// Min, max, sum and count of daily costs.
#[derive(Clone, Copy)]
struct Stats {
    min: Money,
    max: Money,
    sum: Money,
    n: u32,
}

impl Stats {
    fn of(costs: impl Iterator<Item = Money>) -> Option<Stats> {
        let mut s: Option<Stats> = None;
        for c in costs {
            let t = s.get_or_insert(Stats {
                min: c,
                max: c,
                sum: Money::ZERO,
                n: 0,
            });
            t.min = t.min.min(c);
            t.max = t.max.max(c);
            t.sum += c;
            t.n += 1;
        }
        s
    }

    fn avg(&self) -> Money {
        self.sum / Money::from(self.n)
    }
}

fn cents(m: Money) -> Money {
    m.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The days of a month seen so far (the first to the last day with any log record) and the
/// weekdays and weekend days still to come: shared by every series forecast for the month.
pub(crate) struct MonthSpan {
    pub month: Month,
    window: Vec<Day>,
    rest_weekdays: u32,
    rest_weekend: u32,
}

/// One series' month end: the four amounts rounded to the cent, and how they were made.
pub(crate) struct Projection {
    pub actual_usd: Money,
    pub forecast_usd: Money,
    pub low_usd: Money,
    pub high_usd: Money,
    /// Unrounded forecast ÷ actual (1 when nothing was spent yet).
    pub scale: Money,
    pub method: String,
}

impl MonthSpan {
    /// The span of `month` from the days that have log records (days of other months are
    /// ignored); `None` when none is in the month.
    pub(crate) fn of(month: Month, days: impl IntoIterator<Item = Day>) -> Option<MonthSpan> {
        let (mut first, mut last) = (None::<Day>, None::<Day>);
        for d in days.into_iter().filter(|d| Month::of(*d) == month) {
            first = Some(first.map_or(d, |f| f.min(d)));
            last = Some(last.map_or(d, |l| l.max(d)));
        }
        let (first, last) = (first?, last?);
        let rest: Vec<Day> = (month.first_day().0..=month.last_day().0)
            .map(Day)
            .filter(|d| *d < first || *d > last)
            .collect();
        let rest_weekend = rest.iter().filter(|d| is_weekend(**d)).count() as u32;
        Some(MonthSpan {
            month,
            window: (first.0..=last.0).map(Day).collect(),
            rest_weekdays: rest.len() as u32 - rest_weekend,
            rest_weekend,
        })
    }

    pub(crate) fn days_seen(&self) -> u32 {
        self.window.len() as u32
    }

    /// The projection of one series from its cost per day (a day of the window without calls
    /// cost nothing).
    pub(crate) fn project(&self, cost: impl Fn(&Day) -> Money) -> Projection {
        let window = &self.window;
        let (rest_weekdays, rest_weekend) = (self.rest_weekdays, self.rest_weekend);
        let actual: Money = window.iter().map(&cost).sum();
        let all = Stats::of(window.iter().map(&cost)).expect("the window holds a day");
        let weekdays = Stats::of(window.iter().filter(|d| !is_weekend(**d)).map(&cost));
        let weekend = Stats::of(window.iter().filter(|d| is_weekend(**d)).map(&cost));
        let (wd, we) = (weekdays.unwrap_or(all), weekend.unwrap_or(all));
        let n = |k: u32| Money::from(k);
        let forecast = actual + n(rest_weekdays) * wd.avg() + n(rest_weekend) * we.avg();
        let low = actual + n(rest_weekdays) * wd.min + n(rest_weekend) * we.min;
        let high = actual + n(rest_weekdays) * wd.max + n(rest_weekend) * we.max;
        let method = if rest_weekdays + rest_weekend == 0 {
            "complete month: the priced cost of its days".into()
        } else {
            let mut m = format!(
                "weekday/weekend run-rate: {} weekdays x {} + {} weekend days x {} not seen yet \
                 (averages of the {} weekdays and {} weekend days seen); low/high: each such day \
                 like the cheapest/dearest seen day of its kind",
                rest_weekdays,
                crate::domain::money(wd.avg().round_dp(6)),
                rest_weekend,
                crate::domain::money(we.avg().round_dp(6)),
                weekdays.map_or(0, |s| s.n),
                weekend.map_or(0, |s| s.n),
            );
            if weekdays.is_none() || weekend.is_none() {
                m.push_str("; a kind of day not seen yet is taken at the figures of all days seen");
            }
            m
        };
        Projection {
            actual_usd: cents(actual),
            forecast_usd: cents(forecast),
            low_usd: cents(low),
            high_usd: cents(high),
            scale: if actual.is_zero() {
                Money::ONE
            } else {
                forecast / actual
            },
            method,
        }
    }
}

/// The forecast of `month` per provider × model of the daily rows; empty when the month has no
/// rows.
pub(crate) fn forecast(daily: &Daily, month: Month) -> Vec<ForecastRow> {
    let Some(span) = MonthSpan::of(month, daily.rows.iter().map(|r| r.day)) else {
        return Vec::new();
    };
    // provider × model → day → cost (None: unpriced)
    let mut costs: BTreeMap<(&str, &str), BTreeMap<Day, Option<Money>>> = BTreeMap::new();
    for r in daily.rows.iter().filter(|r| Month::of(r.day) == month) {
        costs
            .entry((&r.provider, &r.model))
            .or_default()
            .insert(r.day, r.cost_usd);
    }
    let mut out = Vec::new();
    for ((provider, model), by_day) in costs {
        let mut row = ForecastRow {
            month,
            provider: provider.to_string(),
            model: model.to_string(),
            days_seen: span.days_seen(),
            days_in_month: month.days(),
            actual_usd: None,
            forecast_usd: None,
            low_usd: None,
            high_usd: None,
            method: String::new(),
            scale: Money::ONE,
        };
        if by_day.values().any(Option::is_none) {
            row.method = "unpriced: some billable calls have no rate (see spendrecon audit)".into();
            out.push(row);
            continue;
        }
        let p = span.project(|d| by_day.get(d).copied().flatten().unwrap_or(Money::ZERO));
        row.method = p.method;
        row.scale = p.scale;
        row.actual_usd = Some(p.actual_usd);
        row.forecast_usd = Some(p.forecast_usd);
        row.low_usd = Some(p.low_usd);
        row.high_usd = Some(p.high_usd);
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::DailyRow;
    use rust_decimal_macros::dec;

    fn row(day: &str, model: &str, cost: Option<Money>) -> DailyRow {
        DailyRow {
            day: Day::parse(day).unwrap(),
            provider: "p".into(),
            model: model.into(),
            requests: 1,
            cost_usd: cost,
            ..Default::default()
        }
    }

    #[test]
    fn weekends_are_saturday_and_sunday() {
        let d = |s| is_weekend(Day::parse(s).unwrap());
        // 2026-04-04 is a Saturday, 2026-04-05 a Sunday, 2026-04-06 a Monday.
        assert!(d("2026-04-04") && d("2026-04-05"));
        assert!(!d("2026-04-06") && !d("2026-04-03") && !d("1970-01-01"));
    }

    #[test]
    fn a_complete_month_forecasts_its_actual() {
        let daily = Daily {
            rows: (1..=30)
                .map(|d| row(&format!("2026-04-{d:02}"), "m", Some(dec!(1.005))))
                .collect(),
            ..Default::default()
        };
        let f = forecast(&daily, Month::parse("2026-04").unwrap());
        assert_eq!(f.len(), 1);
        // 30 × 1.005 = 30.15
        let a = Some(dec!(30.15));
        assert_eq!(
            (
                f[0].actual_usd,
                f[0].forecast_usd,
                f[0].low_usd,
                f[0].high_usd
            ),
            (a, a, a, a)
        );
        assert_eq!((f[0].days_seen, f[0].days_in_month), (30, 30));
        assert_eq!(f[0].scale, Money::ONE);
    }

    #[test]
    fn only_weekdays_seen_use_all_days_for_the_weekend() {
        // Mon 6 – Wed 8 April: 1, 2, 3 USD. Not seen: 1–5 (Wed 1, Thu 2, Fri 3 weekdays; Sat 4,
        // Sun 5 weekend) and 9–30 (16 weekdays, 6 weekend days): 19 weekdays, 8 weekend days.
        // All days seen: avg 2, min 1, max 3 → forecast 6 + 27 × 2 = 60, low 6 + 27 = 33,
        // high 6 + 81 = 87.
        let daily = Daily {
            rows: vec![
                row("2026-04-06", "m", Some(dec!(1))),
                row("2026-04-07", "m", Some(dec!(2))),
                row("2026-04-08", "m", Some(dec!(3))),
            ],
            ..Default::default()
        };
        let f = &forecast(&daily, Month::parse("2026-04").unwrap())[0];
        assert_eq!(f.days_seen, 3);
        assert_eq!(
            (f.actual_usd, f.forecast_usd, f.low_usd, f.high_usd),
            (
                Some(dec!(6)),
                Some(dec!(60)),
                Some(dec!(33)),
                Some(dec!(87))
            )
        );
        assert!(
            f.method
                .contains("19 weekdays x 2.00 + 8 weekend days x 2.00"),
            "{}",
            f.method
        );
        assert!(f.method.contains("not seen yet is taken"), "{}", f.method);
        assert_eq!(f.scale, dec!(10));
    }

    #[test]
    fn unpriced_models_have_no_amounts() {
        let daily = Daily {
            rows: vec![row("2026-04-06", "m", None)],
            ..Default::default()
        };
        let f = &forecast(&daily, Month::parse("2026-04").unwrap())[0];
        assert_eq!((f.actual_usd, f.forecast_usd), (None, None));
        assert!(f.method.starts_with("unpriced"));
    }
}

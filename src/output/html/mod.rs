//! `report.html`: one page a finance user can open, mail or archive without a network.
//!
//! Everything is inline: the style sheet, and the charts as SVG drawn by `plotters`. No script
//! runs (a Content-Security-Policy forbids any), nothing is fetched, and the page carries no
//! timestamp, so the same inputs give the same bytes. Every text that comes from the inputs
//! (providers, model slugs, file names, notes) is escaped here or by plotters' SVG writer, which
//! escapes all text and attribute values it writes.
//!
//! Amounts are shown rounded to the cent; each money cell carries the exact amount in a
//! `data-usd` attribute, the figure the CSV outputs hold. `f64` appears only as chart
//! coordinates.
//!
//! What the page shows (`Page` and its rows) is here; `page` writes the HTML around it and
//! `charts` draws the charts, with the colours and legends they share with the tables.

use crate::domain::{Day, Money, Month};

mod charts;
mod disputes;
mod page;
mod showback;

pub(crate) use page::render;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Per provider: what its calls cost and what was billed for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryRow {
    pub provider: String,
    /// Every billable call at list prices, BYOK calls included (`daily.csv`'s cost).
    pub priced_usd: Money,
    pub unpriced_calls: u64,
    /// `summary.csv`'s `logged_usd` (BYOK usage left out); `None` without an invoice line.
    pub expected_usd: Option<Money>,
    pub invoiced_usd: Option<Money>,
    pub topup_fee_usd: Money,
    pub byok_fee_usd: Money,
    pub subscription_usd: Money,
    pub effective_usd: Money,
    pub tokens: u128,
    /// Reconciliation rows not `ok`/`drift`.
    pub flagged_rows: u64,
}

/// One input file and what became of its rows.
#[derive(Debug, Clone)]
pub(crate) struct InputRow {
    pub kind: &'static str,
    pub file: String,
    pub read: u64,
    pub used: u64,
    pub out_of_range: u64,
    pub rejected: u64,
    /// Idle export rows, counted and not used.
    pub skipped: u64,
}

/// Logged and invoiced tokens (prompt + completion) of one day, over the providers that have
/// invoice lines.
#[derive(Debug, Clone)]
pub(crate) struct TokenDay {
    pub day: Day,
    pub logged: u128,
    pub invoiced: u128,
    /// `provider model: status` of each flagged reconciliation row of the day.
    pub flagged: Vec<String>,
}

/// A model's cost over the run, split by provider (in [`Page::providers`] order).
#[derive(Debug, Clone)]
pub(crate) struct ModelCost {
    pub model: String,
    pub by_provider: Vec<Money>,
    pub total: Money,
    pub requests: u64,
    pub tokens: u128,
    pub unpriced_calls: u64,
}

/// One row of `fees.csv`.
#[derive(Debug, Clone)]
pub(crate) struct FeeLine {
    pub month: Month,
    pub provider: String,
    pub kind: &'static str,
    pub basis_usd: Option<Money>,
    pub fee_usd: Option<Money>,
    pub expected_fee_usd: Option<Money>,
    pub status: &'static str,
    pub note: String,
}

/// One provider's month-end projection: `forecast.csv` summed over its priced models.
#[derive(Debug, Clone)]
pub(crate) struct ForecastLine {
    pub month: Month,
    pub provider: String,
    pub days_seen: u32,
    pub days_in_month: u32,
    pub actual_usd: Money,
    pub forecast_usd: Money,
    pub low_usd: Money,
    pub high_usd: Money,
    /// Models with unpriced calls: they have no forecast and are not in the sums.
    pub unpriced_models: Vec<String>,
}

/// Everything the page shows, computed by the pipeline stages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub period: Option<(Day, Day)>,
    /// Why the run is flagged (exit status 1); empty when everything reconciled.
    pub flags: Vec<String>,
    pub summary: Vec<SummaryRow>,
    pub inputs: Vec<InputRow>,
    pub providers: Vec<String>,
    pub days: Vec<Day>,
    /// Priced cost per provider (outer, as `providers`) per day (inner, as `days`).
    pub daily_cost: Vec<Vec<Money>>,
    /// `None` when no invoice was given.
    pub tokens: Option<Vec<TokenDay>>,
    /// Sorted by cost, dearest first; all models (the chart shows the first [`TOP_MODELS`]).
    pub models: Vec<ModelCost>,
    pub fees: Vec<FeeLine>,
    pub forecast: Vec<ForecastLine>,
    /// With `--by`.
    pub showback: Option<ShowbackSection>,
    /// `disputes.csv`'s rows.
    pub claims: Vec<ClaimLine>,
}

/// One row of `disputes.csv`, as the page lists it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimLine {
    pub day: Day,
    pub provider: String,
    pub kind: &'static str,
    pub calls: u64,
    pub amount_usd: Money,
    pub unbilled_usd: Money,
    pub evidence: String,
    pub note: String,
}

/// Who spent what (`--by`): each tenant's cost per day and `showback.csv`'s rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShowbackSection {
    /// What the tenants are: the `--by` field (`tenant`, `api_key`).
    pub column: String,
    /// Priced usage per day (as [`Page::days`]) of the dearest tenants, the rest summed last
    /// (the chart has [`TOP_TENANTS`] colours).
    pub series: Vec<(String, Vec<Money>)>,
    pub rows: Vec<ShowbackLine>,
    /// Calls without a rate over the run: not in the amounts.
    pub unpriced_calls: u64,
}

/// One row of `showback.csv`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShowbackLine {
    pub month: Month,
    pub tenant: String,
    pub provider: String,
    pub calls: u64,
    pub usage_usd: Money,
    pub topup_fee_usd: Money,
    pub byok_fee_usd: Money,
    pub subscription_usd: Money,
    pub effective_usd: Money,
    pub unpriced_calls: u64,
}

/// Tenants drawn apart in the chart, the last one being "all other tenants" when there are
/// more.
pub(crate) const TOP_TENANTS: usize = 8;

/// Models in the bar chart; the table below it lists every model.
pub(crate) const TOP_MODELS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn escape_neutralises_markup_and_keeps_formula_text_as_text() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("=cmd|' /C calc'!A0"), "=cmd|&#39; /C calc&#39;!A0");
        assert_eq!(escape("a&b \"c\""), "a&amp;b &quot;c&quot;");
        assert_eq!(
            escape("anthropic/claude-sonnet-4.6"),
            "anthropic/claude-sonnet-4.6"
        );
    }

    fn page() -> Page {
        let days = vec![Day(20_574), Day(20_575), Day(20_576)];
        Page {
            period: Some((days[0], days[2])),
            providers: vec!["<b>p</b>".into(), "q".into()],
            daily_cost: vec![
                vec![dec!(1.5), dec!(2), dec!(0)],
                vec![dec!(0), dec!(1), dec!(3)],
            ],
            days: days.clone(),
            tokens: Some(
                days.iter()
                    .map(|d| TokenDay {
                        day: *d,
                        logged: 1_000_000,
                        invoiced: 2_000_000,
                        flagged: vec!["<b>p</b> m: token_mismatch".into()],
                    })
                    .collect(),
            ),
            models: vec![ModelCost {
                model: "<script>alert(1)</script>".into(),
                by_provider: vec![dec!(3.5), dec!(4)],
                total: dec!(7.5),
                requests: 3,
                tokens: 30,
                unpriced_calls: 0,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn page_is_deterministic_and_holds_no_raw_input_markup_or_url() {
        let a = render(&page()).unwrap();
        let b = render(&page()).unwrap();
        assert_eq!(a, b);
        assert!(!a.contains("<script"));
        assert!(!a.contains("<b>"));
        assert!(!a.contains("http://") && !a.contains("https://"));
        assert_eq!(a.matches("<svg").count(), 3);
    }

    #[test]
    fn showback_section_escapes_tenants_and_totals_the_table() {
        let mut p = page();
        let line = |tenant: &str, usd| ShowbackLine {
            month: Month::parse("2026-04").unwrap(),
            tenant: tenant.into(),
            provider: "q".into(),
            calls: 2,
            usage_usd: usd,
            effective_usd: usd,
            ..Default::default()
        };
        p.showback = Some(ShowbackSection {
            column: "tenant".into(),
            series: vec![("<i>t</i>".into(), vec![dec!(1), dec!(2), dec!(3)])],
            rows: vec![line("<i>t</i>", dec!(6)), line("(none)", dec!(0.005))],
            unpriced_calls: 1,
        });
        let html = render(&p).unwrap();
        assert!(!html.contains("<i>t</i>") && html.contains("&lt;i&gt;t&lt;/i&gt;"));
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(html.contains(
            "<tr class=\"total\"><td></td><td>total</td><td></td><td class=\"n\">4</td>\
<td class=\"n\" data-col=\"usage_usd\" data-usd=\"6.005\">6.00</td>"
        ));
        assert!(html.contains("1 billable call without a rate"));
    }

    #[test]
    fn one_day_draws_without_an_empty_axis() {
        let mut p = page();
        p.days.truncate(1);
        p.daily_cost.iter_mut().for_each(|v| v.truncate(1));
        if let Some(t) = p.tokens.as_mut() {
            t.truncate(1);
        }
        let html = render(&p).unwrap();
        assert!(html.contains("<rect"));
    }
}

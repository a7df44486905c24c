//! The report's showback section (`report --by tenant`): each tenant's priced usage per day,
//! stacked, and `showback.csv`'s rows with a total.

use std::fmt::Write as _;

use anyhow::Result;
use plotters::style::RGBColor;

use super::charts::{colour, day_bars, f, legend};
use super::page::{num_cell, text_cell, usd_cell};
use super::{escape, Page, ShowbackLine};

pub(super) fn section(h: &mut String, page: &Page) -> Result<()> {
    let Some(s) = &page.showback else {
        return Ok(());
    };
    let _ = writeln!(h, "<h2 id=\"showback\">Cost per {}</h2>", escape(&s.column));
    if !s.series.is_empty() && !page.days.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"note\">Each {0}'s billable calls at list prices per day (BYOK calls \
included), stacked; fees are monthly and shared in the table below. Calls without a {0} are \
<code>(none)</code>.</p>",
            escape(&s.column)
        );
        let series: Vec<(Vec<f64>, RGBColor)> = s
            .series
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (v.iter().map(|m| f(*m)).collect(), colour(i)))
            .collect();
        h.push_str(&day_bars(&page.days, &series, "USD per day")?);
        let items: Vec<(String, RGBColor)> = s
            .series
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (t.clone(), colour(i)))
            .collect();
        h.push_str(&legend(&items));
        h.push('\n');
    }
    let _ = writeln!(
        h,
        "<table id=\"showback-table\"><tr><th>month</th><th>{}</th><th>provider</th>\
<th class=\"n\">billable calls</th><th class=\"n\">usage at list prices</th><th class=\"n\">top-up fees</th>\
<th class=\"n\">BYOK fees</th><th class=\"n\">subscriptions</th><th class=\"n\">effective</th>\
<th class=\"n\">unpriced calls</th></tr>",
        escape(&s.column)
    );
    let mut total = ShowbackLine::default();
    for r in &s.rows {
        row(h, r, &r.month.to_string(), "");
        total.calls += r.calls;
        total.usage_usd += r.usage_usd;
        total.topup_fee_usd += r.topup_fee_usd;
        total.byok_fee_usd += r.byok_fee_usd;
        total.subscription_usd += r.subscription_usd;
        total.effective_usd += r.effective_usd;
        total.unpriced_calls += r.unpriced_calls;
    }
    total.tenant = "total".into();
    row(h, &total, "", " class=\"total\"");
    h.push_str(
        "</table>\n<p class=\"note\">Each fee of a provider's month is shared by the usage \
of its tenants, largest remainder to the cent, so every column adds up to the provider's fees. \
Unpriced calls have no rate: they are not in the amounts.</p>\n",
    );
    if s.unpriced_calls > 0 {
        let _ = writeln!(
            h,
            "<p class=\"flag\">{} billable call{} without a rate: each {}'s cost is at least what is shown.</p>",
            s.unpriced_calls,
            if s.unpriced_calls == 1 { "" } else { "s" },
            escape(&s.column)
        );
    }
    Ok(())
}

fn row(h: &mut String, r: &ShowbackLine, month: &str, attrs: &str) {
    let _ = writeln!(
        h,
        "<tr{attrs}><td>{month}</td>{}{}{}{}{}{}{}{}{}</tr>",
        text_cell(&r.tenant),
        text_cell(&r.provider),
        num_cell(r.calls),
        usd_cell(Some(r.usage_usd), "usage_usd"),
        usd_cell(Some(r.topup_fee_usd), "topup_fee_usd"),
        usd_cell(Some(r.byok_fee_usd), "byok_fee_usd"),
        usd_cell(Some(r.subscription_usd), "subscription_usd"),
        usd_cell(Some(r.effective_usd), "effective_usd"),
        if r.unpriced_calls > 0 {
            format!("<td class=\"n flag\">{}</td>", r.unpriced_calls)
        } else {
            num_cell(0)
        }
    );
}

//! The page's HTML: the head with its inline style sheet and Content-Security-Policy, then one
//! section per part of the run (summary, daily cost, tokens, models, fees, forecast, inputs),
//! each a chart from `charts` and a table whose money cells carry the exact amounts.

use std::fmt::Write as _;

use anyhow::Result;
use plotters::style::{Color, RGBColor};

use super::charts::{colour, day_bars, f, hbars, legend, token_lines, Mark, FLAG, PALETTE};
use super::{escape, ModelCost, Page, SummaryRow, TokenDay, TOP_MODELS};
use crate::domain::{money, Money};

/// Cents for the eye, the exact amount for a machine.
pub(super) fn usd_cell(m: Option<Money>, col: &str) -> String {
    match m {
        Some(m) => format!(
            "<td class=\"n\" data-col=\"{col}\" data-usd=\"{}\">{}</td>",
            money(m),
            money(m.round_dp(2))
        ),
        None => format!("<td class=\"n\" data-col=\"{col}\"></td>"),
    }
}

pub(super) fn num_cell<T: std::fmt::Display>(v: T) -> String {
    format!("<td class=\"n\">{v}</td>")
}

pub(super) fn text_cell(s: &str) -> String {
    format!("<td>{}</td>", escape(s))
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1140px;color:#222}\
h1{font-size:24px}h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0;font-size:13px}\
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.total td{font-weight:bold}.flag{color:#d62728}.ok{color:#2ca02c}\
.legend span{margin-right:18px;font-size:13px}\
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle}\
svg{display:block}p.note{font-size:13px;color:#555}";

/// The whole page.
pub(crate) fn render(page: &Page) -> Result<String> {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    h.push_str("<title>spendrecon report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<h1>spendrecon report</h1>\n");
    if let Some((a, b)) = page.period {
        let _ = writeln!(h, "<p>Days {a} to {b} (days of the logs and invoices).</p>");
    }
    if page.flags.is_empty() {
        h.push_str("<p class=\"ok\" id=\"outcome\">Everything reconciled (exit status 0).</p>\n");
    } else {
        h.push_str("<p class=\"flag\" id=\"outcome\">Flagged (exit status 1):</p>\n<ul>\n");
        for f in &page.flags {
            let _ = writeln!(h, "<li>{}</li>", escape(f));
        }
        h.push_str("</ul>\n");
    }
    summary(&mut h, page);
    super::disputes::section(&mut h, page);
    daily_section(&mut h, page)?;
    tokens_section(&mut h, page)?;
    models_section(&mut h, page)?;
    fees_section(&mut h, page)?;
    forecast_section(&mut h, page)?;
    super::showback::section(&mut h, page)?;
    inputs_section(&mut h, page);
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

fn summary(h: &mut String, page: &Page) {
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<table id=\"summary-table\">\n<tr><th>provider</th>\
<th class=\"n\">priced at list prices</th><th class=\"n\">expected (BYOK upstream)</th>\
<th class=\"n\">invoiced</th><th class=\"n\">difference</th><th class=\"n\">top-up fees</th>\
<th class=\"n\">BYOK fees</th><th class=\"n\">subscriptions</th><th class=\"n\">effective</th>\
<th class=\"n\">tokens</th><th class=\"n\">unpriced calls</th><th class=\"n\">flagged recon rows</th></tr>\n");
    let mut total = SummaryRow::default();
    let mut any_invoice = false;
    for s in &page.summary {
        row(h, s, &format!(" data-provider=\"{}\"", escape(&s.provider)));
        total.priced_usd += s.priced_usd;
        total.unpriced_calls += s.unpriced_calls;
        if let Some(e) = s.expected_usd {
            *total.expected_usd.get_or_insert_default() += e;
            any_invoice = true;
        }
        if let Some(i) = s.invoiced_usd {
            *total.invoiced_usd.get_or_insert_default() += i;
        }
        total.topup_fee_usd += s.topup_fee_usd;
        total.byok_fee_usd += s.byok_fee_usd;
        total.subscription_usd += s.subscription_usd;
        total.effective_usd += s.effective_usd;
        total.tokens += s.tokens;
        total.flagged_rows += s.flagged_rows;
    }
    total.provider = "total".into();
    if !any_invoice {
        total.expected_usd = None;
        total.invoiced_usd = None;
    }
    row(h, &total, " class=\"total\" data-provider=\"\"");
    h.push_str("</table>\n");
    let (read, used, out, rejected, skipped) = page.inputs.iter().fold((0, 0, 0, 0, 0), |a, f| {
        (
            a.0 + f.read,
            a.1 + f.used,
            a.2 + f.out_of_range,
            a.3 + f.rejected,
            a.4 + f.skipped,
        )
    });
    let _ = writeln!(
        h,
        "<table id=\"rows-table\"><tr><th>files</th><th class=\"n\">rows read</th><th class=\"n\">used</th>\
<th class=\"n\">outside --from/--to</th><th class=\"n\">rejected</th><th class=\"n\">skipped (idle)</th></tr>\
<tr><td>{}</td><td class=\"n\" data-col=\"read\">{read}</td><td class=\"n\" data-col=\"used\">{used}</td>\
<td class=\"n\" data-col=\"out_of_range\">{out}</td><td class=\"n\" data-col=\"rejected\">{rejected}</td>\
<td class=\"n\" data-col=\"skipped\">{skipped}</td></tr></table>",
        page.inputs.len()
    );
    h.push_str("<p class=\"note\">Priced: every billable call at the rate table, BYOK calls included. \
Expected: what the invoice should say, BYOK usage left out (paid upstream). Effective: priced usage plus the \
fees the policies say. Amounts are rounded to the cent here; the CSV outputs hold them exactly.</p>\n");
}

fn row(h: &mut String, s: &SummaryRow, attrs: &str) {
    let diff = s.invoiced_usd.zip(s.expected_usd).map(|(i, e)| i - e);
    let _ = writeln!(
        h,
        "<tr{attrs}>{}{}{}{}{}{}{}{}{}{}{}{}</tr>",
        text_cell(&s.provider),
        usd_cell(Some(s.priced_usd), "priced_usd"),
        usd_cell(s.expected_usd, "logged_usd"),
        usd_cell(s.invoiced_usd, "invoiced_usd"),
        usd_cell(diff, "difference_usd"),
        usd_cell(Some(s.topup_fee_usd), "topup_fee_usd"),
        usd_cell(Some(s.byok_fee_usd), "byok_fee_usd"),
        usd_cell(Some(s.subscription_usd), "subscription_usd"),
        usd_cell(Some(s.effective_usd), "effective_usd"),
        num_cell(s.tokens),
        num_cell(s.unpriced_calls),
        num_cell(s.flagged_rows),
    );
}

fn daily_section(h: &mut String, page: &Page) -> Result<()> {
    h.push_str("<h2 id=\"daily\">Daily cost per provider</h2>\n");
    if page.days.is_empty() {
        h.push_str("<p>The logs hold no billable call.</p>\n");
        return Ok(());
    }
    h.push_str(
        "<p class=\"note\">Priced cost of each day's billable calls, stacked by provider: \
a migration shows as one colour giving way to another. Unpriced calls are not in the bars.</p>\n",
    );
    let series: Vec<(Vec<f64>, RGBColor)> = page
        .daily_cost
        .iter()
        .enumerate()
        .map(|(i, v)| (v.iter().map(|m| f(*m)).collect(), colour(i)))
        .collect();
    h.push_str(&day_bars(&page.days, &series, "USD per day")?);
    let items: Vec<(String, RGBColor)> = page
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), colour(i)))
        .collect();
    h.push_str(&legend(&items));
    h.push('\n');
    Ok(())
}

fn tokens_section(h: &mut String, page: &Page) -> Result<()> {
    h.push_str("<h2 id=\"tokens\">Logged vs invoiced tokens per day</h2>\n");
    let Some(days) = page.tokens.as_ref().filter(|d| !d.is_empty()) else {
        h.push_str("<p>No invoices were given (<code>--invoices</code>), so there is nothing to compare.</p>\n");
        return Ok(());
    };
    h.push_str(
        "<p class=\"note\">Prompt + completion tokens of the providers that have invoice lines. \
Shaded days with a red dot hold a reconciliation row that is not ok or drift.</p>\n",
    );
    h.push_str(&token_lines(days)?);
    h.push_str(&legend(&[
        ("logged".into(), PALETTE[0]),
        ("invoiced".into(), PALETTE[2]),
        ("flagged day".into(), FLAG),
    ]));
    h.push('\n');
    let flagged: Vec<&TokenDay> = days.iter().filter(|d| !d.flagged.is_empty()).collect();
    if flagged.is_empty() {
        h.push_str("<p class=\"ok\">No flagged day.</p>\n");
        return Ok(());
    }
    let _ = writeln!(
        h,
        "<details><summary>{} flagged days</summary>",
        flagged.len()
    );
    h.push_str(
        "<table id=\"flagged-days\"><tr><th>day</th><th class=\"n\">logged tokens</th>\
<th class=\"n\">invoiced tokens</th><th>flagged rows</th></tr>\n",
    );
    for d in flagged {
        let _ = writeln!(
            h,
            "<tr><td>{}</td>{}{}<td>{}</td></tr>",
            d.day,
            num_cell(d.logged),
            num_cell(d.invoiced),
            d.flagged
                .iter()
                .map(|s| escape(s))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    h.push_str("</table>\n</details>\n");
    Ok(())
}

fn models_section(h: &mut String, page: &Page) -> Result<()> {
    h.push_str("<h2 id=\"models\">Top models by cost</h2>\n");
    if page.models.is_empty() {
        h.push_str("<p>No model was called.</p>\n");
        return Ok(());
    }
    let top: Vec<&ModelCost> = page.models.iter().take(TOP_MODELS).collect();
    let labels: Vec<String> = top.iter().map(|m| m.model.clone()).collect();
    let marks: Vec<Vec<Mark>> = top
        .iter()
        .map(|m| {
            let mut base = 0.0;
            m.by_provider
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = f(*c);
                    base += v;
                    Mark::Span(base - v, base, colour(i).to_rgba())
                })
                .collect()
        })
        .collect();
    h.push_str(&hbars(&labels, &marks, "USD")?);
    let items: Vec<(String, RGBColor)> = page
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), colour(i)))
        .collect();
    h.push_str(&legend(&items));
    h.push_str("\n<table id=\"models-table\"><tr><th>model</th><th class=\"n\">cost</th>\
<th class=\"n\">billable calls</th><th class=\"n\">tokens</th><th class=\"n\">unpriced calls</th></tr>\n");
    for m in &page.models {
        let _ = writeln!(
            h,
            "<tr>{}{}{}{}{}</tr>",
            text_cell(&m.model),
            usd_cell(Some(m.total), "cost_usd"),
            num_cell(m.requests),
            num_cell(m.tokens),
            if m.unpriced_calls > 0 {
                format!("<td class=\"n flag\">{}</td>", m.unpriced_calls)
            } else {
                num_cell(0)
            }
        );
    }
    h.push_str("</table>\n<p class=\"note\">A model with unpriced calls costs at least what is shown: its unpriced calls have no rate.</p>\n");
    Ok(())
}

fn fees_section(h: &mut String, page: &Page) -> Result<()> {
    h.push_str("<h2 id=\"fees\">Fees</h2>\n");
    if page.fees.is_empty() {
        h.push_str("<p>No fee applies: no top-up ledger (<code>--topups</code>), no BYOK call and no subscription.</p>\n");
        return Ok(());
    }
    // One bar per month × provider, stacked by kind of fee.
    let kinds = [
        ("top-up", PALETTE[1]),
        ("BYOK", PALETTE[3]),
        ("subscription", PALETTE[5]),
    ];
    let mut groups: Vec<(String, [Money; 3])> = Vec::new();
    for r in &page.fees {
        let label = format!("{} {}", r.month, r.provider);
        let k = match r.kind {
            "byok" => 1,
            "subscription" => 2,
            _ => 0,
        };
        match groups.iter_mut().find(|g| g.0 == label) {
            Some(g) => g.1[k] += r.expected_fee_usd.unwrap_or_default(),
            None => {
                let mut v = [Money::ZERO; 3];
                v[k] = r.expected_fee_usd.unwrap_or_default();
                groups.push((label, v));
            }
        }
    }
    h.push_str("<p class=\"note\">Expected fees per month and provider (the policies of fees.toml), stacked by kind.</p>\n");
    let labels: Vec<String> = groups.iter().map(|g| g.0.clone()).collect();
    let marks: Vec<Vec<Mark>> = groups
        .iter()
        .map(|g| {
            let mut base = 0.0;
            g.1.iter()
                .zip(&kinds)
                .map(|(v, (_, c))| {
                    let v = f(*v);
                    base += v;
                    Mark::Span(base - v, base, c.to_rgba())
                })
                .collect()
        })
        .collect();
    h.push_str(&hbars(&labels, &marks, "USD")?);
    h.push_str(&legend(
        &kinds
            .iter()
            .map(|(n, c)| (n.to_string(), *c))
            .collect::<Vec<_>>(),
    ));
    h.push_str("\n<table id=\"fees-table\"><tr><th>month</th><th>provider</th><th>kind</th>\
<th class=\"n\">basis</th><th class=\"n\">charged</th><th class=\"n\">expected</th><th>status</th><th>note</th></tr>\n");
    for r in &page.fees {
        let status_class = if matches!(r.status, "ok" | "unchecked") {
            ""
        } else {
            " class=\"flag\""
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td>{}{}{}{}{}<td{status_class}>{}</td>{}</tr>",
            r.month,
            text_cell(&r.provider),
            text_cell(r.kind),
            usd_cell(r.basis_usd, "basis_usd"),
            usd_cell(r.fee_usd, "fee_usd"),
            usd_cell(r.expected_fee_usd, "expected_fee_usd"),
            escape(r.status),
            text_cell(&r.note),
        );
    }
    h.push_str("</table>\n");
    Ok(())
}

fn forecast_section(h: &mut String, page: &Page) -> Result<()> {
    h.push_str("<h2 id=\"forecast\">Month-end forecast</h2>\n");
    let Some(first) = page.forecast.first() else {
        h.push_str("<p>Nothing to forecast.</p>\n");
        return Ok(());
    };
    let _ = writeln!(
        h,
        "<p class=\"note\">{}: {} of {} days seen. Solid: spent so far; light band: low to high \
(the cheapest and dearest seen day of each kind, weekday or weekend, for every day not seen); \
black tick: the forecast (the average day).</p>",
        first.month, first.days_seen, first.days_in_month
    );
    let labels: Vec<String> = page.forecast.iter().map(|r| r.provider.clone()).collect();
    let marks: Vec<Vec<Mark>> = page
        .forecast
        .iter()
        .map(|r| {
            let i = page
                .providers
                .iter()
                .position(|p| *p == r.provider)
                .unwrap_or(0);
            let c = colour(i);
            vec![
                Mark::Span(f(r.low_usd), f(r.high_usd), c.mix(0.3)),
                Mark::Span(0.0, f(r.actual_usd), c.to_rgba()),
                Mark::Tick(f(r.forecast_usd)),
            ]
        })
        .collect();
    h.push_str(&hbars(&labels, &marks, "USD in the month")?);
    h.push_str("<table id=\"forecast-table\"><tr><th>month</th><th>provider</th><th class=\"n\">days seen</th>\
<th class=\"n\">actual</th><th class=\"n\">low</th><th class=\"n\">forecast</th><th class=\"n\">high</th>\
<th>not forecast (unpriced calls)</th></tr>\n");
    for r in &page.forecast {
        let _ = writeln!(
            h,
            "<tr><td>{}</td>{}<td class=\"n\">{} / {}</td>{}{}{}{}{}</tr>",
            r.month,
            text_cell(&r.provider),
            r.days_seen,
            r.days_in_month,
            usd_cell(Some(r.actual_usd), "actual_usd"),
            usd_cell(Some(r.low_usd), "low_usd"),
            usd_cell(Some(r.forecast_usd), "forecast_usd"),
            usd_cell(Some(r.high_usd), "high_usd"),
            text_cell(&r.unpriced_models.join(", ")),
        );
    }
    h.push_str("</table>\n");
    Ok(())
}

fn inputs_section(h: &mut String, page: &Page) {
    let _ = write!(
        h,
        "<h2 id=\"inputs\">Inputs</h2>\n<details><summary>{} files</summary>\n",
        page.inputs.len()
    );
    h.push_str("<table id=\"inputs-table\"><tr><th>kind</th><th>file</th>\
<th class=\"n\">rows read</th><th class=\"n\">used</th><th class=\"n\">outside --from/--to</th><th class=\"n\">rejected</th>\
<th class=\"n\">skipped (idle)</th></tr>\n");
    for f in &page.inputs {
        let _ = writeln!(
            h,
            "<tr>{}{}{}{}{}{}{}</tr>",
            text_cell(f.kind),
            text_cell(&f.file),
            num_cell(f.read),
            num_cell(f.used),
            num_cell(f.out_of_range),
            num_cell(f.rejected),
            num_cell(f.skipped),
        );
    }
    h.push_str("</table>\n</details>\n<p class=\"note\">Rejected rows are listed in rejected.csv next to this file.</p>\n");
}

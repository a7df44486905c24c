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

use std::fmt::Write as _;

use anyhow::Result;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::money;
use crate::domain::{Day, Money, Month};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
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
pub struct SummaryRow {
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
pub struct InputRow {
    pub kind: &'static str,
    pub file: String,
    pub read: u64,
    pub used: u64,
    pub out_of_range: u64,
    pub rejected: u64,
}

/// Logged and invoiced tokens (prompt + completion) of one day, over the providers that have
/// invoice lines.
#[derive(Debug, Clone)]
pub struct TokenDay {
    pub day: Day,
    pub logged: u128,
    pub invoiced: u128,
    /// `provider model: status` of each flagged reconciliation row of the day.
    pub flagged: Vec<String>,
}

/// A model's cost over the run, split by provider (in [`Page::providers`] order).
#[derive(Debug, Clone)]
pub struct ModelCost {
    pub model: String,
    pub by_provider: Vec<Money>,
    pub total: Money,
    pub requests: u64,
    pub tokens: u128,
    pub unpriced_calls: u64,
}

/// One row of `fees.csv`.
#[derive(Debug, Clone)]
pub struct FeeLine {
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
pub struct ForecastLine {
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
pub struct Page {
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
}

/// Models in the bar chart; the table below it lists every model.
pub const TOP_MODELS: usize = 10;

const WIDTH: u32 = 1100;

/// Distinct at a glance and in grey print; a provider keeps its colour on every chart.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];
const FLAG: RGBColor = RGBColor(214, 39, 40);

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn f(m: Money) -> f64 {
    m.to_f64().unwrap_or(0.0)
}

/// Cents for the eye, the exact amount for a machine.
fn usd_cell(m: Option<Money>, col: &str) -> String {
    match m {
        Some(m) => format!(
            "<td class=\"n\" data-col=\"{col}\" data-usd=\"{}\">{}</td>",
            money(m),
            money(m.round_dp(2))
        ),
        None => format!("<td class=\"n\" data-col=\"{col}\"></td>"),
    }
}

fn num_cell<T: std::fmt::Display>(v: T) -> String {
    format!("<td class=\"n\">{v}</td>")
}

fn text_cell(s: &str) -> String {
    format!("<td>{}</td>", escape(s))
}

fn legend(items: &[(String, RGBColor)]) -> String {
    let mut s = String::from("<p class=\"legend\">");
    for (name, c) in items {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            css(*c),
            escape(name)
        );
    }
    s.push_str("</p>");
    s
}

/// An axis top a little above the largest value, so the tallest bar does not touch the frame.
fn top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        1.0
    } else {
        max * 1.08
    }
}

/// Plotters writes a standalone SVG document; inside HTML the namespace is implied, and
/// leaving it out keeps the page free of any URL.
fn inline(svg: String) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
}

fn short_day(d: Day) -> String {
    d.to_string()[5..].to_string()
}

/// Vertical bars per day: each series stacked on the ones before it.
fn day_bars(days: &[Day], series: &[(Vec<f64>, RGBColor)], y_desc: &str) -> Result<String> {
    let n = days.len() as i32;
    let max = (0..days.len())
        .map(|i| series.iter().map(|s| s.0[i].max(0.0)).sum::<f64>())
        .fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top(max))?;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => days.get(*i as usize).map(|d| short_day(*d)),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len())
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(y_desc)
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut rects = Vec::new();
        for i in 0..n {
            let end = if i + 1 < n {
                SegmentValue::Exact(i + 1)
            } else {
                SegmentValue::Last
            };
            let mut base = 0.0;
            for (values, c) in series {
                let v = values[i as usize];
                if v > 0.0 {
                    let mut r = Rectangle::new(
                        [(SegmentValue::Exact(i), base), (end.clone(), base + v)],
                        c.filled(),
                    );
                    r.set_margin(0, 0, 2, 2);
                    rects.push(r);
                    base += v;
                }
            }
        }
        chart.draw_series(rects)?;
        root.present()?;
    }
    Ok(inline(svg))
}

/// Logged and invoiced tokens per day as two lines; flagged days shaded and marked.
fn token_lines(days: &[TokenDay]) -> Result<String> {
    let n = days.len() as i32;
    let m = |v: u128| v as f64 / 1e6;
    let max = days
        .iter()
        .map(|d| m(d.logged).max(m(d.invoiced)))
        .fold(0.0, f64::max);
    let (logged_c, invoiced_c) = (PALETTE[0], PALETTE[2]);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top(max))?;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => days.get(*i as usize).map(|d| short_day(d.day)),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len())
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("million tokens")
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let t = top(max);
        chart.draw_series(
            days.iter()
                .enumerate()
                .filter(|(_, d)| !d.flagged.is_empty())
                .map(|(i, _)| {
                    let i = i as i32;
                    let end = if i + 1 < n {
                        SegmentValue::Exact(i + 1)
                    } else {
                        SegmentValue::Last
                    };
                    Rectangle::new(
                        [(SegmentValue::Exact(i), 0.0), (end, t)],
                        FLAG.mix(0.15).filled(),
                    )
                }),
        )?;
        let at = |i: usize| SegmentValue::CenterOf(i as i32);
        chart.draw_series(LineSeries::new(
            days.iter().enumerate().map(|(i, d)| (at(i), m(d.logged))),
            logged_c.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            days.iter().enumerate().map(|(i, d)| (at(i), m(d.invoiced))),
            invoiced_c.stroke_width(2),
        ))?;
        chart.draw_series(
            days.iter()
                .enumerate()
                .filter(|(_, d)| !d.flagged.is_empty())
                .map(|(i, d)| Circle::new((at(i), m(d.invoiced)), 5, FLAG.filled())),
        )?;
        root.present()?;
    }
    Ok(inline(svg))
}

/// One horizontal bar's pieces.
enum Mark {
    /// A bar from `.0` to `.1` (USD).
    Span(f64, f64, RGBAColor),
    /// A thin tick at a value.
    Tick(f64),
}

/// Horizontal bars, one per label (top to bottom in the given order).
fn hbars(labels: &[String], marks: &[Vec<Mark>], x_desc: &str) -> Result<String> {
    let n = labels.len() as i32;
    let max = marks
        .iter()
        .flatten()
        .map(|m| match m {
            Mark::Span(a, b, _) => a.max(*b),
            Mark::Tick(v) => *v,
        })
        .fold(0.0, f64::max);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let label_area = (longest.min(48) as u32 * 7 + 20).max(80);
    let height = 70 + 34 * labels.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..top(max), (0..n - 1).into_segmented())?;
        // Row 0 at the top: plotters counts upwards.
        let row = |i: usize| n - 1 - i as i32;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => labels.get((n - 1 - *i) as usize).map(|l| {
                    if l.chars().count() > 48 {
                        format!("{}…", l.chars().take(47).collect::<String>())
                    } else {
                        l.clone()
                    }
                }),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(labels.len())
            .y_label_formatter(&label)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(x_desc)
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut shapes = Vec::new();
        let mut ticks = Vec::new();
        for (i, ms) in marks.iter().enumerate() {
            let r = row(i);
            let end = if r + 1 < n {
                SegmentValue::Exact(r + 1)
            } else {
                SegmentValue::Last
            };
            for m in ms {
                match m {
                    Mark::Span(a, b, c) if b > a => {
                        let mut rect = Rectangle::new(
                            [(*a, SegmentValue::Exact(r)), (*b, end.clone())],
                            c.filled(),
                        );
                        rect.set_margin(5, 5, 0, 0);
                        shapes.push(rect);
                    }
                    Mark::Span(..) => {}
                    Mark::Tick(v) => ticks.push(PathElement::new(
                        vec![(*v, SegmentValue::Exact(r)), (*v, end.clone())],
                        BLACK.stroke_width(3),
                    )),
                }
            }
        }
        chart.draw_series(shapes)?;
        chart.draw_series(ticks)?;
        root.present()?;
    }
    Ok(inline(svg))
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
pub fn render(page: &Page) -> Result<String> {
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
    daily_section(&mut h, page)?;
    tokens_section(&mut h, page)?;
    models_section(&mut h, page)?;
    fees_section(&mut h, page)?;
    forecast_section(&mut h, page)?;
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
    let (read, used, out, rejected) = page.inputs.iter().fold((0, 0, 0, 0), |a, f| {
        (
            a.0 + f.read,
            a.1 + f.used,
            a.2 + f.out_of_range,
            a.3 + f.rejected,
        )
    });
    let _ = writeln!(
        h,
        "<table id=\"rows-table\"><tr><th>files</th><th class=\"n\">rows read</th><th class=\"n\">used</th>\
<th class=\"n\">outside --from/--to</th><th class=\"n\">rejected</th></tr>\
<tr><td>{}</td><td class=\"n\" data-col=\"read\">{read}</td><td class=\"n\" data-col=\"used\">{used}</td>\
<td class=\"n\" data-col=\"out_of_range\">{out}</td><td class=\"n\" data-col=\"rejected\">{rejected}</td></tr></table>",
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
<th class=\"n\">rows read</th><th class=\"n\">used</th><th class=\"n\">outside --from/--to</th><th class=\"n\">rejected</th></tr>\n");
    for f in &page.inputs {
        let _ = writeln!(
            h,
            "<tr>{}{}{}{}{}{}</tr>",
            text_cell(f.kind),
            text_cell(&f.file),
            num_cell(f.read),
            num_cell(f.used),
            num_cell(f.out_of_range),
            num_cell(f.rejected),
        );
    }
    h.push_str("</table>\n</details>\n<p class=\"note\">Rejected rows are listed in rejected.csv next to this file.</p>\n");
}

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

//! The report page's figures (`spendrecon report`), drawn from one reconciliation's results and
//! the forecast of the month of the last logged day, so every figure on the page is one a CSV
//! output also holds. [`super::html`] draws them.

use std::collections::{BTreeMap, BTreeSet};

use super::html::{
    ClaimLine, FeeLine, ForecastLine, InputRow, ModelCost, Page, ShowbackLine, ShowbackSection,
    SummaryRow, TokenDay, TOP_TENANTS,
};
use crate::aggregate::DailyRow;
use crate::domain::{Day, Money, Month};
use crate::forecast::run_rate::ForecastRow;
use crate::reconcile::Reconciliation;
use crate::showback::Showback;

/// The page's figures from the stages' results. `invoiced`: invoices were given.
pub(crate) fn page(r: &Reconciliation, invoiced: bool, forecast_rows: &[ForecastRow]) -> Page {
    let daily = &r.daily;
    let mut providers: Vec<String> = daily.rows.iter().map(|d| d.provider.clone()).collect();
    providers.sort();
    providers.dedup();
    let pidx = |p: &str| providers.iter().position(|q| q == p).unwrap_or(0);

    // Every day from the first to the last logged day, so a day without calls shows as a gap.
    let first = daily.rows.iter().map(|d| d.day).min();
    let last = daily.rows.iter().map(|d| d.day).max();
    let days: Vec<Day> = match (first, last) {
        (Some(a), Some(b)) => (a.0..=b.0).map(Day).collect(),
        _ => Vec::new(),
    };
    let mut daily_cost = vec![vec![Money::ZERO; days.len()]; providers.len()];
    let mut models: BTreeMap<&str, ModelCost> = BTreeMap::new();
    for d in &daily.rows {
        let (p, i) = (pidx(&d.provider), (d.day.0 - days[0].0) as usize);
        let cost = d.cost_usd.unwrap_or_default();
        daily_cost[p][i] += cost;
        let m = models.entry(&d.model).or_insert_with(|| ModelCost {
            model: d.model.clone(),
            by_provider: vec![Money::ZERO; providers.len()],
            total: Money::ZERO,
            requests: 0,
            tokens: 0,
            unpriced_calls: 0,
        });
        m.by_provider[p] += cost;
        m.total += cost;
        m.requests += d.requests;
        m.tokens += d.total_tokens();
        m.unpriced_calls += d.unpriced_requests;
    }
    let mut models: Vec<ModelCost> = models.into_values().collect();
    models.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.model.cmp(&b.model)));

    // Per provider: priced usage and fees (`effective`), the invoice comparison (`summary`).
    let unpriced = daily.unpriced();
    let mut summary: BTreeMap<&str, SummaryRow> = BTreeMap::new();
    for (p, e) in &r.effective {
        summary.insert(
            p,
            SummaryRow {
                provider: p.clone(),
                priced_usd: e.usage_usd,
                unpriced_calls: unpriced
                    .iter()
                    .filter(|((q, _), _)| q == p)
                    .map(|(_, (calls, _))| calls)
                    .sum(),
                topup_fee_usd: e.fees.topup_usd,
                byok_fee_usd: e.fees.byok_usd,
                subscription_usd: e.fees.subscription_usd,
                effective_usd: e.total(),
                tokens: e.tokens,
                ..Default::default()
            },
        );
    }
    for s in &r.summary {
        let row = summary.entry(&s.provider).or_insert_with(|| SummaryRow {
            provider: s.provider.clone(),
            ..Default::default()
        });
        row.expected_usd = Some(s.logged_usd);
        row.invoiced_usd = Some(s.invoiced_usd);
        row.flagged_rows = s
            .rows
            .iter()
            .filter(|(k, _)| **k != "ok" && **k != "drift")
            .map(|(_, n)| n)
            .sum();
    }

    let tokens = invoiced.then(|| token_days(r));
    let forecast = forecast(forecast_rows, last);

    let mut inputs: Vec<InputRow> = Vec::new();
    let log_files = r.report.files.iter().map(|f| ("logs", f));
    let other = r.other_files.iter().enumerate().map(|(i, f)| {
        let kind = if i < r.invoice_files {
            "invoices"
        } else {
            "top-ups"
        };
        (kind, f)
    });
    for (kind, f) in log_files.chain(other) {
        inputs.push(InputRow {
            kind,
            file: f.file.clone(),
            read: f.read,
            used: f.used,
            out_of_range: f.out_of_range,
            rejected: f.rejected,
            skipped: f.skipped,
        });
    }

    let fees = r
        .fee_report
        .rows
        .iter()
        .map(|f| FeeLine {
            month: f.month,
            provider: f.provider.clone(),
            kind: f.kind.as_str(),
            basis_usd: f.basis_usd,
            fee_usd: f.fee_usd,
            expected_fee_usd: f.expected_fee_usd,
            status: f.status.as_str(),
            note: f.note.clone(),
        })
        .collect();

    let span = tokens
        .iter()
        .flatten()
        .map(|t| t.day)
        .chain(days.iter().copied());
    let period = span.clone().min().zip(span.max());
    let showback = r.showback.as_ref().map(|s| showback(s, &days));

    Page {
        period,
        flags: flags(r),
        summary: summary.into_values().collect(),
        inputs,
        providers,
        days,
        daily_cost,
        tokens,
        models,
        fees,
        forecast,
        showback,
        claims: r
            .disputes
            .iter()
            .map(|d| ClaimLine {
                day: d.day,
                provider: d.provider.clone(),
                kind: d.kind.as_str(),
                calls: d.calls,
                amount_usd: d.amount_usd,
                unbilled_usd: d.unbilled_usd,
                evidence: d.evidence.clone(),
                note: d.note.clone(),
            })
            .collect(),
    }
}

/// Each tenant's priced usage per day (the dearest [`TOP_TENANTS`] apart, or that less one and
/// the rest summed) and `showback.csv`'s rows.
fn showback(s: &Showback, days: &[Day]) -> ShowbackSection {
    let mut per: BTreeMap<&str, Vec<Money>> = BTreeMap::new();
    if let Some(first) = days.first() {
        for d in &s.days {
            let i = (d.day.0 - first.0) as usize;
            if i < days.len() {
                per.entry(&d.tenant)
                    .or_insert_with(|| vec![Money::ZERO; days.len()])[i] += d.usage_usd;
            }
        }
    }
    let total = |v: &[Money]| v.iter().copied().sum::<Money>();
    let mut series: Vec<(String, Vec<Money>)> =
        per.into_iter().map(|(t, v)| (t.to_string(), v)).collect();
    series.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0)));
    if series.len() > TOP_TENANTS {
        let rest = series.split_off(TOP_TENANTS - 1);
        let mut other = vec![Money::ZERO; days.len()];
        for (_, v) in &rest {
            for (o, d) in other.iter_mut().zip(v) {
                *o += *d;
            }
        }
        series.push((format!("{} other {}s", rest.len(), s.by.name()), other));
    }
    ShowbackSection {
        column: s.by.name().to_string(),
        series,
        rows: s
            .rows
            .iter()
            .map(|r| ShowbackLine {
                month: r.month,
                tenant: r.tenant.clone(),
                provider: r.provider.clone(),
                calls: r.calls,
                usage_usd: r.usage_usd,
                topup_fee_usd: r.topup_fee_usd,
                byok_fee_usd: r.byok_fee_usd,
                subscription_usd: r.subscription_usd,
                effective_usd: r.effective_usd(),
                unpriced_calls: r.unpriced_calls,
            })
            .collect(),
        unpriced_calls: s.unpriced.iter().map(|u| u.calls).sum(),
    }
}

/// Logged and invoiced tokens per day over the reconciled providers, every day of their span.
/// Logged tokens come from the daily sums (a month's row holds a month of them on its first
/// day); invoiced ones from the rows, a remainder below 0 counting as none.
fn token_days(r: &Reconciliation) -> Vec<TokenDay> {
    let reconciled: BTreeSet<&str> = r.rows.iter().map(|x| x.provider.as_str()).collect();
    let logged: Vec<&DailyRow> = r
        .daily
        .rows
        .iter()
        .filter(|d| d.requests > 0 && reconciled.contains(d.provider.as_str()))
        .collect();
    let days = r
        .rows
        .iter()
        .map(|x| x.day)
        .chain(logged.iter().map(|d| d.day));
    let (Some(a), Some(b)) = (days.clone().min(), days.max()) else {
        return Vec::new();
    };
    let mut out: Vec<TokenDay> = (a.0..=b.0)
        .map(|d| TokenDay {
            day: Day(d),
            logged: 0,
            invoiced: 0,
            flagged: Vec::new(),
        })
        .collect();
    for d in logged {
        out[(d.day.0 - a.0) as usize].logged += d.prompt_tokens + d.completion_tokens;
    }
    for x in &r.rows {
        let t = &mut out[(x.day.0 - a.0) as usize];
        let billed =
            x.invoice_prompt_tokens.unwrap_or(0) + x.invoice_completion_tokens.unwrap_or(0);
        t.invoiced += billed.max(0) as u128;
        if !x.status.reconciled() {
            t.flagged
                .push(format!("{} {}: {}", x.provider, x.model, x.status.as_str()));
        }
    }
    out
}

/// `forecast.csv` of the last logged day's month, summed per provider over its priced models.
fn forecast(rows: &[ForecastRow], last: Option<Day>) -> Vec<ForecastLine> {
    let Some(last) = last else {
        return Vec::new();
    };
    let month = Month::of(last);
    let mut out: BTreeMap<String, ForecastLine> = BTreeMap::new();
    for f in rows {
        let line = out
            .entry(f.provider.clone())
            .or_insert_with(|| ForecastLine {
                month,
                provider: f.provider.clone(),
                days_seen: f.days_seen,
                days_in_month: f.days_in_month,
                actual_usd: Money::ZERO,
                forecast_usd: Money::ZERO,
                low_usd: Money::ZERO,
                high_usd: Money::ZERO,
                unpriced_models: Vec::new(),
            });
        match (f.actual_usd, f.forecast_usd, f.low_usd, f.high_usd) {
            (Some(a), Some(fc), Some(lo), Some(hi)) => {
                line.actual_usd += a;
                line.forecast_usd += fc;
                line.low_usd += lo;
                line.high_usd += hi;
            }
            _ => line.unpriced_models.push(f.model.clone()),
        }
    }
    out.into_values().collect()
}

/// Why the exit status is 1, in words: `reconcile`'s reasons, and unpriced calls as `daily`
/// flags them (a provider without invoices is not reconciled, yet its unpriced calls count).
fn flags(r: &Reconciliation) -> Vec<String> {
    let mut out = Vec::new();
    let mut statuses: BTreeMap<&str, u64> = BTreeMap::new();
    for x in r.rows.iter().filter(|x| !x.status.reconciled()) {
        *statuses.entry(x.status.as_str()).or_default() += 1;
    }
    if !statuses.is_empty() {
        let list: Vec<String> = statuses.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push(format!(
            "reconciliation rows not ok or drift: {}",
            list.join(", ")
        ));
    }
    if !r.findings.is_empty() {
        let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &r.findings {
            *kinds.entry(f.kind).or_default() += 1;
        }
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push(format!("findings: {}", list.join(", ")));
    }
    if r.report.rejections.count > 0 {
        out.push(format!(
            "{} log rows rejected (rejected.csv)",
            r.report.rejections.count
        ));
    }
    if !r.other_rejections.is_empty() {
        out.push(format!(
            "{} invoice or ledger rows rejected (rejected.csv)",
            r.other_rejections.len()
        ));
    }
    for f in r.fee_report.rows.iter().filter(|f| f.status.flagged()) {
        out.push(format!(
            "fees {} {} {}: {}",
            f.month,
            f.provider,
            f.kind.as_str(),
            f.status.as_str()
        ));
    }
    for ((p, m), (calls, _)) in r.daily.unpriced() {
        out.push(format!("{p} {m}: {calls} billable calls have no rate"));
    }
    out
}

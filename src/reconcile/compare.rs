//! One `recon.csv` row: a bill line (or its remainder, for a coarser line) against the logged
//! groups it covers, with exactly one status and a note in words (docs/formats.md §6).

use std::collections::BTreeMap;

use rust_decimal::RoundingStrategy;

use super::ReconRow;
use crate::aggregate::DailyRow;
use crate::domain::{Day, Money, Month, Period, Status, Tolerance};
use crate::pricing::slugs::SlugMap;
use crate::sources::invoices::{Grain, InvoiceLine};

/// The logged groups a row compares, per measure: a group's money and its tokens are each
/// compared on exactly one row (the finest line that knows that measure), so nothing is counted
/// twice.
#[derive(Debug, Default)]
pub(super) struct Logged<'a> {
    pub money: Vec<&'a DailyRow>,
    pub tokens: Vec<&'a DailyRow>,
}

/// A bill line as the row compares it: a coarser line less the finer lines itemised within it.
#[derive(Debug)]
pub(super) struct Billed<'a> {
    pub line: &'a InvoiceLine,
    /// Prompt and completion tokens (a remainder may be negative), when the line has tokens.
    pub tokens: Option<(i128, i128)>,
    /// When the line has an amount.
    pub amount: Option<Money>,
    /// Finer lines inside a day total or a statement, each compared on its own row.
    pub itemised: usize,
    /// For a day x model line: the coarser line its group's money (or tokens) went to.
    pub money_on: Option<Grain>,
    pub tokens_on: Option<Grain>,
}

fn signed(n: i128) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// Amounts in notes: to the micro-dollar, so a sub-cent list price does not read as zero.
fn usd(m: Money) -> String {
    crate::domain::money(m.round_dp(6))
}

fn where_(grain: Grain) -> &'static str {
    match grain {
        Grain::DayModel => "day x model line",
        Grain::Day => "day total (model *)",
        Grain::Month => "month statement (model *)",
    }
}

/// What a coarser row is, in words, first in its note.
fn what(b: &Billed<'_>, period: Period) -> Vec<String> {
    let l = b.line;
    let mut info = Vec::new();
    match l.grain {
        Grain::DayModel => {
            if let Some(g) = b.money_on {
                info.push(format!("money compared on the {}", where_(g)));
            }
            if let Some(g) = b.tokens_on {
                info.push(format!("tokens compared on the {}", where_(g)));
            }
            return info;
        }
        Grain::Day => info.push("day total, every model".into()),
        Grain::Month => {
            let m = Month::of(l.day);
            let mut s = format!("month {m} statement, every model");
            if let Some(id) = &l.invoice_id {
                s.push_str(&format!(", invoice {id}"));
            }
            info.push(s);
            let (from, to) = (
                period.from.map_or(m.first_day(), |f| f.max(m.first_day())),
                period.to.map_or(m.last_day(), |t| t.min(m.last_day())),
            );
            if (from, to) != (m.first_day(), m.last_day()) {
                info.push(format!(
                    "--from/--to cover only {from}..{to} of the month: the logs compared are those days'"
                ));
            }
        }
    }
    if b.itemised > 0 {
        info.push(format!(
            "{} finer line(s) itemised in their own rows; compared here: what the total bills beyond them",
            b.itemised
        ));
    }
    info
}

/// The row of `billed` (none: logged usage no bill covers) against `logged`.
pub(super) fn row(
    key: (Day, &str, &str, Grain),
    billed: Option<&Billed<'_>>,
    logged: &Logged<'_>,
    slugs: &SlugMap,
    tol: &Tolerance,
    period: Period,
) -> ReconRow {
    let (day, provider, model, grain) = key;
    let line = billed.map(|b| b.line);
    // A coarser line whose usage is all itemised still compares: against no remaining usage.
    let itemised = billed.is_some_and(|b| b.itemised > 0);
    let knows_money = line.is_some_and(|l| l.amount_known);
    let knows_tokens = line.is_some_and(|l| l.tokens_known);
    let money_log = (!logged.money.is_empty() || (itemised && knows_money)).then(|| {
        logged
            .money
            .iter()
            .try_fold(Money::ZERO, |s, r| Some(s + r.gateway_usd()?))
    });
    let token_log = (!logged.tokens.is_empty() || (itemised && knows_tokens)).then(|| {
        logged.tokens.iter().fold((0u64, 0u128, 0u128), |s, r| {
            (
                s.0 + r.requests,
                s.1 + r.prompt_tokens,
                s.2 + r.completion_tokens,
            )
        })
    });
    let has_logs = money_log.is_some() || token_log.is_some();

    let mut info = billed.map(|b| what(b, period)).unwrap_or_default();
    if grain == Grain::DayModel {
        info.extend(spellings(line, logged));
    }
    if grain != Grain::DayModel
        && !knows_tokens
        && logged.tokens.is_empty()
        && !logged.money.is_empty()
    {
        info.push("tokens compared on the day x model lines".into());
    }
    let mut issues: Vec<(Status, String)> = Vec::new();
    let mut drift: Vec<String> = Vec::new();
    let billed_tokens = billed.and_then(|b| b.tokens);
    let billed_amount = billed.and_then(|b| b.amount);
    match (line, has_logs) {
        (None, _) => issues.push((Status::MissingInInvoice, "no invoice line for this day".into())),
        (Some(l), false) => issues.push((
            Status::MissingInLogs,
            if l.grain == Grain::DayModel {
                format!(
                    "invoice bills {} prompt and {} completion tokens (USD {}) that the logs never called",
                    l.prompt_tokens,
                    l.completion_tokens,
                    usd(l.amount_usd)
                )
            } else {
                format!("bills USD {} that the logs never called", usd(l.amount_usd))
            },
        )),
        (Some(l), true) => {
            if let (Some((bp, bc)), Some((_, lp, lc))) = (billed_tokens, token_log) {
                for (what, logged, billed) in [("prompt", lp, bp), ("completion", lc, bc)] {
                    let delta = billed - logged as i128;
                    if Money::from_i128_with_scale(delta.abs(), 0) > tol.tokens_for(logged) {
                        issues.push((Status::TokenMismatch, token_note(l.grain, what, billed, logged, delta)));
                    } else if delta != 0 {
                        drift.push(format!("{what} delta {}", signed(delta)));
                    }
                }
            }
        }
    }
    // Unpriced groups, per model (a coarser row may cover several days of one model).
    let mut unpriced: BTreeMap<&str, u64> = BTreeMap::new();
    for r in logged.money.iter().filter(|r| r.cost_usd.is_none()) {
        *unpriced.entry(&r.model).or_default() += r.unpriced_requests;
    }
    for (m, n) in unpriced {
        issues.push((
            Status::Unpriced,
            format!("no rate for {m} on {provider}: {n} billable call(s) cannot be priced"),
        ));
    }
    let expected = money_log.flatten();
    let invoiced = billed_amount;
    let delta_usd = expected.zip(invoiced).map(|(e, i)| i - e);
    if let (Some(d), Some(e), Some(i)) = (delta_usd, expected, invoiced) {
        if d.abs() > tol.usd {
            issues.push((
                Status::CostMismatch,
                format!(
                    "invoice USD {} vs USD {} at list prices ({}{})",
                    usd(i),
                    usd(e),
                    if d.is_sign_positive() { "+" } else { "-" },
                    usd(d.abs())
                ),
            ));
        }
    }
    retirements(key, logged, slugs, &mut issues);
    if issues.is_empty() && !drift.is_empty() {
        issues.push((
            Status::Drift,
            format!("token drift within tolerance: {}", drift.join(", ")),
        ));
    }
    issues.sort_by_key(|(s, _)| *s);
    let status = issues.first().map_or(Status::Ok, |(s, _)| *s);
    info.extend(issues.into_iter().map(|(_, n)| n));
    let note = info.join("; ");

    let log_total = token_log.map(|t| t.1 + t.2);
    let inv_total = billed_tokens.map(|(p, c)| p + c);
    let delta_tokens = log_total.zip(inv_total).map(|(a, b)| b - a as i128);
    let delta_pct = match (delta_tokens, log_total) {
        (Some(d), Some(t)) if t > 0 => Some(
            (Money::from_i128_with_scale(d, 0) * Money::ONE_HUNDRED
                / Money::from_i128_with_scale(t as i128, 0))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        ),
        _ => None,
    };
    ReconRow {
        day,
        provider: provider.to_string(),
        model: model.to_string(),
        grain,
        log_requests: token_log.map(|t| t.0),
        log_prompt_tokens: token_log.map(|t| t.1),
        log_completion_tokens: token_log.map(|t| t.2),
        invoice_prompt_tokens: billed_tokens.map(|t| t.0),
        invoice_completion_tokens: billed_tokens.map(|t| t.1),
        delta_tokens,
        delta_pct,
        expected_usd: expected,
        invoiced_usd: invoiced,
        delta_usd,
        status,
        note,
    }
}

/// The names the logs and the bill wrote for a day × model row's slug, where they differ from
/// it (docs/formats.md §2 "Model names"): `logs wrote …`, `invoice wrote …`.
fn spellings(line: Option<&InvoiceLine>, logged: &Logged<'_>) -> Vec<String> {
    let mut logs: Vec<&str> = Vec::new();
    for r in logged.money.iter().chain(&logged.tokens) {
        for w in &r.written {
            if !logs.contains(&w.as_str()) {
                logs.push(w);
            }
        }
    }
    logs.sort_unstable();
    let mut out = Vec::new();
    if !logs.is_empty() {
        out.push(format!("logs wrote {}", logs.join(", ")));
    }
    if let Some(l) = line.filter(|l| !l.written.is_empty()) {
        out.push(format!("invoice wrote {}", l.written.join(", ")));
    }
    out
}

fn token_note(grain: Grain, what: &str, billed: i128, logged: u128, delta: i128) -> String {
    if billed < 0 {
        format!(
            "the finer lines bill {} {what} tokens more than the {} (delta {})",
            -billed,
            where_(grain),
            signed(delta)
        )
    } else if logged > 0 {
        let ratio =
            Money::from_i128_with_scale(billed, 0) / Money::from_i128_with_scale(logged as i128, 0);
        format!(
            "invoice bills {:.2}x the logged {what} tokens ({billed} vs {logged}, delta {})",
            ratio.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
            signed(delta)
        )
    } else {
        format!("invoice bills {billed} {what} tokens, none logged")
    }
}

/// Models called on or after their retirement: the row's own model, or for a coarser row each
/// retired model among the groups it covers.
fn retirements(
    key: (Day, &str, &str, Grain),
    logged: &Logged<'_>,
    slugs: &SlugMap,
    issues: &mut Vec<(Status, String)>,
) {
    let (day, provider, model, grain) = key;
    if grain == Grain::DayModel {
        if let Some(r) = slugs
            .retirement(provider, model)
            .filter(|r| r.retired_on <= day)
        {
            issues.push((
                Status::RetiredModel,
                format!(
                    "model retired on {}, replacement {}",
                    r.retired_on, r.replacement
                ),
            ));
        }
        return;
    }
    let mut seen: BTreeMap<&str, Day> = BTreeMap::new();
    for r in logged.money.iter().chain(&logged.tokens) {
        let retired = slugs
            .retirement(provider, &r.model)
            .is_some_and(|x| x.retired_on <= r.day);
        if retired {
            let first = seen.entry(&r.model).or_insert(r.day);
            *first = (*first).min(r.day);
        }
    }
    for (m, first) in seen {
        if let Some(r) = slugs.retirement(provider, m) {
            issues.push((
                Status::RetiredModel,
                format!(
                    "model {m} retired on {}, called on {first}, replacement {}",
                    r.retired_on, r.replacement
                ),
            ));
        }
    }
}

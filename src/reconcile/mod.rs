//! Reconciliation: logged usage (priced at the rate table) against what the gateways billed, one
//! row per bill line (day × provider × model, a day's total or a month's statement) or logged
//! group no line covers, with exactly one status (docs/formats.md §6) and a note in plain words.

mod compare;
mod duplicates;
pub(crate) mod findings;
pub(crate) mod percall;
mod run;

pub(crate) use run::{compute, Inputs, Reconciliation, UsageInput};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::aggregate::{Daily, DailyRow};
use crate::domain::{Day, Money, Month, Period, Status, Tolerance};
use crate::pricing::slugs::SlugMap;
use crate::sources::invoices::{Grain, InvoiceLine, ALL_MODELS};
use compare::{Billed, Logged};

/// One row of `recon.csv`. A side that has no line leaves its columns empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReconRow {
    pub day: Day,
    pub provider: String,
    /// `*` for a day's total or a month's statement.
    pub model: String,
    /// What the bill line covers; a month's row has `day` = the month's first day.
    pub grain: Grain,
    pub log_requests: Option<u64>,
    pub log_prompt_tokens: Option<u128>,
    pub log_completion_tokens: Option<u128>,
    /// A coarser line's remainder may be negative: its finer lines bill more than it.
    pub invoice_prompt_tokens: Option<i128>,
    pub invoice_completion_tokens: Option<i128>,
    /// (invoice prompt + completion) − (logged prompt + completion).
    pub delta_tokens: Option<i128>,
    /// `delta_tokens` as a percentage of the logged tokens, rounded half-up to 2 decimals.
    pub delta_pct: Option<Money>,
    pub expected_usd: Option<Money>,
    pub invoiced_usd: Option<Money>,
    pub delta_usd: Option<Money>,
    pub status: Status,
    pub note: String,
}

/// Matches the daily log rows to the invoice lines of every provider that has an invoice line;
/// providers without any are left out (nothing was given to reconcile them against).
///
/// Lines come at three grains ([`Grain`]): day × model, a day's total and a month's statement.
/// A logged group (day × provider × model) is compared on the finest line that covers it, per
/// measure: its money on the finest covering line that has an amount, its tokens on the finest
/// that has tokens (when none has, on the finest line). A coarser line is a total of everything
/// in its span, so the finer lines inside it are taken off it and its row compares the rest with
/// the logged usage no finer line covers. Each group's money and tokens, and each billed dollar,
/// are on exactly one row (docs/commands/reconcile.md, "Bills at other grains").
pub(crate) fn reconcile(
    daily: &Daily,
    invoices: &[InvoiceLine],
    slugs: &SlugMap,
    tol: &Tolerance,
    period: Period,
) -> Vec<ReconRow> {
    let invoiced: BTreeSet<&str> = invoices.iter().map(|l| l.provider.as_str()).collect();
    let lines: Vec<&InvoiceLine> = invoices.iter().filter(|l| in_period(l, period)).collect();
    let index: HashMap<(Grain, Day, &str, &str), usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| ((l.grain, l.day, l.provider.as_str(), l.model.as_str()), i))
        .collect();
    let find = |g: Grain, d: Day, p: &str, m: &str| index.get(&(g, d, p, m)).copied();

    let mut logged: Vec<Logged> = lines.iter().map(|_| Logged::default()).collect();
    let mut on_coarser: Vec<(Option<Grain>, Option<Grain>)> = vec![(None, None); lines.len()];
    let mut uncovered: Vec<&DailyRow> = Vec::new();
    for r in daily
        .rows
        .iter()
        .filter(|r| r.requests > 0 && invoiced.contains(r.provider.as_str()))
    {
        let p = r.provider.as_str();
        let chain: Vec<usize> = [
            find(Grain::DayModel, r.day, p, &r.model),
            find(Grain::Day, r.day, p, ALL_MODELS),
            find(Grain::Month, Month::of(r.day).first_day(), p, ALL_MODELS),
        ]
        .into_iter()
        .flatten()
        .collect();
        let Some(&finest) = chain.first() else {
            uncovered.push(r);
            continue;
        };
        let owner = |knows: fn(&InvoiceLine) -> bool| {
            chain
                .iter()
                .copied()
                .find(|&i| knows(lines[i]))
                .unwrap_or(finest)
        };
        let (money, tokens) = (owner(|l| l.amount_known), owner(|l| l.tokens_known));
        logged[money].money.push(r);
        logged[tokens].tokens.push(r);
        if lines[finest].grain == Grain::DayModel {
            let o = &mut on_coarser[finest];
            o.0 = o.0.or((money != finest).then(|| lines[money].grain));
            o.1 = o.1.or((tokens != finest).then(|| lines[tokens].grain));
        }
    }

    let billed = remainders(&lines, &on_coarser);
    let mut rows: Vec<ReconRow> = lines
        .iter()
        .zip(&billed)
        .zip(&logged)
        .map(|((l, b), g)| {
            let key = (l.day, l.provider.as_str(), l.model.as_str(), l.grain);
            compare::row(key, Some(b), g, slugs, tol, period)
        })
        .chain(uncovered.iter().map(|r| {
            let key = (
                r.day,
                r.provider.as_str(),
                r.model.as_str(),
                Grain::DayModel,
            );
            let g = Logged {
                money: vec![r],
                tokens: vec![r],
            };
            compare::row(key, None, &g, slugs, tol, period)
        }))
        .collect();
    rows.sort_by(|a, b| {
        (a.day, &a.provider, &a.model, a.grain).cmp(&(b.day, &b.provider, &b.model, b.grain))
    });
    rows
}

/// A day × model or day line inside `--from/--to`; a month's statement when the period
/// overlaps its month (the note says when it covers only part of it).
fn in_period(l: &InvoiceLine, period: Period) -> bool {
    match l.grain {
        Grain::DayModel | Grain::Day => period.contains(l.day),
        Grain::Month => {
            let m = Month::of(l.day);
            period.from.is_none_or(|f| f <= m.last_day())
                && period.to.is_none_or(|t| t >= m.first_day())
        }
    }
}

/// Each line as its row compares it: a day's total less its day × model lines, a month's
/// statement less each of its days (the day's total where the bill has one, else its day × model
/// lines), per measure the finer line knows.
fn remainders<'a>(
    lines: &[&'a InvoiceLine],
    on_coarser: &[(Option<Grain>, Option<Grain>)],
) -> Vec<Billed<'a>> {
    // Per provider × day: its day total and its day × model lines (indices into `lines`).
    type DayLines = (Option<usize>, Vec<usize>);
    let mut days: BTreeMap<(&str, Day), DayLines> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let e = days.entry((l.provider.as_str(), l.day)).or_default();
        match l.grain {
            Grain::Day => e.0 = Some(i),
            Grain::DayModel => e.1.push(i),
            Grain::Month => {}
        }
    }
    let amount = |i: usize| lines[i].amount_known.then_some(lines[i].amount_usd);
    let tokens = |i: usize| {
        let l = lines[i];
        l.tokens_known
            .then_some((l.prompt_tokens as i128, l.completion_tokens as i128))
    };
    // What the finer lines of one provider-day bill, per measure, and how many of them bill
    // something the coarser line `of` also bills.
    let day_part = |of: &InvoiceLine, total: Option<usize>, fine: &[usize]| {
        let sum_money = |v: &[usize]| v.iter().filter_map(|&i| amount(i)).sum::<Money>();
        let sum_tokens = |v: &[usize]| {
            v.iter()
                .filter_map(|&i| tokens(i))
                .fold((0, 0), |a, t| (a.0 + t.0, a.1 + t.1))
        };
        let money = total.and_then(amount).unwrap_or_else(|| sum_money(fine));
        let toks = total.and_then(tokens).unwrap_or_else(|| sum_tokens(fine));
        let shares = |&i: &usize| {
            (of.amount_known && lines[i].amount_known) || (of.tokens_known && lines[i].tokens_known)
        };
        let count =
            fine.iter().filter(|i| shares(i)).count() + total.iter().filter(|i| shares(i)).count();
        (money, toks, count)
    };
    lines
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let (less_money, less_tokens, itemised) = match l.grain {
                Grain::DayModel => (Money::ZERO, (0, 0), 0),
                Grain::Day => {
                    let fine = days
                        .get(&(l.provider.as_str(), l.day))
                        .map_or(&[][..], |d| &d.1);
                    day_part(l, None, fine)
                }
                Grain::Month => {
                    let m = Month::of(l.day);
                    days.range(
                        (l.provider.as_str(), m.first_day())..=(l.provider.as_str(), m.last_day()),
                    )
                    .map(|(_, (total, fine))| day_part(l, *total, fine))
                    .fold((Money::ZERO, (0, 0), 0), |a, d| {
                        (a.0 + d.0, (a.1 .0 + d.1 .0, a.1 .1 + d.1 .1), a.2 + d.2)
                    })
                }
            };
            Billed {
                line: l,
                tokens: tokens(i).map(|(p, c)| (p - less_tokens.0, c - less_tokens.1)),
                amount: amount(i).map(|a| a - less_money),
                itemised,
                money_on: on_coarser[i].0,
                tokens_on: on_coarser[i].1,
            }
        })
        .collect()
}

/// Per provider: logged (list-price) cost, invoiced cost, their difference, rows by status.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProviderSummary {
    pub provider: String,
    pub logged_usd: Money,
    pub invoiced_usd: Money,
    pub rows: BTreeMap<&'static str, u64>,
}

pub(crate) fn summarize(rows: &[ReconRow]) -> Vec<ProviderSummary> {
    let mut by: BTreeMap<&str, ProviderSummary> = BTreeMap::new();
    for r in rows {
        let s = by.entry(&r.provider).or_insert_with(|| ProviderSummary {
            provider: r.provider.clone(),
            ..Default::default()
        });
        s.logged_usd += r.expected_usd.unwrap_or_default();
        s.invoiced_usd += r.invoiced_usd.unwrap_or_default();
        *s.rows.entry(r.status.as_str()).or_default() += 1;
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn tolerance_is_the_larger_of_tokens_and_percent() {
        let t = Tolerance {
            tokens: 10,
            pct: dec!(0.1),
            usd: dec!(0.01),
        };
        assert_eq!(t.tokens_for(1_000), dec!(10));
        assert_eq!(t.tokens_for(50_000), dec!(50));
    }

    #[test]
    fn status_order_is_the_contracts() {
        let mut v = vec![
            Status::RetiredModel,
            Status::CostMismatch,
            Status::Unpriced,
            Status::TokenMismatch,
        ];
        v.sort();
        assert_eq!(
            v,
            [
                Status::TokenMismatch,
                Status::Unpriced,
                Status::CostMismatch,
                Status::RetiredModel
            ]
        );
        assert!(Status::MissingInInvoice < Status::MissingInLogs && Status::Drift < Status::Ok);
    }

    fn bill(
        d: &str,
        model: &str,
        grain: Grain,
        tokens: Option<(u128, u128)>,
        usd: Money,
    ) -> InvoiceLine {
        InvoiceLine {
            day: Day::parse(d).unwrap(),
            provider: "p".into(),
            model: model.into(),
            grain,
            written: Vec::new(),
            prompt_tokens: tokens.map_or(0, |t| t.0),
            completion_tokens: tokens.map_or(0, |t| t.1),
            cached_tokens: None,
            cache_write_tokens: None,
            requests: None,
            amount_usd: usd,
            tokens_known: tokens.is_some(),
            amount_known: true,
            invoice_id: None,
        }
    }

    fn logged(d: &str, model: &str, prompt: u128, completion: u128, usd: Money) -> DailyRow {
        DailyRow {
            day: Day::parse(d).unwrap(),
            provider: "p".into(),
            model: model.into(),
            requests: 1,
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: Some(usd),
            ..Default::default()
        }
    }

    /// A day total whose day × model lines bill more tokens than it: the rest is negative, said
    /// in words, and flagged; a model the day's lines do not name is compared on the total.
    #[test]
    fn a_day_total_below_its_lines_leaves_a_negative_rest() {
        let daily = Daily {
            rows: vec![
                logged("2026-04-01", "m/a", 150, 10, dec!(1)),
                logged("2026-04-01", "m/b", 40, 5, dec!(0.5)),
            ],
            ..Default::default()
        };
        let lines = [
            bill(
                "2026-04-01",
                "m/a",
                Grain::DayModel,
                Some((150, 10)),
                dec!(1),
            ),
            bill("2026-04-01", "*", Grain::Day, Some((100, 15)), dec!(1.5)),
        ];
        let tol = Tolerance {
            tokens: 10,
            pct: dec!(0.1),
            usd: dec!(0.01),
        };
        let rows = reconcile(&daily, &lines, &SlugMap::default(), &tol, Period::default());
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.model.as_str(),
                    r.invoice_prompt_tokens,
                    r.log_prompt_tokens,
                    r.status,
                )
            })
            .collect();
        // The total's rest: 100 − 150 = −50 prompt, 15 − 10 = 5 completion, USD 0.5, against
        // m/b's 40 / 5 / 0.5.
        assert_eq!(
            got,
            [
                ("*", Some(-50), Some(40), Status::TokenMismatch),
                ("m/a", Some(150), Some(150), Status::Ok),
            ]
        );
        assert!(
            rows[0].note.contains(
                "the finer lines bill 50 prompt tokens more than the day total (model *) (delta -90)"
            ),
            "{}",
            rows[0].note
        );
        assert_eq!(
            (rows[0].expected_usd, rows[0].invoiced_usd),
            (Some(dec!(0.5)), Some(dec!(0.5)))
        );
    }
}

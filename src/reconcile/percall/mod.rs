//! Per-call matching and disputes (docs/formats.md §11): when the logs carry `request_id` and a
//! bill names its calls (an OpenRouter activity export's `generation_id`, a generation record's
//! `id`), the two sides are
//! matched one to one, and what the gateway billed wrongly becomes a claim: one `disputes.csv`
//! row per provider × day × kind, with the calls behind it as evidence.
//!
//! Both sides come sorted by id ([`sink::CallLog`], [`BilledIter`]), so matching is one merge of
//! two sorted streams: memory holds one id's calls at a time, and the disputed calls.
//!
//! Per id (the rows of one `generation_id`, the logged calls of one `request_id`):
//! - billed, never logged: the first billed row is `billed_not_logged` (claim: its amount);
//! - logged, never billed: `logged_not_billed` (amount 0: money in our favour, never claimed);
//! - every billed row after the first: `billed_twice` (claim: that row's amount);
//! - the first billed row against the logged call: tokens beyond the logged call's by more than
//!   the tolerance (prompt or completion, as `recon.csv` compares a day's) are
//!   `tokens_overbilled`; else an amount above the call at the rate table by more than
//!   `--tolerance-usd` is `cost_overbilled`; either claims billed − expected (≥ 0). A BYOK call's
//!   amount is the gateway's BYOK fee, checked in `fees.csv`, not here.
//!
//! A provider is matched per call only when every billable logged call of it carries a
//! `request_id` and every row of its bill names its call: else a missing id would read as a
//! call billed but never logged. Why a provider was not matched is said in `recon.csv`'s note.

mod claims;
pub(crate) mod sink;

pub(crate) use claims::{annotate, fee_disputes, Unmatched};

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::domain::{Day, Money, Period, Tolerance};
use crate::sources::invoices::calls::BilledIter;
use crate::sources::invoices::BilledCall;
use sink::{LoggedCall, LoggedIter};

/// `disputes.csv` `kind`, in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DisputeKind {
    BilledTwice,
    BilledNotLogged,
    TokensOverbilled,
    CostOverbilled,
    FeeOvercharged,
    LoggedNotBilled,
}

impl DisputeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DisputeKind::BilledTwice => "billed_twice",
            DisputeKind::BilledNotLogged => "billed_not_logged",
            DisputeKind::TokensOverbilled => "tokens_overbilled",
            DisputeKind::CostOverbilled => "cost_overbilled",
            DisputeKind::FeeOvercharged => "fee_overcharged",
            DisputeKind::LoggedNotBilled => "logged_not_billed",
        }
    }
}

/// One call (or purchase) behind a dispute: both sides as far as they exist.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Evidence {
    pub model: String,
    pub request_id: Option<String>,
    pub generation_id: Option<String>,
    pub log_ts_ms: Option<i64>,
    pub billed_ts_ms: Option<i64>,
    pub log_prompt_tokens: Option<u64>,
    pub log_completion_tokens: Option<u64>,
    pub billed_prompt_tokens: Option<u64>,
    pub billed_completion_tokens: Option<u64>,
    pub expected_usd: Option<Money>,
    pub billed_usd: Option<Money>,
    pub claim_usd: Money,
    /// Where the billed row was read (`file:line`).
    pub source: String,
    /// In words, for rows that are not calls (a purchase's fee).
    pub detail: String,
}

/// One row of `disputes.csv` and its evidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dispute {
    pub provider: String,
    pub day: Day,
    pub kind: DisputeKind,
    pub calls: u64,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    /// What to claim, ≥ 0 (0 for `logged_not_billed`).
    pub amount_usd: Money,
    /// For `logged_not_billed`: the logged calls at the rate table (in our favour).
    pub unbilled_usd: Money,
    /// The evidence file, relative to `--out` (`evidence/….csv`).
    pub evidence: String,
    pub note: String,
    pub rows: Vec<Evidence>,
}

/// Per day × provider × model, what per-call matching found, for `recon.csv`'s notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tally {
    /// Per kind: calls and the amount to claim (for `logged_not_billed`, the unbilled amount).
    pub kinds: BTreeMap<DisputeKind, (u64, Money)>,
}

/// Everything per-call matching found.
#[derive(Debug, Default)]
pub(crate) struct PerCall {
    /// The providers matched per call.
    pub providers: BTreeSet<String>,
    pub disputes: Vec<Dispute>,
    pub tallies: BTreeMap<(Day, String, String), Tally>,
}

/// Matches the sorted logged and billed calls of `providers` (the providers that may be
/// matched); billed rows whose day is outside `period` are matched but claim nothing.
pub(crate) fn match_calls(
    mut logged: LoggedIter,
    mut billed: BilledIter,
    files: &[String],
    providers: &BTreeSet<String>,
    tol: &Tolerance,
    period: Period,
) -> io::Result<PerCall> {
    let mut m = Matcher {
        tol,
        period,
        files,
        found: BTreeMap::new(),
        tallies: BTreeMap::new(),
    };
    // The calls of one key, read into buffers reused from key to key (no allocation per call).
    let (mut ls, mut bs): (Vec<LoggedCall>, Vec<BilledCall>) = (Vec::new(), Vec::new());
    loop {
        let key = match (logged.key(), billed.key()) {
            (None, None) => break,
            (Some(k), None) | (None, Some(k)) => k,
            (Some(a), Some(c)) => a.min(c),
        };
        let mut nl = 0;
        while logged.key() == Some(key) {
            if nl == ls.len() {
                ls.push(LoggedCall::default());
            }
            logged.take(&mut ls[nl])?;
            if providers.contains(&ls[nl].provider) {
                nl += 1;
            }
        }
        let mut nb = 0;
        while billed.key() == Some(key) {
            if nb == bs.len() {
                bs.push(BilledCall::default());
            }
            billed.take(&mut bs[nb])?;
            if providers.contains(&bs[nb].provider) {
                nb += 1;
            }
        }
        let (ls, bs) = (&ls[..nl], &mut bs[..nb]);
        // In billing order: the first row read bills the call, later ones bill it again.
        if bs.len() > 1 {
            bs.sort_by_key(|c| (c.ts_ms, c.file, c.line));
        }
        // The calls of one key: one id, but for the rare hash clash (matched by the id itself).
        let first = ls.first().map(|c| &c.id).or(bs.first().map(|c| &c.id));
        let one_id = ls
            .iter()
            .map(|c| &c.id)
            .chain(bs.iter().map(|c| &c.id))
            .all(|i| Some(i) == first);
        if one_id {
            m.one(ls.first(), bs);
            continue;
        }
        let ids: BTreeSet<&str> = ls
            .iter()
            .map(|c| c.id.as_str())
            .chain(bs.iter().map(|c| c.id.as_str()))
            .collect();
        for id in ids {
            let lc = ls.iter().find(|c| c.id == id);
            let bc: Vec<BilledCall> = bs.iter().filter(|c| c.id == id).cloned().collect();
            m.one(lc, &bc);
        }
    }
    Ok(PerCall {
        providers: providers.clone(),
        disputes: m.disputes(),
        tallies: m.tallies,
    })
}

struct Matcher<'a> {
    tol: &'a Tolerance,
    period: Period,
    files: &'a [String],
    found: BTreeMap<(String, Day, DisputeKind), Vec<Evidence>>,
    tallies: BTreeMap<(Day, String, String), Tally>,
}

impl Matcher<'_> {
    /// One call id: its first logged call and its billed rows (in time order).
    fn one(&mut self, lc: Option<&LoggedCall>, bc: &[BilledCall]) {
        let Some((first, repeats)) = bc.split_first() else {
            if let Some(l) = lc {
                let ev = Evidence {
                    expected_usd: l.expected,
                    ..self.logged(l)
                };
                self.add(
                    &l.provider,
                    l.day,
                    &l.model,
                    DisputeKind::LoggedNotBilled,
                    ev,
                );
            }
            return;
        };
        for r in repeats {
            let ev = Evidence {
                claim_usd: r.amount,
                ..self.both(lc, r)
            };
            self.add(&r.provider, r.day, &r.model, DisputeKind::BilledTwice, ev);
        }
        let Some(l) = lc else {
            let ev = Evidence {
                claim_usd: first.amount,
                ..self.both(None, first)
            };
            self.add(
                &first.provider,
                first.day,
                &first.model,
                DisputeKind::BilledNotLogged,
                ev,
            );
            return;
        };
        let over = |billed: u64, logged: u64| {
            billed > logged && Money::from(billed - logged) > self.tol.tokens_for(logged as u128)
        };
        let tokens_over = over(first.prompt, l.prompt) || over(first.completion, l.completion);
        let extra = l.expected.filter(|_| !l.byok).map(|e| first.amount - e);
        let kind = if tokens_over {
            DisputeKind::TokensOverbilled
        } else if extra.is_some_and(|x| x > self.tol.usd) {
            DisputeKind::CostOverbilled
        } else {
            return;
        };
        let ev = Evidence {
            claim_usd: extra.unwrap_or_default().max(Money::ZERO),
            ..self.both(lc, first)
        };
        self.add(&first.provider, first.day, &first.model, kind, ev);
    }

    fn logged(&self, l: &LoggedCall) -> Evidence {
        Evidence {
            model: l.model.clone(),
            request_id: Some(l.id.clone()),
            log_ts_ms: Some(l.ts_ms),
            log_prompt_tokens: Some(l.prompt),
            log_completion_tokens: Some(l.completion),
            expected_usd: l.expected.filter(|_| !l.byok),
            ..Default::default()
        }
    }

    fn both(&self, lc: Option<&LoggedCall>, b: &BilledCall) -> Evidence {
        let base = lc.map(|l| self.logged(l)).unwrap_or_default();
        Evidence {
            model: b.model.clone(),
            generation_id: Some(b.id.clone()),
            billed_ts_ms: Some(b.ts_ms),
            billed_prompt_tokens: Some(b.prompt),
            billed_completion_tokens: Some(b.completion),
            billed_usd: Some(b.amount),
            source: format!(
                "{}:{}",
                self.files.get(b.file).map_or("", String::as_str),
                b.line
            ),
            ..base
        }
    }

    fn add(&mut self, provider: &str, day: Day, model: &str, kind: DisputeKind, ev: Evidence) {
        if !self.period.contains(day) {
            return;
        }
        let t = self
            .tallies
            .entry((day, provider.to_string(), model.to_string()))
            .or_default()
            .kinds
            .entry(kind)
            .or_default();
        t.0 += 1;
        t.1 += if kind == DisputeKind::LoggedNotBilled {
            ev.expected_usd.unwrap_or_default()
        } else {
            ev.claim_usd
        };
        self.found
            .entry((provider.to_string(), day, kind))
            .or_default()
            .push(ev);
    }

    fn disputes(&mut self) -> Vec<Dispute> {
        let found = std::mem::take(&mut self.found);
        found
            .into_iter()
            .map(|((provider, day, kind), mut rows)| {
                rows.sort_by(|a, b| {
                    (
                        a.billed_ts_ms.or(a.log_ts_ms),
                        &a.generation_id,
                        &a.request_id,
                    )
                        .cmp(&(
                            b.billed_ts_ms.or(b.log_ts_ms),
                            &b.generation_id,
                            &b.request_id,
                        ))
                });
                claims::dispute(provider, day, kind, rows)
            })
            .collect()
    }
}

/// The dispute rows sorted as `disputes.csv` lists them: day, provider, kind.
pub(crate) fn sort(disputes: &mut [Dispute]) {
    disputes.sort_by(|a, b| (a.day, &a.provider, a.kind).cmp(&(b.day, &b.provider, b.kind)));
}

#[cfg(test)]
mod tests;

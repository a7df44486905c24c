//! Disputes as a finance team files them: one row per provider × day × kind with its sums and
//! a note, the evidence file's name built from safe parts only, the fee overcharges of the
//! top-up ledger, and what per-call matching found said in `recon.csv`'s notes.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::{Dispute, DisputeKind, Evidence, PerCall};
use crate::domain::{money, Day, Money, Month, Status};
use crate::fees::{FeeKind, FeeReport, FeeStatus};
use crate::reconcile::ReconRow;
use crate::sources::invoices::Grain;

/// The gateways whose bills can name their calls (an OpenRouter activity export's
/// `generation_id`, a generation record's `id`): a flagged row of theirs that could not be matched per call says why.
const NAMES_CALLS: [&str; 1] = ["openrouter"];

/// Per provider that has a bill but was not matched per call: why, in words.
pub(crate) type Unmatched = BTreeMap<String, String>;

/// The longest provider part of an evidence file name.
const MAX_PART: usize = 40;

/// Names Windows reserves (with any extension): never a file name's first part.
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A provider's name as a file-name part: lower case `[a-z0-9-]` only (anything else becomes
/// `-`), at most [`MAX_PART`] bytes, never empty or a reserved name; a name that had to be
/// changed gets a short hash of the original, so two providers never share a file.
pub(crate) fn safe_part(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    s.truncate(MAX_PART);
    let s = s.trim_matches('-').to_string();
    if !s.is_empty() && s == name && !RESERVED.contains(&s.as_str()) {
        return s;
    }
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    let s = if s.is_empty() { "provider".into() } else { s };
    format!("{s}-{:08x}", h.finish() as u32)
}

/// `evidence/<provider>-<day>-<kind>.csv`.
pub(crate) fn evidence_name(provider: &str, day: Day, kind: DisputeKind) -> String {
    format!(
        "evidence/{}-{day}-{}.csv",
        safe_part(provider),
        kind.as_str()
    )
}

/// A dispute row from its evidence rows.
pub(super) fn dispute(
    provider: String,
    day: Day,
    kind: DisputeKind,
    rows: Vec<Evidence>,
) -> Dispute {
    let n = rows.len() as u64;
    let unbilled = kind == DisputeKind::LoggedNotBilled;
    let (mut prompt, mut completion, mut amount, mut favour) =
        (0u128, 0u128, Money::ZERO, Money::ZERO);
    for r in &rows {
        let (p, c) = if unbilled {
            (r.log_prompt_tokens, r.log_completion_tokens)
        } else {
            (r.billed_prompt_tokens, r.billed_completion_tokens)
        };
        prompt += p.unwrap_or(0) as u128;
        completion += c.unwrap_or(0) as u128;
        amount += r.claim_usd;
        if unbilled {
            favour += r.expected_usd.unwrap_or_default();
        }
    }
    let over = |billed: Option<u64>, logged: Option<u64>| {
        billed.unwrap_or(0).saturating_sub(logged.unwrap_or(0)) as u128
    };
    let s = if n == 1 { "" } else { "s" };
    let note = match kind {
        DisputeKind::BilledTwice => format!(
            "{n} generation{s} billed again under an id already billed; claim the repeated rows' amounts"
        ),
        DisputeKind::BilledNotLogged => {
            format!("{n} generation{s} billed that no logged call's request_id names")
        }
        DisputeKind::TokensOverbilled => {
            let (p, c) = rows.iter().fold((0u128, 0u128), |a, r| {
                (
                    a.0 + over(r.billed_prompt_tokens, r.log_prompt_tokens),
                    a.1 + over(r.billed_completion_tokens, r.log_completion_tokens),
                )
            });
            format!(
                "{n} call{s} billed with more tokens than logged beyond the tolerance ({p} prompt and {c} completion tokens over); claim billed less the logged call at list price"
            )
        }
        DisputeKind::CostOverbilled => format!(
            "{n} call{s} billed above the logged call at list price by more than the money tolerance; claim the difference"
        ),
        DisputeKind::FeeOvercharged => {
            format!("{n} fee{s} charged above the fee policy; claim the difference")
        }
        DisputeKind::LoggedNotBilled => format!(
            "{n} logged call{s} not billed: USD {} at list price in our favour, never claimed",
            money(favour)
        ),
    };
    Dispute {
        evidence: evidence_name(&provider, day, kind),
        provider,
        day,
        kind,
        calls: n,
        prompt_tokens: prompt,
        completion_tokens: completion,
        amount_usd: amount,
        unbilled_usd: favour,
        note,
        rows,
    }
}

/// The fees charged above the policy: each top-up whose charged fee is over its expected fee by
/// more than the tolerance (`fees.csv` flags it), on the purchase's day; a BYOK fee row of a
/// month charged over the model, on the month's first day.
pub(crate) fn fee_disputes(report: &FeeReport) -> Vec<Dispute> {
    let mut found: BTreeMap<(String, Day), Vec<Evidence>> = BTreeMap::new();
    for c in &report.checks {
        let Some(delta) = c.delta_usd() else { continue };
        if c.status != FeeStatus::FeeMismatch || delta <= Money::ZERO {
            continue;
        }
        let p = &c.purchase;
        found
            .entry((p.provider.clone(), p.day))
            .or_default()
            .push(Evidence {
                billed_usd: p.fee_usd,
                expected_usd: c.expected_fee_usd,
                claim_usd: delta,
                source: format!("{}:{}", p.file, p.line),
                detail: format!(
                    "{} top-up of USD {}: fee charged {}, policy says {}",
                    FeeKind::topup(p.method).as_str(),
                    money(p.amount_usd),
                    money(p.fee_usd.unwrap_or_default()),
                    money(c.expected_fee_usd.unwrap_or_default())
                ),
                ..Default::default()
            });
    }
    for r in &report.rows {
        let (Some(fee), Some(exp)) = (r.fee_usd, r.expected_fee_usd) else {
            continue;
        };
        if r.kind != FeeKind::Byok || r.status != FeeStatus::FeeMismatch || fee <= exp {
            continue;
        }
        found
            .entry((r.provider.clone(), Month::first_day(r.month)))
            .or_default()
            .push(Evidence {
                billed_usd: Some(fee),
                expected_usd: Some(exp),
                claim_usd: fee - exp,
                detail: format!(
                    "BYOK fees of {}: charged {}, policy says {}",
                    r.month,
                    money(fee),
                    money(exp)
                ),
                ..Default::default()
            });
    }
    found
        .into_iter()
        .map(|((p, d), rows)| dispute(p, d, DisputeKind::FeeOvercharged, rows))
        .collect()
}

fn kind_words(kind: DisputeKind, n: u64) -> String {
    let s = if n == 1 { "" } else { "s" };
    match kind {
        DisputeKind::BilledTwice => format!("{n} generation{s} billed twice"),
        DisputeKind::BilledNotLogged => format!("{n} billed but never logged"),
        DisputeKind::TokensOverbilled => format!("{n} billed with tokens over the logged call"),
        DisputeKind::CostOverbilled => format!("{n} billed over the logged call's cost"),
        DisputeKind::FeeOvercharged => format!("{n} fee{s} overcharged"),
        DisputeKind::LoggedNotBilled => format!("{n} logged but never billed"),
    }
}

/// Adds to each `recon.csv` row's note what per-call matching found on its day × provider ×
/// model, and whether the claims add up to the row's difference; on a flagged row of a provider
/// that was not matched per call, why not.
pub(crate) fn annotate(rows: &mut [ReconRow], per: &PerCall, unmatched: &Unmatched) {
    for r in rows.iter_mut() {
        let mut add = |s: String| {
            if r.note.is_empty() {
                r.note = s;
            } else {
                r.note = format!("{}; {s}", r.note);
            }
        };
        if per.providers.contains(&r.provider) {
            if r.grain != Grain::DayModel {
                continue;
            }
            let Some(t) = per
                .tallies
                .get(&(r.day, r.provider.clone(), r.model.clone()))
            else {
                continue;
            };
            let mut claims = Money::ZERO;
            let mut favour = Money::ZERO;
            let parts: Vec<String> = t
                .kinds
                .iter()
                .map(|(k, (n, usd))| {
                    if *k == DisputeKind::LoggedNotBilled {
                        favour += usd;
                        format!("{} (USD {} in our favour)", kind_words(*k, *n), money(*usd))
                    } else {
                        claims += usd;
                        format!("{} (claim USD {})", kind_words(*k, *n), money(*usd))
                    }
                })
                .collect();
            let explained = claims - favour;
            let sums = match r.delta_usd {
                Some(d) if d == explained => {
                    format!("claims less unbilled calls = the difference, USD {}", money(d))
                }
                Some(d) => format!(
                    "claims less unbilled calls = USD {} of the difference USD {}; the rest, USD {}, is within the per-call tolerances or BYOK fees",
                    money(explained),
                    money(d),
                    money(d - explained)
                ),
                None => String::new(),
            };
            let mut s = format!("per call: {}", parts.join(", "));
            if !sums.is_empty() {
                s = format!("{s}; {sums}");
            }
            add(s);
        } else if let Some(why) = unmatched.get(&r.provider) {
            let per_call_cause = matches!(r.status, Status::TokenMismatch | Status::CostMismatch);
            if per_call_cause && NAMES_CALLS.contains(&r.provider.as_str()) {
                add(format!("no per-call claim: {why}"));
            }
        }
    }
}

//! The slug audit: every provider × model in the logs checked against the rate table and the slug
//! map, so a retired, soon-retiring, never-listed or pinned slug is seen before it breaks or
//! bills wrongly (docs/formats.md §6 `audit.csv`).
//!
//! Built on the daily rows, so its calls, tokens and cost add up with `daily.csv`: `calls` counts
//! every call (failed ones too: a retired slug often shows up as errors), tokens and cost the
//! billable ones. A row is a slug: the names the logs wrote for it (an OpenAI snapshot name, a
//! display name, …) are summed into it and named in its note, and a name that resolves to no
//! slug ([`crate::pricing::aliases`]) is a row of its own, `never_listed`.

use std::collections::BTreeMap;

use crate::aggregate::Daily;
use crate::domain::{Day, Money};
use crate::pricing::aliases::How;
use crate::pricing::slugs::SlugMap;
use crate::pricing::RateTable;

/// How far ahead a retirement counts as `retiring`.
pub(crate) const RETIRING_WITHIN_DAYS: i32 = 60;

/// In the order that picks a row's status: the first that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AuditStatus {
    Retired,
    Retiring,
    NeverListed,
    DatedSnapshot,
    Unpriced,
    Ok,
}

impl AuditStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Retired => "retired",
            AuditStatus::Retiring => "retiring",
            AuditStatus::NeverListed => "never_listed",
            AuditStatus::DatedSnapshot => "dated_snapshot",
            AuditStatus::Unpriced => "unpriced",
            AuditStatus::Ok => "ok",
        }
    }
}

/// One row of `audit.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditRow {
    pub provider: String,
    pub model: String,
    pub status: AuditStatus,
    pub calls: u64,
    pub failed: u64,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    /// `None` when some billable call has no rate.
    pub cost_usd: Option<Money>,
    pub first_day: Day,
    pub last_day: Day,
    pub retired_on: Option<Day>,
    pub replacement: Option<String>,
    pub note: String,
}

/// A pinned dated version: the model name ends in `-YYYYMMDD` or `-YYYY-MM-DD`
/// (`claude-sonnet-4-20250514`, `gpt-4o-2024-08-06`).
pub(crate) fn dated_snapshot(model: &str) -> Option<&str> {
    let name = model.rsplit('/').next().unwrap_or(model);
    let b = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let compact = b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]);
    let dashed = b.len() > 11
        && b[b.len() - 11] == b'-'
        && digits(&b[b.len() - 10..b.len() - 6])
        && b[b.len() - 6] == b'-'
        && digits(&b[b.len() - 5..b.len() - 3])
        && b[b.len() - 3] == b'-'
        && digits(&b[b.len() - 2..]);
    let date = if compact {
        &name[name.len() - 8..]
    } else if dashed {
        &name[name.len() - 10..]
    } else {
        return None;
    };
    // Only a real date: `-20250514`, not a build number.
    let text: String = date.chars().filter(char::is_ascii_digit).collect();
    chrono::NaiveDate::parse_from_str(&text, "%Y%m%d")
        .ok()
        .map(|_| date)
}

/// Whether any table knows the slug: a price row, or a row of the slug map (either side).
fn listed(model: &str, rates: &RateTable, slugs: &SlugMap) -> bool {
    rates.knows_model(model)
        || slugs.rows().iter().any(|r| {
            r.from_provider != crate::pricing::slugs::PERMASLUG_PROVIDER
                && (r.from_model == model || r.to_model == model)
        })
}

/// A listed slug the caller probably meant (`google/gemini-3.1-pro` → `…-pro-preview`).
fn near_miss(model: &str, rates: &RateTable, slugs: &SlugMap) -> Option<String> {
    ["-preview", "-latest", "-001"]
        .iter()
        .map(|s| format!("{model}{s}"))
        .chain(model.strip_suffix("-preview").map(str::to_string))
        .find(|m| listed(m, rates, slugs))
}

/// Audits every provider × model of the daily rows; `last_logged` is the last day of the logs.
pub(crate) fn audit(daily: &Daily, rates: &RateTable, slugs: &SlugMap) -> Vec<AuditRow> {
    let Some(last_logged) = daily.rows.iter().map(|r| r.day).max() else {
        return Vec::new();
    };
    let mut rows: BTreeMap<(&str, &str), AuditRow> = BTreeMap::new();
    for r in &daily.rows {
        let a = rows
            .entry((&r.provider, &r.model))
            .or_insert_with(|| AuditRow {
                provider: r.provider.clone(),
                model: r.model.clone(),
                status: AuditStatus::Ok,
                calls: 0,
                failed: 0,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost_usd: Some(Money::ZERO),
                first_day: r.day,
                last_day: r.day,
                retired_on: None,
                replacement: None,
                note: String::new(),
            });
        a.calls += r.requests + r.failed_requests;
        a.failed += r.failed_requests;
        a.prompt_tokens += r.prompt_tokens;
        a.completion_tokens += r.completion_tokens;
        a.cost_usd = a.cost_usd.zip(r.cost_usd).map(|(x, y)| x + y);
        a.first_day = a.first_day.min(r.day);
        a.last_day = a.last_day.max(r.day);
    }
    let mut out: Vec<AuditRow> = rows.into_values().collect();
    for a in &mut out {
        let mut found: Vec<(AuditStatus, String)> = Vec::new();
        let spellings: Vec<String> = daily
            .names
            .iter()
            .filter(|n| n.provider == a.provider && n.model == a.model && n.how != How::Unresolved)
            .map(|n| {
                let s = if n.count == 1 { "" } else { "s" };
                format!("{} ({}, {} call{s})", n.written, n.how.describe(), n.count)
            })
            .collect();
        if !spellings.is_empty() {
            found.push((
                AuditStatus::Ok,
                format!("written as {}", spellings.join(", ")),
            ));
        }
        if let Some(ret) = slugs.retirement(&a.provider, &a.model) {
            a.retired_on = Some(ret.retired_on);
            a.replacement = Some(ret.replacement.clone()).filter(|r| !r.is_empty());
            let with = a
                .replacement
                .as_ref()
                .map(|r| format!(", replacement {r}"))
                .unwrap_or_default();
            if a.last_day >= ret.retired_on {
                found.push((
                    AuditStatus::Retired,
                    format!(
                        "called until {} though retired on {}{with}",
                        a.last_day, ret.retired_on
                    ),
                ));
            } else if ret.retired_on > last_logged
                && ret.retired_on.0 - last_logged.0 <= RETIRING_WITHIN_DAYS
            {
                found.push((
                    AuditStatus::Retiring,
                    format!(
                        "retires on {}, {} days after the last logged day{with}",
                        ret.retired_on,
                        ret.retired_on.0 - last_logged.0
                    ),
                ));
            } else if ret.retired_on <= last_logged {
                found.push((
                    AuditStatus::Ok,
                    format!("retired on {}; not called since{with}", ret.retired_on),
                ));
            }
        }
        if !listed(&a.model, rates, slugs) {
            let hint = near_miss(&a.model, rates, slugs)
                .map(|m| format!("; the gateways serve {m}"))
                .unwrap_or_default();
            found.push((
                AuditStatus::NeverListed,
                format!("resolves to no priced slug: not in rates/models.csv, rates/slugs.csv or rates/aliases.csv, and no naming rule maps it to one{hint}"),
            ));
        }
        if let Some(date) = dated_snapshot(&a.model) {
            found.push((
                AuditStatus::DatedSnapshot,
                format!("pinned to the snapshot of {date}"),
            ));
        }
        if a.cost_usd.is_none() {
            found.push((
                AuditStatus::Unpriced,
                format!("no rate for {} on {}", a.model, a.provider),
            ));
        }
        if a.failed == a.calls {
            found.push((AuditStatus::Ok, format!("all {} calls failed", a.calls)));
        }
        a.status = found
            .iter()
            .map(|(s, _)| *s)
            .min()
            .unwrap_or(AuditStatus::Ok);
        a.note = found
            .into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join("; ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_are_real_dates_at_the_end() {
        assert_eq!(
            dated_snapshot("anthropic/claude-sonnet-4-20250514"),
            Some("20250514")
        );
        assert_eq!(
            dated_snapshot("openai/gpt-4o-2024-08-06"),
            Some("2024-08-06")
        );
        assert_eq!(dated_snapshot("anthropic/claude-sonnet-4.6"), None);
        assert_eq!(dated_snapshot("acme/build-12345678"), None, "not a date");
        assert_eq!(
            dated_snapshot("google/gemini-2.5-flash-preview-09-2025"),
            None
        );
        assert_eq!(dated_snapshot("20250514"), None, "no name before the date");
    }
}

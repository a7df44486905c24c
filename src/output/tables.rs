//! The layout of every table the tool writes: one function per result, in one place, so a
//! column's name and format are decided once (docs/formats.md §6). Stages return their own
//! result types; only this module turns them into rows of text.

use crate::aggregate::Daily;
use crate::domain::text::safe_text;
use crate::domain::Status;
use crate::domain::{money, Money};
use crate::fees::Effective;
use crate::fees::{FeeRow, PurchaseCheck};
use crate::forecast::run_rate::ForecastRow;
use crate::forecast::whatif::ScenarioRow;
use crate::insight::audit::AuditRow;
use crate::insight::rollout::{self, Rollout};
use crate::insight::shadow::{self, ShadowReport};
use crate::pricing::litellm::{self, Plan};
use crate::reconcile::findings::Finding;
use crate::reconcile::percall::{Dispute, Evidence};
use crate::reconcile::{ProviderSummary, ReconRow};
use crate::showback::forecast::TenantForecast;
use crate::showback::Showback;
use crate::sources::{FileStats, Rejection};
use std::collections::BTreeMap;

use super::Table;

fn table(header: &[&'static str], rows: impl IntoIterator<Item = Vec<String>>) -> Table {
    Table {
        header: header.to_vec(),
        rows: rows.into_iter().collect(),
    }
}

pub(crate) const DAILY_HEADER: [&str; 11] = [
    "day",
    "provider",
    "model",
    "requests",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "failed_requests",
];

/// `daily.csv` (docs/formats.md §6). `cost_usd` is empty where a billable call had no rate.
pub(crate) fn daily_table(d: &Daily) -> Table {
    table(
        &DAILY_HEADER,
        d.rows.iter().map(|r| {
            vec![
                r.day.to_string(),
                r.provider.to_string(),
                r.model.to_string(),
                r.requests.to_string(),
                r.prompt_tokens.to_string(),
                r.cached_tokens.to_string(),
                r.cache_write_tokens.to_string(),
                r.completion_tokens.to_string(),
                r.total_tokens().to_string(),
                r.cost_usd.map(money).unwrap_or_default(),
                r.failed_requests.to_string(),
            ]
        }),
    )
}

/// Per-file accounting: read = used + out_of_range + skipped + rejected. `rows_skipped` came
/// last, so the columns before it keep their places (docs/formats.md §7).
pub(crate) fn files_table(files: &[FileStats]) -> Table {
    table(
        &[
            "file",
            "rows_read",
            "rows_used",
            "rows_out_of_range",
            "rows_rejected",
            "rows_skipped",
        ],
        files.iter().map(|f| {
            vec![
                f.file.to_string(),
                f.read.to_string(),
                f.used.to_string(),
                f.out_of_range.to_string(),
                f.rejected.to_string(),
                f.skipped.to_string(),
            ]
        }),
    )
}

/// Rejected rows of inputs read whole (invoices, ledgers), in `rejected.csv`'s columns.
pub(crate) fn rejections_table(rows: &[Rejection]) -> Table {
    table(
        &crate::sources::rejects::REJECTED_HEADER,
        rows.iter().map(|r| {
            vec![
                r.file.to_string(),
                r.line.to_string(),
                r.column.unwrap_or("").to_string(),
                r.reason.to_string(),
                r.raw.to_string(),
            ]
        }),
    )
}

fn opt_money(m: Option<Money>) -> String {
    m.map(money).unwrap_or_default()
}

/// `fees.csv` (docs/formats.md §6) plus a `note` in words.
pub(crate) fn fees_table(rows: &[FeeRow]) -> Table {
    table(
        &[
            "month",
            "provider",
            "kind",
            "basis_usd",
            "fee_usd",
            "expected_fee_usd",
            "status",
            "note",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.provider.to_string(),
                r.kind.as_str().to_string(),
                opt_money(r.basis_usd),
                opt_money(r.fee_usd),
                opt_money(r.expected_fee_usd),
                r.status.as_str().to_string(),
                r.note.to_string(),
            ]
        }),
    )
}

/// `topups.csv`: every purchase with its expected fee and what the credits cost with it, in
/// ledger order.
pub(crate) fn topups_table(checks: &[PurchaseCheck]) -> Table {
    table(
        &[
            "day",
            "provider",
            "method",
            "amount_usd",
            "fee_usd",
            "expected_fee_usd",
            "delta_usd",
            "expected_total_usd",
            "status",
            "file",
            "line",
        ],
        checks.iter().map(|c| {
            let p = &c.purchase;
            vec![
                p.day.to_string(),
                p.provider.to_string(),
                p.method.as_str().to_string(),
                money(p.amount_usd),
                opt_money(p.fee_usd),
                opt_money(c.expected_fee_usd),
                opt_money(c.delta_usd()),
                opt_money(c.expected_fee_usd.map(|f| p.amount_usd + f)),
                c.status.as_str().to_string(),
                p.file.to_string(),
                p.line.to_string(),
            ]
        }),
    )
}

/// `audit.csv` (docs/formats.md §6).
pub(crate) fn audit_table(rows: &[AuditRow]) -> Table {
    table(
        &[
            "provider",
            "model",
            "status",
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "first_day",
            "last_day",
            "retired_on",
            "replacement",
            "note",
        ],
        rows.iter().map(|r| {
            vec![
                r.provider.to_string(),
                r.model.to_string(),
                r.status.as_str().to_string(),
                r.calls.to_string(),
                r.prompt_tokens.to_string(),
                r.completion_tokens.to_string(),
                opt_money(r.cost_usd),
                r.first_day.to_string(),
                r.last_day.to_string(),
                r.retired_on.map(|d| d.to_string()).unwrap_or_default(),
                safe_text(r.replacement.as_deref().unwrap_or("")).into_owned(),
                r.note.to_string(),
            ]
        }),
    )
}

/// `forecast.csv` (docs/formats.md §6).
pub(crate) fn forecast_table(rows: &[ForecastRow]) -> Table {
    table(
        &[
            "month",
            "provider",
            "model",
            "days_seen",
            "days_in_month",
            "actual_usd",
            "forecast_usd",
            "low_usd",
            "high_usd",
            "method",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.provider.to_string(),
                r.model.to_string(),
                r.days_seen.to_string(),
                r.days_in_month.to_string(),
                opt_money(r.actual_usd),
                opt_money(r.forecast_usd),
                opt_money(r.low_usd),
                opt_money(r.high_usd),
                r.method.to_string(),
            ]
        }),
    )
}

/// `whatif.csv` (docs/formats.md §6), also `fees --months`' `scenarios.csv`.
pub(crate) fn scenarios_table(rows: &[ScenarioRow]) -> Table {
    table(
        &[
            "month",
            "scenario",
            "provider",
            "usage_usd",
            "topup_fee_usd",
            "byok_fee_usd",
            "subscription_usd",
            "total_usd",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.scenario.to_string(),
                r.provider.to_string(),
                money(r.usage_usd),
                money(r.topup_fee_usd),
                money(r.byok_fee_usd),
                money(r.subscription_usd),
                money(r.total_usd()),
            ]
        }),
    )
}

/// `recon.csv` (docs/formats.md §6): one row per day × provider × model, one status each.
pub(crate) fn recon_table(rows: &[ReconRow]) -> Table {
    let opt = |v: Option<u128>| v.map(|n| n.to_string()).unwrap_or_default();
    let signed = |v: Option<i128>| v.map(|n| n.to_string()).unwrap_or_default();
    table(
        &[
            "day",
            "provider",
            "model",
            "log_requests",
            "log_prompt_tokens",
            "log_completion_tokens",
            "invoice_prompt_tokens",
            "invoice_completion_tokens",
            "delta_tokens",
            "delta_pct",
            "expected_usd",
            "invoiced_usd",
            "delta_usd",
            "status",
            "note",
        ],
        rows.iter().map(|r| {
            vec![
                r.day.to_string(),
                r.provider.clone(),
                r.model.clone(),
                r.log_requests.map(|n| n.to_string()).unwrap_or_default(),
                opt(r.log_prompt_tokens),
                opt(r.log_completion_tokens),
                signed(r.invoice_prompt_tokens),
                signed(r.invoice_completion_tokens),
                r.delta_tokens.map(|n| n.to_string()).unwrap_or_default(),
                r.delta_pct.map(money).unwrap_or_default(),
                r.expected_usd.map(money).unwrap_or_default(),
                r.invoiced_usd.map(money).unwrap_or_default(),
                r.delta_usd.map(money).unwrap_or_default(),
                r.status.as_str().to_string(),
                r.note.clone(),
            ]
        }),
    )
}

/// `findings.csv`: what the logs themselves show (duplicates, gaps, reported costs).
pub(crate) fn findings_table(findings: &[Finding]) -> Table {
    table(
        &["kind", "day", "provider", "model", "count", "detail"],
        findings.iter().map(|f| {
            vec![
                f.kind.to_string(),
                f.day.map(|d| d.to_string()).unwrap_or_default(),
                f.provider.clone(),
                f.model.clone(),
                f.count.to_string(),
                f.detail.clone(),
            ]
        }),
    )
}

/// `summary.csv`: per provider, logged against invoiced, rows per status, fees and the
/// effective cost.
pub(crate) fn summary_table(
    summary: &[ProviderSummary],
    effective: &BTreeMap<String, Effective>,
) -> Table {
    let mut header = vec![
        "provider",
        "logged_usd",
        "invoiced_usd",
        "difference_usd",
        "rows",
    ];
    header.extend(Status::ALL.iter().map(|s| s.as_str()));
    header.extend([
        "topup_fee_usd",
        "byok_fee_usd",
        "subscription_usd",
        "effective_usd",
        "tokens",
        "effective_usd_per_mtok",
    ]);
    table(
        &header,
        summary.iter().map(|s| {
            let mut v = vec![
                s.provider.clone(),
                money(s.logged_usd),
                money(s.invoiced_usd),
                money(s.invoiced_usd - s.logged_usd),
                s.rows.values().sum::<u64>().to_string(),
            ];
            v.extend(
                Status::ALL
                    .iter()
                    .map(|st| s.rows.get(st.as_str()).copied().unwrap_or(0).to_string()),
            );
            let e = effective.get(&s.provider).cloned().unwrap_or_default();
            v.extend([
                money(e.fees.topup_usd),
                money(e.fees.byok_usd),
                money(e.fees.subscription_usd),
                money(e.total()),
                e.tokens.to_string(),
                e.per_mtok()
                    .map(|m| money(m.round_dp(6)))
                    .unwrap_or_default(),
            ]);
            v
        }),
    )
}

/// `rollout.csv`: cells formatted, text made spreadsheet-safe.
pub(crate) fn rollout_table(r: &Rollout) -> Table {
    let opt = |m: Option<Money>| m.map(|m| m.to_string()).unwrap_or_default();
    let ms = |l: Option<f64>| l.map(|l| l.to_string()).unwrap_or_default();
    Table {
        header: rollout::HEADER.to_vec(),
        rows: r
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.day.to_string(),
                    r.provider.clone(),
                    r.calls.to_string(),
                    r.share_pct.to_string(),
                    r.errors.to_string(),
                    r.error_rate_pct.to_string(),
                    ms(r.p50_latency_ms),
                    ms(r.p95_latency_ms),
                    r.cost_usd.map(money).unwrap_or_default(),
                    opt(r.cost_per_call_usd),
                    opt(r.cost_per_mtok_usd),
                ]
            })
            .collect(),
    }
}

/// `rates import-litellm`'s report: one row per slug, old → new.
pub(crate) fn import_table(plan: &Plan) -> Table {
    Table {
        header: litellm::REPORT_HEADER.to_vec(),
        rows: plan.report_rows(),
    }
}

/// `shadow.csv`. Empty cells where a row has no pairs.
pub(crate) fn shadow_table(report: &ShadowReport) -> Table {
    let opt = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_default();
    Table {
        header: shadow::HEADER.to_vec(),
        rows: report
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.day.to_string(),
                    r.model.clone(),
                    r.pairs.to_string(),
                    r.unpaired.to_string(),
                    opt(r.prompt_drift.map(|x| x.0)),
                    opt(r.prompt_drift.map(|x| x.1)),
                    opt(r.completion_drift.map(|x| x.0)),
                    opt(r.completion_drift.map(|x| x.1)),
                    r.over_tolerance.to_string(),
                ]
            })
            .collect(),
    }
}

/// `showback.csv` (docs/formats.md §6): per month × tenant × provider, usage and fee shares;
/// `unpriced_calls` and `note` added at the end.
pub(crate) fn showback_table(s: &Showback) -> Table {
    table(
        &[
            "month",
            // The contract's name, whichever field `--by` chose (docs/formats.md §12).
            "tenant",
            "provider",
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "usage_usd",
            "topup_fee_usd",
            "byok_fee_usd",
            "subscription_usd",
            "effective_usd",
            "unpriced_calls",
            "note",
        ],
        s.rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.tenant.clone(),
                r.provider.clone(),
                r.calls.to_string(),
                r.prompt_tokens.to_string(),
                r.completion_tokens.to_string(),
                money(r.usage_usd),
                money(r.topup_fee_usd),
                money(r.byok_fee_usd),
                money(r.subscription_usd),
                money(r.effective_usd()),
                r.unpriced_calls.to_string(),
                r.note.clone(),
            ]
        }),
    )
}

/// `showback_forecast.csv`: `forecast.csv`'s columns per tenant × provider, with the
/// unpriced calls left out of the amounts.
pub(crate) fn showback_forecast_table(rows: &[TenantForecast]) -> Table {
    table(
        &[
            "month",
            // The contract's name, whichever field `--by` chose (docs/formats.md §12).
            "tenant",
            "provider",
            "days_seen",
            "days_in_month",
            "actual_usd",
            "forecast_usd",
            "low_usd",
            "high_usd",
            "method",
            "unpriced_calls",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.to_string(),
                r.tenant.clone(),
                r.provider.clone(),
                r.days_seen.to_string(),
                r.days_in_month.to_string(),
                money(r.actual_usd),
                money(r.forecast_usd),
                money(r.low_usd),
                money(r.high_usd),
                r.method.clone(),
                r.unpriced_calls.to_string(),
            ]
        }),
    )
}

/// `disputes.csv` (docs/formats.md §11): one row per provider × day × kind, sorted by day,
/// provider, kind.
pub(crate) fn disputes_table(rows: &[Dispute]) -> Table {
    table(
        &[
            "provider",
            "day",
            "kind",
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "amount_usd",
            "evidence",
            "note",
        ],
        rows.iter().map(|d| {
            vec![
                d.provider.clone(),
                d.day.to_string(),
                d.kind.as_str().to_string(),
                d.calls.to_string(),
                d.prompt_tokens.to_string(),
                d.completion_tokens.to_string(),
                money(d.amount_usd),
                d.evidence.clone(),
                d.note.clone(),
            ]
        }),
    )
}

/// A timestamp in milliseconds as RFC 3339 UTC with milliseconds.
fn instant(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// One evidence file: the calls (or purchases) behind one dispute row, both sides.
pub(crate) fn evidence_table(d: &Dispute) -> Table {
    let n = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    table(
        &[
            "provider",
            "day",
            "kind",
            "model",
            "request_id",
            "generation_id",
            "log_ts",
            "billed_ts",
            "log_prompt_tokens",
            "log_completion_tokens",
            "billed_prompt_tokens",
            "billed_completion_tokens",
            "expected_usd",
            "billed_usd",
            "claim_usd",
            "source",
            "detail",
        ],
        d.rows.iter().map(|e: &Evidence| {
            vec![
                d.provider.clone(),
                d.day.to_string(),
                d.kind.as_str().to_string(),
                e.model.clone(),
                e.request_id.clone().unwrap_or_default(),
                e.generation_id.clone().unwrap_or_default(),
                instant(e.log_ts_ms),
                instant(e.billed_ts_ms),
                n(e.log_prompt_tokens),
                n(e.log_completion_tokens),
                n(e.billed_prompt_tokens),
                n(e.billed_completion_tokens),
                opt_money(e.expected_usd),
                opt_money(e.billed_usd),
                money(e.claim_usd),
                e.source.clone(),
                e.detail.clone(),
            ]
        }),
    )
}

/// Per provider with a dispute: the amount to claim and the logged calls not billed (in our
/// favour), as the summary prints them (the workbook's Claims sheet).
pub(crate) fn claims_table(rows: &[Dispute]) -> Table {
    let mut by: BTreeMap<&str, (u64, Money, Money)> = BTreeMap::new();
    for d in rows {
        let e = by.entry(&d.provider).or_default();
        e.0 += 1;
        e.1 += d.amount_usd;
        e.2 += d.unbilled_usd;
    }
    table(
        &["provider", "rows", "claimable_usd", "unbilled_usd"],
        by.into_iter().map(|(p, (n, claim, unbilled))| {
            vec![p.to_string(), n.to_string(), money(claim), money(unbilled)]
        }),
    )
}

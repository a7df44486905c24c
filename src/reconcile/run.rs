//! One reconciliation run, as `reconcile` writes it and `report` draws it: the logs read once
//! (daily sums, log findings and the BYOK tally in one pass), the invoices and the ledger, the
//! fee model, then the comparison. Both commands call [`compute`], so every figure on the page is
//! one a CSV file also holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono_tz::Tz;

use super::findings::{Finding, FindingsSink};
use super::percall::sink::CallLog;
use super::percall::{self, Dispute, PerCall, Unmatched};
use super::{reconcile, summarize, ProviderSummary, ReconRow};
use crate::aggregate::{Daily, DailyAggregator};
use crate::domain::{Call, Day, Money, Period, Tolerance, UsageGroup};
use crate::fees::byok::ByokSink;
use crate::fees::policy::FeeBook;
use crate::fees::{self, Effective, FeeInputs, FeeReport};
use crate::pricing::aliases::{ModelNames, NameUse};
use crate::pricing::slugs::SlugMap;
use crate::pricing::RateTable;
use crate::showback::{self, Grain, GroupBy, Showback, ShowbackSink};
use crate::sources::invoices::{self, InvoiceLine};
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{
    strict_stop, topups, CallSink, Disposition, FileStats, InputError, LogSet, Rejection,
    ScanOrder, ScanReport,
};

/// Daily aggregation, log findings and the calls kept for per-call matching in one pass:
/// findings and matching see only the calls the daily sums use.
struct Both<'r> {
    daily: DailyAggregator<'r>,
    findings: FindingsSink<'r>,
    calls: CallLog<'r>,
}

impl CallSink for Both<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        match self.daily.accept(call) {
            Disposition::Used => {
                self.calls.accept(call);
                self.findings.accept(call)
            }
            d => d,
        }
    }

    fn merge(&mut self, other: Self) {
        self.daily.merge(other.daily);
        self.findings.merge(other.findings);
        self.calls.merge(other.calls);
    }

    fn chunk(&mut self, at: ScanOrder) {
        self.findings.chunk(at);
    }
}

/// Daily aggregation's fields and what the findings and the BYOK tally read.
const FIELDS: FieldSet = {
    use FieldId::*;
    fees::FIELDS.with(&[TotalTokens, RequestId, ResponseModel, Cost, Byok])
};

/// What a reconciliation reads and how strictly it compares.
pub(crate) struct Inputs<'a> {
    pub logs: &'a LogSet,
    pub period: Period,
    pub tz: Option<Tz>,
    pub rates: &'a RateTable,
    pub slugs: &'a SlugMap,
    /// Resolves every model name, of the logs and of the bills, to its slug.
    pub names: &'a ModelNames,
    /// The fee policies, `--byok-subscription` applied.
    pub book: &'a FeeBook,
    /// Invoice files; `report` may have none: nothing to match.
    pub invoices: &'a [PathBuf],
    pub sheet: Option<&'a str>,
    pub tolerance: Tolerance,
    pub topups: &'a [PathBuf],
    pub subscription_price: Option<Money>,
    /// `--by`: also the showback, the run's fees shared among the tenants, its sums kept per
    /// day or per month.
    pub by: Option<(GroupBy, Grain)>,
    /// `--usage`: usage groups in place of the logs, with the cut's thresholds.
    pub usage: Option<UsageInput<'a>>,
}

/// Usage groups read in place of the logs (docs/engines.md).
pub(crate) struct UsageInput<'a> {
    pub groups: &'a [UsageGroup],
    pub thresholds: &'a [u64],
}

/// Everything a reconciliation computes before anything is written.
pub(crate) struct Reconciliation {
    pub daily: Daily,
    pub rows: Vec<ReconRow>,
    pub findings: Vec<Finding>,
    pub summary: Vec<ProviderSummary>,
    pub effective: BTreeMap<String, Effective>,
    pub fee_report: FeeReport,
    pub report: ScanReport,
    /// Rejected rows of the invoices, then of the ledger.
    pub other_rejections: Vec<Rejection>,
    /// The invoice files, then the ledger files.
    pub other_files: Vec<FileStats>,
    /// How many of `other_files` are invoices.
    pub invoice_files: usize,
    /// The invoices' daily lines (for `--focus`).
    pub invoice_lines: Vec<InvoiceLine>,
    /// The model names the invoices wrote other than as their slug.
    pub invoice_names: Vec<NameUse>,
    /// With `--by`.
    pub showback: Option<Showback>,
    /// `disputes.csv`: per-call claims (where both sides name their calls) and fee overcharges,
    /// sorted by day, provider, kind.
    pub disputes: Vec<Dispute>,
}

impl Reconciliation {
    /// Exit status 1: a row not `ok`/`drift`, a finding, a rejected row or a flagged fee.
    pub(crate) fn flagged(&self) -> bool {
        self.rows.iter().any(|r| !r.status.reconciled())
            || !self.findings.is_empty()
            || !self.report.rejections.is_empty()
            || !self.other_rejections.is_empty()
            || self.fee_report.flagged()
    }
}

pub(crate) fn compute(i: &Inputs<'_>) -> Result<Reconciliation, InputError> {
    let (rates, names, period, tz, tol) = (i.rates, i.names, i.period, i.tz, i.tolerance);
    let inv = if i.invoices.is_empty() {
        invoices::InvoiceRead::default()
    } else {
        invoices::read_invoices(i.invoices, i.sheet, tz, names)?
    };
    if i.logs.strict {
        if let Some(r) = inv.rejections.first() {
            return Err(strict_stop(r));
        }
    }
    let ledger = topups::read_ledger(i.topups, i.sheet, tz, i.logs.strict, period)?;
    // Numbers the worker threads' findings sinks (their request ids are told apart by it).
    let workers = std::sync::atomic::AtomicU32::new(0);
    let per_call_providers = inv.calls.providers.clone();
    let by = i.by;
    let fields = by.map_or(FIELDS, |(by, _)| by.fields(FIELDS));
    let make = || {
        (
            (
                Both {
                    daily: DailyAggregator::new(rates, names, tz, period),
                    findings: FindingsSink::new(rates, names, &workers, tz, period),
                    calls: CallLog::new(rates, names, &per_call_providers, tz),
                },
                // The tally sees every call, even those outside `--from`/`--to`: a month's
                // allowance counts them all.
                ByokSink::new(rates, names),
            ),
            by.map(|(by, grain)| ShowbackSink::new(by, grain, rates, names, tz, period)),
        )
    };
    let (((both, byok), tenants), report, byok_months) = match &i.usage {
        None => {
            let (sinks, report) = i.logs.scan(fields, make)?;
            (sinks, report, None)
        }
        // Usage groups: the daily sums and the days seen; no call to match or check one by one
        // (docs/engines.md), the BYOK fees settled by the query's allowance numbering.
        Some(u) => {
            let mut report = ScanReport::empty()
                .map_err(|e| InputError::Usage(format!("a temporary file: {e}")))?;
            let mut sinks = make();
            let mut partial = 0u64;
            for g in u.groups {
                if sinks.0 .0.daily.add_group(g, u.thresholds)
                    && !sinks.0 .0.findings.add_group(g, u.thresholds)
                {
                    partial += g.calls;
                }
                // --by: the groups carry the tenant (checked when the files were read).
                if let Some(t) = &mut sinks.1 {
                    t.add_group(g, u.thresholds);
                }
            }
            if partial > 0 {
                report.notes.push(format!(
                    "{partial} calls are in usage groups where only some calls report the gateway's cost: their reported cost is not compared with list prices (read the logs to compare it)"
                ));
            }
            let months =
                fees::byok::months_from_groups(u.groups, u.thresholds, i.book, rates, names)
                    .map_err(InputError::Usage)?;
            (sinks, report, Some(months))
        }
    };
    let tally = byok.finish();
    let daily = both.daily.finish();
    let fee_report = fees::fee_report(&FeeInputs {
        book: i.book,
        tz,
        period,
        daily: Some(&daily),
        tally: byok_months.is_none().then_some(&tally),
        byok_months: byok_months.as_deref(),
        purchases: &ledger.purchases,
        subscription_price: i.subscription_price,
        tolerance: tol.usd,
    })?;
    let effective = fees::effective(&daily, &fee_report);
    let showback = tenants.map(|t| showback::allocate(t.finish(), &fee_report.rows));
    let mut rows = reconcile(&daily, &inv.lines, i.slugs, &tol, period);
    let from_usage = i.usage.is_some();
    let (per_call, unmatched) =
        match_calls(both.calls, inv.calls, &inv.lines, &tol, period, from_usage)?;
    percall::annotate(&mut rows, &per_call, &unmatched);
    let mut disputes = per_call.disputes;
    disputes.extend(percall::fee_disputes(&fee_report));
    percall::sort(&mut disputes);

    // Days with no log record at all, over the period the run covers.
    let days = daily
        .rows
        .iter()
        .map(|r| r.day)
        .chain(inv.lines.iter().map(|l| l.day));
    let span = match (period.from, period.to) {
        (Some(f), Some(t)) => Some((f, t)),
        (f, t) => {
            let v: Vec<Day> = days.collect();
            v.iter()
                .min()
                .zip(v.iter().max())
                .map(|(a, b)| (f.unwrap_or(*a), t.unwrap_or(*b)))
        }
    };
    let findings = both.findings.finish(tol.usd, span).map_err(|e| {
        InputError::Usage(format!(
            "duplicate request ids: writing their sorted runs to the temporary directory {}: {e}",
            std::env::temp_dir().display()
        ))
    })?;
    let summary = summarize(&rows);
    let other_rejections: Vec<_> = inv
        .rejections
        .iter()
        .chain(&ledger.rejections)
        .cloned()
        .collect();
    let other_files: Vec<_> = inv.files.iter().chain(&ledger.files).cloned().collect();
    Ok(Reconciliation {
        disputes,
        invoice_files: inv.files.len(),
        invoice_names: inv.names,
        invoice_lines: inv.lines,
        daily,
        rows,
        findings,
        summary,
        effective,
        fee_report,
        report,
        other_rejections,
        other_files,
        showback,
    })
}

/// Per-call matching of the providers whose every logged call has a `request_id` and whose bill
/// names every call; the others, why they were not matched.
fn match_calls(
    calls: CallLog<'_>,
    billed: invoices::BilledCalls,
    lines: &[InvoiceLine],
    tol: &Tolerance,
    period: Period,
    from_usage: bool,
) -> Result<(PerCall, Unmatched), InputError> {
    let spill = |e: std::io::Error| {
        InputError::Usage(format!(
            "per-call matching: writing its sorted runs to the temporary directory {}: {e}",
            std::env::temp_dir().display()
        ))
    };
    let (logged, ids) = calls.finish().map_err(spill)?;
    let files = billed.files.clone();
    let mut unmatched = Unmatched::new();
    let mut matched = std::collections::BTreeSet::new();
    let invoiced: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l.provider.as_str()).collect();
    for p in invoiced {
        let (with, without) = ids.get(p).copied().unwrap_or_default();
        let no_ids = billed.rows_without_ids.get(p).copied().unwrap_or(0);
        let why = if with == 0 && !from_usage {
            // The logs name no call of the provider: nothing to match, nothing to say.
            None
        } else if !billed.providers.contains(p) {
            Some("the bill has no call ids (day-level lines, no generation_id)".to_string())
        } else if no_ids > 0 {
            Some(format!("{no_ids} rows of the bill have no call id"))
        } else if from_usage {
            Some("usage groups carry no call ids (read the logs to match calls)".to_string())
        } else if without > 0 {
            Some(format!(
                "{without} of {} logged calls have no request_id",
                with + without
            ))
        } else {
            matched.insert(p.to_string());
            None
        };
        if let Some(w) = why {
            unmatched.insert(p.to_string(), w);
        }
    }
    let billed = billed.sorted().map_err(spill)?;
    let per = percall::match_calls(logged, billed, &files, &matched, tol, period).map_err(spill)?;
    Ok((per, unmatched))
}

//! The human summary on stderr, one function per command: rows per file, rejected rows, what is
//! flagged and the totals a reader checks first. Silent with `--quiet`; the files hold the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_decimal::RoundingStrategy;

use super::Out;
use crate::aggregate::Daily;
use crate::domain::{money, Day, Money, Month, Tolerance};
use crate::fees::{self, FeeReport};
use crate::forecast::run_rate::ForecastRow;
use crate::forecast::whatif::ScenarioRow;
use crate::insight::audit::{AuditRow, AuditStatus};
use crate::insight::rollout::Rollout;
use crate::insight::shadow::{ShadowReport, Totals};
use crate::pricing::aliases::{How, NameUse};
use crate::pricing::litellm;
use crate::reconcile::percall::Dispute;
use crate::reconcile::Reconciliation;
use crate::showback::Showback;
use crate::sources::{FileStats, Rejection, ScanReport};

/// Notes (what an option changed, a file skipped) before anything else.
pub(crate) fn notes(out: &Out, notes: &[String]) {
    if out.quiet {
        return;
    }
    for n in notes {
        eprintln!("note: {n}");
    }
}

/// Rows per log file, the rejected rows, unpriced calls and the total cost.
pub(crate) fn daily(out: &Out, report: &ScanReport, daily: &Daily) {
    daily_and_bills(out, report, daily, &[]);
}

/// [`daily`], and the names the bills wrote: a name that resolves to nothing in both the logs
/// and the bills is listed once, on its `UNPRICED` line; the bills' other names after it.
fn daily_and_bills(out: &Out, report: &ScanReport, daily: &Daily, bills: &[NameUse]) {
    if out.quiet {
        return;
    }
    scan(out, report);
    let requests: u64 = daily.rows.iter().map(|r| r.requests).sum();
    let failed: u64 = daily.rows.iter().map(|r| r.failed_requests).sum();
    let tokens: u128 = daily.rows.iter().map(|r| r.total_tokens()).sum();
    eprintln!(
        "total: {requests} billable calls, {failed} failed calls, {tokens} tokens, USD {} priced",
        money(daily.priced_total())
    );
    let unresolved = |p: &str, m: &str| {
        daily
            .names
            .iter()
            .any(|n| n.how == How::Unresolved && n.provider == p && n.written == m)
    };
    names(out, "logs", &daily.names, "calls");
    let unpriced = daily.unpriced();
    for ((p, m), (calls, toks)) in &unpriced {
        let billed = bills
            .iter()
            .filter(|n| n.how == How::Unresolved && n.provider == *p && n.model == *m)
            .map(|n| n.count)
            .sum::<u64>();
        let why = match (unresolved(p, m), billed) {
            (false, _) => String::new(),
            (true, 0) => ": the name resolves to no priced slug".into(),
            (true, n) => format!(
                ": the name resolves to no priced slug (also in {n} invoice row{})",
                if n == 1 { "" } else { "s" }
            ),
        };
        eprintln!("UNPRICED: {p} {m}: {calls} calls, {toks} tokens have no rate (cost left empty in daily.csv){why}");
    }
    // A name of failed calls only is in no UNPRICED line: listed here once.
    for n in daily.names.iter().filter(|n| {
        n.how == How::Unresolved && !unpriced.contains_key(&(n.provider.clone(), n.written.clone()))
    }) {
        eprintln!(
            "UNRESOLVED: {} {}: {} calls (none billable): the name resolves to no priced slug",
            n.provider, n.written, n.count
        );
    }
    // The bills' names; one the logs' UNPRICED line names already is not listed again.
    let listed = |b: &NameUse| {
        b.how == How::Unresolved
            && unpriced.contains_key(&(b.provider.clone(), b.model.clone()))
            && unresolved(&b.provider, &b.model)
    };
    let rest: Vec<NameUse> = bills.iter().filter(|b| !listed(b)).cloned().collect();
    names(out, "invoices", &rest, "rows");
}

/// The names a source wrote other than as their slug: one line per name resolved by an alias or
/// a rule (`name: …`). Names that resolve to nothing are listed by the caller with their
/// unpriced usage, or here (`UNRESOLVED: …`) when `unit` is not calls.
pub(crate) fn names(out: &Out, source: &str, names: &[NameUse], unit: &str) {
    if out.quiet {
        return;
    }
    // Terminal safety: names come from the inputs.
    let shown = |t: &str| -> String {
        t.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    for n in names {
        if n.how == How::Unresolved {
            if unit != "calls" {
                eprintln!(
                    "UNRESOLVED: {source} {} {}: {} {unit}: the name resolves to no priced slug (counted as {})",
                    n.provider,
                    shown(&n.written),
                    n.count,
                    shown(&n.model)
                );
            }
            continue;
        }
        eprintln!(
            "name: {source} {} {} counted as {} ({}): {} {unit}",
            n.provider,
            shown(&n.written),
            shown(&n.model),
            n.how.describe(),
            n.count
        );
    }
}

/// The scan's part of the summary: notes, rows per file, the first rejected rows.
pub(crate) fn scan(out: &Out, report: &ScanReport) {
    if out.quiet {
        return;
    }
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    for f in &report.files {
        let empty = if f.read == 0 {
            " (the file holds no rows: empty, or a header only)"
        } else {
            ""
        };
        eprintln!("{}{empty}", file_counts(f));
    }
    for r in &report.rejections.first {
        eprintln!("  rejected {r}");
    }
    if report.rejections.count > report.rejections.first.len() as u64 {
        let where_ = if out.dir().is_some() {
            "see rejected.csv"
        } else {
            "use --out to get rejected.csv"
        };
        eprintln!(
            "  … and {} more rejected rows ({where_})",
            report.rejections.count - report.rejections.first.len() as u64
        );
    }
}

/// Rejected rows of the non-log inputs (the log rows are shown by [`scan`]).
pub(crate) fn rejections(out: &Out, extra: &[Rejection]) {
    if out.quiet {
        return;
    }
    for r in extra.iter().take(10) {
        eprintln!("  rejected {r}");
    }
    if extra.len() > 10 {
        eprintln!("  … and {} more rejected rows", extra.len() - 10);
    }
}

/// One input file's accounting, as every summary shows it.
fn file_counts(f: &FileStats) -> String {
    format!(
        "{}: {} rows read, {} used, {} outside --from/--to, {} rejected{}",
        f.file,
        f.read,
        f.used,
        f.out_of_range,
        f.rejected,
        skipped(f)
    )
}

/// Rows per invoice or ledger file.
pub(crate) fn ledger_files(out: &Out, files: &[FileStats]) {
    if out.quiet {
        return;
    }
    for f in files {
        eprintln!("{}", file_counts(f));
    }
}

/// The skipped rows of a file, said only when there are some: idle rows of an export, or
/// records a log schema reads as not calls (a note gives the reason).
fn skipped(f: &FileStats) -> String {
    if f.skipped == 0 {
        String::new()
    } else {
        format!(", {} skipped", f.skipped)
    }
}

/// Flagged fee rows; then one line per provider: usage at list prices, fees, the effective total
/// and rate.
pub(crate) fn effective(out: &Out, daily: Option<&Daily>, report: &FeeReport) {
    if out.quiet {
        return;
    }
    for r in report.rows.iter().filter(|r| r.status.flagged()) {
        eprintln!(
            "FEES {} {} {}: {} ({})",
            r.month,
            r.provider,
            r.kind.as_str(),
            r.status.as_str(),
            r.note
        );
    }
    let Some(daily) = daily else { return };
    for (provider, e) in fees::effective(daily, report) {
        eprintln!(
            "{provider}: usage USD {} + top-up fees {} + BYOK fees {} + subscriptions {} = USD {} effective, {} per million tokens",
            money(e.usage_usd.round_dp(2)),
            money(e.fees.topup_usd.round_dp(2)),
            money(e.fees.byok_usd.round_dp(2)),
            money(e.fees.subscription_usd.round_dp(2)),
            money(e.total().round_dp(2)),
            e.per_mtok().map(|m| money(m.round_dp(6))).unwrap_or_else(|| "n/a".into()),
        );
    }
}

/// `fees --months`: each scenario's totals over all its months, and what it could not price.
pub(crate) fn fee_scenarios(out: &Out, rows: &[ScenarioRow]) {
    if out.quiet {
        return;
    }
    if let Some(r) = rows.iter().find(|r| r.unpriced_calls > 0) {
        eprintln!(
            "note: scenarios: {} of {} base-month calls have no rate on some gateway; their usage is left out",
            r.unpriced_calls, r.calls
        );
    }
    let mut totals: BTreeMap<&str, (u32, [Money; 5])> = Default::default();
    for r in rows {
        let t = totals.entry(&r.scenario).or_default();
        t.0 += 1;
        for (acc, v) in t.1.iter_mut().zip([
            r.usage_usd,
            r.topup_fee_usd,
            r.byok_fee_usd,
            r.subscription_usd,
            r.total_usd(),
        ]) {
            *acc += v;
        }
    }
    for (name, (n, [usage, topup, byok, sub, total])) in totals {
        eprintln!(
            "scenario {name}, {n} months: usage USD {} + top-up fees {} + BYOK fees {} + subscriptions {} = USD {}",
            money(usage),
            money(topup),
            money(byok),
            money(sub),
            money(total)
        );
    }
}

/// `reconcile`: the daily summary, the other inputs' rejections, one line per provider, the
/// findings and the fees.
pub(crate) fn reconciliation(out: &Out, notes_: &[String], r: &Reconciliation) {
    if out.quiet {
        return;
    }
    notes(out, notes_);
    daily_and_bills(out, &r.report, &r.daily, &r.invoice_names);
    ledger_files(out, &r.other_files);
    rejections(out, &r.other_rejections);
    for s in &r.summary {
        let flagged: Vec<String> = s
            .rows
            .iter()
            .filter(|(k, _)| **k != "ok" && **k != "drift")
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        eprintln!(
            "{}: expected USD {} at list prices (BYOK usage is paid upstream), invoiced USD {}, difference {}; {}",
            s.provider,
            money(s.logged_usd.round_dp(2)),
            money(s.invoiced_usd.round_dp(2)),
            money((s.invoiced_usd - s.logged_usd).round_dp(2)),
            if flagged.is_empty() {
                "all rows reconciled".to_string()
            } else {
                flagged.join(", ")
            }
        );
    }
    for f in &r.findings {
        eprintln!(
            "finding {} {} {} {}: {}",
            f.kind,
            f.day.map(|d| d.to_string()).unwrap_or_default(),
            f.provider,
            f.model,
            f.detail
        );
    }
    effective(out, Some(&r.daily), &r.fee_report);
    disputes(out, &r.disputes);
}

/// The claimable total per provider, when a dispute was found (docs/formats.md §11).
fn disputes(out: &Out, rows: &[Dispute]) {
    let mut by: BTreeMap<&str, (usize, Money, Money)> = BTreeMap::new();
    for d in rows {
        let e = by.entry(&d.provider).or_default();
        e.0 += 1;
        e.1 += d.amount_usd;
        e.2 += d.unbilled_usd;
    }
    for (p, (n, claim, unbilled)) in by {
        let favour = if unbilled.is_zero() {
            String::new()
        } else {
            format!(
                "; USD {} of logged calls not billed (in our favour)",
                money(unbilled)
            )
        };
        let file = if out.dir().is_some() {
            " (disputes.csv, evidence/)"
        } else {
            ""
        };
        eprintln!(
            "DISPUTES {p}: claimable USD {} in {n} row{}{file}{favour}",
            money(claim),
            if n == 1 { "" } else { "s" }
        );
    }
}

/// `audit`: every row not `ok`, then the count.
pub(crate) fn audit(out: &Out, report: &ScanReport, rows: &[AuditRow]) {
    if out.quiet {
        return;
    }
    scan(out, report);
    for r in rows.iter().filter(|r| r.status != AuditStatus::Ok) {
        eprintln!(
            "{} {} {}: {} calls, {} to {}: {}",
            r.status.as_str().to_uppercase(),
            r.provider,
            r.model,
            r.calls,
            r.first_day,
            r.last_day,
            r.note
        );
    }
    let flagged = rows.iter().filter(|r| r.status != AuditStatus::Ok).count();
    eprintln!(
        "audit: {} provider × model rows, {flagged} flagged",
        rows.len()
    );
}

/// `rollout`: per provider over the whole period, calls, share and errors; the totals.
pub(crate) fn rollout(out: &Out, report: &ScanReport, dash: &Rollout) {
    if out.quiet {
        return;
    }
    scan(out, report);
    let mut per: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in &dash.rows {
        let e = per.entry(&r.provider).or_default();
        e.0 += r.calls;
        e.1 += r.errors;
    }
    let all: u64 = per.values().map(|v| v.0).sum();
    let pct = |a: u64, b: u64| {
        let mut p = (Money::from(a) * Money::ONE_HUNDRED / Money::from(b))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        p.rescale(2);
        p
    };
    for (p, (calls, errors)) in &per {
        eprintln!(
            "{p}: {calls} calls ({} % of all), {errors} errors ({} %)",
            pct(*calls, all),
            pct(*errors, *calls)
        );
    }
    let days = dash
        .rows
        .iter()
        .map(|r| r.day)
        .collect::<BTreeSet<_>>()
        .len();
    eprintln!(
        "total: {all} user calls on {days} days, {} shadow calls left out, USD {} priced",
        dash.shadow_calls,
        money(dash.priced_total())
    );
    for ((p, m), (calls, toks)) in &dash.unpriced {
        eprintln!("UNPRICED: {p} {m}: {calls} calls, {toks} tokens have no rate (cost columns left empty in rollout.csv)");
    }
}

/// `shadow`: pairs, unpaired calls and why, pairs over tolerance.
pub(crate) fn shadow(out: &Out, report: &ScanReport, result: &ShadowReport, tol: &Tolerance) {
    if out.quiet {
        return;
    }
    scan(out, report);
    let t: &Totals = &result.totals;
    let u = &t.unpaired;
    eprintln!(
        "shadow: {} 2xx shadow calls: {} pairs, {} unpaired, {} pairs over tolerance (max({} tokens, {} % of the primary's count))",
        t.shadow_calls,
        t.pairs,
        u.total(),
        t.over_tolerance,
        tol.tokens,
        tol.pct.normalize()
    );
    if u.total() > 0 {
        let reasons: Vec<String> = [
            (u.missing, "name a request id no logged call has"),
            (u.failed_primary, "name a primary that failed (non-2xx)"),
            (
                u.ambiguous,
                "name a request id shared by 2xx calls with different token counts",
            ),
            (u.no_shadow_of, "have no shadow_of"),
            (u.names_itself, "name their own request id"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        eprintln!("UNPAIRED: {}", reasons.join("; "));
    }
    if t.over_tolerance > 0 {
        let where_ = if out.dir().is_some() {
            "listed in shadow_pairs.csv"
        } else {
            "use --out to get shadow_pairs.csv"
        };
        eprintln!(
            "OVER TOLERANCE: {} pairs drift past the tolerance ({where_})",
            t.over_tolerance
        );
    }
    if t.failed_shadows > 0 {
        eprintln!(
            "note: shadow calls that failed (non-2xx), not compared: {}",
            t.failed_shadows
        );
    }
    if t.unmarked > 0 {
        eprintln!(
            "note: calls with a shadow_of but not marked shadow (user traffic, not compared): {}",
            t.unmarked
        );
    }
}

/// `forecast`: days seen, each provider's month end with its range, the what-if totals.
pub(crate) fn forecast(
    out: &Out,
    report: &ScanReport,
    rows: &[ForecastRow],
    whatif: &[ScenarioRow],
) {
    if out.quiet {
        return;
    }
    scan(out, report);
    let mut per: BTreeMap<&str, [Money; 4]> = BTreeMap::new();
    for r in rows {
        let t = per.entry(&r.provider).or_default();
        for (acc, v) in t
            .iter_mut()
            .zip([r.actual_usd, r.low_usd, r.forecast_usd, r.high_usd])
        {
            *acc += v.unwrap_or_default();
        }
    }
    if let Some(r) = rows.first() {
        eprintln!(
            "{}: {} of {} days seen",
            r.month, r.days_seen, r.days_in_month
        );
    }
    for (p, [actual, low, fc, high]) in per {
        eprintln!(
            "{p}: USD {} so far; month end USD {} (range {} to {})",
            money(actual),
            money(fc),
            money(low),
            money(high)
        );
    }
    for r in rows.iter().filter(|r| r.actual_usd.is_none()) {
        eprintln!("UNPRICED: {} {}: not forecast", r.provider, r.model);
    }
    let mut totals: BTreeMap<(&str, Month), Money> = BTreeMap::new();
    for r in whatif {
        *totals.entry((&r.scenario, r.month)).or_default() += r.total_usd();
    }
    let mut by_scenario: BTreeMap<&str, (Money, u32)> = BTreeMap::new();
    for ((s, _), t) in &totals {
        let e = by_scenario.entry(s).or_default();
        e.0 += *t;
        e.1 += 1;
    }
    for (s, (t, n)) in by_scenario {
        eprintln!(
            "whatif {s}: USD {} over {n} month(s), fees included",
            money(t)
        );
    }
    if !whatif.is_empty() && out.dir().is_none() {
        eprintln!("note: whatif.csv is written with --out DIR");
    }
}

/// `report`: the daily summary, why the exit status is 1 in words, and where the page is.
pub(crate) fn report(
    out: &Out,
    notes_: &[String],
    r: &Reconciliation,
    flags: &[String],
    page: &Path,
) {
    if out.quiet {
        return;
    }
    notes(out, notes_);
    daily_and_bills(out, &r.report, &r.daily, &r.invoice_names);
    rejections(out, &r.other_rejections);
    for f in flags {
        eprintln!("FLAGGED: {f}");
    }
    eprintln!("report: {}", page.display());
}

/// `rates import-litellm`: what the price file held, what changed, and what was written.
pub(crate) fn import(
    file: &Path,
    imported: usize,
    conv: &litellm::Conversion,
    plan: &litellm::Plan,
    table: &Path,
    wrote: bool,
    write: bool,
) {
    let (new, changed) = (plan.count("new"), plan.count("changed"));
    let conflicts = plan.count("conflict");
    for w in &conv.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{}: {imported} chat models priced per token: {new} new, {changed} changed, {} unchanged, {conflicts} conflicts; skipped {} not chat (mode), {} without per-token prices, {} from other hosts, {} duplicate slugs",
        file.display(),
        plan.count("unchanged"),
        conv.skipped_mode,
        conv.skipped_unpriced,
        conv.skipped_host,
        conv.skipped_duplicate,
    );
    if plan.unknown > 0 {
        eprintln!(
            "--only-known: {} slugs the table has no row of left out",
            plan.unknown
        );
    }
    if wrote {
        eprintln!(
            "wrote {} ({new} new rows, {changed} rows closed on {} and followed by a new one)",
            table.display(),
            Day(plan.effective_from.0 - 1)
        );
    } else if write {
        eprintln!("nothing to write: no new or changed prices");
    } else if new + changed > 0 {
        eprintln!("report only: nothing written (add --write to apply the new and changed rows)");
    }
    if conflicts > 0 {
        eprintln!("{conflicts} slugs left out (status conflict): their rows need a hand edit");
    }
}

/// `--by`: each tenant's effective cost over the run (dearest first), the unpriced calls by
/// name, fees that no usage could share, and where the file is.
pub(crate) fn showback(out: &Out, s: &Showback) {
    if out.quiet {
        return;
    }
    // Tenant names come from the logs: control characters must not drive the terminal.
    let shown = |t: &str| -> String {
        t.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let col = s.by.name();
    let mut per: BTreeMap<&str, (Money, Money)> = BTreeMap::new();
    for r in &s.rows {
        let e = per.entry(&r.tenant).or_default();
        e.0 += r.usage_usd;
        e.1 += r.effective_usd();
    }
    let usage: Money = per.values().map(|v| v.0).sum();
    let effective: Money = per.values().map(|v| v.1).sum();
    eprintln!(
        "showback by {col}: {} {col}s, usage USD {} + fees {} = USD {} effective ({})",
        per.len(),
        money(usage.round_dp(2)),
        money((effective - usage).round_dp(2)),
        money(effective.round_dp(2)),
        if out.dir().is_some() {
            "showback.csv"
        } else {
            "showback.csv is written with --out DIR"
        }
    );
    let mut list: Vec<(&str, (Money, Money))> = per.into_iter().collect();
    list.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(b.0)));
    for (t, (u, e)) in list.iter().take(10) {
        eprintln!(
            "  {}: USD {} effective, {} usage at list prices",
            shown(t),
            money(e.round_dp(2)),
            money(u.round_dp(2))
        );
    }
    if list.len() > 10 {
        eprintln!("  … and {} more {col}s", list.len() - 10);
    }
    for u in &s.unpriced {
        eprintln!(
            "UNPRICED: {col} {} on {} {} in {}: {} call{}, {} tokens have no rate (left out of usage_usd)",
            shown(&u.tenant),
            u.provider,
            u.model,
            u.month,
            u.calls,
            if u.calls == 1 { "" } else { "s" },
            u.tokens
        );
    }
    for u in &s.unallocated {
        eprintln!(
            "note: showback: USD {} of {}'s fees in {} had no priced usage to share them by: charged to (unallocated)",
            money(u.usd),
            u.provider,
            u.month
        );
    }
    if s.capped {
        eprintln!("note: showback: more than 100,000 {col}s in one reading thread: the rest are summed as (other)");
    }
}

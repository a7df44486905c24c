//! `spendrecon fees`: top-up surcharges, BYOK fees and subscriptions per month → fees.csv,
//! topups.csv. The same fee part runs inside `reconcile`.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use rustc_hash::FxHashMap;

use crate::aggregate::{Daily, DailyAggregator};
use crate::cli::{CommonArgs, FeeArgs, FeesArgs, LogArgs, Outcome};
use crate::domain::{money, Call, Money, Month, Period, Purchase};
use crate::fees::byok::{ByokSink, ByokTally, MinuteSink};
use crate::fees::policy::FeeBook;
use crate::fees::{self, FeeRow, FeeTotals, PurchaseCheck};
use crate::forecast::whatif::{
    ByokMode, Projection, Route, Scenario, ScenarioRow, Traffic, TrafficSink,
};
use crate::output;
use crate::pricing::RateTable;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::topups;
use crate::sources::{CallSink, Disposition, FileStats, Rejection};

/// What the BYOK tally reads of a record (the flag, and the fee the gateway reported), beside
/// daily aggregation's fields.
pub const FIELDS: FieldSet = crate::aggregate::FIELDS.with(&[FieldId::Byok, FieldId::Cost]);

/// A command's own sink with the BYOK tally beside it. The tally sees every call, even those
/// outside `--from`/`--to`: a month's allowance counts them all.
pub struct WithByok<'r, S> {
    pub inner: S,
    pub byok: ByokSink<'r>,
}

impl<S: CallSink> CallSink for WithByok<'_, S> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let d = self.inner.accept(call);
        if !matches!(d, Disposition::Rejected(_)) {
            self.byok.accept(call);
        }
        d
    }

    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
        self.byok.merge(other.byok);
    }
}

/// The fee policies, with `--byok-subscription` applied; notes say what the option changed.
pub fn load_book(common: &CommonArgs, fee: &FeeArgs) -> Result<(FeeBook, Vec<String>)> {
    let mut book = super::load_fees(common)?;
    let mut notes = Vec::new();
    if let Some(price) = fee.byok_subscription {
        if price.is_sign_negative() {
            bail!("--byok-subscription {price} is negative");
        }
        if !book.needs_subscription_price() {
            for p in book.replace_byok_pct_by_subscription() {
                notes.push(format!(
                    "--byok-subscription: {p}'s BYOK percentage is replaced by USD {} a month for the whole run (fees.toml has no dated subscription policy)",
                    money(price)
                ));
            }
        }
    }
    Ok((book, notes))
}

/// The top-up ledger, when `--topups` is given.
pub struct Ledger {
    pub purchases: Vec<Purchase>,
    pub rejections: Vec<Rejection>,
    pub files: Vec<FileStats>,
}

/// Purchases outside `--from`/`--to` are counted as out of range in `files.csv`, as log rows are.
pub fn read_ledger(
    fee: &FeeArgs,
    sheet: Option<&str>,
    logs: &LogArgs,
    period: Period,
) -> Result<Ledger> {
    if fee.topups.is_empty() {
        return Ok(Ledger {
            purchases: Vec::new(),
            rejections: Vec::new(),
            files: Vec::new(),
        });
    }
    let read = topups::read_topups(&fee.topups, sheet, logs.tz)?;
    if logs.strict {
        if let Some(r) = read.rejections.first() {
            bail!("{r} (--strict stops at the first rejected row)");
        }
    }
    let mut files = read.files;
    let (purchases, outside): (Vec<Purchase>, Vec<Purchase>) = read
        .purchases
        .into_iter()
        .partition(|p| period.contains(p.day));
    for p in &outside {
        if let Some(f) = files.iter_mut().find(|f| f.file == p.file) {
            f.used -= 1;
            f.out_of_range += 1;
        }
    }
    Ok(Ledger {
        purchases,
        rejections: read.rejections,
        files,
    })
}

/// The fee part's result.
pub struct FeeReport {
    pub rows: Vec<FeeRow>,
    pub checks: Vec<PurchaseCheck>,
}

impl FeeReport {
    pub fn flagged(&self) -> bool {
        self.rows.iter().any(|r| r.status.flagged())
    }

    pub fn totals(&self) -> std::collections::BTreeMap<String, FeeTotals> {
        fees::totals(&self.rows)
    }
}

/// Everything the fee model needs once the logs are read: BYOK fees (reading the crossing
/// minutes once more), top-up checks and subscriptions for the months of the run.
#[allow(clippy::too_many_arguments)]
pub fn fee_report(
    book: &FeeBook,
    fee: &FeeArgs,
    logs: Option<&LogArgs>,
    rates: &RateTable,
    period: Period,
    daily: Option<&Daily>,
    tally: Option<&ByokTally>,
    ledger: &Ledger,
    tolerance: Money,
) -> Result<FeeReport> {
    let tz = logs.and_then(|l| l.tz);
    // The months of the run: of the period, of the logged days and of the purchases.
    let mut months: BTreeSet<Month> = BTreeSet::new();
    if let (Some(f), Some(t)) = (period.from, period.to) {
        let mut m = Month::of(f);
        while m <= Month::of(t) {
            months.insert(m);
            m = m.next();
        }
    }
    let mut providers: BTreeSet<String> = BTreeSet::new();
    for r in daily.map(|d| &d.rows[..]).unwrap_or_default() {
        months.insert(Month::of(r.day));
        providers.insert(r.provider.clone());
    }
    for p in &ledger.purchases {
        months.insert(Month::of(p.day));
        providers.insert(p.provider.clone());
    }
    let in_run = |m: Month| match (period.from, period.to) {
        (None, None) => true,
        (f, t) => f.is_none_or(|f| m >= Month::of(f)) && t.is_none_or(|t| m <= Month::of(t)),
    };

    let mut byok = Vec::new();
    if let (Some(tally), Some(logs)) = (tally, logs) {
        let (first, missing) = tally.fees(book, tz, &FxHashMap::default());
        byok = if missing.is_empty() {
            first
        } else {
            // The allowance runs out inside these minutes: read their calls one by one.
            let (look, _) = super::scan_logs(logs, FIELDS, || MinuteSink::new(rates, &missing))?;
            tally.fees(book, tz, &look.calls).0
        };
        byok.retain(|b| in_run(b.month));
        providers.extend(tally.providers().map(str::to_string));
    }
    let checks = fees::check_purchases(book, &ledger.purchases, tolerance);
    let subs = fees::subscriptions(book, &providers, &months, fee.byok_subscription)
        .map_err(anyhow::Error::msg)?;
    Ok(FeeReport {
        rows: fees::fee_rows(&checks, &byok, &subs, tolerance),
        checks,
    })
}

/// One line per provider: usage at list prices, fees, the effective total and rate.
pub fn print_effective(common: &CommonArgs, daily: Option<&Daily>, report: &FeeReport) {
    if common.quiet {
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
    for (provider, e) in effective(daily, report) {
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

/// A provider's usage and fees: what its traffic really cost.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub usage_usd: Money,
    pub tokens: u128,
    pub fees: FeeTotals,
}

impl Effective {
    pub fn total(&self) -> Money {
        self.usage_usd + self.fees.total()
    }

    /// Fee-inclusive USD per million tokens.
    pub fn per_mtok(&self) -> Option<Money> {
        let t =
            Money::try_from_i128_with_scale(self.tokens.min(i64::MAX as u128) as i128, 0).ok()?;
        (!t.is_zero()).then(|| self.total() * Money::from(1_000_000) / t)
    }
}

/// Usage (priced rows at list prices) and expected fees per provider.
pub fn effective(
    daily: &Daily,
    report: &FeeReport,
) -> std::collections::BTreeMap<String, Effective> {
    let mut out: std::collections::BTreeMap<String, Effective> = Default::default();
    for r in &daily.rows {
        let e = out.entry(r.provider.clone()).or_default();
        e.usage_usd += r.cost_usd.unwrap_or_default();
        e.tokens += r.total_tokens();
    }
    for (p, t) in report.totals() {
        out.entry(p).or_default().fees = t;
    }
    out
}

pub fn run(args: &FeesArgs) -> Result<Outcome> {
    if args.logs.paths.is_empty() && args.fees.topups.is_empty() {
        bail!("give --topups (the top-up ledger), --logs (for BYOK fees), or both");
    }
    if args.months.is_some() && (args.logs.paths.is_empty() || args.common.out.is_none()) {
        bail!("--months needs --logs (the traffic) and --out (it writes scenarios.csv)");
    }
    let rates = super::load_rates(&args.common)?;
    let (book, notes) = load_book(&args.common, &args.fees)?;
    let period = super::period(&args.logs)?;
    let ledger = read_ledger(&args.fees, args.sheet.as_deref(), &args.logs, period)?;
    let mut traffic_seen = None;
    let scanned = if args.logs.paths.is_empty() {
        None
    } else {
        let (both, report) = super::scan_logs(&args.logs, FIELDS, || WithByok {
            inner: (
                DailyAggregator::new(&rates, args.logs.tz, period),
                args.months
                    .map(|_| TrafficSink::new(&rates, args.logs.tz, period)),
            ),
            byok: ByokSink::new(&rates),
        })?;
        let (daily, traffic) = both.inner;
        traffic_seen = traffic.map(TrafficSink::finish);
        Some((daily.finish(), both.byok.finish(), report))
    };
    let daily = scanned.as_ref().map(|s| &s.0);
    let report = fee_report(
        &book,
        &args.fees,
        scanned.as_ref().map(|_| &args.logs),
        &rates,
        period,
        daily,
        scanned.as_ref().map(|s| &s.1),
        &ledger,
        args.tolerance_usd,
    )?;

    let fees_table = output::fees_table(&report.rows);
    let topups_table = output::topups_table(&report.checks);
    super::write_main(&args.common, "fees", &fees_table)?;
    let sink = super::sink(&args.common);
    let mut sheets = vec![("Fees", &fees_table)];
    if !args.fees.topups.is_empty() {
        sink.write_secondary("topups.csv", &topups_table.csv())?;
        sheets.push(("Top-ups", &topups_table));
    }
    let scenarios = match (&traffic_seen, args.months) {
        (Some(traffic), Some(n)) => scenarios(args, traffic, n, &rates)?,
        _ => Vec::new(),
    };
    let scenarios_table = output::scenarios_table(&scenarios);
    if traffic_seen.is_some() && args.months.is_some() {
        sink.write_secondary("scenarios.csv", &scenarios_table.csv())?;
        sheets.push(("Scenarios", &scenarios_table));
    }
    let scan = scanned.as_ref().map(|s| &s.2);
    super::write_accounting(&args.common, scan, &ledger.rejections, &ledger.files)?;
    super::write_xlsx(
        args.book.xlsx.as_deref(),
        &sheets,
        scan,
        &ledger.rejections,
        &ledger.files,
    )?;
    let log_rejected = scan.is_some_and(|s| !s.rejections.is_empty());
    if !args.common.quiet {
        for n in &notes {
            eprintln!("note: {n}");
        }
        if let Some((daily, _, scan)) = &scanned {
            super::print_summary(&args.common, scan, daily);
        }
        for f in &ledger.files {
            eprintln!(
                "{}: {} rows read, {} used, {} outside --from/--to, {} rejected",
                f.file, f.read, f.used, f.out_of_range, f.rejected
            );
        }
        super::print_rejections(&args.common, &ledger.rejections);
        print_effective(&args.common, daily, &report);
        print_scenarios(&scenarios);
    }
    Ok(
        if report.flagged() || log_rejected || !ledger.rejections.is_empty() {
            Outcome::Flagged
        } else {
            Outcome::Reconciled
        },
    )
}

/// All traffic on each gateway of fees.toml, by policy; and, with `--byok-subscription`, on each
/// gateway that charges a BYOK percentage once more with the subscription instead.
pub fn gateway_scenarios(book: &FeeBook, price: Option<Money>) -> Vec<Scenario> {
    let mut gateways: Vec<String> = book.policies().map(|p| p.provider.clone()).collect();
    gateways.dedup();
    let mut out = Vec::new();
    for g in gateways {
        out.push(Scenario {
            name: format!("all_on_{g}"),
            route: Route::AllOn(g.clone()),
            byok: ByokMode::Policy,
        });
        let charges_pct = book
            .policies()
            .any(|p| p.provider == g && !p.byok.pct.is_zero());
        if let (Some(price), true) = (price, charges_pct) {
            out.push(Scenario {
                name: format!("all_on_{g}_byok_subscription"),
                route: Route::AllOn(g),
                byok: ByokMode::Subscription(price),
            });
        }
    }
    out
}

/// The fee scenarios of `fees --months`.
fn scenarios(
    args: &FeesArgs,
    traffic: &Traffic,
    months: u32,
    rates: &RateTable,
) -> Result<Vec<ScenarioRow>> {
    let Some(base) = traffic.last_month() else {
        bail!("--months: the logs hold no billable call to project");
    };
    let slugs = super::load_slugs(&args.common)?;
    let price = args.fees.byok_subscription;
    // The policies as written: the subscription is a scenario of its own here.
    let book = &super::load_fees(&args.common)?;
    let projection = Projection {
        traffic,
        base,
        rates,
        slugs: &slugs,
        book,
        subscription_price: price,
        scale: Default::default(),
    };
    let mut rows = Vec::new();
    for s in gateway_scenarios(book, price) {
        rows.extend(projection.months_after(&s, months, args.growth_pct));
    }
    rows.sort_by(|a, b| (a.month, &a.scenario).cmp(&(b.month, &b.scenario)));
    Ok(rows)
}

/// Each scenario's totals over all its months, and what it could not price.
fn print_scenarios(rows: &[ScenarioRow]) {
    if let Some(r) = rows.iter().find(|r| r.unpriced_calls > 0) {
        eprintln!(
            "note: scenarios: {} of {} base-month calls have no rate on some gateway; their usage is left out",
            r.unpriced_calls, r.calls
        );
    }
    let mut totals: std::collections::BTreeMap<&str, (u32, [Money; 5])> = Default::default();
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

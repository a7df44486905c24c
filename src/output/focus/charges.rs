//! The charges of the FOCUS dataset as exact amounts, before they become text: usage one per
//! day × gateway × model × token kind × price, the invoices' amounts and the fees apportioned
//! onto them.
//!
//! Each usage charge prices one kind of token at one list price, so `ListUnitPrice ×
//! PricingQuantity = ListCost` holds exactly (FOCUS 1.2 `ListCost`: "calculated by multiplying
//! List Unit Price and the corresponding Pricing Quantity"): the unit is one million tokens, the
//! unit price the rate table's price per million, the quantity the tokens / 1,000,000.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::RoundingStrategy;
use serde_json::json;

use super::{FocusInput, FocusTenants};
use crate::domain::{money, Day, Money, Month, Tier};
use crate::fees::{FeeKind, FeeRow};
use crate::pricing::{kind_prices, token_kinds};
use crate::showback::TenantPart;
use crate::sources::invoices::{Grain, InvoiceLine};

/// Decimal places an apportioned share keeps; the rounding remainder goes to the largest row so
/// the shares add up to the amount exactly.
const SHARE_DP: u32 = 10;

/// Tokens per pricing unit ("1000000 Tokens"): the rate table's prices are per million.
const PER_UNIT: u32 = 6;

/// The kinds of token a model prices apart, in the order of [`token_kinds`] and [`kind_prices`]:
/// a kind's discriminant is its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TokenKind {
    Input,
    CachedInput,
    CacheWrite,
    CacheWrite1h,
    Output,
}

impl TokenKind {
    const ALL: [TokenKind; 5] = [
        TokenKind::Input,
        TokenKind::CachedInput,
        TokenKind::CacheWrite,
        TokenKind::CacheWrite1h,
        TokenKind::Output,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::CachedInput => "cached_input",
            TokenKind::CacheWrite => "cache_write",
            TokenKind::CacheWrite1h => "cache_write_1h",
            TokenKind::Output => "output",
        }
    }

    /// `SkuMeter`: what the charge measures.
    fn meter(self) -> &'static str {
        match self {
            TokenKind::Input => "Input tokens",
            TokenKind::CachedInput => "Cached input tokens",
            TokenKind::CacheWrite => "Cache write tokens",
            TokenKind::CacheWrite1h => "Cache write tokens (1 hour)",
            TokenKind::Output => "Output tokens",
        }
    }

    fn words(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::CachedInput => "cached input",
            TokenKind::CacheWrite => "cache write",
            TokenKind::CacheWrite1h => "one-hour cache write",
            TokenKind::Output => "output",
        }
    }
}

/// The list price of a usage charge: a row of the rate table (its index) and tier; `None` when
/// no row prices the model (its list price is unknown and written as 0).
pub(crate) type Price = Option<(usize, Tier)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Usage,
    Purchase,
}

/// One row of the dataset.
#[derive(Debug, Clone)]
pub(crate) struct Charge<'a> {
    pub category: Category,
    pub provider: &'a str,
    /// The charge period, end exclusive: a day for usage, the month for a fee.
    pub start: Day,
    pub end: Day,
    pub month: Month,
    /// The model (usage), `fee:<kind>` (purchase).
    pub sku_id: String,
    pub sku_price_id: String,
    pub meter: String,
    /// `SkuPriceDetails`, a JSON object.
    pub price_details: String,
    pub publisher: &'a str,
    pub description: String,
    pub frequency: &'static str,
    pub unit: &'static str,
    /// `PricingQuantity` in `unit`s.
    pub quantity: Money,
    /// `ConsumedQuantity`: tokens (usage only).
    pub consumed: Option<u128>,
    /// `ListUnitPrice`, also the contracted one (no negotiated prices are known).
    pub unit_price: Money,
    /// `ListCost` and `ContractedCost`: `unit_price × quantity`.
    pub list: Money,
    pub billed: Money,
    pub effective: Money,
    pub kind: Option<TokenKind>,
    pub price: Price,
    /// `InvoiceId`: the statement's invoice number where the bill that billed the row names one.
    pub invoice_id: Option<String>,
    /// The logs' tokens of the row (`x_` columns); `None` on a row only the invoice knows.
    pub logged: Option<u128>,
    /// The logged calls of the day × gateway × model, on the first of its rows (0 on the others),
    /// so the column adds up.
    pub calls: u64,
    pub fee: Option<FeeKind>,
    /// With `--by`: the usage's group (`(none)` for calls without one); `None` on a fee.
    pub tenant: Option<&'a str>,
}

/// Every charge: usage sorted by day, gateway, model, token kind and price, then the fees in
/// the order of `fees.csv`.
pub(crate) fn charges<'a>(input: &FocusInput<'a>) -> Vec<Charge<'a>> {
    let invoiced: BTreeSet<&str> = input
        .invoices
        .unwrap_or_default()
        .iter()
        .map(|l| l.provider.as_str())
        .collect();
    let mut usage = logged_usage(input, &invoiced);
    bill_invoices(input, &mut usage);
    usage.sort_by(|a, b| {
        (a.start, a.provider, &a.sku_id, a.tenant, a.kind, a.price)
            .cmp(&(b.start, b.provider, &b.sku_id, b.tenant, b.kind, b.price))
    });
    let fees = spread_fees(input.fees, &mut usage);
    usage.extend(fees);
    usage
}

/// The logged usage, one charge per day × gateway × model × token kind × price, BYOK calls left
/// out (the customer pays them upstream with its own key: no charge of the gateway's). Billed
/// at list price where no invoice of the gateway is read, else 0 until the invoices are laid on.
fn logged_usage<'a>(input: &FocusInput<'a>, invoiced: &BTreeSet<&str>) -> Vec<Charge<'a>> {
    if let Some(t) = &input.tenants {
        return tenant_usage(input, t, invoiced);
    }
    let mut out = Vec::new();
    for r in input.daily.iter().filter(|r| r.requests > 0) {
        let mut tokens: BTreeMap<(TokenKind, Price), u128> = BTreeMap::new();
        for p in r.parts.iter().filter(|p| !p.byok) {
            let price = p.rate.map(|i| (i, p.tier));
            for (kind, n) in TokenKind::ALL.into_iter().zip(token_kinds(&p.tokens)) {
                if n > 0 {
                    *tokens.entry((kind, price)).or_default() += n;
                }
            }
        }
        let first = out.len();
        for ((kind, price), n) in tokens {
            let mut c = usage_charge(input, r.day, &r.provider, &r.model, kind, price, n);
            c.logged = Some(n);
            if !invoiced.contains(r.provider.as_str()) {
                c.billed = c.list;
            }
            out.push(c);
        }
        if let Some(c) = out.get_mut(first) {
            c.calls = r.requests - r.byok_requests;
        }
    }
    out
}

/// As [`logged_usage`], each day × gateway × model × token kind × price split further per tenant
/// (`--by`): the tenants' tokens of a day × gateway × model add up to its daily row's, so the
/// charges, the invoices laid on them and the fees spread over them add up to the same totals.
fn tenant_usage<'a>(
    input: &FocusInput<'a>,
    t: &FocusTenants<'a>,
    invoiced: &BTreeSet<&str>,
) -> Vec<Charge<'a>> {
    let mut out = Vec::new();
    let billed = |p: &&TenantPart| !(t.byok && p.byok);
    // Parts come sorted by day, provider, model, tenant: a run per daily row, then per tenant.
    for row in t
        .parts
        .chunk_by(|a, b| (a.day, &a.provider, &a.model) == (b.day, &b.provider, &b.model))
    {
        // A row without tokens has no charges, as without `--by`; in a row with some, a tenant
        // whose calls had none gets a row of 0 tokens, so its calls are counted.
        if row.iter().filter(billed).all(|p| p.tokens.is_empty()) {
            continue;
        }
        for run in row.chunk_by(|a, b| a.tenant == b.tenant) {
            let head = &run[0];
            let (day, provider, model) = (head.day, head.provider.as_str(), head.model.as_str());
            let mut tokens: BTreeMap<(TokenKind, Price), u128> = BTreeMap::new();
            let mut calls = 0u64;
            for p in run.iter().filter(billed) {
                calls += p.calls;
                let price = p.rate.map(|i| (i, p.tier));
                for (kind, n) in TokenKind::ALL.into_iter().zip(token_kinds(&p.tokens)) {
                    if n > 0 {
                        *tokens.entry((kind, price)).or_default() += n;
                    }
                }
            }
            if tokens.is_empty() && calls > 0 {
                tokens.insert((TokenKind::Input, head.rate.map(|i| (i, head.tier))), 0);
            }
            let first = out.len();
            for ((kind, price), n) in tokens {
                let mut c = usage_charge(input, day, provider, model, kind, price, n);
                c.logged = Some(n);
                c.tenant = Some(head.tenant.as_str());
                if !invoiced.contains(provider) {
                    c.billed = c.list;
                }
                out.push(c);
            }
            if let Some(c) = out.get_mut(first) {
                c.calls = calls;
            }
        }
    }
    out
}

/// A usage charge of `n` tokens of `kind` at `price`, nothing billed yet.
fn usage_charge<'a>(
    input: &FocusInput<'a>,
    day: Day,
    provider: &'a str,
    model: &'a str,
    kind: TokenKind,
    price: Price,
    n: u128,
) -> Charge<'a> {
    let quantity = Money::try_from_i128_with_scale(n.min(i128::MAX as u128) as i128, PER_UNIT)
        .unwrap_or(Money::MAX);
    let (unit_price, sku_price_id, details, at) = match price {
        Some((i, tier)) => {
            let rate = input.rates.get(i);
            let unit_price = kind_prices(rate, tier)[kind as usize];
            let tier = match tier {
                Tier::Standard => "standard",
                Tier::LongContext => "long_context",
            };
            (
                unit_price,
                format!(
                    "{model}:{}:{tier}:{}:{}",
                    kind.as_str(),
                    rate.provider,
                    rate.effective_from
                ),
                json!({
                    "x_TokenKind": kind.as_str(),
                    "x_ContextTier": tier,
                    "x_RateProvider": rate.provider,
                    "x_RateEffectiveFrom": rate.effective_from.to_string(),
                }),
                format!(
                    "at {} USD per million{}",
                    money(unit_price),
                    if tier == "standard" {
                        ""
                    } else {
                        " (long-context tier)"
                    }
                ),
            )
        }
        None => (
            Money::ZERO,
            format!("{model}:{}:unpriced", kind.as_str()),
            json!({"x_TokenKind": kind.as_str(), "x_ListPrice": "unknown"}),
            "with no rate for the model: list price unknown, written as 0".to_string(),
        ),
    };
    Charge {
        category: Category::Usage,
        provider,
        start: day,
        end: Day(day.0 + 1),
        month: Month::of(day),
        sku_id: model.to_string(),
        sku_price_id,
        meter: kind.meter().to_string(),
        price_details: details.to_string(),
        publisher: model.split_once('/').map_or(model, |(author, _)| author),
        description: format!("{model} via {provider}: {n} {} tokens {at}", kind.words()),
        frequency: "Usage-Based",
        unit: "1000000 Tokens",
        quantity,
        consumed: Some(n),
        unit_price,
        list: unit_price.saturating_mul(quantity),
        billed: Money::ZERO,
        effective: Money::ZERO,
        kind: Some(kind),
        price,
        invoice_id: None,
        logged: None,
        calls: 0,
        fee: None,
        tenant: None,
    }
}

/// Lays each invoice line's amount on the charges of its day × gateway × model, shared by their
/// list cost (by tokens where none is priced). A line the logs lack becomes charges of its own:
/// the tokens it bills, by kind, at the rate table's standard tier (a line does not say which
/// calls were long), with the note that the logs never called them.
fn bill_invoices<'a>(input: &FocusInput<'a>, usage: &mut Vec<Charge<'a>>) {
    let mut logged: BTreeMap<(Day, &str, String), Vec<usize>> = BTreeMap::new();
    for (i, c) in usage.iter().enumerate() {
        logged
            .entry((c.start, c.provider, c.sku_id.clone()))
            .or_default()
            .push(i);
    }
    // A usage export bills nothing (tokens only): it lays no amount on any row.
    let lines: Vec<&'a InvoiceLine> = input
        .invoices
        .unwrap_or_default()
        .iter()
        .filter(|l| l.amount_known)
        .collect();
    // Finest grain first; a coarser line of the same gateway (a day total, a month statement)
    // is the same bill seen whole, so it lays only what its finer lines did not bill on the
    // rows they did not cover (docs/commands/reconcile.md, "Bills at other grains").
    let mut day_billed: BTreeMap<(Day, &str), (Money, bool)> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.grain == Grain::DayModel) {
        let rows = logged
            .remove(&(l.day, l.provider.as_str(), l.model.clone()))
            .unwrap_or_default();
        bill_line(input, usage, l, rows, l.amount_usd);
        day_billed.entry((l.day, &l.provider)).or_default().0 += l.amount_usd;
    }
    for l in lines.iter().filter(|l| l.grain == Grain::Day) {
        let e = day_billed.entry((l.day, &l.provider)).or_default();
        let rest = l.amount_usd - e.0;
        *e = (l.amount_usd, true);
        let rows = take(&mut logged, |(d, p, _)| *d == l.day && *p == l.provider);
        bill_line(input, usage, l, rows, rest);
    }
    for l in lines.iter().filter(|l| l.grain == Grain::Month) {
        let month = Month::of(l.day);
        let finer: Money = day_billed
            .iter()
            .filter(|((d, p), _)| Month::of(*d) == month && *p == l.provider)
            .map(|(_, (m, _))| *m)
            .sum();
        let rows = take(&mut logged, |(d, p, _)| {
            Month::of(*d) == month && *p == l.provider
        });
        bill_line(input, usage, l, rows, l.amount_usd - finer);
    }
    for c in usage.iter_mut() {
        c.effective = c.billed;
    }
}

/// The logged rows whose key matches, taken out so no other line bills them again.
fn take(
    logged: &mut BTreeMap<(Day, &str, String), Vec<usize>>,
    covers: impl Fn(&(Day, &str, String)) -> bool,
) -> Vec<usize> {
    let keys: Vec<_> = logged.keys().filter(|k| covers(k)).cloned().collect();
    keys.into_iter()
        .flat_map(|k| logged.remove(&k).unwrap_or_default())
        .collect()
}

/// Lays `amount` of line `l` on `rows`, shared by their list cost (by tokens where none is
/// priced). With no row to lay it on, the line's own tokens become rows (a day × model line the
/// logs lack) or one row of the whole bill (a day or month total the logs lack).
fn bill_line<'a>(
    input: &FocusInput<'a>,
    usage: &mut Vec<Charge<'a>>,
    l: &'a InvoiceLine,
    mut rows: Vec<usize>,
    amount: Money,
) {
    if rows.is_empty() && amount.is_zero() && l.grain != Grain::DayModel {
        return;
    }
    if rows.is_empty() {
        let price = input
            .rates
            .lookup(&l.provider, &l.model, l.day)
            .map(|i| (i, Tier::Standard));
        let cached = l.cached_tokens.unwrap_or(0);
        let written = l.cache_write_tokens.unwrap_or(0);
        let kinds = [
            (
                TokenKind::Input,
                l.prompt_tokens.saturating_sub(cached + written),
            ),
            (TokenKind::CachedInput, cached),
            (TokenKind::CacheWrite, written),
            (TokenKind::Output, l.completion_tokens),
        ];
        let mut billed: Vec<(TokenKind, u128)> =
            kinds.into_iter().filter(|(_, n)| *n > 0).collect();
        if billed.is_empty() {
            billed.push((TokenKind::Input, 0));
        }
        for (kind, n) in billed {
            let mut c = usage_charge(input, l.day, &l.provider, &l.model, kind, price, n);
            c.description
                .push_str("; billed by the invoice, not in the logs");
            rows.push(usage.len());
            usage.push(c);
        }
    }
    let by_list: Vec<Money> = rows.iter().map(|&i| usage[i].list).collect();
    let by_tokens: Vec<Money> = rows
        .iter()
        .map(|&i| whole(usage[i].consumed.unwrap_or(0)))
        .collect();
    let shares = apportion(amount, &by_list)
        .or_else(|| apportion(amount, &by_tokens))
        .unwrap_or_else(|| {
            let mut s = vec![Money::ZERO; rows.len()];
            s[0] = amount;
            s
        });
    for (&i, share) in rows.iter().zip(shares) {
        usage[i].billed += share;
        if l.invoice_id.is_some() {
            usage[i].invoice_id = l.invoice_id.clone();
        }
    }
}

/// One purchase charge per fee row. FOCUS amortises a prepaid purchase onto the usage it
/// covers: each fee is spread onto its gateway's usage of the month by tokens, into
/// `EffectiveCost`, and the purchase's own `EffectiveCost` is 0; a month with no usage to carry
/// it keeps the fee on the purchase.
fn spread_fees<'a>(fees: &'a [FeeRow], usage: &mut [Charge<'a>]) -> Vec<Charge<'a>> {
    let mut out = Vec::new();
    for f in fees {
        let amount = fee_billed(f);
        let rows: Vec<usize> = (0..usage.len())
            .filter(|&i| usage[i].provider == f.provider && usage[i].month == f.month)
            .collect();
        let weights: Vec<Money> = rows
            .iter()
            .map(|&i| whole(usage[i].consumed.unwrap_or(0)))
            .collect();
        let shares = if amount.is_zero() {
            None
        } else {
            apportion(amount, &weights)
        };
        let effective = match shares {
            Some(shares) => {
                for (&i, share) in rows.iter().zip(shares) {
                    usage[i].effective += share;
                }
                Money::ZERO
            }
            None => amount,
        };
        let list = f.expected_fee_usd.unwrap_or(amount);
        out.push(Charge {
            category: Category::Purchase,
            invoice_id: None,
            provider: &f.provider,
            start: f.month.first_day(),
            end: f.month.next().first_day(),
            month: f.month,
            sku_id: format!("fee:{}", f.kind.as_str()),
            sku_price_id: format!("fee:{}:{}", f.kind.as_str(), f.provider),
            meter: fee_meter(f.kind).to_string(),
            price_details: json!({"x_FeeKind": f.kind.as_str()}).to_string(),
            publisher: &f.provider,
            description: format!("{} fee: {}", f.kind.as_str(), f.note),
            // A purchase is never usage-based (FOCUS 1.2 ChargeFrequency): the fees of a month
            // are charged once; a subscription recurs.
            frequency: match f.kind {
                FeeKind::Subscription => "Recurring",
                _ => "One-Time",
            },
            unit: "Fee",
            quantity: Money::ONE,
            consumed: None,
            unit_price: list,
            list,
            billed: amount,
            effective,
            kind: None,
            price: None,
            logged: None,
            calls: 0,
            fee: Some(f.kind),
            tenant: None,
        });
    }
    out
}

fn fee_meter(kind: FeeKind) -> &'static str {
    match kind {
        FeeKind::TopupCard => "Card top-up fee",
        FeeKind::TopupCrypto => "Crypto top-up fee",
        FeeKind::TopupInvoice => "Invoice top-up fee",
        FeeKind::Byok => "BYOK fee",
        FeeKind::Subscription => "BYOK subscription",
    }
}

/// What a fee row bills: the charge the input reports, else the fee the policy expects.
fn fee_billed(f: &FeeRow) -> Money {
    f.fee_usd.or(f.expected_fee_usd).unwrap_or_default()
}

/// A token count as a decimal (saturating: counts past 2^96 are not real traffic).
pub(crate) fn whole(n: u128) -> Money {
    Money::try_from_i128_with_scale(n.min(i128::MAX as u128) as i128, 0).unwrap_or(Money::MAX)
}

/// `amount` shared by `weights`: each share rounded to [`SHARE_DP`] decimals, the remainder on
/// the largest weight (the first of equals), so the shares add up to `amount` exactly. `None`
/// when the weights add up to 0 (or there are none).
pub(crate) fn apportion(amount: Money, weights: &[Money]) -> Option<Vec<Money>> {
    let total: Money = weights.iter().copied().sum();
    if total.is_zero() {
        return None;
    }
    let mut shares: Vec<Money> = weights
        .iter()
        .map(|w| {
            // The ratio first: `amount × weight` could pass the decimal range.
            (*w / total * amount)
                .round_dp_with_strategy(SHARE_DP, RoundingStrategy::MidpointNearestEven)
        })
        .collect();
    let largest = (0..weights.len()).fold(
        0,
        |best, i| {
            if weights[i] > weights[best] {
                i
            } else {
                best
            }
        },
    );
    let given: Money = shares.iter().copied().sum();
    shares[largest] += amount - given;
    Some(shares)
}

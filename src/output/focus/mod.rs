//! `--focus FILE`: the priced usage and the fees as a FinOps FOCUS 1.2 cost and usage dataset
//! (CSV), for the tools a FinOps team already feeds from its cloud bills, such that the FinOps
//! Foundation's validator (`focus-validator` 2.2.1) finds no failed check but the InvoiceId one
//! no 1.2 dataset avoids (tests/cli/focus.rs, docs/reports.md).
//!
//! Columns: the 21 that FOCUS 1.2 makes mandatory (the specification's
//! `specification/columns/*.md` at tag v1.2), then the conditional and recommended ones a
//! per-token API with a public price list has (SKU, SKU price, list unit price, consumed
//! quantity, invoice, service subcategory, pricing-currency twins), then `x_` extensions.
//!
//! Rows ([`charges`]):
//! - *Usage*: one per day × gateway × model × token kind (input, cached input, cache write,
//!   one-hour cache write, output) × list price, priced per "1000000 Tokens" at the rate
//!   table's price per million, so `ListUnitPrice × PricingQuantity = ListCost` exactly.
//!   `BilledCost` is what the gateway billed: the invoice's amount of the day × model shared
//!   over its rows by list cost when invoices of the gateway are read (0 for a logged day the
//!   invoice lacks), else the list cost. BYOK calls are paid upstream, not to the gateway: no
//!   rows.
//! - *Purchase*: each fee of `fees.csv`, billed as charged (or as expected where the input does
//!   not say), one-time (a subscription: recurring), amortised into the `EffectiveCost` of its
//!   gateway's usage of the month by tokens.
//!
//! Periods are ISO 8601 instants in UTC with an exclusive end: a day in `--tz` starts at its
//! local midnight. Billing periods are calendar months.

mod charges;

use chrono::{NaiveDate, TimeZone};

use super::Table;
use crate::aggregate::DailyRow;
use crate::domain::{money, Day, Money};
use crate::fees::FeeRow;
use crate::pricing::RateTable;
use crate::showback::{Grain, Showback, TenantPart, NONE, OTHER};
use crate::sources::invoices::InvoiceLine;
use charges::{charges, whole, Category, Charge, TokenKind};

/// The 21 mandatory columns of FOCUS 1.2, in the specification's alphabetical order.
pub(crate) const MANDATORY: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// The other FOCUS 1.2 columns written (alphabetical), then the extensions. The
/// `PricingCurrency…` columns repeat the USD ones (prices and bills share one currency): the
/// specification allows them in every case, and validator 2.2.1 applies their presence rules to
/// any dataset that declares a public price list. The commitment discount columns are null
/// (pay-as-you-go has none) and present because the `ConsumedQuantity` requirements are
/// conditioned on `CommitmentDiscountStatus`.
const MORE: [&str; 24] = [
    "ChargeFrequency",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedUnitPrice",
    "InvoiceId",
    "ListUnitPrice",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "x_PromptTokens",
    "x_CompletionTokens",
    "x_CachedTokens",
    "x_CacheWriteTokens",
    "x_Calls",
    "x_FeeKind",
    "x_TokenKind",
];

const COLUMNS: usize = MANDATORY.len() + MORE.len();

/// What the dataset is made of.
pub(crate) struct FocusInput<'a> {
    pub daily: &'a [DailyRow],
    /// The rate table that priced `daily`: the parts of a daily row name its rows.
    pub rates: &'a RateTable,
    /// The invoices' daily lines, when the command read invoices (`reconcile`).
    pub invoices: Option<&'a [InvoiceLine]>,
    pub fees: &'a [FeeRow],
    pub tz: Option<chrono_tz::Tz>,
    /// With `--by`: the usage split per tenant, each row tagged with its tenant (`Tags`).
    pub tenants: Option<FocusTenants<'a>>,
}

/// The showback's tokens per day × tenant × gateway × model and price, and the `--by` field
/// that names the tenants (the key of their tag).
pub(crate) struct FocusTenants<'a> {
    pub field: &'a str,
    pub parts: &'a [TenantPart],
    /// Whether the command reads the `byok` flag (`daily` does not: there a BYOK call is usage
    /// like any, with `--by` or without, so the split rows add up to the same totals).
    pub byok: bool,
}

impl<'a> FocusTenants<'a> {
    /// The showback's parts when it kept days (the FOCUS rows are per day); `byok`: whether
    /// the command reads the flag.
    pub(crate) fn of(s: &'a Showback, byok: bool) -> Option<FocusTenants<'a>> {
        (s.grain == Grain::Day).then(|| FocusTenants {
            field: s.by.name(),
            parts: &s.parts,
            byok,
        })
    }
}

pub(crate) fn focus_table(input: &FocusInput) -> Table {
    let mut header: Vec<&'static str> = MANDATORY.to_vec();
    header.extend(MORE);
    // `Tags` (FOCUS 1.2, conditional: present when the data has tags) only with `--by`, in its
    // alphabetical place before the extensions, so a run without it writes what it always did.
    let tags_at = input.tenants.as_ref().map(|t| {
        let at = header
            .iter()
            .position(|h| h.starts_with("x_"))
            .unwrap_or(header.len());
        header.insert(at, "Tags");
        (at, t.field)
    });
    let rows = charges(input)
        .iter()
        .map(|c| {
            let cells = cells(c, input.tz);
            let mut row: Vec<String> = cells.into_iter().map(|c| c.1).collect();
            if let Some((at, field)) = tags_at {
                row.insert(at, tags(field, c.tenant));
            }
            debug_assert_eq!(row.len(), header.len());
            row
        })
        .collect();
    Table { header, rows }
}

/// A usage row's `Tags` (FOCUS KeyValueFormat, a JSON object): the user-defined tag `field`
/// (the `--by` field as named, e.g. `{"tenant":"search"}`) with the calls' value, unaltered.
/// Calls without one carry the key with a null value; the tenants past the sink's cap (summed
/// as `(other)`) carry the provider-defined `spendrecon/overflow` tag as well. A fee (a
/// purchase, amortised over every tenant's usage) has no tags.
fn tags(field: &str, tenant: Option<&str>) -> String {
    let mut map = serde_json::Map::new();
    match tenant {
        None => return String::new(),
        Some(NONE) => {
            map.insert(field.to_string(), serde_json::Value::Null);
        }
        Some(OTHER) => {
            map.insert(field.to_string(), serde_json::Value::Null);
            map.insert("spendrecon/overflow".into(), serde_json::Value::Bool(true));
        }
        Some(t) => {
            map.insert(field.to_string(), serde_json::Value::String(t.to_string()));
        }
    }
    serde_json::Value::Object(map).to_string()
}

/// One charge as (column, text), in the order of the header.
fn cells(c: &Charge, tz: Option<chrono_tz::Tz>) -> [(&'static str, String); COLUMNS] {
    let usage = c.category == Category::Usage;
    let tokens = |kinds: &[TokenKind]| match (c.logged, c.kind) {
        (Some(n), Some(k)) if kinds.contains(&k) => n.to_string(),
        (Some(_), Some(_)) => "0".to_string(),
        _ => String::new(),
    };
    let text = |s: &str| s.to_string();
    [
        ("BilledCost", money(c.billed)),
        ("BillingAccountId", text(c.provider)),
        ("BillingAccountName", text(c.provider)),
        ("BillingCurrency", text("USD")),
        ("BillingPeriodEnd", instant(c.month.next().first_day(), tz)),
        ("BillingPeriodStart", instant(c.month.first_day(), tz)),
        (
            "ChargeCategory",
            text(if usage { "Usage" } else { "Purchase" }),
        ),
        ("ChargeClass", String::new()),
        ("ChargeDescription", c.description.clone()),
        ("ChargePeriodEnd", instant(c.end, tz)),
        ("ChargePeriodStart", instant(c.start, tz)),
        ("ContractedCost", money(c.list)),
        ("EffectiveCost", money(c.effective)),
        ("InvoiceIssuerName", text(c.provider)),
        ("ListCost", money(c.list)),
        ("PricingQuantity", decimal(c.quantity)),
        ("PricingUnit", text(c.unit)),
        ("ProviderName", text(c.provider)),
        ("PublisherName", text(c.publisher)),
        ("ServiceCategory", text("AI and Machine Learning")),
        ("ServiceName", format!("{} LLM API", c.provider)),
        ("ChargeFrequency", text(c.frequency)),
        // Pay-as-you-go: no commitment discounts. Null, but present: the consumed-quantity
        // requirements are conditioned on CommitmentDiscountStatus.
        ("CommitmentDiscountId", String::new()),
        ("CommitmentDiscountStatus", String::new()),
        (
            "ConsumedQuantity",
            c.consumed.map(|n| decimal(whole(n))).unwrap_or_default(),
        ),
        (
            "ConsumedUnit",
            if usage { text("Tokens") } else { String::new() },
        ),
        ("ContractedUnitPrice", money(c.unit_price)),
        // Where the bill names its invoice (a monthly statement's `invoice_id`).
        (
            "InvoiceId",
            c.invoice_id.as_deref().map(text).unwrap_or_default(),
        ),
        ("ListUnitPrice", money(c.unit_price)),
        ("PricingCurrency", text("USD")),
        ("PricingCurrencyContractedUnitPrice", money(c.unit_price)),
        ("PricingCurrencyEffectiveCost", money(c.effective)),
        ("PricingCurrencyListUnitPrice", money(c.unit_price)),
        ("ServiceSubcategory", text("Generative AI")),
        ("SkuId", c.sku_id.clone()),
        ("SkuMeter", c.meter.clone()),
        ("SkuPriceDetails", c.price_details.clone()),
        ("SkuPriceId", c.sku_price_id.clone()),
        (
            "x_PromptTokens",
            tokens(&[
                TokenKind::Input,
                TokenKind::CachedInput,
                TokenKind::CacheWrite,
                TokenKind::CacheWrite1h,
            ]),
        ),
        ("x_CompletionTokens", tokens(&[TokenKind::Output])),
        ("x_CachedTokens", tokens(&[TokenKind::CachedInput])),
        (
            "x_CacheWriteTokens",
            tokens(&[TokenKind::CacheWrite, TokenKind::CacheWrite1h]),
        ),
        (
            "x_Calls",
            if usage {
                c.calls.to_string()
            } else {
                String::new()
            },
        ),
        (
            "x_FeeKind",
            c.fee.map(|k| text(k.as_str())).unwrap_or_default(),
        ),
        (
            "x_TokenKind",
            c.kind.map(|k| text(k.as_str())).unwrap_or_default(),
        ),
    ]
}

/// A FOCUS Decimal as text: exact, no exponent, and always with a decimal point, since the
/// validator reads a column of whole numbers as integers and FOCUS types quantities Decimal.
fn decimal(d: Money) -> String {
    let mut d = d.normalize();
    if d.scale() == 0 {
        d.rescale(1);
    }
    d.to_string()
}

/// The start of `day` in `tz` (UTC by default), as an ISO 8601 UTC instant.
fn instant(day: Day, tz: Option<chrono_tz::Tz>) -> String {
    let date: NaiveDate = day.date();
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let utc = match tz {
        None => midnight.and_utc(),
        Some(tz) => tz
            .from_local_datetime(&midnight)
            .earliest()
            .unwrap_or_else(|| tz.from_utc_datetime(&midnight))
            .with_timezone(&chrono::Utc),
    };
    utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests;

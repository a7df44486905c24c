//! The FOCUS rows on awkward inputs: exact prices on every row, kinds adding up to the rate
//! table's cost, bills and fees keeping their totals.

use std::path::Path;

use rust_decimal_macros::dec;

use super::charges::{apportion, charges, whole, Category, Charge, TokenKind};
use super::*;
use crate::aggregate::{DailyRow, PricedPart};
use crate::domain::{Day, Money, Month, Tier, TokenSums};
use crate::fees::{FeeKind, FeeRow, FeeStatus};
use crate::pricing::{cost, RateTable};
use crate::sources::invoices::InvoiceLine;

/// Prices chosen to be awkward: many decimals, a long-context tier, a one-hour write price,
/// a provider row beside the `*` row, and a row from mid-month.
const RATES: &str = "\
provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,cache_write_1h_per_mtok
*,a/long,2026-01-01,2026-04-14,3.0001,15.07,0.3333,3.7599,200000,6.0002,22.5013,6.17
*,a/long,2026-04-15,,2.9,14.9,0.29,3.6,200000,5.8,22.1,5.9
gw,a/long,2026-01-01,,0.0000001,0.1234567,0.0000003,0.0000007,,,,
*,b/flat,2026-01-01,,0.15,0.6,,,,,,
";

fn sums(n: [u128; 5]) -> TokenSums {
    TokenSums {
        uncached_input: n[0],
        cached: n[1],
        cache_write_5m: n[2],
        cache_write_1h: n[3],
        completion: n[4],
    }
}

fn part(rate: Option<usize>, tier: Tier, byok: bool, n: [u128; 5]) -> PricedPart {
    PricedPart {
        rate,
        tier,
        byok,
        tokens: sums(n),
    }
}

fn row(day: &str, provider: &str, model: &str, parts: Vec<PricedPart>) -> DailyRow {
    DailyRow {
        day: Day::parse(day).unwrap(),
        provider: provider.into(),
        model: model.into(),
        requests: 3,
        parts,
        ..Default::default()
    }
}

fn line(day: &str, provider: &str, model: &str, tokens: (u128, u128), usd: Money) -> InvoiceLine {
    InvoiceLine {
        day: Day::parse(day).unwrap(),
        provider: provider.into(),
        model: model.into(),
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        cached_tokens: Some(tokens.0 / 7),
        cache_write_tokens: None,
        requests: None,
        amount_usd: usd,
        tokens_known: true,
        amount_known: true,
        grain: crate::sources::invoices::Grain::DayModel,
        invoice_id: None,
        written: Vec::new(),
    }
}

struct World {
    rates: RateTable,
    daily: Vec<DailyRow>,
    invoices: Vec<InvoiceLine>,
    fees: Vec<FeeRow>,
}

fn world() -> World {
    let rates = RateTable::parse(Path::new("models.csv"), RATES.as_bytes()).unwrap();
    let at = |p: &str, m: &str, d: &str| rates.lookup(p, m, Day::parse(d).unwrap());
    let (early, late) = (
        at("or", "a/long", "2026-04-01"),
        at("or", "a/long", "2026-04-20"),
    );
    let gw = at("gw", "a/long", "2026-04-01");
    let flat = at("or", "b/flat", "2026-04-01");
    let daily = vec![
        row(
            "2026-04-01",
            "or",
            "a/long",
            vec![
                part(
                    early,
                    Tier::Standard,
                    false,
                    [123_457, 98_761, 5_003, 777, 33_331],
                ),
                part(early, Tier::LongContext, false, [250_001, 0, 0, 19, 4_099]),
                part(early, Tier::Standard, true, [1_000, 0, 0, 0, 10]),
            ],
        ),
        // A local day over two UTC days with a price change between them.
        row(
            "2026-04-14",
            "or",
            "a/long",
            vec![
                part(early, Tier::Standard, false, [7, 11, 13, 17, 19]),
                part(late, Tier::Standard, false, [23, 29, 31, 37, 41]),
            ],
        ),
        row(
            "2026-04-01",
            "gw",
            "a/long",
            vec![part(gw, Tier::Standard, false, [999_999_999, 1, 1, 1, 1])],
        ),
        row(
            "2026-04-02",
            "or",
            "c/none",
            vec![part(None, Tier::Standard, false, [5, 0, 0, 0, 6])],
        ),
        row(
            "2026-04-02",
            "or",
            "b/flat",
            vec![part(flat, Tier::Standard, false, [1, 2, 3, 0, 4])],
        ),
    ];
    let invoices = vec![
        line("2026-04-01", "or", "a/long", (700_000, 40_000), dec!(7.77)),
        line("2026-04-02", "or", "c/none", (5, 6), dec!(0.01)),
        // Billed and never logged: priced from the invoice's tokens.
        line("2026-04-03", "or", "b/flat", (333_333, 44_444), dec!(0.09)),
    ];
    let fees = vec![FeeRow {
        month: Month::of(Day::parse("2026-04-01").unwrap()),
        provider: "or".into(),
        kind: FeeKind::TopupCard,
        basis_usd: Some(dec!(100)),
        fee_usd: Some(dec!(5.51)),
        expected_fee_usd: Some(dec!(5.50)),
        status: FeeStatus::FeeMismatch,
        note: String::new(),
    }];
    World {
        rates,
        daily,
        invoices,
        fees,
    }
}

fn input(w: &World) -> FocusInput<'_> {
    FocusInput {
        daily: &w.daily,
        rates: &w.rates,
        invoices: Some(&w.invoices),
        fees: &w.fees,
        tz: None,
        tenants: None,
    }
}

#[test]
fn list_unit_price_times_pricing_quantity_is_list_cost_on_every_row() {
    let w = world();
    let all = charges(&input(&w));
    // 04-01: 5 kinds standard + 3 long (input, one-hour writes, output), BYOK none; 04-14:
    // 5 + 5 at two prices; gw: 5; unpriced: 2; b/flat: 4; the invoice's unlogged b/flat
    // line: input, cached, output; 1 fee.
    assert_eq!(all.len(), 8 + 10 + 5 + 2 + 4 + 3 + 1);
    for c in &all {
        assert_eq!(
            c.unit_price * c.quantity,
            c.list,
            "{} {}",
            c.sku_price_id,
            c.quantity
        );
    }
    // And the quantity is the tokens per million, exactly.
    for c in all.iter().filter(|c| c.category == Category::Usage) {
        assert_eq!(c.quantity * dec!(1000000), whole(c.consumed.unwrap()));
    }
}

#[test]
fn the_rows_of_a_part_add_up_to_its_cost_at_the_rate_table() {
    let w = world();
    let all = charges(&input(&w));
    for r in &w.daily {
        for p in r.parts.iter().filter(|p| !p.byok) {
            let Some(i) = p.rate else { continue };
            let listed: Money = all
                .iter()
                .filter(|c| {
                    c.start == r.day
                        && c.provider == r.provider
                        && c.sku_id == r.model
                        && c.price == Some((i, p.tier))
                })
                .map(|c| c.list)
                .sum();
            assert_eq!(listed, cost(w.rates.get(i), p.tier, &p.tokens), "{r:?}");
        }
    }
}

#[test]
fn bills_and_fees_keep_their_totals() {
    let w = world();
    let all = charges(&input(&w));
    let usage = all.iter().filter(|c| c.category == Category::Usage);
    // The invoices' amounts on "or"; "gw" has no invoice: billed at list.
    let billed: Money = usage.clone().map(|c| c.billed).sum();
    let gw: Money = usage
        .clone()
        .filter(|c| c.provider == "gw")
        .map(|c| c.list)
        .sum();
    assert!(gw > Money::ZERO);
    assert_eq!(billed, dec!(7.77) + dec!(0.01) + dec!(0.09) + gw);
    let effective: Money = all.iter().map(|c| c.effective).sum();
    assert_eq!(effective, billed + dec!(5.51));
    // Logged and not invoiced by a gateway that has invoices: billed 0.
    let fourteenth: Vec<&Charge> = usage
        .clone()
        .filter(|c| c.start.to_string() == "2026-04-14")
        .collect();
    assert_eq!(fourteenth.len(), 10);
    assert!(fourteenth.iter().all(|c| c.billed.is_zero()));
    // BYOK tokens: no row.
    let byok_input = 123_457 + 250_001;
    assert_eq!(
        usage
            .filter(|c| c.start.to_string() == "2026-04-01" && c.provider == "or")
            .filter(|c| c.kind == Some(TokenKind::Input))
            .map(|c| c.consumed.unwrap())
            .sum::<u128>(),
        byok_input
    );
}

#[test]
fn apportion_keeps_the_amount_and_gives_the_remainder_to_the_largest() {
    let thirds = apportion(dec!(1), &[dec!(1), dec!(1), dec!(1)]).unwrap();
    assert_eq!(
        thirds,
        [dec!(0.3333333334), dec!(0.3333333333), dec!(0.3333333333)]
    );
    let shares = apportion(dec!(5.50), &[dec!(1), dec!(2), dec!(0)]).unwrap();
    assert_eq!(shares, [dec!(1.8333333333), dec!(3.6666666667), dec!(0)]);
    assert_eq!(apportion(dec!(1), &[dec!(0), dec!(0)]), None);
    assert_eq!(apportion(dec!(1), &[]), None);
    // Weights near the decimal range do not overflow.
    let big = apportion(dec!(1000000000000000), &[Money::MAX / dec!(2), Money::ONE]).unwrap();
    assert_eq!(big.iter().copied().sum::<Money>(), dec!(1000000000000000));
}

#[test]
fn a_local_day_starts_at_its_midnight_in_utc() {
    let d = Day::parse("2026-04-01").unwrap();
    assert_eq!(instant(d, None), "2026-04-01T00:00:00Z");
    assert_eq!(
        instant(d, Some(chrono_tz::Europe::Berlin)),
        "2026-03-31T22:00:00Z"
    );
}

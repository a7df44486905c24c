//! `rates/fees.toml`: each gateway's fee policy over time (docs/formats.md §2). Policies change, so every
//! entry has dates, and a purchase or a call is charged by the entry in force on its day.
//!
//! Dates are inclusive calendar days in `--tz`, the same clock that cuts months (a fee is a
//! monthly matter for a finance team). Amounts may be written as strings (`"0.80"`, exact) or
//! as TOML numbers (read from their shortest decimal form, so `5.5` is exactly 5.5).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::domain::{Day, Money, TopupMethod};

/// What a BYOK allowance is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceUnit {
    /// BYOK requests per calendar month.
    Requests,
    /// List-price USD of BYOK calls per calendar month.
    ListUsd,
}

/// The fee on one kind of top-up: `pct` % of the amount, at least `min_usd` per purchase.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TopupFee {
    pub pct: Money,
    pub min_usd: Money,
}

impl TopupFee {
    /// The fee on one purchase, rounded half-up to the cent as a card or wallet charge is.
    pub fn on(&self, amount: Money) -> Money {
        // The rate first: with `pct` ≤ 100 (as `FeeBook::parse` checks) the product is at most the
        // amount, so no amount overflows; past the decimal range the fee saturates, never panics.
        let fee = amount
            .checked_mul(self.pct / Money::ONE_HUNDRED)
            .unwrap_or(Money::MAX)
            .max(self.min_usd);
        fee.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    }
}

/// A BYOK monthly subscription's price: written in the file, or not public yet and given on the
/// command line (`--byok-subscription USD`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SubscriptionPrice {
    Usd(Money),
    FromCommandLine,
}

/// BYOK charges: `pct` % of each call's list cost past the monthly allowance, and/or a fixed
/// monthly subscription.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ByokFee {
    pub pct: Money,
    pub allowance: Money,
    pub unit: Option<AllowanceUnit>,
    pub subscription: Option<SubscriptionPrice>,
}

/// One dated entry of `fees.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub provider: String,
    pub effective_from: Day,
    pub effective_to: Option<Day>,
    pub card: TopupFee,
    pub crypto: TopupFee,
    pub invoice: TopupFee,
    pub byok: ByokFee,
    pub source: String,
}

impl Policy {
    pub(crate) fn covers(&self, day: Day) -> bool {
        day >= self.effective_from && self.effective_to.is_none_or(|to| day <= to)
    }

    pub fn topup(&self, method: TopupMethod) -> &TopupFee {
        match method {
            TopupMethod::Card => &self.card,
            TopupMethod::Crypto => &self.crypto,
            TopupMethod::Invoice => &self.invoice,
        }
    }

    /// Dates for messages: `2026-01-01..` or `2026-01-01..2026-04-15`.
    pub(crate) fn period(&self) -> String {
        format!(
            "{}..{}",
            self.effective_from,
            self.effective_to.map(|d| d.to_string()).unwrap_or_default()
        )
    }
}

/// Every provider's policies, checked for overlaps.
#[derive(Debug, Clone, Default)]
pub struct FeeBook {
    policies: BTreeMap<String, Vec<Policy>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FeeError {
    pub path: PathBuf,
    pub message: String,
}

pub(crate) static BUILTIN: &str = include_str!("../../rates/fees.toml");

impl FeeBook {
    pub(crate) fn load_dir(dir: &Path) -> Result<FeeBook, FeeError> {
        let path = dir.join("fees.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| FeeError {
            path: path.clone(),
            message: format!("cannot read: {e}"),
        })?;
        FeeBook::parse(&path, &text)
    }

    /// The `rates/fees.toml` shipped with the tool, as built into the binary.
    pub(crate) fn builtin() -> FeeBook {
        FeeBook::parse(Path::new("rates/fees.toml"), BUILTIN)
            .expect("the shipped rates/fees.toml is valid (a unit test loads it)")
    }

    pub fn parse(path: &Path, text: &str) -> Result<FeeBook, FeeError> {
        let err = |message: String| FeeError {
            path: path.to_path_buf(),
            message,
        };
        let file: FileToml =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().replace('\n', " ")))?;
        let mut book = FeeBook::default();
        for (i, p) in file.policy.into_iter().enumerate() {
            let n = i + 1;
            let day = |s: &str, key: &str| {
                Day::parse(s).ok_or_else(|| {
                    err(format!("policy {n}: {key} `{s}` is not a day (YYYY-MM-DD)"))
                })
            };
            let from = day(&p.effective_from, "effective_from")?;
            let to = match p.effective_to.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => Some(day(s, "effective_to")?),
            };
            if to.is_some_and(|t| t < from) {
                return Err(err(format!(
                    "policy {n}: effective_to is before effective_from"
                )));
            }
            let provider = p.provider.trim().to_ascii_lowercase();
            if provider.is_empty() {
                return Err(err(format!("policy {n}: provider is empty")));
            }
            let topup = p.topup.unwrap_or_default();
            let fee = |t: Option<TopupToml>, what: &str| -> Result<TopupFee, FeeError> {
                let t = t.unwrap_or_default();
                let f = TopupFee {
                    pct: t.pct.map_or(Money::ZERO, |a| a.0),
                    min_usd: t.min_usd.map_or(Money::ZERO, |a| a.0),
                };
                if f.pct.is_sign_negative() || f.min_usd.is_sign_negative() {
                    return Err(err(format!("policy {n}: {what} fee is negative")));
                }
                if f.pct > Money::ONE_HUNDRED {
                    return Err(err(format!(
                        "policy {n}: {what} fee of {} % is over 100 %",
                        f.pct
                    )));
                }
                Ok(f)
            };
            let byok = match p.byok {
                None => ByokFee::default(),
                Some(b) => {
                    let f = ByokFee {
                        pct: b.pct.map_or(Money::ZERO, |a| a.0),
                        allowance: b.allowance.map_or(Money::ZERO, |a| a.0),
                        unit: b.allowance_unit,
                        subscription: match b.subscription_usd_per_month {
                            None => None,
                            Some(Price::Parameter) => Some(SubscriptionPrice::FromCommandLine),
                            Some(Price::Usd(a)) => Some(SubscriptionPrice::Usd(a)),
                        },
                    };
                    if f.pct.is_sign_negative()
                        || f.allowance.is_sign_negative()
                        || matches!(f.subscription, Some(SubscriptionPrice::Usd(m)) if m.is_sign_negative())
                    {
                        return Err(err(format!("policy {n}: byok fee is negative")));
                    }
                    if f.pct > Money::ONE_HUNDRED {
                        return Err(err(format!(
                            "policy {n}: byok fee of {} % is over 100 %",
                            f.pct
                        )));
                    }
                    if !f.allowance.is_zero() && f.unit.is_none() {
                        return Err(err(format!(
                            "policy {n}: byok.allowance needs allowance_unit (\"requests\" or \"list_usd\")"
                        )));
                    }
                    if f.unit == Some(AllowanceUnit::Requests) && !f.allowance.fract().is_zero() {
                        return Err(err(format!(
                            "policy {n}: a BYOK allowance in requests must be a whole number"
                        )));
                    }
                    f
                }
            };
            let policy = Policy {
                provider: provider.clone(),
                effective_from: from,
                effective_to: to,
                card: fee(topup.card, "card top-up")?,
                crypto: fee(topup.crypto, "crypto top-up")?,
                invoice: fee(topup.invoice, "invoice top-up")?,
                byok,
                source: p.source.unwrap_or_default(),
            };
            let list = book.policies.entry(provider).or_default();
            if let Some(o) = list.iter().find(|o| {
                o.effective_to.is_none_or(|t| policy.effective_from <= t)
                    && policy.effective_to.is_none_or(|t| o.effective_from <= t)
            }) {
                return Err(err(format!(
                    "policy {n} ({} {}) overlaps the {} policy {}",
                    policy.provider,
                    policy.period(),
                    o.provider,
                    o.period()
                )));
            }
            list.push(policy);
        }
        for list in book.policies.values_mut() {
            list.sort_by_key(|p| p.effective_from);
        }
        Ok(book)
    }

    /// The policy in force for `provider` on `day`, if any.
    pub fn on(&self, provider: &str, day: Day) -> Option<&Policy> {
        self.policies
            .get(provider)
            .and_then(|l| l.iter().find(|p| p.covers(day)))
    }

    /// Whether the file names the provider at all (a gateway it does not name charges no fees
    /// spendrecon knows of).
    pub(crate) fn knows(&self, provider: &str) -> bool {
        self.policies.contains_key(provider)
    }

    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies.values().flatten()
    }

    /// The `--byok-subscription` scenario: every policy that charges a BYOK percentage charges a
    /// monthly subscription instead. Returns the providers changed.
    pub(crate) fn replace_byok_pct_by_subscription(&mut self) -> Vec<String> {
        let mut changed = Vec::new();
        for p in self.policies.values_mut().flatten() {
            if !p.byok.pct.is_zero() && p.byok.subscription.is_none() {
                p.byok = ByokFee {
                    subscription: Some(SubscriptionPrice::FromCommandLine),
                    ..ByokFee::default()
                };
                if !changed.contains(&p.provider) {
                    changed.push(p.provider.clone());
                }
            }
        }
        changed
    }

    /// Whether any policy's subscription price is left to the command line.
    pub(crate) fn needs_subscription_price(&self) -> bool {
        self.policies()
            .any(|p| p.byok.subscription == Some(SubscriptionPrice::FromCommandLine))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    policy: Vec<PolicyToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyToml {
    provider: String,
    effective_from: String,
    effective_to: Option<String>,
    source: Option<String>,
    topup: Option<TopupsToml>,
    byok: Option<ByokToml>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TopupsToml {
    card: Option<TopupToml>,
    crypto: Option<TopupToml>,
    invoice: Option<TopupToml>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TopupToml {
    pct: Option<Amount>,
    min_usd: Option<Amount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByokToml {
    pct: Option<Amount>,
    allowance: Option<Amount>,
    allowance_unit: Option<AllowanceUnit>,
    subscription_usd_per_month: Option<Price>,
}

/// An exact amount written as a string or a TOML number.
struct Amount(Money);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AmountVisitor).map(Amount)
    }
}

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal amount, e.g. \"5.5\" or 0.80")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Money, E> {
        Money::from_str_exact(s.trim())
            .map_err(|_| E::custom(format!("`{s}` is not a decimal amount")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
        Ok(Money::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
        Ok(Money::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("{v} is not an amount")));
        }
        Money::from_str(&v.to_string()).map_err(|_| E::custom(format!("{v} is out of range")))
    }
}

/// `subscription_usd_per_month`: an amount, or `"parameter"` (price from the command line).
enum Price {
    Usd(Money),
    Parameter,
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Price;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal amount or \"parameter\" (price from --byok-subscription)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Price, E> {
                if s.trim().eq_ignore_ascii_case("parameter") {
                    Ok(Price::Parameter)
                } else {
                    AmountVisitor.visit_str(s).map(Price::Usd)
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Price, E> {
                AmountVisitor.visit_i64(v).map(Price::Usd)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Price, E> {
                AmountVisitor.visit_u64(v).map(Price::Usd)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Price, E> {
                AmountVisitor.visit_f64(v).map(Price::Usd)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn book(text: &str) -> Result<FeeBook, FeeError> {
        FeeBook::parse(Path::new("fees.toml"), text)
    }

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn shipped_policies_hold_the_published_fees() {
        let b = FeeBook::builtin();
        let or = b.on("openrouter", d("2026-04-15")).unwrap();
        assert_eq!(
            or.card,
            TopupFee {
                pct: dec!(5.5),
                min_usd: dec!(0.80)
            }
        );
        assert_eq!(
            or.crypto,
            TopupFee {
                pct: dec!(5),
                min_usd: dec!(0)
            }
        );
        assert_eq!(or.byok.pct, dec!(5));
        assert_eq!(or.byok.allowance, dec!(1000000));
        assert_eq!(or.byok.unit, Some(AllowanceUnit::Requests));
        let og = b.on("ominigate", d("2026-04-15")).unwrap();
        assert_eq!(og.card.on(dec!(1000)), dec!(0));
        assert_eq!(og.byok, ByokFee::default());
    }

    #[test]
    fn card_fee_minimum_and_rounding() {
        let card = TopupFee {
            pct: dec!(5.5),
            min_usd: dec!(0.80),
        };
        assert_eq!(card.on(dec!(1000)), dec!(55.00));
        assert_eq!(card.on(dec!(10)), dec!(0.80));
        // 5.5 % of 14.54 = 0.7997: the minimum applies.
        assert_eq!(card.on(dec!(14.54)), dec!(0.80));
        // 5.5 % of 14.55 = 0.80025: the percentage, rounded to the cent, equals the minimum.
        assert_eq!(card.on(dec!(14.55)), dec!(0.80));
        // 5.5 % of 14.64 = 0.8052 → 0.81.
        assert_eq!(card.on(dec!(14.64)), dec!(0.81));
        // 5.5 % of 100.10 = 5.5055 → 5.51 (half-up at the third decimal).
        assert_eq!(card.on(dec!(100.10)), dec!(5.51));
        // No amount overflows the fee (a ledger cell may hold the largest decimal).
        assert_eq!(card.on(Money::MAX), dec!(4357548938284538567644917268.4));
        let absurd = TopupFee {
            pct: Money::MAX,
            min_usd: dec!(0),
        };
        assert_eq!(absurd.on(dec!(1000)), Money::MAX);
    }

    #[test]
    fn unknown_keys_and_overlaps_are_errors() {
        let e = book("[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\nbogus = 1\n")
            .unwrap_err();
        assert!(e.message.contains("unknown field `bogus`"), "{e}");
        assert!(e.message.contains("line 4"), "{e}");
        let e = book(
            "[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\neffective_to = \"2026-04-15\"\n\
             [[policy]]\nprovider = \"X\"\neffective_from = \"2026-04-15\"\n",
        )
        .unwrap_err();
        assert!(
            e.message.contains("policy 2 (x 2026-04-15..) overlaps"),
            "{e}"
        );
        let e = book(
            "[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\n[policy.topup]\ncard = { pct = \"-1\" }\n",
        )
        .unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
        let e = book(
            "[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\n[policy.byok]\nallowance = 5\n",
        )
        .unwrap_err();
        assert!(e.message.contains("allowance_unit"), "{e}");
        for table in ["topup.card = { pct = \"100.01\" }", "byok = { pct = 1e27 }"] {
            let e = book(&format!(
                "[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\n{table}\n"
            ))
            .unwrap_err();
            assert!(e.message.contains("over 100 %"), "{e}");
        }
    }

    #[test]
    fn dated_policies_switch_on_their_day() {
        let b = book(
            "[[policy]]\nprovider = \"x\"\neffective_from = \"2026-01-01\"\neffective_to = \"2026-04-15\"\n\
             topup.card = { pct = 5.5, min_usd = \"0.80\" }\n\
             [[policy]]\nprovider = \"x\"\neffective_from = \"2026-04-16\"\n\
             topup.card = { pct = 4 }\nbyok.subscription_usd_per_month = \"parameter\"\n",
        )
        .unwrap();
        assert_eq!(b.on("x", d("2026-04-15")).unwrap().card.pct, dec!(5.5));
        let later = b.on("x", d("2026-04-16")).unwrap();
        assert_eq!(later.card.pct, dec!(4));
        assert_eq!(
            later.byok.subscription,
            Some(SubscriptionPrice::FromCommandLine)
        );
        assert!(b.needs_subscription_price());
        assert!(b.on("x", d("2025-12-31")).is_none());
        assert!(b.on("y", d("2026-04-16")).is_none());
    }
}

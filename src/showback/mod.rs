//! Showback: who spent what (docs/formats.md §6 `showback.csv`). The calls are summed per month
//! × tenant × provider while reading (integer tokens per rate row and tier, priced once per group,
//! as [`crate::aggregate`] does per day), and each fee of a provider's month is shared by the
//! tenants' usage at list price, largest remainder, so every column sums to the provider's month
//! in `fees.csv` and `summary.csv` exactly.
//!
//! The tenant is one more group key, read from one field of the record ([`GroupBy`]); a schema
//! that maps other fields (an API key, a team) adds a variant there and nothing else.

mod allocate;
pub(crate) mod forecast;
mod sink;

pub(crate) use allocate::{allocate, Showback};
pub(crate) use sink::{Grain, ShowbackSink, TenantDay};

use crate::aggregate::Daily;
use crate::domain::{Call, Money, Period};
use crate::fees::byok::ByokSink;
use crate::fees::policy::FeeBook;
use crate::fees::{self, FeeInputs, FeeReport};
use crate::pricing::aliases::ModelNames;
use crate::pricing::RateTable;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::InputError;

/// The field whose value names who a call is charged to (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupBy {
    /// `tenant` (docs/formats.md §1): a tenant key or cost centre.
    Tenant,
}

/// What a call without the field is charged to.
pub(crate) const NONE: &str = "(none)";

impl GroupBy {
    /// What `--by` accepts, for messages.
    pub(crate) const SUPPORTED: &'static str = "tenant";

    /// `--by FIELD`. Today's records (docs/formats.md §1) carry one such field, `tenant`; any
    /// other name is refused with what is supported, rather than showing every call as `(none)`.
    pub(crate) fn parse(s: &str) -> Result<GroupBy, String> {
        match s.trim() {
            "tenant" => Ok(GroupBy::Tenant),
            other => Err(format!(
                "supported: --by {} (the one field of the log records, docs/formats.md §1, that \
                 names who a call is for; `{other}` needs a log schema that maps it)",
                GroupBy::SUPPORTED
            )),
        }
    }

    /// The column that names the group in `showback.csv`.
    pub(crate) fn column(self) -> &'static str {
        match self {
            GroupBy::Tenant => "tenant",
        }
    }

    fn field(self) -> FieldId {
        match self {
            GroupBy::Tenant => FieldId::Tenant,
        }
    }

    /// The call's group; blank counts as absent.
    pub(crate) fn key<'c>(self, call: &'c Call<'_>) -> Option<&'c str> {
        let v = match self {
            GroupBy::Tenant => call.tenant.as_deref(),
        };
        v.filter(|s| !s.trim().is_empty())
    }

    /// What the showback reads beside `base`: the group's field, and what the fee model reads
    /// (the BYOK flag and the reported cost).
    pub(crate) fn fields(self, base: FieldSet) -> FieldSet {
        base.with(&[self.field(), FieldId::Byok, FieldId::Cost])
    }
}

/// What a run without a ledger adds to its pass over the logs for the showback: the tenants'
/// sums, and the BYOK tally the fee model needs.
pub(crate) type Sinks<'r> = (ShowbackSink<'r>, ByokSink<'r>);

pub(crate) fn sinks<'r>(
    by: GroupBy,
    grain: Grain,
    rates: &'r RateTable,
    names: &'r ModelNames,
    tz: Option<chrono_tz::Tz>,
    period: Period,
) -> Sinks<'r> {
    (
        ShowbackSink::new(by, grain, rates, names, tz, period),
        ByokSink::new(rates, names),
    )
}

/// What the showback of a run without a ledger needs once the logs are read (`daily`,
/// `forecast`: no `--topups`, so the fees are the BYOK fees and subscriptions the fee model
/// computes from the logs and `fees.toml`).
pub(crate) struct FromLogs<'a> {
    pub sinks: Sinks<'a>,
    pub daily: &'a Daily,
    pub book: &'a FeeBook,
    pub tz: Option<chrono_tz::Tz>,
    pub period: Period,
    /// `--byok-subscription`, where the command has it.
    pub subscription_price: Option<Money>,
}

/// The fee model's result for the run and the showback that shares it.
pub(crate) fn from_logs(i: FromLogs<'_>) -> Result<(Showback, FeeReport), InputError> {
    let (usage, byok) = i.sinks;
    let tally = byok.finish();
    let report = fees::fee_report(&FeeInputs {
        book: i.book,
        tz: i.tz,
        period: i.period,
        daily: Some(i.daily),
        tally: Some(&tally),
        byok_months: None,
        purchases: &[],
        subscription_price: i.subscription_price,
        tolerance: Money::ZERO,
    })?;
    Ok((allocate(usage.finish(), &report.rows), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_accepts_tenant_and_names_what_is_supported_otherwise() {
        assert_eq!(GroupBy::parse("tenant"), Ok(GroupBy::Tenant));
        let e = GroupBy::parse("api_key").unwrap_err();
        assert!(e.contains("`api_key`") && e.contains("--by tenant"), "{e}");
    }
}

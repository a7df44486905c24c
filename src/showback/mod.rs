//! Showback: who spent what (docs/formats.md §6 `showback.csv`). The calls are summed per month
//! × tenant × provider while reading (integer tokens per rate row and tier, priced once per group,
//! as [`crate::aggregate`] does per day), and each fee of a provider's month is shared by the
//! tenants' usage at list price, largest remainder, so every column sums to the provider's month
//! in `fees.csv` and `summary.csv` exactly.
//!
//! The tenant is one more group key, read from one field of the record ([`GroupBy`]): `tenant`,
//! or any field a schema file names in its `[by]` table (an API key, a team), which the schema
//! then reads into the same slot.

mod allocate;
pub(crate) mod forecast;
mod sink;

pub(crate) use allocate::{allocate, Showback};
pub(crate) use sink::{Grain, ShowbackSink, TenantDay, TenantPart, OTHER};

use crate::aggregate::Daily;
use crate::domain::{Call, Money, Period};
use crate::fees::byok::{ByokMonth, ByokSink};
use crate::fees::policy::FeeBook;
use crate::fees::{self, FeeInputs, FeeReport};
use crate::pricing::aliases::ModelNames;
use crate::pricing::RateTable;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::InputError;

/// Longest `--by` name: field names are short identifiers, and a fixed buffer keeps
/// [`GroupBy`] `Copy` for the sinks of every worker thread.
const MAX_NAME: usize = crate::sources::schema::mapping::MAX_GROUP_NAME;

/// The field whose value names who a call is charged to (`--by`): `tenant` (docs/formats.md §1)
/// or a group field a schema file names in its `[by]` table (docs/schemas.md). The schema reads
/// the chosen field into the call's tenant slot ([`crate::sources::schema::Schema::grouped_by`]),
/// so the sinks read one field whichever it is, and only that one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupBy {
    len: u8,
    name: [u8; MAX_NAME],
}

impl std::fmt::Debug for GroupBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GroupBy({})", self.name())
    }
}

/// What a call without the field is charged to.
pub(crate) const NONE: &str = "(none)";

impl GroupBy {
    /// `tenant`, the one group field of docs/formats.md §1.
    #[cfg(test)]
    pub(crate) const TENANT: GroupBy = {
        let mut name = [0u8; MAX_NAME];
        let t = b"tenant";
        let mut i = 0;
        while i < t.len() {
            name[i] = t[i];
            i += 1;
        }
        GroupBy {
            len: t.len() as u8,
            name,
        }
    };

    /// `--by FIELD`: a field name (letters, digits and `_`, a letter first, at most 32 bytes).
    /// Whether the log schema maps it is checked once the schema is known
    /// ([`crate::sources::schema::Schema::grouped_by`]).
    pub(crate) fn parse(s: &str) -> Result<GroupBy, String> {
        let s = s.trim();
        if !crate::sources::schema::mapping::valid_group_name(s) {
            return Err(format!(
                "`{s}` is not a field name (letters, digits and `_`, a letter first, at most {MAX_NAME} bytes): --by tenant, or a field the log schema's [by] table names"
            ));
        }
        let mut name = [0u8; MAX_NAME];
        name[..s.len()].copy_from_slice(s.as_bytes());
        Ok(GroupBy {
            len: s.len() as u8,
            name,
        })
    }

    /// The field's name as given (`tenant`, `api_key`): for messages and the report's headings.
    /// `showback.csv` calls its column `tenant` whatever the field (docs/formats.md §12).
    pub(crate) fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..usize::from(self.len)]).expect("checked ASCII")
    }

    /// The call's group; blank counts as absent.
    pub(crate) fn key<'c>(self, call: &'c Call<'_>) -> Option<&'c str> {
        call.tenant.as_deref().filter(|s| !s.trim().is_empty())
    }

    /// What the showback reads beside `base`: the group's field (read into the tenant slot),
    /// and what the fee model reads (the BYOK flag and the reported cost).
    pub(crate) fn fields(self, base: FieldSet) -> FieldSet {
        base.with(&[FieldId::Tenant, FieldId::Byok, FieldId::Cost])
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
    /// Read from usage groups: the BYOK months their allowance numbering settles, in place of
    /// the tally of the scan's BYOK sink (which saw no call).
    pub byok_months: Option<Vec<ByokMonth>>,
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
        tally: i.byok_months.is_none().then_some(&tally),
        byok_months: i.byok_months.as_deref(),
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
    fn by_takes_a_field_name_and_refuses_anything_else() {
        assert_eq!(GroupBy::parse(" tenant "), Ok(GroupBy::TENANT));
        let k = GroupBy::parse("api_key").unwrap();
        assert_eq!(k.name(), "api_key");
        assert_ne!(k, GroupBy::TENANT);
        assert_eq!(GroupBy::parse("team_1").unwrap().name(), "team_1");
        for bad in ["", "1st", "a b", "a;b", "a.b", "é", "x".repeat(33).as_str()] {
            let e = GroupBy::parse(bad).unwrap_err();
            assert!(e.contains("not a field name"), "{bad}: {e}");
        }
    }
}

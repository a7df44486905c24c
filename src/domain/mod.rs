//! The vocabulary every stage shares, at the bottom of the crate: money and how it is written,
//! days, months and periods, token usage and calls, rates, tolerances and statuses.
//!
//! Nothing here imports another module of the crate. Tokens are integers and money is
//! `rust_decimal::Decimal`; nothing here is `f64` except latency, a measurement, not an amount.

pub mod calendar;
pub mod money;
pub mod status;
pub mod text;
pub mod tolerance;
pub mod usage;

pub use calendar::{civil_from_days, days_from_civil, Day, DayCutter, Month, Period};
pub use money::{money, Money};
pub use status::{Outcome, Status};
pub use tolerance::Tolerance;
pub use usage::{Call, Purchase, Rate, Tier, TokenSums, TopupMethod, Usage, UsageGroup};

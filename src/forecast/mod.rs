//! Looking ahead: the month-end forecast and what the same traffic costs under other routings.

pub(crate) mod run_rate;
pub(crate) mod scenarios;
pub(crate) mod whatif;

//! Looking ahead: the month-end forecast and what the same traffic costs under other routings.

pub mod run_rate;
pub mod scenarios;
pub mod whatif;

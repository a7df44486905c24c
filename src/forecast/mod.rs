//! Looking ahead: what the same traffic costs on each gateway, month by month.

pub mod whatif;

//! Fees on top of usage: top-up surcharges and BYOK fees, per the dated policies of
//! `rates/fees.toml`, checked against what the ledger says was charged.

pub mod byok;
pub mod policy;

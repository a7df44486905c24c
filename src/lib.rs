//! spendrecon: what LLM API traffic really cost, and whether the gateways' bills are right.
//!
//! Data flows through the modules in this order: [`input`] (readers) → [`aggregate`] (daily
//! sums) → [`pricing`] (exact cost) → [`reconcile`] (logs against invoices) → [`output`] (CSV
//! writers); [`cmd`] wires them per
//! subcommand and [`domain`] holds the types they share.

pub mod aggregate;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod domain;
pub mod fees;
pub mod forecast;
pub mod insight;
pub mod output;
pub mod pricing;
pub mod reconcile;
pub mod sources;

//! spendrecon: what LLM API traffic really cost, and whether the gateways' bills are right.
//!
//! The modules follow the data: [`sources`] (read logs, invoices, ledgers) → [`aggregate`]
//! (integer sums per day while reading) → [`pricing`] (exact cost at the rate table) →
//! [`reconcile`], [`fees`], [`forecast`], [`insight`], [`showback`] (compute results), [`engines`]
//! (the usage groups: the SQL that computes them where the logs live, the files that carry them) →
//! [`output`] (render and write them). [`domain`] holds the vocabulary every stage shares, at the bottom. On top,
//! [`cli`] defines the options, [`context`] resolves them once, and `cmd` wires one subcommand
//! per file.
//!
//! Imports point one way, down that list: a stage never imports `output`, `cli`, `context` or
//! `cmd`; `output` never imports the command layer; `domain` imports nothing of the crate
//! (checked by the `layers` integration test).

pub mod aggregate;
pub(crate) mod cli;
mod cmd;
mod config;
mod context;
pub mod domain;
pub(crate) mod engines;
pub mod fees;
pub(crate) mod forecast;
pub(crate) mod insight;
pub(crate) mod output;
pub mod pricing;
pub(crate) mod reconcile;
pub(crate) mod showback;
pub mod sources;

pub use cmd::run;

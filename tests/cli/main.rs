//! The integration tests, one binary (as ripgrep and xsv arrange theirs): a module per command
//! or concern, and `util` for the helpers they share. One binary links the crate and its
//! dependencies (polars among them) once instead of once per test file.

mod util;

mod aliases;
mod audit;
mod bad_input;
mod config;
mod daily;
mod databases;
mod disputes;
mod disputes_generations;
mod engines;
mod exports;
mod fees;
mod focus;
mod forecast;
mod formats;
mod fuzz_regressions;
mod grain;
mod invoices;
mod layers;
mod progress;
mod properties;
mod rates_import;
mod reconcile;
mod report;
mod rollout;
mod runs;
mod sample_invoices;
mod sample_month;
mod schema_files;
mod schemas;
mod shadow;
mod showback;
mod sql;
mod topups;
mod usage;

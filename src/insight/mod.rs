//! Insight from the same logs: tables that answer operational questions rather than bills.

pub mod rollout;

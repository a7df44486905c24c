//! Insight from the same logs: the slug audit, shadow traffic and the rollout dashboard —
//! tables that answer operational questions rather than bills.

pub mod audit;
pub mod rollout;
pub mod shadow;

//! Insight from the same logs: the slug audit, shadow traffic and the rollout dashboard —
//! tables that answer operational questions rather than bills.

pub(crate) mod audit;
pub(crate) mod rollout;
pub(crate) mod shadow;

//! Insight from the same logs: the slug audit, shadow traffic and the rollout dashboard.

pub mod audit;

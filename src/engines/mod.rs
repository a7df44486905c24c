//! The usage groups where the logs live (docs/engines.md): the cut that fixes what is decided per
//! call, and the SQL that computes the groups in an engine (`spendrecon sql`).

pub(crate) mod cut;
pub(crate) mod sql;
pub(crate) mod usage;

//! Nodes and session owners: one text for both backends (`ledger/twins.rs`),
//! what lets several gateways on one database forward to each other and take
//! over a dead one's sessions. The takeover is one conditional UPDATE:
//! Postgres re-checks its WHERE on the row after waiting for a concurrent
//! writer, so of two gateways claiming from the same owner, the second
//! changes nothing.

crate::ledger::twins::ownership_queries!(diesel::PgConnection);

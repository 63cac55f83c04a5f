//! What happens within sessions and beside them: turns, audit events, runs.
//! One text for both backends (`ledger/twins.rs`).

crate::ledger::twins::activity_queries!(diesel::PgConnection);

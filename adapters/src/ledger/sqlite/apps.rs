//! App queries: one text for both backends (`ledger/twins.rs`).

crate::ledger::twins::app_queries!(diesel::SqliteConnection);

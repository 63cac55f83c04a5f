//! Nodes and session owners: one text for both backends (`ledger/twins.rs`).
//! A SQLite ledger serves one gateway, so nothing forwards or takes over on
//! it; the port's contract still holds, so both backends pass one suite.

crate::ledger::twins::ownership_queries!(diesel::SqliteConnection);

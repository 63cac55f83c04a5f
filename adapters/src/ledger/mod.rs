//! Ledger backends.

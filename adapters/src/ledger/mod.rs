//! Ledger backends: each implements the domain's `Ledger` port, and one
//! contract suite proves them all.

#[cfg(test)]
#[macro_use]
mod contract;
pub mod memory;
pub mod postgres;
pub mod sqlite;
mod twins;

pub use memory::MemoryLedger;
pub use postgres::{PgLedger, PgOpenError};
pub use sqlite::{LedgerOpenError, SqliteLedger};

#[cfg(test)]
ledger_contract_tests!(memory_contract, async { (MemoryLedger::new(), ()) });

#[cfg(test)]
ledger_contract_tests!(sqlite_contract, async {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = SqliteLedger::open(&dir.path().join("ledger.db")).expect("open ledger");
    (ledger, dir)
});

#[cfg(test)]
ledger_contract_tests!(postgres_contract, async {
    let url = postgres::throwaway::ThrowawayPostgres::shared().create_database();
    (PgLedger::open(&url).expect("open ledger"), ())
});

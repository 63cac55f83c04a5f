//! Ledger backends: each implements the domain's `Ledger` port, and one
//! contract suite proves them all.

#[cfg(test)]
#[macro_use]
mod contract;
pub mod memory;

pub use memory::MemoryLedger;

#[cfg(test)]
ledger_contract_tests!(memory_contract, async { (MemoryLedger::new(), ()) });

//! The pure core of clawdforge: the product's words, its policies, the ports
//! it needs from the world, and the use cases written against those ports.
//!
//! Nothing here does I/O. Time comes from [`ports::Clock`], randomness from
//! [`ports::IdSource`], storage from [`ports::Ledger`], agents from
//! [`ports::AgentRuntime`] and one-shot jobs from [`ports::OneShotRunner`].

pub mod apps;
pub mod error;
mod feed;
pub mod files;
mod live;
#[cfg(any(test, feature = "mocks"))]
pub mod manual_clock;
pub mod model;
pub mod ownership;
pub mod policy;
pub mod ports;
pub mod run_slots;
pub mod runs;
pub mod sessions;
mod turn_flow;
mod turn_gate;

pub use apps::Apps;
pub use error::{Error, LedgerError, RuntimeError};
pub use policy::SessionPolicy;
pub use runs::{RunPolicy, Runs};
pub use sessions::Sessions;

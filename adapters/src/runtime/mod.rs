//! Agent runtimes.

pub mod acp;
pub mod acpx;
pub mod noop;
pub(crate) mod usage;

//! Agent runtimes.

pub mod acpx;
pub mod noop;
pub(crate) mod usage;

//! Agent runtimes.

pub mod acpx;
pub mod noop;

//! Agent runtimes.

pub mod acpx;
pub(crate) mod process;

//! Agent runtimes.

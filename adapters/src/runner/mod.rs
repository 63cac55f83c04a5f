//! One-shot runners.

pub mod claude;

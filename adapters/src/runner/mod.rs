//! One-shot runners.

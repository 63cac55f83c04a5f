//! The core's use cases, proven against mocked ports: one test binary.

// Helpers outside the #[test] functions fail their test the same way: by panicking.
#![allow(clippy::expect_used)]

mod apps;
mod files;
mod runs;
mod sessions;
mod support;

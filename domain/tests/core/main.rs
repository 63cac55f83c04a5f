//! The core's use cases, proven against mocked ports: one test binary.

mod apps;
mod files;
mod runs;
mod sessions;
mod support;
